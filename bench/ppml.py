"""Benchmark: tradepact PPML-HDFE vs pyfixest.fepois on synthetic structural-gravity panels.

Model ``trade ~ RTA | exp_year + imp_year + pair`` on panels of N countries × N partners
(domestic flows included) × T = 20 years: N = 50, 100, 200 → 50k, 200k, 800k rows.
Data: ``trade = exp(0.5·RTA + π_it + χ_jt + μ_ij) · ε`` with ``ε = 0`` with probability
0.2 and Gamma(mean 1/0.8) otherwise (so ``E[trade | ·]`` follows the model and ~20% of
flows are zero); RTAs form at random dates between random symmetric pairs.

Each engine runs in its own fresh subprocess per size: a warm-up fit on a 112k-row panel first
(JIT/caches, excluded), then ``--repeats`` timed fits (median reported). Peak memory =
peak RSS of that process during the timed fits minus its RSS just before them.
Both engines use their default tolerances (tradepact: relative deviance change 1e-8,
demeaning 1e-11; pyfixest: iwls_tol 1e-8, fixef_tol 1e-8), pair-clustered SEs.

``--sectors S`` adds a sector-by-sector run: S sector panels (N countries),
stacked in one frame and estimated with ``tradepact.gravity.ppml_by(..., by="sector")``,
in this process and over one worker process per core.

Usage: ``python bench/ppml.py [--quick] [--repeats 3] [--sectors 0]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd

TRUE_BETA = 0.5


def make_panel(N: int, T: int = 20, seed: int = 0, zero_share: float = 0.2) -> pd.DataFrame:
    """Synthetic gravity panel (N² pairs × T years), columns trade, RTA, exp_year, imp_year, pair."""
    rng = np.random.default_rng(seed)
    ex, im = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    ex, im = ex.ravel(), im.ravel()
    P = ex.size
    lo, hi = np.minimum(ex, im), np.maximum(ex, im)
    sym = lo * N + hi
    # RTA: ~30% of symmetric international pairs sign at a random year
    u_pair = rng.random(N * N)
    start = rng.integers(1, T + 5, N * N)
    signs = (u_pair < 0.3)
    years = np.arange(T)
    exr, imr = np.repeat(ex, T), np.repeat(im, T)
    symr = np.repeat(sym, T)
    yr = np.tile(years, P)
    rta = (signs[symr] & (yr >= start[symr]) & (exr != imr)).astype(np.float64)
    size = rng.normal(0, 1.0, N)
    dist = np.abs(rng.normal(0, 1, N * N))
    mu_pair = -1.0 * dist[sym] + np.where(ex == im, 3.0, 0.0)
    pi = size[exr] + rng.normal(0, 0.1, (N, T))[exr, yr]
    chi = size[imr] + rng.normal(0, 0.1, (N, T))[imr, yr]
    eta = TRUE_BETA * rta + pi + chi + mu_pair[np.repeat(np.arange(P), T)] + 2.0
    mu = np.exp(eta)
    eps = np.where(rng.random(P * T) < zero_share, 0.0, rng.gamma(2.0, 0.5 / (1 - zero_share), P * T))
    trade = mu * eps
    return pd.DataFrame({
        "trade": trade, "RTA": rta,
        "exp_year": (exr * T + yr).astype(np.int64), "imp_year": (imr * T + yr).astype(np.int64),
        "pair": np.repeat(np.arange(P), T).astype(np.int64), "sector": 0,
    })


FORMULA = "trade ~ RTA | exp_year + imp_year + pair"


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _peak_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _reset_peak() -> None:
    try:  # Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _fit(engine: str, df: pd.DataFrame):
    if engine == "tradepact":
        from tradepact.gravity import ppml

        r = ppml(df, FORMULA, vcov={"CRV1": "pair"})
        return float(r.params["RTA"]), float(r.bse["RTA"]), r.nobs
    import pyfixest as pf

    f = pf.fepois(FORMULA, data=df, vcov={"CRV1": "pair"})
    return float(f.coef()["RTA"]), float(f.se()["RTA"]), int(f._N)


def worker(engine: str, N: int, repeats: int) -> dict:
    """Runs inside a fresh subprocess; prints one JSON line."""
    import warnings

    warnings.simplefilter("ignore")
    _fit(engine, make_panel(75, seed=1))  # warm-up (JIT incl. the parallel kernels, imports), excluded
    df = make_panel(N)
    times, cpu = [], []
    base = _rss_mb()
    _reset_peak()
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        est, se, nobs = _fit(engine, df)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak = _peak_mb() - base
    return {"engine": engine, "N": N, "rows": len(df), "nobs": nobs, "time_s": float(np.median(times)),
            "cpu_s": float(np.median(cpu)), "times": times, "peak_mb": peak, "estimate": est, "se": se}


def run_sub(engine: str, N: int, repeats: int) -> dict:
    env = dict(os.environ)
    out = subprocess.run([sys.executable, __file__, "--worker", engine, "--N", str(N), "--repeats", str(repeats)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{engine} N={N} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _sector_fit(df: pd.DataFrame) -> float:
    from tradepact.gravity import ppml

    return float(ppml(df, FORMULA, vcov={"CRV1": "pair"}).params["RTA"])


def sectors_run(S: int, N: int) -> dict:
    """S sector panels stacked in one frame; ``ppml_by(..., by="sector")`` in this process
    (n_jobs=1) and over all cores (one worker process per core)."""
    from tradepact.gravity import ppml_by

    df = pd.concat([make_panel(N, seed=100 + s).assign(sector=s) for s in range(S)], ignore_index=True)
    _sector_fit(make_panel(10, seed=1))
    t0 = time.perf_counter()
    serial = ppml_by(df, FORMULA, by="sector", n_jobs=1, vcov={"CRV1": "pair"})
    t_serial = time.perf_counter() - t0
    workers = os.cpu_count() or 1
    t0 = time.perf_counter()
    par = ppml_by(df, FORMULA, by="sector", n_jobs=workers, vcov={"CRV1": "pair"})
    t_par = time.perf_counter() - t0  # includes starting the worker processes
    a = np.array([serial[k].params["RTA"] for k in sorted(serial)])
    b = np.array([par[k].params["RTA"] for k in sorted(par)])
    assert np.allclose(a, b, rtol=1e-10, atol=0)  # BLAS thread counts differ: last bits may too
    return {"sectors": S, "rows_each": len(df) // S, "serial_s": t_serial, "parallel_s": t_par, "workers": workers,
            "speedup": t_serial / t_par, "mean_estimate": float(np.mean(b))}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 50 only")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sizes", type=str, default=None, help="comma-separated N values (default 50,100,200)")
    ap.add_argument("--sectors", type=int, default=None, help="sector-by-sector run with this many sectors "
                    "(default 50, 8 with --quick; 0 to skip)")
    ap.add_argument("--sector-N", type=int, default=None, help="countries per sector panel (default 70 → ~100k rows)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--N", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.worker, a.N, a.repeats)))
        return
    sizes = [50] if a.quick else [int(s) for s in (a.sizes or "50,100,200").split(",")]
    from rich.console import Console
    from rich.table import Table

    rows = []
    for N in sizes:
        ours = run_sub("tradepact", N, a.repeats)
        peer = run_sub("pyfixest", N, a.repeats)
        rows.append((N, ours, peer))
    t = Table(title=f"PPML-HDFE: {FORMULA} (true RTA = {TRUE_BETA}), median of {a.repeats}, warm-up excluded")
    for c in ["N", "rows", "tradepact s", "pyfixest s", "speed-up ×", "CPU s (tp/pf)", "tradepact peak MB", "pyfixest peak MB",
              "mem ratio", "tradepact β (se)", "pyfixest β (se)", "|Δβ|/|β|"]:
        t.add_column(c, justify="right")
    for N, o, p in rows:
        t.add_row(str(N), f"{o['rows']:,}", f"{o['time_s']:.2f}", f"{p['time_s']:.2f}", f"{p['time_s'] / o['time_s']:.2f}",
                  f"{o['cpu_s']:.2f}/{p['cpu_s']:.2f}",
                  f"{o['peak_mb']:.0f}", f"{p['peak_mb']:.0f}",
                  f"{o['peak_mb'] / p['peak_mb']:.2f}" if p["peak_mb"] >= 5 else "— (< 5 MB)",
                  f"{o['estimate']:.8f} ({o['se']:.6f})", f"{p['estimate']:.8f} ({p['se']:.6f})",
                  f"{abs(o['estimate'] - p['estimate']) / abs(p['estimate']):.1e}")
    Console(width=250).print(t)
    Console().print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
                    "(wall times on a shared machine are noisy; CPU s = process time incl. all threads)")
    S = a.sectors if a.sectors is not None else (8 if a.quick else 50)
    if S:
        sN = a.sector_N or (30 if a.quick else 70)
        r = sectors_run(S, sN)
        Console().print(f"sector-by-sector: {r['sectors']} sectors × {r['rows_each']:,} rows: serial {r['serial_s']:.1f} s, "
                        f"ppml_by over {r['workers']} worker processes {r['parallel_s']:.1f} s (incl. starting them), "
                        f"speed-up {r['speedup']:.2f}×")


if __name__ == "__main__":
    main()
