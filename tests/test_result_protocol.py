"""One result shape: every engine's result class keeps the protocol of :class:`tradepact.results.Result`.

``summary()`` is a str, ``to_frame()`` a DataFrame, ``to_dict()`` JSON-safe (it survives a strict
``json`` round trip unchanged) with ``kind`` first, ``to_json()`` is that dict as text, ``repr`` is
the summary and ``_repr_html_`` is HTML. Each result is produced by its real engine on small data;
a result class the test does not cover fails the test.
"""
from __future__ import annotations

import importlib
import json
import pkgutil

import numpy as np
import pandas as pd
import pytest

import tradepact
from tradepact.results import Result, dumps, json_safe, records


def _all_result_classes() -> set[type]:
    for mod in pkgutil.walk_packages(tradepact.__path__, "tradepact."):
        if mod.name.startswith(("tradepact.cli", "tradepact.web")) or "baci_kernels_numba" in mod.name:
            continue
        importlib.import_module(mod.name)
    out, todo = set(), [Result]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub.__module__.startswith("tradepact."):
                out.add(sub)
            todo.append(sub)
    return out


def _gravity():
    from tradepact.gravity import ppml

    rng = np.random.default_rng(3)
    n = 12
    exp, imp = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    df = pd.DataFrame({"exporter": exp.ravel(), "importer": imp.ravel()})
    df = df[df.exporter != df.importer]
    df["ln_dist"] = rng.normal(size=len(df))
    df["trade"] = rng.poisson(np.exp(2 - 0.8 * df["ln_dist"]))
    return ppml(df, "trade ~ ln_dist | exporter + importer")


def _ge_pair():
    from tradepact.simulate.ge import Baseline, Shock, solve

    x = np.array([[50.0, 5, 3], [4, 40, 2], [6, 1, 30]])
    base = Baseline.from_matrix(x, ["AAA", "BBB", "CCC"], theta=4)
    shock = Shock.bilateral_tariffs(base, {("AAA", "BBB"): 0.1})
    return solve(base, shock, closure="conditional"), solve(base, shock, closure="full")


def _monte_carlo():
    from tradepact.simulate.ge import Baseline, Shock, solve
    from tradepact.simulate.ge.uncertainty import monte_carlo

    x = np.array([[50.0, 5, 3], [4, 40, 2], [6, 1, 30]])

    def run(p):
        base = Baseline.from_matrix(x, ["AAA", "BBB", "CCC"], theta=float(p[0]))
        return solve(base, Shock.bilateral_tariffs(base, {("AAA", "BBB"): 0.1})).to_frame()

    return monte_carlo(run, [4.0], [[0.04]], draws=4, n_jobs=1, positive=np.array([True]))


def _counterfactual():
    from tradepact.simulate.ge.workflow import Counterfactual

    cond, full = _ge_pair()
    return Counterfactual(cond, full, bands=_monte_carlo())


def _pe():
    from tradepact.simulate.pe import PESettings, simulate_pe

    frame = pd.DataFrame({"importer": ["USA", "USA"], "exporter": ["KOR", "JPN"], "hs": ["870323", "870323"],
                          "year": [2019, 2019],
                          "import_value": [100.0, 200.0], "rate_before": [0.025, 0.025],
                          "rate_after": [0.0, 0.025]})
    return simulate_pe(frame, PESettings())


def _scenario():
    from tradepact.simulate.scenario import run_scenario

    return run_scenario("auto-tariff-25")


def _ledger_import(tmp_path):
    from tradepact.ledger.store import LedgerStore

    csv = tmp_path / "flows.csv"
    pd.DataFrame({"reporter": ["USA", "USA"], "partner": ["KOR", "JPN"], "year": [2019, 2019],
                  "flow": ["exports", "imports"], "item": ["S", "S"], "value": [10.0, 5.0]}).to_csv(csv,
                                                                                                       index=False)
    return LedgerStore.open(tmp_path / "store").import_files("services", [csv])


def _expost():
    from tradepact.data import dta_agreements, dta_panel
    from tradepact.gravity.expost import expost

    return expost(dta_panel(), 211, "USA", names=dta_agreements(), event_study=False, sensitivity=False)


MAKERS = {
    "ExPostResult": lambda tmp: _expost(),
    "GravityResults": lambda tmp: _gravity(),
    "GEResult": lambda tmp: _ge_pair()[1],
    "MonteCarloResult": lambda tmp: _monte_carlo(),
    "Counterfactual": lambda tmp: _counterfactual(),
    "PEResult": lambda tmp: _pe(),
    "ScenarioResult": lambda tmp: _scenario(),
    "ImportReport": _ledger_import,
}


def test_every_result_class_is_covered():
    names = {cls.__name__ for cls in _all_result_classes()}
    assert names <= set(MAKERS), f"result classes without a protocol test: {sorted(names - set(MAKERS))}"


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_result_protocol(name, tmp_path):
    result = MAKERS[name](tmp_path)
    assert type(result).__name__ == name and isinstance(result, Result)
    text = result.summary()
    assert isinstance(text, str) and text.strip()
    frame = result.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) > 0
    d = result.to_dict()
    assert isinstance(d, dict) and next(iter(d)) == "kind" and d["kind"] == type(result).kind != "result"
    assert json.loads(json.dumps(d, allow_nan=False)) == d  # JSON-safe: strict round trip, unchanged
    assert json.loads(result.to_json()) == d and result.to_json(indent=None).count("\n") == 0
    assert repr(result) == text
    html = result._repr_html_()
    assert isinstance(html, str) and "<" in html


def test_json_safe_values():
    import datetime as dt

    frame = pd.DataFrame({"a": [1.5, np.nan], "b": [np.int64(2), None], "d": [dt.date(2020, 1, 2)] * 2})
    assert records(frame) == [{"a": 1.5, "b": 2.0, "d": "2020-01-02"}, {"a": None, "b": None, "d": "2020-01-02"}]
    assert json_safe({1: (np.float32(0.5), float("inf"), pd.NA), "x": np.array([1, 2])}) == \
        {"1": [0.5, None, None], "x": [1, 2]}
    assert dumps({"v": float("nan")}, indent=None) == '{"v": null}'


def test_etable_takes_any_result():
    from tradepact.gravity import etable

    cond, full = _ge_pair()
    text = etable([cond, full], names=["conditional", "full"], column="welfare_change_pct")
    lines = text.splitlines()
    assert lines[0] == "|  | conditional | full |" and lines[2] == "| Result | ge | ge |"
    aaa = next(line for line in lines if line.startswith("| AAA"))
    want = full.to_frame().set_index("country").at["AAA", "welfare_change_pct"]
    assert aaa.split("|")[3].strip() == f"{want:.3f}"
    assert "(" in etable([_gravity()])  # estimates keep their standard errors
