"""tradepact.gravity against pyfixest (the oracle), run inside the tests.

Tolerance: coefficients and standard errors agree to 1e-6 relative on the same sample
and small-sample convention (observed agreement is ~1e-9 or better).
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

pf = pytest.importorskip("pyfixest")

from tradepact.gravity import ols, ppml  # noqa: E402

RTOL = 1e-6


@pytest.fixture(scope="module")
def agtpa(agtpa_panel) -> pd.DataFrame:
    return agtpa_panel.copy()


def _close(ours, peer_coef, peer_se):
    assert list(ours.params.index) == list(peer_coef.index)
    np.testing.assert_allclose(ours.params.to_numpy(), peer_coef.to_numpy(), rtol=RTOL)
    np.testing.assert_allclose(ours.bse.to_numpy(), peer_se.to_numpy(), rtol=RTOL)


@pytest.mark.parametrize("vcov", ["iid", "hetero", {"CRV1": "pair_id"}, {"CRV1": "exporter+importer"}])
def test_ppml_pair_fe_matches_pyfixest(agtpa, vcov):
    fml = "trade ~ rta + rta_lag4 + rta_lag8 | exp_year + imp_year + pair_id"
    ours = ppml(agtpa, fml, vcov=vcov)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = pf.fepois(fml, data=agtpa, vcov=vcov)
    assert ours.nobs == peer._N == 28482
    assert ours.dropped == {"fe_all_zero": 84}
    _close(ours, peer.coef(), peer.se())


def test_ppml_stata_convention_matches_pyfixest_ml_ssc(agtpa):
    """ssc='stata' (G/(G-1) only) equals pyfixest with ssc(k_adj=False, G_adj=True)."""
    fml = "trade ~ rta | exp_year + imp_year + pair_id"
    ours = ppml(agtpa, fml, vcov={"CRV1": "pair_id"}, ssc="stata")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = pf.fepois(fml, data=agtpa, vcov={"CRV1": "pair_id"}, ssc=pf.ssc(k_adj=False, G_adj=True))
    _close(ours, peer.coef(), peer.se())


@pytest.mark.parametrize("vcov", ["iid", "hetero", {"CRV1": "pair_id"}])
def test_ols_fe_and_ppml_without_fe_match_pyfixest(agtpa, vcov):
    intl = agtpa[agtpa["exporter"] != agtpa["importer"]]
    fml = "ln_trade ~ ln_dist + cntg + lang + clny + rta | exp_year + imp_year"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = ols(intl, fml, vcov=vcov)
        peer = pf.feols(fml, data=intl, vcov=vcov)
        assert ours.nobs == peer._N
        _close(ours, peer.coef(), peer.se())
        fml0 = "trade ~ ln_dist + cntg + lang + clny"
        ours0 = ppml(intl, fml0, vcov=vcov)
        peer0 = pf.fepois(fml0, data=intl, vcov=vcov)
    _close(ours0, peer0.coef(), peer0.se())


def _synthetic(n_c=12, T=6, seed=3):
    rng = np.random.default_rng(seed)
    rows = [(e, i, t) for e in range(n_c) for i in range(n_c) for t in range(T)]
    df = pd.DataFrame(rows, columns=["e", "i", "t"])
    df["pair"] = np.minimum(df.e, df.i) * 100 + np.maximum(df.e, df.i)
    df["exp_year"], df["imp_year"] = df.e * 100 + df.t, df.i * 100 + df.t
    df["x"] = rng.normal(size=len(df))
    df["rta"] = (rng.random(len(df)) < 0.3).astype(float)
    df["w"] = rng.uniform(0.5, 2.0, len(df))
    df["off"] = rng.normal(0, 0.3, len(df))
    mu = np.exp(0.3 * df.x + 0.5 * df.rta + 0.1 * df.e - 0.05 * df.i + df.off)
    df["y"] = rng.poisson(mu * 3)
    return df


def test_weights_and_offset_match_pyfixest():
    df = _synthetic()
    fml = "y ~ x + rta | exp_year + imp_year + pair"
    ours = ppml(df, fml, vcov={"CRV1": "pair"}, weights="w", offset="off")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = pf.fepois(fml, data=df, vcov={"CRV1": "pair"}, weights="w", offset="off")
    assert ours.nobs == peer._N
    _close(ours, peer.coef(), peer.se())
    ours_ols = ols(df, "x ~ rta | exp_year + imp_year", vcov="hetero", weights="w")
    peer_ols = pf.feols("x ~ rta | exp_year + imp_year", data=df, vcov="hetero", weights="w")
    _close(ours_ols, peer_ols.coef(), peer_ols.se())


def test_fixef_recovery_reproduces_fitted_values(agtpa):
    res = ppml(agtpa, "trade ~ rta | exp_year + imp_year + pair_id")
    fe = res.fixef()
    assert set(fe) == {"exp_year", "imp_year", "pair_id"}
    kept = agtpa.loc[res.fitted.index]
    eta = (res.params["rta"] * kept["rta"].to_numpy() + fe["exp_year"].reindex(kept["exp_year"]).to_numpy()
           + fe["imp_year"].reindex(kept["imp_year"]).to_numpy() + fe["pair_id"].reindex(kept["pair_id"]).to_numpy())
    np.testing.assert_allclose(np.exp(eta), res.fitted.to_numpy(), rtol=1e-7)
    # normalisation: first level of every FE after the first is exactly 0
    assert fe["imp_year"].iloc[0] == 0.0 and fe["pair_id"].iloc[0] == 0.0
    # Poisson first-order conditions: fitted totals equal observed totals in every FE group
    tot = kept.assign(fit=res.fitted).groupby("exp_year")[["trade", "fit"]].sum()
    np.testing.assert_allclose(tot["fit"], tot["trade"], rtol=1e-6)


def test_lincom_delta_method(agtpa):
    res = ppml(agtpa, "trade ~ rta + rta_lag4 + rta_lag8 | exp_year + imp_year + pair_id")
    est, se = res.lincom({"rta": 1, "rta_lag4": 1, "rta_lag8": 1})
    assert est == pytest.approx(res.params.sum(), rel=1e-12)
    V = res.vcov.to_numpy()
    assert se == pytest.approx(np.sqrt(V.sum()), rel=1e-12)
    est2, se2 = res.lincom({"rta_lag8": 2})
    assert est2 == pytest.approx(2 * res.params["rta_lag8"]) and se2 == pytest.approx(2 * res.bse["rta_lag8"])


def test_singletons_dropped_like_pyfixest():
    df = _synthetic(n_c=10, T=3, seed=5)
    df = df.sample(frac=0.6, random_state=1).reset_index(drop=True)  # unbalanced: creates singletons
    df["yr"] = df["t"]
    fml = "y ~ x + rta | pair + exp_year"
    ours = ppml(df, fml, vcov="hetero", drop_singletons=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = pf.fepois(fml, data=df, vcov="hetero", fixef_rm="singleton")
    assert ours.dropped.get("singleton", 0) > 0
    assert ours.nobs == peer._N
    np.testing.assert_allclose(ours.params.to_numpy(), peer.coef().to_numpy(), rtol=RTOL)


def test_fixed_effects_are_exact_for_tiny_flows(shared_data):
    """Fixed effects of pairs with tiny flows are polished to the exact Poisson FOCs: the default
    fit's FE equal those of a fit at tol=1e-12 (deviance-based IRLS alone leaves them loose)."""
    df = pd.read_csv(shared_data / "agtpa_applications" / "agtpa_applications.csv")
    df = df[df["year"].isin(range(1986, 2007, 4))].copy()
    df["pair"] = np.where(df.exporter == df.importer, "DOMESTIC", df.pair_id.astype(str))
    df["exp_year"], df["imp_year"] = df.exporter + df.year.astype(str), df.importer + df.year.astype(str)
    f = "trade ~ rta | pair + exp_year + imp_year"
    a, b = ppml(df, f), ppml(df, f, tol=1e-12)
    ga, gb = a.fixef()["pair"], b.fixef()["pair"]
    np.testing.assert_allclose((ga - ga["DOMESTIC"]).to_numpy(), (gb - gb["DOMESTIC"]).to_numpy(), atol=1e-7)
    kept = df.loc[a.fitted.index].assign(mu=a.fitted)
    tot = kept.groupby("pair")[["trade", "mu"]].sum()
    assert np.abs(np.log(tot["mu"] / tot["trade"])).max() < 1e-8


