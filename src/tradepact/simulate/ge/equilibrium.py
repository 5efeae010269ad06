"""Shocks and the equilibrium equations in changes (exact hat algebra).

Model (one factor per country, Armington/Eaton–Kortum within sectors, Cobb–Douglas
across sectors; Costinot & Rodríguez-Clare 2014 without input–output links). For a
candidate vector of factory-gate price (wage) changes ``ŵ`` (N,):

* cost shifter ``c_ijs = τ̂_ijs^{-θ_s} · ((1+t'_ijs)/(1+t_ijs))^{-θ_s}``; ``τ̂^{-θ}`` is
  ``exp(Δ ln T_ijs)`` with ``ln T = Σ_k β_k z_k`` (a shock to a gravity cost variable);
* ``P̂_js^{-θ_s} = Σ_i π_ijs c_ijs ŵ_i^{-θ_s}`` and
  ``π'_ijs = π_ijs c_ijs ŵ_i^{-θ_s} / P̂_js^{-θ_s}`` (π = tariff-inclusive import shares);
* tariff revenue ``R'_j = E'_j Σ_s α_js Σ_i π'_ijs t'_ijs/(1+t'_ijs)`` is rebated to j:
  ``E'_j = I'_j / (1 − ρ_j)`` with ``I'_j`` = factor income plus the deficit, either
  *additive* ``I'_j = ŵ_j Y_j + D_j · ΣY'/ΣY`` (deficits fixed in world-GDP units) or
  *multiplicative* ``I'_j = κ φ_j ŵ_j Y_j`` with ``φ_j = (E_j − R_j)/Y_j`` and
  ``κ = ΣY'/Σφ Y'`` (the expenditure/output ratio is held; κ, equal to 1 at the baseline,
  rescales deficits so world spending equals world income — the fixed point that
  iterative solvers such as Stata ``ge_gravity`` reach);
* market clearing ``ŵ_i Y_i = Σ_{j,s} π'_ijs α_js E'_j / (1+t'_ijs)``.

The system is homogeneous of degree one in nominal variables; the solver normalizes
world factory-gate income (``Σ ŵ Y = Σ Y``) and results may be re-expressed relative to
a reference country's price index (the book's and gegravity's normalization). Walras'
law ``Σ_i ŵ_i Y_i Z_i = 0`` holds identically.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tradepact.errors import ConfigError, DataFormatError, check_choice
from tradepact.simulate.ge.baseline import Baseline


@dataclass(frozen=True)
class Shock:
    """A counterfactual: trade-cost changes and/or new tariffs.

    ``log_cost_change``: ``(S, N, N)`` or ``(N, N)`` change in ln T_ij (the gravity trade-cost
    term, ``T = t^{-θ}``), e.g. ``β · Δdummy``; positive values make trade *easier*.
    ``tariffs``: ``(S, N, N)`` or ``(N, N)`` counterfactual ad valorem tariffs (fractions) or
    None to keep the baseline tariffs.
    """

    log_cost_change: np.ndarray | None = None
    tariffs: np.ndarray | None = None
    label: str = ""

    @classmethod
    def none(cls) -> "Shock":
        return cls(label="no change")

    @classmethod
    def from_costs(cls, log_cost_change, label: str = "") -> "Shock":
        return cls(log_cost_change=np.asarray(log_cost_change, float), label=label)

    @classmethod
    def bilateral_tariffs(cls, baseline: Baseline, changes: dict[tuple[str, str], float], *,
                          sector: str | None = None, additive: bool = True, label: str = "") -> "Shock":
        """New tariffs for listed (exporter, importer) pairs; others keep the baseline rate.

        ``changes`` maps ``(exporter, importer)`` to a tariff change (``additive=True``, in
        fraction points) or to the new level (``additive=False``). ``sector`` restricts the
        change to one sector (default: all sectors). Unknown countries raise ConfigError.
        """
        t = baseline.tariffs.copy()
        ks = slice(None) if sector is None else [_sector_index(baseline, sector)]
        for (ex, im), v in changes.items():
            i, j = baseline.index(ex), baseline.index(im)
            if additive:
                t[ks, i, j] = t[ks, i, j] + v
            else:
                t[ks, i, j] = v
        if np.any(t < 0):
            raise ConfigError("a tariff change would make a tariff negative")
        return cls(tariffs=t, label=label)

    def __add__(self, other: "Shock") -> "Shock":
        lc = None
        if self.log_cost_change is not None or other.log_cost_change is not None:
            lc = (0 if self.log_cost_change is None else self.log_cost_change) + \
                 (0 if other.log_cost_change is None else other.log_cost_change)
        if self.tariffs is not None and other.tariffs is not None:
            raise ConfigError("cannot add two shocks that both set tariffs; combine the tariff arrays")
        tar = self.tariffs if self.tariffs is not None else other.tariffs
        return Shock(log_cost_change=lc, tariffs=tar, label=" + ".join(x for x in (self.label, other.label) if x))


def _sector_index(baseline: Baseline, sector: str) -> int:
    try:
        return baseline.sectors.index(sector)
    except ValueError:
        raise ConfigError(f"unknown sector {sector!r}; sectors: {', '.join(baseline.sectors)}") from None


class Economy:
    """Pre-computed arrays of a baseline + shock; evaluates the equilibrium conditions.

    All methods are vectorized over (S, N, N); no Python loops over pairs.
    """

    def __init__(self, baseline: Baseline, shock: Shock):
        b = baseline
        s, n = len(b.sectors), b.n
        self.baseline = b
        self.theta = b.theta  # (S,)
        x = b.flows
        t0 = b.tariffs
        t1 = t0 if shock.tariffs is None else _shape(shock.tariffs, (s, n, n), "tariffs")
        if np.any(~np.isfinite(t1)) or np.any(t1 < 0):
            raise DataFormatError(field="tariffs", expected="counterfactual tariffs >= 0", got="negative or missing")
        lc = np.zeros((s, n, n)) if shock.log_cost_change is None else _shape(shock.log_cost_change, (s, n, n),
                                                                                "log_cost_change")
        if not np.all(np.isfinite(lc)):
            raise DataFormatError(field="log_cost_change", expected="finite trade-cost changes", got="nan/inf")
        self.t0, self.t1, self.log_cost_change = t0, t1, lc
        self.Es = (x * (1 + t0)).sum(axis=1)  # (S, N)
        self.E = self.Es.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            self.pi = np.where(self.Es[:, None, :] > 0, x * (1 + t0) / self.Es[:, None, :], 0.0)
        self.alpha = self.Es / self.E  # (S, N)
        self.Y = x.sum(axis=(0, 2))
        self.R = (x * t0).sum(axis=(0, 1))
        self.D = self.E - self.R - self.Y
        self.phi = (self.E - self.R) / self.Y
        th = self.theta[:, None, None]
        self.shifter = self.pi * np.exp(lc) * ((1 + t1) / (1 + t0)) ** (-th)  # π_ij c_ij  (S,N,N)
        self.inv1t = 1.0 / (1 + t1)
        self.tshare = t1 / (1 + t1)
        self.theta_bar = float(np.sum(self.theta * self.Es.sum(axis=1)) / self.Es.sum())

    # -- core evaluation -------------------------------------------------------------
    def shares(self, w: np.ndarray):
        """(π' (S,N,N), P̂_s^{-θ} (S,N)) for factory-gate price changes w."""
        num = self.shifter * (w[None, :] ** (-self.theta[:, None]))[:, :, None]
        phat = num.sum(axis=1)
        return num / phat[:, None, :], phat

    def income(self, w: np.ndarray, deficits: str) -> np.ndarray:
        y1 = w * self.Y
        if deficits == "additive":
            return y1 + self.D * (y1.sum() / self.Y.sum())
        if deficits == "multiplicative":
            py = self.phi * y1
            return py * (y1.sum() / py.sum())
        check_choice("deficits", deficits, ("multiplicative", "additive"))

    def evaluate(self, w: np.ndarray, deficits: str, fixed_expenditure: bool = False):
        """Full state at ``w``: dict with pi1, phat (S,N), E1, R1, Y1, demand, Z (relative excess)."""
        pi1, phat = self.shares(w)
        rho = (self.alpha * (pi1 * self.tshare).sum(axis=1)).sum(axis=0)  # (N,)
        if fixed_expenditure:
            e1 = self.E.copy()
            y1 = self.Y.copy()
        else:
            e1 = self.income(w, deficits) / (1.0 - rho)
            y1 = w * self.Y
        spend = self.alpha * e1[None, :]  # (S, N)
        flows_pre = pi1 * spend[:, None, :] * self.inv1t  # X'_ijs at pre-tariff prices
        demand = flows_pre.sum(axis=(0, 2))
        if fixed_expenditure:
            target = y1 * (demand.sum() / y1.sum())
        else:
            target = y1
        z = demand / target - 1.0
        return {"pi1": pi1, "phat": phat, "E1": e1, "R1": rho * e1, "Y1": y1, "flows1": flows_pre,
                "demand": demand, "Z": z}


def _shape(a, shape, name):
    a = np.asarray(a, dtype=float)
    try:
        return np.broadcast_to(a, shape).copy()
    except ValueError:
        raise DataFormatError(field=name, expected=f"array broadcastable to {shape}", got=a.shape) from None
