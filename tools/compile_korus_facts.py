"""Compile the KORUS reference facts in ../shared/data/korus into tradepact's built-in data.

Developer tool, not part of the installed product: it reads the compiled reference tables
(USD millions, US point of view) and writes them in tradepact's own layout to
``src/tradepact/data/korus_*.csv``, keeping every figure's source and confirmed flag.
Run: ``python tools/compile_korus_facts.py [--data ../shared/data]``.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "tradepact" / "data"

FLOW_COLUMNS = {
    "year": "year", "series": "series", "us_exports_musd": "exports", "us_imports_musd": "imports",
    "balance_musd": "balance", "precision": "precision", "value_kind": "value_kind",
    "confirmed": "confirmed", "preferred": "preferred", "source": "source", "source_url": "source_url",
    "notes": "note",
}


def _yes(col: pd.Series) -> pd.Series:
    return col.astype(str).str.strip().str.lower().eq("yes")


def compile_flows(path: Path, reporter: str = "USA", partner: str = "KOR") -> pd.DataFrame:
    """Goods or services rows, renamed; exports/imports/balance are reporter's view in USD millions."""
    raw = pd.read_csv(path)
    df = raw.rename(columns=FLOW_COLUMNS)
    if "preferred" not in df:
        df["preferred"] = "no"
    df["confirmed"] = _yes(df["confirmed"])
    df["preferred"] = _yes(df["preferred"])
    df.insert(1, "reporter", reporter)
    df.insert(2, "partner", partner)
    cols = ["year", "reporter", "partner", "series", "exports", "imports", "balance", "precision",
            "value_kind", "confirmed", "preferred", "source", "source_url", "note"]
    if "total_trade_musd" in raw:
        df["total_trade"] = raw["total_trade_musd"]
        cols.insert(7, "total_trade")
    return df[cols]


def compile_events(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    df["confirmed"] = _yes(df["confirmed"])
    return df[["date", "date_precision", "category", "event", "actors", "confirmed", "source", "source_url"]]


def compile_assessments(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    df["confirmed"] = _yes(df["confirmed"])
    return df[["study_id", "study", "organisation", "year_published", "assessment_type", "economy",
               "indicator", "value_low", "value_high", "unit", "period_or_baseline", "confirmed", "source"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    args = ap.parse_args()
    src = args.data / "korus"
    OUT.mkdir(parents=True, exist_ok=True)
    compile_flows(src / "goods_trade.csv").to_csv(OUT / "korus_goods.csv", index=False)
    compile_flows(src / "services_trade.csv").to_csv(OUT / "korus_services.csv", index=False)
    compile_flows(src / "goods_services_combined.csv").to_csv(OUT / "korus_goods_services.csv", index=False)
    compile_events(src / "events.csv").to_csv(OUT / "korus_events.csv", index=False)
    compile_assessments(src / "assessments.csv").to_csv(OUT / "korus_assessments.csv", index=False)
    print(f"wrote KORUS facts to {OUT}")


if __name__ == "__main__":
    main()