def test_fixed_effects_start_changes_the_path_not_the_estimate(agtpa, monkeypatch):
    """IRLS from the closed-form fixed-effects start (default) and from the textbook start
    μ = (y + ȳ)/2 converge to the same estimate (1e-9 relative; SEs, which use the last IRLS weights, 1e-6), the former
    in fewer iterations."""
    import tradepact.gravity.engine as m

    fml = "trade ~ rta + rta_lag4 | exp_year + imp_year + pair_id"
    fast = ppml(agtpa, fml)
    monkeypatch.setattr(m, "START_SWEEPS", 0)
    slow = ppml(agtpa, fml)
    np.testing.assert_allclose(fast.params.to_numpy(), slow.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(fast.bse.to_numpy(), slow.bse.to_numpy(), rtol=RTOL)  # final weights differ at tol
    assert fast.iterations < slow.iterations


def test_extreme_offset_falls_back_to_the_textbook_start():
    """exp(offset) overflows in the fixed-effects start: the fit still converges, to pyfixest's estimate."""
    df = _synthetic()
    df["off"] = df["off"] + 800.0  # exp(800) = inf
    fml = "y ~ x + rta | exp_year + imp_year + pair"
    ours = ppml(df, fml, vcov={"CRV1": "pair"}, offset="off")
    base = ppml(df.assign(off=df["off"] - 800.0), fml, vcov={"CRV1": "pair"}, offset="off")
    # a constant offset only shifts the fixed effects
    np.testing.assert_allclose(ours.params.to_numpy(), base.params.to_numpy(), rtol=1e-7)


def test_four_way_fixed_effects_on_eurostat_match_pyfixest(shared_data, demean_kernels):
    """fixest's Eurostat trade data (38,325 rows, no zeros): four absorbed dimensions
    Origin + Destination + Product + Year, hetero and Origin^Destination-clustered SE."""
    df = pd.read_parquet(shared_data / "fixest_eurostat_trade" / "trade.parquet")
    df["ln_dist"] = np.log(df["dist_km"])
    df["pair"] = df["Origin"] + df["Destination"]
    fml = "Euros ~ ln_dist | Origin + Destination + Product + Year"
    for ours_vcov, peer_vcov in [("hetero", "hetero"), ({"CRV1": "Origin^Destination"}, {"CRV1": "pair"})]:
        ours = ppml(df, fml, vcov=ours_vcov)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            peer = pf.fepois(fml, data=df, vcov=peer_vcov)
        assert ours.nobs == peer._N == 38325
        _close(ours, peer.coef(), peer.se())
