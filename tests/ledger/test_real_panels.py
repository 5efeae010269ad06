"""Loaders of real panels: World Bank DTA trade panel (wb-dta), Census country workbook, generic panel."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradepact.errors import ConfigError, DataFormatError
from tradepact.ledger.store import LedgerStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def census_store(tmp_path_factory, shared_data):
    st = LedgerStore.open(tmp_path_factory.mktemp("census"))
    report = st.import_files("census-country", [shared_data / "census_country" / "country.xlsx"])
    return st, report


def test_census_workbook_values(census_store):
    st, _ = census_store
    k = st.goods_bilateral("USA", "KOR").set_index("year")
    assert round(k.loc[2011, "exports"], 1) == 43_461.6
    assert round(k.loc[2011, "imports"], 1) == 56_661.4
    monthly = st.sql("SELECT exporter, sum(value) AS v FROM goods_monthly WHERE year = 2011 AND "
                     "((exporter = 'USA' AND importer = 'KOR') OR (exporter = 'KOR' AND importer = 'USA')) GROUP BY 1")
    m = dict(zip(monthly["exporter"], monthly["v"]))
    assert m["USA"] == pytest.approx(k.loc[2011, "exports"], abs=0.5) and m["KOR"] == pytest.approx(k.loc[2011, "imports"], abs=0.5)


def test_census_partial_year_is_flagged_not_zero(census_store):
    st, report = census_store
    months = st.sql("SELECT DISTINCT month FROM goods_monthly WHERE year = 2024 ORDER BY 1")["month"].tolist()
    assert months == list(range(1, 9))  # September-December not published: no rows, not zeros
    annual = st.sql("SELECT confirmed, source FROM goods WHERE year = 2024 AND exporter = 'USA' AND importer = 'KOR'")
    assert not bool(annual["confirmed"].iloc[0]) and "Jan-Aug only" in annual["source"].iloc[0]
    assert bool(st.sql("SELECT bool_and(confirmed) AS c FROM goods WHERE year = 2023")["c"].iloc[0])
    note = report.files[0].notes[0]
    assert "Sep, Oct, Nov, Dec not yet published" in note


def test_census_groups_apart_and_drops_counted(census_store):
    st, report = census_store
    groups = st.sql("SELECT DISTINCT group_name FROM groups")["group_name"].tolist()
    assert "European Union" in groups and "CAFTA-DR" in groups
    assert st.sql("SELECT count(*) AS n FROM goods WHERE exporter = 'EU' OR importer = 'EU'")["n"].iloc[0] == 0
    f = report.files[0]
    assert f.rows_read == 8725
    assert f.dropped == {"not a country: unidentified countries": 24, "not a country: international organizations": 9,
                         "not a country: Iraq-Saudi Arabia neutral zone (no country)": 5}
    pse = st.sql("SELECT value FROM goods WHERE year = 2010 AND exporter = 'USA' AND importer = 'PSE'")
    assert len(pse) == 1  # Gaza Strip and West Bank summed into one PSE row


def test_wb_dta_round_trip(tmp_path, shared_data):
    from tradepact.ledger.dta import panel_from_store

    src = shared_data / "wb_trade_agreements" / "trade.parquet"
    st = LedgerStore.open(tmp_path / "s")
    rep = st.import_files("wb-dta", [src])
    assert rep.files[0].rows_read == 316_317 and rep.files[0].rows_dropped == 0
    raw = pd.read_parquet(src).sort_values(["exp", "imp", "time"]).reset_index(drop=True)
    panel, names, _ = panel_from_store(tmp_path / "s")
    panel = panel.sort_values(["exporter", "importer", "year"]).reset_index(drop=True)
    assert (panel["exporter"].to_numpy() == raw["exp"].to_numpy()).all()
    assert (panel["year"].to_numpy() == raw["time"].to_numpy()).all()
    assert (panel["agreement_id"].to_numpy() == raw["id"].to_numpy()).all()
    np.testing.assert_allclose(panel["value"].to_numpy() * 1e6, raw["export"].to_numpy(), rtol=1e-12)
    prov = [c for c in raw.columns if "_prov_" in c]
    ag = st.sql(f"SELECT year, exporter, importer, agreement_id, {', '.join(prov)} FROM agreements "
                "ORDER BY exporter, importer, year")
    src_ag = raw[raw["id"] > 0].reset_index(drop=True)
    assert len(ag) == len(src_ag)
    np.testing.assert_array_equal(ag[prov].to_numpy(), src_ag[prov].to_numpy())
    assert names.set_index("agreement_id").loc[211, "agreement"] == "Korea, Republic of - United States"
    with pytest.raises(DataFormatError, match="duplicated key"):
        st.import_files("wb-dta", [src])


def test_wb_dta_bad_code_names_file_row_field(tmp_path):
    df = pd.DataFrame({"exp": ["USA", "XQZ"], "imp": ["KOR", "USA"], "time": [2012, 2012], "export": [1.0, 2.0],
                       "id": [211, 0], "agreement": ["KORUS", ""]})
    f = tmp_path / "bad.csv"
    df.to_csv(f, index=False)
    st = LedgerStore.open(tmp_path / "s")
    with pytest.raises(DataFormatError) as e:
        st.import_files("wb-dta", [f])
    msg = str(e.value)
    assert "bad.csv" in msg and "row 2" in msg and "'exp'" in msg and "XQZ" in msg
    assert st.manifest()["batches"] == []  # nothing half-imported


def test_generic_panel_with_column_map(tmp_path):
    df = pd.DataFrame({"o": ["USA", "KOR", "ROM"], "d": ["KOR", "USA", "USA"], "t": [2016, 2016, 2016],
                       "flow": [35_470_000.0, 69_000_000.0, 1000.0], "dist": [11_000.0, 11_000.0, 8_000.0]})
    f = tmp_path / "p.csv"
    df.to_csv(f, index=False)
    st = LedgerStore.open(tmp_path / "s")
    st.import_files("panel", [f], options={"column_map": "exporter=o,importer=d,year=t,value=flow", "unit": "thousand"})
    g = st.sql("SELECT exporter, importer, value FROM goods ORDER BY exporter")
    assert g["value"].tolist() == pytest.approx([69_000.0, 1.0, 35_470.0])
    assert "ROU" in g["exporter"].tolist()  # legacy code normalized
    assert st.sql("SELECT dist FROM gravity WHERE exporter = 'USA'")["dist"].iloc[0] == 11_000.0
    with pytest.raises(ConfigError, match="--unit is required"):
        st.import_files("panel", [f], options={"column_map": "exporter=o,importer=d,year=t,value=flow"})
    with pytest.raises(ConfigError, match="expected FIELD=COLUMN"):
        st.import_files("panel", [f], options={"column_map": "exporter", "unit": "usd"})
    with pytest.raises(DataFormatError, match="missing column"):
        st.import_files("panel", [f], options={"column_map": "exporter=x,importer=d,year=t,value=flow", "unit": "usd"})
