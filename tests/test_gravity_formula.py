"""fixest formulas on formulaic, against pyfixest run in the test (the oracle).

Real data: the AGTPA chapter-1 panel (Yotov et al. 2016), 1986–2006 every 4 years.
Tolerance: coefficients 1e-6 relative, standard errors 1e-6 relative, same names and order as
pyfixest prints them (observed agreement ~1e-9).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

pf = pytest.importorskip("pyfixest")

from tradepact.errors import ConfigError, DataFormatError  # noqa: E402
from tradepact.gravity import etable, ols, parse_formula, ppml  # noqa: E402
from tradepact.gravity.formula import expand_formula  # noqa: E402
from tradepact.gravity.results import MultipleResults  # noqa: E402

RTOL = 1e-6
FE = "exp_year + imp_year"


@pytest.fixture(scope="module")
def agtpa(agtpa_panel) -> pd.DataFrame:
    return agtpa_panel.copy()


@pytest.fixture(scope="module")
def intl(agtpa) -> pd.DataFrame:
    return agtpa[agtpa["intl"] == 1].reset_index(drop=True)


def _peer(fn, fml, data, **kw):
    """pyfixest's fit with tight tolerances (its defaults stop ~1e-5 short of ours on PPML, and its
    fixed-effect demeaning at 1e-8 leaves ~1e-6 noise in clustered SEs)."""
    kw.setdefault("fixef_tol", 1e-12)
    if fn is pf.fepois:
        kw.setdefault("iwls_tol", 1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(fml, data=data, **kw)


def _close(ours, peer):
    assert list(ours.params.index) == [str(t).replace("np.", "") for t in peer.coef().index]
    np.testing.assert_allclose(ours.params.to_numpy(), peer.coef().to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours.bse.to_numpy(), peer.se().to_numpy(), rtol=RTOL)
    assert ours.nobs == peer._N


@pytest.mark.parametrize("ours_fml, peer_fml", [
    # the textbook gravity equation, straight from the columns
    (f"trade ~ log(dist) + cntg + lang + clny + rta | {FE}", None),
    # functions and arithmetic (pyfixest spells numpy functions np.*)
    (f"trade ~ sqrt(dist) + exp(cntg) + I(rta * lang) + I(log(dist) ** 2) | {FE}",
     f"trade ~ np.sqrt(dist) + np.exp(cntg) + I(rta * lang) + I(np.log(dist) ** 2) | {FE}"),
    # interactions between regressors
    (f"trade ~ log(dist):cntg + rta*lang | {FE}", None),
    # factor dummies and event-study interactions
    (f"trade ~ log(dist) + C(cntg) + i(year, rta, ref=1986) | {FE}", None),
    ("trade ~ i(year, rta, ref=1986) | exp_year + imp_year + pair_id", None),
    ("trade ~ rta + i(year, cntg, ref=2006) | exp_year + imp_year + pair_id", None),
])
def test_ppml_formulas_match_pyfixest(intl, ours_fml, peer_fml):
    ours = ppml(intl, ours_fml, vcov={"CRV1": "pair_id"})
    _close(ours, _peer(pf.fepois, peer_fml or ours_fml, intl, vcov={"CRV1": "pair_id"}))


def test_factor_dummies_without_fixed_effects_and_ols_of_logs(intl):
    fml = "trade ~ log(dist) + C(year) + i(cntg, ref=0)"
    _close(ppml(intl, fml, vcov="hetero"), _peer(pf.fepois, fml, intl, vcov="hetero"))
    pos = intl[intl["trade"] > 0]
    fml = f"log(trade) ~ log(dist) + cntg + lang + clny + rta | {FE}"
    _close(ols(pos, fml, vcov={"CRV1": "pair_id"}), _peer(pf.feols, fml, pos, vcov={"CRV1": "pair_id"}))


def test_log_of_zero_is_counted_not_hidden(intl):
    """OLS on log(trade) with zero flows: those rows are dropped and counted (fixest drops them too)."""
    fml = f"log(trade) ~ log(dist) + rta | {FE}"
    with pytest.warns(UserWarning, match="rows where log\\(trade\\) is not finite"):
        ours = ols(intl, fml, vcov="hetero")
    peer = _peer(pf.feols, fml, intl[intl["trade"] > 0], vcov="hetero")
    _close(ours, peer)
    assert ours.dropped["missing"] == int((intl["trade"] == 0).sum())


@pytest.mark.parametrize("fml", [f"trade ~ sw(rta, log(dist)) | {FE}", f"trade ~ cntg + csw(rta, log(dist), lang) | {FE}",
                                 f"trade ~ csw0(rta, lang) | {FE}"])
def test_multiple_estimation_matches_pyfixest(intl, fml):
    ours = ppml(intl, fml, vcov={"CRV1": "pair_id"})
    peer = _peer(pf.fepois, fml, intl, vcov={"CRV1": "pair_id"})
    models = list(peer.all_fitted_models.values())
    assert isinstance(ours, MultipleResults) and len(ours) == len(models)
    for o, p in zip(ours, models):
        _close(o, p)
    table = etable(ours, format="markdown")
    assert table.count("|") > 10 and "(3)" in table if len(ours) == 3 else "(2)" in table
    assert set(ours.to_frame()["model"]) <= set(range(1, len(ours) + 1))
    assert ours.to_dict()["kind"] == "gravity_multiple"


def test_fixed_effects_alone_need_tilde_one(intl):
    with pytest.raises(ConfigError, match="no regressor after '~'; write 'y ~ 1 [|] fe'"):
        ppml(intl, f"trade ~ | {FE}")
    only = ppml(intl, f"trade ~ 1 | {FE}", vcov="hetero")
    assert len(only.params) == 0
    peer = _peer(pf.fepois, f"trade ~ 1 | {FE}", intl, vcov="hetero")
    # same fixed-effects-only fit: fitted means agree
    np.testing.assert_allclose(only.fitted.to_numpy(), np.asarray(peer.predict(type="response")), rtol=1e-6)


def test_parsing_is_strict():
    f = parse_formula("trade ~ log(dist) + a*b + i(year, rta, ref=1986) | exp_year + exporter^importer")
    assert f.regressors == ["log(dist)", "a", "b", "i(year, rta, ref=1986)", "a:b"]
    assert f.columns() == ["trade", "dist", "a", "b", "year", "rta", "exp_year", "exporter", "importer"]
    assert [g.text for g in expand_formula("y ~ x + csw0(a, b) | fe")] == [
        "y ~ x | fe", "y ~ x + a | fe", "y ~ x + a + b | fe"]
    for bad, says in [("y ~ __import__('os').system('x')", "unknown function"),
                      ("y ~ open('x')", "unknown function open()"),
                      ("y ~ x.real", "not a column"),
                      ("y ~ x - z", "removes a term"),
                      ("y ~ sw(a, b) + csw(c, d)", "one sw()/csw()"),
                      ("y ~ sw(a, b)", "sw()/csw() asks for 2 models")]:
        with pytest.raises(ConfigError, match=r"formula .*" + says.replace("(", r"\(").replace(")", r"\)")):
            parse_formula(bad)


def test_several_reference_levels(intl):
    r = ppml(intl, "trade ~ i(year, rta, ref=[1986, 1990]) | exp_year + imp_year + pair_id", vcov="hetero")
    assert list(r.params.index) == [f"year::{y}:rta" for y in (1994, 1998, 2002, 2006)]


def test_bad_data_in_a_formula_names_the_column(intl):
    with pytest.raises(DataFormatError, match="column 'distance' not found"):
        ppml(intl, f"trade ~ log(distance) | {FE}")
    with pytest.raises(ConfigError, match="ref=1987 is not a value"):
        ppml(intl, f"trade ~ i(year, rta, ref=1987) | {FE}")
    bad = intl.assign(dist=intl["dist"].astype(str).where(intl.index != 4, "far"))
    with pytest.raises(DataFormatError, match="row 5, field 'dist'"):
        ppml(bad, f"trade ~ log(dist) | {FE}")
