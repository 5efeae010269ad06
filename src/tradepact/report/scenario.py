"""A report of one scenario run, from its result JSON (``ScenarioResult.to_dict()``).

Sections: summary and totals; charts of trade creation and tariff revenue by HS code and
year; the per-line table (inputs next to results, CSV download); the scenario text.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from tradepact.report.charts import scenario_figure
from tradepact.report.document import Chart, Note, Report, Section, TableBlock

SOURCE = "tradepact scenario run on built-in KORUS product data (see per-line source columns)"


def scenario_report(result_json: dict[str, Any], summary: str = "", scenario_text: str | None = None) -> Report:
    """A :class:`Report` of one run. ``result_json``: ``{"scenario", "lines": [...], "totals": {...}}``."""
    scen = result_json.get("scenario")
    name = str(scen.get("name") if isinstance(scen, dict) else scen or "scenario")
    lines = pd.DataFrame(result_json.get("lines") or [])
    confirmed = bool(lines["confirmed"].astype(bool).all()) if "confirmed" in lines else True
    totals = result_json.get("totals") or {}
    flat = {k: v for k, v in totals.items() if not isinstance(v, (dict, list))}

    overview = Section(id="summary", title=f"Scenario {name}", summary=summary or name)
    if summary:
        overview.add(Note(summary, kind="verdict"))
    description = scen.get("description") if isinstance(scen, dict) else result_json.get("description")
    if description:
        overview.add(Note(" ".join(str(description).split())))
    if flat:
        overview.add(TableBlock(pd.DataFrame({"measure": list(flat), "value": list(flat.values())}),
                                name=f"{name}-totals", caption="Totals (USD millions unless stated)",
                                source=SOURCE, confirmed=confirmed, floatfmt="{:,.3f}"))

    effects = Section(id="effects", title="Effects by product and year")
    for value in ("trade_creation", "trade_diversion", "tariff_revenue_change", "consumer_surplus_change"):
        if value in lines and {"hs", "year"} <= set(lines.columns):
            effects.add(Chart(scenario_figure(lines, f"{name}: {value.replace('_', ' ')}", value=value),
                              source=SOURCE, confirmed=confirmed,
                              caption=f"{value.replace('_', ' ')} by HS code and year, USD millions"))
    if not effects.blocks:
        effects.add(Note("The result has no per-line effects to chart.", kind="caveat"))

    ge = result_json.get("ge") or {}
    if ge.get("range"):
        rng = pd.DataFrame(ge["range"])
        effects.add(TableBlock(rng, name=f"{name}-ge-range", source="tradepact GE on the built-in world8 2016",
                               confirmed=False, floatfmt="{:,.4g}",
                               caption="General equilibrium at low / central / high trade elasticity θ (USD millions; "
                                       "welfare in percent): the changed products' sector, other goods (bounded by "
                                       "the general-equilibrium income effect) and the bilateral balance"))
    if ge.get("fixed_by_closure"):
        overview.add(Note("GE closure " + str(ge.get("closure", "")) + f" ({ge.get('deficits', '')} deficits) fixes by "
                          "assumption: " + "; ".join(map(str, ge["fixed_by_closure"])) + ". These are not results.",
                          kind="caveat"))
    assumptions = result_json.get("assumptions") or []
    if assumptions:
        overview.add(TableBlock(pd.DataFrame(assumptions), name=f"{name}-assumptions", source="scenario run",
                                confirmed=True, caption="Assumptions: what the run takes as given rather than "
                                                        "measures, with the value used and its source"))

    table = Section(id="lines", title="Per line: inputs and results")
    if len(lines):
        flag = "confirmed" if "confirmed" in lines else None
        table.add(TableBlock(lines, name=f"{name}-lines", source=SOURCE, confirmed=confirmed, flag_column=flag,
                             caption="Rates as fractions, values in USD millions", floatfmt="{:,.4g}"))
    caveats = [str(c) for c in (result_json.get("caveats") or [])] + [str(n) for n in (result_json.get("notes") or [])]
    for c in caveats:
        overview.add(Note(c, kind="caveat"))
    sections = [overview, effects, table]
    if scenario_text:
        import html

        sections.append(Section(id="scenario-file", title="Scenario file",
                                blocks=[Note(html_text=f"<pre>{html.escape(scenario_text)}</pre>")]))
    return Report(title=f"tradepact scenario: {name}", sections=sections)
