"""The CLI front door: `tradepact ledger`, `tradepact korus`, and error handling."""
import json
import re

from tradepact.cli import main


def test_ledger_json_official_figures(capsys):
    assert main(["ledger", "USA", "KOR", "--from", "2006", "--to", "2024", "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    by_year = {r["year"]: r for r in records}
    assert set(by_year) == set(range(2006, 2025))
    for key in ("year", "goods_exports", "goods_imports", "goods_balance", "services_balance",
                "total_balance", "confirmed"):
        assert key in by_year[2016]
    assert round(by_year[2011]["goods_balance"] / 1000, 1) == -13.2
    assert round(by_year[2016]["goods_balance"] / 1000, 1) == -27.6
    assert round(by_year[2016]["services_balance"] / 1000, 1) == 10.7
    assert by_year[2016]["confirmed"] is True and by_year[2024]["confirmed"] is False
    assert by_year[2013]["services_balance"] is None


def test_ledger_table_marks_unconfirmed(capsys):
    assert main(["ledger", "USA", "KOR", "--from", "2023"]) == 0
    out = capsys.readouterr().out
    assert "2024 ⚠" in out and "unconfirmed" in out and "Before vs after" in out


def test_ledger_csv(capsys):
    assert main(["ledger", "KOR", "USA", "--from", "2016", "--to", "2016", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("year,goods_exports") and lines[1].startswith("2016,69886.8,42262.2,27624.6")


def test_errors_are_one_line_exit_2(capsys):
    assert main(["ledger", "USA", "XYZ"]) == 2
    err = capsys.readouterr().err
    assert "error: unknown country 'XYZ'" in err and "Traceback" not in err
    assert main(["ledger", "USA", "KOR", "--since", "2012-13-45"]) == 2
    assert "--since: expected a date" in capsys.readouterr().err


def test_korus_writes_offline_report(tmp_path, capsys):
    assert main(["korus", "--out", str(tmp_path / "rep")]) == 0
    out = capsys.readouterr().out
    assert "Claims checked" in out and "holds within rounding" in out
    html = (tmp_path / "rep" / "index.html").read_text()
    assert "<script type='text/javascript'>" in html and "cdn.plot.ly" not in html.split("</head>")[1]
    assert html.count('class="chart"') >= 2
    assert re.search(r'id="claims"', html) and "Download CSV" in html
    assert "⚠ unconfirmed" in html  # 2024 services balance is unconfirmed
