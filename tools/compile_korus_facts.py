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


#: data copies named in sources without a date, and when they were taken
#: (../shared/data/korus/sources/census_goods_korea_south_extract.SOURCE.md: copy D and scrape E)
COPY_DATES = {"ooihiangee/raw_data": "2024-11", "weiqi-kids/agent.cross-border-trade": "2026-06"}


def vintage(source: pd.Series) -> pd.Series:
    """When each figure was published, from the first document of its source text (the one the values
    come from): its first ``YYYY-MM`` date (snapshot, commit or article date), else the date of a known
    data copy it names, else 'publication date not stated'."""
    first = source.fillna("").str.split(" | ", regex=False).str[0]
    ym = first.str.extract(r"((?:19|20)\d\d-\d\d)", expand=False)
    for copy, date in COPY_DATES.items():
        ym = ym.where(ym.notna() | ~first.str.contains(copy, regex=False), date)
    return ("published " + ym).where(ym.notna(), "publication date not stated")


#: 2011 US services with Korea: USTR's preliminary row (exports 17, imports 8, balance 8, whole billions)
#: does not difference. The one official vintage giving the 2011 figures consistently is BEA's as of March
#: 2018, quoted by KEI (exports 16.7bn; surplus 6.9bn, from its "77% above the pre-KORUS level" of the
#: 2017 surplus 12.2bn), so imports = 16.7 - 6.9 = 9.8bn. That row becomes the preferred 2011 row.
SERVICES_2011_VINTAGE = "KEI blog 2018-03"


def correct_services_2011(df: pd.DataFrame) -> pd.DataFrame:
    """Replace the preferred 2011 US_BEA row by one built from one vintage (see SERVICES_2011_VINTAGE)."""
    y = (df["year"] == 2011) & (df["series"] == "US_BEA")
    kei = df[y & df["source"].str.startswith(SERVICES_2011_VINTAGE)]
    exports = kei["exports"].dropna()
    balance = kei["balance"].dropna()
    if len(exports) != 1 or len(balance) != 1:
        raise SystemExit("services 2011: expected one KEI exports row and one KEI balance row")
    row = kei.iloc[[0]].copy()
    row["exports"], row["balance"] = float(exports.iloc[0]), float(balance.iloc[0])
    row["imports"] = row["exports"] - row["balance"]
    row["value_kind"], row["preferred"], row["confirmed"] = "derived", True, True
    row["note"] = ("One vintage (BEA as of March 2018, quoted by KEI): exports 16,700 reported; surplus 6,900 "
                   "derived from KEI's '2017 surplus 12.2bn, 77% above the pre-KORUS level'; imports = exports - "
                   "surplus. Replaces USTR's preliminary 2012 figures (17,000 / 8,000 / 8,000), whose whole-"
                   "billion parts do not difference.")
    out = df.copy()
    out.loc[y, "preferred"] = False
    return pd.concat([out, row], ignore_index=True).sort_values(["year", "series"], kind="stable")


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
    df["vintage"] = vintage(df["source"])
    cols = ["year", "reporter", "partner", "series", "exports", "imports", "balance", "precision",
            "value_kind", "confirmed", "preferred", "vintage", "source", "source_url", "note"]
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
    correct_services_2011(compile_flows(src / "services_trade.csv")).to_csv(OUT / "korus_services.csv", index=False)
    compile_flows(src / "goods_services_combined.csv").to_csv(OUT / "korus_goods_services.csv", index=False)
    compile_events(src / "events.csv").to_csv(OUT / "korus_events.csv", index=False)
    compile_assessments(src / "assessments.csv").to_csv(OUT / "korus_assessments.csv", index=False)
    print(f"wrote KORUS facts to {OUT}")


if __name__ == "__main__":
    main()
