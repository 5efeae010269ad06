"""Yotov et al. (2016) ch. 1, application 1: traditional gravity estimates.

International flows on the 4-year sample 1986–2006, SEs clustered by pair:
(1) OLS of ln(trade) on ln distance, contiguity, common language, colony, ln output ln Y_it
    and ln expenditure ln E_jt (Y, E = total shipments / purchases incl. domestic flows);
(2) + remoteness indexes ln REM_EXP_it = ln Σ_j dist_ij / (E_jt / E_t) and
    ln REM_IMP_jt = ln Σ_i dist_ij / (Y_it / Y_t) (sums over all partners incl. domestic);
(3) OLS with exporter-year and importer-year fixed effects (positive flows);
(4) PPML with exporter-year and importer-year fixed effects (zeros kept).

Prints JSON. ``--data DIR`` (default ../shared/data).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import column, emit, load_applications, parse_args  # noqa: E402

from tradepact.gravity import ols, ppml  # noqa: E402

GRAV = "ln_DIST + CNTG + LANG + CLNY"


def prepare(data_dir):
    df = load_applications(data_dir)
    df["Y"] = df.groupby(["exporter", "year"])["trade"].transform("sum")
    df["E"] = df.groupby(["importer", "year"])["trade"].transform("sum")
    df["ln_Y"], df["ln_E"] = np.log(df["Y"]), np.log(df["E"])
    # world totals as the book's do-file computes them: sum of E (resp. Y) over all rows of a year
    df["E_R"] = df.groupby("year")["E"].transform("sum")
    df["Y_R"] = df.groupby("year")["Y"].transform("sum")
    df["rem_exp_term"] = df["dist"] / (df["E"] / df["E_R"])
    df["rem_imp_term"] = df["dist"] / (df["Y"] / df["Y_R"])
    df["ln_REM_EXP"] = np.log(df.groupby(["exporter", "year"])["rem_exp_term"].transform("sum"))
    df["ln_REM_IMP"] = np.log(df.groupby(["importer", "year"])["rem_imp_term"].transform("sum"))
    return df


def run(data_dir, ssc: str = "stata") -> dict:
    df = prepare(data_dir)
    intl = df[df["exporter"] != df["importer"]]
    kw = dict(vcov={"CRV1": "pair_id"}, ssc=ssc)
    return {
        "ols": column(ols(intl, f"ln_trade ~ {GRAV} + ln_Y + ln_E", **kw)),
        "remoteness": column(ols(intl, f"ln_trade ~ {GRAV} + ln_Y + ln_E + ln_REM_EXP + ln_REM_IMP", **kw)),
        "fixed_effects": column(ols(intl, f"ln_trade ~ {GRAV} | exp_year + imp_year", **kw)),
        "ppml": column(ppml(intl, f"trade ~ {GRAV} | exp_year + imp_year", **kw)),
    }


if __name__ == "__main__":
    emit(run(parse_args(__doc__)))
