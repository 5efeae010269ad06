"""Third-country suppliers and HS6 trade weights from the ledger store: a BACI file with US car imports
from Korea, Japan and Germany is imported into a real store; the car-tariff scenario then diverts to Japan
and Germany by the SMART formula (checked by hand), splits partner / others / total, and says where the
others came from; Korea's HS6 mix weights the line's η, and σ comes from the BGW table by product.

Tolerance: 1e-12 relative (closed forms on the same numbers).
"""
from __future__ import annotations

import csv

import pytest

from tradepact.ledger.store import LedgerStore
from tradepact.simulate.scenario import run_scenario

CODES = [("country_code", "country_name", "country_iso2", "country_iso3"), ("410", "Rep. of Korea", "KR", "KOR"),
         ("392", "Japan", "JP", "JPN"), ("276", "Germany", "DE", "DEU"), ("842", "USA", "US", "USA")]


def write_baci(folder):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "country_codes_V202401b.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(CODES)
    rows = [("2017", "276", "842", "870323", "9000000"),     # DEU -> USA cars, 9,000 USD m (v in thousand USD)
            ("2017", "392", "842", "870324", "21000000"),    # JPN -> USA cars, 21,000
            ("2017", "410", "842", "870323", "15000000"),    # KOR -> USA: the partner, already in the lines
            ("2017", "410", "842", "870324", "5000000"),     # KOR -> USA: bigger engines
            ("2017", "392", "842", "851712", "5000000")]     # phones: not a car line
    p = folder / "BACI_HS12_Y2017_V202401b.csv"
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["t", "i", "j", "k", "v", "q"])
        w.writerows([r + ("1",) for r in rows])
    return p


SCENARIO = {"name": "cars", "baseline": {"agreement": "korus", "year": 2017}, "years": [2019],
            "changes": [{"kind": "tariff", "importer": "USA", "exporter": "KOR", "hs": "8703", "rate": 0.25}],
            "elasticities": {"substitution": 2.0, "substitution_table": "none", "functional_form": "constant_elasticity",
                             "range": False}}


def test_car_tariff_diverts_to_third_countries(tmp_path, store_dir):
    st = LedgerStore.open(store_dir)
    p = write_baci(tmp_path / "baci")
    st.import_files("baci", [p], country_codes=tmp_path / "baci" / "country_codes_V202401b.csv")
    res = run_scenario(dict(SCENARIO))
    df = res.to_frame()
    cars = df[(df.importer == "USA") & (df.hs == "8703")].set_index("exporter")
    assert set(cars.index) == {"KOR", "JPN", "DEU"}
    assert cars.at["JPN", "import_value"] == pytest.approx(21000.0) and cars.at["DEU", "import_value"] == 9000.0
    # third countries keep the US MFN car tariff (2.5%) before and after
    assert cars.at["JPN", "rate_before"] == cars.at["JPN", "rate_after"] == pytest.approx(0.025)
    eta = cars.at["KOR", "import_demand_elasticity"]
    assert cars.at["KOR", "eta_weighting"] == "trade-weighted"
    # SMART CE diversion: weights 14,700·(1.25/1.0)^-2 for KOR (its price rises 25% vs 0), 21,000 and 9,000
    # for the others (price unchanged), over the market total 44,700
    wk = 14700 * 1.25 ** -2.0
    tot = 14700 + 21000 + 9000
    assert cars.at["JPN", "trade_diversion"] == pytest.approx(tot * 21000 / (wk + 30000) - 21000, rel=1e-12)
    assert cars.at["KOR", "trade_diversion"] == pytest.approx(tot * wk / (wk + 30000) - 14700, rel=1e-12)
    assert cars.at["KOR", "trade_creation"] == pytest.approx(14700 * (1.25 ** eta - 1), rel=1e-12)
    split = res.pe.split_by_partner("KOR", by=()).iloc[0]
    assert split["others_change"] == pytest.approx(cars.loc[["JPN", "DEU"], "trade_diversion"].sum(), rel=1e-12)
    assert split["others_change"] > 0 and split["partner_change"] < cars.at["KOR", "trade_creation"]
    assert split["total_change"] == pytest.approx(cars["total_import_change"].sum(), rel=1e-12)
    assert any(n.startswith("Third-country suppliers: imports from 2 other origins") for n in res.notes)
    assert (cars.loc[["JPN", "DEU"], "basis"] == "ledger store: baci").all()


def test_without_a_store_it_says_so(monkeypatch):
    monkeypatch.delenv("TRADEPACT_STORE", raising=False)
    res = run_scenario(dict(SCENARIO))
    assert set(res.to_frame()["exporter"]) <= {"KOR", "USA"}
    assert any("no ledger store is set" in n and "diversion" in n for n in res.notes)


def test_hs6_trade_weights_and_bgw_sigma_by_hand(tmp_path, store_dir):
    """η of the car line = the trade-weighted mean of its HS6 estimates under Korea's HS6 mix in the store
    (870323: 15,000; 870324: 5,000), against a hand computation from the shipped Hauk table; σ = the
    BGW estimate for US imports of HS3 870, and the diversion follows from it by the SMART formula."""
    from tradepact.simulate import elasticities as el

    st = LedgerStore.open(store_dir)
    p = write_baci(tmp_path / "baci")
    st.import_files("baci", [p], country_codes=tmp_path / "baci" / "country_codes_V202401b.csv")
    scn = dict(SCENARIO, elasticities={"functional_form": "constant_elasticity", "range": True})
    res = run_scenario(scn)
    cars = res.to_frame().query("importer == 'USA' and hs == '8703'").set_index("exporter")
    tab = el.import_demand().set_index("code")
    for col, key in (("central", "import_demand_elasticity"), ("low", "eta_low"), ("high", "eta_high")):
        hand = (15000 * tab.at["870323", col] + 5000 * tab.at["870324", col]) / 20000
        assert cars.at["KOR", key] == pytest.approx(hand, rel=1e-12)
    assert cars.at["KOR", "eta_weighting"] == "trade-weighted"
    assert "trade-weighted mean over 9 HS6 lines" in cars.at["KOR", "elasticity_source"]
    assert any(n.startswith("Elasticity weighting: HS6 trade weights from the ledger store (baci") for n in res.notes)
    bgw = el.estimates("bgw")
    sigma = float(bgw[(bgw.importer == "USA") & (bgw.code == "870")]["estimate"].iloc[0])
    assert (cars["substitution_elasticity"] == sigma).all() and "bgw σ (USA imports, HS3)" in cars.at["KOR", "sigma_source"]
    wk = 14700 * 1.25 ** -sigma
    tot = 14700 + 21000 + 9000
    assert cars.at["JPN", "trade_diversion"] == pytest.approx(tot * 21000 / (wk + 30000) - 21000, rel=1e-12)
    # creation on Korea at the weighted η, each end of the range in the range runs
    assert cars.at["KOR", "trade_creation"] == pytest.approx(
        14700 * (1.25 ** cars.at["KOR", "import_demand_elasticity"] - 1), rel=1e-12)
    assert set(res.pe_range["case"]) == {"low", "central", "high"}
