"""Option text into library values, and library errors into flag words.

The library takes Python values and names its parameters in errors (:class:`ParameterError`);
this module parses what a user types after a flag (``--costs "a=1,b=2"``, ``--pairs
"CAN>USA"``) and words a parameter error as the flag that sets it (``set_values`` ->
``--set``).
"""
from __future__ import annotations

from tradepact.errors import ConfigError, ParameterError, TradepactError

#: Library parameters whose flag is not ``--`` + the name with ``_`` as ``-``.
FLAGS = {"set_values": "--set", "std_errors": "--from-estimate", "base_log_costs": "--from-estimate",
         "output": "--output/--expenditure", "kind": "--baseline"}


def flag_for(parameter: str) -> str:
    """The command-line flag that sets a library ``parameter``."""
    return FLAGS.get(parameter, "--" + parameter.replace("_", "-"))


def error_text(exc: TradepactError) -> str:
    """The one line printed for an error: a :class:`ParameterError` names the flag, not the parameter."""
    if isinstance(exc, ParameterError):
        return f"{flag_for(exc.parameter)}: {exc.detail}"
    return str(exc)


def parse_assignments(text: str | None, flag: str) -> dict[str, float]:
    """``"a=1,b=-2.5"`` → ``{"a": 1.0, "b": -2.5}``; a ConfigError naming ``flag`` on bad syntax."""
    out: dict[str, float] = {}
    if not text:
        return out
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "=" not in part:
            raise ConfigError(f"{flag}: expected NAME=VALUE, got {part!r}")
        k, v = part.split("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise ConfigError(f"{flag}: value of {k.strip()!r} must be a number, got {v!r}") from None
    return out


def parse_pairs(text: str | None, flag: str = "--pairs") -> list[tuple[str, str]] | None:
    """``"CAN>USA,USA>CAN"`` → ``[("CAN", "USA"), ("USA", "CAN")]`` (directional: exporter>importer)."""
    if not text:
        return None
    pairs = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if ">" not in part:
            raise ConfigError(f"{flag}: expected EXPORTER>IMPORTER, got {part!r}")
        a, b = (s.strip().upper() for s in part.split(">", 1))
        pairs.append((a, b))
    return pairs
