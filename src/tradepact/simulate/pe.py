"""Product-level partial equilibrium: SMART (WITS) and beyond, vectorized over lines x partners.

One row of the input frame is one *flow*: an importer, an exporter, an HS line and a year,
with its baseline import value ``import_value`` (USD millions, at baseline world prices) and the
ad valorem tariff before and after the change (fractions). A *market* is one
``(importer, hs, year)``; the exporters in it are its sources (use exporter ``ROW`` for
"everyone else"). Every formula below is applied to all rows at once with NumPy; markets are
handled with integer group codes and ``np.bincount`` — no Python loop over rows, lines or partners.

Units: values USD millions; quantities are measured as baseline value, i.e. world prices are
normalised to 1 in the baseline, so a volume change is a value change at baseline prices.

The model (per flow *i* in market *k*; ``t0``/``t1`` tariffs before/after, ``M`` imports,
``eta`` < 0 import demand elasticity, ``eps`` > 0 export supply elasticity, ``sigma`` > 0
substitution elasticity between sources):

* **Trade creation** (own-price effect; SMART/WITS manual, Laird & Yeats 1986)::

      TC = M * eta * (t1 - t0) / (1 + t0) / (1 - eta/eps)        (form "smart", linear)
      TC = M * (((1 + t1)/(1 + t0)) ** (eta*eps/(eps - eta)) - 1)  (form "constant_elasticity")

  With ``eps`` infinite (the default, as in SMART) ``1 - eta/eps = 1`` and the first line is
  SMART's ``TC = M * eta * dt / (1 + t)``. A linear response is capped at -100% of ``M``
  (the row is flagged ``clipped``).
* **Price effect**: world (exporter) price change ``pw = eta*dt/(1+t0) / (eps - eta)``
  (linear; ``((1+t1)/(1+t0)) ** (eta/(eps-eta)) - 1`` in the constant-elasticity form; 0 when
  ``eps`` is infinite), and domestic price change ``pd = (1+pw)(1+t1)/(1+t0) - 1``.
* **Trade diversion** (SMART): total imports of the market held fixed, shares move with
  relative prices. Each source gets weight ``w_i = M_i * max(1 - sigma*pd_i, 0)`` (linear)
  or ``M_i * (1 + pd_i) ** -sigma`` (constant elasticity) and ``TD_i = M_k * w_i / sum(w) - M_i``.
  With two sources and a change on the first only this is exactly the SMART formula
  ``TD = M_1 M_2 sigma x / (M_1 + M_2 + M_1 sigma x)`` with ``x = -pd_1`` (the relative price
  fall). Sum of TD over a market's sources is zero.
* **Tariff revenue** ``R = t * M * (1 + pw)`` before and after (``t_in``/``t_out`` split under a
  quota); the change is reported.
* **Consumer surplus**: the exact area under the line's own import demand curve between the
  domestic prices before (``p0``) and after (``p0 (1 + pd)``), :func:`consumer_surplus_change`.
  Linear form (exact = trapezoid): ``dCS = -(p0 * pd) * (M + TC/2)``; with ``eps`` infinite and no
  quota ``(t0 - t1) * (M + TC/2)``, and the classic SMART "welfare" triangle ``0.5*dt*TC`` is
  ``dCS + dR`` when ``t1 = 0``. Constant-elasticity form ``D(p) = M (p/p0)^eta``:
  ``dCS = -M p0 ((1+pd)^(eta+1) - 1)/(eta+1)`` (``-M p0 ln(1+pd)`` at ``eta = -1``).

Beyond SMART:

* **Tariff-rate quotas** (columns ``quota_before``/``quota_after`` in USD millions of imports at
  baseline prices, ``in_quota_rate_before``/``in_quota_rate_after``; ``rate_before``/``rate_after``
  are then the out-of-quota rates, ``inf`` = prohibitive). The baseline domestic price is the
  marginal tariff-inclusive price (``1+t_in`` when ``M <= Q``, else ``1+t_out``). After the change
  the import demand curve through ``(p0, M)`` (linear or constant elasticity) is solved for the
  regime: *in quota* (``D(1+t_in) <= Q``), *over quota* (``D(1+t_out) >= Q``: rent
  ``(t_out - t_in) * Q``) or *binding* (imports ``= Q``, domestic price from ``D(p) = Q``, quota rent
  ``(p - 1 - t_in) * Q``): a binding quota turns a tariff change into a rent change instead of a
  price change. Quota flows use an infinite export supply elasticity and do not take part in
  diversion when binding (their quantity is fixed by the quota).
* **Domestic substitution** (GSIM-style, Francois & Hall 2003): where ``domestic_output``
  (USD millions of domestic sales of the line, at domestic prices) is given and the option is
  on, the import demand elasticity of the market is not read from the table but implied by a
  nested Armington demand: ``eta = eps_c * s_M - sigma_d * s_D`` (``eps_c`` composite demand
  elasticity < 0, ``sigma_d`` substitution between imports and domestic goods, ``s_M``/``s_D``
  expenditure shares at domestic prices), and domestic sales change by
  ``dD_i = D * s_M * (sigma_d + eps_c) * s_i * pd_i`` (``s_i`` = the flow's share of imports).

Reference: WITS/SMART online help ("SMART model: trade creation, trade diversion, revenue and
welfare"); Jammes & Olarreaga (2005), *Explaining SMART and GSIM*, World Bank.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from tradepact import products
from tradepact.errors import ConfigError, DataFormatError, check_choice
from tradepact.results import Result, records

#: Armington substitution elasticity between sources when none is given (SMART's default).
DEFAULT_SUBSTITUTION_ELASTICITY = 1.5
#: Import demand elasticity for lines with no table value: unit-elastic import demand, a neutral
#: choice (spending on the line at domestic prices unchanged); override it in the scenario.
DEFAULT_IMPORT_DEMAND_ELASTICITY = -1.0
#: GSIM-style option defaults: composite (imports + domestic) demand elasticity and the
#: substitution elasticity between imports and domestic output.
DEFAULT_COMPOSITE_DEMAND_ELASTICITY = -1.0
DEFAULT_DOMESTIC_SUBSTITUTION_ELASTICITY = 2.0

REQUIRED_COLUMNS = ("importer", "exporter", "hs", "year", "import_value", "rate_before", "rate_after")

#: Flow columns that add up (summed by :meth:`PEResult.aggregate`).
FLOW_COLUMNS = [
    "import_value", "trade_creation", "trade_diversion", "total_import_change", "import_value_after",
    "tariff_revenue_before", "tariff_revenue_after", "tariff_revenue_change",
    "consumer_surplus_change", "quota_rent_change", "domestic_output_change",
]


@dataclass(frozen=True)
class PESettings:
    """Settings of the PE model (scalars; per-row columns in the input override them).

    ``export_supply_elasticity``: None = infinite (SMART default).
    ``functional_form``: ``"smart"`` (linear, as WITS) or ``"constant_elasticity"``.
    """

    substitution_elasticity: float = DEFAULT_SUBSTITUTION_ELASTICITY
    export_supply_elasticity: float | None = None
    import_demand_elasticity: float = DEFAULT_IMPORT_DEMAND_ELASTICITY
    functional_form: Literal["smart", "constant_elasticity"] = "smart"
    domestic_substitution: bool = False
    composite_demand_elasticity: float = DEFAULT_COMPOSITE_DEMAND_ELASTICITY
    domestic_substitution_elasticity: float = DEFAULT_DOMESTIC_SUBSTITUTION_ELASTICITY

    def __post_init__(self):
        if not self.substitution_elasticity > 0:
            raise ConfigError(f"substitution_elasticity: expected > 0, got {self.substitution_elasticity!r}")
        if self.export_supply_elasticity is not None and not self.export_supply_elasticity > 0:
            raise ConfigError(f"export_supply_elasticity: expected > 0 or None (infinite), "
                              f"got {self.export_supply_elasticity!r}")
        if not self.import_demand_elasticity < 0:
            raise ConfigError(f"import_demand_elasticity: expected < 0, got {self.import_demand_elasticity!r}")
        if self.functional_form not in ("smart", "constant_elasticity"):
            raise ConfigError(f"functional_form: expected 'smart' or 'constant_elasticity', "
                              f"got {self.functional_form!r}")
        if not self.composite_demand_elasticity <= 0:
            raise ConfigError(f"composite_demand_elasticity: expected <= 0, got {self.composite_demand_elasticity!r}")
        if not self.domestic_substitution_elasticity > 0:
            raise ConfigError(f"domestic_substitution_elasticity: expected > 0, "
                              f"got {self.domestic_substitution_elasticity!r}")

    def with_(self, **kw) -> "PESettings":
        return replace(self, **kw)


# --------------------------------------------------------------------------- input checks

def _col(frame: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name in frame.columns:
        v = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
        return np.where(np.isnan(v), default, v)
    return np.full(len(frame), default, dtype=float)


def _check(frame: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate the input frame; raise DataFormatError naming the first bad row and field.
    Returns the market code of each row and the HS codes as strings."""
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataFormatError(source, None, missing[0], "column present", None,
                              message=f"missing column(s) {', '.join(missing)}")

    def first_bad(mask: np.ndarray, fld: str, expected: str):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            raise DataFormatError(source, i + 1, fld, expected, frame[fld].iloc[i])

    # validate each distinct code once (a full schedule repeats every code once per partner)
    codes, uniq = pd.factorize(frame["hs"], use_na_sentinel=False)
    bad_uniq = products.invalid_codes(pd.Series(uniq, dtype=object)).to_numpy()
    first_bad(bad_uniq[codes], "hs", "an HS code string of 2/4/6/8/10 digits")
    for fld in ("import_value", "rate_before", "rate_after"):
        v = pd.to_numeric(frame[fld], errors="coerce").to_numpy(dtype=float)
        first_bad(np.isnan(v), fld, "a number")
        first_bad(v < 0, fld, "a value >= 0")
    if "import_value" in frame:
        v = frame["import_value"].to_numpy(dtype=float)
        first_bad(np.isinf(v), "import_value", "a finite number")
    for fld, ok, expected in (
        ("import_demand_elasticity", lambda v: np.isnan(v) | (v < 0), "a negative number (or blank)"),
        ("substitution_elasticity", lambda v: np.isnan(v) | (v > 0), "a positive number (or blank)"),
        ("export_supply_elasticity", lambda v: np.isnan(v) | (v > 0), "a positive number, inf or blank"),
        ("domestic_output", lambda v: np.isnan(v) | ((v >= 0) & np.isfinite(v)), "a number >= 0 (or blank)"),
        ("quota_before", lambda v: np.isnan(v) | (v >= 0), "a number >= 0 (or blank: no quota)"),
        ("quota_after", lambda v: np.isnan(v) | (v >= 0), "a number >= 0 (or blank: no quota)"),
        ("in_quota_rate_before", lambda v: np.isnan(v) | ((v >= 0) & np.isfinite(v)), "a rate >= 0"),
        ("in_quota_rate_after", lambda v: np.isnan(v) | ((v >= 0) & np.isfinite(v)), "a rate >= 0"),
    ):
        if fld in frame.columns:
            v = pd.to_numeric(frame[fld], errors="coerce").to_numpy(dtype=float)
            first_bad(~ok(v), fld, expected)
    years = pd.to_numeric(frame["year"], errors="coerce")
    first_bad(years.isna().to_numpy(), "year", "an integer year")
    keys = frame[["importer", "exporter", "hs", "year"]]
    mkt, dup = _flow_codes(frame, (codes, uniq))
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataFormatError(source, i + 1, "importer/exporter/hs/year", "one row per flow and year",
                              tuple(keys.iloc[i]), message="duplicate flow")
    # a rate that is not finite is only allowed as the out-of-quota rate of a quota flow
    for when in ("before", "after"):
        r = frame[f"rate_{when}"].to_numpy(dtype=float)
        q = _col(frame, f"quota_{when}", np.nan)
        first_bad(np.isinf(r) & np.isnan(q), f"rate_{when}",
                  "a finite rate (inf = prohibitive is allowed only with a quota)")
    hs_str = np.asarray([str(u) for u in uniq], dtype=object)[codes]
    return mkt, hs_str


