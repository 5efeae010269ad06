"""Scenario files: validation (errors name file and field), tariff paths, JSON contract, CLI.

The agreements engine is replaced by a small stand-in here (``fake_agreements``) so the scenario
machinery is tested on its own; tests/simulate/test_pe_builtin.py runs the real engine.
"""
from __future__ import annotations

import json
import math
import textwrap

import numpy as np
import pandas as pd
import pytest

import tradepact.agreements as agreements_pkg
from tradepact.cli import main
from tradepact.errors import ConfigError, DataFormatError
from tradepact.simulate import scenario as scenario_mod
from tradepact.simulate.scenario import builtin_scenarios, load_scenario, run_scenario

ISSUE_KEYS = ["importer", "exporter", "hs", "year", "import_value", "rate_before", "rate_after",
              "import_demand_elasticity", "substitution_elasticity", "export_supply_elasticity",
              "trade_creation", "trade_diversion", "tariff_revenue_change", "consumer_surplus_change"]

LINES = """importer,exporter,hs,year,import_value,rate,description
USA,KOR,870323,2017,100,0.10,cars
USA,JPN,870323,2017,300,0.10,cars
KOR,USA,020130,2017,50,0.40,beef
KOR,USA,100590,2017,20,0.03,corn
USA,KOR,870323,2016,999,0.10,other year
"""


@pytest.fixture
def workdir(tmp_path):
    (tmp_path / "lines.csv").write_text(LINES)
    return tmp_path


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


BASIC = """
name: basic
baseline: {year: 2017, data: lines.csv}
years: 2018-2022
changes:
  - kind: tariff
    importer: USA
    exporter: KOR
    hs: "8703"
    rate: 0.0
    from_year: 2019
  - kind: tariff
    importer: KOR
    exporter: USA
    hs: "0201"
    staging: {from_year: 2018, to_year: 2022, start_rate: 0.32, end_rate: 0.0}
elasticities:
  import_demand_table: none
  import_demand_default: -2.0
  substitution: 1.5
"""


def test_run_from_file_paths_and_json_contract(workdir):
    res = run_scenario(write(workdir, BASIC))
    df = res.to_frame()
    assert len(df) == 4 * 5  # four 2017 flows x five years; the 2016 row is not the base year
    cars = df[(df.exporter == "KOR") & (df.hs == "870323")].set_index("year")
    assert cars.loc[2018, "rate_after"] == 0.10 and cars.loc[2019, "rate_after"] == 0.0
    assert cars.loc[2018, "trade_creation"] == 0.0
    beef = df[df.hs == "020130"].set_index("year")["rate_after"]
    np.testing.assert_allclose(beef.to_numpy(), [0.32, 0.24, 0.16, 0.08, 0.0], atol=1e-12)
    # a staged cut gives a path of effects, growing as the rate falls
    tc = df[df.hs == "020130"].sort_values("year")["trade_creation"].to_numpy()
    assert np.all(np.diff(tc) > 0)

    doc = res.to_dict()
    text = json.dumps(doc, allow_nan=False)  # strictly valid JSON
    doc = json.loads(text)
    assert doc["scenario"] == "basic"
    assert list(doc["lines"][0])[: len(ISSUE_KEYS)] == ISSUE_KEYS
    assert set(doc["totals"]) >= {"trade_creation", "trade_diversion", "tariff_revenue_change", "consumer_surplus_change"}
    # every figure can be recomputed by hand from the inputs on its own line (SMART, eps infinite)
    for ln in doc["lines"]:
        assert ln["export_supply_elasticity"] is None
        dt = ln["rate_after"] - ln["rate_before"]
        tc = ln["import_value"] * ln["import_demand_elasticity"] * dt / (1 + ln["rate_before"])
        assert ln["trade_creation"] == pytest.approx(tc, rel=1e-12, abs=1e-12)
        m1 = ln["import_value"] + ln["trade_creation"] + ln["trade_diversion"]
        assert ln["tariff_revenue_change"] == pytest.approx(ln["rate_after"] * m1 - ln["rate_before"] * ln["import_value"],
                                                            rel=1e-12, abs=1e-12)
        assert ln["consumer_surplus_change"] == pytest.approx(-dt * (ln["import_value"] + ln["trade_creation"] / 2),
                                                              rel=1e-12, abs=1e-12)
    # diversion from Japan to Korea when Korea's cars go duty-free; totals over a market net out
    y19 = df[(df.year == 2019) & (df.hs == "870323")]
    assert y19["trade_diversion"].sum() == pytest.approx(0.0, abs=1e-9)
    assert y19.set_index("exporter").loc["JPN", "trade_diversion"] < 0
    by_hs2 = pd.DataFrame(doc["by_hs2"])
    assert by_hs2.groupby("year")["trade_creation"].sum().to_numpy() == pytest.approx(
        pd.DataFrame(doc["by_year"])["trade_creation"].to_numpy(), rel=1e-12)


