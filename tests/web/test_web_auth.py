"""Who gets into the dashboard: ``tradepact serve`` started as a user starts it (a subprocess on
127.0.0.1), its printed URL, the session cookie, the Bearer token, the password, the refusal to
expose an unauthenticated server, per-client run limits and CSRF."""
from __future__ import annotations

import hmac
import stat
import threading
import time
from http.cookies import SimpleCookie

import httpx
import pytest

from tradepact.web import auth as web_auth


@pytest.fixture(scope="module")
def served(tmp_path_factory, serve_process_cls):
    """``tradepact serve`` with its default: a token generated at start."""
    with serve_process_cls(tmp_path_factory.mktemp("auth-store")) as server:
        yield server


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _operations(server) -> list[tuple[str, str]]:
    schema = httpx.get(server.url + "/openapi.json", headers=_bearer(server.token)).json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "security" not in schema["paths"]["/api/health"]["get"]
    assert schema["paths"]["/api/runs"]["post"]["security"] == [{"bearer": []}]
    ops = [(method.upper(), path.replace("{", "").replace("}", ""))  # {run_id} -> run_id
           for path, item in schema["paths"].items() for method in item if method in ("get", "post", "put",
                                                                                         "patch", "delete")]
    assert len(ops) >= 12, ops
    return ops


def test_every_api_route_but_health_needs_credentials(served):
    """Walk the OpenAPI document: without credentials, or with a wrong token, every operation
    answers 401 with a WWW-Authenticate header; only the health check answers."""
    with httpx.Client(base_url=served.url, timeout=30) as c:
        for method, path in _operations(served):
            for headers in ({}, _bearer("0" * 48), _bearer(served.token[:-1]), {"Authorization": "Basic eDp5"}):
                r = c.request(method, path, headers=headers)
                if path == "/api/health":
                    assert r.status_code == 200 and r.json()["status"] == "ok"
                    continue
                assert r.status_code == 401, (method, path, headers, r.status_code)
                assert r.headers["www-authenticate"].startswith("Bearer")
                assert served.token not in r.text


def test_with_the_bearer_token_the_api_answers_as_before(served):
    """The same walk with the token: no 401 anywhere; real answers where the parameters are valid."""
    with httpx.Client(base_url=served.url, timeout=60, headers=_bearer(served.token)) as c:
        for method, path in _operations(served):
            r = c.request(method, path)
            assert r.status_code not in (401, 403) and r.status_code < 500, (method, path, r.status_code, r.text)
        body = c.get("/api/ledger", params={"a": "USA", "b": "KOR"}).json()
        assert {row["year"] for row in body["rows"]} >= {2011, 2016}
        assert c.get("/api/agreements/korus").json()["parties"] == ["USA", "KOR"]
        assert c.get("/api/runs").status_code == 200
        # the token's scheme name is case-insensitive (RFC 7235)
        assert c.get("/api/countries", headers={"Authorization": f"bearer {served.token}"}).status_code == 200


def test_every_page_and_asset_needs_credentials(served, tmp_path):
    """Every route the app has (taken from the app itself, not a hand list): pages answer 401
    with the login form, the docs/schema/static files 401 too."""
    from starlette.routing import Mount

    from tradepact.web.app import create_app

    app = create_app(tmp_path, mode="thread")
    paths = []
    for route in app.routes:
        if isinstance(route, Mount):
            paths += [route.path + "/app.js", route.path + "/app.css"]
        elif "GET" in getattr(route, "methods", ()):
            paths.append(route.path.replace("{run_id}", "0" * 32).replace("{agreement_id}", "korus")
                         .replace("{name}", "x"))
    assert {"/", "/ledger", "/runs", "/docs", "/openapi.json", "/static/plotly.min.js"} <= set(paths)
    with httpx.Client(base_url=served.url, timeout=30) as c:
        for path in paths:
            r = c.get(path, headers={"Accept": "text/html"})
            if path == "/api/health":
                assert r.status_code == 200
                continue
            assert r.status_code == 401, (path, r.status_code)
            if not path.startswith(("/api/", "/static/", "/openapi")):
                assert 'action="/login"' in r.text and 'name="secret"' in r.text, path
        r = c.post("/logout")
        assert r.status_code == 401


def _cookie(response: httpx.Response) -> SimpleCookie:
    jar = SimpleCookie()
    jar.load(response.headers["set-cookie"])
    return jar


