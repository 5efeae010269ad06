"""The book/gegravity workflow in one call: pair data + coefficients → counterfactual.

:func:`counterfactual_from_frame` builds the baseline trade costs from the data's cost
variables and the coefficients, the baseline (``fitted`` — GEPPML/gegravity — or
``observed``), applies counterfactual values of cost variables on all pairs or on listed
directional pairs, and solves the conditional closure and the requested one. It is what
``tradepact ge`` runs; :func:`country_summary` gives the per-country JSON of the examples.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError, DataFormatError, ParameterError, check_choice
from tradepact.results import Result, json_safe
from tradepact.simulate.ge.baseline import Baseline, codes
from tradepact.simulate.ge.costs import build_costs, country_values
from tradepact.simulate.ge.equilibrium import Shock
from tradepact.simulate.ge.results import GEResult
from tradepact.simulate.ge.solver import solve
from tradepact.simulate.ge.uncertainty import MonteCarloResult


@dataclass(repr=False)
class Counterfactual(Result):
    """The pair of solves ``tradepact ge`` reports: MR-only (conditional) and the requested closure,
    with Monte Carlo bands when drawn. :meth:`to_frame`: one row per country, the columns of
    :func:`country_summary` (percent changes; ``balance_change`` in the data's units) and, with
    ``bands``, ``<column>_lo/_median/_hi``."""

    kind = "ge_counterfactual"

    conditional: GEResult
    main: GEResult
    bands: MonteCarloResult | None = None

    def country_summary(self) -> dict[str, dict[str, float]]:
        return country_summary(self.conditional, self.main)

    def to_frame(self) -> pd.DataFrame:
        table = pd.DataFrame([{"country": k, **v} for k, v in self.country_summary().items()])
        if self.bands is not None:
            table = table.merge(self.bands.bands, on="country", how="left")
        return table

    def summary(self) -> str:
        rep = self.main.report
        head = (f"GE counterfactual ({self.main.label or 'no label'}): closure={self.main.closure}, "
                f"baseline={self.main.baseline.kind}, deficits={self.main.deficits}; solver {rep.iterations} "
                f"iterations, max relative excess demand {rep.residual:.1e}")
        show = self.to_frame()
        return head + "\n" + show.to_string(index=False, float_format=lambda v: f"{v:,.4f}")

    def to_dict(self) -> dict:
        """``kind``, the main solve's closure, baseline, deficits, reference and solver report, and
        ``countries``: ``{ISO3: {column: value, ..., "bands": {...} when drawn}}``."""
        countries = self.country_summary()
        if self.bands is not None:
            b = self.bands.bands.set_index("country")
            for k in countries:
                countries[k] = {**countries[k], "bands": {c: float(b.at[k, c]) for c in b.columns}}
        main = self.main
        return json_safe({"kind": self.kind, "closure": main.closure, "baseline": main.baseline.kind,
                          "deficits": main.deficits, "reference": main.reference, "solver": main.report.to_dict(),
                          "notes": list(main.baseline.notes), "countries": countries,
                          "draws": None if self.bands is None else
                          {k: v for k, v in self.bands.to_dict().items() if k not in ("kind", "bands")}})


def country_summary(conditional: GEResult, main: GEResult) -> dict[str, dict[str, float]]:
    """``{ISO3: {exports_change_pct_conditional, exports_change_pct_full, real_gdp_change_pct,
    price_change_pct, welfare_change_pct, imports_change_pct_full, balance_change, ...}}``.

    ``price_change_pct`` is the factory-gate price change in the result's numeraire
    (reference country's price index fixed when ``reference`` was given, as in the book).
    """
    c = conditional.to_frame().set_index("country")
    m = main.to_frame().set_index("country")
    out = {}
    for k in m.index:
        out[k] = {"exports_change_pct_conditional": float(c.at[k, "exports_change_pct"]),
                  "exports_change_pct_full": float(m.at[k, "exports_change_pct"]),
                  "real_gdp_change_pct": float(m.at[k, "real_gdp_change_pct"]),
                  "price_change_pct": float(m.at[k, "factory_price_change_pct"]),
                  "price_index_change_pct": float(m.at[k, "price_index_change_pct"]),
                  "welfare_change_pct": float(m.at[k, "welfare_change_pct"]),
                  "imports_change_pct_full": float(m.at[k, "imports_change_pct"]),
                  "balance_change": float(m.at[k, "balance_change"]),
                  "domestic_approximated": bool(m.at[k, "domestic_approximated"])}
    return out


def prepare(frame: pd.DataFrame, *, exporter="exporter", importer="importer", trade="trade", year=None,
            file=None) -> pd.DataFrame:
    for col in (exporter, importer, trade):
        if col not in frame.columns:
            raise DataFormatError(file=file, field=col, expected=f"a column {col!r}",
                                  got=sorted(map(str, frame.columns))[:15])
    if year is not None:
        if "year" not in frame.columns:
            raise DataFormatError(file=file, field="year", expected="a 'year' column (to keep one year)", got=None)
        frame = frame[pd.to_numeric(frame["year"], errors="coerce") == int(year)]
        if frame.empty:
            raise ConfigError(f"no rows for year {year} in {file or 'the data'}")
    frame = frame.reset_index(drop=True).copy()
    frame[exporter] = codes(frame[exporter])
    frame[importer] = codes(frame[importer])
    return frame


def counterfactual_from_frame(frame: pd.DataFrame, *, theta: float, costs: dict[str, float],
                              set_values: dict[str, float] | None = None, pairs=None, year=None,
                              output: str | None = None, expenditure: str | None = None,
                              reference: str | None = None, baseline: str = "fitted", closure: str = "full",
                              deficits: str = "multiplicative", exporter="exporter", importer="importer",
                              trade="trade", base_log_costs: np.ndarray | None = None, file=None,
                              tol: float = 1e-10) -> Counterfactual:
    """Run the workflow; see the module docstring. ``theta`` = σ − 1."""
    if theta is None or not np.isfinite(theta) or theta <= 0:
        raise ParameterError("theta", f"must be > 0 (θ = σ − 1), got {theta}")
    if not costs and base_log_costs is None:
        raise ParameterError("costs", "give cost coefficients ({variable: coefficient}) or base_log_costs")
    check_choice("baseline", baseline, ("fitted", "observed"))
    df = prepare(frame, exporter=exporter, importer=importer, trade=trade, year=year, file=file)
    countries = tuple(sorted(set(df[exporter]) | set(df[importer])))
    if reference is not None and reference.upper() not in countries:
        raise ParameterError("reference", f"{reference!r} is not a country in the data")
    reference = reference.upper() if reference else None
    spec = build_costs(df, costs, countries, exporter=exporter, importer=importer, set_values=set_values,
                       pairs=pairs, base_log_costs=base_log_costs, file=file)
    obs = Baseline.from_frame(df, theta, exporter=exporter, importer=importer, value=trade, file=file)
    if baseline == "fitted":
        y = country_values(df, exporter, output, countries, file) if output else obs.output
        e = country_values(df, importer, expenditure, countries, file) if expenditure else obs.expenditure
        base = Baseline.fitted(spec.log_costs_base, countries, theta, output=y, expenditure=e, source=str(file or ""))
    elif baseline == "observed":
        if output or expenditure:
            raise ParameterError("output", "output and expenditure columns apply to baseline='fitted'; an "
                                           "observed baseline takes output and expenditure from its flows")
        base = obs
    shock = Shock.from_costs(spec.change, label="cost variables set: " + ", ".join(
        f"{k}={v:g}" for k, v in (set_values or {}).items()))
    cond = solve(base, shock, closure="conditional", reference=reference, deficits=deficits, tol=tol)
    main = cond if closure == "conditional" else solve(base, shock, closure=closure, reference=reference,
                                                       deficits=deficits, tol=tol)
    return Counterfactual(cond, main)


def _mc_one(params: np.ndarray, names: list[str], theta_index: int | None, theta: float, **kw) -> pd.DataFrame:
    costs = dict(kw.pop("costs"))
    for k, nm in enumerate(names):
        if k != theta_index:
            costs[nm] = float(params[k])
    th = float(params[theta_index]) if theta_index is not None else theta
    cf = counterfactual_from_frame(costs=costs, theta=th, **kw)
    s = cf.country_summary()
    return pd.DataFrame([{"country": k, **{a: b for a, b in v.items() if a != "domestic_approximated"}}
                         for k, v in s.items()])


def monte_carlo_from_frame(frame: pd.DataFrame, *, costs: dict[str, float], std_errors: dict[str, float],
                           theta: float, theta_se: float | None = None, draws: int = 500, seed: int = 0,
                           n_jobs: int | None = None, progress=None, vcov: pd.DataFrame | None = None,
                           scheduler: str | None = None, results=None, **kw):
    """Monte Carlo over the cost coefficients (and θ when ``theta_se``).

    Covariance: ``vcov`` (a square frame indexed by coefficient names, e.g. an estimate's
    covariance matrix) when given, else diagonal from ``std_errors``. θ is drawn independently.
    ``scheduler`` / ``results``: where the draws run and where finished chunks are kept (see
    :func:`tradepact.simulate.ge.uncertainty.monte_carlo`).
    """
    from tradepact.simulate.ge.uncertainty import monte_carlo

    if vcov is not None:
        names = [k for k in costs if k in vcov.index]
        cov = vcov.loc[names, names].to_numpy(float) if names else np.zeros((0, 0))
    else:
        names = [k for k in costs if k in std_errors]
        cov = np.diag([std_errors[k] ** 2 for k in names]) if names else np.zeros((0, 0))
    if not names and not theta_se:
        raise ParameterError("std_errors", "Monte Carlo draws need standard errors or a covariance (vcov) of "
                                           "the coefficients")
    mean = [costs[k] for k in names]
    theta_index = None
    if theta_se:
        theta_index = len(names)
        names = names + ["theta"]
        mean.append(theta)
        big = np.zeros((len(names), len(names)))
        big[:-1, :-1] = cov
        big[-1, -1] = theta_se ** 2
        cov = big
    positive = np.zeros(len(names), bool)
    if theta_index is not None:
        positive[theta_index] = True
    run = partial(_mc_one, names=names, theta_index=theta_index, theta=theta, frame=frame, costs=costs, **kw)
    signature = None
    if results is not None:
        import hashlib
        import json

        digest = hashlib.sha1(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()).hexdigest()
        signature = {"data": digest, "names": names, "theta": theta,
                     "settings": json.loads(json.dumps({"costs": costs, **kw}, sort_keys=True, default=str))}
    return monte_carlo(run, np.array(mean), cov, draws=draws, seed=seed, n_jobs=n_jobs, scheduler=scheduler,
                       results=results, signature=signature, positive=positive, progress=progress)
