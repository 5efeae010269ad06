"""Benchmark: import a BACI-format year into the ledger and aggregate to HS2 x pair, vs pandas.

    python bench/ledger_ingest.py              # 10 million rows (the size of a BACI HS6 year)
    python bench/ledger_ingest.py --quick      # 1 million rows (37 MB; with numba kernels: below PARSE_MIN_BYTES, the Arrow path)
    python bench/ledger_ingest.py --rows N
    python bench/ledger_ingest.py --unsorted   # same rows, not in BACI's (t, i, j, k) order
    python bench/ledger_ingest.py --repeat 1   # one run per side (default: best of 3)
    python bench/ledger_ingest.py --kernels numba  # the parser's numba kernels instead of its C ones

The generated file (BACI layout ``t,i,j,k,v,q`` with its ``country_codes_V*.csv``) is cached under
``bench/out/`` (one folder per size and row order). By default its rows are in BACI's own order,
sorted by (t, i, j, k), as CEPII publishes them; ``--unsorted`` writes the same rows ordered by
(k, j, i), which makes the importer check for repeated keys the slow way. Each side runs in its own
subprocess so its peak RSS is its own:

* tradepact: ``LedgerStore.import_files("baci", ...)`` — the code path of ``tradepact data import
  baci`` (compiled CSV parser or typed multi-threaded read, country codes, every validation rule,
  atomic Parquet write; see ``tradepact.ledger.sources.baci_fast``) — then
  ``SELECT exporter, importer, HS2, sum(value) ... GROUP BY`` over the store;
* pandas: ``read_csv`` (explicit dtypes) then ``groupby([i, j, k // 10000])['v'].sum()``.

The tradepact parser's kernels are C, compiled by ``pip install`` (an optional extension; see
``setup.py``). Where they could not be built (no C compiler), or with ``--kernels numba``, numba
kernels are used instead: compiled on first use and cached on disk. That one-time compilation is
then excluded from the timed run (an untimed small import in a separate subprocess fills the cache
first; the cost of compiling on a fresh install is measured separately, with an empty cache
directory, and printed on its own line), but the timed subprocess still pays importing numba and
loading the cached code, as every ``tradepact data import`` process then does. The table names
the kernels the timed run used.

Each side runs ``--repeat`` times (default 3), alternating tradepact and pandas so that both see the
same machine load; the fastest run of each side is reported (every run's total is printed too).
Prints seconds, rows/s and peak RSS per side, and the speed ratio (pandas time / tradepact time).
Target: ratio >= 3 with peak RSS < 2 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def generate(rows: int, unsorted: bool = False) -> Path:
    from tradepact.ledger.sources.baci import write_synthetic

    order = "product" if unsorted else "baci"
    folder = OUT / f"baci-{rows}-{order}"
    path = folder / "BACI_HS92_Y2015_V202401b.csv"
    done = folder / ".complete"
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        t = time.perf_counter()
        write_synthetic(path, rows, order=order)
        done.write_text(str(rows))
        print(f"generated {rows:,} rows in {time.perf_counter() - t:.1f}s -> {path} "
              f"({path.stat().st_size / 1e6:,.0f} MB)", flush=True)
    return path


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def side_tradepact(path: Path) -> dict:
    from tradepact.ledger import LedgerStore

    store_dir = path.parent / "store"
    shutil.rmtree(store_dir, ignore_errors=True)
    c0 = cpu()
    t0 = time.perf_counter()
    store = LedgerStore.open(store_dir)
    rep = store.import_files("baci", [path])
    t1 = time.perf_counter()
    agg = store.sql("SELECT exporter, importer, substr(product, 1, 2) AS hs2, sum(value) AS value "
                    "FROM goods GROUP BY ALL")
    t2 = time.perf_counter()
    loaded = [name for mod, name in (("_baci_kernels", "C"), ("baci_kernels_numba", "numba"))
              if f"tradepact.ledger.sources.{mod}" in sys.modules]
    return {"rows": rep.files[0].rows_read, "groups": len(agg), "total": float(agg["value"].sum()) * 1000.0,
            "import_s": t1 - t0, "agg_s": t2 - t1, "seconds": t2 - t0, "cpu_s": cpu() - c0,
            "kernels": "+".join(loaded) or "none (Arrow path)"}


def side_pandas(path: Path) -> dict:
    import pandas as pd

    c0 = cpu()
    t0 = time.perf_counter()
    df = pd.read_csv(path, dtype={"t": "int32", "i": "int32", "j": "int32", "k": "int32", "v": "float64"},
                     na_values=["NA"], skipinitialspace=True)
    t1 = time.perf_counter()
    agg = df.groupby([df["i"], df["j"], df["k"] // 10000])["v"].sum()
    t2 = time.perf_counter()
    return {"rows": len(df), "groups": len(agg), "total": float(agg.sum()),
            "import_s": t1 - t0, "agg_s": t2 - t1, "seconds": t2 - t0, "cpu_s": cpu() - c0}


def run_side(side: str, path: Path, env: dict | None = None) -> dict:
    res = subprocess.run([sys.executable, __file__, "--side", side, "--file", str(path)],
                         capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise SystemExit(f"{side} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def small_file(folder: Path) -> Path:
    """A 20,000-row BACI file for the untimed warm-up and the compile-time measurement (both
    force the compiled parser, which a file this small would not take by default)."""
    from tradepact.ledger.sources.baci import write_synthetic

    path = folder / "BACI_HS92_Y2015_V202401b.csv"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_synthetic(path, 20_000)
    return path


def jit_first_use(small: Path, env: dict) -> float:
    """Seconds a first import on a fresh install spends compiling numba's parser kernels (empty cache)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(env, NUMBA_CACHE_DIR=cache, TRADEPACT_BACI_PARSE_MIN_BYTES="0")
        cold = run_side("tradepact", small, env)["import_s"]
        warm = run_side("tradepact", small, env)["import_s"]
    return cold - warm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--quick", action="store_true", help="1 million rows")
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per side, alternating; the fastest of each side is reported (default 3)")
    ap.add_argument("--unsorted", action="store_true",
                    help="rows ordered by (k, j, i) instead of BACI's (t, i, j, k)")
    ap.add_argument("--kernels", choices=["auto", "c", "numba"], default="auto",
                    help="the parser's kernels: C if built at install, else numba (auto); or force one")
    ap.add_argument("--side", choices=["tradepact", "pandas"], help=argparse.SUPPRESS)
    ap.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:
        out = side_tradepact(args.file) if args.side == "tradepact" else side_pandas(args.file)
        out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(out))
        return
    rows = 1_000_000 if args.quick else args.rows
    path = generate(rows, args.unsorted)
    env = dict(os.environ)
    if args.kernels != "auto":
        env["TRADEPACT_BACI_KERNELS"] = args.kernels
    small = small_file(OUT / "baci-warmup")
    # untimed: loads the kernels once (fills the default numba cache if numba's are used and it is
    # empty; a small file takes numba's kernels only when told to: by default files below
    # PARSE_MIN_BYTES take the Arrow path then)
    kernels = run_side("tradepact", small, dict(env, TRADEPACT_BACI_PARSE_MIN_BYTES="0"))["kernels"]
    compile_s = jit_first_use(small, env) if kernels == "numba" else None
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start", flush=True)
    runs: dict[str, list[dict]] = {"tradepact": [], "pandas": []}
    for _ in range(args.repeat):  # alternating, so that both sides see the same machine load
        for side in runs:
            runs[side].append(run_side(side, path, env))
    results = {side: min(r, key=lambda x: x["seconds"]) for side, r in runs.items()}
    tp, pd_ = results["tradepact"], results["pandas"]
    assert tp["rows"] == pd_["rows"] == rows, results
    assert tp["groups"] == pd_["groups"], results
    assert abs(tp["total"] - pd_["total"]) <= 1e-6 * abs(pd_["total"]), results  # same answer
    head = (f"{'side':<44}{'read/import s':>14}{'aggregate s':>13}{'total s':>10}{'CPU s':>8}{'rows/s':>14}"
            f"{'peak RSS MB':>13}")
    print(head)
    print("-" * len(head))
    labels = {"tradepact": "tradepact data import baci + HS2 x pair", "pandas": "pandas read_csv + groupby"}
    for side, r in results.items():
        print(f"{labels[side]:<44}{r['import_s']:>14.2f}{r['agg_s']:>13.2f}{r['seconds']:>10.2f}{r['cpu_s']:>8.1f}"
              f"{rows / r['seconds']:>14,.0f}{r['peak_rss_mb']:>13,.0f}")
    ratio = pd_["seconds"] / tp["seconds"]
    print(f"\nrows: {rows:,}   groups (pair x HS2): {tp['groups']:,}   speed ratio (pandas s / tradepact s): "
          f"{ratio:.2f}x   target >= 3x, tradepact peak RSS {tp['peak_rss_mb']:,.0f} MB (target < 2,048)")
    print(f"CPU-time ratio (pandas CPU s / tradepact CPU s): {pd_['cpu_s'] / tp['cpu_s']:.2f}x "
          f"(tradepact uses {os.cpu_count()} threads, pandas one)")
    print(f"file rows in {'(k, j, i) order (--unsorted)' if args.unsorted else 'BACI order (t, i, j, k)'}; "
          f"parser kernels used: {tp['kernels']}" + ("" if compile_s is None else
          f"; one-time JIT compilation of numba's kernels on a fresh install (excluded above): {compile_s:.1f}s"))
    if args.repeat > 1:
        print(f"best of {args.repeat} alternating runs per side; all totals (s): " + "; ".join(
            f"{side} " + ", ".join(f"{r['seconds']:.2f}" for r in rs) for side, rs in runs.items()))
    print(f"machine load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
