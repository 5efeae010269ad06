"""Who may use the dashboard: a token (generated at start, as Jupyter does) or a password, a
session cookie after the first visit, a Bearer header for scripts.

How a request gets in (:class:`AuthMiddleware` decides before any route runs):

* ``Authorization: Bearer <token>`` — scripts and the API. A wrong header is a 401 (no fall-back).
* The session cookie, set by the first visit of ``/?token=<token>`` (the URL ``tradepact
  serve`` prints; the answer redirects to the same page without the token, so it leaves the
  address bar and history) or by ``POST /login`` with the password or the token.
* ``GET /api/health`` and ``POST /login`` need nothing. Every other page, API route, the
  OpenAPI document and the static files answer 401 (pages show the login form).

The cookie is HttpOnly (page scripts cannot read it) and SameSite=Strict (other sites cannot
make the browser send it). It is Secure exactly when the request came over https — directly, or
through a reverse proxy whose ``X-Forwarded-Proto`` uvicorn trusts (``--forwarded-allow-ips``;
127.0.0.1 by default). On plain-http loopback the Secure flag would protect nothing — the
traffic never leaves the machine and there is no https to restrict the cookie to — and some
browsers refuse Secure cookies from http pages outright (Safari; Chromium and Firefox accept
them only for ``localhost``-like hosts), so the login would break. Served to a network, put a
TLS proxy in front (README, "Serving for a team"): then the cookie is Secure.

State-changing requests (any method but GET/HEAD/OPTIONS) authenticated by the cookie must
carry an ``Origin`` (or ``Referer``) of this very server — scheme, host and port — or get 403:
SameSite stops other *sites*, the origin check also stops other *ports and schemes* of the same
host (another local web app on localhost). Bearer requests need no such check: browsers never
attach that header on their own.

Secrets are compared in constant time: tokens through ``hmac.compare_digest`` of their SHA-256
digests (so not even the length leaks), passwords by argon2's verification, sessions are
looked up by the digest of the cookie. Logs name a session or token by a short public id
(:attr:`Principal.id`), never by the secret.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import os
import secrets
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from starlette.requests import Request

from tradepact.errors import ConfigError

#: The dashboard's settings file inside the store (holds the password hash).
CONFIG_FILE = "config.json"
#: Shortest token accepted from ``--token``/``TRADEPACT_TOKEN`` (generated ones have 48 hex digits).
TOKEN_MIN_LENGTH = 16
PASSWORD_MIN_LENGTH = 8
#: A session lasts this long (seconds) after the login; the cookie's Max-Age says the same.
SESSION_MAX_AGE = 7 * 24 * 3600
#: Sessions kept at once; the oldest is dropped beyond it (each needs a valid login).
MAX_SESSIONS = 10_000
#: Failed logins allowed per client address within :data:`LOGIN_WINDOW` seconds before 429.
LOGIN_FAILURES = 10
LOGIN_WINDOW = 60.0
#: What needs no credentials: the health check (monitors) and the login form's target.
PUBLIC = frozenset({("GET", "/api/health"), ("HEAD", "/api/health"), ("POST", "/login")})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
HERE = Path(__file__).parent


def new_token() -> str:
    """A fresh random token: 48 hexadecimal digits (192 bits), safe in a URL."""
    return secrets.token_hex(24)


def _digest(secret: str | bytes) -> bytes:
    data = secret.encode("utf-8", "surrogateescape") if isinstance(secret, str) else secret
    return hashlib.sha256(data).digest()


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and any address in 127.0.0.0/8 or ``::1`` (brackets allowed)."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


# ----------------------------------------------------------------------------- password file
def config_path(store_dir: str | os.PathLike) -> Path:
    """``<store>/dashboard/config.json``: the dashboard's settings (the password hash)."""
    from tradepact.web.services import RUNS_DIR

    return Path(store_dir) / RUNS_DIR / CONFIG_FILE


def _read_config(store_dir) -> dict[str, Any]:
    path = config_path(store_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the dashboard settings: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); expected the dashboard settings") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object of dashboard settings")
    return data


def _write_config(store_dir, data: dict[str, Any]) -> None:
    """Replace the settings file atomically, readable by its owner only (mode 0600)."""
    path = config_path(store_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{CONFIG_FILE}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=1)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile


