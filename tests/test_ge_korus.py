"""KORUS GE section on the built-in 8-region world: data provenance, scenario construction,
the bilateral-versus-total balance contrast, and the report section's content."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradepact.simulate.ge import solve
from tradepact.simulate.ge.world8 import korus_scenarios, scenario_inputs, world8_baseline, world8_tables


def test_world8_package_data_keeps_provenance_and_matches_shared(shared_data):
    trade, regions, lines = world8_tables()
    for df in (trade, regions, lines):
        assert df[[c for c in df.columns if c in ("source", "trade_source")]].notna().all().all()
    assert trade.confirmed.dtype == bool and 0 < trade.confirmed.sum() < len(trade)
    raw = pd.read_csv(shared_data / "world8" / "trade_matrix.csv")
    m = trade.merge(raw, on=["year", "exporter", "importer"], suffixes=("", "_raw"))
    assert len(m) == len(raw)
    np.testing.assert_array_equal(m.value_usd_m, m.value_usd_m_raw)
    assert (m.confirmed == m.confirmed_raw.eq("yes")).all()


def test_world8_baseline_flags_domestic_approximation():
    b = world8_baseline(2016)
    assert b.countries == tuple(sorted(["USA", "KOR", "CHN", "JPN", "EU", "CAN", "MEX", "ROW"]))
    assert b.domestic_approximated.all() and "GDP" in b.notes[0]
    k, u = b.index("KOR"), b.index("USA")
    assert b.flows[0, k, u] == 69900.0 and b.flows[0, u, k] == 42300.0
    _, regions, _ = world8_tables()
    gdp = regions[regions.year == 2016].set_index("region").gdp_usd_m
    np.testing.assert_allclose(b.output, gdp.reindex(b.countries).to_numpy(), rtol=1e-12)


def test_scenario_weights_follow_the_facts():
    v = scenario_inputs()
    assert v["car_share_KOR>USA"] == pytest.approx(15580 / 69900)
    # Korea: vehicles 2200*8% + beef 1100*(40-26.67)% + pork 365*25% over 42300
    assert v["undone_USA>KOR"] == pytest.approx((2200 * .08 + 1100 * (.40 - .2667) + 365 * .25) / 42300)
    assert v["undone_KOR>USA"] == pytest.approx(15580 * .025 / 69900)


def test_car_tariff_moves_bilateral_not_total_balance():
    b = world8_baseline(2016)
    sc = {s.key: s for s in korus_scenarios(b)}
    car = sc["car_tariff"]
    r = solve(car.baseline, car.shock, deficits="additive")
    d = r.balance_decomposition("USA", "KOR").set_index("partner").balance_change
    assert 5000 < d["KOR"] < 15580  # imports from Korea fall by billions, less than the cars tariffed
    assert abs(d["TOTAL"]) < 1e-2  # deficits fixed: total unchanged to the solver tolerance (USD m), by assumption
    assert d["KOR"] + d["REST"] == pytest.approx(d["TOTAL"], abs=1e-6)
    assert any("total trade balance" in t for t in r.fixed_outcomes()) and "fixed by the closure" in r.summary()
    f = r.to_frame().set_index("country")
    assert f.at["KOR", "welfare_change_pct"] < 0 < f.at["MEX", "welfare_change_pct"]
    assert f.at["USA", "tariff_revenue_new"] > 0


def test_korus_section_content():
    from tradepact.report.document import Chart, Note, Report, TableBlock
    from tradepact.report.sections.ge import korus_section

    s = korus_section()
    assert s.id == "ge" and "US–Korea balance" in s.summary and "unconfirmed" in s.summary
    assert "range 3–8" in s.summary and "fixed by the closure" in s.summary
    kinds = [type(b) for b in s.blocks]
    assert kinds.count(Chart) == 2 and kinds.count(TableBlock) == 5
    assert any(isinstance(b, Note) and b.kind == "caveat" and "confirmed" in b.text for b in s.blocks)
    bal = next(b for b in s.blocks if isinstance(b, TableBlock) and b.name == "ge_balances").frame
    assert set(bal.deficits) == {"additive", "multiplicative"} and len(bal) == 6
    add = bal[bal.deficits == "additive"]
    assert (add["US total balance"] == "fixed by assumption").all()
    assert (add["US-KOR bilateral balance change (USD m)"].abs() > 10).all()
    sens = next(b for b in s.blocks if isinstance(b, TableBlock) and b.name == "ge_theta_sensitivity").frame
    # a larger elasticity means a larger trade response to the same tariff; no closure-fixed column
    assert sens["US-KOR bilateral balance change (USD m)"].is_monotonic_increasing
    assert list(sens["theta"]) == [3.0, 5.0, 8.0] and not any("total" in c.lower() and "balance" in c.lower()
                                                              for c in sens.columns)
    rec = next(b for b in s.blocks if isinstance(b, TableBlock) and b.name == "ge_pe_reconciliation").frame
    assert len(rec) == 7 and rec["why it differs"].str.len().min() > 20
    # PE at the GE's own elasticity (η = −σ) lands close to the GE car change: the gap is the GE part
    pe_same = rec[rec.model.str.startswith("PE, η = ")]["cars from Korea Δ (USD m)"].iloc[0]
    ge_c = rec[rec.model.str.startswith("GE, θ central")]["cars from Korea Δ (USD m)"].iloc[0]
    assert abs(pe_same - ge_c) < 0.05 * abs(ge_c)
    html = Report(title="t", subtitle="", sections=[s]).to_html()
    assert "⚠ unconfirmed" in html
    # the closure fixes the total balance: the rendered text never calls it a (robust) finding
    low = html.lower()
    assert "robust finding" not in low and "fixed by assumption" in low
    assert "macroeconomists" in html and "does not test it" in html


def test_scenario_rates_agree_with_the_agreement_module():
    from tradepact.agreements import load_agreement, rate

    ag = load_agreement("korus")
    _, _, lines = world8_tables()
    hs = {"KR-CARS": "870323", "KR-BEEF-MUSCLE": "020130", "KR-PORK-FROZEN-OTHER": "020329", "US-CARS": "870323"}
    for row in lines[lines.component.isin(list(hs))].itertuples():
        r = rate(ag, row.importer, row.exporter, hs[row.component], 2016)
        assert r.line_id == row.component
        assert r.rate == pytest.approx(row.rate_2016, abs=1e-4) and r.base_rate == pytest.approx(row.rate_base)
