"""Shared helpers for the AGTPA chapter-1 reproductions (Yotov, Piermartini, Monteiro & Larch 2016).

Data: ``<data>/agtpa_applications/agtpa_applications.parquet`` (the book's
Chapter1Application3.dta: 69 countries, 1986–2006, domestic flows included) and
``<data>/agtpa_chapter1_exercises``. Every application uses the 4-year sample
1986, 1990, …, 2006.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

YEARS = [1986, 1990, 1994, 1998, 2002, 2006]
DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def parse_args(doc: str) -> Path:
    ap = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding agtpa_applications/ (default ../shared/data)")
    return ap.parse_args().data


def load_applications(data_dir: Path) -> pd.DataFrame:
    """The application panel on the 4-year sample, with the book's derived variables."""
    p = Path(data_dir) / "agtpa_applications" / "agtpa_applications.parquet"
    df = pd.read_parquet(p) if p.exists() else pd.read_csv(p.with_suffix(".csv"))
    df = df[df["year"].isin(YEARS)].copy()
    df["exp_year"] = df["exporter"] + "_" + df["year"].astype(str)
    df["imp_year"] = df["importer"] + "_" + df["year"].astype(str)
    with np.errstate(divide="ignore"):
        df["ln_trade"] = np.log(df["trade"].where(df["trade"] > 0))
    df["ln_DIST"] = np.log(df["dist"])
    df["CNTG"], df["LANG"], df["CLNY"] = df["cntg"], df["lang"], df["clny"]
    df["RTA"] = df["rta"]
    for c in ["rta_lag4", "rta_lag8", "rta_lag12", "rta_lead4"]:
        df[c.upper()] = df[c]
    df["SMCTRY"] = (df["exporter"] == df["importer"]).astype(int)
    df["INTL_BRDR"] = 1 - df["SMCTRY"]
    df["ln_DIST_INTRA"] = df["ln_DIST"] * df["SMCTRY"]  # internal distance on domestic flows
    for y in YEARS:
        df[f"INTL_BRDR_{y}"] = df["INTL_BRDR"] * (df["year"] == y)
        df[f"ln_DIST_{y}"] = df["ln_DIST"] * (df["year"] == y) * df["INTL_BRDR"]  # international flows
    df["pair"] = df["pair_id"]
    return df.reset_index(drop=True)


def coefs(res, names=None) -> dict:
    names = names or list(res.params.index)
    return {n: {"estimate": float(res.params[n]), "se": float(res.bse[n])} for n in names if n in res.params.index}


def column(res, names=None, **extra) -> dict:
    out = {"coefficients": coefs(res, names), "nobs": res.nobs, "dropped": res.dropped,
           "converged": res.converged, "iterations": res.iterations, "formula": res.formula, "vcov": res.vcov_type,
           "ssc": res.ssc}
    out.update(extra)
    return out


def emit(obj) -> None:
    print(json.dumps(obj, indent=2))
