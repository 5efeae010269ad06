"""The one execution layer of every fan-out (gravity by sector, placebos, GE Monte Carlo, BACI years).

``run_tasks(tasks, scheduler=..., results=DIR)`` runs independent :class:`Task` s and returns a
:class:`FanOut` with each task's value and the tasks that failed. Where they run (``scheduler``,
else ``$TRADEPACT_SCHEDULER``, else ``"local"``):

* ``"serial"`` — one after the other in this process;
* ``"local"`` — a Dask ``LocalCluster`` of worker processes (one per core, one thread each);
* ``"tcp://host:8786"`` — the address of a running Dask scheduler (workers on other machines).

Dask distributed is the only cluster engine: tradepact submits tasks and collects results as they
complete; scheduling, load balancing and re-running a task whose worker died
(``distributed.scheduler.allowed-failures``) are Dask's.

Threads: each worker runs one task at a time with one BLAS and one numba thread (environment
set at worker start in ``local``; threadpoolctl and ``numba.set_num_threads`` in the task wrapper
on workers someone else started). A fit's BLAS calls are small k × k products and its numba
kernels run a parallel region per demeaning call; left at their defaults, each worker spins
threads on the cores the other workers need and two workers are no faster than one.

Data: tasks should carry a *reference* to their rows (:class:`ParquetRef`, a Parquet path and a
filter), not the rows, so that workers on other machines read shared storage.

Results directory (``results=DIR``): each finished task's value is written to ``DIR/tasks/`` as it
completes (pickle, written atomically; only load results directories you wrote yourself); a run
with the same tasks and the same ``signature`` skips the tasks already there. A task that raises
is reported in :attr:`FanOut.failed` (with its label and the error) and does not stop the others;
it is run again on the next run.
"""
from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from tradepact.errors import ConfigError, TradepactError

SCHEDULER_ENV = "TRADEPACT_SCHEDULER"
#: environment of local worker processes, read as NumPy's BLAS and numba load
WORKER_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "NUMBA_NUM_THREADS": "1", "MALLOC_TRIM_THRESHOLD_": "65536"}
#: seconds to wait for a scheduler address to answer
CONNECT_TIMEOUT = 5.0
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$|^[\w.\-]+:\d+$")


# ----------------------------------------------------------------------------- the scheduler
def resolve_scheduler(scheduler: str | None = None) -> str:
    """``"serial"``, ``"local"`` or a scheduler address, from ``scheduler`` or ``$TRADEPACT_SCHEDULER``."""
    value = (scheduler or os.environ.get(SCHEDULER_ENV) or "local").strip()
    if value.lower() in ("serial", "local"):
        return value.lower()
    if _ADDRESS.match(value):
        return value if "://" in value else f"tcp://{value}"
    raise ConfigError(f"scheduler must be 'serial', 'local' or a Dask scheduler address such as "
                      f"tcp://host:8786, not {value!r}")


def local_workers() -> int:
    """Workers of a ``local`` cluster: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _start_method() -> str:
    """How local workers start: ``fork`` where the platform has it (a worker starts with the modules
    this process already imported: no second ~2-6 s import of pandas, SciPy and numba's kernels per
    worker, which cancelled the gain of two workers on two cores), unless Dask's
    ``distributed.worker.multiprocessing-method`` was set to something other than its default."""
    import multiprocessing

    import dask

    chosen = dask.config.get("distributed.worker.multiprocessing-method", "spawn")
    if chosen != "spawn" or "fork" not in multiprocessing.get_all_start_methods():
        return chosen
    return "fork"


def _has_bokeh() -> bool:
    import importlib.util

    return importlib.util.find_spec("bokeh") is not None


class _Cluster:
    """A Dask client on a new LocalCluster or on a running scheduler; closes what it started."""

    def __init__(self, scheduler: str, n_workers: int | None = None):
        import logging

        from distributed import Client, LocalCluster

        self.cluster = None
        self._config = None
        self.started_at = time.perf_counter()
        if scheduler == "local":
            import dask

            # kept while the cluster lives: a nanny restarting a dead worker starts it the same way
            # (a spawned worker would re-run the console script, which has no __main__ guard)
            self._config = dask.config.set({"distributed.worker.multiprocessing-method": _start_method()})
            self.cluster = LocalCluster(n_workers=n_workers or local_workers(), threads_per_worker=1, processes=True,
                                        silence_logs=logging.ERROR, env=dict(WORKER_ENV),
                                        dashboard_address=":0")  # a free port (the dashboard needs bokeh)
            self.client = Client(self.cluster, set_as_default=False)
        else:
            try:
                self.client = Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError) as exc:
                raise TradepactError(f"the Dask scheduler at {scheduler} did not answer within "
                                     f"{CONNECT_TIMEOUT:g} s ({type(exc).__name__}); is it running? "
                                     f"(start one with: dask scheduler)") from None
        self.start_seconds = time.perf_counter() - self.started_at

    @property
    def dashboard(self) -> str | None:
        """The Dask dashboard's link when the scheduler serves one (it needs bokeh there), else None."""
        try:
            if self.client.scheduler_info().get("services", {}).get("dashboard") and \
                    self.client.run_on_scheduler(_has_bokeh):
                return self.client.dashboard_link
        except Exception:  # noqa: BLE001 - the link is a courtesy
            pass
        return None

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            try:
                if self.cluster is not None:
                    self.cluster.close()
            finally:
                if self._config is not None:
                    self._config.__exit__(None, None, None)


