"""Yotov et al. (2016) ch. 1, application 2: the "distance puzzle".

Distance elasticities by year (ln_DIST_<year> = ln distance × year dummy, international
flows), 4-year sample 1986–2006, exporter-year and importer-year FE, SEs clustered by pair:
(1) OLS, international positive flows; (2) PPML, international flows with zeros;
(3) PPML with intra-national flows: year-specific distance elasticities on all flows (internal
    distance for domestic ones) and a same-country dummy SMCTRY;
(4) PPML with intra-national flows and country-specific intra-national fixed effects
    (``exporter^SMCTRY`` absorbed).
For each column: the change of the distance elasticity 1986→2006 (b2006 − b1986, delta-method SE).

Prints JSON. ``--data DIR`` (default ../shared/data).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import YEARS, column, emit, load_applications, parse_args  # noqa: E402

from tradepact.gravity import ols, ppml  # noqa: E402

DIST = " + ".join(f"ln_DIST_{y}" for y in YEARS)
GRAV = f"{DIST} + CNTG + LANG + CLNY"
GRAV_ALL = " + ".join(f"ln_DISTALL_{y}" for y in YEARS) + " + CNTG + LANG + CLNY"


def _with_change(res) -> dict:
    name = "ln_DIST_" if f"ln_DIST_{YEARS[0]}" in res.params.index else "ln_DISTALL_"
    ch = res.lincom({f"{name}{YEARS[-1]}": 1, f"{name}{YEARS[0]}": -1})
    return column(res, change_1986_2006={"estimate": ch[0], "se": ch[1]})


def run(data_dir, ssc: str = "stata") -> dict:
    df = load_applications(data_dir)
    intl = df[df["exporter"] != df["importer"]]
    kw = dict(vcov={"CRV1": "pair_id"}, ssc=ssc)
    return {
        "ols": _with_change(ols(intl, f"ln_trade ~ {GRAV} | exp_year + imp_year", **kw)),
        "ppml": _with_change(ppml(intl, f"trade ~ {GRAV} | exp_year + imp_year", **kw)),
        "intra": _with_change(ppml(df, f"trade ~ {GRAV_ALL} + SMCTRY | exp_year + imp_year", **kw)),
        "intra_fe": _with_change(ppml(df, f"trade ~ {GRAV} | exp_year + imp_year + exporter^SMCTRY", **kw)),
    }


if __name__ == "__main__":
    emit(run(parse_args(__doc__)))
