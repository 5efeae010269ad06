"""From a scenario to the GE engine: line-level tariff changes as a shock to their own sector.

Used when a scenario lists ``ge`` in ``models`` and :mod:`tradepact.simulate.ge` is installed. The GE
world is the built-in 8-region world (2016):

* the lines whose tariff changes in one year (``year``, default the scenario's last year) are split
  out of the one-sector table into a sector of their own (:func:`~tradepact.simulate.ge.baseline.split_sector`):
  their baseline value is that sector's flow for their pair; every other cell's content of those
  products is assumed :data:`~tradepact.simulate.ge.world8.CAR_SHARE` of its flow (stated in the
  result's notes). The tariff change in that sector is the lines' value-weighted change
  ``dt_ij = sum_l M_l (t1_l - t0_l) / sum_l M_l`` (exact for one line), so goods the scenario does
  not touch are not taxed;
* ``trade_cost`` changes (``change`` = tau_hat - 1, iceberg) enter as ``d ln T_ij = -theta ln(1 + change)``
  on every sector of the pair.

Returns the GE result (``tradepact.simulate.ge.GEResult``) and the shock inputs as a frame.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError


def run_ge(scn, pe_frame: pd.DataFrame, year: int | None = None):
    """Solve the GE counterfactual of scenario ``scn`` (full endowment closure); see the module docstring."""
    from tradepact.simulate.ge import Shock, solve
    from tradepact.simulate.ge.baseline import split_sector
    from tradepact.simulate.ge.world8 import CAR_SHARE, REGIONS, world8_baseline, world8_tables

    f = scn.file
    base = world8_baseline(2016)
    trade = world8_tables()[0]
    trade = trade[trade["year"] == 2016].groupby(["exporter", "importer"])["value_usd_m"].sum()
    year = int(year if year is not None else max(scn.years))

    rows = []
    if pe_frame is not None and len(pe_frame):
        d = pe_frame[pe_frame["year"] == year]
        d = d[np.isfinite(d["rate_after"]) & np.isfinite(d["rate_before"])]
        d = d[(d["rate_after"] - d["rate_before"]).abs() > 1e-12]
        for (ex, im), g in d.groupby(["exporter", "importer"]):
            for c, fld in ((ex, "exporter"), (im, "importer")):
                if c not in REGIONS:
                    raise ConfigError(f"{f}: field 'models': the GE world has regions {', '.join(REGIONS)}; "
                                      f"{fld} {c!r} of a tariff change is not one of them")
            flow = float(trade.get((ex, im), np.nan))
            if not flow > 0:
                raise ConfigError(f"{f}: field 'models': no {ex}->{im} trade in the GE world table for the "
                                  "tariff change")
            value = float(g["import_value"].sum())
            if value > flow:
                raise ConfigError(f"{f}: field 'models': the changed {ex}->{im} lines ({value:,.0f}) exceed the "
                                  f"pair's trade in the GE world table ({flow:,.0f})")
            dt = float((g["import_value"] * (g["rate_after"] - g["rate_before"])).sum() / value) if value > 0 else 0.0
            rows.append({"exporter": ex, "importer": im, "kind": "tariff", "lines_value": value,
                         "pair_value": flow, "change": dt})
    tariffs = {(r["exporter"], r["importer"]): r["change"] for r in rows if r["kind"] == "tariff"}
    if tariffs:
        known = {(r["exporter"], r["importer"]): r["lines_value"] for r in rows if r["kind"] == "tariff"}
        base = split_sector(base, "scenario lines", known, CAR_SHARE,
                            note="assumed content of the changed products in every other flow")
    theta = base.theta if np.ndim(base.theta) == 0 else float(np.asarray(base.theta).ravel()[0])
    n = len(base.countries)
    log_cost = np.zeros((len(base.sectors), n, n))
    for i, ch in enumerate(scn.changes):
        if ch.kind != "trade_cost":
            continue
        if ch.importer is None or ch.exporter is None:
            raise ConfigError(f"{f}: field 'changes[{i}]': a trade_cost shock needs an importer and an exporter")
        for c, fld in ((ch.exporter, "exporter"), (ch.importer, "importer")):
            if c not in REGIONS:
                raise ConfigError(f"{f}: field 'changes[{i}].{fld}': expected one of the GE regions "
                                  f"{', '.join(REGIONS)}, got {c!r}")
        log_cost[:, base.index(ch.exporter), base.index(ch.importer)] += -theta * np.log1p(ch.change)
        rows.append({"exporter": ch.exporter, "importer": ch.importer, "kind": "trade_cost", "lines_value": np.nan,
                     "pair_value": float(trade.get((ch.exporter, ch.importer), np.nan)), "change": ch.change})
    shock = Shock.bilateral_tariffs(base, tariffs, sector="scenario lines", additive=True,
                                    label=f"{scn.name} tariffs {year}") if tariffs else Shock.none()
    if np.any(log_cost != 0):
        shock = shock + Shock.from_costs(log_cost, label="trade costs")
    result = solve(base, shock, closure="full")
    return result, pd.DataFrame(rows, columns=["exporter", "importer", "kind", "lines_value", "pair_value", "change"])