def test_printed_url_sets_a_session_cookie_and_csrf_is_checked(served):
    assert served.login_url == f"{served.url}/?token={served.token}" and len(served.token) == 48
    assert served.log().count(served.token) == 1, "the token is printed once"
    with httpx.Client(base_url=served.url, timeout=60) as c:
        r = c.get(served.login_url.replace("/?", "/ledger?a=KOR&"), follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ledger?a=KOR", "the token leaves the URL"
        (name, morsel), = _cookie(r).items()
        assert name == f"tradepact-session-{served.port}"
        assert morsel["httponly"] and morsel["samesite"].lower() == "strict" and morsel["path"] == "/"
        assert not morsel["secure"], "plain http on loopback: not Secure (see tradepact.web.auth)"
        assert served.token not in morsel.value
        assert c.get("/ledger?a=KOR").status_code == 200 and c.get("/api/runs").status_code == 200
        # opening the link again while logged in still takes the token out of the address bar
        r = c.get(served.login_url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        # state-changing requests with the cookie: same origin only
        body = {"builtin": "auto-tariff-25"}
        for origin in (None, "http://127.0.0.1:1", "http://evil.example", "null", f"https://127.0.0.1:{served.port}"):
            r = c.post("/api/runs", json=body, headers={} if origin is None else {"Origin": origin})
            assert r.status_code == 403, origin
        assert c.get("/api/runs").json() == [], "a refused request stores nothing"
        r = c.post("/api/runs", json=body, headers={"Origin": served.url})
        assert r.status_code == 202, r.text
        run_id = r.json()["id"]
        # a Referer of this server is accepted when a client sends no Origin
        r = c.post("/api/runs", json=body, headers={"Referer": served.url + "/scenarios"})
        assert r.status_code == 202, r.text
        deadline = time.monotonic() + 30
        while f"run {run_id}" not in served.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        line = next(ln for ln in served.lines if f"run {run_id}" in ln)
        assert "auto-tariff-25" in line and "by session:" in line and "from 127.0.0.1" in line
        assert served.token not in served.log().replace(served.login_url, "")
        assert c.cookies.get(name) not in served.log()
        # logging out ends the session on the server, not just in this client
        stolen = c.cookies.get(name)
        assert c.post("/logout", headers={"Origin": served.url}, follow_redirects=False).status_code == 303
        r = httpx.get(served.url + "/api/runs", cookies={name: stolen})
        assert r.status_code == 401


def test_cookie_is_secure_behind_a_tls_proxy(served):
    """A proxy on 127.0.0.1 (trusted by default) says the browser came over https: Secure cookie."""
    r = httpx.get(served.login_url, headers={"X-Forwarded-Proto": "https"}, follow_redirects=False)
    assert r.status_code == 303
    (_, morsel), = _cookie(r).items()
    assert morsel["secure"] and morsel["httponly"] and morsel["samesite"].lower() == "strict"


def test_wrong_tokens_are_refused(served):
    t = served.token
    with httpx.Client(base_url=served.url, timeout=30) as c:
        for wrong in ("", "x", t[:-1], t + "0", t.upper() if t.upper() != t else t[::-1], "0" * 48, t[:24],
                      "é" * 48):
            r = c.get("/", params={"token": wrong}, follow_redirects=False)
            assert r.status_code == 401 and "set-cookie" not in r.headers, wrong
            header = {"Authorization": b"Bearer " + wrong.encode()} if wrong else {"Authorization": "Bearer"}
            r = c.get("/api/countries", headers=header)
            assert r.status_code == 401, wrong
            r = c.post("/login", data={"secret": wrong}, follow_redirects=False)
            assert r.status_code == 401 and "set-cookie" not in r.headers
        assert c.post("/login", data={"secret": t, "next": "//evil.example/x"},
                      follow_redirects=False).headers["location"] == "/", "never redirected off-site"


def test_token_comparison_is_constant_time(monkeypatch):
    """Every check goes through hmac.compare_digest on two SHA-256 digests (equal lengths, so
    neither the position of the first difference nor the length of the guess shows in the time);
    the real compare_digest still decides."""
    seen: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a, b):
        seen.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(web_auth.hmac, "compare_digest", spy)
    a = web_auth.Auth("s3cret-token-0123456789")
    guesses = ["", "s", "s3cret-token-012345678", "s3cret-token-0123456789x", "x" * 10_000]
    assert not any(a.token_matches(g) for g in guesses)
    assert a.token_matches("s3cret-token-0123456789") and a.token_matches(b"s3cret-token-0123456789")
    assert seen == [(32, 32)] * (len(guesses) + 2)
    assert not web_auth.Auth(password_hash="$argon2id$v=19$m=65536,t=3,p=4$x$y").token_matches("")


def test_password_set_on_the_command_line_and_used(tmp_path, serve_process_cls):
    """`--password` reads it from standard input, stores only an argon2id hash (owner-only file);
    with a password and no explicit token no token is made (as Jupyter); login works, the
    Bearer header has nothing to match; too many wrong passwords get 429."""
    store = tmp_path / "pw-store"
    with serve_process_cls(store, "--password", stdin_text="correct horse battery\n") as server:
        assert server.token is None and server.login_url == server.url + "/"
        cfg = web_auth.config_path(store)
        text = cfg.read_text()
        assert "$argon2id$" in text and "correct horse" not in text
        assert stat.S_IMODE(cfg.stat().st_mode) == 0o600
        with httpx.Client(base_url=server.url, timeout=30) as c:
            page = c.get("/runs")
            assert page.status_code == 401 and "dashboard password" in page.text
            assert c.post("/login", data={"secret": "correct horse"}).status_code == 401
            r = c.post("/login", data={"secret": "correct horse battery", "next": "/runs"},
                       headers={"Origin": server.url}, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/runs"
            assert c.get("/runs").status_code == 200 and c.get("/api/runs").status_code == 200
            assert httpx.get(server.url + "/api/runs", headers=_bearer("correct horse battery")).status_code == 401
            # a login form posted from another site is refused even with the right password
            r = httpx.post(server.url + "/login", data={"secret": "correct horse battery"},
                           headers={"Origin": "http://evil.example"})
            assert r.status_code == 403
            # one failure above, nine here: the tenth failure in the window closes the door
            codes = [c.post("/login", data={"secret": f"guess {i}"}).status_code for i in range(web_auth.LOGIN_FAILURES)]
            assert codes == [401] * (web_auth.LOGIN_FAILURES - 1) + [429]
            r = c.post("/login", data={"secret": "correct horse battery"})
            assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= web_auth.LOGIN_WINDOW + 1
    # the stored password is used by the next start as well, next to an explicit token
    token = "team-token-" + "7" * 20
    with serve_process_cls(store, env={"TRADEPACT_TOKEN": token}) as server:
        assert server.token == token
        assert httpx.get(server.url + "/api/runs", headers=_bearer(token)).status_code == 200
        r = httpx.post(server.url + "/login", data={"secret": "correct horse battery"}, follow_redirects=False)
        assert r.status_code == 303
    assert web_auth.clear_password(store) and web_auth.stored_password_hash(store) is None


def test_password_file_errors_are_one_line(tmp_path):
    from tradepact.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 8 characters"):
        web_auth.set_password(tmp_path, "short")
    web_auth.config_path(tmp_path).parent.mkdir(parents=True)
    web_auth.config_path(tmp_path).write_text("{not json")
    with pytest.raises(ConfigError, match="config.json: not valid JSON"):
        web_auth.stored_password_hash(tmp_path)
    web_auth.config_path(tmp_path).write_text('{"password_hash": "plain text"}')
    with pytest.raises(ConfigError, match="expected an argon2 hash"):
        web_auth.stored_password_hash(tmp_path)


@pytest.mark.parametrize("host, loopback", [
    ("127.0.0.1", True), ("127.4.5.6", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("10.0.0.7", False), ("192.168.1.20", False), ("tradepact.example", False),
    ("128.0.0.1", False), ("::ffff:10.0.0.1", False),
])
def test_loopback_addresses(host, loopback):
    assert web_auth.is_loopback(host) is loopback


class _Bound(Exception):
    pass


@pytest.fixture
def no_serving(monkeypatch):
    """Record whether `tradepact serve` got as far as uvicorn.run or any socket bind (and stop there)."""
    import socket

    import uvicorn

    calls: list[tuple] = []

    def bind(self, address):
        calls.append(("bind", address))
        raise _Bound()

    def run(app, **kw):
        calls.append(("run", kw["host"], app.state.auth.enabled))
        raise _Bound()

    monkeypatch.setattr(socket.socket, "bind", bind)
    monkeypatch.setattr(uvicorn, "run", run)
    monkeypatch.delenv("TRADEPACT_TOKEN", raising=False)
    return calls


def _serve(tmp_path, *args):
    from tradepact.cli import main

    try:
        return main(["serve", "--store", str(tmp_path / "s"), "--workers", "1", *args])
    except _Bound:
        return "served"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.7", "tradepact.example"])
def test_network_bind_without_auth_is_refused_before_binding(tmp_path, no_serving, capsys, host):
    assert _serve(tmp_path, "--host", host, "--token", "") == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "refusing to serve the network without authentication" in err
    assert no_serving == [], "nothing was bound"
    # the same address with authentication, or with --no-auth said explicitly, is served
    assert _serve(tmp_path, "--host", host) == "served"
    assert _serve(tmp_path, "--host", host, "--no-auth") == "served"
    assert [c[0] for c in no_serving] == ["run", "run"] and no_serving[0][2] is True and no_serving[1][2] is False
    assert "no authentication" in capsys.readouterr().err


@pytest.mark.parametrize("host", ["127.0.0.1", "127.9.9.9", "::1", "localhost"])
def test_loopback_without_auth_is_served_with_a_warning(tmp_path, no_serving, capsys, host):
    assert _serve(tmp_path, "--host", host, "--token", "") == "served"
    assert no_serving == [("run", host, False)]
    assert "warning: no authentication" in capsys.readouterr().err


def test_short_token_is_refused(tmp_path, no_serving, capsys):
    assert _serve(tmp_path, "--token", "abc") == 2
    assert "at least 16 characters" in capsys.readouterr().err and no_serving == []


# ----------------------------------------------------------------------------- run limits
def test_run_limits_on_the_real_server(tmp_path, serve_process_cls):
    """One client may have 1 run in the pool and 1 waiting: a third concurrent run is 429 with
    Retry-After and is not stored; another client (its own session) still gets in."""
    with serve_process_cls(tmp_path / "s", "--max-runs-per-client", "1", "--max-queued-per-client", "1") as server:
        with httpx.Client(base_url=server.url, timeout=60, headers=_bearer(server.token)) as c:
            base = c.get("/api/scenarios/auto-tariff-25").json()["text"]
            slow = base + "draws:\n  n: 100\n  seed: 1\n"  # seconds of work: still running below
            assert c.post("/api/runs", json={"scenario_text": slow}).status_code == 202
            assert c.post("/api/runs", json={"scenario_text": slow}).status_code == 202
            r = c.post("/api/runs", json={"scenario_text": slow})
            assert r.status_code == 429 and "too many runs" in r.json()["detail"]
            assert int(r.headers["retry-after"]) >= 1
            assert len(c.get("/api/runs").json()) == 2, "the refused run was not stored"
        with httpx.Client(base_url=server.url, timeout=60, follow_redirects=True) as browser:
            assert browser.get(server.login_url).status_code == 200
            r = browser.post("/api/runs", json={"builtin": "auto-tariff-25"}, headers={"Origin": server.url})
            assert r.status_code == 202, r.text


def test_run_limits_free_up_and_interleave_clients(web_store):
    """With a run target that waits for the test: client A's second run waits behind its first
    (not in the pool), B's run enters the pool before it, A's third is 429; once runs end the
    limit frees again."""
    from fastapi.testclient import TestClient

    from tradepact.web.app import create_app

    gate = threading.Event()
    started: list[str] = []

    def target(db_path, run_id, text):
        from pathlib import Path

        from tradepact.web.runs import RunStore

        runs = RunStore(Path(db_path))
        runs.start(run_id)
        started.append(run_id)
        gate.wait(60)
        runs.finish(run_id, {"text": text}, "ok")
        return "done"

    app = create_app(web_store, workers=1, mode="thread", run_target=target,
                     max_runs_per_client=1, max_queued_per_client=1)
    token = app.state.auth.token
    with TestClient(app, headers=_bearer(token)) as a, TestClient(app) as b:
        body = {"builtin": "auto-tariff-25"}
        a1 = a.post("/api/runs", json=body).json()["id"]
        a2 = a.post("/api/runs", json=body).json()["id"]
        r = a.post("/api/runs", json=body)
        assert r.status_code == 429 and r.headers["retry-after"] == "5"
        assert b.get(f"/?token={token}").status_code == 200  # B: a browser session of its own
        b1 = b.post("/api/runs", json=body, headers={"Origin": "http://testserver"}).json()["id"]
        assert app.state.quota.load(f"{app.state.auth.token_id}") == (1, 1)
        gate.set()
        deadline = time.monotonic() + 30
        while len(started) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started == [a1, b1, a2], "B's run went ahead of A's waiting run"
        while any(a.get(f"/api/runs/{i}").json()["status"] != "done" for i in (a1, a2, b1)):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert app.state.quota.load(app.state.auth.token_id) == (0, 0)
        assert a.post("/api/runs", json=body).status_code == 202
