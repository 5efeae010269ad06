"""Yotov et al. (2016) ch. 1, application 3: the effects of regional trade agreements.

Seven columns as in the book's RTAsEffects.do, all on the 4-year sample 1986–2006 with SEs
clustered by pair:
(1) OLS, international positive flows, exporter-year + importer-year FE, gravity covariates;
(2) PPML, same regressors, international flows including zeros;
(3) PPML with intra-national flows and country-specific intra-national fixed effects (the book's
    domestic PAIR_FE dummies; ``exporter^SMCTRY`` spans them given exporter-year FE);
(4) PPML with pair FE ("endogeneity");
(5) + 4-year lead of RTA (reverse causality test);
(6) + lags of 4, 8 and 12 years (phasing-in) and their sum (total effect, delta-method SE);
(7) + international-border × year dummies (globalization), 2006 the reference year.

Prints JSON. ``--data DIR`` (default ../shared/data).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import YEARS, column, emit, load_applications, parse_args  # noqa: E402

from tradepact.gravity import ols, ppml  # noqa: E402

GRAV = "ln_DIST + CNTG + LANG + CLNY"
FE2 = "exp_year + imp_year"
FE3 = "exp_year + imp_year + pair_id"
LAGS = "RTA + RTA_LAG4 + RTA_LAG8 + RTA_LAG12"
BRDR = " + ".join(f"INTL_BRDR_{y}" for y in YEARS[:-1])


def run(data_dir, ssc: str = "stata") -> dict:
    df = load_applications(data_dir)
    intl = df[df["exporter"] != df["importer"]]
    kw = dict(vcov={"CRV1": "pair_id"}, ssc=ssc)
    out = {}
    r = ols(intl, f"ln_trade ~ {GRAV} + RTA | {FE2}", **kw)
    out["ols"] = column(r)
    r = ppml(intl, f"trade ~ {GRAV} + RTA | {FE2}", **kw)
    out["ppml"] = column(r)
    r = ppml(df, f"trade ~ {GRAV} + RTA | {FE2} + exporter^SMCTRY", **kw)
    out["intra"] = column(r)
    r = ppml(df, f"trade ~ RTA | {FE3}", **kw)
    out["endogeneity"] = column(r)
    r = ppml(df, f"trade ~ RTA + RTA_LEAD4 | {FE3}", **kw)
    out["reverse_causality"] = column(r)
    r = ppml(df, f"trade ~ {LAGS} | {FE3}", **kw)
    total = r.lincom({"RTA": 1, "RTA_LAG4": 1, "RTA_LAG8": 1, "RTA_LAG12": 1})
    out["phasing_in"] = column(r, total_rta={"estimate": total[0], "se": total[1]})
    r = ppml(df, f"trade ~ {LAGS} + {BRDR} | {FE3}", **kw)
    total = r.lincom({"RTA": 1, "RTA_LAG4": 1, "RTA_LAG8": 1, "RTA_LAG12": 1})
    out["globalization"] = column(r, total_rta={"estimate": total[0], "se": total[1]})
    return out


if __name__ == "__main__":
    emit(run(parse_args(__doc__)))
