"""One gravity model per group (sector, HS section, product…), the groups spread over all cores.

``estimate_by("ppml", df, "trade ~ RTA | exp_year + imp_year + pair", by="sector")`` fits the
model on each sector's rows and returns ``{sector: GravityResults}`` in sorted group order:
the results of fitting each group on its own (same code and tolerances; only the BLAS thread
count differs, which can move the last bits).

Why processes, not threads: most of a fit holds the GIL between its compiled kernels. Each worker
is started with one BLAS thread (``OPENBLAS_NUM_THREADS=1`` …): the engine's BLAS calls are
k × k products, and OpenBLAS threads spinning on a core another worker needs cancel the gain
(measured in ``bench/ppml.py``). A group that fails raises its error with the group named.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Hashable

import pandas as pd

from tradepact.errors import ConfigError, DataFormatError, TradepactError, check_choice

#: environment of the worker processes (read when NumPy's BLAS loads, i.e. at worker start)
WORKER_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _fit_one(model: str, data: pd.DataFrame, formula: str, kw: dict):
    from tradepact.gravity.engine import estimate

    return estimate(model, data, formula, **kw)


def _context():
    return mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")


def estimate_by(model: str, data: pd.DataFrame, formula: str, by: str | list[str], n_jobs: int | None = None,
                **kw: Any) -> dict[Hashable, Any]:
    """Fit ``model`` ("ppml" | "ols") with ``formula`` on each group of ``data`` by the column(s) ``by``.

    ``n_jobs``: worker processes (default: all cores; 1 = in this process). ``kw``: the options of
    :func:`tradepact.gravity.ppml` / :func:`~tradepact.gravity.ols` (vcov, cluster, weights as a
    column name, ssc, …). Returns ``{group key: GravityResults}``, keys sorted. Rows whose group is
    missing are not estimated: a warning counts them (a :class:`ConfigError` if no row has a group).
    """
    check_choice("model", model, ("ppml", "ols"))
    cols = [by] if isinstance(by, str) else list(by)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise DataFormatError(field=missing[0], expected="a column of the data (group variable)",
                              got="missing column", message=f"column {missing[0]!r} not found")
    groups = [(key, part) for key, part in data.groupby(cols[0] if len(cols) == 1 else cols, sort=True)]
    if not groups:
        raise ConfigError(f"no rows with a value of {', '.join(cols)} to estimate by")
    no_group = int(data[cols].isna().any(axis=1).sum())
    if no_group:
        warnings.warn(f"{no_group} rows have no value of {', '.join(cols)}: not estimated", stacklevel=3)
    jobs = max(1, min(n_jobs or os.cpu_count() or 1, len(groups)))
    if jobs == 1:
        out = {}
        for key, part in groups:
            out[key] = _named(key, cols, lambda: _fit_one(model, part, formula, kw))
        return out
    saved = {v: os.environ.get(v) for v in WORKER_ENV}
    os.environ.update(WORKER_ENV)  # inherited by the workers as they start
    try:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=_context()) as ex:
            futs = [(key, ex.submit(_fit_one, model, part, formula, kw)) for key, part in groups]
            return {key: _named(key, cols, fut.result) for key, fut in futs}
    finally:
        for v, old in saved.items():
            if old is None:
                os.environ.pop(v, None)
            else:
                os.environ[v] = old


def _named(key, cols, call):
    """Run ``call``; a tradepact error is re-raised naming the group it happened in."""
    try:
        return call()
    except TradepactError as exc:
        label = ", ".join(f"{c}={k!r}" for c, k in zip(cols, key if isinstance(key, tuple) else (key,)))
        raise TradepactError(f"group {label}: {type(exc).__name__}: {exc}") from exc
