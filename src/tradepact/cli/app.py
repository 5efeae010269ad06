"""The ``tradepact`` Typer application object that every command module registers on.

Kept apart from :mod:`tradepact.cli` so that the command modules import the app from here and
no module imports the package that imports it.

Commands load lazily: :data:`COMMANDS` names each command's module and one-line help, so
``tradepact --help`` lists every command without importing any of them, and ``tradepact X``
imports only X's module (``tradepact estimate`` never loads the web, report or GE layers).
A new command is one line in :data:`COMMANDS` plus its module (``@app.command("name")`` or
``app.add_typer(sub, name="name")``); ``tests/test_cli_lazy.py`` checks the two agree.
"""
from __future__ import annotations

import importlib

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

#: command name -> (module in tradepact.cli that registers it, the help line ``tradepact --help`` shows)
COMMANDS: dict[str, tuple[str, str]] = {
    "ge": ("ge", "Solve a GE counterfactual (conditional and full/gegravity closures) and print per-country results."),
    "korus": ("korus", "Check the KORUS debate's claims and write the self-contained HTML report (opens offline)."),
    "ledger": ("ledger", "Goods/services/total balance of A with B per year (USD millions), with before/after averages."),
    "agreements": ("agreements", "List the built-in agreements (or describe one YAML file given with --file)."),
    "schedule": ("agreements", "Tariff rates by year under an agreement, the schedule's lines, or what amendments "
                 "changed."),
    "simulate": ("simulate", "Run a scenario through the PE model (year by year along the tariff path)."),
    "compare": ("simulate", "Two scenarios' PE results side by side by year, with differences (B − A), USD millions."),
    "scenarios": ("simulate", "List the built-in scenarios (name, years, models, description)."),
    "report": ("report", "Write a self-contained HTML report (offline; table of contents, sources, CSV downloads) and "
               "chart images."),
    "serve": ("serve", "Serve the dashboard: pair ledger, agreement browser, scenario runner, saved runs (+ JSON API at "
              "/api)."),
    "estimate": ("estimate", "Estimate a structural gravity model and print the coefficients."),
    "data": ("data", "Import trade data into the ledger store and see what it holds."),
}


def load_command(name: str) -> TyperCommand | TyperGroup:
    """Import the module of command ``name`` and build its click command (a group for ``data``)."""
    importlib.import_module(f"tradepact.cli.{COMMANDS[name][0]}")
    for info in app.registered_commands:
        if (info.name or typer.main.get_command_name(info.callback.__name__)) == name:
            return typer.main.get_command_from_info(info, pretty_exceptions_short=app.pretty_exceptions_short,
                                                    rich_markup_mode=app.rich_markup_mode)
    for ginfo in app.registered_groups:
        if ginfo.name == name:
            return typer.main.get_group_from_info(ginfo, pretty_exceptions_short=app.pretty_exceptions_short,
                                                  suggest_commands=app.suggest_commands,
                                                  rich_markup_mode=app.rich_markup_mode)
    raise LookupError(f"tradepact.cli.{COMMANDS[name][0]} does not register a command {name!r}")


class _Listed(TyperCommand):
    """Stands in for a command not loaded yet: its name and help line for ``tradepact --help``."""


class LazyGroup(TyperGroup):
    """The root group: every :data:`COMMANDS` entry is listed from its help line and loaded when run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, (_, help_line) in COMMANDS.items():
            self.commands.setdefault(name, _Listed(name, help=help_line))

    def resolve_command(self, ctx, args):
        if args and isinstance(self.commands.get(args[0]), _Listed):
            self.commands[args[0]] = load_command(args[0])
        return super().resolve_command(ctx, args)


app = typer.Typer(
    name="tradepact",
    cls=LazyGroup,
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
