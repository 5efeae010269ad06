"""Built-in scenarios on the built-in data with the real agreements engine, and the report section.

Expected values are recomputed here from the inputs (the constant-elasticity form the built-in
scenarios use), with the elasticity taken independently from the compiled ProTEE table.
Tolerance 1e-9 relative.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tradepact.agreements as agreements
from tradepact.report.document import Chart, Note, Section, TableBlock
from tradepact.simulate import data as pe_data
from tradepact.simulate.scenario import builtin_scenarios, load_scenario, run_scenario

HAVE_AGREEMENTS = hasattr(agreements, "rates") and hasattr(agreements, "load_agreement")
needs_agreements = pytest.mark.skipif(not HAVE_AGREEMENTS, reason="tradepact.agreements.rates not on this branch yet")


def _eta(prefix: str) -> float:
    t = pe_data.import_elasticities()
    t = t[~t["flagged"] & t["elasticity"].notna()]
    return float(t[t["hs"].str.startswith(prefix)]["elasticity"].mean())


@pytest.fixture(scope="module")
def results():
    if not HAVE_AGREEMENTS:
        pytest.skip("tradepact.agreements.rates not on this branch yet")
    return {name: run_scenario(name) for name in builtin_scenarios()}


@needs_agreements
def test_auto_tariff_25(results):
    res = results["auto-tariff-25"]
    df = res.to_frame()
    cars = df[(df.importer == "USA") & (df.exporter == "KOR") & (df.hs == "8703")].set_index("year")
    assert list(cars.index) == list(range(2019, 2031))
    assert (cars["rate_before"] == 0.0).all() and (cars["rate_after"] == 0.25).all()
    eta = _eta("8703")
    assert cars["import_demand_elasticity"].iloc[0] == pytest.approx(eta, rel=1e-12)
    M = 14700.0
    tc = M * (1.25 ** eta - 1)
    np.testing.assert_allclose(cars["trade_creation"], tc, rtol=1e-9)
    np.testing.assert_allclose(cars["tariff_revenue_change"], 0.25 * (M + tc), rtol=1e-9)
    np.testing.assert_allclose(cars["consumer_surplus_change"], -0.25 * (M + tc / 2), rtol=1e-9)
    others = df[~df.index.isin(cars.index) | (df.hs != "8703") | (df.importer != "USA")]
    others = others[~((others.importer == "USA") & (others.hs == "8703"))]
    assert np.abs(others["trade_creation"]).max() < 1e-9  # nothing else changes
    doc = res.to_dict()
    assert doc["scenario"] == "auto-tariff-25" and doc["totals"]["trade_creation"] == pytest.approx(12 * tc, rel=1e-9)


@needs_agreements
def test_korus_2018_steel_quota_and_trucks(results):
    res = results["korus-2018"]
    df = res.to_frame()
    steel = df[(df.importer == "USA") & (df.hs == "72")].set_index("year")
    assert (steel["quota_regime_after"] == "binding").all()
    np.testing.assert_allclose(steel["import_value"] + steel["total_import_change"], 0.7 * 3400, rtol=1e-12)
    eta = float(steel["import_demand_elasticity"].iloc[0])
    t = pe_data.import_elasticities()
    t = t[~t["flagged"] & t["elasticity"].notna()]
    assert eta == pytest.approx(t[t["hs"].str[:2].isin(["72", "73"])]["elasticity"].mean(), rel=1e-12)
    # constant elasticity: the domestic price that clears a 30% cut, p = (0.7)^(1/eta); rent = (p - 1) * Q
    p = 0.7 ** (1 / eta)
    np.testing.assert_allclose(steel["quota_rent_change"], (p - 1) * 2380, rtol=1e-9)
    assert (steel["consumer_surplus_change"] < 0).all()
    # the truck-tariff extension meets no traded line, and says so
    assert any("8704" in n and "no flow" in n for n in res.notes)
    assert np.abs(df[df.hs != "72"]["trade_creation"]).max() < 1e-9


@needs_agreements
def test_no_korus_back_to_base_rates(results):
    res = results["no-korus"]
    df = res.to_frame()
    assert len(df) > 0
    assert (df["rate_after"] >= df["rate_before"] - 1e-12).all()
    assert (df["trade_creation"] <= 1e-9).all()
    beef = df[(df.importer == "KOR") & (df.hs == "0202")].set_index("year").sort_index()
    assert beef.loc[2012, "rate_after"] == pytest.approx(0.40)
    # KORUS cuts beef by steps until 2026, so undoing it costs more each year until then
    assert np.all(np.diff(beef.loc[2012:2026, "trade_creation"].to_numpy()) < 0)
    # lines the agreement gives no rate for are listed, not guessed
    assert len(res.skipped) > 0 and set(res.skipped["reason"].str[:2]) <= {"no"}


def test_builtins_validate_and_are_listed():
    assert builtin_scenarios() == ["auto-tariff-25", "korus-2018", "no-korus"]
    if HAVE_AGREEMENTS:
        for name in builtin_scenarios():
            scn = load_scenario(name)
            assert scn.name == name and scn.file == f"builtin:{name}" and scn.caveats


def test_korus_section():
    from tradepact.report.sections.scenarios import korus_section

    sec = korus_section()
    assert isinstance(sec, Section) and sec.id == "scenarios"
    notes = [b for b in sec.blocks if isinstance(b, Note)]
    if not HAVE_AGREEMENTS:
        assert sum("could not be run" in n.text for n in notes) == 3
        return
    charts = [b for b in sec.blocks if isinstance(b, Chart)]
    tables = [b for b in sec.blocks if isinstance(b, TableBlock)]
    assert len(charts) == 3 and len(tables) == 3
    # cars: confirmed KITA value and confirmed schedule rate; steel rests on an assumed baseline rate
    assert charts[0].confirmed and not charts[1].confirmed
    assert all(name in sec.summary for name in builtin_scenarios())
    text = " ".join(n.text for n in notes)
    assert "ProTEE" in text and "Product coverage" in text and "FMVSS" in text
    cars = tables[[t.name for t in tables].index("scenario_auto-tariff-25")].frame
    assert cars["product"].str.contains("8703").any()
    # the chart's bars add up to the scenario's import change by year
    res = run_scenario("auto-tariff-25")
    bars = [tr for tr in charts[0].figure.data if tr.type == "bar"]
    total = np.sum([np.asarray(tr.y, dtype=float) for tr in bars], axis=0)
    np.testing.assert_allclose(total, res.by("total", ("year",))["total_import_change"].to_numpy(), rtol=1e-12)
    html = sec.blocks[2].to_html()
    assert "<figure" in html
