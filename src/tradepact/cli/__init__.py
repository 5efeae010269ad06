"""The ``tradepact`` command line: a thin front door over the library.

Each area registers its subcommands from its own module in this package; this
module only builds the app and turns :class:`~tradepact.errors.TradepactError`
into a one-line message and exit status 2.
"""
from __future__ import annotations

import sys

import typer

from tradepact.errors import TradepactError

app = typer.Typer(
    name="tradepact",
    help="Trade-policy analysis: ledger, agreements, gravity, simulation, reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Subcommand modules register themselves on `app` when imported.
from tradepact.cli import estimate as _estimate  # noqa: E402,F401


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit status."""
    try:
        app(args=argv, standalone_mode=False)
    except TradepactError as exc:
        from rich.console import Console

        Console(stderr=True).print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
