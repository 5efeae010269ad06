"""Per-client limits on scenario runs: at most ``max_running`` of a client's runs in the worker
pool at once, at most ``max_queued`` more waiting behind them; beyond that :class:`TooManyRuns`
(the API answers 429 with ``Retry-After``).

A client is who the auth layer says made the request (:attr:`tradepact.web.auth.Principal.client`:
a browser session, the Bearer token, or the address when authentication is off). A client's
waiting runs enter the pool one at a time as its earlier runs end, so one client filling its
queue does not push every other client's runs behind all of its own. Waiting runs are
``queued`` in the runs database like runs queued in the pool.
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Iterator

from tradepact.web.worker import RunManager

#: Defaults of ``tradepact serve --max-runs-per-client`` / ``--max-queued-per-client``.
MAX_RUNNING = 2
MAX_QUEUED = 8
#: Retry-After (seconds) before any run has finished; later the mean of recent run times, 1..60 s.
DEFAULT_RETRY_AFTER = 5


class TooManyRuns(Exception):
    """A client is at its run limits; ``retry_after`` is a wait in whole seconds."""

    def __init__(self, client_running: int, client_waiting: int, retry_after: int):
        super().__init__(f"too many runs for this client: {client_running} in the pool and {client_waiting} "
                         f"waiting (the limits); retry after {retry_after} s")
        self.retry_after = retry_after


class _Ticket:
    def __init__(self, quota: "RunQuota", client: str):
        self.quota, self.client, self.used = quota, client, False

    def submit(self, run_id: str, scenario_text: str) -> None:
        """Hand the (already stored, queued) run to the pool now or after the client's earlier runs."""
        self.used = True
        self.quota._admit(self.client, run_id, scenario_text)


class RunQuota:
    """Admission of runs to a :class:`RunManager` per client (thread-safe)."""

    def __init__(self, manager: RunManager, max_running: int = MAX_RUNNING, max_queued: int = MAX_QUEUED):
        if max_running < 1 or max_queued < 0:
            raise ValueError(f"max_running must be >= 1 and max_queued >= 0, got {max_running}, {max_queued}")
        self.manager = manager
        self.max_running = int(max_running)
        self.max_queued = int(max_queued)
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._waiting: dict[str, deque[tuple[str, str]]] = {}
        self._durations: deque[float] = deque(maxlen=20)
        self._closed = False

    def retry_after(self) -> int:
        """Seconds a refused client should wait: the mean time of recent runs (1..60 s)."""
        if not self._durations:
            return DEFAULT_RETRY_AFTER
        return int(min(60, max(1, math.ceil(sum(self._durations) / len(self._durations)))))

    def load(self, client: str) -> tuple[int, int]:
        """(runs in the pool, runs waiting) of ``client``."""
        with self._lock:
            return self._running.get(client, 0), len(self._waiting.get(client, ())) + self._reserved.get(client, 0)

    @contextmanager
    def reserve(self, client: str) -> Iterator[_Ticket]:
        """A place for one more run of ``client``, or :class:`TooManyRuns`; a place not used by
        ``ticket.submit`` inside the block is given back."""
        with self._lock:
            running = self._running.get(client, 0)
            waiting = len(self._waiting.get(client, ())) + self._reserved.get(client, 0)
            if running + waiting >= self.max_running + self.max_queued:
                raise TooManyRuns(running, waiting, self.retry_after())
            self._reserved[client] = self._reserved.get(client, 0) + 1
        ticket = _Ticket(self, client)
        try:
            yield ticket
        finally:
            if not ticket.used:
                with self._lock:
                    self._unreserve(client)

    def _unreserve(self, client: str) -> None:
        left = self._reserved.get(client, 0) - 1
        if left > 0:
            self._reserved[client] = left
        else:
            self._reserved.pop(client, None)

    def _admit(self, client: str, run_id: str, text: str) -> None:
        with self._lock:
            self._unreserve(client)
            if self._running.get(client, 0) < self.max_running:
                self._running[client] = self._running.get(client, 0) + 1
                go = True
            else:
                self._waiting.setdefault(client, deque()).append((run_id, text))
                go = False
        if go:
            self._to_pool(client, run_id, text)

    def _to_pool(self, client: str, run_id: str, text: str) -> None:
        t0 = time.monotonic()
        self.manager.submit(run_id, text, on_done=lambda: self._ended(client, time.monotonic() - t0))

    def _ended(self, client: str, seconds: float) -> None:
        with self._lock:
            self._durations.append(seconds)
            q = self._waiting.get(client)
            nxt = q.popleft() if q and not self._closed else None
            if q is not None and not q:
                self._waiting.pop(client, None)
            if nxt is None:
                left = self._running.get(client, 0) - 1
                if left > 0:
                    self._running[client] = left
                else:
                    self._running.pop(client, None)
        if nxt is not None:  # the client's slot passes to its next waiting run
            self._to_pool(client, *nxt)

    def shutdown(self) -> None:
        """Stop admitting: runs still waiting are recorded failed (they never started)."""
        with self._lock:
            self._closed = True
            waiting = [rid for q in self._waiting.values() for rid, _ in q]
            self._waiting.clear()
        for rid in waiting:
            self.manager.runs.fail(rid, "the server stopped before this run started")
