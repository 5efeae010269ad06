"""``tradepact serve``: the web dashboard on loopback by default."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from tradepact.cli.app import app
from tradepact.errors import ConfigError


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to bind. The default serves this machine only; "
                                               "anything else exposes the dashboard to the network."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    store: Optional[Path] = typer.Option(None, "--store", envvar="TRADEPACT_STORE",
                                         help="Store directory (ledger data and saved runs)."),
    workers: int = typer.Option(2, min=1, max=32, help="Worker processes for scenario runs."),
) -> None:
    """Serve the dashboard: pair ledger, agreement browser, scenario runner, saved runs (+ JSON API at /api)."""
    import uvicorn
    from rich.console import Console

    from tradepact.web.app import create_app

    loopback = host in ("127.0.0.1", "localhost", "::1")
    if not loopback:
        Console(stderr=True).print(f"[yellow]warning:[/] binding to {host}: the dashboard has no authentication "
                                   "and will be reachable from other machines.")
    try:
        web_app = create_app(store, workers=workers, **({} if loopback else {"allowed_hosts": ["*"]}))
    except OSError as exc:
        raise ConfigError(f"--store {store}: {exc}") from exc
    Console(stderr=True).print(f"tradepact dashboard on http://{host}:{port}/  (store: {web_app.state.store_dir})")
    uvicorn.run(web_app, host=host, port=port, log_level="warning")
