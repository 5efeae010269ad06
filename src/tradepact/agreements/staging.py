"""Staging: from dates to stages, and from stages to fractions of the base rate.

A *stage* is the agreement year in force on a date: 0 before the first cut (the base
rate applies), 1 from ``calendar.year_1_starts`` (usually entry into force), then one
more on each later cut date the calendar declares. A staging *category* maps a stage to
a fraction of the base rate (1 = base, 0 = duty-free). Both are data declared by the
agreement; this module only evaluates them.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from tradepact.agreements.schema import (
    Calendar,
    EqualCuts,
    ExplicitPath,
    HeldThenEqualCuts,
    Immediate,
    NoCommitment,
)

#: Stages beyond this are treated as this one (every category is constant by then).
MAX_STAGE = 150


def _mmdd(text: str) -> tuple[int, int]:
    m, d = text.split("-")
    return int(m), int(d)


def _day_in_year(year: int, mmdd: tuple[int, int]) -> dt.date:
    m, d = mmdd
    if m == 2 and d == 29:
        try:
            return dt.date(year, 2, 29)
        except ValueError:
            return dt.date(year, 2, 28)
    return dt.date(year, m, d)


def stage_on(calendar: Calendar, day: dt.date) -> int:
    """Stage in force on ``day`` (0 before ``year_1_starts``)."""
    start = calendar.year_1_starts
    if start is None:
        raise ValueError("calendar.year_1_starts is not set")
    if day < start:
        return 0
    if calendar.later_cuts_on == "anniversary":
        n = day.year - start.year
        if _day_in_year(day.year, (start.month, start.day)) > day:
            n -= 1
        return 1 + max(n, 0)
    mmdd = _mmdd(calendar.later_cuts_on)
    n = day.year - start.year  # cut dates: that MM-DD in each calendar year after the start year
    if n >= 1 and _day_in_year(day.year, mmdd) > day:
        n -= 1
    return 1 + max(n, 0)


def annual_reference_day(calendar: Calendar, year: int) -> dt.date:
    """The day whose rate stands for calendar ``year``."""
    return _day_in_year(int(year), _mmdd(calendar.annual_rate_on))


def stages_of_years(calendar: Calendar, years: np.ndarray) -> np.ndarray:
    """Stage for each calendar year in ``years`` (int array in, int64 array out, same shape)."""
    years = np.asarray(years, dtype=np.int64)
    uniq, inv = np.unique(years, return_inverse=True)
    st = np.array([stage_on(calendar, annual_reference_day(calendar, y)) for y in uniq], dtype=np.int64)
    return st[inv].reshape(years.shape)


def fractions(category, stages: np.ndarray) -> np.ndarray:
    """Fraction of the base rate under ``category`` at each stage (vectorized)."""
    k = np.clip(np.asarray(stages, dtype=np.int64), 0, MAX_STAGE)
    if isinstance(category, Immediate):
        out = np.where(k >= 1, 0.0, 1.0)
    elif isinstance(category, EqualCuts):
        out = np.clip(1.0 - k / category.cuts, 0.0, 1.0)
    elif isinstance(category, HeldThenEqualCuts):
        j = k - category.hold_years
        out = np.where(j <= 0, 1.0, np.clip(1.0 - j / category.cuts, 0.0, 1.0))
    elif isinstance(category, ExplicitPath):
        table = np.ones(MAX_STAGE + 1)
        for stage, frac in category.path.items():
            table[min(stage, MAX_STAGE):] = frac
        out = table[k]
    elif isinstance(category, NoCommitment):
        out = np.ones(k.shape)
    else:  # pragma: no cover - the model admits no other kind
        raise TypeError(f"unknown staging category {category!r}")
    return np.asarray(out, dtype=np.float64)


def fraction_table(categories: list) -> np.ndarray:
    """Array (n_categories, MAX_STAGE + 1): fraction of base at each stage for each category."""
    stages = np.arange(MAX_STAGE + 1)
    if not categories:
        return np.ones((0, MAX_STAGE + 1))
    return np.vstack([fractions(c, stages) for c in categories])


def describe(category) -> str:
    """A short human description of a staging category."""
    if getattr(category, "description", None):
        return category.description
    if isinstance(category, Immediate):
        return "duty-free from entry into force"
    if isinstance(category, EqualCuts):
        return f"{category.cuts} equal annual cuts to zero"
    if isinstance(category, HeldThenEqualCuts):
        return f"base rate held {category.hold_years} years, then {category.cuts} equal annual cut(s) to zero"
    if isinstance(category, ExplicitPath):
        pts = ", ".join(f"year {k}: {v:.0%}" for k, v in category.path.items())
        return f"explicit path (fraction of base) {pts}"
    if isinstance(category, NoCommitment):
        return "no commitment (MFN rate stays)"
    return str(category)
