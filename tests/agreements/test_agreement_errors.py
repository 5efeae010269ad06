"""Bad agreement files and bad queries: each a clear error naming file, field (path) and what was wrong."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from tradepact.agreements import load_agreement, rate, rates, read_schedule_csv
from tradepact.errors import ConfigError, DataFormatError, TradepactError


def _err(write_yaml, data) -> str:
    path = write_yaml(data)
    with pytest.raises(DataFormatError) as exc:
        load_agreement(path)
    msg = str(exc.value)
    assert str(path) in msg  # the file is named
    return msg


def test_minimal_is_valid(write_yaml, minimal):
    ag = load_agreement(write_yaml(minimal))
    assert rate(ag, "KOR", "USA", "0201", 2013).rate == pytest.approx(0.4 * 3 / 5)
    assert rate(ag, "USA", "KOR", "8703", 2018).rate == 0.0  # immediate
    assert rate(ag, "USA", "KOR", "8703", 2019).rate == pytest.approx(0.025)  # amended from 2019: held 10 years
    assert rate(ag, "USA", "KOR", "8703", 2022).rate == pytest.approx(0.025 * 4 / 5)  # year 11: first of 5 cuts
    assert rate(ag, "USA", "KOR", "8703", 2022, as_of="2018-12-31").rate == 0.0


def test_unknown_staging_category(write_yaml, minimal):
    minimal["lines"][0]["category"] = "Z9"
    msg = _err(write_yaml, minimal)
    assert "lines[0].category" in msg and "unknown staging category" in msg and "'Z9'" in msg
    assert "['A', 'E5', 'H10E5']" in msg  # expected: the declared ones
    assert "(line " in msg  # and the line in the YAML file


def test_unknown_category_in_amendment(write_yaml, minimal):
    minimal["amendments"][0]["changes"][0]["set"]["category"] = "NOPE"
    msg = _err(write_yaml, minimal)
    assert "amendments[0].changes[0].category" in msg and "'NOPE'" in msg


def test_unknown_category_kind(write_yaml, minimal):
    minimal["staging"]["categories"]["W"] = {"kind": "sometimes"}
    msg = _err(write_yaml, minimal)
    assert "staging.categories" in msg and "'sometimes'" in msg and "equal_cuts" in msg


@pytest.mark.parametrize("code", ["02011", "0201x", "", "02.01.1"])
def test_hs_code_of_wrong_shape(write_yaml, minimal, code):
    minimal["lines"][0]["hs"] = ["0202", code]
    msg = _err(write_yaml, minimal)
    assert "lines[0].hs[1]" in msg and "2, 4, 6, 8 or 10 digits" in msg and repr(code) in msg


def test_unquoted_hs_code(write_yaml, minimal):
    import yaml

    text = yaml.safe_dump(minimal, sort_keys=False).replace("- '0201'", "- 0201")
    assert "- 0201" in text
    msg = _err(write_yaml, text)
    assert "lines[0].hs[0]" in msg and "quoted string" in msg


def test_negative_rate(write_yaml, minimal):
    minimal["lines"][1]["base_rate"] = -0.025
    msg = _err(write_yaml, minimal)
    assert "lines[1].base_rate" in msg and "greater than or equal to 0" in msg and "-0.025" in msg


def test_percent_instead_of_fraction(write_yaml, minimal):
    minimal["lines"][0]["base_rate"] = 40
    msg = _err(write_yaml, minimal)
    assert "lines[0].base_rate" in msg and "fractions" in msg


def test_overlapping_lines(write_yaml, minimal):
    minimal["lines"].append({"id": "L3", "importer": "KOR", "hs": ["0201", "0203"], "base_rate": 0.1,
                             "category": "A", "source": "t", "confirmed": True})
    msg = _err(write_yaml, minimal)
    assert "lines[2].hs" in msg and "overlaps line 'L1'" in msg and "0201" in msg


def test_same_code_other_importer_or_other_season_is_fine(write_yaml, minimal):
    minimal["lines"].append({"id": "L3", "importer": "USA", "hs": ["0201"], "base_rate": 0.1, "category": "A",
                             "source": "t", "confirmed": True})
    minimal["lines"][0]["season"] = {"start": "03-01", "end": "08-31"}
    minimal["lines"].append({"id": "L4", "importer": "KOR", "hs": ["0201"], "base_rate": 0.4, "category": "A",
                             "season": {"start": "09-01", "end": "02-29"}, "source": "t", "confirmed": True})
    ag = load_agreement(write_yaml(minimal))
    assert rate(ag, "KOR", "USA", "0201", 2013, day="10-01").line_id == "L4"
    # overlapping seasons are refused
    minimal["lines"][-1]["season"] = {"start": "08-01", "end": "02-28"}
    msg = _err(write_yaml, minimal)
    assert "overlapping seasons" in msg


def test_amendment_before_agreement(write_yaml, minimal):
    minimal["amendments"][0]["effective"] = dt.date(2005, 1, 1)
    minimal["amendments"][0]["agreed"] = None
    msg = _err(write_yaml, minimal)
    assert "amendments[0].effective" in msg and "before the agreement" in msg and "2005-01-01" in msg
    assert "2007-06-30" in msg


def test_amendment_agreed_before_agreement(write_yaml, minimal):
    minimal["amendments"][0]["agreed"] = dt.date(2006, 1, 1)
    msg = _err(write_yaml, minimal)
    assert "amendments[0].agreed" in msg and "before the agreement" in msg


def test_amendment_targets_unknown_line(write_yaml, minimal):
    minimal["amendments"][0]["changes"][0]["line"] = "GHOST"
    msg = _err(write_yaml, minimal)
    assert "amendments[0].changes[0].line" in msg and "'GHOST'" in msg


def test_amendment_sets_bad_value(write_yaml, minimal):
    minimal["amendments"][0]["changes"][0]["set"] = {"base_rate": -1}
    msg = _err(write_yaml, minimal)
    assert "amendments[0].changes[0].set.base_rate" in msg


def test_missing_field_and_bad_party(write_yaml, minimal):
    del minimal["lines"][0]["source"]
    msg = _err(write_yaml, minimal)
    assert "lines[0].source" in msg and "Field required" in msg
    minimal["lines"][0]["source"] = "x"
    minimal["parties"] = ["USA", "XXQ"]
    msg = _err(write_yaml, minimal)
    assert "parties[1]" in msg and "XXQ" in msg


def test_not_yaml(write_yaml):
    msg = _err(write_yaml, "id: [unclosed\nname: x\n")
    assert "not valid YAML" in msg and "line" in msg


def test_unknown_agreement_name():
    with pytest.raises(ConfigError, match="unknown agreement 'nafta9'.*korus"):
        load_agreement("nafta9")
    with pytest.raises(ConfigError, match="not found"):
        load_agreement("/no/such/file.yaml")


def test_bad_queries():
    ag = load_agreement("korus")
    with pytest.raises(DataFormatError, match="field 'hs'.*'0201x'"):
        rate(ag, "KOR", "USA", "0201x", 2018)
    with pytest.raises(DataFormatError, match="row 2, field 'hs'"):
        rates(ag, pd.DataFrame({"importer": "KOR", "exporter": "USA", "hs": ["0201", "201", "0202"],
                                "year": 2018}))
    with pytest.raises(DataFormatError, match="missing column.*year"):
        rates(ag, pd.DataFrame({"importer": ["KOR"], "exporter": ["USA"], "hs": ["0201"]}))
    with pytest.raises(DataFormatError, match="as_of"):
        rate(ag, "KOR", "USA", "0201", 2018, as_of="yesterday")
    with pytest.raises(DataFormatError, match="day"):
        rate(ag, "KOR", "USA", "0201", 2018, day="13-45")
    assert issubclass(DataFormatError, TradepactError)


# ------------------------------------------------------------------ CSV annex schedules

def test_csv_schedule_errors(tmp_path):
    p = tmp_path / "annex.csv"
    p.write_text("HS8,Description,Base Rate,Staging Category\n02013000,beef,40,E5\n0201300,bad,8,A\n")
    with pytest.raises(DataFormatError) as exc:
        read_schedule_csv(p, importer="KOR")
    assert str(p) in str(exc.value) and "row 2" in str(exc.value) and "HS8" in str(exc.value)
    p.write_text("HS8,Description,Base Rate,Staging Category\n02013000,beef,forty,E5\n")
    with pytest.raises(DataFormatError, match="row 1, field 'Base Rate'.*'forty'"):
        read_schedule_csv(p, importer="KOR")
    p.write_text("HS8,Description,Base Rate,Staging Category\n02013000,a,8,A\n02013000,b,8,A\n")
    with pytest.raises(DataFormatError, match="row 2.*duplicate of row 1"):
        read_schedule_csv(p, importer="KOR")
    p.write_text("code,text\n02013000,a\n")
    with pytest.raises(DataFormatError, match="missing column"):
        read_schedule_csv(p, importer="KOR")


def test_csv_schedule_unknown_category_via_yaml(tmp_path, write_yaml, minimal):
    (tmp_path / "annex.csv").write_text("HS8,Description,Base Rate,Staging Category\n02023000,beef,40,Q\n")
    minimal["schedules"] = [{"file": "annex.csv", "importer": "KOR", "source": "annex"}]
    msg = _err(write_yaml, minimal)
    assert "category" in msg and "'Q'" in msg


def test_csv_fraction_unit_catches_percentages(tmp_path):
    p = tmp_path / "annex.csv"
    p.write_text("HS8,Description,Base Rate,Staging Category\n02013000,beef,0.4,E5\n02023000,beef,40,E5\n")
    with pytest.raises(DataFormatError, match="row 2, field 'Base Rate'.*percentage"):
        read_schedule_csv(p, importer="KOR", rate_unit="fraction")
    with pytest.raises(ConfigError, match="ISO3"):
        read_schedule_csv(p, importer="Korea")
