"""The ``tradepact`` command line: a thin front door over the library.

Each area registers its subcommands from its own module in this package; the app
(:mod:`tradepact.cli.app`) lists them all and imports a module only when its command runs. This
module turns :class:`~tradepact.errors.TradepactError`
into a one-line message and exit status 2.
"""
from __future__ import annotations

import sys

import typer

from tradepact.cli.app import app
from tradepact.errors import TradepactError



def main(argv: list[str] | None = None) -> int:
    """Console-script entry point; returns the exit status."""
    try:
        status = app(args=argv, standalone_mode=False)  # a command's typer.Exit(n) comes back as n
    except TradepactError as exc:
        from rich.console import Console

        from tradepact.cli.options import error_text

        Console(stderr=True).print(f"[bold red]error:[/] {error_text(exc)}", highlight=False, soft_wrap=True)
        return 2
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except typer.TyperException as exc:  # usage errors (bad option, missing argument)
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        return int(getattr(exc, "exit_code", 2))
    return status if isinstance(status, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
