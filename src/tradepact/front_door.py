"""The front door: one documented function per job, reachable as ``tradepact.<name>``.

``import tradepact`` stays light (version and errors only); each name here loads its engine
on first use through :func:`tradepact.__getattr__`. Every function takes tidy frames or
plain values and returns a result with the shared protocol of :class:`tradepact.results.Result`
(``summary()``, ``to_frame()``, ``to_dict()``, ``to_json()``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from tradepact.agreements.io import load_agreement as _load_agreement
from tradepact.agreements.schema import Agreement
from tradepact.errors import ParameterError
from tradepact.gravity import ols as _ols
from tradepact.gravity import ppml as _ppml
from tradepact.gravity.expost import ExPostResult
from tradepact.gravity.expost import expost as _expost
from tradepact.gravity.results import GravityResults
from tradepact.ledger.store import LedgerStore
from tradepact.simulate.ge.baseline import Baseline
from tradepact.simulate.ge.equilibrium import Shock
from tradepact.simulate.ge.results import GEResult
from tradepact.simulate.ge.solver import DEFAULT_TOL
from tradepact.simulate.ge.solver import solve as _solve
from tradepact.simulate.pe import PEResult, PESettings
from tradepact.simulate.pe import simulate_pe as _simulate_pe
from tradepact.simulate.scenario import Scenario, ScenarioResult
from tradepact.simulate.scenario import run_scenario as _run_scenario

__all__ = ["ppml", "ols", "simulate_pe", "run_scenario", "solve_ge", "expost", "load_agreement", "LedgerStore"]


def _formula_and_data(formula: Any, data: Any) -> tuple[str, pd.DataFrame]:
    """Accept ``(formula, data)`` as pyfixest orders them, or ``(data, formula)``."""
    if isinstance(formula, pd.DataFrame) and isinstance(data, str):
        formula, data = data, formula
    if not isinstance(formula, str):
        raise ParameterError("formula", f"expected a formula such as 'trade ~ rta | exp_year + imp_year', "
                                        f"got {type(formula).__name__}")
    if not isinstance(data, pd.DataFrame):
        raise ParameterError("data", f"expected a pandas DataFrame, got {type(data).__name__}")
    return formula, data


def ppml(formula: str | pd.DataFrame, data: pd.DataFrame | str, *, vcov: Any = None, cluster: Any = None,
         weights: Any = None, offset: Any = None, tol: float = 1e-8, **options: Any) -> GravityResults:
    """Structural gravity by PPML (Poisson pseudo-maximum likelihood) with absorbed fixed effects.

    Parameters
    ----------
    formula : str
        fixest syntax, ``"y ~ x1 + x2 | fe1 + fe2"``; ``a^b`` interacts fixed effects. Given as
        ``ppml(formula=..., data=...)`` like pyfixest's ``fepois``; positional ``(data, formula)``
        is accepted too.
    data : pandas.DataFrame
        One row per observation with every column the formula names (trade values in any
        unit, e.g. USD millions; zero flows are kept).
    vcov : {"cluster", "hetero", "iid"} or dict, optional
        Standard errors. Default: clustered by ``cluster`` if given, else by ``pair_id`` when that
        column exists, else heteroskedasticity-robust. ``{"CRV1": "a+b"}`` clusters two ways.
    cluster : str or list of str, optional
        Column(s) to cluster by (one or two).
    weights, offset : str or array-like, optional
        Column name or array of length ``len(data)``.
    tol : float, default 1e-8
        Convergence tolerance on the relative change of the deviance.
    **options
        ``ssc`` ("fixest" | "stata" | "none"), ``separation``, ``drop_singletons``, ``maxiter``,
        ``fixef_tol``: see :func:`tradepact.gravity.ppml`.

    Returns
    -------
    GravityResults
        Coefficients (``params``, ``bse``, ``vcov``), rows used and dropped by reason, fixed
        effects on demand; ``to_frame()`` is ``term, estimate, se, statistic, p_value, conf_low,
        conf_high``.

    Raises
    ------
    ConfigError
        A bad formula, option or column name (``ParameterError`` names the parameter).
    DataFormatError
        Non-numeric or negative values where numbers are needed.
    NotConvergedError
        The iterations did not reach ``tol`` (never a silently unconverged result).
    """
    formula, data = _formula_and_data(formula, data)
    if cluster is not None:
        options["cluster"] = cluster
    return _ppml(data, formula, vcov=vcov, weights=weights, offset=offset, tol=tol, **options)


def ols(formula: str | pd.DataFrame, data: pd.DataFrame | str, *, vcov: Any = None, cluster: Any = None,
        weights: Any = None, offset: Any = None, **options: Any) -> GravityResults:
    """Linear regression (e.g. log trade) with the same absorbed fixed effects and standard errors as :func:`ppml`.

    Parameters
    ----------
    formula : str
        fixest syntax, ``"ln_trade ~ ln_dist | exp_year + imp_year"``.
    data : pandas.DataFrame
        One row per observation with every column the formula names.
    vcov, cluster, weights, offset, **options
        As for :func:`ppml`.

    Returns
    -------
    GravityResults
        As for :func:`ppml` (``statistic`` is a t statistic).

    Raises
    ------
    ConfigError
        A bad formula, option or column name.
    DataFormatError
        Non-numeric values where numbers are needed.
    """
    formula, data = _formula_and_data(formula, data)
    if cluster is not None:
        options["cluster"] = cluster
    return _ols(data, formula, vcov=vcov, weights=weights, offset=offset, **options)


def simulate_pe(frame: pd.DataFrame, settings: PESettings | None = None) -> PEResult:
    """Product-level partial equilibrium (SMART) for a frame of flows and tariff changes.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per flow and year: ``importer, exporter`` (ISO3), ``hs`` (HS code as text),
        ``year``, ``import_value`` (USD millions), ``rate_before, rate_after`` (ad valorem
        fractions, 0.08 = 8%); optional per-row elasticities and quota columns (see
        :func:`tradepact.simulate.pe.simulate_pe`).
    settings : PESettings, optional
        Elasticities and functional form (default: SMART, substitution elasticity 1.5,
        infinite export supply).

    Returns
    -------
    PEResult
        One row per input row with trade creation, diversion, price effects, tariff revenue,
        consumer surplus and quota rents (USD millions); ``aggregate()`` sums by HS2 or sector.

    Raises
    ------
    DataFormatError
        A missing column or a bad value, naming the row and column.
    ConfigError
        A bad setting.
    """
    return _simulate_pe(frame, settings)


def run_scenario(scenario: str | Path | dict | Scenario, *,
                 progress: Callable[[int, int], None] | None = None) -> ScenarioResult:
    """Run a policy scenario (tariff, quota or trade-cost changes) along its years.

    Parameters
    ----------
    scenario : str, pathlib.Path, dict or Scenario
        A built-in name (``"auto-tariff-25"``, see ``tradepact scenarios``), a YAML file, or
        the scenario as a dict.
    progress : callable, optional
        Called as ``progress(done, total)`` per Monte Carlo draw.

    Returns
    -------
    ScenarioResult
        Per flow and year the PE effects (USD millions) next to their inputs, totals,
        breakdowns by HS2 and sector, and GE results when the scenario asks for them.

    Raises
    ------
    ConfigError
        An invalid scenario (the message names the file and field); nothing runs.
    DataFormatError
        Bad rows in the scenario's data file.
    """
    return _run_scenario(scenario, progress=progress)


def solve_ge(baseline: Baseline, shock: Shock | None = None, *, closure: str = "full",
             deficits: str = "multiplicative", reference: str | None = None,
             tol: float = DEFAULT_TOL) -> GEResult:
    """A general-equilibrium counterfactual of structural gravity (exact hat algebra).

    Parameters
    ----------
    baseline : Baseline
        The world before the change: trade flows including domestic sales (``Baseline.from_frame``,
        ``Baseline.from_matrix``, ``Baseline.fitted``), trade elasticity θ and tariffs.
    shock : Shock, optional
        Trade-cost and tariff changes (``Shock.bilateral_tariffs``, ``Shock.from_costs``);
        default no change.
    closure : {"full", "conditional", "gegravity"}, default "full"
        Full endowment, multilateral resistances only, or gegravity 0.3's closure.
    deficits : {"multiplicative", "additive"}, default "multiplicative"
        Trade deficits held as shares of output or as levels.
    reference : str, optional
        ISO3 code whose price index is the numeraire (default: world income held fixed).
    tol : float, default 1e-10
        Largest relative excess demand accepted.

    Returns
    -------
    GEResult
        Per country welfare, real GDP, prices, exports, imports and balances (``to_frame()``),
        per pair (``pairs()``), and the solver's report.

    Raises
    ------
    ParameterError
        An unknown closure or deficits option (with a suggestion for a near miss).
    NotConvergedError
        The equilibrium was not reached within ``tol``.
    """
    return _solve(baseline, shock, closure=closure, deficits=deficits, reference=reference, tol=tol)


def expost(agreement: int | str, country: str | None = None, *, panel: pd.DataFrame | None = None,
           window: tuple[int, int] | None = None, placebos: int = 0, seed: int = 0,
           rank_agreements: bool = False) -> ExPostResult:
    """Did an agreement raise its members' trade? Ex-post structural gravity on a real panel.

    PPML with exporter-year, importer-year and pair fixed effects, standard errors clustered by pair:
    the country's exports to and imports from its partners under the agreement, every other
    agreement in force, an event study with a pre-trend test, placebo pairs and window sensitivity.

    Parameters
    ----------
    agreement : int or str
        World Bank Deep Trade Agreements id (KORUS is 211) or a name that identifies one agreement.
    country : str, optional
        ISO3 code of a party whose trade is measured (default USA when a party, else the first party).
    panel : pandas.DataFrame, optional
        ``exporter, importer, year, value`` (USD millions, zeros kept) and ``agreement_id``; default the
        built-in UN Comtrade x World Bank DTA panel (1964-2016, every four years).
    window : (int, int), optional
        First and last year (default 1988-2016, clipped to the panel).
    placebos : int
        Number of placebo pairs refitted for the permutation p-value (0 = none).
    seed : int
        Seed of the placebo draw.
    rank_agreements : bool
        Also rank every agreement of ``country`` by its own exports term.

    Returns
    -------
    ExPostResult
        ``terms`` (exports, imports, other_agreements: estimate, se, pct, ci95, usd_mn), event study,
        placebo p-values and sensitivity; ``to_dict()`` is the JSON contract of ``tradepact expost``.

    Raises
    ------
    ConfigError
        An agreement not in the panel, a country not party to it, or a window without pre or post years.
    """
    names = None
    if panel is None:
        from tradepact.data import dta_agreements, dta_panel

        panel, names = dta_panel(), dta_agreements()
    return _expost(panel, agreement, country, window=window, placebos=placebos, seed=seed, names=names,
                   rank_agreements=rank_agreements)


def load_agreement(name_or_path: str | Path) -> Agreement:
    """An agreement as data: built-in by name (``"korus"``) or from a YAML file.

    Parameters
    ----------
    name_or_path : str or pathlib.Path
        A built-in name (see ``tradepact agreements``) or the path of an agreement YAML file.

    Returns
    -------
    Agreement
        Validated schedule lines, staging categories, quotas and amendments; query it with
        :func:`tradepact.agreements.rate` / :func:`~tradepact.agreements.rates`.

    Raises
    ------
    ConfigError
        Unknown name or missing file.
    DataFormatError
        An invalid file; the message names the file, the field path and the line.
    """
    return _load_agreement(name_or_path)

