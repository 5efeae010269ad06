"""The book's full-endowment loop (Yotov et al. 2016 ch. 2 do-files), re-implemented to show why
its printed figures differ from the converged equilibrium.

The do-files iterate: scale last round's fitted trade by the factory-gate price changes and
the multilateral-resistance changes, re-fit a PPML with exporter and importer fixed effects
and the counterfactual trade costs as offset (= bi-proportional fitting of the costs to the
new row and column sums), update output, expenditure (E = φY) and prices, and stop when the
standard deviation and the maximum of the change in the price updates fall below 0.01.
That stopping rule is loose, and the update does not settle, so the loop ends a few rounds
in, short of the equilibrium. This module follows TradeWithoutBorder.do / RTAsEffects.do
step by step (reference importer = ``ref``, its importer effect normalized to 0).
"""
from __future__ import annotations

import numpy as np


def _ras(T, rows, cols, ref, tol=1e-14, max_iter=200_000):
    """PPML with exporter and importer effects and offset ln T on a flow matrix with these sums:
    returns (fitted, exp_pi, exp_chi) with exp_chi[ref] = 1."""
    c = np.ones(len(cols))
    for _ in range(max_iter):
        r = rows / (T @ c)
        c_new = cols / (T.T @ r)
        if np.max(np.abs(c_new / c - 1)) < tol:
            c = c_new
            break
        c = c_new
    r = rows / (T @ c)
    fitted = T * np.outer(r, c)
    return fitted, r * c[ref], c / c[ref]


def book_full_endowment(T_bln, T_cfl, X_obs, sigma: float, ref: int, tol: float = 0.01, max_rounds: int = 200):
    """Run the do-file's procedure; returns dict with Xi_BLN, Xi_CDL, Xi_FULL (international exports),
    change_pricei_FULL, rGDP_BLN, rGDP_FULL and the number of rounds."""
    Y = X_obs.sum(axis=1)
    E = X_obs.sum(axis=0)
    phi = E / Y
    n = len(Y)
    off = ~np.eye(n, dtype=bool)
    er0 = E[ref]
    bln, pi_bln, chi_bln = _ras(T_bln, Y, E, ref)
    cdl, pi_cdl, chi_cdl = _ras(T_cfl, Y, E, ref)
    imr_bln = E / (chi_bln * er0)
    # state at s = 1 (conditional) and s = 0 (baseline)
    tradehat = {1: cdl}
    exp_pi = {0: pi_bln, 1: pi_cdl}
    exp_chi = {0: chi_bln, 1: chi_cdl}
    e_r = {0: er0, 1: er0}
    y = {1: Y.copy()}
    e = {1: E.copy()}
    p_i = {0: np.zeros(n), 1: (pi_cdl / pi_bln) ** (1 / (1 - sigma))}
    omr = {1: Y * er0 / pi_cdl}
    imr = {1: E / (chi_cdl * er0)}
    d_omr = {1: np.ones(n)}
    d_imr = {1: np.ones(n)}
    s = 3
    sd_dif = max_dif = 1.0
    rounds = 0
    history: list[dict] = []
    while (sd_dif > tol or max_dif > tol) and rounds < max_rounds:
        s1, s2, s3 = s - 1, s - 2, s - 3
        trade = tradehat[s2] * np.outer(p_i[s2], p_i[s2]) / np.outer(d_omr[s2], d_imr[s2])
        fit, pi_, chi_ = _ras(T_cfl, trade.sum(axis=1), trade.sum(axis=0), ref)
        tradehat[s1] = fit
        y[s1] = fit.sum(axis=1)
        e[s1] = phi * y[s1]
        e_r[s1] = e[s1][ref]
        exp_pi[s1], exp_chi[s1] = pi_, chi_
        p_i[s1] = ((exp_pi[s1] / exp_pi[s2]) / (e_r[s1] / e_r[s2])) ** (1 / (1 - sigma))
        omr[s1] = y[s1] * e_r[s1] / exp_pi[s1]
        d_omr[s1] = omr[s1] / omr[s2]
        imr[s1] = e[s1] / (exp_chi[s1] * e_r[s1])
        d_imr[s1] = imr[s1] / imr[s2]
        dif = p_i[s2] - p_i[s3]
        # Stata summarizes the variable over all n*n pair rows (each exporter's value n times)
        sd_dif = float(np.sqrt(n * np.sum((dif - dif.mean()) ** 2) / (n * n - 1)))
        max_dif = float(abs(np.max(dif)))
        history.append({"mean": float(dif.mean()), "sd": sd_dif, "min": float(dif.min()), "max": float(dif.max())})
        s += 1
        rounds += 1
    S = s - 2
    p_full = ((exp_pi[S] / exp_pi[0]) / (e_r[S] / e_r[0])) ** (1 / (1 - sigma))
    y_full = p_full * Y
    e_full = phi * y_full
    omr_full = y_full * e_r[S] / exp_pi[S]
    imr_full = e[S] / (exp_chi[S] * e_r[S])
    x_full = np.outer(y_full, e_full) * T_cfl / np.outer(omr_full, imr_full)
    return {"Xi_BLN": (bln * off).sum(axis=1), "Xi_CDL": (cdl * off).sum(axis=1),
            "Xi_FULL": (x_full * off).sum(axis=1), "change_pricei_FULL": p_full,
            "rGDP_BLN": Y / imr_bln ** (1 / (1 - sigma)), "rGDP_FULL": y_full / imr_full ** (1 / (1 - sigma)),
            "rounds": rounds, "history": history}
