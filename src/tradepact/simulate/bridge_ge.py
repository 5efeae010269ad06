"""From a scenario to the GE engine: line-level tariff changes as a shock to their own sector.

Used when a scenario lists ``ge`` in ``models`` and :mod:`tradepact.simulate.ge` is installed. The GE
world is the built-in 8-region world (2016):

* the lines whose tariff changes in one year (``year``, default the scenario's last year) are split
  out of the one-sector table into a sector of their own (:func:`~tradepact.simulate.ge.baseline.split_sector`):
  their baseline value is that sector's flow for their pair; every other cell's content of those
  products is an assumption derived from built-in data
  (:func:`~tradepact.simulate.ge.world8.content_share`: vehicles' share of US exports to Korea for
  HS 87 lines, else the lines' share of their pair's flow), stated in the result's notes and
  assumptions. The tariff change in that sector is the lines' value-weighted change
  ``dt_ij = sum_l M_l (t1_l - t0_l) / sum_l M_l`` (exact for one line), so goods the scenario does
  not touch are not taxed;
* ``trade_cost`` changes (``change`` = tau_hat - 1, iceberg) enter as ``d ln T_ij = -theta ln(1 + change)``
  on every sector of the pair.

The trade elasticity θ is the ``gravity`` table's (Head & Mayer 2014): :func:`run_ge_range` solves at its
low / central / high values so that GE headlines are ranges.

Returns the GE result (``tradepact.simulate.ge.GEResult``) and the shock inputs as a frame.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError


def run_ge(scn, pe_frame: pd.DataFrame, year: int | None = None, theta: float | None = None):
    """Solve the GE counterfactual of scenario ``scn`` (full endowment closure) at trade elasticity ``theta``
    (default the model's central 5); see the module docstring. Returns (result, shock rows, content share
    or None when no product sector was split out)."""
    from tradepact.simulate.ge import Shock, solve
    from tradepact.simulate.ge.baseline import split_sector
    from tradepact.simulate.ge.world8 import DEFAULT_THETA, REGIONS, content_share, world8_baseline, world8_tables

    f = scn.file
    base = world8_baseline(2016, DEFAULT_THETA if theta is None else float(theta))
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
    share = None
    if tariffs:
        known = {(r["exporter"], r["importer"]): r["lines_value"] for r in rows if r["kind"] == "tariff"}
        codes = sorted(set(d["hs"].astype(str)))
        share = content_share(codes, sum(r["pair_value"] for r in rows if r["kind"] == "tariff"),
                              sum(known.values()))
        base = split_sector(base, "scenario lines", known, share.value,
                            note=f"assumed content of the changed products in every other flow: {share.derivation}")
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
    return (result, pd.DataFrame(rows, columns=["exporter", "importer", "kind", "lines_value", "pair_value", "change"]),
            share)


def run_ge_range(scn, pe_frame: pd.DataFrame, year: int | None = None) -> dict:
    """:func:`run_ge` at the low / central / high trade elasticity θ of the ``gravity`` table.

    Returns ``{"results": {case: GEResult}, "thetas": {case: θ}, "shock": frame, "share": ContentShare|None,
    "range": frame}``; ``range`` has one row per case and tariff pair: ``case, theta, exporter, importer``,
    the pair's change in the changed products' sector (``touched_change``), in other goods
    (``untouched_change``) with its general-equilibrium ``income_bound``, ``total_change`` (USD m), the
    importer's bilateral balance change with the exporter and both welfare changes (%).
    """
    from tradepact.simulate.elasticities import theta_range

    thetas = theta_range("gravity")
    results, rows, shock, share = {}, [], None, None
    for case, th in thetas.items():
        r, shock, share = run_ge(scn, pe_frame, year=year, theta=th)
        results[case] = r
        f = r.to_frame().set_index("country")
        touched = [s for s in r.baseline.sectors if s != "other"] or list(r.baseline.sectors)
        for t in shock[shock["kind"] == "tariff"].itertuples(index=False):
            split = r.pair_split(t.exporter, t.importer, touched)
            dec = r.balance_decomposition(t.importer, t.exporter).set_index("partner")
            rows.append({"case": case, "theta": th, "exporter": t.exporter, "importer": t.importer,
                         "touched_change": split["touched_change"], "untouched_change": split["untouched_change"],
                         "income_bound": split["income_bound"], "total_change": split["total_change"],
                         "bilateral_balance_change": float(dec.at[t.exporter, "balance_change"]),
                         "importer_welfare_pct": float(f.at[t.importer, "welfare_change_pct"]),
                         "exporter_welfare_pct": float(f.at[t.exporter, "welfare_change_pct"])})
    return {"results": results, "thetas": thetas, "shock": shock, "share": share, "range": pd.DataFrame(rows)}