# --------------------------------------------------------------------------- engine

REGIMES = ["none", "in", "over", "binding"]


def _flow_codes(frame: pd.DataFrame, hs_factorized=None) -> tuple[np.ndarray, np.ndarray]:
    """Market code per row (importer, hs, year; dense ints) and a duplicate-flow mask, each key
    column factorized once."""
    ci, ui = pd.factorize(frame["importer"], use_na_sentinel=False)
    ce, ue = pd.factorize(frame["exporter"], use_na_sentinel=False)
    ch, uh = hs_factorized if hs_factorized is not None else pd.factorize(frame["hs"], use_na_sentinel=False)
    cy, uy = pd.factorize(frame["year"], use_na_sentinel=False)
    m = (ci.astype(np.int64) * len(uh) + ch) * len(uy) + cy
    mkt, _ = pd.factorize(m)
    flow = mkt.astype(np.int64) * len(ue) + ce
    dup = pd.Series(flow).duplicated().to_numpy()
    return mkt.astype(np.int64), dup


def _group_sum(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(codes, weights=values, minlength=n)


def _safe_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a*b with 0*inf = 0 (a prohibitive rate on zero imports raises no revenue)."""
    with np.errstate(invalid="ignore"):
        out = a * b
    return np.where((a == 0) | (b == 0), 0.0, out)


def simulate_pe(frame: pd.DataFrame, settings: PESettings | None = None, *,
                source: str = "PE input") -> "PEResult":
    """Run the PE model on a frame of flows (see the module docstring for columns and formulas).

    Required columns: ``importer, exporter, hs, year, import_value, rate_before, rate_after``.
    Optional per-row columns (blank = the setting): ``import_demand_elasticity`` (< 0),
    ``substitution_elasticity`` (> 0), ``export_supply_elasticity`` (> 0, ``inf``),
    ``domestic_output`` (USD millions; GSIM option), ``quota_before``, ``quota_after``,
    ``in_quota_rate_before``, ``in_quota_rate_after``. Other columns are carried through.
    Returns a :class:`PEResult` whose ``lines`` frame has one row per input row, in input order.
    """
    s = settings or PESettings()
    mkt, hs_str = _check(frame, source)
    df = frame.reset_index(drop=True)  # a new frame: the caller's is never modified
    df["hs"] = hs_str
    df["year"] = pd.to_numeric(df["year"]).astype(int)
    n = len(df)
    linear = s.functional_form == "smart"

    M = df["import_value"].to_numpy(dtype=float)
    t0 = df["rate_before"].to_numpy(dtype=float)
    t1 = df["rate_after"].to_numpy(dtype=float)
    eta = _col(df, "import_demand_elasticity", s.import_demand_elasticity)
    sigma = _col(df, "substitution_elasticity", s.substitution_elasticity)
    eps_default = math.inf if s.export_supply_elasticity is None else float(s.export_supply_elasticity)
    eps = _col(df, "export_supply_elasticity", eps_default)
    q0 = _col(df, "quota_before", np.nan)
    q1 = _col(df, "quota_after", np.nan)
    tin0 = _col(df, "in_quota_rate_before", 0.0)
    tin1 = _col(df, "in_quota_rate_after", 0.0)
    has_q0 = ~np.isnan(q0)
    has_q1 = ~np.isnan(q1)
    quota_row = has_q0 | has_q1

    # markets: (importer, hs, year)
    nm = int(mkt.max()) + 1 if n else 0

    # ---- GSIM-style domestic substitution: implied import demand elasticity per market
    dom = _col(df, "domestic_output", np.nan)
    dom_m = np.full(nm, np.nan)
    if s.domestic_substitution and "domestic_output" in df.columns:
        # one domestic output per market (first non-blank)
        ok = ~np.isnan(dom)
        dom_m[mkt[ok][::-1]] = dom[ok][::-1]
    use_dom_m = ~np.isnan(dom_m)
    use_dom = use_dom_m[mkt] if n else np.zeros(0, bool)
    spend_imp = M * (1.0 + np.where(has_q0, tin0, t0))     # imports at domestic prices (approx. for quotas)
    spend_imp = np.where(np.isfinite(spend_imp), spend_imp, M)
    imp_m = _group_sum(mkt, spend_imp, nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        sM_m = np.where(use_dom_m, imp_m / (imp_m + np.nan_to_num(dom_m)), np.nan)
    sM = sM_m[mkt] if n else np.zeros(0)
    eps_c, sig_d = s.composite_demand_elasticity, s.domestic_substitution_elasticity
    eta = np.where(use_dom, eps_c * sM - sig_d * (1.0 - sM), eta)
    eta = np.where(eta < 0, eta, -1e-12)  # all-domestic corner: no import response

    # ---- own-price response (non-quota rows)
    dt = t1 - t0
    ratio = (1.0 + t1) / (1.0 + t0)
    inf_eps = np.isinf(eps)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if linear:
            damp = np.where(inf_eps, 1.0, 1.0 - eta / eps)
            m_hat = eta * dt / (1.0 + t0) / damp
            pw = np.where(inf_eps, 0.0, eta * dt / (1.0 + t0) / (eps - eta))
        else:
            expo = np.where(inf_eps, eta, eta * eps / (eps - eta))
            m_hat = ratio ** expo - 1.0
            pw = np.where(inf_eps, 0.0, ratio ** (eta / (eps - eta)) - 1.0)
    pw = np.where(quota_row, 0.0, pw)
    p0 = 1.0 + t0                      # domestic price level, world price = 1
    pd_hat = (1.0 + pw) * ratio - 1.0

    # ---- tariff-rate quotas (vectorized regime solution)
    regime_before = np.zeros(n, dtype=np.int8)   # codes into REGIMES
    regime_after = np.zeros(n, dtype=np.int8)
    rent0 = np.zeros(n)
    rent1 = np.zeros(n)
    if quota_row.any():
        Q0 = np.where(has_q0, q0, np.inf)
        Q1 = np.where(has_q1, q1, np.inf)
        ti0 = np.where(has_q0, tin0, t0)
        ti1 = np.where(has_q1, tin1, t1)
        over0 = has_q0 & (M > Q0)
        bad = over0 & np.isinf(t0) & quota_row
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataFormatError(source, i + 1, "import_value", f"imports <= the quota {Q0[i]:g} when the "
                                  "out-of-quota rate is prohibitive", M[i])
        p0q = np.where(over0, 1.0 + t0, 1.0 + ti0)
        regime_before = np.where(~has_q0, 0, np.where(over0, 2, 1)).astype(np.int8)
        rent0 = np.where(over0, _safe_mul(t0 - ti0, Q0), 0.0)

        def demand(p):
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                if linear:
                    return np.maximum(M * (1.0 + eta * (p / p0q - 1.0)), 0.0)
                return np.where(np.isinf(p), 0.0, M * (p / p0q) ** eta)

        d_in = demand(1.0 + ti1)
        d_out = demand(1.0 + t1)
        in_q = d_in <= Q1
        over = ~in_q & (d_out >= Q1)
        bind = ~in_q & ~over
        with np.errstate(invalid="ignore", divide="ignore"):
            if linear:
                p_bind = p0q * (1.0 + (Q1 / np.where(M > 0, M, 1.0) - 1.0) / eta)
            else:
                p_bind = p0q * (Q1 / np.where(M > 0, M, 1.0)) ** (1.0 / eta)
        p1q = np.where(in_q, 1.0 + ti1, np.where(over, 1.0 + t1, p_bind))
        M1q = np.where(in_q, d_in, np.where(over, d_out, Q1))
        regime_after = np.where(~has_q1, 0, np.where(in_q, 1, np.where(over, 2, 3))).astype(np.int8)
        with np.errstate(invalid="ignore"):
            rent1 = np.where(has_q1 & over, _safe_mul(t1 - ti1, Q1), np.where(has_q1 & bind, (p1q - 1.0 - ti1) * Q1, 0.0))
        rent1 = np.where(quota_row, rent1, 0.0)
        rent0 = np.where(quota_row, rent0, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mq_hat = np.where(M > 0, M1q / np.where(M > 0, M, 1.0) - 1.0, 0.0)
        m_hat = np.where(quota_row, mq_hat, m_hat)
        p0 = np.where(quota_row, p0q, p0)
        pd_hat = np.where(quota_row, p1q / p0q - 1.0, pd_hat)
        binding_after = quota_row & bind & has_q1
    else:
        binding_after = np.zeros(n, bool)
        Q0 = np.full(n, np.inf)
        Q1 = np.full(n, np.inf)
        ti0, ti1 = t0, t1

    clipped = m_hat < -1.0
    m_hat = np.maximum(m_hat, -1.0)
    TC = M * m_hat

    # ---- trade diversion: reallocate each market's imports by relative prices
    elig = ~binding_after
    with np.errstate(invalid="ignore", over="ignore"):
        if linear:
            w_factor = np.maximum(1.0 - sigma * pd_hat, 0.0)
        else:
            w_factor = (1.0 + pd_hat) ** (-sigma)
    w = np.where(elig, M * w_factor, 0.0)
    W = _group_sum(mkt, w, nm)
    Mel = _group_sum(mkt, np.where(elig, M, 0.0), nm)
    with np.errstate(invalid="ignore", divide="ignore"):
        TD = np.where(elig & (W[mkt] > 0), Mel[mkt] * w / np.where(W[mkt] > 0, W[mkt], 1.0) - M, 0.0) if n else np.zeros(0)
    too_low = M + TC + TD < 0
    clipped = clipped | too_low
    TD = np.where(too_low, -M - TC, TD)

    M1 = M + TC + TD
    # ---- revenue, surplus, rents
    rev0 = _safe_mul(ti0, np.minimum(M, Q0)) + _safe_mul(t0, np.maximum(M - Q0, 0.0))
    rev0 = np.where(quota_row, rev0, t0 * M)
    rev1 = (1.0 + pw) * np.where(quota_row,
                                 _safe_mul(ti1, np.minimum(M1, Q1)) + _safe_mul(t1, np.maximum(M1 - Q1, 0.0)),
                                 t1 * M1)
    dcs = consumer_surplus_change(M, p0, pd_hat, eta, linear, dM=TC)

    # ---- domestic output change (GSIM option)
    imp_share = np.where(imp_m[mkt] > 0, spend_imp / np.where(imp_m[mkt] > 0, imp_m[mkt], 1.0), 0.0) if n else np.zeros(0)
    dD = np.where(use_dom, np.nan_to_num(dom_m[mkt] if n else np.zeros(0)) * sM * (sig_d + eps_c) * imp_share * pd_hat, 0.0)

    out = df
    out["import_demand_elasticity"] = eta
    out["substitution_elasticity"] = sigma
    out["export_supply_elasticity"] = eps
    out["trade_creation"] = TC
    out["trade_diversion"] = TD
    out["total_import_change"] = TC + TD
    out["import_value_after"] = M1
    out["world_price_change"] = pw
    out["domestic_price_change"] = pd_hat
    out["tariff_revenue_before"] = rev0
    out["tariff_revenue_after"] = rev1
    out["tariff_revenue_change"] = rev1 - rev0
    out["consumer_surplus_change"] = dcs
    out["quota_rent_change"] = rent1 - rent0
    out["domestic_output_change"] = dD
    out["quota_regime_before"] = pd.Categorical.from_codes(regime_before, categories=REGIMES)
    out["quota_regime_after"] = pd.Categorical.from_codes(regime_after, categories=REGIMES)
    out["clipped"] = clipped
    return PEResult(lines=out, settings=s)


def consumer_surplus_change(M: np.ndarray, p0: np.ndarray, pd_hat: np.ndarray, eta: np.ndarray,
                            linear: bool, dM: np.ndarray | None = None) -> np.ndarray:
    """Exact consumer-surplus change (USD millions) on the line's import demand curve.

    ``M`` baseline imports (quantity at world price 1), ``p0`` baseline domestic price, ``pd_hat``
    relative domestic price change, ``eta`` < 0 the demand curve's elasticity at ``(p0, M)``.
    Linear demand: the trapezoid ``-(p0 pd)(M + dM/2)`` (exact for a line), ``dM`` the quantity
    change on it (default ``M eta pd``, floored at ``-M``).
    Constant elasticity: ``-∫ M (p/p0)^eta dp`` from ``p0`` to ``p0 (1+pd)``.
    """
    M, p0, pd_hat, eta = (np.asarray(a, dtype=float) for a in (M, p0, pd_hat, eta))
    if linear:
        dM = np.maximum(M * eta * pd_hat, -M) if dM is None else np.asarray(dM, dtype=float)
        return -(p0 * pd_hat) * (M + 0.5 * dM)
    k = eta + 1.0
    ratio = 1.0 + pd_hat
    unit = np.abs(k) < 1e-12
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        general = -M * p0 * (ratio ** np.where(unit, 1.0, k) - 1.0) / np.where(unit, 1.0, k)
        log_case = -M * p0 * np.log(ratio)
    out = np.where(unit, log_case, general)
    return np.where(M == 0, 0.0, out)


# --------------------------------------------------------------------------- results

AGG_LEVELS = ("line", "hs2", "sector", "total")


@dataclass(repr=False)
class PEResult(Result):
    """Per-flow PE results (``lines``: input columns + results) and aggregation helpers.

    Result columns (USD millions unless a fraction): ``trade_creation``, ``trade_diversion``,
    ``total_import_change``, ``import_value_after``, ``world_price_change`` and
    ``domestic_price_change`` (fractions), ``tariff_revenue_before/after/change``,
    ``consumer_surplus_change``, ``quota_rent_change``, ``domestic_output_change``,
    ``quota_regime_before/after`` (none/in/over/binding) and ``clipped`` (a linear response was
    capped at -100% of the flow). :meth:`to_frame` is ``lines``.
    """

    kind = "pe"

    lines: pd.DataFrame
    settings: PESettings = field(default_factory=PESettings)

    def aggregate(self, level: str = "hs2", by: tuple[str, ...] = ("year", "importer", "exporter")) -> pd.DataFrame:
        """Sum the flow columns by ``level`` (line, hs2, sector, total) within ``by`` keys."""
        if level not in AGG_LEVELS:
            check_choice("level", level, AGG_LEVELS)
        df = self.lines
        cols = [c for c in FLOW_COLUMNS if c in df.columns]
        keys = list(by)
        if level == "line":
            return df[keys + ["hs"] + cols].copy()
        work = df[keys + cols].copy()
        if level == "hs2":
            work["hs2"] = df["hs"].str[:2]
            keys = keys + ["hs2"]
        elif level == "sector":
            work["sector"] = products.sectors(df["hs"])
            keys = keys + ["sector"]
        if not keys:
            return work[cols].sum().to_frame().T
        return work.groupby(keys, sort=True, observed=True)[cols].sum().reset_index()

    def split_by_partner(self, partner: str, by: tuple[str, ...] = ("year",)) -> pd.DataFrame:
        """Who gains and loses in the markets where ``partner`` sells (USD millions).

        For every market (importer, hs, year) holding a flow from ``partner``: ``partner_change``
        (creation + diversion of the partner's flows), ``others_change`` (the change in imports from
        every other origin, i.e. diversion to or from them), ``total_change`` (the importer's imports
        of those products from everyone) and ``others_base`` (the other origins' baseline imports;
        0 when the data hold no other supplier, so no diversion can show). Summed within ``by`` keys.
        """
        df = self.lines
        mine = df["exporter"].eq(partner)
        keys = ["importer", "hs", "year"]
        mk = df.loc[mine, keys].drop_duplicates()
        sub = df.merge(mk, on=keys, how="inner")
        is_p = sub["exporter"].eq(partner)
        work = pd.DataFrame({k: sub[k] for k in by})
        work["partner_base"] = np.where(is_p, sub["import_value"], 0.0)
        work["partner_change"] = np.where(is_p, sub["total_import_change"], 0.0)
        work["others_base"] = np.where(is_p, 0.0, sub["import_value"])
        work["others_change"] = np.where(is_p, 0.0, sub["total_import_change"])
        work["total_change"] = sub["total_import_change"].to_numpy()
        if not by:
            return work.sum().to_frame().T
        return work.groupby(list(by), sort=True).sum().reset_index()

    def totals(self) -> dict[str, float]:
        """Grand totals of the flow columns (USD millions)."""
        cols = [c for c in FLOW_COLUMNS if c in self.lines.columns]
        return {c: float(self.lines[c].sum()) for c in cols}

    def to_frame(self) -> pd.DataFrame:
        return self.lines.copy()

    def to_dict(self) -> dict:
        """``kind``, settings, totals and the per-flow ``lines`` as records (infinite values as null)."""
        return {"kind": self.kind, "settings": asdict(self.settings), "totals": self.totals(),
                "lines": records(self.lines.replace([np.inf, -np.inf], np.nan))}

    def _repr_html_(self) -> str:  # notebooks
        import html

        return (f"<p>{html.escape(self.summary())}</p>"
                + self.aggregate("hs2", by=("year",)).to_html(index=False, float_format=lambda v: f"{v:,.1f}"))

    def summary(self) -> str:
        t = self.totals()
        return (f"PE: {len(self.lines)} flows; trade creation {t['trade_creation']:,.1f}, diversion "
                f"{t['trade_diversion']:,.1f}, tariff revenue {t['tariff_revenue_change']:,.1f}, consumer surplus "
                f"{t['consumer_surplus_change']:,.1f} (USD m)")
