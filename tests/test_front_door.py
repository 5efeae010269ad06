"""The front door: ``tradepact.<name>`` loads its engine lazily, is documented in numpydoc style,
and ``ppml``/``ols`` take ``formula=`` and ``data=`` like pyfixest."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import tradepact

NAMES = ["ppml", "ols", "simulate_pe", "run_scenario", "solve_ge", "expost", "load_agreement", "LedgerStore"]


def test_import_tradepact_loads_no_engine():
    code = ("import sys, tradepact; print(' '.join(sorted(m for m in sys.modules if m.startswith('tradepact.') "
            "and m != 'tradepact.errors')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


@pytest.mark.parametrize("name", NAMES)
def test_front_door_names_are_documented(name):
    obj = getattr(tradepact, name)
    assert name in dir(tradepact) and name in tradepact.__all__
    doc = obj.__doc__ or ""
    for section in ("Parameters\n", "Returns\n", "Raises\n"):
        assert section in doc, f"tradepact.{name}: no numpydoc {section.strip()} section"


def test_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'pmml'"):
        tradepact.pmml  # noqa: B018


def test_ppml_takes_formula_and_data_keywords():
    from tradepact.gravity import ppml as engine_ppml

    rng = np.random.default_rng(7)
    n = 10
    e, i = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    df = pd.DataFrame({"exporter": e.ravel(), "importer": i.ravel()})
    df["ln_dist"] = rng.normal(size=len(df))
    df["trade"] = rng.poisson(np.exp(1.5 - 0.7 * df["ln_dist"]))
    fml = "trade ~ ln_dist | exporter + importer"
    want = engine_ppml(df, fml).params
    for res in (tradepact.ppml(formula=fml, data=df), tradepact.ppml(fml, df), tradepact.ppml(df, fml)):
        pd.testing.assert_series_equal(res.params, want)
    ols = tradepact.ols(formula="ln_dist ~ trade | exporter", data=df)
    assert ols.kind == "gravity"
    with pytest.raises(tradepact.ConfigError, match="data: expected a pandas DataFrame"):
        tradepact.ppml(formula=fml, data=[1, 2])


def test_expost_front_door_on_the_builtin_panel():
    """tradepact.expost on the built-in panel gives the directional KORUS term pyfixest.fepois gives on the
    same data (-0.18329, issue #14; tests/test_expost.py compares the engine to pyfixest at 1e-6)."""
    res = tradepact.expost("KORUS", "USA")
    terms = res.to_dict()["terms"]
    assert terms["exports"]["estimate"] == pytest.approx(-0.18329, abs=5e-6)
    assert terms["imports"]["estimate"] == pytest.approx(0.01619, abs=5e-6)
