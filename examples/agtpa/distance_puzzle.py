"""Yotov et al. (2016) ch. 1, application 2: the "distance puzzle" (the book's DistancePuzzle.do).

Distance elasticities by year (ln_DIST_<year> = ln distance × year dummy, international
flows only), 4-year sample 1986–2006, exporter-year and importer-year FE, SEs clustered by pair:
(1) OLS, international positive flows; (2) PPML, international flows with zeros;
(3) PPML with intra-national flows and the log internal distance ln_DIST_INTRA (eq. 1-31);
(4) as (3) plus the same-country dummy SMCTRY (home bias, eq. 1-32);
(5) PPML with intra-national flows and country-specific intra-national fixed effects
    (``exporter^SMCTRY`` absorbed; spans the book's INTRA_FE dummies given exporter-year FE, eq. 1-33).
For each column: the change of the distance elasticity 1986→2006, as a difference
(b2006 − b1986) and, as the book reports it, in percent 100·(b2006 − b1986)/b1986 (delta method,
Stata's ``nlcom``).

Prints JSON. ``--data DIR`` (default ../shared/data).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import YEARS, column, emit, load_applications, parse_args  # noqa: E402

from tradepact.gravity import ols, ppml  # noqa: E402

DIST = " + ".join(f"ln_DIST_{y}" for y in YEARS)
GRAV = f"{DIST} + CNTG + LANG + CLNY"


def _with_change(res) -> dict:
    first, last = f"ln_DIST_{YEARS[0]}", f"ln_DIST_{YEARS[-1]}"
    ch = res.lincom({last: 1, first: -1})
    b1, b2 = float(res.params[first]), float(res.params[last])
    grad = np.array([-100.0 * b2 / b1 ** 2, 100.0 / b1])  # d/d(b1, b2) of 100 (b2 - b1) / b1
    V = res.vcov.loc[[first, last], [first, last]].to_numpy()
    pct = {"estimate": 100.0 * (b2 - b1) / b1, "se": float(np.sqrt(grad @ V @ grad))}
    return column(res, change_1986_2006={"estimate": ch[0], "se": ch[1]}, pct_change_1986_2006=pct)


def run(data_dir, ssc: str = "stata") -> dict:
    df = load_applications(data_dir)
    intl = df[df["exporter"] != df["importer"]]
    kw = dict(vcov={"CRV1": "pair_id"}, ssc=ssc)
    return {
        "ols": _with_change(ols(intl, f"ln_trade ~ {GRAV} | exp_year + imp_year", **kw)),
        "ppml": _with_change(ppml(intl, f"trade ~ {GRAV} | exp_year + imp_year", **kw)),
        "intra": _with_change(ppml(df, f"trade ~ {GRAV} + ln_DIST_INTRA | exp_year + imp_year", **kw)),
        "home_bias": _with_change(ppml(df, f"trade ~ {GRAV} + ln_DIST_INTRA + SMCTRY | exp_year + imp_year", **kw)),
        "intra_fe": _with_change(ppml(df, f"trade ~ {GRAV} | exp_year + imp_year + exporter^SMCTRY", **kw)),
    }


if __name__ == "__main__":
    emit(run(parse_args(__doc__)))
