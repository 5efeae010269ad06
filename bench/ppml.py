"""Benchmark: tradepact PPML-HDFE vs pyfixest.fepois, on real and synthetic gravity panels.

Cases (``--cases``, default all):

* ``wb-korus`` — the World Bank trade-agreements panel (../shared/data/wb_trade_agreements, 213k rows for
  1988–2016, 35% zeros): ``export ~ korus_us + korus_kor + pta_other | exp^time + imp^time + exp^imp``,
  clustered by pair (tradepact ``--cluster exp^imp``; pyfixest a pair column). KORUS is agreement id 211;
  ``korus_us`` = USA→KOR under KORUS, ``korus_kor`` = KOR→USA, ``pta_other`` = any other agreement in force.
* ``wb-provisions`` — the same panel 1964–2016 (316k rows) with its 16 provision dummies.
* ``synthetic-800k`` — ``trade ~ RTA | exp_year + imp_year + pair`` on 200 × 200 × 20 (800k rows, 20% zeros).
* ``zeros-40`` — the same model on 100 × 100 × 20 (200k rows) with 40% zeros.
* ``eurostat-4fe`` — fixest's Eurostat trade data (38k rows): ``Euros ~ ln_dist | Origin + Destination +
  Product + Year`` (heteroskedasticity-robust SE).
* ``eurostat-by-sector`` — the same data one model per product (``Euros ~ ln_dist | Origin + Destination +
  Year``, 20 products): ``ppml_by(..., n_jobs=1)`` vs ``pyfixest.fepois(..., split="Product")``, in-process only.

Each case is measured two ways, each engine in its own fresh process:

* **whole process** — ``tradepact estimate FILE`` vs a script that imports pyfixest, reads the same Parquet
  file and fits: wall time and peak RSS of the process (start-up, import, read, fit, print).
* **in-process** — a warm-up fit on the same data first (JIT, caches; excluded), then ``--repeats`` timed fits
  (median); peak memory = peak RSS during the timed fits minus the RSS before them.

tradepact's time is split into separation (all-zero groups, singletons, rectifier), demeaning (inside IRLS) and
the rest (shares of the in-process fit); "start-up" is the wall time of ``tradepact estimate missing.parquet``
(everything before reading data), also shown as a share of the whole-process time. The demeaning kernels are the
C extension when built (``TRADEPACT_DEMEAN_KERNELS=numba`` measures the fallback); the table's title says which.
Both engines use their default tolerances (tradepact: relative deviance change 1e-8, demeaning 1e-11; pyfixest:
iwls_tol 1e-8, fixef_tol 1e-8) and small-sample corrections (fixest's), and drop singletons (both defaults).

Usage: ``python bench/ppml.py [--cases wb-korus,synthetic-800k] [--repeats 3] [--quick]``
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



WB_YEARS = (1988, 2016)
WB_FML = "export ~ korus_us + korus_kor + pta_other | exp^time + imp^time + exp^imp"
PROVISIONS = ["ad_prov_14", "cp_prov_23", "tbt_prov_07", "tbt_prov_33", "tf_prov_41", "tf_prov_45", "env_prov_18",
              "et_prov_38", "inv_prov_22", "ipr_prov_15", "ipr_prov_44", "lm_prov_10", "moc_prov_21", "ser_prov_47",
              "ste_prov_30", "cp_prov_26"]
EU_FML = "Euros ~ ln_dist | Origin + Destination + Product + Year"
SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")


def wb_panel(years=WB_YEARS) -> pd.DataFrame:
    """The WB panel with the KORUS variables (and a pair column for pyfixest's clusters)."""
    df = pd.read_parquet(os.path.join(os.environ.get("TRADEPACT_SHARED_DATA", SHARED), "wb_trade_agreements",
                                      "trade.parquet"))
    df = df[df["time"].between(*years)].drop(columns=["agreement"])
    df["korus_us"] = ((df["id"] == 211) & (df["exp"] == "USA") & (df["imp"] == "KOR")).astype(np.int8)
    df["korus_kor"] = ((df["id"] == 211) & (df["exp"] == "KOR") & (df["imp"] == "USA")).astype(np.int8)
    df["pta_other"] = ((df["id"] != 0) & (df["id"] != 211)).astype(np.int8)
    df["pair"] = df["exp"] + "_" + df["imp"]
    return df.reset_index(drop=True)


def eurostat() -> pd.DataFrame:
    df = pd.read_parquet(os.path.join(os.environ.get("TRADEPACT_SHARED_DATA", SHARED), "fixest_eurostat_trade",
                                      "trade.parquet"))
    df["ln_dist"] = np.log(df["dist_km"])
    return df


#: case -> (data builder, tradepact formula, tradepact vcov, pyfixest formula, pyfixest vcov, pyfixest split)
CASES = {
    "wb-korus": (lambda: wb_panel(), WB_FML, {"CRV1": "exp^imp"}, WB_FML, {"CRV1": "pair"}, None),
    "wb-provisions": (lambda: wb_panel((1964, 2016)), "export ~ " + " + ".join(PROVISIONS) +
                      " | exp^time + imp^time + exp^imp", {"CRV1": "exp^imp"},
                      "export ~ " + " + ".join(PROVISIONS) + " | exp^time + imp^time + exp^imp", {"CRV1": "pair"},
                      None),
    "synthetic-800k": (lambda: make_panel(200), FORMULA, {"CRV1": "pair"}, FORMULA, {"CRV1": "pair"}, None),
    "zeros-40": (lambda: make_panel(100, zero_share=0.4), FORMULA, {"CRV1": "pair"}, FORMULA, {"CRV1": "pair"}, None),
    "eurostat-4fe": (eurostat, EU_FML, "hetero", EU_FML, "hetero", None),
    "eurostat-by-sector": (eurostat, "Euros ~ ln_dist | Origin + Destination + Year", "hetero",
                           "Euros ~ ln_dist | Origin + Destination + Year", "hetero", "Product"),
}


def _fit(engine: str, case: str, df: pd.DataFrame) -> dict:
    _, fml, vc, pfml, pvc, split = CASES[case]
    if engine == "tradepact":
        from tradepact.gravity import ppml, ppml_by

        if split:
            res = ppml_by(df, fml, by=split, n_jobs=1, vcov=vc)
            return {"coef": [float(res[k].params.iloc[0]) for k in sorted(res)],
                    "se": [float(res[k].bse.iloc[0]) for k in sorted(res)], "nobs": sum(r.nobs for r in res.values())}
        r = ppml(df, fml, vcov=vc)
        t = dict(r._fit.design.timings, **r._fit.extra.get("timings", {}))
        return {"coef": r.params.tolist(), "se": r.bse.tolist(), "nobs": r.nobs, "timings": t}
    import pyfixest as pf

    if split:
        m = pf.fepois(pfml, data=df, vcov=pvc, split=split)
        fits = m.all_fitted_models
        keys = sorted(fits, key=lambda k: str(k))
        order = sorted(range(len(keys)), key=lambda i: float(str(keys[i]).split("=")[-1].strip(" )")))
        return {"coef": [float(fits[keys[i]].coef().iloc[0]) for i in order],
                "se": [float(fits[keys[i]].se().iloc[0]) for i in order], "nobs": sum(int(f._N) for f in fits.values())}
    f = pf.fepois(pfml, data=df, vcov=pvc)
    return {"coef": f.coef().tolist(), "se": f.se().tolist(), "nobs": int(f._N)}


def worker(engine: str, case: str, repeats: int) -> dict:
    """In-process timing; runs inside a fresh subprocess and prints one JSON line."""
    import warnings

    warnings.simplefilter("ignore")
    df = CASES[case][0]()
    _fit(engine, case, df)  # warm-up (JIT, caches, imports), excluded
    times = []
    base = _rss_mb()
    _reset_peak()
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = _fit(engine, case, df)
        times.append(time.perf_counter() - t0)
    out.update(engine=engine, case=case, rows=len(df), time_s=float(np.median(times)), peak_mb=_peak_mb() - base)
    return out


PF_SCRIPT = """
import sys, warnings, json
warnings.simplefilter("ignore")
import pandas as pd, pyfixest as pf
df = pd.read_parquet(sys.argv[1])
f = pf.fepois(sys.argv[2], data=df, vcov=json.loads(sys.argv[3]))
print(f.coef().to_string()); print(f.se().to_string())
"""


#: runs ``-m module args`` or ``-c script args`` and, at exit, writes the process's own peak RSS (VmHWM: the
#: high-water mark of its memory after exec) to stderr. A child's ``ru_maxrss`` is no measure here: Linux carries
#: the RSS of the forking parent (this benchmark, holding the 800k panel) into it across exec.
HWM_WRAPPER = """
import atexit, runpy, sys
def _hwm():
    try:
        with open('/proc/self/status') as fh:
            for line in fh:
                if line.startswith('VmHWM:'):
                    sys.stderr.write('\\nBENCH_VMHWM_KB ' + line.split()[1] + '\\n')
    except OSError:
        pass
atexit.register(_hwm)
mode, target, *rest = sys.argv[1:]
if mode == '-m':
    sys.argv = [target, *rest]
    runpy.run_module(target, run_name='__main__', alter_sys=True)
else:
    sys.argv = ['-c', *rest]
    exec(compile(target, '<string>', 'exec'), {'__name__': '__main__'})
"""


def _timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of a child process ``[python, -m|-c, target, *args]``."""
    t0 = time.perf_counter()
    p = subprocess.Popen([cmd[0], "-c", HWM_WRAPPER, *cmd[1:]], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    err = p.stderr.read().decode()
    p.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{cmd[:3]} failed:\n{err[-2000:]}")
    hwm = [line.split()[1] for line in err.splitlines() if line.startswith("BENCH_VMHWM_KB ")]
    return wall, (int(hwm[-1]) if hwm else ru.ru_maxrss) / 1024.0


def whole_process(case: str, tmpdir: str) -> dict:
    """Both engines as a user runs them: a fresh process that reads the Parquet file and fits."""
    _, fml, vc, pfml, pvc, _ = CASES[case]
    path = os.path.join(tmpdir, f"{case}.parquet")
    CASES[case][0]().to_parquet(path)
    cluster = vc["CRV1"] if isinstance(vc, dict) else None
    tp_cmd = [sys.executable, "-m", "tradepact.cli", "estimate", path, "-f", fml, "--format", "json"]
    tp_cmd += ["--cluster", cluster] if cluster else ["--vcov", vc]
    pf_cmd = [sys.executable, "-c", PF_SCRIPT, path, pfml, json.dumps(pvc)]
    tp = _timed(tp_cmd)
    pf_ = _timed(pf_cmd)
    return {"tradepact_s": tp[0], "tradepact_mb": tp[1], "pyfixest_s": pf_[0], "pyfixest_mb": pf_[1]}


def startup_s(tmpdir: str) -> float:
    """Wall time of ``tradepact estimate`` up to reading its data (a missing file: everything before the read)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tradepact.cli", "estimate", os.path.join(tmpdir, "missing.parquet"),
                    "-f", "y ~ x | a"], capture_output=True, check=False)
    return time.perf_counter() - t0


