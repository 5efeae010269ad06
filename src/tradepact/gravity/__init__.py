"""Structural gravity estimation: PPML-HDFE (and OLS with the same fixed effects).

Public API::

    from tradepact.gravity import ppml, ols, build_panel, ppml_by
    res = ppml(df, "trade ~ RTA + RTA_LAG4 | exp_year + imp_year + pair_id")
    res.params, res.bse, res.lincom({"RTA": 1, "RTA_LAG4": 1}), res.fixef()
    by_sector = ppml_by(df, "trade ~ RTA | exp_year + imp_year + pair_id", by="sector")  # all cores

Modules: ``formula`` (fixest-style formula parser), ``panel`` (panel builder and CEPII /
USITC-DGD loaders), ``engine`` (the estimators), ``covariance`` (SE estimators and small-sample
conventions), ``separation`` (all-zero FE groups, iterative rectifier), ``results``
(tables, plots, JSON), ``by_group`` (one model per sector on all cores).
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from tradepact.gravity.formula import Formula, parse_formula
from tradepact.gravity.engine import _DEFAULT, estimate
from tradepact.gravity.results import GravityResults, coefplot, etable

__all__ = ["ppml", "ols", "ppml_by", "build_panel", "GravityResults", "etable", "coefplot", "parse_formula", "Formula"]


def ppml(data: pd.DataFrame, formula: str, vcov: Any = None, cluster: Any = _DEFAULT, weights=None, offset=None,
         tol: float = 1e-8, **kw) -> GravityResults:
    """PPML with absorbed fixed effects.

    Parameters
    ----------
    data : DataFrame with every column the formula names (trade in USD millions or any unit).
    formula : ``"y ~ x1 + x2 | fe1 + fe2"`` (fixest syntax; ``a^b`` combines FE, ``a:b`` multiplies regressors).
    vcov : ``"cluster"`` | ``"hetero"`` | ``"iid"`` | ``{"CRV1": "col"}`` (``"a+b"`` = two-way). Default: cluster
        by ``cluster`` if given, else by ``pair_id`` if that column exists, else hetero.
    cluster : column name or list of 1–2 names for clustered SE.
    weights, offset : column name or array of length ``len(data)``.
    tol : convergence tolerance on the relative deviance change (default 1e-8).
    Keyword options: ``ssc`` ("fixest" default | "stata" | "none", see
    :mod:`tradepact.gravity.covariance`), ``separation`` (default ``("fe", "ir")``),
    ``start`` (warm start: a previous result on the same panel, or fitted means; e.g. placebo and
    event-study fits of one panel start from the main fit and need fewer IRLS iterations),
    ``drop_singletons`` (default True, as ppmlhdfe and pyfixest; R fixest keeps them: False), ``maxiter``, ``fixef_tol``.

    Raises :class:`~tradepact.errors.NotConvergedError` rather than return a non-converged fit.
    """
    return estimate("ppml", data, formula, vcov, cluster, weights, offset, tol, **kw)


def ols(data: pd.DataFrame, formula: str, vcov: Any = None, cluster: Any = _DEFAULT, weights=None, offset=None,
        **kw) -> GravityResults:
    """Linear (e.g. log-linear) regression with the same absorbed fixed effects and SE options as :func:`ppml`."""
    kw.pop("tol", None)
    return estimate("ols", data, formula, vcov, cluster, weights, offset, **kw)


def ppml_by(data: pd.DataFrame, formula: str, by: str | list[str], n_jobs: int | None = None,
            **kw) -> dict:
    """:func:`ppml` on each group of ``data`` by ``by`` (e.g. ``"sector"``) on the execution layer:
    ``scheduler=`` "serial" | "local" (default: a Dask LocalCluster, ``n_jobs`` workers, all cores) |
    a Dask scheduler address, ``results=DIR`` to keep and resume. Returns ``{group: GravityResults}``
    and raises the first failed group; :func:`tradepact.gravity.by_group.fit_by` returns the failed
    groups instead."""
    from tradepact.gravity.by_group import estimate_by

    return estimate_by("ppml", data, formula, by, n_jobs, **kw)


def build_panel(*args, **kwargs):
    """Build an estimation panel; see :func:`tradepact.gravity.panel.build_panel`."""
    from tradepact.gravity.panel import build_panel as _bp

    return _bp(*args, **kwargs)