def set_password(store_dir: str | os.PathLike, password: str) -> None:
    """Store the argon2id hash of ``password`` in the store's dashboard settings."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ConfigError(f"--password: at least {PASSWORD_MIN_LENGTH} characters expected, got {len(password)}")
    data = _read_config(store_dir)
    data["password_hash"] = _hasher().hash(password)
    _write_config(store_dir, data)


def clear_password(store_dir: str | os.PathLike) -> bool:
    """Remove the stored password; True if there was one."""
    data = _read_config(store_dir)
    if "password_hash" not in data:
        return False
    del data["password_hash"]
    _write_config(store_dir, data)
    return True


def stored_password_hash(store_dir: str | os.PathLike) -> str | None:
    """The stored argon2 hash, or None when no password is set."""
    value = _read_config(store_dir).get("password_hash")
    if value is not None and not (isinstance(value, str) and value.startswith("$argon2")):
        raise ConfigError(f"{config_path(store_dir)}: password_hash: expected an argon2 hash; "
                          "set the password again with `tradepact serve --password`")
    return value


# ----------------------------------------------------------------------------- who is asking
@dataclass(frozen=True)
class Principal:
    """Who made a request. ``id`` is safe to log (``token:1a2b3c4d``, ``session:9f8e7d6c``,
    ``anonymous``); ``client`` keys per-client limits (the id, or the address when anonymous)."""

    id: str
    client: str
    via_cookie: bool = False


@dataclass
class _Session:
    public_id: str
    via: str  # "token" or "password"
    created: float


class Auth:
    """The server's credentials and live sessions.

    ``token``: accepted as Bearer header, ``?token=`` link or login secret (None: no token).
    ``password_hash``: argon2 hash accepted at ``POST /login`` (None: no password).
    ``enabled=False`` lets every request in (``tradepact serve --no-auth``).
    """

    def __init__(self, token: str | None = None, password_hash: str | None = None, *, enabled: bool = True):
        if enabled and not token and not password_hash:
            raise ValueError("authentication needs a token or a password hash (or enabled=False)")
        self.enabled = enabled
        self.token = token or None
        self.password_hash = password_hash
        self._token_digest = _digest(token) if token else None
        self.token_id = "token:" + hashlib.sha256(b"id:" + _digest(token)).hexdigest()[:8] if token else None
        self._sessions: OrderedDict[bytes, _Session] = OrderedDict()
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    @classmethod
    def default(cls, store_dir: str | os.PathLike) -> "Auth":
        """A fresh random token, plus the password stored in ``store_dir`` if any."""
        return cls(new_token(), stored_password_hash(store_dir))

    @classmethod
    def disabled(cls) -> "Auth":
        return cls(enabled=False)

    # -- secrets -------------------------------------------------------------------
    def token_matches(self, candidate: str | bytes) -> bool:
        """Constant-time check of a token (digests of equal length are compared)."""
        expected = self._token_digest if self._token_digest is not None else _digest(secrets.token_bytes(24))
        return hmac.compare_digest(_digest(candidate), expected) and self._token_digest is not None

    def password_matches(self, candidate: str) -> bool:
        """argon2 verification (constant time in the hash comparison)."""
        if not self.password_hash:
            return False
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return _hasher().verify(self.password_hash, candidate)
        except (VerificationError, InvalidHashError):
            return False

    # -- sessions ------------------------------------------------------------------
    def new_session(self, via: str) -> tuple[str, Principal]:
        """Start a session; returns (cookie value, principal)."""
        cookie = secrets.token_urlsafe(32)
        s = _Session(public_id=secrets.token_hex(4), via=via, created=time.time())
        with self._lock:
            self._sessions[_digest(cookie)] = s
            while len(self._sessions) > MAX_SESSIONS:
                self._sessions.popitem(last=False)
        sid = f"session:{s.public_id}"
        return cookie, Principal(sid, sid, via_cookie=True)

    def session(self, cookie: str) -> Principal | None:
        key = _digest(cookie)
        with self._lock:
            s = self._sessions.get(key)
            if s is not None and time.time() - s.created > SESSION_MAX_AGE:
                del self._sessions[key]
                s = None
        if s is None:
            return None
        sid = f"session:{s.public_id}"
        return Principal(sid, sid, via_cookie=True)

    def end_session(self, cookie: str) -> None:
        with self._lock:
            self._sessions.pop(_digest(cookie), None)

    # -- failed logins ---------------------------------------------------------------
    def login_wait(self, address: str) -> int:
        """Seconds ``address`` must wait before another login attempt (0: go ahead)."""
        now = time.monotonic()
        with self._lock:
            q = self._failures.get(address)
            while q and now - q[0] > LOGIN_WINDOW:
                q.popleft()
            if not q:
                self._failures.pop(address, None)
                return 0
            return int(LOGIN_WINDOW - (now - q[0])) + 1 if len(q) >= LOGIN_FAILURES else 0

    def login_failed(self, address: str) -> None:
        with self._lock:
            if len(self._failures) > MAX_SESSIONS:  # bounded memory under a flood of addresses
                self._failures.clear()
            self._failures.setdefault(address, deque(maxlen=LOGIN_FAILURES)).append(time.monotonic())


def principal(request) -> Principal:
    """The :class:`Principal` the middleware attached to ``request``."""
    who = getattr(request.state, "principal", None)
    if who is None:  # an app built without the middleware (not via create_app)
        host = request.client.host if request.client else "unknown"
        return Principal("anonymous", f"address:{host}")
    return who


# ----------------------------------------------------------------------------- middleware
def _cookie_name(scope) -> str:
    """Per-port name: cookies ignore ports, so two dashboards on one host must not share one."""
    server = scope.get("server")
    return f"tradepact-session-{server[1]}" if server and server[1] else "tradepact-session"


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    try:
        port = parts.port or default
    except ValueError:
        return None
    host = parts.hostname.lower()
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + ("" if port == default else f":{port}")


def same_origin(request) -> bool:
    """True when the request's ``Origin`` (else ``Referer``) is this server as the browser sees it
    (the request's scheme and ``Host`` header). Missing or ``null`` origins fail."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host")
    if not sent or not host or sent == "null":
        return False
    here = _origin_of(f"{request.url.scheme}://{host}/")
    return here is not None and _origin_of(sent) == here


def _client_address(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def _safe_next(target: str | None) -> str:
    """A local path to go to after login (never another site: no scheme, no ``//``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _without_token(request) -> str:
    """The request's local path and query without a ``token`` parameter."""
    rest = [(k, v) for k, v in parse_qsl(request.url.query, keep_blank_values=True) if k != "token"]
    return _safe_next(quote(request.url.path) + (f"?{urlencode(rest)}" if rest else ""))


class AuthMiddleware:
    """ASGI middleware: let in requests with valid credentials (see the module docstring),
    attach their :class:`Principal` as ``request.state.principal``, answer the rest."""

    def __init__(self, app, auth: Auth):
        self.app = app
        self.auth = auth
        import jinja2

        env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
        self._login_page = env.get_template("login.html")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope, receive)
        state = scope.setdefault("state", {})
        if not self.auth.enabled:
            state["principal"] = Principal("anonymous", f"address:{_client_address(scope)}")
            return await self.app(scope, receive, send)
        method, path = scope["method"], scope["path"]
        if (method, path) == ("POST", "/login"):
            return await self._login(request)(scope, receive, send)
        if (method, path) in PUBLIC:
            return await self.app(scope, receive, send)

        response = None
        who: Principal | None = None
        stale = False
        header = request.headers.get("authorization")
        cookie_name = _cookie_name(scope)
        if header is not None:
            scheme, _, credential = header.partition(" ")
            if scheme.lower() == "bearer" and self.auth.token_matches(credential.strip()):
                who = Principal(self.auth.token_id, self.auth.token_id)
            else:
                response = self._denied(request, "the Authorization header does not carry a valid Bearer token")
        elif "token" in request.query_params and method in ("GET", "HEAD"):
            # the link wins over a cookie: a fresh session, and the token leaves the address bar
            response = self._token_link(request, cookie_name)
        else:
            cookie = request.cookies.get(cookie_name)
            if cookie:
                who = self.auth.session(cookie)
                stale = who is None
        if who is None:
            response = response or self._denied(request, "authentication required: open the URL printed by "
                                                         "`tradepact serve` (?token=...), log in, or send "
                                                         "'Authorization: Bearer <token>'")
            if stale:  # a session the server no longer knows (e.g. it restarted): drop the cookie
                response.delete_cookie(cookie_name, path="/", httponly=True, samesite="strict")
            return await response(scope, receive, send)
        if who.via_cookie and method not in SAFE_METHODS and not same_origin(request):
            from starlette.responses import JSONResponse

            return await JSONResponse(status_code=403, content={
                "detail": "cross-origin request refused: a state-changing request with the session cookie must "
                          "come from this dashboard's own pages (Origin header); scripts use the Bearer token"},
            )(scope, receive, send)
        state["principal"] = who
        return await self.app(scope, receive, send)

    # -- answers ---------------------------------------------------------------------
    def _wants_html(self, request) -> bool:
        path = request.url.path
        if path.startswith("/api/") or path in ("/openapi.json",) or path.startswith("/static/"):
            return False
        return "text/html" in request.headers.get("accept", "") or request.method in ("GET", "HEAD")

    def _denied(self, request, message: str, status: int = 401, retry_after: int | None = None,
                next_target: str | None = None):
        from starlette.responses import HTMLResponse, JSONResponse

        headers = {"WWW-Authenticate": 'Bearer realm="tradepact"'} if status == 401 else {}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        if self._wants_html(request):
            target = next_target or (_without_token(request) if request.url.path != "/login" else "/")
            what = "the dashboard password or the token" if self.auth.password_hash else "the token"
            page = self._login_page.render(message=message, what=what, next=target)
            return HTMLResponse(page, status_code=status, headers=headers)
        return JSONResponse(status_code=status, content={"detail": message}, headers=headers)

    def _set_session(self, response, request, via: str) -> Principal:
        cookie, who = self.auth.new_session(via)
        response.set_cookie(_cookie_name(request.scope), cookie, max_age=SESSION_MAX_AGE, path="/",
                            httponly=True, samesite="strict", secure=request.url.scheme == "https")
        return who

    def _token_link(self, request, cookie_name: str):
        """``?token=`` on a page: a session cookie and a redirect to the same URL without it."""
        from starlette.responses import RedirectResponse

        if not self.auth.token_matches(request.query_params["token"]):
            return self._denied(request, "wrong token in the link")
        response = RedirectResponse(_without_token(request), status_code=303)
        self._set_session(response, request, "token")
        return response

    def _login(self, request):
        """``POST /login`` (form field ``secret``: the password or the token; ``next``: where to go)."""
        auth = self.auth

        async def endpoint(scope, receive, send):
            from starlette.concurrency import run_in_threadpool
            from starlette.responses import RedirectResponse

            address = _client_address(scope)
            wait = auth.login_wait(address)
            if wait:
                response = self._denied(request, f"too many failed logins from {address}; try again in {wait} s",
                                        status=429, retry_after=wait)
                return await response(scope, receive, send)
            if request.headers.get("origin") and not same_origin(request):
                response = self._denied(request, "cross-origin login refused", status=403)
                return await response(scope, receive, send)
            form = await request.form(max_files=0, max_fields=10)
            secret, target = str(form.get("secret", "")), _safe_next(str(form.get("next", "/")))
            via = "token" if secret and auth.token_matches(secret) else None
            if via is None and secret and auth.password_hash:
                via = "password" if await run_in_threadpool(auth.password_matches, secret) else None
            if via is None:
                auth.login_failed(address)
                response = self._denied(request, "wrong password or token", next_target=target)
                return await response(scope, receive, send)
            response = RedirectResponse(target, status_code=303)
            self._set_session(response, request, via)
            return await response(scope, receive, send)

        return endpoint


def logout_route(app) -> None:
    """``POST /logout``: end this browser's session (a cookie session, so Origin-checked)."""
    from starlette.responses import RedirectResponse

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request):
        auth: Auth = request.app.state.auth
        name = _cookie_name(request.scope)
        cookie = request.cookies.get(name)
        if cookie:
            auth.end_session(cookie)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(name, path="/", httponly=True, samesite="strict")
        return response


def document_security(app) -> None:
    """Declare the Bearer token in the OpenAPI document (every operation but the health check),
    so API clients and the /docs page know how to authenticate."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        if app.state.auth.enabled:
            schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
                "type": "http", "scheme": "bearer",
                "description": "the token `tradepact serve` printed (or TRADEPACT_TOKEN); browsers use the session "
                               "cookie set by the ?token= link or the login form"}
            for path, item in schema.get("paths", {}).items():
                for method, op in item.items():
                    if isinstance(op, dict) and (method.upper(), path) not in PUBLIC:
                        op["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi
