"""Benchmark: `tradepact expost korus --placebos N` against pyfixest doing the same fits, in one run.

tradepact: the whole ex-post run (main model, event study, 5 sensitivity fits, N placebo refits over
the worker processes) on the built-in panel (1988-2016, ~187k observations kept). pyfixest: the same
models with ``pf.fepois`` (same variables, clustered by pair): the main model and ``--peer-fits``
placebo models are timed, and its time for the whole run is that per-fit time × the number of fits
(pyfixest has no refit from a baseline; running all N would take tens of minutes). Both sides use
both cores (pyfixest through numba threads, tradepact through worker processes).

    python bench/expost.py [--placebos 200] [--peer-fits 3] [--jobs 2]
"""
from __future__ import annotations

import argparse
import os
import time
import warnings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--placebos", type=int, default=200)
    ap.add_argument("--peer-fits", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=None)
    args = ap.parse_args()

    import numpy as np
    import pandas as pd
    import pyfixest as pf

    from tradepact.data import dta_agreements, dta_panel
    from tradepact.gravity.expost import expost

    panel, names = dta_panel(), dta_agreements()
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    res = expost(panel, "korus", "USA", placebos=args.placebos, names=names, n_jobs=args.jobs)
    ours = time.perf_counter() - t0
    n_fits = 1 + 1 + len({(tuple(s["window"]), s["spec"]) for s in res.sensitivity}) - 1 + res.placebo["n"]

    df = panel[(panel["year"] >= res.window[0]) & (panel["year"] <= res.window[1])].copy()
    df["exporter"], df["importer"] = df["exporter"].astype(str), df["importer"].astype(str)
    df["ey"] = df["exporter"] + df["year"].astype(str)
    df["iy"] = df["importer"] + df["year"].astype(str)
    df["pair"] = df["exporter"] + ">" + df["importer"]
    k = df["agreement_id"] == 211
    df["x"] = ((df["exporter"] == "USA") & (df["importer"] == "KOR") & k).astype(float)
    df["m"] = ((df["exporter"] == "KOR") & (df["importer"] == "USA") & k).astype(float)
    df["o"] = ((df["agreement_id"] > 0) & (df["x"] == 0) & (df["m"] == 0)).astype(float)
    peer_times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = time.perf_counter()
        main_fit = pf.fepois("value ~ x + m + o | ey + iy + pair", data=df, vcov={"CRV1": "pair"}, fixef_rm="none")
        peer_times.append(time.perf_counter() - t)
        post = df["year"] >= res.agreement.entry
        for pair in res.placebo.get("pairs", [])[: args.peer_fits]:
            a, b = pair.split("-")
            df["px"] = ((df["exporter"] == a) & (df["importer"] == b) & post).astype(float)
            df["pm"] = ((df["exporter"] == b) & (df["importer"] == a) & post).astype(float)
            t = time.perf_counter()
            pf.fepois("value ~ x + m + o + px + pm | ey + iy + pair", data=df, vcov={"CRV1": "pair"}, fixef_rm="none")
            peer_times.append(time.perf_counter() - t)
    per_fit = float(np.mean(peer_times))
    peer_total = per_fit * n_fits
    check = abs(main_fit.coef()["x"] - res.terms["exports"]["estimate"])
    rows = [
        ("fits in the run", f"{n_fits}", f"{n_fits}", ""),
        ("time per fit, s", f"{ours / n_fits:.2f}", f"{per_fit:.2f} (mean of {len(peer_times)} timed)", ""),
        (f"whole run, {res.placebo['n']} placebos, s", f"{ours:.1f}", f"{peer_total:.1f} (per fit x fits)",
         f"{peer_total / ours:.1f}x faster"),
    ]
    print(f"load average at start: {load:.2f}; cores: {os.cpu_count()}; KORUS exports term "
          f"{res.terms['exports']['estimate']:+.6f} (pyfixest differs by {check:.1e}); placebo p = "
          f"{res.placebo['p_exports']}")
    w = [max(len(r[i]) for r in rows + [("", "tradepact", "pyfixest", "ratio")]) for i in range(4)]
    print(f"{'':<{w[0]}}  {'tradepact':>{w[1]}}  {'pyfixest':>{w[2]}}  {'ratio':>{w[3]}}")
    for r in rows:
        print(f"{r[0]:<{w[0]}}  {r[1]:>{w[1]}}  {r[2]:>{w[2]}}  {r[3]:>{w[3]}}")


if __name__ == "__main__":
    main()
