"""GE engine: analytic checks (zero shock, symmetric two-country, adding up, Walras,
additive deficits) and bad input. Tolerances are stated per assertion."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tradepact.errors import ConfigError, DataFormatError, NotConvergedError
from tradepact.simulate.ge import Baseline, Economy, Shock, solve


def random_world(n=8, s=1, seed=0, tariffs=False, imbalanced=True):
    rng = np.random.default_rng(seed)
    x = rng.lognormal(0, 1.5, (s, n, n))
    x[:, np.arange(n), np.arange(n)] *= 40
    if not imbalanced:  # symmetric matrix → balanced trade
        x = (x + x.transpose(0, 2, 1)) / 2
    t = rng.uniform(0, 0.15, (s, n, n)) if tariffs else None
    if t is not None:
        t[:, np.arange(n), np.arange(n)] = 0
    c = [f"C{k}" for k in range(n)]
    return Baseline.from_matrix(x, c, theta=np.linspace(3, 8, s) if s > 1 else 5.0, tariffs=t,
                                sectors=[f"s{k}" for k in range(s)])


@pytest.mark.parametrize("closure", ["full", "conditional"])
@pytest.mark.parametrize("deficits", ["multiplicative", "additive"])
@pytest.mark.parametrize("sectors,tariffs", [(1, False), (3, True)])
def test_zero_shock_gives_zero_change(closure, deficits, sectors, tariffs):
    b = random_world(s=sectors, tariffs=tariffs)
    r = solve(b, Shock.none(), closure=closure, deficits=deficits)
    f = r.to_frame()
    for col in ["welfare_change_pct", "real_gdp_change_pct", "exports_change_pct", "imports_change_pct",
                "price_index_change_pct", "balance_change"]:
        assert np.max(np.abs(f[col])) < 1e-9, col  # exact up to rounding
    np.testing.assert_allclose(r.flows_new, b.flows, rtol=1e-10)


def test_symmetric_two_countries_match_closed_form():
    # two identical countries, domestic share λ, symmetric iceberg cut: ŵ = 1 and
    # P̂^{-θ} = λ + (1-λ) τ̂^{-θ}; welfare Ŵ = 1/P̂ = λ̂^{-1/θ} (ACR).
    lam, theta, dln = 0.8, 4.0, 0.3
    x = np.array([[lam, 1 - lam], [1 - lam, lam]]) * 100.0
    b = Baseline.from_matrix(x, ["AAA", "BBB"], theta=theta)
    lc = np.array([[0, dln], [dln, 0]])
    r = solve(b, Shock.from_costs(lc), closure="full")
    np.testing.assert_allclose(r.factory_price, [1, 1], atol=1e-12)
    phat = (lam + (1 - lam) * np.exp(dln)) ** (-1 / theta)
    f = r.to_frame()
    np.testing.assert_allclose(f.welfare_change_pct, (1 / phat - 1) * 100, rtol=1e-10)
    lam_new = lam / (lam + (1 - lam) * np.exp(dln))
    np.testing.assert_allclose(f.welfare_change_pct, ((lam_new / lam) ** (-1 / theta) - 1) * 100, rtol=1e-10)
    np.testing.assert_allclose(f.exports_change_pct, ((1 - lam_new) / (1 - lam) - 1) * 100, rtol=1e-10)


def test_asymmetric_two_country_tariff_analytic_terms_of_trade():
    # a tariff imposed by a large country on a small one lowers the small one's relative wage
    x = np.array([[900.0, 10.0], [10.0, 90.0]])
    b = Baseline.from_matrix(x, ["BIG", "SML"], theta=5.0)
    s = Shock.bilateral_tariffs(b, {("SML", "BIG"): 0.25})
    r = solve(b, s, closure="full", deficits="additive")
    assert r.factory_price[1] < r.factory_price[0]
    f = r.to_frame().set_index("country")
    assert f.at["BIG", "tariff_revenue_new"] > 0
    # optimal-tariff logic: the big country gains, the small one loses
    assert f.at["BIG", "welfare_change_pct"] > 0 > f.at["SML", "welfare_change_pct"]


@pytest.mark.parametrize("deficits", ["multiplicative", "additive"])
def test_world_trade_adds_up_and_markets_clear(deficits):
    b = random_world(n=10, s=4, tariffs=True, seed=3)
    rng = np.random.default_rng(1)
    lc = rng.normal(0, 0.2, (4, 10, 10))
    t1 = b.tariffs * rng.uniform(0, 2, b.tariffs.shape)
    r = solve(b, Shock(log_cost_change=lc, tariffs=t1), deficits=deficits)
    x1 = r.flows_new
    # each exporter's sales = its output; each importer's purchases = E' − R' (rel. 1e-9)
    np.testing.assert_allclose(x1.sum(axis=(0, 2)), r.output_new, rtol=1e-9)
    np.testing.assert_allclose(x1.sum(axis=(0, 1)), r.expenditure_new - r.tariff_revenue_new, rtol=1e-9)
    np.testing.assert_allclose((x1 * t1).sum(axis=(0, 1)), r.tariff_revenue_new, rtol=1e-9)
    # world: Σ Y' = Σ (E' − R') and the numeraire holds world factory-gate income
    assert abs(r.output_new.sum() / b.output.sum() - 1) < 1e-12
    assert abs((r.expenditure_new - r.tariff_revenue_new).sum() / r.output_new.sum() - 1) < 1e-9
    f = r.to_frame()
    assert abs(f.balance_new.sum()) < 1e-6 * f.exports_new.sum()
    assert r.report.converged and r.report.residual <= 1e-10


def test_walras_law_holds_off_equilibrium():
    b = random_world(n=9, s=3, tariffs=True, seed=5)
    e = Economy(b, Shock(log_cost_change=np.random.default_rng(2).normal(0, .3, (3, 9, 9))))
    w = np.random.default_rng(3).uniform(0.5, 2, 9)
    for deficits in ("multiplicative", "additive"):
        st = e.evaluate(w, deficits)
        assert abs(np.sum(st["Y1"] * st["Z"])) < 1e-9 * st["Y1"].sum()


def test_additive_deficits_keep_total_balances_but_move_bilateral_ones():
    b = random_world(n=8, seed=7)
    s = Shock.bilateral_tariffs(b, {("C1", "C0"): 0.25})
    r = solve(b, s, closure="full", deficits="additive")
    f = r.to_frame()
    np.testing.assert_allclose(f.balance_new, f.balance_base, atol=1e-7 * f.exports_base.max())
    np.testing.assert_allclose(f.balance_base, -b.deficit, rtol=1e-9, atol=1e-9)
    d = r.balance_decomposition("C0", "C1")
    bil = d.loc[d.partner == "C1", "balance_change"].item()
    rest = d.loc[d.partner == "REST", "balance_change"].item()
    tot = d.loc[d.partner == "TOTAL", "balance_change"].item()
    assert bil > 1e-3  # C0 imports less from C1: its bilateral balance with C1 improves
    assert abs(tot) < 1e-7 and abs(bil + rest - tot) < 1e-9
    # multiplicative deficits: total balances move with output
    rm = solve(b, s, closure="full", deficits="multiplicative").to_frame()
    assert np.max(np.abs(rm.balance_change)) > 1e-6


def test_identical_sectors_equal_one_sector():
    b1 = random_world(n=7, seed=11)
    shares = np.array([0.2, 0.5, 0.3])
    b3 = Baseline.from_matrix(b1.flows[0][None] * shares[:, None, None], b1.countries, theta=5.0)
    lc = np.zeros((7, 7))
    lc[2, 4] = lc[4, 2] = 0.4
    r1 = solve(b1, Shock.from_costs(lc)).to_frame()
    r3 = solve(b3, Shock.from_costs(lc)).to_frame()
    np.testing.assert_allclose(r3.welfare_change_pct, r1.welfare_change_pct, rtol=1e-8, atol=1e-10)


def test_sector_specific_elasticities_matter():
    b = random_world(n=6, s=2, seed=4)
    lc = np.zeros((2, 6, 6))
    lc[:, 0, 1] = 0.5
    r = solve(b, Shock(log_cost_change=lc))
    assert r.sector_price_index.shape == (2, 6)
    assert not np.allclose(r.sector_price_index[0], r.sector_price_index[1])


def test_reference_normalization_keeps_real_values():
    b = random_world(n=6, seed=9)
    lc = np.zeros((6, 6))
    lc[0, 3] = 0.7
    a = solve(b, Shock.from_costs(lc)).to_frame()
    r = solve(b, Shock.from_costs(lc), reference="C2")
    f = r.to_frame()
    assert abs(r.price_index[2] - 1) < 1e-12
    np.testing.assert_allclose(f.real_gdp_change_pct, a.real_gdp_change_pct, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(f.welfare_change_pct, a.welfare_change_pct, rtol=1e-9, atol=1e-11)


def test_result_outputs_render():
    b = random_world(n=5)
    r = solve(b, Shock.bilateral_tariffs(b, {("C1", "C2"): 0.1}))
    import json

    d = json.loads(r.to_json())
    assert d["solver"]["converged"] and len(d["countries"]) == 5 and len(d["pairs"]) == 20
    assert "C1" in r.summary()
    assert set(r.pairs().columns) >= {"trade_change_pct", "bilateral_balance_change"}


# ---- bad input -------------------------------------------------------------------------
def test_negative_flow_is_rejected_with_location():
    df = pd.DataFrame({"exporter": ["A", "A", "B", "B"], "importer": ["A", "B", "A", "B"],
                       "trade": [10, -1, 2, 10]})
    with pytest.raises(DataFormatError) as e:
        Baseline.from_frame(df, theta=5, file="x.csv")
    assert "x.csv" in str(e.value) and "row 2" in str(e.value) and "trade" in str(e.value)


def test_missing_flow_and_missing_pair_are_rejected():
    df = pd.DataFrame({"exporter": ["A", "A", "B", "B"], "importer": ["A", "B", "A", "B"],
                       "trade": [10, None, 2, 10]})
    with pytest.raises(DataFormatError, match="row 2"):
        Baseline.from_frame(df, theta=5)
    with pytest.raises(DataFormatError, match="every ordered pair"):
        Baseline.from_frame(df.dropna(), theta=5)


def test_zero_expenditure_country_is_rejected():
    x = np.array([[10.0, 0.0], [5.0, 0.0]])
    with pytest.raises(DataFormatError, match="expenditure"):
        Baseline.from_matrix(x, ["A", "B"], theta=4)


@pytest.mark.parametrize("theta", [0, -2, np.nan])
def test_nonpositive_elasticity_is_rejected(theta):
    with pytest.raises(ConfigError, match="θ"):
        Baseline.from_matrix(np.eye(2) * 5 + 1, ["A", "B"], theta=theta)


def test_shock_naming_unknown_country_is_rejected():
    b = random_world(n=3)
    with pytest.raises(ConfigError, match="unknown country 'XXX'"):
        Shock.bilateral_tariffs(b, {("XXX", "C1"): 0.1})
    with pytest.raises(ConfigError, match="unknown country"):
        solve(b, Shock.none(), reference="ZZZ")


def test_bad_options_and_nonconvergence_raise():
    b = random_world(n=5)
    with pytest.raises(ConfigError):
        solve(b, closure="partial")
    with pytest.raises(ConfigError):
        solve(b, deficits="none")
    lc = np.zeros((5, 5))
    lc[0, 1] = 2.0
    with pytest.raises(NotConvergedError, match="did not converge"):
        solve(b, Shock.from_costs(lc), max_iter=2)


def test_output_minus_exports_diagonal_is_flagged_and_checked():
    df = pd.DataFrame({"exporter": ["A", "B", "C", "A", "B", "C"], "importer": ["B", "C", "A", "C", "A", "B"],
                       "trade": [10.0, 5, 3, 2, 1, 4]})
    b = Baseline.from_international(df, {"A": 100, "B": 50, "C": 40}, theta=4)
    assert b.domestic_approximated.all() and "output − exports" in b.notes[0]
    assert b.flows[0, 0, 0] == 100 - 12
    r = solve(b, Shock.bilateral_tariffs(b, {("A", "B"): 0.1}))
    assert r.to_frame().domestic_approximated.all()
    with pytest.raises(DataFormatError, match="output larger than total exports"):
        Baseline.from_international(df, {"A": 5, "B": 50, "C": 40}, theta=4)


@pytest.mark.parametrize("deficits", ["multiplicative", "additive"])
def test_real_wage_obeys_acr_domestic_share_formula(deficits):
    # Arkolakis–Costinot–Rodríguez-Clare (multi-sector, Cobb–Douglas, no IO):
    # ŵ_j/P̂_j = Π_s λ̂_jjs^{-α_js/θ_s}, λ = own-trade share; exact for any shock that leaves
    # domestic costs and domestic tariffs unchanged (here: iceberg + foreign tariffs), any deficits.
    b = random_world(n=9, s=3, tariffs=True, seed=21)
    rng = np.random.default_rng(4)
    lc = rng.normal(0, 0.4, (3, 9, 9))
    lc[:, np.arange(9), np.arange(9)] = 0
    t1 = b.tariffs * rng.uniform(0, 3, b.tariffs.shape)
    r = solve(b, Shock(log_cost_change=lc, tariffs=t1), deficits=deficits)
    d = np.arange(9)
    x0, x1 = b.flows, r.flows_new
    lam0 = x0[:, d, d] * (1 + b.tariffs[:, d, d]) / (x0 * (1 + b.tariffs)).sum(axis=1)
    lam1 = x1[:, d, d] * (1 + t1[:, d, d]) / (x1 * (1 + t1)).sum(axis=1)
    alpha = (x0 * (1 + b.tariffs)).sum(axis=1)
    alpha = alpha / alpha.sum(axis=0)
    acr = np.prod((lam1 / lam0) ** (-alpha / b.theta[:, None]), axis=0)
    np.testing.assert_allclose(r.factory_price / r.price_index, acr, rtol=1e-9)
