"""Fan-out scaling: one PPML per sector, serial vs a local Dask cluster vs a running Dask scheduler.

24 sectors × ~100k rows (synthetic structural-gravity panels, N = 90 countries, T = 12 years,
exporter-year, importer-year and pair fixed effects) stacked in one Parquet file. Each mode runs in
a fresh Python process, end to end from reading the file (so each pays its own imports, numba
kernel loads and, for ``local``, the cluster start):

* ``serial``   — ``fit_by(..., scheduler="serial")``: the groups one after the other;
* ``local``    — ``scheduler="local"``: a LocalCluster, one one-thread worker per core;
* ``address``  — the address of a Dask scheduler with two one-thread workers started beforehand
  (``dask scheduler`` / ``dask worker --nthreads 1``), run twice: ``cold`` (the workers' first job:
  they import tradepact and load numba's kernels) and ``warm`` (a second job on the same workers).

Printed per mode: wall time and speed-up over serial, start-up (cluster start or connection),
prepare (grouping, hashing, writing the groups' Parquet file), the mean compute of one task where
it ran, and the per-task overhead = (wall − start − prepare) × workers / tasks − mean task compute
(scheduling, shipping, reading the group's rows, imports on first use). The target (issue #15):
``local`` ≥ 1.5× ``serial`` on 2 cores, ``address`` no slower than ``local``. The machine load
(``uptime``) is printed before and after: figures from a loaded machine are not comparable.

Usage: ``python bench/scale.py [--quick] [--sectors 24] [--N 90] [--T 12] [--no-address]``
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ppml import FORMULA, make_panel  # noqa: E402  (the same synthetic panel as bench/ppml.py)


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load average {os.getloadavg()}"


def run_mode(data: str, scheduler: str) -> dict:
    """Inside a fresh process: read the panel, fit by sector on ``scheduler``; one JSON line."""
    t0 = time.perf_counter()
    import warnings

    warnings.simplefilter("ignore")
    df = pd.read_parquet(data)
    from tradepact.gravity.by_group import fit_by

    t_read = time.perf_counter() - t0
    res = fit_by("ppml", df, FORMULA, "sector", scheduler=scheduler, vcov={"CRV1": "pair"})
    wall = time.perf_counter() - t0
    if res.failed:
        raise SystemExit(f"failed groups: {res.failed}")
    run = res.run
    tasks = list(run.task_seconds.values())
    return {"scheduler": scheduler, "wall": wall, "read": t_read, "start": run.start_seconds,
            "prepare": res.prepare_seconds, "workers": run.workers, "tasks": len(tasks),
            "task_mean": float(np.mean(tasks)), "task_sum": float(np.sum(tasks)),
            "estimates": {str(k): float(r.params["RTA"]) for k, r in res.results.items()}}


def _sub(data: str, scheduler: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--mode", scheduler, "--data", data], capture_output=True,
                         text=True, env=dict(os.environ))
    if out.returncode != 0:
        raise RuntimeError(f"{scheduler} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _read_one(data: str) -> float:
    """Seconds to read one sector's rows by reference (what a task does before fitting)."""
    import pyarrow.parquet as pq

    sectors = pq.read_table(data, columns=["sector"]).column(0).unique().to_pylist()
    t0 = time.perf_counter()
    pd.read_parquet(data, filters=[("sector", "==", sectors[0])])
    return time.perf_counter() - t0


