"""CLI: `tradepact agreements`, `tradepact schedule` (rates, --as-of, --changes, --file, formats, errors)."""
from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from tradepact.cli import main


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_agreements_lists_builtins(capsys):
    code, out, _ = run(capsys, "agreements", "--format", "json")
    assert code == 0
    recs = json.loads(out)
    assert [r["agreement"] for r in recs] == ["korus"]
    assert recs[0]["entry_into_force"] == "2012-03-15" and recs[0]["parties"] == "USA, KOR"


def test_schedule_beef_json(capsys):
    code, out, _ = run(capsys, "schedule", "korus", "--importer", "KOR", "--exporter", "USA", "--hs", "0201",
                       "--years", "2012-2026", "--format", "json")
    assert code == 0
    recs = json.loads(out)
    assert [r["year"] for r in recs] == list(range(2012, 2027))
    by_year = {r["year"]: r for r in recs}
    assert by_year[2018]["rate"] == pytest.approx(0.40 * 8 / 15) and by_year[2018]["hs"] == "0201"
    assert by_year[2026]["rate"] == 0.0
    for r in recs:
        assert {"year", "hs", "rate", "category", "source", "confirmed"} <= set(r)
        assert r["source"] and r["confirmed"] is True and 0.0 <= r["rate"] <= 0.40


def test_schedule_trucks_as_of_and_default_exporter(capsys):
    _, out, _ = run(capsys, "schedule", "korus", "--importer", "USA", "--hs", "8704", "--years", "2019-2021,2041",
                    "--format", "json")
    now = {r["year"]: r["rate"] for r in json.loads(out)}
    assert now == {2019: 0.25, 2020: 0.25, 2021: 0.25, 2041: 0.0}
    _, out, _ = run(capsys, "schedule", "korus", "--importer", "USA", "--hs", "8704", "--years", "2019-2021",
                    "--as-of", "2017-12-31", "--format", "json")
    then = {r["year"]: r["rate"] for r in json.loads(out)}
    assert then[2019] == pytest.approx(0.25 * 2 / 3) and then[2020] == pytest.approx(0.25 / 3) and then[2021] == 0


def test_schedule_csv_and_table(capsys):
    code, out, _ = run(capsys, "schedule", "korus", "--importer", "KOR", "--hs", "8703,0201", "--years", "2016",
                       "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    got = {r["hs"]: float(r["rate"]) for r in rows}
    assert got["8703"] == 0.0 and got["0201"] == pytest.approx(0.40 * 10 / 15)
    code, out, _ = run(capsys, "schedule", "korus", "--importer", "USA", "--hs", "8704", "--years", "2030")
    assert code == 0 and "25.00%" in out and "*" in out  # 2030 value is assumed -> flagged


def test_schedule_changes(capsys):
    code, out, _ = run(capsys, "schedule", "korus", "--changes", "--format", "json")
    assert code == 0
    recs = json.loads(out)
    trucks = [r for r in recs if r["amendment"] == "KORUS-2018-PROTOCOL" and r["target"] == "US-LIGHT-TRUCKS"]
    assert trucks and "2041" in trucks[0]["after"]
    assert any(r["target"] == "US-STEEL-232-QUOTA" and r["outside_agreement"] for r in recs)
    code, out, _ = run(capsys, "schedule", "korus", "--changes", "--as-of", "2017-12-31", "--format", "json")
    assert {r["amendment"] for r in json.loads(out)} == {"KORUS-2010-SUPPLEMENT"}
    code, out, _ = run(capsys, "schedule", "korus", "--changes")
    assert code == 0 and "50,000" in out and "outside the agreement" in out


def test_schedule_lines_listing(capsys):
    code, out, _ = run(capsys, "schedule", "korus", "--importer", "USA", "--format", "json")
    assert code == 0
    ids = {r["line_id"] for r in json.loads(out)}
    assert ids == {"US-CARS", "US-LIGHT-TRUCKS", "US-EV"}


def test_file_option(capsys, tmp_path, minimal):
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(minimal, sort_keys=False))
    code, out, _ = run(capsys, "schedule", "--file", str(path), "--importer", "KOR", "--hs", "020110",
                       "--years", "2013", "--format", "json")
    assert code == 0 and json.loads(out)[0]["rate"] == pytest.approx(0.4 * 3 / 5)
    code, out, _ = run(capsys, "schedule", str(path), "--importer", "KOR", "--hs", "0201", "--years", "2011",
                       "--format", "json")
    assert code == 0 and json.loads(out)[0]["rate"] == pytest.approx(0.4)
    code, out, _ = run(capsys, "agreements", "--file", str(path), "--format", "json")
    assert code == 0 and json.loads(out)[0]["id"] == "mini"


def test_cli_errors(capsys, tmp_path, minimal):
    code, _, err = run(capsys, "schedule", "nafta9", "--changes")
    assert code == 2 and "unknown agreement 'nafta9'" in err
    code, _, err = run(capsys, "schedule", "korus", "--hs", "0201")
    assert code == 2 and "--importer is required" in err
    code, _, err = run(capsys, "schedule", "korus", "--importer", "KOR", "--hs", "02x1")
    assert code == 2 and "field 'hs'" in err and "02x1" in err
    code, _, err = run(capsys, "schedule", "korus", "--importer", "KOR", "--hs", "0201", "--years", "20x2")
    assert code == 2 and "--years" in err
    code, _, err = run(capsys, "schedule", "korus", "--importer", "KOR", "--hs", "0201", "--as-of", "2017/12/31")
    assert code == 2 and "--as-of" in err
    minimal["lines"][0]["base_rate"] = -1
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(minimal, sort_keys=False))
    code, _, err = run(capsys, "schedule", "--file", str(bad), "--changes")
    assert code == 2 and "bad.yaml" in err and "lines[0].base_rate" in err