def test_quota_change_and_overrides(workdir):
    res = run_scenario(write(workdir, """
        name: q
        baseline: {year: 2017, data: lines.csv}
        years: [2020]
        changes:
          - {kind: quota, importer: KOR, exporter: USA, hs: "02", share_of_base: 0.5, in_quota_rate: 0.0,
             out_of_quota_rate: prohibitive}
        elasticities: {import_demand: {"02": -3.0, "0201": -4.0}}
        """))
    beef = res.to_frame().set_index("hs").loc["020130"]
    assert beef["import_demand_elasticity"] == -4.0  # the longest prefix wins
    assert beef["quota_regime_after"] == "binding" and beef["trade_creation"] == pytest.approx(-25.0)
    assert beef["quota_rent_change"] > 0
    corn = res.to_frame().set_index("hs").loc["100590"]
    assert corn["trade_creation"] == 0.0


def test_draws_give_ordered_quantiles_and_are_reproducible(workdir):
    text = BASIC + "draws: {n: 30, seed: 7, spread: 0.3}\n"
    a = run_scenario(write(workdir, text)).to_dict()["uncertainty"]
    b = run_scenario(write(workdir, text)).to_dict()["uncertainty"]
    assert a == b
    q = pd.DataFrame(a["quantiles"]).pivot(index="year", columns="quantile", values="trade_creation")
    assert (q[0.05] <= q[0.5]).all() and (q[0.5] <= q[0.95]).all()
    assert (q[0.95] > q[0.05]).loc[2020:].all()


# ---------------------------------------------------------------- a stand-in for tradepact.agreements

@pytest.fixture
def fake_agreements(monkeypatch):
    """load_agreement('korus') and rates() per the agreements API: USA cars 2.5% -> 0 in 2016,
    KOR beef 40% in 15 cuts from 2012; base rates 2.5% and 40%; anything else has no line (NaN)."""
    scenario_mod._load_agreement_cached.cache_clear()

    def load_agreement(name):
        if name != "korus":
            raise ConfigError(f"unknown agreement {name!r}; built-in: korus")
        return "KORUS"

    def rates(ag, frame, as_of=None):
        out = frame.copy()
        yr = out["year"].to_numpy()
        car = (out["importer"] == "USA").to_numpy() & out["hs"].str.startswith("8703").to_numpy()
        beef = (out["importer"] == "KOR").to_numpy() & out["hs"].str.startswith("0201").to_numpy()
        out["rate"] = np.where(car, np.where(yr >= 2016, 0.0, 0.025),
                               np.where(beef, 0.40 * np.clip(1 - (yr - 2011) / 15, 0, 1), np.nan))
        out["base_rate"] = np.where(car, 0.025, np.where(beef, 0.40, np.nan))
        out["category"] = np.where(car, "C", np.where(beef, "15-cuts", None))
        out["line_id"] = np.where(car, "US-CARS", np.where(beef, "KR-BEEF", None))
        out["amendment"] = None
        out["source"] = "stand-in schedule"
        out["confirmed"] = True
        return out

    monkeypatch.setattr(agreements_pkg, "load_agreement", load_agreement, raising=False)
    monkeypatch.setattr(agreements_pkg, "rates", rates, raising=False)
    yield
    scenario_mod._load_agreement_cached.cache_clear()


