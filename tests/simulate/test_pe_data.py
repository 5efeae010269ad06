"""Built-in PE data: compiled faithfully from the reference files, provenance kept, bases not mixed,
and the elasticity lookup."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradepact.simulate import data as pe_data

ROOT = Path(__file__).resolve().parents[2]


def _compiler():
    spec = importlib.util.spec_from_file_location("compile_korus_pe", ROOT / "tools" / "compile_korus_pe.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_package_data_is_what_the_compiler_writes(shared_data):
    mod = _compiler()
    lines = mod.compile_lines(shared_data / "korus" / "product_trade.csv")
    shipped = pe_data.korus_lines()
    pd.testing.assert_frame_equal(lines.reset_index(drop=True)[["line_id", "year", "importer", "exporter", "hs",
                                                                "import_value", "confirmed", "basis"]],
                                  shipped[["line_id", "year", "importer", "exporter", "hs", "import_value",
                                           "confirmed", "basis"]], check_dtype=False)
    el = mod.compile_elasticities(shared_data / "korus" / "import_elasticities.csv")
    assert len(el) == len(pe_data.import_elasticities()) == 62


def test_values_and_flags_match_the_reference_rows(shared_data):
    raw = pd.read_csv(shared_data / "korus" / "product_trade.csv", dtype=str)
    shipped = pe_data.korus_lines()
    assert shipped["line_id"].is_unique
    for _, r in shipped.iterrows():
        hit = raw[(raw["year"] == str(r.year)) & (raw["exporter"] == r.exporter) & (raw["importer"] == r.importer)
                  & (raw["basis"] == r.basis) & (pd.to_numeric(raw["value_usd_m"]) == r.import_value)]
        assert len(hit) >= 1, r.line_id
        assert (hit["confirmed"].str.lower() == "yes").any() == bool(r.confirmed), r.line_id
    # the README's example: USMEF beef 2017 and the USTR beef row are the same trade -> kept once
    beef17 = shipped[(shipped.year == 2017) & (shipped.hs == "0202")]
    assert len(beef17) == 1 and beef17["additive_group"].iloc[0] == "USA>KOR-2017-USTR-AG"
    # totals, USITC sectors (no HS code) and unit-only rows are not product lines
    assert not shipped["hs"].isin(["TOTAL"]).any() and shipped["import_value"].notna().all()
    assert not shipped["description"].str.startswith("USITC sector").any()
    # one row per flow, year and product line: no two bases summed for the same line
    assert not shipped.duplicated(["year", "exporter", "importer", "hs"]).any()
    # only the USTR chapters carry codes the source itself gives
    assert set(shipped.loc[shipped.hs_mapping == "source", "hs"]) == {"84", "85", "87", "88", "90"}


def test_cars_2017_are_the_kita_item(shared_data):
    cars = pe_data.korus_lines(2017).set_index(["exporter", "hs"]).loc[("KOR", "8703")]
    assert cars["import_value"] == 14700 and bool(cars["confirmed"])
    assert "KITA" in cars["basis"] or "Korean customs" in cars["basis"]
    # 2016: the confirmed KAMA figure beats the unconfirmed KITA-derived one
    cars16 = pe_data.korus_lines(2016).set_index(["exporter", "hs"]).loc[("KOR", "8703")]
    assert cars16["import_value"] == 15580 and bool(cars16["confirmed"])


def test_elasticity_lookup(shared_data):
    table = pe_data.import_elasticities()
    raw = pd.read_csv(shared_data / "korus" / "import_elasticities.csv", dtype={"hs_code": str})
    raw["hs_code"] = raw["hs_code"].str.zfill(6)
    unflagged = raw[(raw["flag_zero"] == 0) & (raw["flag_positive"] == 0) & raw["elasticity"].notna()]
    lines = pd.DataFrame({"hs": ["870323", "8703", "72", "0202", "120100", "999999", "85"],
                          "hs_prefixes": [None, None, "72;73", "0201;0202;020621", None, None, None]})
    out = pe_data.lookup_elasticities(lines, table, default=-1.0)
    assert out["elasticity"].iloc[0] == pytest.approx(-9.4088907)  # exact HS6 value
    cars = unflagged[unflagged["hs_code"].str.startswith("8703")]["elasticity"].mean()
    assert out["elasticity"].iloc[1] == pytest.approx(cars, rel=1e-12)
    steel = unflagged[unflagged["hs_code"].str[:2].isin(["72", "73"])]["elasticity"]
    assert len(steel) == 2 and out["elasticity"].iloc[2] == pytest.approx(steel.mean(), rel=1e-12)
    beef = unflagged[unflagged["hs_code"].str[:4].isin(["0201", "0202"]) | (unflagged["hs_code"] == "020621")]
    assert out["elasticity"].iloc[3] == pytest.approx(beef["elasticity"].mean(), rel=1e-12)
    assert "mean of 5 HS6" in out["elasticity_source"].iloc[3]
    # soybeans have no value; an unknown code gets the default and is marked unconfirmed
    assert out["elasticity"].iloc[4] == -1.0 and not out["elasticity_confirmed"].iloc[4]
    assert out["elasticity"].iloc[5] == -1.0 and out["elasticity_source"].iloc[5] == "default -1"
    # HS2 fallback: the unflagged chapter-85 codes only (the flagged chip codes are left out by default)
    ch85 = unflagged[unflagged["hs_code"].str.startswith("85")]["elasticity"].mean()
    assert out["elasticity"].iloc[6] == pytest.approx(ch85, rel=1e-12)
    with_flagged = pe_data.lookup_elasticities(lines, table, default=-1.0, include_flagged=True)
    all85 = raw[raw["hs_code"].str.startswith("85")]["elasticity"].mean()
    assert with_flagged["elasticity"].iloc[6] == pytest.approx(all85, rel=1e-12)
    assert (out["elasticity"] < 0).all()
