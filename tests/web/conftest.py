"""Fixtures for the dashboard tests: an app on a fresh store, a TestClient, a live server."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest


@pytest.fixture
def web_store(tmp_path, monkeypatch) -> Path:
    """A fresh store directory for the app (TRADEPACT_STORE unset: built-in facts only)."""
    monkeypatch.delenv("TRADEPACT_STORE", raising=False)
    d = tmp_path / "web-store"
    d.mkdir()
    return d


@pytest.fixture
def client(web_store):
    """TestClient on an app whose scenario runs go to a 2-thread pool."""
    from fastapi.testclient import TestClient

    from tradepact.web.app import create_app

    app = create_app(web_store, workers=2, mode="thread")
    with TestClient(app) as c:
        yield c


def wait_run(client, run_id: str, timeout: float = 120.0) -> dict:
    """Poll GET /api/runs/{id} until the run is done or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/api/runs/{run_id}")
        assert r.status_code == 200, r.text
        run = r.json()
        if run["status"] in ("done", "failed"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} not finished after {timeout}s: {run}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving ``app`` on 127.0.0.1 in a background thread."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)


@pytest.fixture(scope="session")
def live_server_cls():
    """The :class:`LiveServer` class (test modules cannot import conftest by name)."""
    return LiveServer
