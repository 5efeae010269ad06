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
    import warnings

    warnings.showwarning = _warning_line
    try:
        status = app(args=argv, standalone_mode=False)  # a command's typer.Exit(n) comes back as n
    except TradepactError as exc:
        from tradepact.cli.options import error_text

        _one_line_error(error_text(exc))
        return 2
    except OSError as exc:  # the user's files and disks: name the path and the reason
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        _one_line_error(f"{where}{exc.strerror or exc}")
        return 2
    except KeyboardInterrupt:
        _one_line_error("interrupted")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 1
    except typer.TyperException as exc:  # usage errors (bad option, missing argument): one line
        if not hasattr(exc, "format_message"):
            raise
        ctx = getattr(exc, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        _one_line_error(" ".join(exc.format_message().split()) + hint)
        return int(getattr(exc, "exit_code", 2))
    return status if isinstance(status, int) else 0


def run(argv: list[str] | None = None) -> int:
    """The ``tradepact`` console script: :func:`main`, and an unexpected failure (a bug in tradepact)
    as one line for the user instead of a traceback (``TRADEPACT_DEBUG=1`` shows the traceback).
    Tests call :func:`main`, where a bug still raises."""
    try:
        return main(argv)
    except Exception as exc:
        import os

        if os.environ.get("TRADEPACT_DEBUG"):
            raise
        first = str(exc).splitlines()[0] if str(exc) else ""
        _one_line_error(f"internal error ({type(exc).__name__}: {first}); "
                        "please report it — rerun with TRADEPACT_DEBUG=1 for the traceback")
        return 1


def _warning_line(message, category, filename, lineno, file=None, line=None) -> None:
    """Library warnings (rows dropped, ...) as one ``warning:`` line, without source lines."""
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[yellow]warning:[/] {escape(str(message))}", highlight=False, soft_wrap=True)


def _one_line_error(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
