"""HS product codes: validation, levels and sector groupings.

Codes are zero-padded digit strings: 2 (chapter), 4 (heading), 6 (subheading) or
8/10 digits (national tariff lines). HS revisions are named H0..H6 as in UN Comtrade
(H0 = HS1988/92, H1 = 1996, H2 = 2002, H3 = 2007, H4 = 2012, H5 = 2017, H6 = 2022).
"""
from __future__ import annotations

import re

import pandas as pd

from tradepact.errors import ParameterError

HS_REVISIONS = ("H0", "H1", "H2", "H3", "H4", "H5", "H6")
HS_LEVELS = (2, 4, 6, 8, 10)
_HS_RE = re.compile(r"^(\d{2}|\d{4}|\d{6}|\d{8}|\d{10})$")

#: Broad sectors by HS chapter range (inclusive), used for sector views.
SECTORS: list[tuple[str, int, int]] = [
    ("Agriculture & food", 1, 24),
    ("Minerals & fuels", 25, 27),
    ("Chemicals & plastics", 28, 40),
    ("Leather, wood & paper", 41, 49),
    ("Textiles & footwear", 50, 67),
    ("Stone, glass & metals", 68, 83),
    ("Machinery & electronics", 84, 85),
    ("Vehicles & transport", 86, 89),
    ("Instruments & other", 90, 99),
]


def clean(code: str) -> str:
    """Strip dots and spaces from an HS code as printed in schedules ("0201.10" -> "020110")."""
    return re.sub(r"[.\s]", "", str(code))


def is_valid(code: str) -> bool:
    """True for a 2/4/6/8/10-digit HS code string."""
    return isinstance(code, str) and bool(_HS_RE.match(code))


def invalid_codes(codes: pd.Series) -> pd.Series:
    """Boolean mask of entries that are not valid HS code strings (vectorized)."""
    return ~codes.astype("string").str.fullmatch(r"\d{2}|\d{4}|\d{6}|\d{8}|\d{10}").fillna(False).astype(bool)


def in_nomenclature(code: str) -> bool:
    """True when an HS code's chapter exists in the Harmonized System (01–97, 77 reserved).
    Chapters 98–99 are national (e.g. US HTS special provisions), 00 does not exist."""
    ch = int(code[:2]) if is_valid(code) else -1
    return 1 <= ch <= 97 and ch != 77


def level(code: str, digits: int) -> str:
    """Truncate an HS code to ``digits`` (2, 4 or 6)."""
    if digits not in HS_LEVELS or len(code) < digits:
        raise ParameterError("digits", f"cannot take HS{digits} of {code!r} (levels: {HS_LEVELS})")
    return code[:digits]


def sector_of_chapter(chapter: int) -> str:
    """Broad sector name of an HS chapter number (1-99)."""
    for name, lo, hi in SECTORS:
        if lo <= chapter <= hi:
            return name
    return "Other"


def sectors(codes: pd.Series) -> pd.Series:
    """Broad sector of each HS code (vectorized over a Series of code strings)."""
    chapters = pd.to_numeric(codes.astype("string").str[:2], errors="coerce")
    bins = [0] + [hi for _, _, hi in SECTORS]
    labels = [name for name, _, _ in SECTORS]
    return pd.cut(chapters, bins=bins, labels=labels).astype("string").fillna("Other")
