"""No silent cut or relabel: missing years are named, mirrored data say whose statistics they
are, out-of-calendar years and codes outside the HS are warned about, flags are named as flags."""
from __future__ import annotations

import pytest

from tradepact.cli import main
from tradepact.errors import ConfigError
from tradepact.ledger.balances import bilateral, years_text


def test_a_range_partly_outside_the_data_names_the_missing_years(capsys):
    assert main(["ledger", "USA", "KOR", "--from", "2002", "--to", "2008", "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert "warning: no data for 2002–2005 (the data cover 2006–2024)" in err
    assert [ln.split(",")[0] for ln in out.splitlines()[1:]] == ["2006", "2007", "2008"]
    frame = bilateral("USA", "KOR", 2002, 2008)
    assert frame.attrs["missing_years"] == [2002, 2003, 2004, 2005]
    assert years_text([2002, 2003, 2005, 2007, 2008]) == "2002–2003, 2005, 2007–2008"


def test_a_range_wholly_outside_or_reversed_is_an_error_saying_so():
    with pytest.raises(ConfigError, match="no USA–KOR data for 1850–1860: the data cover 2006–2024"):
        bilateral("USA", "KOR", 1850, 1860)
    with pytest.raises(ConfigError, match=r"first year \(2014\) is after the last year \(2004\)"):
        bilateral("USA", "KOR", 2014, 2004)


def test_mirrored_data_say_whose_statistics_they_are(capsys):
    assert main(["ledger", "KOR", "USA", "--from", "2016", "--to", "2017"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "USA's statistics, mirrored" in out and "KOR's view" not in out
    assert main(["ledger", "USA", "KOR", "--from", "2016", "--to", "2017"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "USA's statistics" in out and "mirrored" not in out
    kor, usa = bilateral("KOR", "USA", 2016, 2016), bilateral("USA", "KOR", 2016, 2016)
    assert kor["goods_exports"].iloc[0] == usa["goods_imports"].iloc[0]


def test_schedule_warns_about_years_before_the_calendar_and_codes_outside_the_hs(capsys):
    assert main(["schedule", "korus", "--importer", "KOR", "--exporter", "USA", "--hs", "0201,999999",
                 "--years", "1850,2012", "--format", "json"]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "--hs 999999: chapter 99 is not an HS chapter" in err
    assert "no line of the korus schedule covers this code" in err
    assert "--years 1850: before korus entered into force (2012-03-15)" in err
    assert main(["schedule", "korus", "--importer", "KOR", "--hs", "0201", "--years", "2012-2014"]) == 0
    assert "warning" not in capsys.readouterr().err


def test_scenario_summary_does_not_read_as_if_everything_was_skipped():
    from tradepact.simulate.scenario import builtin_scenarios, load_scenario, run_scenario

    assert "auto-tariff-25" in builtin_scenarios()
    res = run_scenario(load_scenario("auto-tariff-25"))
    text = res.summary()
    assert f"{len(res.pe.lines)} flow-years simulated" in text
    if len(res.skipped):
        assert f"{len(res.skipped)} more skipped for lack of a tariff rate" in text
