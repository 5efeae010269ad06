"""Formula parsing, bad input, results rendering and the ``tradepact estimate`` CLI."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tradepact.errors import ConfigError, DataFormatError, NotConvergedError
from tradepact.gravity import coefplot, etable, ols, parse_formula, ppml


def _panel(seed=0, n_c=8, T=4):
    rng = np.random.default_rng(seed)
    rows = [(e, i, t) for e in range(n_c) for i in range(n_c) for t in range(T)]
    df = pd.DataFrame(rows, columns=["e", "i", "year"])
    df["exporter"] = "C" + df.e.astype(str)
    df["importer"] = "C" + df.i.astype(str)
    df["pair_id"] = np.minimum(df.e, df.i) * 100 + np.maximum(df.e, df.i)
    df["exp_year"] = df.exporter + df.year.astype(str)
    df["imp_year"] = df.importer + df.year.astype(str)
    df["RTA"] = ((df.e + df.i) % 3 == 0) & (df.year >= 2) & (df.e != df.i)
    df["RTA"] = df["RTA"].astype(float)
    df["RTA_LAG4"] = (((df.e + df.i) % 3 == 0) & (df.year >= 3) & (df.e != df.i)).astype(float)
    df["trade"] = rng.poisson(np.exp(1 + 0.4 * df.RTA + 0.1 * df.e), len(df)).astype(float)
    return df


def test_parse_formula():
    f = parse_formula("trade ~ RTA + RTA_LAG4 + a:b | exp_year + imp_year + exporter^importer")
    assert f.depvar == "trade" and f.regressors == ["RTA", "RTA_LAG4", "a:b"]
    assert f.fixed_effects == ["exp_year", "imp_year", "exporter^importer"]
    assert f.columns() == ["trade", "RTA", "RTA_LAG4", "a", "b", "exp_year", "imp_year", "exporter", "importer"]
    assert parse_formula("y ~ 1").regressors == [] and parse_formula("y ~ x | 0").fixed_effects == []
    for bad in ["y = x", "y ~ x +", "y ~ x | a | b", "y ~ | a", "y ~ os.system(x)", "y + z ~ x"]:
        with pytest.raises(ConfigError):
            parse_formula(bad)


def test_bad_input_errors():
    df = _panel()
    with pytest.raises(DataFormatError, match="'RTB'") as ei:
        ppml(df, "trade ~ RTB | exp_year")
    assert ei.value.field == "RTB"
    with pytest.raises(DataFormatError, match="imp_yr"):
        ppml(df, "trade ~ RTA | imp_yr")
    neg = df.copy()
    neg.loc[5, "trade"] = -1.0
    with pytest.raises(DataFormatError, match="row 6") as ei:
        ppml(neg, "trade ~ RTA | exp_year")
    assert ei.value.field == "trade"
    nan = df.copy()
    nan.loc[[3, 4], "trade"] = np.nan
    with pytest.warns(UserWarning, match="2 rows have a missing dependent variable"):
        r = ppml(nan, "trade ~ RTA | exp_year + imp_year", vcov="hetero")
    assert r.dropped["missing"] == 2
    txt = df.assign(RTA=df.RTA.astype(str).where(df.index != 7, "yes"))
    with pytest.raises(DataFormatError, match="row 8"):
        ppml(txt, "trade ~ RTA | exp_year")
    # a regressor constant within a fixed effect is omitted with a warning naming it
    with pytest.warns(UserWarning, match="e_const"):
        r = ppml(df.assign(e_const=df.e * 1.0), "trade ~ RTA + e_const | exp_year + imp_year", vcov="hetero")
    assert r.omitted == ["e_const"] and list(r.params.index) == ["RTA"]
    # a cluster variable with one group
    with pytest.raises(ConfigError, match="single group"):
        ppml(df.assign(one=1), "trade ~ RTA | exp_year", vcov={"CRV1": "one"})
    with pytest.raises(ConfigError, match="not a column"):
        ppml(df, "trade ~ RTA | exp_year", cluster="nope", vcov="cluster")
    with pytest.raises(ConfigError):
        ppml(df, "trade ~ RTA | exp_year", vcov="bootstrap")
    # non-convergence is raised, never returned
    with pytest.raises(NotConvergedError, match="did not converge"):
        ppml(df, "trade ~ RTA | exp_year + imp_year", maxiter=2)
    with pytest.raises(DataFormatError, match="usable"):
        ppml(df.assign(trade=0.0), "trade ~ RTA | exp_year")


def test_default_vcov_and_results_rendering():
    df = _panel()
    r = ppml(df, "trade ~ RTA + RTA_LAG4 | exp_year + imp_year + pair_id")
    assert r.vcov_type == "CRV1 by pair_id"  # default: cluster by pair_id when present
    assert ppml(df.drop(columns="pair_id"), "trade ~ RTA | exp_year").vcov_type.startswith("hetero")
    t = r.to_frame()
    assert list(t.columns) == ["term", "estimate", "se", "statistic", "p_value", "conf_low", "conf_high"]
    assert np.allclose(t["conf_high"] - t["estimate"], 1.959963985 * t["se"])
    # inference and log-likelihood without SciPy, against SciPy (1e-12 relative)
    from scipy import special, stats

    np.testing.assert_allclose(r.pvalues, 2 * stats.norm.sf(np.abs(r.params / r.bse)), rtol=1e-12)
    np.testing.assert_allclose(r.conf_int(0.9)["upper"], r.params + stats.norm.ppf(0.95) * r.bse, rtol=1e-12)
    fit = r._fit.refined()
    ref = np.sum(-fit.mu + np.where(fit.design.y > 0, fit.design.y * np.log(fit.mu), 0) - special.gammaln(fit.design.y + 1))
    assert r.loglik == pytest.approx(ref, rel=1e-12)
    d = json.loads(r.to_json())
    assert set(d["coefficients"]["RTA"]) == {"estimate", "se"}
    for key in ("nobs", "dropped", "converged", "iterations"):
        assert key in d
    assert d["converged"] is True and d["nobs"] == r.nobs
    o = ols(df.assign(lt=np.log1p(df.trade)), "lt ~ RTA | exp_year + imp_year")
    md = etable([r, o], names=["PPML", "OLS"])
    assert md.splitlines()[0] == "|  | PPML | OLS |"
    assert f"{r.params['RTA']:.3f}" in md and f"({r.bse['RTA']:.3f})" in md and "FE: pair_id" in md
    tex = etable([r, o], format="latex")
    assert tex.startswith(r"\begin{tabular}{lcc}") and r"RTA\_LAG4" in tex and tex.rstrip().endswith(r"\end{tabular}")
    html = r._repr_html_()
    assert "<table" in html and "RTA_LAG4" in html
    assert "PPML estimation" in r.summary() and "RTA" in r.summary()
    fig = coefplot([r, o], names=["PPML", "OLS"])
    assert len(fig.data) == 2 and list(fig.data[0].y) == ["RTA", "RTA_LAG4"]
    with pytest.raises(ConfigError):
        etable([r], format="docx")
    with pytest.raises(ConfigError, match="lincom"):
        r.lincom({"NOPE": 1})


def test_cli_estimate(tmp_path, capsys):
    from tradepact.cli import main

    df = _panel()
    f = tmp_path / "panel.csv"
    df.to_csv(f, index=False)
    code = main(["estimate", str(f), "--formula", "trade ~ RTA | exp_year + imp_year + pair_id",
                 "--where", "year in (1, 2, 3)", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    d = json.loads(out)
    ref = ppml(df[df.year.isin([1, 2, 3])], "trade ~ RTA | exp_year + imp_year + pair_id")
    assert d["coefficients"]["RTA"]["estimate"] == pytest.approx(ref.params["RTA"], rel=1e-10)
    assert d["coefficients"]["RTA"]["se"] == pytest.approx(ref.bse["RTA"], rel=1e-10)
    assert d["nobs"] == ref.nobs and d["converged"] is True and isinstance(d["iterations"], int)
    pq = tmp_path / "panel.parquet"
    df.to_parquet(pq)
    assert main(["estimate", str(pq), "-f", "trade ~ RTA | exp_year", "--format", "latex", "--cluster", "pair_id"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out
    assert main(["estimate", str(f), "-f", "trade ~ RTA | exp_year"]) == 0
    assert "RTA" in capsys.readouterr().out
    assert main(["estimate", str(f), "-f", "trade ~ NOPE | exp_year"]) == 2
    assert "NOPE" in capsys.readouterr().err
    assert main(["estimate", str(f), "-f", "trade ~ RTA", "--where", "yearz > 1"]) == 2
    assert main(["estimate", str(tmp_path / "missing.csv"), "-f", "trade ~ RTA"]) == 2
    capsys.readouterr()
    # several models (csw) as JSON: one document with each model's coefficients
    assert main(["estimate", str(pq), "-f", "trade ~ csw(RTA, RTA_LAG4) | exp_year + imp_year", "--format", "json"]) == 0
    models = json.loads(capsys.readouterr().out)["models"]
    assert [sorted(m["coefficients"]) for m in models] == [["RTA"], ["RTA", "RTA_LAG4"]]


def test_cli_estimate_from_ledger_store(tmp_path, capsys, shared_data):
    """End to end: the AGTPA panel imported into a ledger store, estimated with ``ledger:`` DATA."""
    from tradepact.cli import main
    from tradepact.ledger.store import LedgerStore

    store = LedgerStore.open(tmp_path / "store")
    store.import_files("gravity-panel", [shared_data / "agtpa_applications" / "agtpa_applications.csv"])
    from tradepact.gravity.panel import panel_from_store

    p = panel_from_store(store)
    assert len(p) == 99981 and {"trade", "rta", "pair_id", "dist"} <= set(p.columns)
    code = main(["estimate", "ledger:", "--store", str(tmp_path / "store"), "-f",
                 "trade ~ rta | exp_year + imp_year + pair_id", "--where", "year in (1986,1990,1994,1998,2002,2006)",
                 "--ssc", "stata", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0
    d = json.loads(out)
    # the book's pair-FE estimate, 0.557 (0.102), from the store
    assert round(d["coefficients"]["rta"]["estimate"], 3) == 0.557 and round(d["coefficients"]["rta"]["se"], 3) == 0.102
    assert d["nobs"] == 28482 and d["dropped"] == {"fe_all_zero": 84}
    with pytest.raises(DataFormatError, match="no rows"):
        panel_from_store(store, dataset="nope")