# ----------------------------------------------------------------------------- tasks and data
@dataclass(frozen=True)
class ParquetRef:
    """A reference to rows: a Parquet file (or dataset directory) on storage every worker sees, and
    either ``row_groups`` (indices in the file: the fastest read) or a pyarrow ``filters`` list (e.g.
    ``[("sector", "==", "S01")]``) selecting the rows; ``columns`` to read (default all)."""

    path: str
    filters: tuple | None = None
    columns: tuple | None = None
    row_groups: tuple | None = None

    def read(self):
        """The referenced rows as a DataFrame."""
        import pandas as pd

        try:
            if self.row_groups is not None:
                import pyarrow.parquet as pq

                cols = list(self.columns) if self.columns else None
                return pq.ParquetFile(self.path).read_row_groups(list(self.row_groups), columns=cols).to_pandas()
            return pd.read_parquet(self.path, filters=[tuple(f) for f in self.filters] if self.filters else None,
                                   columns=list(self.columns) if self.columns else None)
        except FileNotFoundError:
            raise TradepactError(f"{self.path}: no such file on this worker (workers must see the data path; "
                                 "see README 'Running on a cluster')") from None


@dataclass(frozen=True)
class Task:
    """One unit of work: ``fn(*args, **kwargs)``. ``key`` names it in the results directory
    (letters, digits, ``._=-``; see :func:`task_key`); ``label`` is what reports show (JSON-safe)."""

    key: str
    fn: Callable
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: Any = None


class Shared:
    """A large input many tasks use (a design matrix, a panel): put ``Shared(value)`` among a task's
    arguments and it is sent to each worker once (Dask ``scatter(broadcast=True)``), not with every
    task; the task function receives ``value`` itself."""

    def __init__(self, value: Any):
        self.value = value


def task_key(label: Any) -> str:
    """A stable, file-name-safe key for a task label (readable prefix + hash of its repr)."""
    text = re.sub(r"[^A-Za-z0-9._=-]+", "_", str(label))[:40].strip("_") or "task"
    return f"{text}-{hashlib.sha1(repr(label).encode()).hexdigest()[:10]}"


@dataclass
class TaskFailure:
    key: str
    label: Any
    error: str  # "ErrorType: message"


@dataclass
class FanOut:
    """What a fan-out gave: ``values`` {key: value} of the tasks that succeeded (in task order),
    ``failed`` tasks, how many were ``resumed`` from the results directory and how many computed,
    and timings (seconds): ``start_seconds`` (cluster start or connection), ``wall_seconds`` (the whole
    run) and ``task_seconds`` {key: seconds inside the task function, where it ran}."""

    values: dict[str, Any]
    failed: list[TaskFailure]
    labels: dict[str, Any]
    scheduler: str
    resumed: int = 0
    computed: int = 0
    start_seconds: float = 0.0
    wall_seconds: float = 0.0
    task_seconds: dict[str, float] = field(default_factory=dict)
    workers: int = 1
    dashboard: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failed


