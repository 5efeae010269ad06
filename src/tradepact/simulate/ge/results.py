"""Results of a GE counterfactual: per-country and per-pair tidy frames, balance decomposition.

Per-country columns (:meth:`GEResult.to_frame`), money in the baseline's units (USD millions),
nominal values in the result's numeraire (world factory-gate income held fixed, or the
reference country's price index = 1 when ``reference`` is given):

=============================  ==============================================================
``country``                    ISO3 / region code
``welfare_change_pct``         real expenditure ``Ê/P̂ − 1`` (income + rebated tariffs + deficit)
``real_gdp_change_pct``        real output ``ŵ/P̂ − 1`` (the book's "real GDP", Y/P)
``factory_price_change_pct``   ``ŵ − 1`` (factory-gate price / wage)
``price_index_change_pct``     ``P̂ − 1`` (Cobb–Douglas aggregate of sector price indices)
``output_base/new``            Y (factory-gate value of sales, domestic included)
``expenditure_base/new``       E (tariff-inclusive)
``exports_base/new``           international exports Σ_{j≠i} X_ij at pre-tariff prices
``imports_base/new``           international imports Σ_{i≠j} X_ij at pre-tariff prices
``balance_base/new/change``    exports − imports (goods balance; level change)
``tariff_revenue_base/new``    R_j
``exports_change_pct`` etc.    percent changes; ``domestic_trade_change_pct`` for X_ii
``domestic_approximated``      True where the baseline diagonal was output − exports
=============================  ==============================================================

Per pair (:meth:`GEResult.pairs`): ``exporter, importer, trade_base, trade_new,
trade_change_pct, bilateral_balance_base/new/change`` (balance of the exporter with the
importer, X_ij − X_ji). :meth:`GEResult.balance_decomposition` splits a country's total
balance change into the change with one partner and with everyone else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from tradepact.errors import ParameterError
from tradepact.results import Result, records
from tradepact.simulate.ge.baseline import Baseline


@dataclass
class SolverReport:
    """How the solve went: iterations, final max relative excess demand, residual history."""

    converged: bool
    iterations: int
    residual: float
    tol: float
    history: list[float] = field(default_factory=list)
    method: str = "fixed-point + Anderson"

    def to_dict(self) -> dict:
        return {"converged": self.converged, "iterations": self.iterations, "max_rel_excess_demand": self.residual,
                "tol": self.tol, "method": self.method}


def closure_fixes(closure: str, deficits: str) -> list[str]:
    """Outcomes a GE closure fixes by assumption (so a result must never present them as findings)."""
    if closure == "conditional":
        return ["every country's output and expenditure (no income effects)",
                "every country's total trade balance"]
    if deficits == "additive":
        return ["every country's total trade balance (each deficit held fixed in world-GDP units)"]
    return ["every country's ratio of expenditure to output, so its total trade balance moves only in "
            "proportion to its output (deficits scaled, not chosen)"]


def _pct(new, old):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(old != 0, (np.asarray(new) / old - 1.0) * 100.0, np.nan)


@dataclass(repr=False)
class GEResult(Result):
    """Outcome of :func:`tradepact.simulate.ge.solve`.

    Arrays: ``flows_base``/``flows_new`` ``(S, N, N)`` pre-tariff values; ``factory_price``
    ŵ, ``price_index`` P̂ (N,), ``sector_price_index`` (S, N); ``output``/``expenditure``/
    ``tariff_revenue`` pairs of (base, new) arrays. :meth:`to_frame` is the per-country table.
    """

    kind = "ge"

    baseline: Baseline
    closure: str
    deficits: str
    reference: str | None
    report: SolverReport
    factory_price: np.ndarray
    price_index: np.ndarray
    sector_price_index: np.ndarray
    flows_new: np.ndarray
    output_new: np.ndarray
    expenditure_new: np.ndarray
    tariff_revenue_new: np.ndarray
    flows_base: np.ndarray | None = None
    label: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        if self.flows_base is None:
            self.flows_base = self.baseline.flows

    @property
    def countries(self) -> tuple[str, ...]:
        return self.baseline.countries

    # ---- per country -------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        b = self.baseline
        n = b.n
        off = ~np.eye(n, dtype=bool)
        x0 = self.flows_base.sum(axis=0)
        x1 = self.flows_new.sum(axis=0)
        ex0, ex1 = (x0 * off).sum(axis=1), (x1 * off).sum(axis=1)
        im0, im1 = (x0 * off).sum(axis=0), (x1 * off).sum(axis=0)
        y0 = x0.sum(axis=1) if self.closure == "gegravity" else b.output
        e0 = b.expenditure
        real_inc = (self.expenditure_new / e0) / self.price_index
        frame = pd.DataFrame({
            "country": list(b.countries),
            "welfare_change_pct": (real_inc - 1) * 100,
            "real_gdp_change_pct": (self.factory_price / self.price_index - 1) * 100,
            "factory_price_change_pct": (self.factory_price - 1) * 100,
            "price_index_change_pct": (self.price_index - 1) * 100,
            "output_base": y0, "output_new": self.output_new,
            "expenditure_base": e0, "expenditure_new": self.expenditure_new,
            "exports_base": ex0, "exports_new": ex1, "exports_change_pct": _pct(ex1, ex0),
            "imports_base": im0, "imports_new": im1, "imports_change_pct": _pct(im1, im0),
            "balance_base": ex0 - im0, "balance_new": ex1 - im1, "balance_change": (ex1 - im1) - (ex0 - im0),
            "tariff_revenue_base": b.tariff_revenue, "tariff_revenue_new": self.tariff_revenue_new,
            "domestic_trade_change_pct": _pct(np.diag(x1), np.diag(x0)),
            "domestic_approximated": b.domestic_approximated.copy(),
        })
        return frame

    def pairs(self, international_only: bool = True) -> pd.DataFrame:
        """Per ordered pair: trade change and the exporter's bilateral balance with the importer."""
        n = self.baseline.n
        x0 = self.flows_base.sum(axis=0)
        x1 = self.flows_new.sum(axis=0)
        i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        c = np.asarray(self.countries)
        bal0, bal1 = x0 - x0.T, x1 - x1.T
        df = pd.DataFrame({"exporter": c[i.ravel()], "importer": c[j.ravel()],
                           "trade_base": x0.ravel(), "trade_new": x1.ravel(),
                           "trade_change_pct": _pct(x1, x0).ravel(),
                           "bilateral_balance_base": bal0.ravel(), "bilateral_balance_new": bal1.ravel(),
                           "bilateral_balance_change": (bal1 - bal0).ravel()})
        if international_only:
            df = df[df.exporter != df.importer].reset_index(drop=True)
        return df

    def balance_decomposition(self, country: str, partner: str | None = None) -> pd.DataFrame:
        """Bilateral-versus-total balance change of ``country``.

        One row per partner (``partner`` column, balance of ``country`` with it: base, new,
        change) plus a ``TOTAL`` row; when ``partner`` is given, also a ``REST`` row (all other
        partners together), so that ``partner + REST = TOTAL``.
        """
        b = self.baseline
        k = b.index(country)
        p = self.pairs()
        mine = p[p.exporter == country][["importer", "bilateral_balance_base", "bilateral_balance_new",
                                         "bilateral_balance_change"]]
        mine = mine.rename(columns={"importer": "partner", "bilateral_balance_base": "balance_base",
                                    "bilateral_balance_new": "balance_new",
                                    "bilateral_balance_change": "balance_change"}).reset_index(drop=True)
        tot = self.to_frame().iloc[k]
        rows = [mine]
        if partner is not None:
            b.index(partner)
            rest = mine[mine.partner != partner][["balance_base", "balance_new", "balance_change"]].sum()
            rows.append(pd.DataFrame([{"partner": "REST", **rest.to_dict()}]))
            rows[0] = mine[mine.partner == partner]
        rows.append(pd.DataFrame([{"partner": "TOTAL", "balance_base": tot.balance_base,
                                   "balance_new": tot.balance_new, "balance_change": tot.balance_change}]))
        out = pd.concat(rows, ignore_index=True)
        out.insert(0, "country", country)
        return out

    def fixed_outcomes(self) -> list[str]:
        """What the closure this result ran under holds fixed — outcomes that are assumptions, not findings."""
        return closure_fixes(self.closure, self.deficits)

    def pair_split(self, exporter: str, importer: str, touched: Sequence[str]) -> dict[str, float]:
        """The change in one pair's trade split into the sectors a shock touches and the rest (USD m).

        Returns ``touched_base/change``, ``untouched_base/change``, ``total_change`` and
        ``income_bound``: in an untouched sector (no tariff or cost change) the flow moves only
        through prices and income, ``X̂_ijs = ŵ_i^{-θ_s} P̂_js^{θ_s} Ê_j``, and since each ``P̂_js``
        lies between the smallest and largest ``ŵ_k``,
        ``|ln X̂_ijs| ≤ 2 θ_s max_k |ln ŵ_k| + |ln Ê_j|``; ``income_bound`` is that bound in USD
        millions summed over the untouched sectors. So the pair's fall never exceeds
        ``touched_base + income_bound``.
        """
        b = self.baseline
        i, j = b.index(exporter), b.index(importer)
        unknown = [s for s in touched if s not in b.sectors]
        if unknown:
            raise ParameterError("touched", f"unknown sector(s) {unknown}; sectors: {', '.join(b.sectors)}")
        mask = np.array([s in touched for s in b.sectors])
        x0, x1 = self.flows_base[:, i, j], self.flows_new[:, i, j]
        w = np.abs(np.log(self.factory_price)).max()
        e = abs(np.log(self.expenditure_new[j] / b.expenditure[j]))
        logb = 2.0 * b.theta * w + e
        bound = float((x0 * np.expm1(logb))[~mask].sum())
        return {"touched_base": float(x0[mask].sum()), "touched_change": float((x1 - x0)[mask].sum()),
                "untouched_base": float(x0[~mask].sum()), "untouched_change": float((x1 - x0)[~mask].sum()),
                "total_change": float((x1 - x0).sum()), "income_bound": bound}

    # ---- rendering ---------------------------------------------------------------
    def summary(self, top: int = 10) -> str:
        f = self.to_frame().sort_values("welfare_change_pct")
        lines = [f"GE counterfactual{(' — ' + self.label) if self.label else ''}: closure={self.closure}, "
                 f"deficits={self.deficits}, baseline={self.baseline.kind}, N={self.baseline.n}, "
                 f"S={len(self.baseline.sectors)}, θ={np.round(self.baseline.theta, 3).tolist()}",
                 "fixed by the closure (assumptions, not findings): " + "; ".join(self.fixed_outcomes()),
                 f"solver: {self.report.iterations} iterations, max relative excess demand "
                 f"{self.report.residual:.2e} (tol {self.report.tol:g})"]
        if self.baseline.domestic_approximated.any():
            lines.append("note: " + "; ".join(self.baseline.notes))
        show = pd.concat([f.head(top // 2), f.tail(top - top // 2)]).drop_duplicates("country")
        cols = ["country", "welfare_change_pct", "real_gdp_change_pct", "exports_change_pct", "balance_change"]
        lines.append(show[cols].to_string(index=False, float_format=lambda v: f"{v:,.4f}"))
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """``kind``, closure, deficits, what the closure holds fixed, reference, baseline kind, label,
        solver report, notes, and the per-country (``countries``) and per-pair (``pairs``) tables as records."""
        return {"kind": self.kind, "closure": self.closure, "deficits": self.deficits,
                "fixed_by_closure": self.fixed_outcomes(), "reference": self.reference,
                "baseline": self.baseline.kind, "label": self.label, "solver": self.report.to_dict(),
                "notes": list(self.baseline.notes),
                "countries": records(self.to_frame()), "pairs": records(self.pairs())}

    def gegravity_frame(self) -> pd.DataFrame:
        """Country results under gegravity 0.3's column labels (closure='gegravity' only)."""
        if self.closure != "gegravity":
            raise ParameterError("closure", "gegravity_frame() is only defined for closure='gegravity'")
        return self.extra["gegravity"]
