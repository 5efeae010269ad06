"""Field types shared by every validated file (agreements, scenarios): one definition each.

* :data:`Iso3` — an ISO3 country or declared region code, upper-cased (``" kor"`` -> ``"KOR"``).
* :data:`HsCode` — an HS code written as a quoted string of 2, 4, 6, 8 or 10 digits,
  normalized (``"0201.10"`` -> ``"020110"``); a bare number is refused because YAML reads
  ``0201`` as 201.
* :func:`parse_year_range` / :func:`parse_year_ranges` — calendar years written as ``2019``,
  ``"2019-2030"`` (also ``2019..2030``, ``2019 to 2030``), ``[2019, 2030]`` or
  ``{from: 2019, to: 2030}``, as inclusive ``(first, last)`` ranges.
* :class:`StrictModel` — the pydantic base of every file schema: unknown keys are errors.

Validators raise ``ValueError`` (pydantic turns them into located validation errors, which
the loaders re-raise as :class:`~tradepact.errors.DataFormatError` naming the file and field).
"""
from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

from tradepact import countries, products

_RANGE = re.compile(r"\s*(\d{4})\s*(?:(?:-|\.\.|to)\s*(\d{4})\s*)?")


class StrictModel(BaseModel):
    """Pydantic base for file schemas: unknown keys are refused (a typo is an error, not ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=False)


def check_iso3(value: Any) -> str:
    """An accepted ISO3 country or region code, stripped and upper-cased; ``ValueError`` otherwise."""
    code = value.strip().upper() if isinstance(value, str) else None
    if code is None or not countries.is_valid(code):
        raise ValueError(f"expected an ISO3 country code (e.g. USA, KOR), got {value!r}")
    return code


def check_hs_code(value: Any) -> str:
    """An HS code of 2, 4, 6, 8 or 10 digits written as a string, normalized (``"0201.10"`` -> ``"020110"``)."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"expected an HS code as a quoted string of 2, 4, 6, 8 or 10 digits (YAML reads unquoted 0201 as a "
            f"number, dropping the leading zero), got {value!r}")
    code = products.clean(value)
    if not products.is_valid(code):
        raise ValueError(f"expected an HS code of 2, 4, 6, 8 or 10 digits, got {value!r}")
    return code


def check_hs_codes(value: Any) -> list[Any]:
    """One HS code or a non-empty list of them, as a list (each still to be checked by :data:`HsCode`)."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError("expected at least one HS code")
    return items


def parse_year_range(value: Any) -> tuple[int, int]:
    """One year or year range as an inclusive ``(first, last)`` pair; ``ValueError`` when unreadable or reversed."""
    if isinstance(value, bool):
        raise ValueError(f"expected a year or a year range like 2019-2030, got {value!r}")
    if isinstance(value, int):
        return value, value
    if isinstance(value, dict):
        if set(value) != {"from", "to"}:
            raise ValueError(f"expected {{from: YEAR, to: YEAR}}, got {value!r}")
        lo, hi = int(value["from"]), int(value["to"])
    elif isinstance(value, (list, tuple)) and len(value) == 2:
        lo, hi = int(value[0]), int(value[1])
    else:
        m = _RANGE.fullmatch(str(value))
        if not m:
            raise ValueError(f"expected a year or a year range like 2019-2030, got {value!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if hi < lo:
        raise ValueError(f"expected an increasing year range, got {value!r} (it ends before it starts)")
    return lo, hi


def parse_year_ranges(value: Any) -> list[tuple[int, int]]:
    """Years written as one year, one range or a list of those -> sorted inclusive ranges (None -> [])."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return sorted(parse_year_range(item) for item in items)


#: An ISO3 country (or declared region) code, upper case.
Iso3 = Annotated[str, BeforeValidator(check_iso3)]
#: An HS code as written in a file, normalized ("0201.10" -> "020110").
HsCode = Annotated[str, BeforeValidator(check_hs_code)]
#: One HS code or a list of them, as a non-empty list of normalized codes.
HsCodes = Annotated[list[HsCode], BeforeValidator(check_hs_codes)]
#: Inclusive year ranges, from any of the forms :func:`parse_year_ranges` reads.
YearRanges = Annotated[list[tuple[int, int]], BeforeValidator(parse_year_ranges)]
