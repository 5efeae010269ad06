"""One gravity model per group (sector, HS section, product…), the groups fanned out over
:mod:`tradepact.execution` (serial, a local Dask cluster, or a running Dask scheduler).

``fit_by("ppml", df, "trade ~ RTA | exp_year + imp_year + pair", by="sector")`` fits the model on
each sector's rows and returns a :class:`ByGroupResults`: ``results`` {group: GravityResults} in
sorted group order and ``failed`` groups with their error (a failing group does not stop the
others). Each group's fit is the fit of its rows alone (same code and tolerances).

Off this process, tasks do not carry rows: the data are written once to a Parquet file sorted by
group, one row group per group (in the results directory when there is one, so workers on other
machines can read it), and each task reads its group through a :class:`~tradepact.execution.ParquetRef`.
"""
from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable

import numpy as np
import pandas as pd

from tradepact.errors import ConfigError, DataFormatError, TradepactError, check_choice
from tradepact.execution import WORKER_ENV as EXECUTION_WORKER_ENV
from tradepact.execution import FanOut, ParquetRef, Task, resolve_scheduler, run_tasks, task_key

GROUP_CODE = "_tradepact_group"
WORKER_ENV = EXECUTION_WORKER_ENV  # one BLAS/numba thread per worker (kept for callers of the old process pool)


def _context():
    """The multiprocessing context of the old process pool (kept until its last caller moves onto
    :mod:`tradepact.execution`)."""
    import multiprocessing as mp

    return mp.get_context("forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn")


def _fit_one(model: str, data: pd.DataFrame | ParquetRef, formula: str, kw: dict):
    from tradepact.gravity.engine import estimate

    if isinstance(data, ParquetRef):
        data = data.read().drop(columns=[GROUP_CODE])
    return estimate(model, data, formula, **kw)