class _Scheduler:
    """``dask scheduler`` and two one-thread ``dask worker`` processes on 127.0.0.1 (stopped by PID)."""

    def __init__(self, tmp: Path, workers: int = 2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.address = f"tcp://127.0.0.1:{port}"
        exe = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
        base = [exe] if exe else [sys.executable, "-m", "dask"]
        log = open(tmp / "dask.log", "w")
        self.procs = [subprocess.Popen([*base, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                        "--dashboard-address", "127.0.0.1:0"], stdout=log, stderr=log)]
        for _ in range(workers):
            self.procs.append(subprocess.Popen([*base, "worker", self.address, "--nthreads", "1", "--host",
                                                "127.0.0.1", "--no-dashboard"], stdout=log, stderr=log))
        from distributed import Client

        with Client(self.address, timeout=120, set_as_default=False) as c:
            c.wait_for_workers(workers, timeout=120)

    def stop(self) -> None:
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="8 sectors, N=50 (a smoke run, not the target)")
    ap.add_argument("--sectors", type=int, default=None)
    ap.add_argument("--N", type=int, default=None)
    ap.add_argument("--T", type=int, default=12)
    ap.add_argument("--no-address", action="store_true", help="skip the running-scheduler mode")
    ap.add_argument("--mode", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.mode:
        print(json.dumps(run_mode(a.data, a.mode)))
        return
    from rich.console import Console
    from rich.table import Table

    S = a.sectors or (8 if a.quick else 24)
    N = a.N or (50 if a.quick else 90)
    con = Console(width=max(120, Console().width))
    load_before = _uptime()
    con.print(f"load before: {load_before}")
    tmp = Path(tempfile.mkdtemp(prefix="tradepact-scale-"))
    try:
        df = pd.concat([make_panel(N, T=a.T, seed=100 + s).assign(sector=f"S{s:02d}") for s in range(S)],
                       ignore_index=True)
        data = str(tmp / "sectors.parquet")
        df.to_parquet(data)
        con.print(f"{S} sectors × {len(df) // S:,} rows (N={N}, T={a.T}), {len(df):,} rows; cores: "
                  f"{len(os.sched_getaffinity(0))}")
        rows = [_sub(data, "serial"), _sub(data, "local")]
        rows[0]["label"], rows[1]["label"] = "serial", f"local, {rows[1]['workers']} workers"
        if not a.no_address:
            sch = _Scheduler(tmp)
            try:
                cold, warm = _sub(data, sch.address), _sub(data, sch.address)
            finally:
                sch.stop()
            cold["label"], warm["label"] = "address, cold workers", "address, warm workers"
            rows += [cold, warm]
        read_one = _read_one(data)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    ref = rows[0]
    for r in rows[1:]:
        a_, b_ = (np.array([x["estimates"][k] for k in sorted(ref["estimates"])]) for x in (ref, r))
        assert np.allclose(a_, b_, rtol=1e-9, atol=0), f"{r['label']} differs from serial"
    t = Table(title=f"PPML by sector: {S} × {len(df) // S:,} rows — end to end from the Parquet file",
              header_style="bold")
    for c in ("mode", "wall s", "speed-up", "start s", "prepare s", "tasks", "task compute s (mean)",
              "overhead/task s"):
        t.add_column(c, justify="left" if c == "mode" else "right")
    for r in rows:
        w = r["workers"] if r["scheduler"] != "serial" else 1
        overhead = (r["wall"] - r["read"] - r["start"] - r["prepare"]) * w / r["tasks"] - r["task_mean"]
        t.add_row(r["label"], f"{r['wall']:.2f}", f"{ref['wall'] / r['wall']:.2f}×", f"{r['start']:.2f}",
                  f"{r['prepare']:.2f}", str(r["tasks"]), f"{r['task_mean']:.3f}", f"{overhead:.3f}")
    con.print(t)
    con.print(f"reading the input file and importing tradepact, before the fan-out: serial {ref['read']:.2f} s, "
              f"local {rows[1]['read']:.2f} s (included in wall); reading one sector's rows by reference: "
              f"{read_one:.3f} s (part of a task's compute)", style="dim")
    con.print(f"task compute in a local worker vs alone: {rows[1]['task_mean'] / ref['task_mean']:.2f}× "
              "(1.00× = no slow-down from sharing the machine's cores)", style="dim")
    con.print(f"load after: {_uptime()}")


if __name__ == "__main__":
    main()
