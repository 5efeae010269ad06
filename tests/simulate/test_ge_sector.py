"""Sector-true GE shocks: a two-sector toy economy against an independent solution of the stated
equations (scipy.optimize.root), the income-effect bound, and the KORUS car tariff invariant.

Independent model (written out here, not calling the engine): countries i, j; sectors s with θ_s;
baseline tariffs 0; new tariffs t'; π_ijs = X_ijs / Σ_i X_ijs; α_js = E_js / E_j;
P̂_js^-θs = Σ_i π_ijs (1+t'_ijs)^-θs ŵ_i^-θs; π'_ijs = π_ijs (1+t'_ijs)^-θs ŵ_i^-θs / P̂_js^-θs;
additive deficits with world factory-gate income fixed (Σ ŵ_i Y_i = Σ Y_i): I'_j = ŵ_j Y_j + D_j;
E'_j = I'_j / (1 − Σ_s α_js Σ_i π'_ijs t'_ijs/(1+t'_ijs)); market clearing
ŵ_i Y_i = Σ_{j,s} π'_ijs α_js E'_j / (1+t'_ijs). Tolerance: 1e-8 relative on every flow.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import root

from tradepact.simulate.ge import Shock, solve
from tradepact.simulate.ge.baseline import Baseline, split_sector

# sector 0 "other", sector 1 "cars"; exporter rows, importer columns
X = np.array([[[500.0, 60.0], [40.0, 300.0]],
              [[80.0, 30.0], [10.0, 50.0]]])
THETA = np.array([4.0, 6.0])


def independent(X, theta, t1):
    S, N, _ = X.shape
    E_s = X.sum(axis=1)                      # (S, N)
    E = E_s.sum(axis=0)
    Y = X.sum(axis=(0, 2))
    D = E - Y
    pi = X / E_s[:, None, :]
    alpha = E_s / E
    th = theta[:, None, None]
    c = (1 + t1) ** (-th)

    def state(w):
        num = pi * c * (w[None, :, None] ** (-th))
        pi1 = num / num.sum(axis=1, keepdims=True)
        rho = (alpha * (pi1 * t1 / (1 + t1)).sum(axis=1)).sum(axis=0)
        E1 = (w * Y + D) / (1 - rho)
        flows = pi1 * (alpha * E1)[:, None, :] / (1 + t1)
        return flows

    def F(logw):
        w = np.exp(logw)
        flows = state(w)
        clearing = flows.sum(axis=(0, 2)) / (w * Y) - 1
        return np.r_[clearing[:-1], (w * Y).sum() / Y.sum() - 1]

    sol = root(F, np.zeros(N), method="hybr", options={"xtol": 1e-13})
    assert np.max(np.abs(F(sol.x))) < 1e-12, sol.message
    w = np.exp(sol.x)
    return w, state(w)


def test_two_sector_toy_against_independent_solution():
    base = Baseline.from_matrix(X, ["A", "B"], theta=THETA, sectors=["other", "cars"])
    shock = Shock.bilateral_tariffs(base, {("A", "B"): 0.25}, sector="cars")
    r = solve(base, shock, closure="full", deficits="additive", tol=1e-13)
    t1 = np.zeros_like(X)
    t1[1, 0, 1] = 0.25
    w, flows = independent(X, THETA, t1)
    np.testing.assert_allclose(r.factory_price, w, rtol=1e-8)
    np.testing.assert_allclose(r.flows_new, flows, rtol=1e-8)
    # only the car sector is taxed: A's other-goods sales to B move by prices and incomes only
    split = r.pair_split("A", "B", ["cars"])
    assert split["touched_change"] < 0
    assert abs(split["untouched_change"]) <= split["income_bound"]
    assert -split["total_change"] <= split["touched_base"] + split["income_bound"]
    # the same tariff spread over all of A's sales to B as an equivalent taxes the other sector too
    spread = solve(base, Shock.bilateral_tariffs(base, {("A", "B"): 0.25 * 30 / 90}), closure="full",
                   deficits="additive", tol=1e-13)
    assert spread.flows_new[0, 0, 1] < X[0, 0, 1] and spread.flows_new[0, 0, 1] < r.flows_new[0, 0, 1]


def test_split_sector_keeps_every_cell_total():
    one = Baseline.from_matrix(X.sum(axis=0), ["A", "B"], theta=5.0)
    two = split_sector(one, "cars", {("A", "B"): 30.0}, share=0.1)
    assert two.sectors == ("other", "cars")
    np.testing.assert_allclose(two.flows.sum(axis=0), one.flows[0], rtol=1e-15)
    assert two.flows[1, 0, 1] == 30.0 and two.flows[1, 1, 0] == pytest.approx(0.1 * 50.0)
    assert "cars" in two.notes[-1] and "10.0%" in two.notes[-1]
    with pytest.raises(Exception, match="between 0 and the pair's total flow"):
        split_sector(one, "cars", {("A", "B"): 1e6}, share=0.1)


@pytest.mark.parametrize("theta", [3.0, 5.0, 8.0])
def test_korus_car_tariff_touches_cars_only(theta):
    from tradepact.simulate.ge.world8 import korus_scenarios, world8_baseline

    base = world8_baseline(2016, theta)
    sc = {s.key: s for s in korus_scenarios(base)}["car_tariff"]
    assert sc.touched == ("cars",) and sc.baseline.sectors == ("other", "cars")
    r = solve(sc.baseline, sc.shock, closure="full", deficits="additive")
    split = r.pair_split("KOR", "USA", sc.touched)
    assert split["touched_base"] == 15580.0
    # the invariant: the fall in US imports from Korea never exceeds the trade the tariff touches plus the
    # general-equilibrium income effect, and that effect stays within its stated bound
    assert abs(split["untouched_change"]) <= split["income_bound"]
    assert -split["total_change"] <= split["touched_base"] + split["income_bound"]
    assert -split["total_change"] < 15580.0
    # tariff revenue comes from cars only: 25% of the new car flow
    assert r.tariff_revenue_new[base.index("USA")] == pytest.approx(0.25 * r.flows_new[1, base.index("KOR"),
                                                                                            base.index("USA")], rel=1e-9)