def test_agreement_paths_mfn_and_skipped(workdir, fake_agreements):
    res = run_scenario(write(workdir, """
        name: back-to-mfn
        baseline: {agreement: korus, year: 2017, data: lines.csv}
        years: 2012-2027
        changes:
          - {kind: tariff, importer: KOR, exporter: USA, rate: mfn}
          - {kind: tariff, importer: USA, rate: mfn}
        """))
    df = res.to_frame()
    beef = df[df.hs == "020130"].set_index("year")
    assert beef.loc[2012, "rate_before"] == pytest.approx(0.40 * 14 / 15)
    assert beef.loc[2026, "rate_before"] == 0.0 and (beef["rate_after"] == 0.40).all()
    assert (beef["trade_creation"] < 0).all()
    assert (np.diff(beef.sort_index()["trade_creation"].to_numpy()) <= 1e-12).all()  # effect grows as KORUS cuts deepen
    # corn has no line in the stand-in schedule: skipped and reported, not guessed
    assert set(res.skipped["hs"]) == {"100590"}
    assert any("skipped" in n for n in res.notes)
    cars = df[(df.hs == "870323") & (df.exporter == "KOR")].set_index("year")
    assert cars.loc[2015, "rate_after"] == 0.025 and cars.loc[2020, "rate_after"] == 0.025
    assert cars.loc[2020, "rate_before"] == 0.0


def test_unknown_agreement_names_file_and_field(workdir, fake_agreements):
    p = write(workdir, "name: x\nbaseline: {agreement: nafta9, year: 2017, data: lines.csv}\n")
    with pytest.raises(ConfigError) as ei:
        load_scenario(p)
    assert str(p) in str(ei.value) and "baseline.agreement" in str(ei.value) and "nafta9" in str(ei.value)


# ---------------------------------------------------------------- bad input: named file and field, nothing run

BAD = [
    ("changes:\n  - {kind: tariff, importer: XXX, hs: '8703', rate: 0.1}", "changes[0].importer", "ISO3"),
    ("changes:\n  - {kind: tariff, exporter: Narnia, hs: '8703', rate: 0.1}", "changes[0].exporter", "ISO3"),
    ("changes:\n  - {kind: tariff, importer: USA, hs: '870', rate: 0.1}", "changes[0].hs", "HS code"),
    ("changes:\n  - {kind: tariff, importer: USA, hs: 8703, rate: 0.1}", "changes[0].hs", "quoted string"),
    ("changes:\n  - {kind: tariff, importer: USA, hs: '87A3', rate: 0.1}", "changes[0].hs", "HS code"),
    ("changes:\n  - {kind: tariff, importer: USA, hs: '8703', rate: -0.05}", "changes[0].rate", ">= 0"),
    ("changes:\n  - {kind: tariff, importer: USA, hs: '8703', rate: 25}", "changes[0].rate", "percentage"),
    ("changes:\n  - {kind: tariff, importer: USA, hs: '8703', rates: {2019: -1}}", "changes[0].rates[2019]", "greater than or equal to 0"),
    ("changes:\n  - {kind: tariff, importer: USA, hs: '8703'}", "changes[0]", "exactly one of rate"),
    ("changes:\n  - {kind: quota, importer: USA, hs: '72', volume: 5, out_of_quota_rate: -1}",
     "changes[0].out_of_quota_rate", ">= 0"),
    ("changes:\n  - {kind: embargo, importer: USA}", "changes[0]", "kind"),
    ("elasticities: {import_demand_default: 1.5}", "elasticities.import_demand_default", "less than 0"),
    ("elasticities: {import_demand: {'8703': 2.0}}", "elasticities.import_demand.8703", "less than 0"),
    ("elasticities: {substitution: -1.5}", "elasticities.substitution", "greater than 0"),
    ("elasticities: {export_supply: 0}", "elasticities.export_supply", "greater than 0"),
    ("elasticities: {composite_demand: 0.5}", "elasticities.composite_demand", "less than or equal to 0"),
    ("elasticities: {import_demand_table: kno}", "elasticities.import_demand_table", "hauk2012"),
    ("models: [pe, cge]", "models[1]", "'pe' or 'ge'"),
    ("years: 2030-2020", "years", "increasing"),
    ("colour: blue", "colour", "unknown field"),
    ("draws: {n: -3}", "draws.n", "greater than or equal to 0"),
]


