"""Baselines for the general-equilibrium engine: the world before the shock.

A :class:`Baseline` is a complete bilateral trade matrix *including domestic flows*,
one per sector, plus the tariffs in force and the trade elasticities. Two kinds:

* **observed** (Dekle–Eaton–Kortum exact hat algebra): the counterfactual is computed in
  changes relative to the observed matrix (e.g. ITPD-E, or international flows plus a
  domestic diagonal approximated as output − exports, see :meth:`Baseline.from_international`).
  A zero flow stays zero in every counterfactual (hat algebra has no extensive margin); use a
  fitted baseline when zero or missing flows should respond to trade costs.
* **fitted** (GEPPML, Yotov et al. 2016 ch. 2; gegravity): the model's own fitted flows
  ``X_ij = T_ij · exp(a_i + b_j)`` with ``T_ij = exp(Σ_k β_k z_ijk)`` (= t_ij^{-θ}) and the
  exporter/importer terms chosen so that rows sum to output and columns to expenditure
  (:meth:`Baseline.fitted`).

Units and shapes
----------------
``flows`` is an ``(S, N, N)`` array of values in USD millions at *pre-tariff* (customs /
factory-gate) prices, exporter ``i`` on axis 1 and importer ``j`` on axis 2. ``tariffs``
has the same shape, ad valorem fractions (0.08 = 8%). Importer ``j``'s spending on goods
from ``i`` is ``flows · (1 + tariffs)``. ``theta`` has shape ``(S,)``: the trade
elasticity θ_s = σ_s − 1 > 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError, DataFormatError, NotConvergedError, check_choice

DOMESTIC_APPROX_NOTE = ("domestic flows approximated as output − exports (only international flows "
                        "and output were known); results for flagged countries rest on that approximation")


def _as_theta(theta, n_sectors: int) -> np.ndarray:
    th = np.atleast_1d(np.asarray(theta, dtype=float))
    if th.size == 1 and n_sectors > 1:
        th = np.repeat(th, n_sectors)
    if th.shape != (n_sectors,):
        raise ConfigError(f"theta: expected one trade elasticity or one per sector ({n_sectors}), got {th.size}")
    if not np.all(np.isfinite(th)) or np.any(th <= 0):
        raise ConfigError(f"theta: the trade elasticity must be > 0 (θ = σ − 1), got {th.tolist()}")
    return th


@dataclass(frozen=True)
class Baseline:
    """The baseline world: flows ``(S, N, N)``, tariffs ``(S, N, N)``, elasticities ``(S,)``.

    Build one with :meth:`from_frame`, :meth:`from_matrix`, :meth:`from_international`
    or :meth:`fitted` rather than directly; the constructor validates shapes and values.
    """

    countries: tuple[str, ...]
    flows: np.ndarray
    theta: np.ndarray
    tariffs: np.ndarray | None = None
    sectors: tuple[str, ...] = ("all",)
    kind: str = "observed"
    domestic_approximated: np.ndarray | None = None  # (N,) bool
    log_trade_costs: np.ndarray | None = None  # (S, N, N) ln T_ij = Σ β z (fitted baselines)
    output_shares: np.ndarray | None = None  # (N,) Y_i/ΣY as given (gegravity closure)
    notes: tuple[str, ...] = field(default_factory=tuple)
    source: str = ""

    def __post_init__(self):
        flows = np.asarray(self.flows, dtype=float)
        if flows.ndim == 2:
            flows = flows[None]
        n = len(self.countries)
        if flows.ndim != 3 or flows.shape[1:] != (n, n):
            raise DataFormatError(field="flows", expected=f"array of shape (S, {n}, {n})", got=flows.shape)
        if len(set(self.countries)) != n:
            dup = pd.Series(self.countries)[pd.Series(self.countries).duplicated()].tolist()
            raise DataFormatError(field="countries", expected="unique country codes", got=dup)
        s = flows.shape[0]
        if len(self.sectors) != s:
            object.__setattr__(self, "sectors", tuple(f"s{k}" for k in range(s)) if s > 1 else ("all",))
        if not np.all(np.isfinite(flows)):
            k, i, j = np.argwhere(~np.isfinite(flows))[0]
            raise DataFormatError(field="trade", row=None, expected="finite flows (no missing values)",
                                  got=f"{flows[k, i, j]} for {self.countries[i]}>{self.countries[j]}")
        if np.any(flows < 0):
            k, i, j = np.argwhere(flows < 0)[0]
            raise DataFormatError(field="trade", expected="flows >= 0",
                                  got=f"{flows[k, i, j]:.6g} for {self.countries[i]}>{self.countries[j]}")
        tar = np.zeros_like(flows) if self.tariffs is None else np.broadcast_to(
            np.asarray(self.tariffs, dtype=float), flows.shape).copy()
        if not np.all(np.isfinite(tar)) or np.any(tar < 0):
            raise DataFormatError(field="tariffs", expected="ad valorem fractions >= 0", got="negative or missing")
        object.__setattr__(self, "flows", flows)
        object.__setattr__(self, "tariffs", tar)
        object.__setattr__(self, "theta", _as_theta(self.theta, s))
        check_choice("kind", self.kind, ("observed", "fitted"))
        dom = np.zeros(n, bool) if self.domestic_approximated is None else np.asarray(self.domestic_approximated, bool)
        object.__setattr__(self, "domestic_approximated", dom)
        e = self.expenditure
        if np.any(e <= 0):
            bad = [c for c, v in zip(self.countries, e) if v <= 0]
            raise DataFormatError(field="expenditure", expected="every country's expenditure > 0", got=bad)
        y = self.output
        if np.any(y <= 0):
            bad = [c for c, v in zip(self.countries, y) if v <= 0]
            raise DataFormatError(field="output", expected="every country's output > 0", got=bad)
        # every sector a country spends on must have at least one supplier with a positive flow
        es = self.sector_expenditure
        if np.any(np.isclose(es.sum(axis=0), 0)):
            raise DataFormatError(field="trade", expected="each country buys something", got="a zero column")

    # ---- derived baseline quantities (all vectorized) -------------------------------
    @property
    def n(self) -> int:
        return len(self.countries)

    @property
    def output(self) -> np.ndarray:
        """Y_i: sales at factory-gate prices, summed over sectors and destinations (N,)."""
        return self.flows.sum(axis=(0, 2))

    @property
    def sector_expenditure(self) -> np.ndarray:
        """E_js: tariff-inclusive spending of importer j in sector s, shape (S, N)."""
        return (self.flows * (1.0 + self.tariffs)).sum(axis=1)

    @property
    def expenditure(self) -> np.ndarray:
        """E_j: tariff-inclusive expenditure (N,)."""
        return self.sector_expenditure.sum(axis=0)

    @property
    def tariff_revenue(self) -> np.ndarray:
        """R_j = Σ_s Σ_i t_ijs X_ijs (N,)."""
        return (self.flows * self.tariffs).sum(axis=(0, 1))

    @property
    def deficit(self) -> np.ndarray:
        """D_j = E_j − R_j − Y_j: spending financed from abroad (N,). Sums to 0 by construction."""
        return self.expenditure - self.tariff_revenue - self.output

    @property
    def total_flows(self) -> np.ndarray:
        """Flows summed over sectors (N, N)."""
        return self.flows.sum(axis=0)

    def index(self, code: str) -> int:
        try:
            return self.countries.index(code)
        except ValueError:
            raise ConfigError(f"unknown country {code!r}; the baseline has {len(self.countries)} countries "
                              f"({', '.join(self.countries[:8])}{', …' if self.n > 8 else ''})") from None

    def to_frame(self) -> pd.DataFrame:
        """Long frame: sector, exporter, importer, trade, tariff."""
        s, n = len(self.sectors), self.n
        k, i, j = np.meshgrid(np.arange(s), np.arange(n), np.arange(n), indexing="ij")
        c = np.asarray(self.countries)
        return pd.DataFrame({"sector": np.asarray(self.sectors)[k.ravel()], "exporter": c[i.ravel()],
                             "importer": c[j.ravel()], "trade": self.flows.ravel(),
                             "tariff": self.tariffs.ravel()})

    def with_tariffs(self, tariffs: np.ndarray) -> "Baseline":
        """A copy with other baseline tariffs (same flows)."""
        return Baseline(countries=self.countries, flows=self.flows, theta=self.theta, tariffs=tariffs,
                        sectors=self.sectors, kind=self.kind, domestic_approximated=self.domestic_approximated,
                        log_trade_costs=self.log_trade_costs, output_shares=self.output_shares,
                        notes=self.notes, source=self.source)

    # ---- constructors ------------------------------------------------------------------
    @classmethod
    def from_matrix(cls, flows, countries: Sequence[str], theta, tariffs=None, sectors=None,
                    source: str = "") -> "Baseline":
        """An observed baseline from an ``(N, N)`` or ``(S, N, N)`` array (exporter rows)."""
        flows = np.asarray(flows, dtype=float)
        if flows.ndim == 2:
            flows = flows[None]
        sectors = tuple(sectors) if sectors is not None else (("all",) if flows.shape[0] == 1 else
                                                              tuple(f"s{k}" for k in range(flows.shape[0])))
        return cls(countries=tuple(countries), flows=flows, theta=theta, tariffs=tariffs, sectors=sectors,
                   source=source)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, theta, *, exporter: str = "exporter", importer: str = "importer",
                   value: str = "trade", sector: str | None = None, tariff: str | None = None,
                   file: str | None = None) -> "Baseline":
        """An observed baseline from a long frame with one row per (sector,) exporter, importer.

        Every ordered pair (domestic included) must be present once per sector; flows must be
        finite and ≥ 0. Errors name the file, 1-based row and field.
        """
        matrices = _pivot(frame, exporter, importer, value, sector, tariff, file)
        countries, sectors, flows, tariffs = matrices
        return cls(countries=countries, flows=flows, theta=theta, tariffs=tariffs, sectors=sectors,
                   source=str(file or ""))

    @classmethod
    def from_international(cls, frame: pd.DataFrame, output: pd.Series | dict, theta, *,
                           exporter: str = "exporter", importer: str = "importer", value: str = "trade",
                           tariff: str | None = None, file: str | None = None,
                           output_label: str = "output") -> "Baseline":
        """One-sector observed baseline from international flows and each country's output.

        The diagonal is approximated as ``X_ii = output_i − Σ_{j≠i} X_ij`` (output − exports);
        every country is flagged ``domestic_approximated`` and a note is attached. Raises
        :class:`DataFormatError` when exports exceed output for a country.
        """
        f = frame[frame[exporter] != frame[importer]]
        countries, sectors, flows, tariffs = _pivot(f, exporter, importer, value, None, tariff, file,
                                                    allow_missing_diagonal=True)
        out = pd.Series(output, dtype=float)
        missing = [c for c in countries if c not in out.index]
        if missing:
            raise DataFormatError(file=file, field=output_label, expected="output for every country", got=missing)
        y = out.reindex(list(countries)).to_numpy(float)
        x = flows[0]
        np.fill_diagonal(x, 0.0)
        dom = y - x.sum(axis=1)
        if np.any(dom <= 0):
            bad = {c: round(float(d), 3) for c, d in zip(countries, dom) if d <= 0}
            raise DataFormatError(file=file, field=output_label, expected="output larger than total exports",
                                  got=bad, message="domestic flow = output − exports would be ≤ 0")
        np.fill_diagonal(x, dom)
        return cls(countries=countries, flows=x[None], theta=theta, tariffs=tariffs, sectors=("all",),
                   domestic_approximated=np.ones(len(countries), bool),
                   notes=(DOMESTIC_APPROX_NOTE + f" ({output_label})",), source=str(file or ""))

    @classmethod
    def fitted(cls, log_trade_costs, countries: Sequence[str], theta, output=None, expenditure=None,
               tariffs=None, tol: float = 1e-13, max_iter: int = 100_000, source: str = "") -> "Baseline":
        """The structural-gravity model's own flows (GEPPML / gegravity baseline).

        ``log_trade_costs``: ``(N, N)`` ln T_ij = Σ_k β_k z_ijk (= −θ ln t_ij). ``output`` Y_i and
        ``expenditure`` E_j (N,). Flows are ``T_ij · r_i · c_j`` with row sums ``Y_i · ΣE/ΣY``
        and column sums ``E_j`` (bi-proportional fitting, i.e. the solution of the multilateral
        resistance system; gegravity uses the same output *shares*). Converges to ``tol``
        relative, else raises :class:`NotConvergedError`.
        """
        lt = np.asarray(log_trade_costs, dtype=float)
        n = len(countries)
        if lt.shape != (n, n):
            raise DataFormatError(field="trade costs", expected=f"({n}, {n}) matrix", got=lt.shape)
        if not np.all(np.isfinite(lt)):
            raise DataFormatError(field="trade costs", expected="finite cost variables", got="missing values")
        y = np.asarray(output, dtype=float)
        e = np.asarray(expenditure, dtype=float)
        for name, v in (("output", y), ("expenditure", e)):
            if v.shape != (n,) or not np.all(np.isfinite(v)) or np.any(v <= 0):
                bad = [c for c, x in zip(countries, np.broadcast_to(v, (n,))) if not (np.isfinite(x) and x > 0)]
                raise DataFormatError(field=name, expected=f"{n} positive values", got=bad or v.shape)
        rows = y * e.sum() / y.sum()
        t = np.exp(lt - lt.max())
        c = np.ones(n)
        for _ in range(max_iter):
            r = rows / (t @ c)
            c = e / (t.T @ r)
            err = np.max(np.abs(r * (t @ c) / rows - 1.0))
            if err <= tol:
                break
        else:
            raise NotConvergedError(f"fitted baseline: bi-proportional fitting did not reach {tol:g} "
                                    f"in {max_iter} iterations (last error {err:.2e})")
        flows = t * r[:, None] * c[None, :]
        return cls(countries=tuple(countries), flows=flows[None], theta=theta, tariffs=tariffs, kind="fitted",
                   log_trade_costs=lt[None], output_shares=y / y.sum(), source=source)


def codes(series: pd.Series) -> np.ndarray:
    """Country codes normalized (strip, upper case) once per distinct value, not per row."""
    idx, uniq = pd.factorize(series, sort=False)
    norm = pd.Index(uniq).astype(str).str.strip().str.upper().to_numpy(object)
    return norm[idx]


def _pivot(frame: pd.DataFrame, exporter: str, importer: str, value: str, sector: str | None,
           tariff: str | None, file, allow_missing_diagonal: bool = False):
    """Long frame → (countries, sectors, flows (S,N,N), tariffs (S,N,N) or None), validated."""
    cols = [exporter, importer, value] + ([sector] if sector else []) + ([tariff] if tariff else [])
    for c in cols:
        if c not in frame.columns:
            raise DataFormatError(file=file, field=c, expected=f"a column named {c!r}",
                                  got=sorted(map(str, frame.columns))[:12])
    df = frame.reset_index(drop=True)
    v = pd.to_numeric(df[value], errors="coerce")
    bad = v.isna() | ~np.isfinite(v.to_numpy(float, na_value=np.nan))
    if bad.any():
        r = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataFormatError(file=file, row=r + 1, field=value, expected="a number >= 0", got=df[value].iloc[r])
    neg = v < 0
    if neg.any():
        r = int(np.flatnonzero(neg.to_numpy())[0])
        raise DataFormatError(file=file, row=r + 1, field=value, expected="a number >= 0", got=float(v.iloc[r]))
    ex = pd.Series(codes(df[exporter]), index=df.index)
    im = pd.Series(codes(df[importer]), index=df.index)
    countries = tuple(sorted(set(ex) | set(im)))
    sec = df[sector].astype(str) if sector else pd.Series("all", index=df.index)
    sectors = tuple(sorted(set(sec))) if sector else ("all",)
    key = pd.DataFrame({"s": sec, "i": ex, "j": im})
    dup = key.duplicated()
    if dup.any():
        r = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataFormatError(file=file, row=r + 1, field=f"{exporter}/{importer}",
                              expected="one row per pair", got=f"duplicate {ex.iloc[r]}>{im.iloc[r]}")
    ci = {c: k for k, c in enumerate(countries)}
    si = {s: k for k, s in enumerate(sectors)}
    n, s = len(countries), len(sectors)
    flows = np.full((s, n, n), np.nan)
    kk, ii, jj = sec.map(si).to_numpy(), ex.map(ci).to_numpy(), im.map(ci).to_numpy()
    flows[kk, ii, jj] = v.to_numpy(float)
    tar = None
    if tariff:
        t = pd.to_numeric(df[tariff], errors="coerce").fillna(0.0).to_numpy(float)
        if np.any(t < 0):
            r = int(np.flatnonzero(t < 0)[0])
            raise DataFormatError(file=file, row=r + 1, field=tariff, expected="a fraction >= 0", got=t[r])
        tar = np.zeros((s, n, n))
        tar[kk, ii, jj] = t
    missing = np.isnan(flows)
    if allow_missing_diagonal:
        missing[:, np.arange(n), np.arange(n)] = False
        flows[:, np.arange(n), np.arange(n)] = 0.0
    if missing.any():
        k, i, j = np.argwhere(missing)[0]
        raise DataFormatError(file=file, field=value, expected="every ordered pair (domestic flows included)",
                              got=f"{int(missing.sum())} missing, e.g. {countries[i]}>{countries[j]}"
                                  + (f" in sector {sectors[k]}" if s > 1 else ""))
    return countries, sectors, flows, tar


def split_sector(baseline: Baseline, name: str, known: dict[tuple[str, str], float], share: float,
                 theta: float | None = None, note: str = "") -> Baseline:
    """A two-sector baseline with sector ``name`` split out of a one-sector baseline.

    ``known`` maps ``(exporter, importer)`` to the sector's flow (USD millions, e.g. the product
    lines a scenario touches); every other cell, domestic flows included, gets ``share`` of its
    flow (an assumption, recorded in the baseline's notes). The remainder stays in sector
    ``"other"``; totals by cell are unchanged, so the one- and two-sector baselines hold the same
    trade. ``theta`` is the new sector's trade elasticity (default the baseline's). Raises
    ConfigError when a known flow exceeds its cell or the baseline already has sectors.
    """
    if len(baseline.sectors) != 1:
        raise ConfigError(f"split_sector: expected a one-sector baseline, got sectors {baseline.sectors}")
    if not 0 < share < 1:
        raise ConfigError(f"split_sector: share of the other cells must be in (0, 1), got {share!r}")
    x = baseline.flows[0]
    new = share * x
    for (ex, im), v in known.items():
        i, j = baseline.index(ex), baseline.index(im)
        if not 0 <= v <= x[i, j]:
            raise ConfigError(f"split_sector: the {name} flow {ex}>{im} ({v:,.1f}) must be between 0 and the "
                              f"pair's total flow ({x[i, j]:,.1f})")
        new[i, j] = v
    flows = np.stack([x - new, new])
    th = float(baseline.theta[0])
    tar = np.broadcast_to(baseline.tariffs[0], flows.shape).copy()
    text = (f"sector {name!r} split out: {', '.join(f'{e}>{i} {v:,.0f}' for (e, i), v in known.items())} from "
            f"the data, every other cell assumed {share:.1%} of its flow" + (f" ({note})" if note else ""))
    return Baseline(countries=baseline.countries, flows=flows, theta=[th, th if theta is None else theta],
                    tariffs=tar, sectors=("other", name), kind=baseline.kind,
                    domestic_approximated=baseline.domestic_approximated, notes=baseline.notes + (text,),
                    source=baseline.source)
