"""Monte Carlo confidence bands: draw elasticities/coefficients, re-solve, summarize.

``monte_carlo(run, mean, cov, draws=500)`` draws parameter vectors from
``N(mean, cov)`` (e.g. an estimate's coefficients and covariance, or θ with its standard
error), calls ``run(params) -> DataFrame`` (one row per country with numeric columns,
typically ``GEResult.to_frame()``) for every draw, and returns the long frame of draws
plus per-country quantile bands for every numeric output.

Parallelism: draws are split into chunks and mapped over a
:class:`concurrent.futures.Executor` — by default a process pool with one worker per core
(``n_jobs``); pass ``executor=`` to use another (e.g. ``dask.distributed.Client().get_executor()``).
``run`` must be picklable (a module-level function or ``functools.partial`` of one).
Draws that fail to converge are counted and dropped, never silently kept.
"""
from __future__ import annotations

import os
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError, NotConvergedError
from tradepact.results import Result, records


@dataclass(repr=False)
class MonteCarloResult(Result):
    """Monte Carlo draws (``draws``: one row per draw and country) and per-country quantile bands
    (``bands``: ``country, <output>_lo, <output>_median, <output>_hi``); :meth:`to_frame` is the bands."""

    kind = "monte_carlo"

    draws: pd.DataFrame
    bands: pd.DataFrame
    failed: int
    n_draws: int
    quantiles: tuple[float, float]

    def to_frame(self) -> pd.DataFrame:
        return self.bands.copy()

    def summary(self) -> str:
        lo, hi = self.quantiles
        return (f"Monte Carlo: {self.n_draws - self.failed} of {self.n_draws} draws converged; "
                f"bands are the {lo:g} and {hi:g} quantiles over {len(self.bands)} countries")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "draws": self.n_draws, "failed": self.failed, "quantiles": list(self.quantiles),
                "bands": records(self.bands)}


def _run_chunk(run: Callable, params: np.ndarray, start: int):
    frames, failed = [], 0
    for k, p in enumerate(params):
        try:
            f = run(p)
        except NotConvergedError:
            failed += 1
            continue
        f = f.copy()
        f.insert(0, "draw", start + k)
        frames.append(f)
    return frames, failed


def monte_carlo(run: Callable[[np.ndarray], pd.DataFrame], mean, cov, draws: int = 500, *, seed: int = 0,
                n_jobs: int | None = None, executor: Executor | None = None,
                quantiles: tuple[float, float] = (0.025, 0.975), key: str = "country",
                positive: np.ndarray | None = None, progress: Callable[[int], None] | None = None
                ) -> MonteCarloResult:
    """Solve ``run`` at ``draws`` parameter draws; return draws and quantile bands.

    ``positive``: boolean mask of parameters that must stay > 0 (e.g. θ); draws violating it
    are redrawn (truncated normal).
    """
    mean = np.atleast_1d(np.asarray(mean, float))
    cov = np.atleast_2d(np.asarray(cov, float))
    if cov.shape != (mean.size, mean.size):
        raise ConfigError(f"covariance must be {mean.size}x{mean.size}, got {cov.shape}")
    if draws < 2:
        raise ConfigError("draws must be >= 2")
    rng = np.random.default_rng(seed)
    params = rng.multivariate_normal(mean, cov, size=draws, method="eigh")
    if positive is not None:
        pos = np.asarray(positive, bool)
        for _ in range(100):
            bad = np.any(params[:, pos] <= 0, axis=1)
            if not bad.any():
                break
            params[bad] = rng.multivariate_normal(mean, cov, size=int(bad.sum()), method="eigh")
        else:
            raise ConfigError("could not draw positive elasticities; check the standard errors")
    n_jobs = n_jobs or os.cpu_count() or 1
    chunks = np.array_split(np.arange(draws), max(1, min(draws, n_jobs * 4)))
    frames, failed = [], 0
    if n_jobs == 1 and executor is None:
        for ch in chunks:
            fr, fa = _run_chunk(run, params[ch], int(ch[0]))
            frames += fr
            failed += fa
            if progress:
                progress(len(ch))
    else:
        own = executor is None
        ex = executor or ProcessPoolExecutor(max_workers=n_jobs)
        try:
            futs = [ex.submit(_run_chunk, run, params[ch], int(ch[0])) for ch in chunks]
            for fut, ch in zip(futs, chunks):
                fr, fa = fut.result()
                frames += fr
                failed += fa
                if progress:
                    progress(len(ch))
        finally:
            if own:
                ex.shutdown()
    if not frames:
        raise NotConvergedError(f"none of the {draws} Monte Carlo draws converged")
    long = pd.concat(frames, ignore_index=True)
    num = [c for c in long.columns if c not in ("draw", key) and pd.api.types.is_numeric_dtype(long[c])
           and not pd.api.types.is_bool_dtype(long[c])]
    g = long.groupby(key, sort=False)[num]
    lo, med, hi = g.quantile(quantiles[0]), g.median(), g.quantile(quantiles[1])
    bands = pd.concat({"lo": lo, "median": med, "hi": hi}, axis=1)
    bands.columns = [f"{c}_{s}" for s, c in bands.columns]
    bands = bands[[f"{c}_{s}" for c in num for s in ("lo", "median", "hi")]].reset_index()
    return MonteCarloResult(long, bands, failed, draws, quantiles)
