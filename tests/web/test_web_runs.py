"""Saved runs: SQLite store, worker pool, concurrency without mixing, failures recorded whole."""
from __future__ import annotations

import hashlib
import random
import threading
import time

import pytest

from tradepact.web.runs import RunStore
from tradepact.web.worker import RunManager, execute_run


def _fake_engine(monkeypatch, fail_on: str | None = None):
    """Stand in for the scenario engine *only* to test the run machinery: the 'result' is a
    digest of the scenario text, so a mixed-up result is detectable."""
    from tradepact.web import services

    def run_scenario_text(text, progress=None):
        progress(0.5, "working")
        time.sleep(random.uniform(0.0, 0.05))
        if fail_on is not None and fail_on in text:
            raise ValueError(f"boom in {text!r}")
        digest = hashlib.sha256(text.encode()).hexdigest()
        return {"scenario": text, "digest": digest, "lines": [], "totals": {"n": len(text)}}, f"ok {digest[:8]}"

    monkeypatch.setattr(services, "run_scenario_text", run_scenario_text)


def wait_all(runs: RunStore, ids, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [runs.get(i) for i in ids]
        if all(g["status"] in ("done", "failed") for g in got):
            return got
        time.sleep(0.05)
    raise AssertionError("runs did not finish")


def test_store_lifecycle_and_guards(tmp_path):
    runs = RunStore.open(tmp_path)
    rid = runs.create("s", "name: s\n", "text", "0.1.0")
    run = runs.get(rid)
    assert run["status"] == "queued" and run["result"] is None and run["tradepact_version"] == "0.1.0"
    assert runs.start(rid) and not runs.start(rid), "a run starts once"
    runs.progress(rid, 0.4, "half")
    assert runs.get(rid)["stage"] == "half"
    assert runs.finish(rid, {"x": 1}, "sum")
    assert not runs.fail(rid, "late error"), "a finished run is never rewritten"
    assert not runs.finish(rid, {"x": 2}), "nor finished twice"
    run = runs.get(rid)
    assert run["status"] == "done" and run["result"] == {"x": 1} and run["error"] is None
    with pytest.raises(ValueError):
        runs.finish(runs.create("n", "t", "text", "v"), {"x": float("nan")})


def test_restart_marks_unfinished_runs_failed(tmp_path):
    runs = RunStore.open(tmp_path / "dashboard")
    a, b = runs.create("a", "t", "text", "v"), runs.create("b", "t", "text", "v")
    runs.start(b)
    from tradepact.web.app import create_app

    create_app(tmp_path, mode="thread")
    for rid in (a, b):
        run = runs.get(rid)
        assert run["status"] == "failed" and "stopped" in run["error"] and run["result"] is None


def test_concurrent_runs_never_mix(tmp_path, monkeypatch):
    _fake_engine(monkeypatch)
    runs = RunStore.open(tmp_path)
    manager = RunManager(runs, workers=4, mode="thread")
    texts = [f"name: run-{i}\nx: {i * 7919}\n" for i in range(40)]
    ids: list[str] = [None] * len(texts)

    def submit(i):  # submitted from several request threads at once
        ids[i] = runs.create(f"run-{i}", texts[i], "text", "v")
        manager.submit(ids[i], texts[i])

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = wait_all(runs, ids)
    manager.shutdown()
    assert len(set(ids)) == len(texts)
    for text, run in zip(texts, got):
        assert run["status"] == "done", run["error"]
        assert run["scenario_text"] == text
        assert run["result"]["digest"] == hashlib.sha256(text.encode()).hexdigest()
        assert run["progress"] == 1.0
    assert runs.count()["done"] == len(texts)


def test_failing_run_is_recorded_failed_without_result(tmp_path, monkeypatch):
    _fake_engine(monkeypatch, fail_on="bad")
    runs = RunStore.open(tmp_path)
    manager = RunManager(runs, workers=2, mode="thread")
    good, bad = runs.create("g", "name: good", "text", "v"), runs.create("b", "name: bad", "text", "v")
    manager.submit(good, "name: good")
    manager.submit(bad, "name: bad")
    g, b = wait_all(runs, [good, bad])
    manager.shutdown()
    assert g["status"] == "done"
    assert b["status"] == "failed" and b["result"] is None
    assert b["error"].startswith("ValueError: boom") and "Traceback" in b["error_detail"]


def test_dead_worker_process_is_recorded(tmp_path, monkeypatch):
    """A worker process that dies mid-run leaves its run failed (not stuck 'running'), and the
    pool is rebuilt for the next run."""
    from pathlib import Path

    monkeypatch.syspath_prepend(str(Path(__file__).parent))  # the spawned worker inherits sys.path
    from crash_target import crash

    runs = RunStore.open(tmp_path)
    manager = RunManager(runs, workers=1, mode="process", target=crash)
    first = runs.create("c", "t", "text", "v")
    manager.submit(first, "t")
    (run,) = wait_all(runs, [first], timeout=120)
    assert run["status"] == "failed" and "worker failed" in run["error"]
    second = runs.create("c2", "t", "text", "v")
    manager.submit(second, "t")
    (run2,) = wait_all(runs, [second], timeout=120)
    manager.shutdown()
    assert run2["status"] == "failed" and "worker failed" in run2["error"]


def test_execute_run_records_engine_errors(tmp_path):
    """The real worker function on a scenario the engine refuses: failed, with the engine's message."""
    runs = RunStore.open(tmp_path)
    rid = runs.create("x", "name: x\nunknown_field: 1\n", "text", "v")
    assert execute_run(str(runs.path), rid, "name: x\nunknown_field: 1\n") == "failed"
    run = runs.get(rid)
    assert run["status"] == "failed" and run["error"] and run["result"] is None
    assert execute_run(str(runs.path), rid, "name: x") == "skipped", "a finished run is not run again"


def test_store_fingerprint_sees_imports_but_not_runs(tmp_path):
    """Cached ledger answers are keyed by the store's directory mtimes: a file written into the
    store (atomic rename) changes the key; the dashboard's own run database does not."""
    import os

    from tradepact.web.services import store_fingerprint

    (tmp_path / "goods").mkdir()
    before = store_fingerprint(tmp_path)
    runs = RunStore.open(tmp_path / "dashboard")
    runs.create("x", "t", "text", "v")
    st = os.stat(tmp_path)
    os.utime(tmp_path, ns=(st.st_atime_ns, st.st_mtime_ns))  # creating dashboard/ itself is a one-off
    assert store_fingerprint(tmp_path)[1:] == before[1:]
    tmp = tmp_path / "goods" / "part.tmp"
    tmp.write_text("x")
    os.utime(tmp_path / "goods", ns=(0, 1))  # make the change visible on coarse-mtime filesystems
    tmp.replace(tmp_path / "goods" / "part.parquet")
    assert store_fingerprint(tmp_path) != before
