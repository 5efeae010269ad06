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