@pytest.mark.parametrize("extra,field,expected", BAD)
def test_bad_scenarios_name_file_and_field(workdir, extra, field, expected):
    p = write(workdir, "name: bad\nbaseline: {year: 2017, data: lines.csv}\n" + extra + "\n")
    with pytest.raises(ConfigError) as ei:
        run_scenario(p)
    msg = str(ei.value)
    assert msg.startswith(str(p)), msg
    assert f"field '{field}'" in msg, msg
    assert expected in msg, msg


def test_ge_refused_when_the_engine_is_missing(workdir, monkeypatch):
    """An installation without tradepact.simulate.ge refuses 'ge' with a clear message."""
    monkeypatch.setattr(scenario_mod, "_ge_module", lambda: None)
    p = write(workdir, "name: g\nbaseline: {year: 2017, data: lines.csv}\nmodels: [pe, ge]\n")
    with pytest.raises(ConfigError, match=r"field 'models'.*not available"):
        load_scenario(p)
    p2 = write(workdir, "name: g\nbaseline: {year: 2017, data: lines.csv}\n"
                        "changes:\n  - {kind: trade_cost, importer: USA, exporter: KOR, change: -0.1}\n", "g2.yaml")
    with pytest.raises(ConfigError, match=r"changes\[0\].*GE model"):
        load_scenario(p2)


def test_bad_data_file_names_file_row_field(workdir):
    (workdir / "bad.csv").write_text(LINES.replace("KOR,USA,100590,2017,20", "KOR,USA,100590,2017,-20"))
    p = write(workdir, "name: d\nbaseline: {year: 2017, data: bad.csv}\n")
    with pytest.raises(DataFormatError) as ei:
        load_scenario(p)
    msg = str(ei.value)
    assert "bad.csv" in msg and "row 4" in msg and "'import_value'" in msg
    (workdir / "bad2.csv").write_text(LINES.replace("USA,JPN", "USA,JPX"))
    p = write(workdir, "name: d\nbaseline: {year: 2017, data: bad2.csv}\n")
    with pytest.raises(DataFormatError, match=r"bad2.csv, row 2, field 'exporter'"):
        load_scenario(p)


def test_missing_rates_without_agreement(workdir):
    (workdir / "norate.csv").write_text("importer,exporter,hs,year,import_value\nUSA,KOR,8703,2017,1\n")
    p = write(workdir, "name: n\nbaseline: {year: 2017, data: norate.csv}\n")
    with pytest.raises(ConfigError, match="field 'baseline.agreement'"):
        load_scenario(p)


