"""``tradepact serve``: the web dashboard, on loopback by default, behind a token by default.

Who may come in (see :mod:`tradepact.web.auth`): a random token generated at start and printed
once in the URL, or ``--token``/``TRADEPACT_TOKEN``; or a password set with ``--password``
(argon2 hash in ``STORE/dashboard/config.json``; as in Jupyter, with a password and no explicit
token no token is generated). An empty token and no password means no authentication, which is
refused on any address but loopback unless ``--no-auth`` says it is meant.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional
from urllib.parse import quote

import typer

from tradepact.cli.app import app
from tradepact.errors import ConfigError


def _read_password() -> str:
    """The new password: asked twice on a terminal, else the first line of standard input."""
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        first = getpass.getpass("Dashboard password: ")
        if getpass.getpass("Again: ") != first:
            raise ConfigError("--password: the two entries differ; nothing was changed")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    return line.rstrip("\r\n")


def _url(host: str, port: int, token: str | None) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}/" + (f"?token={quote(token, safe='')}" if token else "")


@app.command("serve", epilog="Examples:\n\n  tradepact serve\n\n  tradepact serve --port 8080 --workers 1")
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind. The default serves this machine only; "
                                               "anything else exposes the dashboard to the network."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    store: Optional[Path] = typer.Option(None, "--store", envvar="TRADEPACT_STORE",
                                         help="Store directory (ledger data and saved runs)."),
    workers: int = typer.Option(2, min=1, max=32, help="Worker processes for scenario runs."),
    token: Optional[str] = typer.Option(
        None, "--token", envvar="TRADEPACT_TOKEN", show_default=False,
        help="Token every request must carry (default: a random one, printed once in the URL). Prefer the "
             "TRADEPACT_TOKEN variable: other users can see a command line. Empty: no token."),
    password: bool = typer.Option(
        False, "--password", help="Set the dashboard password first (asked twice on a terminal, else read as one "
                                  "line from standard input; stored argon2-hashed in STORE/dashboard/config.json)."),
    clear_password: bool = typer.Option(False, "--clear-password", help="Remove the stored password first."),
    no_auth: bool = typer.Option(False, "--no-auth", help="No authentication at all: anyone who can reach the "
                                                          "port can read the store and start runs."),
    allowed_host: Optional[list[str]] = typer.Option(
        None, "--allowed-host", help="Also answer to this Host name (repeatable), e.g. the public name a "
                                     "reverse proxy passes on. Default: loopback names (any name off loopback)."),
    forwarded_allow_ips: str = typer.Option(
        "127.0.0.1", "--forwarded-allow-ips", envvar="FORWARDED_ALLOW_IPS",
        help="Addresses of reverse proxies whose X-Forwarded-Proto/-For are trusted (comma-separated)."),
    max_runs: int = typer.Option(2, "--max-runs-per-client", min=1, max=64,
                                 help="Runs one client may have in the worker pool at once."),
    max_queued: int = typer.Option(8, "--max-queued-per-client", min=0, max=1000,
                                   help="Further runs one client may have waiting; beyond them: 429."),
) -> None:
    """Serve the dashboard: pair ledger, agreement browser, scenario runner, saved runs (+ JSON API at /api)."""
    from rich.console import Console

    from tradepact.web import auth as web_auth
    from tradepact.web.app import LOOPBACK_HOSTS, default_store

    err = Console(stderr=True, soft_wrap=True)
    store_dir = Path(store) if store is not None else default_store()
    loopback = web_auth.is_loopback(host)
    if password and clear_password:
        raise ConfigError("--password and --clear-password: give one of them")
    if no_auth and password:
        raise ConfigError("--no-auth and --password: give one of them")
    try:
        if clear_password:
            web_auth.clear_password(store_dir)
        if password:
            web_auth.set_password(store_dir, _read_password())
        password_hash = None if no_auth else web_auth.stored_password_hash(store_dir)
    except OSError as exc:
        raise ConfigError(f"--store {store_dir}: {exc}") from exc
    if no_auth:
        token = None
    elif token is not None and token != "" and len(token) < web_auth.TOKEN_MIN_LENGTH:
        raise ConfigError(f"--token/TRADEPACT_TOKEN: at least {web_auth.TOKEN_MIN_LENGTH} characters expected "
                          f"(a short token can be guessed), got {len(token)}")
    if token is None and password_hash is None and not no_auth:
        token = web_auth.new_token()
    if no_auth or (not token and password_hash is None):
        if not loopback and not no_auth:  # refused before anything is bound
            raise ConfigError(f"--host {host}: refusing to serve the network without authentication (the token is "
                              "empty and no password is set); give a token or --password, or --no-auth to mean it")
        auth = web_auth.Auth.disabled()
        err.print(f"[yellow]warning:[/] no authentication: anyone who can reach {host}:{port} "
                  + ("(every user of this machine) " if loopback else "(other machines too) ")
                  + "can read the store and start runs.", highlight=False)
    else:
        auth = web_auth.Auth(token or None, password_hash)
        if not loopback:
            err.print(f"[yellow]note:[/] serving plain http on {host}: the token and the session cookie cross the "
                      "network unencrypted; put a TLS reverse proxy in front (README: Serving for a team).",
                      highlight=False)

    import logging

    import uvicorn

    from tradepact.web.app import create_app

    hosts = list(LOOPBACK_HOSTS) + list(allowed_host or [])
    if not loopback and not allowed_host:
        hosts = ["*"]
    try:
        web_app = create_app(store_dir, workers=workers, allowed_hosts=hosts, auth=auth,
                             max_runs_per_client=max_runs, max_queued_per_client=max_queued)
    except OSError as exc:
        raise ConfigError(f"--store {store}: {exc}") from exc
    log = logging.getLogger("tradepact.web")  # one line per run: who started it (never the secret)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    how = ("log in with the dashboard password" if password_hash and not token else
           "open this URL to log in (once opened, the browser keeps a session cookie)" if token else "open")
    print(f"tradepact dashboard (store: {web_app.state.store_dir}): {how}\n    {_url(host, port, auth.token)}",
          file=sys.stderr, flush=True)
    uvicorn.run(web_app, host=host, port=port, log_level="warning", proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips)
