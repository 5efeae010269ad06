"""Benchmark: vectorized ``rates()`` against a naive per-row loop of ``rate()``.

A synthetic annex schedule of N HS8 lines (default 10,000; staging categories mixed:
immediate, 3/5/10/15 equal cuts, held-then-cut, explicit path, no commitment) is written in
the published CSV layout, imported through an agreement YAML file with one amendment, and
queried for every line over 30 years (2010-2039) = N x 30 rows. The peer is the obvious
implementation: a Python loop calling ``rate()`` once per row. Both must give the same
answers (checked), and the table prints the time ratio measured in this run.

    python bench/schedule_rates.py            # 10,000 lines x 30 years
    python bench/schedule_rates.py --quick    # 1,000 lines x 30 years
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from rich.console import Console
from rich.table import Table

from tradepact.agreements import load_agreement, rate, rates

CATEGORIES = {
    "A": {"kind": "immediate"},
    "B": {"kind": "equal_cuts", "cuts": 3},
    "C": {"kind": "equal_cuts", "cuts": 5},
    "D": {"kind": "equal_cuts", "cuts": 10},
    "F": {"kind": "equal_cuts", "cuts": 15},
    "H": {"kind": "held_then_equal_cuts", "hold_years": 7, "cuts": 3},
    "X": {"kind": "explicit", "path": {1: 0.6, 3: 0.3, 6: 0.0}},
    "N": {"kind": "no_commitment"},
}


def build(n_lines: int, workdir: Path, seed: int = 0) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    codes = rng.choice(np.arange(1_000_000, 99_999_999), size=n_lines, replace=False)
    hs = pd.Series(codes).astype(str).str.zfill(8)
    annex = pd.DataFrame({
        "HS8": hs,
        "Description": "synthetic line " + hs,
        "Base Rate": np.where(rng.random(n_lines) < 0.1, "Free", np.round(rng.uniform(0, 40, n_lines), 1).astype(str)),
        "Staging Category": rng.choice(list(CATEGORIES), size=n_lines),
    })
    annex.to_csv(workdir / "annex.csv", index=False)
    amended = hs.iloc[: max(1, n_lines // 100)]
    doc = {
        "id": "synthetic", "name": "Synthetic benchmark agreement", "parties": ["USA", "KOR"],
        "signed": "2007-06-30", "entry_into_force": "2012-03-15",
        "staging": {"calendar": {"later_cuts_on": "01-01"}, "categories": CATEGORIES},
        "schedules": [{"file": "annex.csv", "importer": "KOR", "source": "synthetic annex"}],
        "amendments": [{"id": "AM", "name": "protocol", "agreed": "2018-09-24", "effective": "2019-01-01",
                        "source": "synthetic", "changes": [{"line": f"KOR-{c}", "set": {"category": "N"}}
                                                           for c in amended]}],
    }
    text = yaml.safe_dump(doc, sort_keys=False).replace("'2007-06-30'", "2007-06-30")
    path = workdir / "synthetic.yaml"
    path.write_text(text)
    years = np.arange(2010, 2040)
    frame = pd.DataFrame({
        "importer": "KOR",
        "exporter": np.tile(np.where(rng.random(n_lines) < 0.9, "USA", "JPN"), len(years)),
        "hs": np.tile(hs.to_numpy(), len(years)),
        "year": np.repeat(years, n_lines),
    })
    return path, frame


def best_of(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 lines instead of 10,000")
    ap.add_argument("--lines", type=int, default=None)
    args = ap.parse_args()
    n_lines = args.lines or (1_000 if args.quick else 10_000)
    with tempfile.TemporaryDirectory() as tmp:
        path, frame = build(n_lines, Path(tmp))
        t_load, ag = best_of(lambda: load_agreement(path), 1)
        ag = load_agreement(path)
        rates(ag, frame.head(10))  # compile the schedule texts once (cached on the agreement), as real use does
        t_vec, got = best_of(lambda: rates(ag, frame), 3)

        def naive():
            return [rate(ag, i, e, h, y).rate for i, e, h, y in
                    zip(frame["importer"], frame["exporter"], frame["hs"], frame["year"])]

        t_loop, ref = best_of(naive, 1)
    ref = np.asarray(ref)
    same = np.allclose(got["rate"].to_numpy(), ref, equal_nan=True, atol=1e-15)
    table = Table(title=f"rates(): {n_lines:,} lines x 30 years = {len(frame):,} rows")
    for col in ("method", "seconds", "rows/s", "ratio vs peer"):
        table.add_column(col, justify="right" if col != "method" else "left")
    table.add_row("peer: Python loop over rate()", f"{t_loop:.3f}", f"{len(frame) / t_loop:,.0f}", "1.0x")
    table.add_row("tradepact rates() (vectorized)", f"{t_vec:.3f}", f"{len(frame) / t_vec:,.0f}",
                  f"{t_loop / t_vec:,.1f}x faster")
    console = Console()
    console.print(table)
    console.print(f"load + validate agreement with {n_lines:,} CSV lines: {t_load:.2f} s; "
                  f"results identical: {same}")
    if not same:
        raise SystemExit("vectorized and per-row results differ")


if __name__ == "__main__":
    main()
