"""Yotov et al. (2016) ch. 1 exercises: (1) the effects of WTO accession, (2) unilateral MFN tariffs.

Exercise 1 (``agtpa_chapter1_exercises/chapter1_exercise1_wto``, 4-year sample, intra-national
flows included): PPML of trade on RTA and WTO with exporter-year, importer-year and pair FE
(pair id = symmetric pair, as the do-file's ``egen pair_id = group(DIST)``), plus a
globalization variant with international-border × year dummies (2006 reference).
Exercise 2 (``chapter1_exercise2_mfn``, 3-year sample 1988–2006): PPML of trade on RTA and
``ln_MFN = ln(1 + MFN_TARIFF)`` on international flows (0 on domestic ones) with the same FE;
the tariff elasticity identifies the trade elasticity (−σ).

Prints JSON. ``--data DIR`` (default ../shared/data).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import column, emit, parse_args  # noqa: E402

from tradepact.gravity import ppml  # noqa: E402
from tradepact.gravity.panel import pair_ids  # noqa: E402


def _read(data_dir, name):
    p = Path(data_dir) / "agtpa_chapter1_exercises" / f"{name}.parquet"
    return pd.read_parquet(p) if p.exists() else pd.read_csv(p.with_suffix(".csv"))


def _prep(df):
    df = df.copy()
    df["exp_year"] = df["exporter"] + "_" + df["year"].astype(str)
    df["imp_year"] = df["importer"] + "_" + df["year"].astype(str)
    df["pair_id"] = pair_ids(df["exporter"], df["importer"])
    df["INTL_BRDR"] = (df["exporter"] != df["importer"]).astype(int)
    years = sorted(df["year"].unique())
    for y in years[:-1]:
        df[f"INTL_BRDR_{y}"] = df["INTL_BRDR"] * (df["year"] == y)
    return df, years


def run(data_dir, ssc: str = "stata") -> dict:
    kw = dict(vcov={"CRV1": "pair_id"}, ssc=ssc)
    wto, years = _prep(_read(data_dir, "chapter1_exercise1_wto"))
    brdr = " + ".join(f"INTL_BRDR_{y}" for y in years[:-1])
    out = {
        "wto": column(ppml(wto, "trade ~ RTA + WTO | exp_year + imp_year + pair_id", **kw)),
        "wto_globalization": column(ppml(wto, f"trade ~ RTA + WTO + {brdr} | exp_year + imp_year + pair_id", **kw)),
    }
    mfn, _ = _prep(_read(data_dir, "chapter1_exercise2_mfn"))
    mfn["ln_MFN"] = np.where(mfn["INTL_BRDR"] == 1, np.log1p(mfn["MFN_TARIFF"]), 0.0)
    out["mfn"] = column(ppml(mfn, "trade ~ RTA + ln_MFN | exp_year + imp_year + pair_id", **kw))
    return out


if __name__ == "__main__":
    emit(run(parse_args(__doc__)))
