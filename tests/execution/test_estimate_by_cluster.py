"""``tradepact estimate --by`` on a real Dask scheduler with two worker processes (127.0.0.1):
equal to each group fitted alone; a killed worker, a killed client, a bad group, a dead address."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tradepact.cli import main
from tradepact.gravity import ppml

from .conftest import FORMULA, free_port, sector_panel

RTOL = 1e-9  # same code, same data, one process vs another: equal to the last bits but BLAS order


def _alone(df, sector):
    return ppml(df[df["sector"] == sector].reset_index(drop=True), FORMULA, vcov=None, cluster=None, ssc="fixest",
                tol=1e-8)


def _check_equal(payload: dict, df) -> None:
    got = {r["group"]: r for r in payload["results"]}
    assert sorted(got) == sorted(df["sector"].unique())
    for sector, r in got.items():
        ref = _alone(df, sector)
        assert r["coefficients"]["RTA"]["estimate"] == pytest.approx(ref.params["RTA"], rel=RTOL, abs=0)
        assert r["coefficients"]["RTA"]["se"] == pytest.approx(ref.bse["RTA"], rel=RTOL, abs=0)
        assert r["nobs"] == ref.nobs and r["converged"]


def _cli(capsys, *args) -> tuple[int, dict | None, str]:
    rc = main(list(args))
    out = capsys.readouterr()
    return rc, (json.loads(out.out) if out.out.strip().startswith("{") else None), out.err


def test_by_sector_on_a_scheduler_equals_each_sector_alone(dask_cluster, tmp_path, capsys):
    df = sector_panel(sectors=5)
    data = tmp_path / "panel.parquet"
    df.to_parquet(data)
    rc, payload, err = _cli(capsys, "estimate", str(data), "-f", FORMULA, "--by", "sector",
                            "--scheduler", dask_cluster.address, "--format", "json")
    assert rc == 0, err
    assert payload["by"] == "sector" and payload["failed"] == []
    assert payload["run"]["scheduler"] == dask_cluster.address and payload["run"]["workers"] == 2
    _check_equal(payload, df)
    # the effects differ by sector (0.3 … 1.5): these are five different fits, in sector order
    est = [r["coefficients"]["RTA"]["estimate"] for r in payload["results"]]
    assert [r["group"] for r in payload["results"]] == [f"S{s:02d}" for s in range(5)]
    assert est[0] < est[-1]


def test_a_bad_group_lands_in_failed_and_the_others_finish(dask_cluster, tmp_path, capsys):
    df = sector_panel(sectors=4, seed=1)
    df.loc[df["sector"] == "S02", "trade"] *= -1  # negative flows: PPML refuses that group only
    data = tmp_path / "panel.parquet"
    df.to_parquet(data)
    for sched in ("serial", dask_cluster.address):
        rc, payload, err = _cli(capsys, "estimate", str(data), "-f", FORMULA, "--by", "sector",
                                "--scheduler", sched, "--format", "json")
        assert rc == 1  # something failed
        assert [f["group"] for f in payload["failed"]] == ["S02"]
        assert "negative" in payload["failed"][0]["error"] and "DataFormatError" in payload["failed"][0]["error"]
        _check_equal({"results": payload["results"]}, df[df["sector"] != "S02"])
    # the table says it too, and still exits 1
    rc, _, _ = _cli(capsys, "estimate", str(data), "-f", FORMULA, "--by", "sector", "--scheduler", "serial")
    assert rc == 1


def _start_cli(args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import sys; from tradepact.cli import main; sys.exit(main())",
                             *args], stdout=subprocess.PIPE, stderr=open(log, "w"), text=True, env=dict(os.environ))


def _wait_files(folder: Path, n: int, proc: subprocess.Popen, timeout: float = 240) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        done = len(list(folder.glob("*.pkl"))) if folder.exists() else 0
        if done >= n or proc.poll() is not None:
            return done
        time.sleep(0.02)
    raise AssertionError(f"no {n} results in {folder} after {timeout} s")


def test_a_worker_killed_mid_run_still_gives_every_group(fresh_dask_cluster, tmp_path):
    df = sector_panel(sectors=12, N=40, T=8, seed=2)  # fits long enough to kill a worker in the middle
    data = tmp_path / "panel.parquet"
    df.to_parquet(data)
    results = tmp_path / "results"
    proc = _start_cli(["estimate", str(data), "-f", FORMULA, "--by", "sector", "--scheduler",
                       fresh_dask_cluster.address, "--results", str(results), "--format", "json"], tmp_path / "cli.log")
    _wait_files(results / "tasks", 1, proc)
    fresh_dask_cluster.kill_worker(0)
    assert proc.poll() is None, "the run ended before the worker could be killed"
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, (tmp_path / "cli.log").read_text()[-2000:]
    payload = json.loads(out)
    assert payload["failed"] == [] and len(payload["results"]) == 12
    _check_equal(payload, df)


def test_a_killed_client_resumes_and_fits_only_what_was_missing(dask_cluster, tmp_path, capsys):
    df = sector_panel(sectors=10, N=40, T=8, seed=3)
    data = tmp_path / "panel.parquet"
    df.to_parquet(data)
    results = tmp_path / "results"
    args = ["estimate", str(data), "-f", FORMULA, "--by", "sector", "--scheduler", dask_cluster.address,
            "--results", str(results), "--format", "json"]
    proc = _start_cli(args, tmp_path / "cli.log")
    _wait_files(results / "tasks", 2, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    kept = len(list((results / "tasks").glob("*.pkl")))
    assert 2 <= kept < 10, "the run ended before the client could be killed"
    rc, payload, err = _cli(capsys, *args)
    assert rc == 0, err
    assert payload["run"]["resumed"] == kept and payload["run"]["computed"] == 10 - kept
    assert f"resumed {kept} of 10" in err
    _check_equal(payload, df)
    # a third run fits nothing; other settings in the same directory are refused with one line
    rc, payload, _ = _cli(capsys, *args)
    assert rc == 0 and payload["run"]["computed"] == 0 and payload["run"]["resumed"] == 10
    rc, _, err = _cli(capsys, *args[:-2], "--model", "ols")
    assert rc == 2 and "holds another run" in err and "model" in err


def test_an_unreachable_scheduler_is_one_clear_line_within_10_s(tmp_path, capsys):
    df = sector_panel(sectors=2)
    data = tmp_path / "panel.parquet"
    df.to_parquet(data)
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    t0 = time.monotonic()
    rc, _, err = _cli(capsys, "estimate", str(data), "-f", FORMULA, "--by", "sector", "--scheduler", address)
    elapsed = time.monotonic() - t0
    assert rc == 2 and elapsed < 10
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    assert len(" ".join(lines)) < 300 and "Traceback" not in err
    assert f"the Dask scheduler at {address} did not answer" in " ".join(lines)
    rc, _, err = _cli(capsys, "estimate", str(data), "-f", FORMULA, "--by", "sector", "--scheduler", "nowhere")
    assert rc == 2 and "scheduler must be 'serial', 'local' or a Dask scheduler address" in err
