"""Built-in scenarios on the built-in data with the real agreements engine, and the report section.

Expected values are recomputed here from the inputs (the constant-elasticity form the built-in
scenarios use), with the elasticity range recomputed independently from the published Hauk (2012)
HS6 estimates in ../shared/data/elasticities by the documented fallback rule. Tolerance 1e-9 relative.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tradepact.agreements as agreements
from tradepact.report.document import Chart, Note, Section, TableBlock
from tradepact.simulate.scenario import builtin_scenarios, load_scenario, run_scenario

HAVE_AGREEMENTS = hasattr(agreements, "rates") and hasattr(agreements, "load_agreement")
needs_agreements = pytest.mark.skipif(not HAVE_AGREEMENTS, reason="tradepact.agreements.rates not on this branch yet")


def _hauk_range(shared_data, prefix: str) -> tuple[float, float, float]:
    """(low, central, high) η of the HS6 lines under ``prefix``, recomputed from the published file:
    right-signed lines significant at 5% keep η = -implied and η ± 1.645 se; the others take the
    median of the kept lines of their HS4; the product line takes the median over its HS6 lines."""
    raw = pd.read_csv(shared_data / "elasticities" / "us_import_demand_hs6_hauk2012.csv", dtype={"hs6": str})
    raw = raw[raw["hs6"].str.startswith(prefix[:4])]
    eta = -raw["implied_elasticity"]
    kept = (raw["right_sign"] == 1) & (raw["significant_5pct"] == 1)
    z = 1.6448536269514722
    lo, hi = eta + z * raw["se_demandprice"], eta - z * raw["se_demandprice"]
    vals = {}
    for name, v in (("low", lo), ("central", eta), ("high", hi)):
        fill = float(v[kept].median())
        line = v.where(kept, fill)[raw["hs6"].str.startswith(prefix)]
        vals[name] = float(line.median())
    return vals["low"], vals["central"], vals["high"]


@pytest.fixture(scope="module")
def results():
    if not HAVE_AGREEMENTS:
        pytest.skip("tradepact.agreements.rates not on this branch yet")
    return {name: run_scenario(name) for name in builtin_scenarios()}


@needs_agreements
def test_auto_tariff_25(results, shared_data):
    res = results["auto-tariff-25"]
    df = res.to_frame()
    cars = df[(df.importer == "USA") & (df.exporter == "KOR") & (df.hs == "8703")].set_index("year")
    assert list(cars.index) == list(range(2019, 2031))
    assert (cars["rate_before"] == 0.0).all() and (cars["rate_after"] == 0.25).all()
    low, eta, high = _hauk_range(shared_data, "8703")
    assert cars["import_demand_elasticity"].iloc[0] == pytest.approx(eta, rel=1e-12)
    assert (cars["eta_low"].iloc[0], cars["eta_high"].iloc[0]) == pytest.approx((low, high), rel=1e-12)
    assert "Hauk 2012" in cars["elasticity_source"].iloc[0]
    M = 14700.0
    tc = M * (1.25 ** eta - 1)
    np.testing.assert_allclose(cars["trade_creation"], tc, rtol=1e-9)
    np.testing.assert_allclose(cars["tariff_revenue_change"], 0.25 * (M + tc), rtol=1e-9)
    # exact consumer-surplus integral of D(p) = M p^eta from 1 to 1.25 (not the trapezoid)
    exact = -M * (1.25 ** (eta + 1) - 1) / (eta + 1)
    np.testing.assert_allclose(cars["consumer_surplus_change"], exact, rtol=1e-9)
    others = df[~df.index.isin(cars.index) | (df.hs != "8703") | (df.importer != "USA")]
    others = others[~((others.importer == "USA") & (others.hs == "8703"))]
    assert np.abs(others["trade_creation"]).max() < 1e-9  # nothing else changes
    # the low / central / high range of the car tariff, reproduced from the elasticity table
    h = res.headline(2025)
    for case, e in (("low", low), ("central", eta), ("high", high)):
        assert h[case]["total_import_change"] == pytest.approx(M * (1.25 ** e - 1), rel=1e-9)
    shares = [h[c]["total_import_change"] / M for c in ("low", "central", "high")]
    assert shares[0] > shares[1] > shares[2] and -0.55 < shares[2] and shares[0] < -0.15
    doc = res.to_dict()
    assert doc["scenario"] == "auto-tariff-25" and doc["totals"]["trade_creation"] == pytest.approx(12 * tc, rel=1e-9)
    assert {r["case"] for r in doc["range_by_year"]} == {"low", "central", "high"}
    assert "2030" in res.summary() and "range" in res.summary() and "summed" not in res.summary()


@needs_agreements
def test_korus_2018_steel_quota_and_trucks(results):
    res = results["korus-2018"]
    df = res.to_frame()
    steel = df[(df.importer == "USA") & (df.hs == "72")].set_index("year")
    assert (steel["quota_regime_after"] == "binding").all()
    np.testing.assert_allclose(steel["import_value"] + steel["total_import_change"], 0.7 * 3400, rtol=1e-12)
    eta = float(steel["import_demand_elasticity"].iloc[0])
    assert eta < 0 and "Hauk 2012" in steel["elasticity_source"].iloc[0]
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
    assert len(charts) == 3 and len(tables) == 4
    # assumptions are a table of their own, each with a value and a source: the median weighting (no HS6
    # trade in the built-in data), σ by product from BGW, the US η standing in for Korean imports (no-korus)
    assumptions = tables[[t.name for t in tables].index("scenario_assumptions")].frame
    assert set(assumptions.columns) == {"scenario", "assumption", "value", "source"}
    a = assumptions.set_index(["scenario", "assumption"])
    assert a.loc[("auto-tariff-25", "aggregation of HS6 η to a product line"), "value"] == "median: 1 lines"
    assert "Broda" in a.loc[("auto-tariff-25", "elasticity of substitution between origins σ"), "source"]
    assert "Hauk 2012 covers US imports only" in a.loc[("no-korus", "import-demand η of KOR imports"), "source"]
    # cars: confirmed KITA value and confirmed schedule rate; steel rests on an assumed baseline rate
    assert charts[0].confirmed and not charts[1].confirmed
    assert all(name in sec.summary for name in builtin_scenarios())
    text = " ".join(n.text for n in notes)
    assert "Hauk" in text and "Product coverage" in text and "FMVSS" in text
    cars = tables[[t.name for t in tables].index("scenario_auto-tariff-25")].frame
    assert cars["product"].str.contains("8703").any()
    # the chart's bars add up to the scenario's import change by year
    res = run_scenario("auto-tariff-25")
    bars = [tr for tr in charts[0].figure.data if tr.type == "bar"]
    total = np.sum([np.asarray(tr.y, dtype=float) for tr in bars], axis=0)
    np.testing.assert_allclose(total, res.by("total", ("year",))["total_import_change"].to_numpy(), rtol=1e-12)
    assert "<figure" in charts[0].to_html()
    # headlines: one year, the range, exact labels, coverage; no sums over years
    assert "US imports of Cars from Korea (HS 8703)" in text and "range" in sec.summary
    assert "cover 21% of US imports from Korea" in sec.summary and "Σ" not in sec.summary
    assert "third countries" in text
