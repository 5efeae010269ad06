"""The ``tradepact`` Typer application object that every command module registers on.

Kept apart from :mod:`tradepact.cli` (which imports the command modules) so that the command
modules import the app from here and no module imports the package that imports it.
"""
from __future__ import annotations

import typer

app = typer.Typer(
    name="tradepact",
    help="Trade-policy analysis: ledger, agreements, gravity, simulation, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    """tradepact: trade-policy analysis from the command line."""
    if version:
        from tradepact import __version__

        typer.echo(f"tradepact {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