def run_sub(engine: str, case: str, repeats: int) -> dict:
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", engine, "--case", case,
                          "--repeats", str(repeats)], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{engine} {case} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300))) if a.size else 0.0


def sectors_run(S: int, N: int) -> dict:
    """S synthetic sector panels stacked in one frame; ``ppml_by(..., by="sector")`` in this process
    (n_jobs=1) and over all cores (one worker process per core)."""
    from tradepact.gravity import ppml, ppml_by

    df = pd.concat([make_panel(N, seed=100 + s).assign(sector=s) for s in range(S)], ignore_index=True)
    ppml(make_panel(10, seed=1), FORMULA, vcov={"CRV1": "pair"})
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
            "speedup": t_serial / t_par}


def main(argv=None) -> None:
    import tempfile

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=None, help=f"comma-separated, from {', '.join(CASES)} (default all)")
    ap.add_argument("--quick", action="store_true", help="wb-korus and eurostat-4fe only, one repeat")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sectors", type=int, default=0, help="also a synthetic sector-by-sector run over all cores "
                    "with this many sectors (0 = skip)")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--case", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.worker, a.case, a.repeats)))
        return
    cases = ["wb-korus", "eurostat-4fe"] if a.quick else (a.cases.split(",") if a.cases else list(CASES))
    repeats = 1 if a.quick else a.repeats
    from rich.console import Console
    from rich.table import Table

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        start = startup_s(tmp)
        for case in cases:
            ours, peer = run_sub("tradepact", case, repeats), run_sub("pyfixest", case, repeats)
            whole = whole_process(case, tmp) if not CASES[case][5] else None
            rows.append((case, ours, peer, whole))
    from tradepact.gravity._demean import backend

    t = Table(title=f"PPML-HDFE, tradepact vs pyfixest.fepois (in-process: median of {repeats} after a warm-up; "
                    f"demeaning kernels: {backend()})")
    for c in ["case", "rows", "nobs tp/pf", "whole tp s", "whole pf s", "whole ×", "in-proc tp s", "in-proc pf s",
              "in-proc ×", "peak MB whole tp/pf", "peak MB in-proc tp/pf", "max rel Δβ", "max rel ΔSE",
              "separation %", "demean %", "start-up % of whole tp"]:
        t.add_column(c, justify="right")
    for case, o, p, w in rows:
        tm = o.get("timings") or {}
        tot = tm.get("design", 0) + tm.get("fit", 0)
        t.add_row(case, f"{o['rows']:,}", f"{o['nobs']:,}/{p['nobs']:,}",
                  f"{w['tradepact_s']:.2f}" if w else "—", f"{w['pyfixest_s']:.2f}" if w else "—",
                  f"{w['pyfixest_s'] / w['tradepact_s']:.2f}" if w else "—",
                  f"{o['time_s']:.2f}", f"{p['time_s']:.2f}", f"{p['time_s'] / o['time_s']:.2f}",
                  f"{w['tradepact_mb']:.0f}/{w['pyfixest_mb']:.0f}" if w else "—",
                  f"{o['peak_mb']:.0f}/{p['peak_mb']:.0f}",
                  f"{_rel(o['coef'], p['coef']):.1e}", f"{_rel(o['se'], p['se']):.1e}",
                  f"{100 * tm['separation'] / tot:.0f}" if tot else "—", f"{100 * tm['demean'] / tot:.0f}" if tot else "—",
                  f"{100 * start / w['tradepact_s']:.0f}" if w else "—")
    Console(width=250).print(t)
    Console().print(f"tradepact start-up (estimate, everything before reading data): {start:.2f} s; load average "
                    f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (wall times on a shared machine are noisy)")
    if a.sectors:
        r = sectors_run(a.sectors, 70)
        Console().print(f"sector-by-sector (synthetic): {r['sectors']} sectors × {r['rows_each']:,} rows: serial "
                        f"{r['serial_s']:.1f} s, ppml_by over {r['workers']} worker processes {r['parallel_s']:.1f} s "
                        f"(incl. starting them), speed-up {r['speedup']:.2f}×")


if __name__ == "__main__":
    main()
