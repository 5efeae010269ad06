"""Third-country suppliers from the ledger store: a BACI file with US car imports from Korea, Japan and
Germany is imported into a real store; the car-tariff scenario then diverts to Japan and Germany by the
SMART formula (checked by hand), splits partner / others / total, and says where the others came from.
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
            ("2017", "392", "842", "851712", "5000000")]     # phones: not a car line
    p = folder / "BACI_HS12_Y2017_V202401b.csv"
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["t", "i", "j", "k", "v", "q"])
        w.writerows([r + ("1",) for r in rows])
    return p


SCENARIO = {"name": "cars", "baseline": {"agreement": "korus", "year": 2017}, "years": [2019],
            "changes": [{"kind": "tariff", "importer": "USA", "exporter": "KOR", "hs": "8703", "rate": 0.25}],
            "elasticities": {"substitution": 2.0, "functional_form": "constant_elasticity", "range": False}}


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
