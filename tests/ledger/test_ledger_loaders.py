"""Each loader on files in the published layout: units, codes, flows and drops come out as documented.

Expected figures are worked out by hand from the sample rows (see ledger_samples.py) or, for the
real Yotov et al. panel, recomputed with pandas straight from the CSV. Tolerance: 1e-9 relative
(float sums in a different order).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from ledger_samples import BACI_CODES, baci_sample, comtrade_sample, itpd_sample, services_sample, tree_hash
from tradepact.cli import main
from tradepact.errors import ConfigError, DataFormatError
from tradepact.ledger import GOODS, SERVICES, LedgerStore, validate_frame

REL = 1e-9


@pytest.fixture
def store(tmp_path):
    return LedgerStore.open(tmp_path / "store")


def test_baci_units_codes_and_products(store, tmp_path):
    rep = store.import_files("baci", [baci_sample().write(tmp_path / "in")])
    f = rep.files[0]
    assert (f.rows_read, f.kept, f.dropped, f.zero_value, f.years) == (6, {"goods": 6}, {}, 1, [2016])
    g = store.sql("SELECT * FROM goods ORDER BY exporter, importer, product")
    assert list(g.columns) == list(GOODS.columns)
    assert set(g["hs_rev"]) == {"H4"} and set(g["unit"]) == {"t"} and set(g["flow_source"]) == {"reported"}
    assert set(g["source"]) == {"CEPII BACI HS12 V202401b"} and g["confirmed"].all()
    row = g[(g.exporter == "USA") & (g["product"] == "010121")].iloc[0]  # k=10121 zero-padded
    assert row["value"] == pytest.approx(2.5, rel=REL) and row["quantity"] == 1.25
    kor = g[(g.exporter == "KOR")].iloc[0]
    assert kor["value"] == pytest.approx(16000.0, rel=REL) and math.isnan(kor["quantity"])  # padded NA
    assert set(g["exporter"]) == {"USA", "KOR", "CAN", "S19", "ROU"}  # 490 -> S19, ROM -> ROU
    bil = store.goods_bilateral("USA", "KOR")
    assert list(bil.columns) == ["year", "exports", "imports"] and bil["year"].tolist() == [2016]
    assert bil["exports"].iloc[0] == pytest.approx(1234.5675 + 2.5, rel=REL)
    assert bil["imports"].iloc[0] == pytest.approx(16000.0, rel=REL)
    sec = store.goods_by_sector("USA", "KOR", level=2)
    assert sec["product"].tolist() == ["01", "87"]
    assert sec["exports"].tolist() == pytest.approx([2.5, 1234.5675], rel=REL)
    assert math.isnan(sec["imports"].iloc[0]) and sec["imports"].iloc[1] == pytest.approx(16000.0)
    assert store.has_goods("KOR", "USA") and not store.has_goods("USA", "FRA")
    assert store.goods_bilateral("USA", "FRA").empty


def test_baci_country_code_files(tmp_path, store):
    s = baci_sample()
    folder = tmp_path / "in"
    path = s.write(folder)
    (folder / "country_codes_V202401b.csv").unlink()
    with pytest.raises(ConfigError):
        store.import_files("baci", [path])
    old = tmp_path / "codes_old.csv"  # pre-2023 layout of the code list
    rows = ["country_code,country_name_abbreviation,country_name_full,iso_2digit_alpha,iso_3digit_alpha"]
    rows += [f"{c[0]},{c[1].replace(',', '')},{c[1].replace(',', '')},{c[2]},{c[3]}" for c in BACI_CODES[1:]]
    old.write_text("\n".join(rows) + "\n")
    rep = store.import_files("baci", [path], country_codes=old)
    assert rep.files[0].kept == {"goods": 6}
    other = folder / "trade_2016.csv"
    path.rename(other)
    with pytest.raises(ConfigError, match="HS revision"):
        store.import_files("baci", [other], country_codes=old)


def test_comtrade_flows_mirror_and_drops(store, tmp_path):
    rep = store.import_files("comtrade", [comtrade_sample().write(tmp_path / "in")])
    f = rep.files[0]
    assert f.rows_read == 10 and f.kept == {"goods": 5} and f.rows_dropped == 5
    assert f.dropped == {
        "partner is the World aggregate": 1,
        "flow other than imports/exports (RX)": 1,
        "coarser product level than other rows of the same reporter, partner, flow and year": 1,
        "partner area not elsewhere specified": 1,
        "second-partner breakdown (partner2Code != 0)": 1,
    }
    g = store.sql("SELECT exporter, importer, product, hs_rev, value, quantity, unit, flow_source FROM goods "
                  "ORDER BY exporter, importer, product, flow_source")
    expect = pd.DataFrame({
        "exporter": ["CAN", "KOR", "USA", "USA", "USA"], "importer": ["USA", "USA", "KOR", "KOR", "KOR"],
        "product": ["TOTAL", "870323", "100190", "870323", "870323"], "hs_rev": ["H5"] * 5,
        "value": [300_000.0, 16_500.0, 250.0, 1_000.0, 1_100.0],
        "flow_source": ["reported", "reported", "mirror", "mirror", "reported"],
    })
    pd.testing.assert_frame_equal(g[expect.columns].reset_index(drop=True), expect, check_dtype=False, rtol=REL)
    assert set(g["unit"]) == {"kg"} and g["quantity"].iloc[1] == 500000
    # Per year and direction the importer's report wins over the exporter's (mirror) report.
    bil = store.goods_bilateral("USA", "KOR")
    assert bil["exports"].iloc[0] == pytest.approx(1_100.0) and bil["imports"].iloc[0] == pytest.approx(16_500.0)
    can = store.goods_bilateral("USA", "CAN")
    assert math.isnan(can["exports"].iloc[0]) and can["imports"].iloc[0] == pytest.approx(300_000.0)


def test_itpd_e_industries_services_and_domestic(store, tmp_path):
    rep = store.import_files("itpd-e", [itpd_sample().write(tmp_path / "in")])
    f = rep.files[0]
    assert f.rows_read == 6 and f.kept == {"goods": 4, "services": 2} and f.dropped == {} and f.zero_value == 1
    assert rep.to_frame()["rows_kept"].tolist() == [6]
    g = store.sql("SELECT * FROM goods ORDER BY exporter, importer")
    assert g["hs_rev"].isna().all() and set(g["product"]) == {"ITPD-E:1", "ITPD-E:110"}
    assert ((g.exporter == "USA") & (g.importer == "USA")).sum() == 1  # domestic flow kept
    assert "ROU" in set(g.exporter) and "ROM" not in set(g.exporter)
    assert g.loc[g.exporter == "KOR", "flow_source"].tolist() == ["mirror"]
    bil = store.goods_bilateral("USA", "KOR")
    assert bil["exports"].iloc[0] == pytest.approx(1500.25) and bil["imports"].iloc[0] == pytest.approx(16000.0)
    svc = store.services_bilateral("USA", "KOR")
    assert svc["exports"].iloc[0] == pytest.approx(2100.0) and svc["imports"].iloc[0] == pytest.approx(1800.0)


def test_itpd_e_goods_only_file(store, tmp_path):
    """A file with no services industries imports (regression: an empty output table crashed the import)."""
    s = itpd_sample()
    goods_rows = [r for r in s.rows if r[7] != "Services"]
    rep = store.import_files("itpd-e", [s.write(tmp_path / "in", rows=goods_rows)])
    f = rep.files[0]
    assert f.rows_read == 4 and f.kept == {"goods": 4, "services": 0} and f.years == [2016]
    assert store.services_bilateral("USA", "KOR").empty


def test_services_items_are_not_double_counted(store, tmp_path):
    rep = store.import_files("services", [services_sample().write(tmp_path / "in")])
    assert rep.files[0].dropped == {"partner is the World aggregate": 1}
    s = store.sql("SELECT * FROM services ORDER BY year, exporter, item")
    assert list(s.columns) == list(SERVICES.columns)
    assert set(s.loc[s.exporter == "USA", "flow_source"]) == {"mirror"}  # credits of the exporter
    bil = store.services_bilateral("USA", "KOR")
    assert bil["year"].tolist() == [2015, 2016]
    assert math.isnan(bil["exports"].iloc[0]) and bil["imports"].iloc[0] == pytest.approx(2500 + 1200)
    assert bil["exports"].iloc[1] == pytest.approx(21000.0)  # total S, not S + SC + SJ
    assert bil["imports"].iloc[1] == pytest.approx(10300.0)
    assert store.services_bilateral("USA", "JPN").empty


def test_replace_keeps_the_other_years(store, tmp_path):
    s = services_sample()
    store.import_files("services", [s.write(tmp_path / "a")])
    newer = [r for r in s.rows if r[2] == "2016"]
    newer[0][5] = "22000"
    rep = store.import_files("services", [s.write(tmp_path / "b", rows=newer)], replace=True)
    assert rep.files[0].replaced == 4
    bil = store.services_bilateral("USA", "KOR")
    assert bil["exports"].tolist()[1] == pytest.approx(22000.0) and bil["imports"].iloc[0] == pytest.approx(3700.0)
    assert len(list((store.path / "services").glob("*.parquet"))) == 2


def test_gravity_panel_real_file(store, shared_data):
    path = shared_data / "agtpa_applications" / "agtpa_applications.csv"
    rep = store.import_files("gravity-panel", [path])
    f = rep.files[0]
    ref = pd.read_csv(path)
    assert f.rows_read == len(ref) == 99_981
    assert f.kept == {"goods": 99_981, "gravity": 99_981} and f.dropped == {}
    assert f.zero_value == int((ref["trade"] == 0).sum()) == 8_475
    assert f.years == list(range(1986, 2007))
    tot = store.sql("SELECT sum(value) AS v, count(DISTINCT exporter) AS n, bool_or(confirmed) AS c FROM goods")
    assert tot["v"].iloc[0] == pytest.approx(ref["trade"].sum(), rel=REL)
    assert tot["n"].iloc[0] == 69 and not tot["c"].iloc[0]
    assert store.sql("SELECT count(*) AS n FROM goods WHERE exporter = 'ROM'")["n"].iloc[0] == 0
    # USA-CAN by year from pandas on the raw CSV
    x = ref[(ref.exporter == "USA") & (ref.importer == "CAN")].set_index("year")["trade"]
    m = ref[(ref.exporter == "CAN") & (ref.importer == "USA")].set_index("year")["trade"]
    bil = store.goods_bilateral("USA", "CAN").set_index("year")
    np.testing.assert_allclose(bil["exports"].to_numpy(), x.loc[bil.index].to_numpy(), rtol=REL)
    np.testing.assert_allclose(bil["imports"].to_numpy(), m.loc[bil.index].to_numpy(), rtol=REL)
    grav = store.sql("SELECT * FROM gravity WHERE exporter = 'ROU' AND importer = 'USA' AND year = 2006")
    want = ref[(ref.exporter == "ROM") & (ref.importer == "USA") & (ref.year == 2006)].iloc[0]
    for c in ["pair_id", "dist", "cntg", "lang", "clny", "rta", "rta_lag4", "rta_lag12", "rta_lead4"]:
        assert grav[c].iloc[0] == pytest.approx(want[c], rel=REL), c
    assert store.sql("SELECT count(*) AS n FROM gravity")["n"].iloc[0] == 99_981


def test_validate_frame_rules():
    good = pd.DataFrame({"year": [2016, 2016], "exporter": ["USA", "ROM"], "importer": ["KOR", "USA"],
                         "product": ["870323", "TOTAL"], "hs_rev": ["H5", "H5"], "value": [1.5, 0.0]})
    out = validate_frame(good)
    assert out["exporter"].tolist() == ["USA", "ROU"] and list(out.columns) == list(GOODS.columns)
    cases = [
        (good.drop(columns="value"), None, "value"),
        (good.assign(value=["1.5", "x"]), 2, "value"),
        (good.assign(importer=["KOR", "ATL"]), 2, "importer"),
        (good.assign(product=["8703", "87a"]), 2, "product"),
        (good.assign(value=[np.inf, 1.0]), 1, "value"),
        (good.assign(value=[1.0, -2.0]), 2, "value"),
        (pd.concat([good, good.iloc[[0]]], ignore_index=True), 3, None),
    ]
    for frame, row, fld in cases:
        with pytest.raises(DataFormatError) as info:
            validate_frame(frame, file="mine.csv")
        assert info.value.row == row and info.value.file == "mine.csv"
        if fld:
            assert info.value.field == fld
        else:
            assert "same as row 1" in str(info.value)


def test_cli_import_and_list(tmp_path, capsys):
    path = baci_sample().write(tmp_path / "in")
    st = tmp_path / "store"
    assert main(["data", "import", "baci", str(path), "--store", str(st), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["files"][0]["rows_read"] == 6 and out["files"][0]["rows_kept"] == 6
    assert main(["data", "import", "baci", str(path), "--store", str(st)]) == 2
    err = capsys.readouterr().err
    assert "already imported" in err and len(err.strip().splitlines()) == 1 or "row 1" in err
    assert main(["data", "list", "--store", str(st), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed == [{"table": "goods", "dataset": "baci", "years": "2016", "rows": 6, "files": 1}]
    c = comtrade_sample()
    assert main(["data", "import", "comtrade", str(c.write(tmp_path / "ct")), "--store", str(st)]) == 0
    text = capsys.readouterr().out
    assert "1  partner is the World aggregate" in text and "comtrade_2016.csv" in text


def test_store_location_from_environment(store_dir):
    st = LedgerStore.open()
    assert st.path == store_dir and (store_dir / "goods").is_dir()
    assert st.contents().empty and st.goods_bilateral("USA", "KOR").empty


@pytest.mark.slow
def test_million_row_baci_streams_with_bounded_memory(tmp_path):
    """~1M BACI rows import in a subprocess whose peak RSS stays well under the 2 GB budget."""
    code = textwrap.dedent(f"""
        import json, resource, time
        from pathlib import Path
        from tradepact.ledger import LedgerStore
        from tradepact.ledger.sources.baci import write_synthetic
        p = write_synthetic(Path({str(tmp_path)!r}) / "BACI_HS92_Y2015_V202401b.csv", 1_000_000)
        st = LedgerStore.open({str(tmp_path / 'store')!r})
        t = time.perf_counter()
        rep = st.import_files("baci", [p])
        secs = time.perf_counter() - t
        n = st.sql("SELECT count(*) AS n, count(DISTINCT exporter) AS e FROM goods")
        print(json.dumps({{"kept": rep.files[0].kept["goods"], "n": int(n["n"][0]), "e": int(n["e"][0]),
                          "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "s": secs}}))
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["kept"] == out["n"] == 1_000_000 and out["e"] == 220
    assert out["rss_mb"] < 1000, out


def test_bilateral_with_source_and_mixed_datasets(store, tmp_path, shared_data):
    """Several datasets for the same pair: the priority order picks one per year and direction."""
    store.import_files("comtrade", [comtrade_sample().write(tmp_path / "ct")])
    store.import_files("itpd-e", [itpd_sample().write(tmp_path / "it")])
    bil = store.goods_bilateral("USA", "KOR", with_source=True)
    assert list(bil.columns) == ["year", "exports", "imports", "source", "confirmed"]
    assert bil["exports"].iloc[0] == pytest.approx(1_100.0)  # comtrade (priority 1), not ITPD-E 1500.25
    assert bil["source"].iloc[0] == "UN Comtrade (reporter KOR); UN Comtrade (reporter USA)"
    assert bool(bil["confirmed"].iloc[0])
    only = store.goods_bilateral("USA", "KOR", dataset="itpd-e")
    assert only["exports"].iloc[0] == pytest.approx(1500.25)


def test_gravity_panel_book_column_names_and_non_csv(store, tmp_path, shared_data):
    """The book's Stata files use upper-case names (DIST, CNTG, ...): accepted the same way."""
    src = shared_data / "agtpa_applications" / "agtpa_applications.csv"
    lines = src.read_text().splitlines()[:50]
    up = tmp_path / "Chapter1Application1.csv"
    up.write_text("\n".join([lines[0].upper()] + lines[1:]) + "\n")
    rep = store.import_files("gravity-panel", [up])
    assert rep.files[0].kept == {"goods": 49, "gravity": 49}
    g = store.sql("SELECT * FROM gravity ORDER BY exporter, importer LIMIT 1")
    assert {"dist", "cntg", "rta_lag12"} <= set(g.columns)
    with pytest.raises(DataFormatError, match="not a CSV file"):
        store.import_files("gravity-panel", [shared_data / "agtpa_applications" / "agtpa_applications.parquet"])


def test_two_baci_revisions_same_year_are_not_added_up(store, tmp_path):
    s = baci_sample()  # HS12 (H4) file
    store.import_files("baci", [s.write(tmp_path / "h4")])
    old = s.write(tmp_path / "h0")
    h0 = old.with_name("BACI_HS92_Y2016_V202401b.csv")
    old.rename(h0)
    rows = [list(r) for r in s.rows]
    rows[0][4] = "999999.5"  # the HS92 release says something else for USA->KOR 870323
    s.write(tmp_path / "h0", rows=rows)
    (tmp_path / "h0" / s.name).rename(h0)
    store.import_files("baci", [h0])  # same year, other revision: no duplicate, no replacement
    assert store.sql("SELECT count(*) AS n FROM goods")["n"].iloc[0] == 12
    bil = store.goods_bilateral("USA", "KOR")  # the newest revision (H4) answers, once
    assert bil["exports"].iloc[0] == pytest.approx(1234.5675 + 2.5, rel=REL)
    rep = store.import_files("baci", [h0], replace=True)  # replaces H0 rows only
    assert rep.files[0].replaced == 6
    assert store.sql("SELECT hs_rev, count(*) AS n FROM goods GROUP BY 1 ORDER BY 1").values.tolist() == [
        ["H0", 6], ["H4", 6]]
