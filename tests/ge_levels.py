"""Test helper: the full-endowment equilibrium in levels (an independent formulation).

Anderson–Yotov: multilateral resistances with updated output and expenditure, factory-gate
prices from Y_i/Y = (β_i p_i Π_i)^{1-σ} with β calibrated at the baseline, P_ref = 1,
multiplicative deficits E' = κ φ Y'. Solved with scipy's hybrid Newton on log p; no code
shared with tradepact.simulate.ge.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import root


def full_endowment_levels(T0, T1, Y, E, sigma, ref):
    """Independent formulation in levels (Anderson–Yotov): MRs with updated Y', E'; factory-gate
    prices p from Y_i/Y = (β_i p_i Π_i)^{1-σ}; P_ref = 1. Multiplicative deficits E' = κ φ Y'."""
    n = len(Y)

    def mrs(T, y, e):
        A, B = np.ones(n), np.ones(n)  # A = Π^{1-σ}, B = P^{1-σ}
        for _ in range(100000):
            A_new = T @ (e / B)
            B_new = T.T @ (y / A_new)
            A_new, B_new = A_new * B_new[ref], B_new / B_new[ref]
            if np.max(np.abs(A_new / A - 1)) < 1e-14 and np.max(np.abs(B_new / B - 1)) < 1e-14:
                return A_new, B_new
            A, B = A_new, B_new
        return A, B

    yw = Y.sum()
    A0, B0 = mrs(T0, Y / yw, E / yw)
    beta = (Y / yw) / A0  # β^{1-σ} with p = 1
    phi = E / Y

    def state(lp):
        p = np.exp(lp)
        y1 = p * Y
        e1 = phi * y1 * y1.sum() / (phi * y1).sum()
        A1, B1 = mrs(T1, y1 / y1.sum(), e1 / y1.sum())
        return p, y1, e1, A1, B1

    def F(lp):
        p, y1, e1, A1, B1 = state(lp)
        return (1 - sigma) * lp + np.log(beta * A1) - np.log(y1 / y1.sum())

    sol = root(F, np.zeros(n), method="hybr", tol=1e-12)
    assert np.max(np.abs(F(sol.x))) < 1e-10
    p, y1, e1, A1, B1 = state(sol.x)
    X1 = T1 * np.outer(y1, e1) / y1.sum() / np.outer(A1, B1)
    P_hat = (B1 / B0) ** (1 / (1 - sigma))
    return p, P_hat, X1
