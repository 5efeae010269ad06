"""A real Dask scheduler and worker processes on 127.0.0.1 for the fan-out tests (stopped by PID),
and small synthetic gravity panels with a known effect per sector."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FORMULA = "trade ~ RTA | exp_year + imp_year + pair"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask(*args: str) -> list[str]:
    exe = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    return [exe, *args] if exe else [sys.executable, "-m", "dask", *args]


class DaskProcesses:
    """``dask scheduler`` + ``n`` one-thread ``dask worker`` processes (no nanny: a killed worker stays dead)."""

    def __init__(self, tmp: Path, workers: int = 2):
        self.port = free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.logs = tmp
        self.scheduler = self._start("scheduler", _dask("scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                                         "--dashboard-address", "127.0.0.1:0"))
        self.workers = [self.add_worker() for _ in range(workers)]
        self.wait_for(workers)

    def _start(self, name: str, cmd: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}-{time.monotonic_ns()}.log", "w")
        return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ))

    def add_worker(self) -> subprocess.Popen:
        return self._start("worker", _dask("worker", self.address, "--nthreads", "1", "--no-nanny",
                                           "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "60"))

    def wait_for(self, n: int, timeout: float = 120) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout, set_as_default=False) as c:
            c.wait_for_workers(n, timeout=timeout)

    def kill_worker(self, i: int = 0) -> None:
        os.kill(self.workers[i].pid, signal.SIGKILL)
        self.workers[i].wait(10)

    def stop(self) -> None:
        for p in self.workers:  # test workers hold nothing worth a graceful close
            if p.poll() is None:
                p.kill()
        if self.scheduler.poll() is None:
            self.scheduler.terminate()
        for p in [*self.workers, self.scheduler]:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(5)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler and two workers shared by the tests of one module."""
    procs = DaskProcesses(tmp_path_factory.mktemp("dask"))
    try:
        yield procs
    finally:
        procs.stop()


@pytest.fixture
def fresh_dask_cluster(tmp_path):
    """A scheduler and two workers of this test alone (for tests that kill one)."""
    procs = DaskProcesses(tmp_path)
    try:
        yield procs
    finally:
        procs.stop()


def sector_panel(sectors: int = 6, N: int = 14, T: int = 5, seed: int = 0) -> pd.DataFrame:
    """``sectors`` gravity panels stacked (N² pairs × T years each), RTA effect 0.3·(s+1) in sector s."""
    rng = np.random.default_rng(seed)
    parts = []
    ex, im, yr = (a.ravel() for a in np.meshgrid(np.arange(N), np.arange(N), np.arange(T), indexing="ij"))
    for s in range(sectors):
        start = rng.integers(1, T + 2, (N, N))
        start = np.minimum(start, start.T)
        rta = ((rng.random((N, N)) < 0.4) & (np.arange(N)[:, None] != np.arange(N)[None, :]))
        rta = (rta | rta.T)[ex, im] & (yr >= start[ex, im])
        size = rng.normal(0, 1, N)
        dist = np.abs(rng.normal(0, 1, (N, N)))
        eta = 0.3 * (s + 1) * rta + size[ex] + size[im] - (dist + dist.T)[ex, im] + 2.0 * (ex == im) + 1.0
        trade = np.exp(eta) * rng.gamma(2.0, 0.5, ex.size) * (rng.random(ex.size) > 0.15)
        parts.append(pd.DataFrame({"sector": f"S{s:02d}", "trade": trade, "RTA": rta.astype(float),
                                   "exp_year": ex * 100 + yr, "imp_year": im * 100 + yr, "pair": ex * 1000 + im}))
    return pd.concat(parts, ignore_index=True)