# ----------------------------------------------------------------------------- worker side
_PINNED = False


def _pin_threads() -> None:
    """One BLAS/OpenMP thread in this worker process, one numba thread in this worker thread."""
    global _PINNED
    if not _PINNED:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
        _PINNED = True
    nb = sys.modules.get("numba")
    if nb is not None:
        try:
            nb.set_num_threads(1)
        except Exception:  # noqa: BLE001 - a numba without threading layer: nothing to pin
            pass


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _call(fn: Callable, args: tuple, kwargs: dict, pin: bool = True):
    """Run one task where it was sent: ``("ok", value, seconds)`` or ``("error", message, seconds)``.

    Errors are returned, not raised: a task with bad data fails once and is reported, while a
    worker that dies under a task is Dask's to retry elsewhere."""
    if pin:
        _pin_threads()
    t0 = time.perf_counter()
    try:
        value = fn(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - reported per task, the run goes on
        if not isinstance(exc, TradepactError) and os.environ.get("TRADEPACT_DEBUG"):
            traceback.print_exc()
        return "error", _describe(exc), time.perf_counter() - t0
    return "ok", value, time.perf_counter() - t0


# ----------------------------------------------------------------------------- results directory
class ResultsDir:
    """``DIR/run.json`` (what run this is) and ``DIR/tasks/<key>.pkl`` (one finished task each)."""

    def __init__(self, path: str | Path, signature: dict | None):
        self.path = Path(path)
        self.tasks = self.path / "tasks"
        self.signature = json.loads(json.dumps(signature or {}, sort_keys=True, default=str))
        meta = self.path / "run.json"
        if meta.exists():
            try:
                old = json.loads(meta.read_text()).get("signature")
            except (OSError, ValueError, AttributeError) as exc:
                raise ConfigError(f"{meta}: not a tradepact results file ({exc})") from None
            if old != self.signature:
                diff = sorted(k for k in set(old or {}) | set(self.signature)
                              if (old or {}).get(k) != self.signature.get(k))
                raise ConfigError(f"results directory {self.path} holds another run (differs in "
                                  f"{', '.join(diff) or 'its settings'}); use another --results directory")
        self.tasks.mkdir(parents=True, exist_ok=True)
        if not meta.exists():
            _atomic_write(meta, json.dumps({"signature": self.signature}, indent=1).encode())

    def done(self, keys: Iterable[str]) -> dict[str, Any]:
        out = {}
        for k in keys:
            f = self.tasks / f"{k}.pkl"
            if f.exists():
                try:
                    with open(f, "rb") as fh:
                        out[k] = pickle.load(fh)
                except Exception:  # noqa: BLE001 - a torn or foreign file: compute it again
                    continue
        return out

    def save(self, key: str, value: Any) -> None:
        _atomic_write(self.tasks / f"{key}.pkl", pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))

    def save_failures(self, failed: list[TaskFailure]) -> None:
        _atomic_write(self.path / "failed.json", json.dumps(
            [{"key": f.key, "label": f.label, "error": f.error} for f in failed], indent=1, default=str).encode())


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# ----------------------------------------------------------------------------- progress
class _Bar:
    """A rich progress bar on stderr (done / total, failures, elapsed, ETA), or nothing."""

    def __init__(self, enabled: bool, description: str, total: int, done: int):
        self.bar = None
        self.failed = 0
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.console = Console(stderr=True)
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("[red]{task.fields[failed]}"), TimeElapsedColumn(), TextColumn("ETA"),
                            TimeRemainingColumn(), console=self.console, transient=True)
        self.bar.start()
        self.task = self.bar.add_task(description, total=total, completed=done, failed="")

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.console.print(text, highlight=False, soft_wrap=True)

    def advance(self, failed: bool) -> None:
        if self.bar is None:
            return
        self.failed += failed
        self.bar.update(self.task, advance=1, failed=f"{self.failed} failed" if self.failed else "")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# ----------------------------------------------------------------------------- the one entry point
