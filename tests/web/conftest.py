"""Fixtures for the dashboard tests: an app on a fresh store, a TestClient, `tradepact serve` in a subprocess."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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
    with TestClient(app, headers={"Authorization": f"Bearer {app.state.auth.token}"}) as c:
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


#: ``tradepact serve`` as a subprocess (``-c``: the worker processes re-import no script).
SERVE = [sys.executable, "-c", "import sys; from tradepact.cli import main; sys.exit(main())", "serve"]


class ServeProcess:
    """``tradepact serve`` on 127.0.0.1 in a subprocess, as a user starts it.

    ``login_url`` is the URL it printed, ``token`` the token in it (None without one), ``url``
    the server's root; ``lines`` collects its standard error (the printed URL, log lines).
    """

    def __init__(self, store, *args: str, env: dict | None = None, stdin_text: str | None = None,
                 workers: int = 1):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = SERVE + ["--host", "127.0.0.1", "--port", str(self.port), "--store", str(store),
                             "--workers", str(workers), *args]
        self.env = {k: v for k, v in os.environ.items() if k not in ("TRADEPACT_STORE", "TRADEPACT_TOKEN")}
        self.env.update(env or {})
        self.stdin_text = stdin_text
        self.lines: list[str] = []
        self.login_url: str | None = None
        self.token: str | None = None

    def __enter__(self):
        import httpx

        self.proc = subprocess.Popen(self.args, env=self.env, text=True, stderr=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL,
                                     stdin=subprocess.PIPE if self.stdin_text is not None else subprocess.DEVNULL)
        if self.stdin_text is not None:
            self.proc.stdin.write(self.stdin_text)
            self.proc.stdin.close()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._reader.join(5)
                raise RuntimeError("tradepact serve exited: " + "".join(self.lines)[-2000:])
            if self.login_url:
                try:
                    if httpx.get(self.url + "/api/health", timeout=5).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
            time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("tradepact serve did not start: " + "".join(self.lines)[-2000:])

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)
            if line.startswith("    http://") and self.login_url is None:
                self.login_url = line.strip()
                self.token = parse_qs(urlsplit(self.login_url).query).get("token", [None])[0]

    def log(self) -> str:
        return "".join(self.lines)

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="session")
def serve_process_cls():
    """The :class:`ServeProcess` class."""
    return ServeProcess