def test_cli_nothing_written_on_bad_input(workdir, capsys):
    p = write(workdir, "name: bad\nbaseline: {year: 2017, data: lines.csv}\n"
                       "changes:\n  - {kind: tariff, importer: USA, hs: '8703', rate: -1}\n")
    out = workdir / "out"
    assert main(["simulate", str(p), "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert "changes[0].rate" in err and str(p) in err.replace("\n", "")


def test_cli_simulate_compare_scenarios(workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    p = write(workdir, BASIC)
    assert main(["simulate", str(p), "--format", "json", "--out", str(workdir / "out")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scenario"] == "basic" and len(doc["lines"]) == 20
    assert (workdir / "out" / "basic.json").is_file() and (workdir / "out" / "basic_lines.csv").is_file()
    assert main(["simulate", str(p)]) == 0
    assert "Effects by year" in capsys.readouterr().out
    q = write(workdir, BASIC.replace("name: basic", "name: deeper").replace("start_rate: 0.32", "start_rate: 0.2"),
              "b.yaml")
    assert main(["compare", str(p), str(q), "--format", "json"]) == 0
    cmp = json.loads(capsys.readouterr().out)
    rows = pd.DataFrame(cmp["rows"]).set_index("year")
    assert rows.loc[2018, "trade_creation_diff"] > 0  # a deeper first cut creates more trade
    assert rows.loc[2022, "trade_creation_diff"] == pytest.approx(0.0, abs=1e-9)  # both reach zero
    assert main(["compare", str(p), str(p)]) == 0
    assert "diff = B − A" in capsys.readouterr().out
    assert main(["scenarios", "--format", "json"]) == 0
    names = [r["name"] for r in json.loads(capsys.readouterr().out)]
    assert names == builtin_scenarios() == ["auto-tariff-25", "korus-2018", "no-korus"]


def test_domestic_substitution_and_export_supply_from_yaml(workdir):
    (workdir / "dom.csv").write_text("importer,exporter,hs,year,import_value,rate,domestic_output\n"
                                     "KOR,USA,020130,2017,100,0.0,300\n")
    res = run_scenario(write(workdir, """
        name: gsim
        baseline: {year: 2017, data: dom.csv}
        years: [2018]
        changes: [{kind: tariff, importer: KOR, rate: 0.1}]
        elasticities: {domestic_substitution: true, composite_demand: -1.0, domestic_substitution_elasticity: 2.0}
        """))
    r = res.to_frame().iloc[0]
    # nested Armington, s_M = 0.25: eta = -0.25 - 1.5; domestic sales + 300*0.25*(2-1)*0.1
    assert r["import_demand_elasticity"] == pytest.approx(-1.75, rel=1e-12)
    assert res.pe.lines["domestic_output_change"].iloc[0] == pytest.approx(7.5, rel=1e-12)
    res2 = run_scenario(write(workdir, """
        name: finite
        baseline: {year: 2017, data: dom.csv}
        years: [2018]
        changes: [{kind: tariff, importer: KOR, rate: 0.1}]
        elasticities: {import_demand_table: none, import_demand_default: -2.0, export_supply: 4.0}
        """, "f.yaml"))
    r2 = res2.to_dict()["lines"][0]
    assert r2["export_supply_elasticity"] == 4.0
    assert r2["trade_creation"] == pytest.approx(100 * -2.0 * 0.1 / (1 + 2.0 / 4.0), rel=1e-12)


def test_ge_wired_when_the_engine_is_installed(workdir):
    from tradepact.simulate.ge.world8 import world8_tables

    res = run_scenario(write(workdir, """
        name: both
        baseline: {year: 2017, data: lines.csv}
        years: [2020]
        changes:
          - {kind: tariff, importer: USA, exporter: KOR, hs: "8703", rate: 0.3}
          - {kind: trade_cost, importer: KOR, exporter: USA, change: 0.05}
        models: [pe, ge]
        """))
    doc = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    shock = pd.DataFrame(doc["ge"]["shock"]).set_index("kind")
    trade = world8_tables()[0]
    x = trade[(trade.year == 2016) & (trade.exporter == "KOR") & (trade.importer == "USA")]["value_usd_m"].sum()
    # sector-true: the 100 of cars are split out and taxed at the full change; other goods are not
    assert shock.loc["tariff", "change"] == pytest.approx(0.3 - 0.1, rel=1e-12)
    assert shock.loc["tariff", "lines_value"] == 100 and shock.loc["tariff", "pair_value"] == x
    assert doc["ge"]["sectors"] == ["other", "scenario lines"]
    assert "total trade balance" in doc["ge"]["fixed_by_closure"][0] and doc["ge"]["deficits"] == "multiplicative"
    assert shock.loc["trade_cost", "change"] == 0.05
    countries = pd.DataFrame(doc["ge"]["countries"]).set_index("country")
    assert len(countries) == 8 and countries.loc["KOR", "exports_change_pct"] < 0
    assert len(doc["lines"]) == 4  # the PE part ran too
    # GE at the low / central / high θ of the gravity table, so its headline is a range
    rng = pd.DataFrame(doc["ge"]["range"]).set_index("case")
    assert doc["ge"]["theta"] == {"low": 3.0, "central": 5.0, "high": 8.0}
    assert list(rng.index) == ["low", "central", "high"] and list(rng["theta"]) == [3.0, 5.0, 8.0]
    from tradepact.simulate.bridge_ge import run_ge

    r5, _, share = run_ge(res.scenario, res.pe.lines, theta=5.0)
    split = r5.pair_split("KOR", "USA", ["scenario lines"])
    assert rng.at["central", "total_change"] == pytest.approx(split["total_change"], rel=1e-12)
    # invariant: other goods move by no more than the general-equilibrium income bound, at every θ
    assert (rng["untouched_change"].abs() <= rng["income_bound"]).all()
    assert (-rng["total_change"] <= 100 + rng["income_bound"]).all()
    assert "GE 2020: imports from the partner" in res.summary() and "over θ 3–8" in res.summary()
    # the sector's content elsewhere is an assumption derived from built-in data, listed with its source
    a = {x["assumption"]: x for x in doc["assumptions"]}
    content = a["GE: content of the changed products in trade cells the data do not break down"]
    assert content["value"].startswith(f"{2200 / 42300:.1%}") and "2,200 / 42,300" in content["value"]
    assert share.value == pytest.approx(2200 / 42300, rel=1e-12)
    assert a["GE: trade elasticity θ"]["value"] == "low 3 / central 5 / high 8"
    assert "fixed by assumption" in a["GE closure: full endowment, multiplicative deficits"]["value"]


def test_unreadable_or_unknown_scenarios(workdir, capsys):
    p = write(workdir, "name: [unclosed\n", "broken.yaml")
    with pytest.raises(ConfigError, match=r"broken.yaml: not valid YAML"):
        load_scenario(p)
    with pytest.raises(ConfigError, match=r"missing.yaml: scenario file not found"):
        load_scenario(workdir / "missing.yaml")
    with pytest.raises(ConfigError, match=r"unknown scenario 'korus-2019'.*auto-tariff-25"):
        load_scenario("korus-2019")
    p = write(workdir, "- just\n- a list\n", "list.yaml")
    with pytest.raises(ConfigError, match=r"list.yaml: expected a YAML mapping"):
        load_scenario(p)
    p = write(workdir, "baseline: {year: 2017, data: lines.csv}\n", "noname.yaml")
    with pytest.raises(ConfigError, match=r"field 'name': required field missing"):
        load_scenario(p)
    assert main(["simulate", str(workdir / "s.yaml"), "--format", "csv"]) == 2
    assert main(["simulate", str(write(workdir, BASIC)), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    frame = pd.read_csv(__import__("io").StringIO(out))
    assert list(frame.columns[:14]) == ISSUE_KEYS and len(frame) == 20


def test_result_renders_in_notebooks(workdir):
    res = run_scenario(write(workdir, BASIC))
    h = res._repr_html_()
    assert "<table" in h and "basic" in h and "trade_creation" in h
    assert "<table" in res.pe._repr_html_() and "hs2" in res.pe._repr_html_()
