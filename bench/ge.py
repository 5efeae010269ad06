"""Benchmark: tradepact GE vs gegravity 0.3 on the same synthetic baselines.

One-sector full-endowment counterfactuals at N = 30, 60, 120, 200 countries: tradepact's
``closure="gegravity"`` (the like-for-like comparison) against gegravity's OneSectorGE
(baseline + experiment + simulate) with its iteration limits raised so that it really
converges; the maximum absolute difference of the country results (percent changes) is
printed next to the timings, and tradepact's converged ``full`` closure is timed beside
it. Then multi-sector scaling (N × S) of the ``full`` closure with tariffs.

    python bench/ge.py            # full run (gegravity takes minutes at N = 200)
    python bench/ge.py --quick    # N = 20, 40 only, small multi-sector grid
"""
from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import pandas as pd

from tradepact.simulate.ge import Baseline, Shock, solve
from tradepact.simulate.ge.workflow import counterfactual_from_frame

COEFS = {"lndist": -0.8, "contiguity": 0.6, "pta": 0.5, "international": -2.5}
SIGMA = 5.0


def synthetic(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, (n, 2))
    size = rng.lognormal(10, 1.2, n)
    c = [f"C{k:03d}" for k in range(n)]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    dist = np.hypot(*(xy[i] - xy[j]).transpose(2, 0, 1)) + 1.0
    dist[np.arange(n), np.arange(n)] = 0.5
    contig = ((dist < 12) & (i != j)).astype(float)
    pta = (rng.uniform(size=(n, n)) < 0.15).astype(float)
    pta = np.maximum(pta, pta.T)
    np.fill_diagonal(pta, 0)
    intl = (i != j).astype(float)
    lnT = COEFS["lndist"] * np.log(dist) + COEFS["contiguity"] * contig + COEFS["pta"] * pta + \
        COEFS["international"] * intl
    trade = np.exp(lnT) * np.outer(size, size) / size.sum() * rng.lognormal(0, 0.3, (n, n))
    df = pd.DataFrame({"exporter": np.asarray(c)[i.ravel()], "importer": np.asarray(c)[j.ravel()], "year": "2006",
                       "trade": trade.ravel(), "lndist": np.log(dist).ravel(), "contiguity": contig.ravel(),
                       "pta": pta.ravel(), "international": intl.ravel()})
    df["Y"] = df.groupby("exporter").trade.transform("sum")
    df["E"] = df.groupby("importer").trade.transform("sum")
    return df


def shock_pairs(n):
    # a new agreement among the first 4 countries
    c = [f"C{k:03d}" for k in range(4)]
    return [(a, b) for a in c for b in c if a != b]


def run_gegravity(df, pairs, ref, rescale=10):
    import gegravity as ge

    coeff = pd.DataFrame([{"var": k, "coeff": v, "ste": 0.1} for k, v in COEFS.items()])
    cp = ge.CostCoeffs(estimates=coeff, identifier_col="var", coeff_col="coeff", stderr_col="ste")
    bd = ge.BaselineData(df, imp_var_name="importer", exp_var_name="exporter", year_var_name="year",
                         trade_var_name="trade", expend_var_name="E", output_var_name="Y")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = ge.OneSectorGE(bd, year="2006", expend_var_name="E", output_var_name="Y", cost_coeff_values=cp,
                           cost_variables=list(COEFS), reference_importer=ref, sigma=SIGMA, quiet=True)
        m.build_baseline(omr_rescale=rescale, mr_max_iter=1_000_000, mr_tolerance=1e-10)
        exp = m.baseline_data.copy()
        sel = np.zeros(len(exp), bool)
        for a, b in pairs:
            sel |= (exp.exporter == a).to_numpy() & (exp.importer == b).to_numpy()
        exp.loc[sel, "pta"] = 1
        m.define_experiment(exp)
        m.simulate(ge_max_iter=1_000_000, ge_tolerance=1e-10)
    ok = all(v.success for v in m.solver_diagnostics.values())
    return m.country_results, ok


