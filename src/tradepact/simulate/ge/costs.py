"""Trade costs from gravity variables and coefficients; counterfactual values.

``ln T_ij = Σ_k β_k z_ijk`` (the trade-cost term of structural gravity, T = t^{-θ}).
A variable named ``ln_X`` that is not itself a column is computed as ``log(X)`` from
column ``X`` (so a coefficient for ``ln_DIST`` works on data with ``DIST``); a column that
already holds the log (``ln_DIST``, ``lndist``) is used as it is.

Counterfactuals set variables to new values (``{"INTL_BRDR": 0}``) on every pair or only
on listed directional pairs ``[("CAN", "USA"), ("USA", "CAN")]``; the shock is
``Δ ln T = Σ_k β_k (z'_k − z_k)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError, DataFormatError, ParameterError
from tradepact.simulate.ge.baseline import codes


def variable(frame: pd.DataFrame, name: str, file=None) -> np.ndarray:
    """Column ``name``, or ``log`` of column ``name[3:]`` for ``ln_`` names that are not columns."""
    if name in frame.columns:
        v = pd.to_numeric(frame[name], errors="coerce").to_numpy(float)
        base = name
    elif name.startswith("ln_") and name[3:] in frame.columns:
        raw = pd.to_numeric(frame[name[3:]], errors="coerce").to_numpy(float)
        if np.any(raw <= 0):
            r = int(np.flatnonzero(raw <= 0)[0])
            raise DataFormatError(file=file, row=r + 1, field=name[3:], expected="> 0 (its log is taken)",
                                  got=float(raw[r]))
        v = np.log(raw)
        base = name[3:]
    else:
        raise DataFormatError(file=file, field=name, expected=f"a column {name!r}" +
                              (f" or {name[3:]!r}" if name.startswith("ln_") else ""),
                              got=sorted(map(str, frame.columns))[:15])
    if np.any(~np.isfinite(v)):
        r = int(np.flatnonzero(~np.isfinite(v))[0])
        raise DataFormatError(file=file, row=r + 1, field=base, expected="a number", got=frame[base].iloc[r])
    return v


@dataclass
class CostSpec:
    """Baseline and counterfactual ln T matrices (N, N) for countries in sorted order."""

    countries: tuple[str, ...]
    log_costs_base: np.ndarray
    log_costs_new: np.ndarray

    @property
    def change(self) -> np.ndarray:
        return self.log_costs_new - self.log_costs_base


def build_costs(frame: pd.DataFrame, coefficients: dict[str, float], countries, *, exporter="exporter",
                importer="importer", set_values: dict[str, float] | None = None,
                pairs: list[tuple[str, str]] | None = None, base_log_costs: np.ndarray | None = None,
                file=None) -> CostSpec:
    """Trade-cost matrices from a pair frame (one row per ordered pair, domestic included)."""
    countries = tuple(countries)
    n = len(countries)
    ci = {c: k for k, c in enumerate(countries)}
    ex = pd.Series(codes(frame[exporter])).map(ci)
    im = pd.Series(codes(frame[importer])).map(ci)
    if ex.isna().any() or im.isna().any():
        r = int(np.flatnonzero((ex.isna() | im.isna()).to_numpy())[0])
        raise DataFormatError(file=file, row=r + 1, field=f"{exporter}/{importer}", expected="a known country",
                              got=f"{frame[exporter].iloc[r]}>{frame[importer].iloc[r]}")
    ii, jj = ex.to_numpy(int), im.to_numpy(int)
    set_values = set_values or {}
    unknown = [k for k in set_values if k not in coefficients]
    if unknown:
        raise ParameterError("set_values", f"names variables without a coefficient: {unknown}; "
                                           f"coefficients given for {sorted(coefficients)}")
    if pairs is not None:
        bad = [p for p in pairs if p[0] not in ci or p[1] not in ci]
        if bad:
            raise ParameterError("pairs", f"names unknown countries (not in the data): {bad}")
        mask = np.zeros((n, n), bool)
        mask[[ci[a] for a, _ in pairs], [ci[b] for _, b in pairs]] = True
        sel = mask[ii, jj]
    else:
        sel = np.ones(len(frame), bool)
    lt0 = np.zeros(len(frame))
    lt1 = np.zeros(len(frame))
    for name, beta in coefficients.items():
        z = variable(frame, name, file)
        lt0 += beta * z
        if name in set_values:
            lt1 += beta * np.where(sel, set_values[name], z)
        else:
            lt1 += beta * z
    m0 = np.full((n, n), np.nan)
    m1 = np.full((n, n), np.nan)
    m0[ii, jj] = lt0
    m1[ii, jj] = lt1
    if np.isnan(m0).any():
        i, j = np.argwhere(np.isnan(m0))[0]
        raise DataFormatError(file=file, field="cost variables", expected="every ordered pair",
                              got=f"missing {countries[i]}>{countries[j]}")
    if base_log_costs is not None:
        m1 = m1 - m0 + base_log_costs
        m0 = base_log_costs
    return CostSpec(countries, m0, m1)


def country_values(frame: pd.DataFrame, key: str, column: str, countries, file=None) -> np.ndarray:
    """A per-country column (e.g. output by exporter) as an (N,) array; must be constant per country."""
    if column not in frame.columns:
        raise DataFormatError(file=file, field=column, expected=f"a column {column!r}",
                              got=sorted(map(str, frame.columns))[:15])
    v = pd.to_numeric(frame[column], errors="coerce")
    g = v.groupby(codes(frame[key]))
    mean = g.mean()
    if (g.max() - g.min() > 1e-9 * g.max().abs().clip(lower=1)).any():
        bad = (g.max() - g.min()).idxmax()
        raise DataFormatError(file=file, field=column, expected=f"one value per {key}", got=f"varies for {bad}")
    out = mean.reindex(list(countries)).to_numpy(float)
    if np.any(~np.isfinite(out)) or np.any(out <= 0):
        bad = [c for c, x in zip(countries, out) if not (np.isfinite(x) and x > 0)]
        raise DataFormatError(file=file, field=column, expected="a positive value for every country", got=bad)
    return out


def coefficients_from(result, names=None) -> tuple[dict[str, float], dict[str, float]]:
    """(coefficients, standard errors) from an estimation result (e.g. ``tradepact.gravity.ppml``).

    Reads ``result.params`` (mapping or Series) and, when present, standard errors from
    ``result.bse`` / ``result.se`` / ``result.std_errors`` (attribute or method). ``names``
    restricts to those terms (ConfigError when one is missing).
    """
    params = pd.Series(result.params, dtype=float)
    se = None
    for attr in ("bse", "se", "std_errors"):
        v = getattr(result, attr, None)
        if v is not None:
            se = pd.Series(v() if callable(v) else v, dtype=float)
            break
    names = list(params.index) if names is None else list(names)
    missing = [k for k in names if k not in params.index]
    if missing:
        raise ConfigError(f"the estimate has no coefficient for {missing}; it has {list(params.index)[:10]}")
    coefs = {k: float(params[k]) for k in names}
    ses = {k: float(se[k]) for k in names if se is not None and k in se.index}
    return coefs, ses
