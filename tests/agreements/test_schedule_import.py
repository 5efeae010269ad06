"""Annex schedules from CSV, MFN tables for non-parties, YAML round trip and the rates() frame contract."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from tradepact.agreements import (
    agreement_from_dict,
    dump_yaml,
    load_agreement,
    rate,
    rates,
    read_schedule_csv,
)

ANNEX = """HS8,Description,Base Rate,Staging Category
02013000,Boneless beef,40,F
0201.20.00,Bone-in beef,40%,F
08081000,Apples,Free,A
22041000,Sparkling wine,15,C
17019910,Sugar,"1,440 won/kg",N
"""


@pytest.fixture
def annex_yaml(tmp_path, write_yaml, minimal):
    (tmp_path / "annex_kor.csv").write_text(ANNEX)
    minimal["staging"]["categories"].update({"F": {"kind": "equal_cuts", "cuts": 15},
                                             "C": {"kind": "equal_cuts", "cuts": 5},
                                             "N": {"kind": "no_commitment"}})
    minimal["lines"] = [ln for ln in minimal["lines"] if ln["importer"] != "KOR"]
    minimal["schedules"] = [{"file": "annex_kor.csv", "importer": "KOR", "source": "KORUS Annex 2-B (test copy)",
                             "category_map": {}}]
    minimal["mfn"] = [{"importer": "KOR", "hs": ["0201"], "rate": 0.40, "source": "KOR MFN schedule"},
                      {"importer": "KOR", "hs": ["2204"], "rate": 0.15, "source": "KOR MFN schedule"}]
    return write_yaml(minimal)


def test_csv_lines(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(ANNEX)
    lines = read_schedule_csv(p, importer="KOR", source="annex")
    assert [ln.hs[0] for ln in lines] == ["02013000", "02012000", "08081000", "22041000", "17019910"]
    assert [ln.base_rate for ln in lines[:4]] == [0.40, 0.40, 0.0, 0.15]
    sugar = lines[4]
    assert sugar.base_rate is None and sugar.specific.amount == 1440 and sugar.specific.unit == "won/kg"
    assert lines[0].id == "KOR-02013000" and lines[0].source == "annex"
    p.write_text("HS8,Description,Base Rate,Staging Category\n02013000,beef,0.4,F\n")
    assert read_schedule_csv(p, importer="KOR", rate_unit="fraction")[0].base_rate == 0.40


def test_agreement_with_annex(annex_yaml):
    ag = load_agreement(annex_yaml)
    assert len(ag.lines) == 1 + 5
    r = rate(ag, "KOR", "USA", "0201300010", 2018)  # HS10 query finds the HS8 line
    assert r.line_id == "KOR-02013000" and r.rate == pytest.approx(0.40 * 8 / 15)
    assert rate(ag, "KOR", "USA", "22041000", 2016).rate == 0.0
    assert math.isnan(rate(ag, "KOR", "USA", "17019910", 2016).rate)  # specific duty without an AVE
    # non-party: the MFN table when it covers the code, else the line's base rate
    mfn = rate(ag, "KOR", "AUS", "02013000", 2018)
    assert mfn.rate == 0.40 and mfn.category == "MFN" and mfn.source == "KOR MFN schedule"
    assert rate(ag, "KOR", "AUS", "08081000", 2018).rate == 0.0  # no MFN entry: base rate (Free)
    assert rate(ag, "KOR", "AUS", "2204", 2018).rate == 0.15  # MFN table covers a code with no line


def test_rates_frame_contract(annex_yaml):
    ag = load_agreement(annex_yaml)
    frame = pd.DataFrame({"importer": ["KOR", "KOR", "USA", "KOR"], "exporter": ["USA", "AUS", "KOR", "USA"],
                          "hs": ["02013000", "02013000", "8703", "9999"], "year": [2011, 2018, 2019, 2018],
                          "value": [1.0, 2.0, 3.0, 4.0]})
    out = rates(ag, frame)
    assert list(out.columns[:5]) == ["importer", "exporter", "hs", "year", "value"]
    for col in ("rate", "base_rate", "category", "line_id", "amendment", "source", "confirmed"):
        assert col in out.columns
    assert out["rate"].iloc[0] == 0.40 and out["category"].iloc[1] == "MFN"
    assert out["amendment"].iloc[2] == "AM1" and math.isnan(out["rate"].iloc[3])
    assert out["category"].iloc[3] == "unscheduled" and out["line_id"].iloc[3] is None
    assert rates(ag, frame.iloc[:0]).empty
    # index is preserved
    shuffled = frame.set_index(pd.Index([10, 3, 7, 1]))
    assert list(rates(ag, shuffled).index) == [10, 3, 7, 1]


def test_yaml_round_trip(tmp_path, write_yaml):
    ag = load_agreement("korus")
    path = write_yaml(dump_yaml(ag), "korus_copy.yaml")
    again = load_agreement(path)
    grid = pd.DataFrame([(i, e, h, y) for i, e in (("KOR", "USA"), ("USA", "KOR"))
                         for h in ("0201", "8703", "8704", "080510", "870380") for y in range(2010, 2045)],
                        columns=["importer", "exporter", "hs", "year"])
    a, b = rates(ag, grid), rates(again, grid)
    assert np.allclose(a["rate"], b["rate"], equal_nan=True)
    assert (a["confirmed"] == b["confirmed"]).all() and (a["line_id"].fillna("-") == b["line_id"].fillna("-")).all()


def test_agreement_from_dict_builds_in_code(minimal):
    ag = agreement_from_dict(minimal)
    assert ag.file == "<agreement>" and rate(ag, "KOR", "USA", "0201", 2012).rate == pytest.approx(0.32)


def test_specific_duty_with_ave_and_rate_changes(write_yaml, minimal):
    from tradepact.agreements import rate_changes

    minimal["lines"].append({"id": "SUGAR", "importer": "KOR", "hs": ["1701"], "category": "E5",
                             "specific": {"amount": 1440, "unit": "won/kg", "ave": 0.30},
                             "source": "t", "confirmed": True})
    ag = load_agreement(write_yaml(minimal))
    r = rate(ag, "KOR", "USA", "170199", 2013)
    assert r.base_rate == 0.30 and r.rate == pytest.approx(0.30 * 3 / 5)  # staged on the AVE
    frame = pd.DataFrame({"importer": ["KOR", "KOR", "USA"], "exporter": ["USA", "AUS", "KOR"],
                          "hs": ["1701", "0201", "8703"], "year": [1999, 1999, 1999]})
    ch = rate_changes(ag, frame, 2011, 2014)
    assert ch["rate_from"].tolist() == pytest.approx([0.30, 0.40, 0.025])
    assert ch["rate_to"].tolist() == pytest.approx([0.30 * 2 / 5, 0.40, 0.0])
    assert ch["change"].tolist() == pytest.approx([-0.30 * 3 / 5, 0.0, -0.025])
    assert ch["category"].tolist() == ["E5", "MFN", "A"] and "year" not in ch.columns
