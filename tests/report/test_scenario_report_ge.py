"""The report of one scenario run with PE and GE: the GE θ range table, the closure's fixed outcomes as
assumptions (never a finding), and the table of assumptions with values and sources, in the rendered HTML."""
from __future__ import annotations

import json

from tradepact.report.scenario import scenario_report
from tradepact.simulate.scenario import run_scenario

SCENARIO = {"name": "cars-pe-ge", "baseline": {"agreement": "korus", "year": 2017}, "years": [2019],
            "changes": [{"kind": "tariff", "importer": "USA", "exporter": "KOR", "hs": "8703", "rate": 0.25}],
            "models": ["pe", "ge"], "elasticities": {"functional_form": "constant_elasticity"}}


def test_rendered_report_states_assumptions_and_the_theta_range():
    res = run_scenario(dict(SCENARIO))
    doc = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    html = scenario_report(doc, summary=res.summary()).to_html()
    low = html.lower()
    assert "robust finding" not in low and "fixed by assumption" in low and "these are not results" in low
    assert "Assumptions: what the run takes as given" in html
    assert "vehicles (HS 87) share of US goods exports to Korea, 2016: 2,200 / 42,300 USD m" in html
    assert "Broda" in html and "Head, K. and T. Mayer (2014)" in html
    assert "General equilibrium at low / central / high trade elasticity θ" in html
    assert "over θ 3–8" in html  # the summary quotes the GE range, not one θ