def run_tasks(tasks: Sequence[Task], *, scheduler: str | None = None, results: str | Path | None = None,
              signature: dict | None = None, description: str = "tasks", progress: bool = False,
              n_workers: int | None = None, on_result: Callable[[str, Any], None] | None = None) -> FanOut:
    """Run ``tasks`` on ``scheduler`` (see module docstring); return a :class:`FanOut`.

    ``results``: directory where each finished task is kept (resume on re-run); ``signature``: what
    makes two runs the same (settings, a hash of the data): a directory holding another run is refused.
    ``progress``: show a rich progress bar on stderr. ``n_workers``: workers of a ``local`` cluster
    (default: one per core). ``on_result(key, value)`` is called as each task succeeds.
    """
    t_run = time.perf_counter()
    sched = resolve_scheduler(scheduler)
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ConfigError("task keys must be unique")
    labels = {t.key: t.label for t in tasks}
    store = ResultsDir(results, signature) if results is not None else None
    values: dict[str, Any] = store.done(keys) if store else {}
    resumed = len(values)
    todo = [t for t in tasks if t.key not in values]
    out = FanOut(values={}, failed=[], labels=labels, scheduler=sched, resumed=resumed)
    bar = _Bar(progress, description, len(tasks), resumed)
    if resumed:
        bar.note(f"resumed {resumed} of {len(tasks)} {description} from {results}")

    def finish(task: Task, status: str, value: Any, seconds: float) -> None:
        out.task_seconds[task.key] = seconds
        if status == "ok":
            values[task.key] = value
            out.computed += 1
            if store:
                store.save(task.key, value)
            if on_result:
                on_result(task.key, value)
        else:
            out.failed.append(TaskFailure(task.key, task.label, value))
        bar.advance(status != "ok")

    try:
        if not todo:
            pass
        elif sched == "serial":
            for t in todo:
                args = tuple(a.value if isinstance(a, Shared) else a for a in t.args)
                finish(t, *_call(t.fn, args, t.kwargs, pin=False))
        else:
            _run_dask(todo, sched, n_workers, out, bar, finish)
    finally:
        bar.close()
    out.values = {k: values[k] for k in keys if k in values}
    order = {k: i for i, k in enumerate(keys)}
    out.failed.sort(key=lambda f: order[f.key])
    if store:
        store.save_failures(out.failed)
    out.wall_seconds = time.perf_counter() - t_run
    return out


def _run_dask(todo: list[Task], sched: str, n_workers: int | None, out: FanOut, bar: _Bar, finish) -> None:
    from distributed import as_completed

    cl = _Cluster(sched, n_workers)
    try:
        out.start_seconds = cl.start_seconds
        out.workers = len(cl.client.scheduler_info().get("workers", {})) or 1
        out.dashboard = cl.dashboard
        if out.dashboard:
            bar.note(f"Dask dashboard: {out.dashboard}")
        run = uuid.uuid4().hex[:8]
        scattered: dict[int, Any] = {}
        for t in todo:
            for a in t.args:
                if isinstance(a, Shared) and id(a) not in scattered:
                    scattered[id(a)] = cl.client.scatter(a.value, broadcast=True, hash=False)
        futures = {}
        for t in todo:
            args = tuple(scattered[id(a)] if isinstance(a, Shared) else a for a in t.args)
            fut = cl.client.submit(_call, t.fn, args, t.kwargs, key=f"tradepact-{run}-{t.key}", pure=False)
            futures[fut.key] = (fut, t)
        for fut in as_completed([f for f, _ in futures.values()], loop=cl.client.loop):
            task = futures[fut.key][1]
            if fut.status == "finished":
                finish(task, *fut.result())
            else:  # the task could not run: its workers died (KilledWorker) or it was cancelled
                exc = fut.exception()
                msg = _describe(exc) if exc is not None else f"task {fut.status}"
                if type(exc).__name__ == "KilledWorker":
                    msg = f"KilledWorker: the workers running it died {_allowed_failures()} times"
                finish(task, "error", msg, 0.0)
            fut.release()
    finally:
        cl.close()


def _allowed_failures() -> int:
    import dask

    return int(dask.config.get("distributed.scheduler.allowed-failures")) + 1


__all__ = ["run_tasks", "Task", "TaskFailure", "FanOut", "ParquetRef", "Shared", "ResultsDir", "resolve_scheduler",
           "task_key", "local_workers", "SCHEDULER_ENV", "WORKER_ENV"]