def find_rescale(df, pairs, ref):
    """gegravity needs an OMR rescale factor that suits the data (its docs: try powers of 10)."""
    for r in (10, 1, 100, 1000, 0.1, 10_000):
        try:
            _, ok = run_gegravity(df, pairs, ref, r)
        except ValueError:
            continue
        if ok:
            return r
    raise RuntimeError("gegravity did not converge for any OMR rescale factor")


def run_ours(df, pairs, ref, closure):
    cf = counterfactual_from_frame(df, theta=SIGMA - 1, costs=COEFS, set_values={"pta": 1}, pairs=pairs,
                                   output="Y", expenditure="E", reference=ref, baseline="fitted", closure=closure)
    return cf


def timed(fn, reps):
    times, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", type=str, default=None, help="comma-separated N list")
    a = ap.parse_args()
    sizes = [int(s) for s in a.sizes.split(",")] if a.sizes else ([20, 40] if a.quick else [30, 60, 120, 200])
    print("One-sector full endowment, same synthetic baseline; times are medians of "
          f"{a.reps} runs (whole pipeline: costs, baseline, conditional + closure)")
    rows = []
    for n in sizes:
        df = synthetic(n)
        pairs = shock_pairs(n)
        ref = "C000"
        rescale = find_rescale(df, pairs, ref)
        t_gg, (gg, ok) = timed(lambda: run_gegravity(df, pairs, ref, rescale), a.reps)
        t_ours, cf = timed(lambda: run_ours(df, pairs, ref, "gegravity"), a.reps)
        t_full, cff = timed(lambda: run_ours(df, pairs, ref, "full"), a.reps)
        ours = cf.main.gegravity_frame().set_index("country")
        diff = float(np.nanmax(np.abs(ours.to_numpy() - gg.reindex(ours.index)[ours.columns].to_numpy(float))))
        rows.append({"N": n, "gegravity_s": t_gg, "gegravity_converged": ok, "tradepact_gegravity_s": t_ours,
                     "speedup": t_gg / t_ours, "max_abs_diff_pct": diff, "tradepact_full_s": t_full,
                     "full_iterations": cff.main.report.iterations,
                     "full_residual": cff.main.report.residual})
        print(pd.DataFrame(rows[-1:]).to_string(index=False, float_format=lambda v: f"{v:.3g}"), flush=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3g}"))

    print("\nMulti-sector full endowment with tariffs (tradepact only): N countries x S sectors")
    grid = [(50, 10), (100, 25)] if a.quick else [(50, 10), (100, 25), (200, 10), (200, 50)]
    ms = []
    for n, s in grid:
        rng = np.random.default_rng(1)
        x = rng.lognormal(0, 1.5, (s, n, n))
        x[:, np.arange(n), np.arange(n)] *= 30
        t = rng.uniform(0, 0.1, (s, n, n))
        t[:, np.arange(n), np.arange(n)] = 0
        b = Baseline.from_matrix(x, [f"C{k:03d}" for k in range(n)], theta=rng.uniform(2, 10, s), tariffs=t)
        t1 = t.copy()
        t1[:, 1, 0] += 0.25  # country 0 raises tariffs on country 1 in every sector
        lc = np.zeros((s, n, n))
        lc[:, 2:6, 2:6] = 0.3
        shock = Shock(log_cost_change=lc, tariffs=t1)
        tm, r = timed(lambda: solve(b, shock, closure="full", deficits="additive"), a.reps)
        ms.append({"N": n, "S": s, "seconds": tm, "iterations": r.report.iterations, "residual": r.report.residual})
        print(pd.DataFrame(ms[-1:]).to_string(index=False, float_format=lambda v: f"{v:.3g}"), flush=True)
    print()
    print(pd.DataFrame(ms).to_string(index=False, float_format=lambda v: f"{v:.3g}"))


if __name__ == "__main__":
    main()