def _json_scalar(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    return v


@dataclass
class ByGroupResults:
    """Results of one model per group: ``results`` {group: GravityResults} (sorted by group),
    ``failed`` {group: "ErrorType: message"}, and the fan-out's run figures (``run``)."""

    by: list[str]
    results: dict[Hashable, Any]
    failed: dict[Hashable, str]
    run: FanOut | None = field(default=None, repr=False)
    prepare_seconds: float = 0.0  # grouping, hashing and writing the groups' Parquet file

    @property
    def ok(self) -> bool:
        return not self.failed

    def group_label(self, key: Hashable) -> Any:
        """JSON-safe group: the value for one ``by`` column, else {column: value}."""
        if len(self.by) == 1:
            return _json_scalar(key[0] if isinstance(key, tuple) else key)
        return {c: _json_scalar(v) for c, v in zip(self.by, key)}

    def to_frame(self) -> pd.DataFrame:
        """Tidy: one row per group × term (group columns, term, estimate, se, statistic, p_value, nobs)."""
        frames = []
        for key, res in self.results.items():
            f = res.to_frame()
            vals = key if isinstance(key, tuple) else (key,)
            for c, v in reversed(list(zip(self.by, vals))):
                f.insert(0, c, v)
            f["nobs"] = res.nobs
            f["converged"] = res.converged
            frames.append(f)
        if not frames:
            return pd.DataFrame(columns=[*self.by, "term", "estimate", "se", "nobs", "converged"])
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict:
        """``{"kind", "by", "results": [{"group", "coefficients", "nobs", "converged", …}], "failed":
        [{"group", "error"}], "run": {scheduler, computed, resumed, workers}}`` (JSON-safe)."""
        run = None
        if self.run is not None:
            run = {"scheduler": self.run.scheduler, "computed": self.run.computed, "resumed": self.run.resumed,
                   "workers": self.run.workers, "seconds": round(self.run.wall_seconds, 3)}
        return {"kind": "gravity_by_group", "by": self.by[0] if len(self.by) == 1 else self.by,
                "results": [{"group": self.group_label(k), **r.to_dict()} for k, r in self.results.items()],
                "failed": [{"group": self.group_label(k), "error": e} for k, e in self.failed.items()],
                "run": run}

    def summary(self) -> str:
        lines = [f"{len(self.results)} groups by {', '.join(self.by)} estimated, {len(self.failed)} failed"]
        for k, e in self.failed.items():
            lines.append(f"  failed {self.group_label(k)!r}: {e}")
        return "\n".join(lines)


def _data_hash(data: pd.DataFrame) -> str:
    h = hashlib.sha1(pd.util.hash_pandas_object(data, index=False).to_numpy().tobytes())
    h.update(json.dumps([str(c) for c in data.columns]).encode())
    return h.hexdigest()


def _write_groups(data: pd.DataFrame, codes: np.ndarray, path: Path) -> None:
    """``data`` (+ the group code column) to Parquet sorted by group: row group ``i`` holds group ``i``
    (codes 0..G-1, every one present)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if np.all(codes[1:] >= codes[:-1]):  # already in group order (stacked panels): no copy
        frame, sorted_codes = data, codes
    else:
        order = np.argsort(codes, kind="stable")
        frame, sorted_codes = data.iloc[order], codes[order]
    table = pa.Table.from_pandas(frame, preserve_index=False).append_column(GROUP_CODE, pa.array(sorted_codes))
    bounds = np.flatnonzero(np.diff(sorted_codes)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(frame)]])
    tmp = path.with_name(path.name + ".tmp")
    with pq.ParquetWriter(tmp, table.schema) as w:
        for a, b in zip(starts, ends):
            w.write_table(table.slice(int(a), int(b - a)), row_group_size=int(b - a))
    tmp.replace(path)


def fit_by(model: str, data: pd.DataFrame, formula: str, by: str | list[str], *, scheduler: str | None = None,
           results: str | Path | None = None, n_jobs: int | None = None, progress: bool = False,
           **kw: Any) -> ByGroupResults:
    """Fit ``model`` ("ppml" | "ols") with ``formula`` on each group of ``data`` by the column(s) ``by``.

    ``scheduler``: "serial" | "local" | a Dask scheduler address (default ``$TRADEPACT_SCHEDULER``,
    else "local"); ``n_jobs``: workers of a local cluster (1 = serial). ``results``: directory that
    keeps each fitted group (a re-run with the same data and settings fits only the missing ones).
    ``kw``: the options of :func:`tradepact.gravity.ppml` / :func:`~tradepact.gravity.ols`
    (vcov, cluster, weights as a column name, ssc, …). Rows whose group is missing are not
    estimated: a warning counts them (a :class:`ConfigError` if no row has a group).
    """
    check_choice("model", model, ("ppml", "ols"))
    cols = [by] if isinstance(by, str) else list(by)
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise DataFormatError(field=missing[0], expected="a column of the data (group variable)",
                              got="missing column", message=f"column {missing[0]!r} not found")
    no_group = int(data[cols].isna().any(axis=1).sum())
    if no_group:
        warnings.warn(f"{no_group} rows have no value of {', '.join(cols)}: not estimated", stacklevel=3)
        data = data[data[cols].notna().all(axis=1)]
    if data.empty:
        raise ConfigError(f"no rows with a value of {', '.join(cols)} to estimate by")
    t0 = time.perf_counter()
    grouper = data.groupby(cols[0] if len(cols) == 1 else cols, sort=True)
    codes = grouper.ngroup().to_numpy()
    keys = list(grouper.groups.keys())
    sched = "serial" if n_jobs == 1 else resolve_scheduler(scheduler)
    labels = [k if len(cols) > 1 else (k[0] if isinstance(k, tuple) and len(k) == 1 else k) for k in keys]
    signature = None
    if results is not None:
        signature = {"kind": "gravity_by_group", "model": model, "formula": formula, "by": cols,
                     "options": json.loads(json.dumps(kw, sort_keys=True, default=str)), "data": _data_hash(data)}
    tmpdir = None
    try:
        if sched == "serial":
            refs = [g for _, g in grouper]  # in ngroup order
        else:
            if results is not None:
                where = Path(results)
                where.mkdir(parents=True, exist_ok=True)
            else:
                where = Path(tempfile.mkdtemp(prefix="tradepact-by-"))
                tmpdir = where
            path = where / "input.parquet"
            _write_groups(data, codes, path)
            refs = [ParquetRef(str(path.resolve()), row_groups=(i,)) for i in range(len(keys))]
        tasks = [Task(task_key(lab), _fit_one, (model, ref, formula, kw), label=lab) for lab, ref in zip(labels, refs)]
        prepared = time.perf_counter() - t0
        run = run_tasks(tasks, scheduler=sched, results=results, signature=signature, n_workers=n_jobs,
                        description=f"groups by {', '.join(cols)}", progress=progress)
    finally:
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
    by_key = {t.key: lab for t, lab in zip(tasks, labels)}
    out = {by_key[k]: v for k, v in run.values.items()}
    failed = {f.label: f.error for f in run.failed}
    return ByGroupResults(cols, out, failed, run, prepared)


def estimate_by(model: str, data: pd.DataFrame, formula: str, by: str | list[str], n_jobs: int | None = None,
                **kw: Any) -> dict[Hashable, Any]:
    """:func:`fit_by` returning ``{group: GravityResults}``; the first failed group is raised as a
    :class:`TradepactError` naming the group."""
    res = fit_by(model, data, formula, by, n_jobs=n_jobs, **kw)
    for key, err in res.failed.items():
        cols = res.by
        label = ", ".join(f"{c}={k!r}" for c, k in zip(cols, key if isinstance(key, tuple) else (key,)))
        raise TradepactError(f"group {label}: {err}")
    return res.results
