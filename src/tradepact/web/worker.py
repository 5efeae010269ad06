"""Scenario runs off the request path: a process (or thread) pool that writes into :class:`RunStore`.

The request handler validates the scenario, inserts a *queued* run and returns at once;
a worker picks it up, records progress by stage, and stores the whole result with the
final status in one transaction (:meth:`RunStore.finish`). Any exception — a scenario
error, a bug, a worker process that died — ends the run as *failed* with its error text.
"""
from __future__ import annotations

import multiprocessing
import threading
import traceback
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from tradepact.errors import TradepactError, check_choice
from tradepact.web.runs import RunStore


class RunTimeLimit(TradepactError):
    """A run went over the server's time limit."""


#: Default wall-time limit of one run, seconds (checked at each progress step, e.g. per draw).
RUN_TIME_LIMIT = 600.0


def execute_run(db_path: str, run_id: str, scenario_text: str, time_limit: float | None = RUN_TIME_LIMIT) -> str:
    """Run one saved run to completion in this worker; returns its final status.

    Never raises for a failing scenario: the failure is recorded on the run. ``time_limit``
    (seconds) is enforced at each progress step: a run over it stops and is recorded failed.
    """
    import time

    runs = RunStore(Path(db_path))
    if not runs.start(run_id):
        return "skipped"
    t0 = time.monotonic()

    def progress(fraction: float, stage: str) -> None:
        if time_limit is not None and time.monotonic() - t0 > time_limit:
            raise RunTimeLimit(f"the run went over the server's time limit of {time_limit:g} s "
                               f"(at: {stage}); use fewer draws or years, or run it with `tradepact simulate`")
        runs.progress(run_id, fraction, stage)

    try:
        from tradepact.web.services import EngineMissing, run_scenario_text
        from tradepact.web.safety import InputError

        payload, summary = run_scenario_text(scenario_text, progress)
    except (TradepactError, EngineMissing, InputError) as exc:
        runs.fail(run_id, str(exc))
        return "failed"
    except BaseException as exc:  # noqa: BLE001 - record every failure on the run
        runs.fail(run_id, f"{type(exc).__name__}: {exc}", traceback.format_exc()[-8000:])
        return "failed"
    return "done" if runs.finish(run_id, payload, summary) else "failed"


def _warm_up() -> None:
    """Import the engines once per worker process so the first run is not slow."""
    try:
        import tradepact.web.services  # noqa: F401
        import tradepact.simulate.scenario  # noqa: F401
    except ImportError:
        pass


class RunManager:
    """Submits runs to a bounded pool; ``mode`` is ``"process"`` (default) or ``"thread"``.

    ``target(db_path, run_id, scenario_text)`` is the function a worker runs (default
    :func:`execute_run`); it must be importable by name in process mode.
    """

    def __init__(self, runs: RunStore, workers: int = 2, mode: str = "process",
                 target: Callable[[str, str, str], str] = execute_run):
        check_choice("mode", mode, ("process", "thread"))
        self.runs = runs
        self.workers = max(1, int(workers))
        self.mode = mode
        self.target = target
        self._pool: Executor | None = None
        self._lock = threading.Lock()
        self._pending: dict[str, Future] = {}

    def _executor(self) -> Executor:
        with self._lock:
            if self._pool is None:
                if self.mode == "process":
                    self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                                     initializer=_warm_up)
                else:
                    self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="tradepact-run")
            return self._pool

    def start(self) -> None:
        """Create the pool now and load the engines in every worker (server start-up), so
        the first runs do not wait for processes to spawn."""
        pool = self._executor()
        if self.mode == "process":
            for _ in range(self.workers):
                pool.submit(_warm_up)

    def submit(self, run_id: str, scenario_text: str, on_done: Callable[[], None] | None = None) -> None:
        """Queue ``run_id``; returns immediately. ``on_done()`` is called once the run has ended
        (whichever way, after its final status is recorded)."""
        try:
            fut = self._executor().submit(self.target, str(self.runs.path), run_id, scenario_text)
        except Exception as exc:  # broken or shut-down pool
            self.runs.fail(run_id, f"could not start the run: {type(exc).__name__}: {exc}")
            with self._lock:
                self._pool = None  # a fresh pool next time
            if on_done is not None:
                on_done()
            return
        with self._lock:
            self._pending[run_id] = fut
        fut.add_done_callback(lambda f, rid=run_id: self._done(rid, f, on_done))

    def _done(self, run_id: str, fut: Future, on_done: Callable[[], None] | None = None) -> None:
        try:
            self._record_end(run_id, fut)
        finally:
            if on_done is not None:
                on_done()

    def _record_end(self, run_id: str, fut: Future) -> None:
        with self._lock:
            self._pending.pop(run_id, None)
        if fut.cancelled():
            self.runs.fail(run_id, "the server stopped before this run started")
            return
        exc = fut.exception()
        if exc is not None:  # the worker itself died (e.g. killed process)
            self.runs.fail(run_id, f"the worker failed: {type(exc).__name__}: {exc}")
            from concurrent.futures.process import BrokenProcessPool

            if isinstance(exc, BrokenProcessPool):
                with self._lock:
                    self._pool = None

    def active(self) -> int:
        with self._lock:
            return len(self._pending)

    def shutdown(self, wait: bool = True) -> None:
        """Stop the pool; runs not started are cancelled and recorded as failed."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait, cancel_futures=True)
