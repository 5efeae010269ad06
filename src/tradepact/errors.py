"""One exception family for tradepact.

Every error a user can cause derives from :class:`TradepactError`; the CLI prints
it on one line (no traceback) and exits with status 2.
"""
from __future__ import annotations

from typing import Any


class TradepactError(Exception):
    """Base class of every error tradepact raises on purpose."""


class DataFormatError(TradepactError):
    """Input data that does not have the expected shape.

    Carries where the problem is (``file``, 1-based data ``row`` — header excluded —
    and ``field``), what was ``expected`` and what was ``got``. Any of them may be
    None when it does not apply (e.g. a missing column has no row).
    """

    def __init__(self, file: Any = None, row: int | None = None, field: str | None = None,
                 expected: str | None = None, got: Any = None, message: str | None = None):
        self.file = None if file is None else str(file)
        self.row = row
        self.field = field
        self.expected = expected
        self.got = got
        parts = []
        if self.file:
            parts.append(self.file)
        if row is not None:
            parts.append(f"row {row}")
        if field:
            parts.append(f"field '{field}'")
        where = ", ".join(parts)
        what = message or ""
        if expected is not None:
            what += ("; " if what else "") + f"expected {expected}"
        if got is not None:
            what += f", got {got!r}"
        super().__init__(f"{where}: {what}" if where else what)


class ConfigError(TradepactError):
    """A bad option, setting, agreement or scenario file (not tabular data)."""


class NotConvergedError(TradepactError):
    """An iterative solver or estimator did not reach its tolerance."""


class StoreError(TradepactError):
    """The ledger store is missing, locked or inconsistent."""


class AgreementError(ConfigError, ValueError):
    """A cross-reference problem in an agreement, located by ``path`` (``lines[3].category``).

    Also a ``ValueError`` so pydantic-style callers that catch value errors keep working.
    """

    def __init__(self, path: str, message: str, expected: str | None = None, got: Any = None):
        self.path, self.message, self.expected, self.got = path, message, expected, got
        super().__init__(f"{path}: {message}")


class ParameterError(ConfigError, ValueError):
    """A bad value of a library function's parameter. ``parameter`` is its Python name
    (``theta``, ``set_values``); the message starts with it, and the command line words it as
    the matching flag (``--theta``, ``--set``). Also a ``ValueError``, as a bad argument is."""

    def __init__(self, parameter: str, message: str):
        self.parameter = parameter
        self.detail = message
        super().__init__(f"{parameter}: {message}")


def did_you_mean(got: Any, choices: Any) -> str:
    """``" (did you mean 'full'?)"`` when ``got`` is close to one of ``choices``, else ``""``."""
    import difflib

    close = difflib.get_close_matches(str(got), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_choice(parameter: str, value: Any, choices: Any) -> Any:
    """``value`` if it is one of ``choices``; else :class:`ParameterError` listing them, with a
    "did you mean" suggestion for a near miss."""
    choices = list(choices)
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        raise ParameterError(parameter, f"expected one of {listed}, got {value!r}{did_you_mean(value, choices)}")
    return value
