"""Monte Carlo confidence bands: draw elasticities/coefficients, re-solve, summarize.

``monte_carlo(run, mean, cov, draws=500)`` draws parameter vectors from
``N(mean, cov)`` (e.g. an estimate's coefficients and covariance, or θ with its standard
error), calls ``run(params) -> DataFrame`` (one row per country with numeric columns,
typically ``GEResult.to_frame()``) for every draw, and returns the long frame of draws
plus per-country quantile bands for every numeric output.

Parallelism: draws are split into chunks (tasks) run through :mod:`tradepact.execution` —
``scheduler`` "serial", "local" (a Dask LocalCluster, the default) or a Dask scheduler address;
``results=DIR`` keeps each finished chunk so that a re-run draws the same parameters and solves
only the missing chunks. ``run`` must be picklable off this process (a module-level function or
``functools.partial`` of one). Draws that fail to converge are counted and dropped, never
silently kept; a chunk that raises is reported in ``errors`` and its draws counted as failed.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
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
    errors: list[str] = field(default_factory=list)  # "draws a-b: ErrorType: message" per failed chunk

    def to_frame(self) -> pd.DataFrame:
        return self.bands.copy()

    def summary(self) -> str:
        lo, hi = self.quantiles
        return (f"Monte Carlo: {self.n_draws - self.failed} of {self.n_draws} draws converged; "
                f"bands are the {lo:g} and {hi:g} quantiles over {len(self.bands)} countries")

    def to_dict(self) -> dict:
        return {"kind": self.kind, "draws": self.n_draws, "failed": self.failed, "quantiles": list(self.quantiles),
                "bands": records(self.bands), "errors": list(self.errors)}


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


#: chunks a Monte Carlo is split into (fixed, so a results directory fits any scheduler)
CHUNKS = 32


def monte_carlo(run: Callable[[np.ndarray], pd.DataFrame], mean, cov, draws: int = 500, *, seed: int = 0,
                n_jobs: int | None = None, scheduler: str | None = None, results=None,
                signature: dict | None = None, quantiles: tuple[float, float] = (0.025, 0.975),
                key: str = "country", positive: np.ndarray | None = None,
                progress: Callable[[int], None] | bool | None = None) -> MonteCarloResult:
    """Solve ``run`` at ``draws`` parameter draws; return draws and quantile bands.

    ``positive``: boolean mask of parameters that must stay > 0 (e.g. θ); draws violating it
    are redrawn (truncated normal). ``scheduler`` / ``n_jobs`` (1 = serial; else local workers) /
    ``results`` / ``signature`` (what else makes two runs the same, e.g. a hash of the data): see
    :func:`tradepact.execution.run_tasks`. ``progress``: True for a progress bar, or a callable
    given the number of draws finished.
    """
    from tradepact.execution import Shared, Task, run_tasks

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
    chunks = np.array_split(np.arange(draws), min(draws, CHUNKS))
    shared_run = Shared(run)  # the baseline data travel once to each worker, not with every chunk
    tasks = [Task(f"draws-{ch[0]:06d}-{ch[-1]:06d}", _run_chunk, (shared_run, params[ch], int(ch[0])),
                  label=f"draws {ch[0]}-{ch[-1]}") for ch in chunks]
    sizes = {t.key: len(ch) for t, ch in zip(tasks, chunks)}
    sig = None
    if results is not None:
        sig = {"kind": "monte_carlo", "params": hashlib.sha1(params.tobytes()).hexdigest(), "draws": draws,
               "quantiles": list(quantiles), "key": key, **(signature or {})}
    fan = run_tasks(tasks, scheduler="serial" if n_jobs == 1 else scheduler, results=results, signature=sig,
                    n_workers=n_jobs, description="Monte Carlo draws", progress=progress is True,
                    on_result=(lambda k, _v: progress(sizes[k])) if callable(progress) else None)
    frames, failed = [], 0
    for fr, fa in fan.values.values():
        frames += fr
        failed += fa
    errors = [f"{f.label}: {f.error}" for f in fan.failed]
    failed += sum(sizes[f.key] for f in fan.failed)
    if not frames:
        raise NotConvergedError(f"none of the {draws} Monte Carlo draws converged"
                                + (f" ({errors[0]})" if errors else ""))
    long = pd.concat(frames, ignore_index=True)
    num = [c for c in long.columns if c not in ("draw", key) and pd.api.types.is_numeric_dtype(long[c])
           and not pd.api.types.is_bool_dtype(long[c])]
    g = long.groupby(key, sort=False)[num]
    lo, med, hi = g.quantile(quantiles[0]), g.median(), g.quantile(quantiles[1])
    bands = pd.concat({"lo": lo, "median": med, "hi": hi}, axis=1)
    bands.columns = [f"{c}_{s}" for s, c in bands.columns]
    bands = bands[[f"{c}_{s}" for c in num for s in ("lo", "median", "hi")]].reset_index()
    return MonteCarloResult(long, bands, failed, draws, quantiles, errors)
