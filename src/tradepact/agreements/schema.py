"""Agreement data model (pydantic): what an agreement file says, validated.

An :class:`Agreement` is parties, dates, the staging rules it declares (a calendar and
named staging categories), schedule lines per importing party, quantitative measures
(allowances, quotas) and amendments that override lines, categories or measures from an
effective date. Rates are ad valorem fractions (0.08 = 8%). HS codes are 2/4/6/8/10-digit
strings. Volumes are in the unit the line names.

Field-level checks (shapes, signs) live on the models; cross-references (unknown staging
category, overlapping lines, amendment dates) are checked by
:func:`tradepact.agreements.checks.check_agreement`, which names the path of the offending field
(``lines[3].category``); the text as amended on a date is :mod:`tradepact.agreements.amendments`.
Field types (ISO3, HS codes, year ranges) come from :mod:`tradepact.fields`.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from tradepact.fields import HsCodes, Iso3, StrictModel, YearRanges

_MMDD = re.compile(r"^(\d{2})-(\d{2})$")


# --------------------------------------------------------------------------- staging rules

class Calendar(StrictModel):
    """When stages take effect (data, not code).

    ``year_1_starts``: the date stage 1 takes effect (usually entry into force; defaults to it).
    ``later_cuts_on``: ``"MM-DD"`` (later stages start on that day each calendar year after
    the year of ``year_1_starts``; KORUS: ``"01-01"``) or ``"anniversary"`` (on each
    anniversary of ``year_1_starts``).
    ``annual_rate_on``: the day (``"MM-DD"``) whose rate is reported for a calendar year
    (default ``"12-31"``: the stage reached during the year).
    """

    year_1_starts: dt.date | None = None
    later_cuts_on: str = "anniversary"
    annual_rate_on: str = "12-31"

    @field_validator("later_cuts_on")
    @classmethod
    def _check_later_cuts_day(cls, v: str) -> str:
        if v != "anniversary":
            _check_mmdd(v)
        return v

    @field_validator("annual_rate_on")
    @classmethod
    def _check_annual_rate_day(cls, v: str) -> str:
        _check_mmdd(v)
        return v


def _check_mmdd(v: str) -> tuple[int, int]:
    m = _MMDD.match(str(v))
    if not m:
        raise ValueError(f"expected a day as 'MM-DD' (or 'anniversary'), got {v!r}")
    month, day = int(m.group(1)), int(m.group(2))
    dt.date(2000, month, day)  # raises ValueError for impossible days (leap year allows 02-29)
    return month, day


class Immediate(StrictModel):
    """Duty-free from stage 1."""

    kind: Literal["immediate"]
    description: str | None = None


class EqualCuts(StrictModel):
    """``cuts`` equal annual cuts, the first at stage 1: fraction(k) = max(0, 1 - k/cuts)."""

    kind: Literal["equal_cuts"]
    cuts: int = Field(ge=1, le=100)
    description: str | None = None


class HeldThenEqualCuts(StrictModel):
    """Base rate held for stages 1..``hold_years``, then ``cuts`` equal annual cuts."""

    kind: Literal["held_then_equal_cuts"]
    hold_years: int = Field(ge=0, le=100)
    cuts: int = Field(ge=1, le=100)
    description: str | None = None


class ExplicitPath(StrictModel):
    """A non-linear path: stage (agreement year, 1 = first) -> fraction of the base rate.

    A listed fraction holds until the next listed stage; stages before the first listed one
    keep the base rate (fraction 1).
    """

    kind: Literal["explicit"]
    path: dict[int, float]
    description: str | None = None

    @field_validator("path")
    @classmethod
    def _check_stage_fractions(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("explicit path needs at least one 'stage: fraction' entry")
        for k, f in v.items():
            if k < 1 or k > 200:
                raise ValueError(f"stage numbers start at 1 (year 1 = first stage), got {k}")
            if not (0.0 <= f):
                raise ValueError(f"fraction of base rate must be >= 0, got {f} at stage {k}")
        return dict(sorted(v.items()))


class NoCommitment(StrictModel):
    """Excluded: the MFN (base) rate stays."""

    kind: Literal["no_commitment"]
    description: str | None = None


Category = Annotated[Union[Immediate, EqualCuts, HeldThenEqualCuts, ExplicitPath, NoCommitment],
                     Field(discriminator="kind")]
CATEGORY_KINDS = ("immediate", "equal_cuts", "held_then_equal_cuts", "explicit", "no_commitment")


class StagingRules(StrictModel):
    """The agreement's calendar and its named staging categories."""

    calendar: Calendar = Field(default_factory=Calendar)
    categories: dict[str, Category]

    @field_validator("categories", mode="before")
    @classmethod
    def _check_category_kinds(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for name, cat in v.items():
                if isinstance(cat, dict) and cat.get("kind") not in CATEGORY_KINDS:
                    raise ValueError(f"category {name!r}: unknown kind {cat.get('kind')!r}; "
                                     f"expected one of {', '.join(CATEGORY_KINDS)}")
        return v


# --------------------------------------------------------------------------- lines and measures

class VolumePath(StrictModel):
    """A quantity by stage: ``start`` at stage 1 growing ``growth`` a year (compound);
    ``points`` (stage -> value) override the rule where a source states a figure."""

    start: float = Field(ge=0)
    growth: float = 0.0
    points: dict[int, float] = Field(default_factory=dict)
    unit: str

    def at(self, stage: int) -> float | None:
        """Volume at agreement stage ``stage`` (None before stage 1)."""
        if stage < 1:
            return None
        if stage in self.points:
            return float(self.points[stage])
        return float(self.start * (1.0 + self.growth) ** (stage - 1))


class TariffRateQuota(StrictModel):
    """A tariff-rate quota: imports up to ``volume`` pay ``in_quota_rate``; above it they pay
    ``out_of_quota_rate`` when given, else the line's staged rate."""

    in_quota_rate: float = Field(ge=0)
    out_of_quota_rate: float | None = Field(default=None, ge=0)
    volume: VolumePath
    note: str | None = None


class Safeguard(StrictModel):
    """A quantity-triggered safeguard: above ``trigger`` volume the ``safeguard_rate`` may apply."""

    trigger: VolumePath
    safeguard_rate: float | None = Field(default=None, ge=0)
    note: str | None = None


class SpecificDuty(StrictModel):
    """A specific duty (``amount`` per ``unit``) with an optional ad valorem equivalent."""

    amount: float = Field(ge=0)
    unit: str
    ave: float | None = Field(default=None, ge=0)


class Season(StrictModel):
    """Part of the year a seasonal line covers, inclusive, ``"MM-DD"`` (may wrap the year end)."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _check_season_day(cls, v: str) -> str:
        _check_mmdd(v)
        return v

    def days(self) -> set[int]:
        """Days of a leap year (0..365) covered."""
        base = dt.date(2000, 1, 1)
        s = (dt.date(2000, *_check_mmdd(self.start)) - base).days
        e = (dt.date(2000, *_check_mmdd(self.end)) - base).days
        return set(range(s, e + 1)) if s <= e else set(range(s, 366)) | set(range(0, e + 1))


class ScheduleLine(StrictModel):
    """One commitment of one importing party for one or more HS codes."""

    id: str
    importer: Iso3
    hs: HsCodes
    description: str = ""
    base_rate: float | None = Field(default=None, ge=0)
    specific: SpecificDuty | None = None
    category: str
    season: Season | None = None
    trq: TariffRateQuota | None = None
    safeguard: Safeguard | None = None
    source: str
    confirmed: bool
    unconfirmed_years: YearRanges = Field(default_factory=list)
    hs_confirmed: bool = True
    notes: str | None = None

    @field_validator("base_rate")
    @classmethod
    def _check_rate_is_fraction(cls, v: float | None) -> float | None:
        if v is not None and v > 10:
            raise ValueError(f"rates are fractions (0.08 = 8%); {v} looks like a percentage")
        return v

    @property
    def effective_base(self) -> float | None:
        """The ad valorem base rate (or the specific duty's AVE); None when unknown."""
        if self.base_rate is not None:
            return self.base_rate
        if self.specific is not None:
            return self.specific.ave
        return None

    def year_confirmed(self, year: int) -> bool:
        return self.confirmed and not any(lo <= year <= hi for lo, hi in self.unconfirmed_years)


class Measure(StrictModel):
    """A quantitative measure that is not a tariff line: a standards allowance, an absolute
    quota, ... ``outside_agreement`` marks measures that are not part of the agreement text
    (e.g. a unilateral measure negotiated alongside it)."""

    id: str
    importer: Iso3
    exporter: Iso3 | None = None
    hs: HsCodes
    kind: Literal["standards_allowance", "absolute_quota", "voluntary_restraint", "other"]
    description: str = ""
    volume: VolumePath
    effective: dt.date | None = None
    legal_basis: str | None = None
    outside_agreement: bool = False
    out_of_quota: str | None = None
    source: str
    confirmed: bool
    notes: str | None = None



class MfnRate(StrictModel):
    """An importer's MFN rate for an HS code (used for non-parties when given)."""

    importer: Iso3
    hs: HsCodes
    rate: float = Field(ge=0)
    source: str
    confirmed: bool = True


# --------------------------------------------------------------------------- amendments

class LineChange(StrictModel):
    """Override fields of a line (``set``) from the amendment's effective date."""

    line: str
    set: dict[str, Any]
    note: str = ""
    source: str | None = None
    confirmed: bool | None = None


class AddLine(StrictModel):
    add_line: ScheduleLine
    note: str = ""


class RemoveLine(StrictModel):
    remove_line: str
    note: str = ""


class CategoryChange(StrictModel):
    """Define or redefine a staging category from the effective date."""

    category: str
    definition: Category
    note: str = ""


class MeasureChange(StrictModel):
    measure: str
    set: dict[str, Any]
    note: str = ""
    source: str | None = None
    confirmed: bool | None = None


class AddMeasure(StrictModel):
    add_measure: Measure
    note: str = ""


_CHANGE_TAGS = {"add_line": AddLine, "remove_line": RemoveLine, "add_measure": AddMeasure,
                "line": LineChange, "measure": MeasureChange, "category": CategoryChange}


def _change_kind(v: Any) -> str | None:
    if isinstance(v, dict):
        for tag in _CHANGE_TAGS:
            if tag in v:
                return tag
        return None
    for tag, cls in _CHANGE_TAGS.items():
        if isinstance(v, cls):
            return tag
    return None


Change = Annotated[Union[tuple(Annotated[cls, Tag(tag)] for tag, cls in _CHANGE_TAGS.items())],
                   Discriminator(_change_kind, custom_error_type="change_kind",
                                 custom_error_message="a change needs one of the keys line, add_line, remove_line, "
                                                      "category, measure, add_measure")]


class Amendment(StrictModel):
    """A dated change to the agreement (protocol, supplement, side arrangement)."""

    id: str
    name: str
    agreed: dt.date | None = None
    effective: dt.date
    outside_agreement: bool = False
    source: str
    confirmed: bool = True
    notes: str | None = None
    changes: list[Change]



# --------------------------------------------------------------------------- agreement

class Agreement(StrictModel):
    """A trade agreement as data. See the module docstring for units."""

    id: str
    name: str
    parties: list[Iso3] = Field(min_length=2)
    signed: dt.date | None = None
    entry_into_force: dt.date
    source: str = ""
    notes: str | None = None
    staging: StagingRules
    lines: list[ScheduleLine] = Field(default_factory=list)
    measures: list[Measure] = Field(default_factory=list)
    amendments: list[Amendment] = Field(default_factory=list)
    mfn: list[MfnRate] = Field(default_factory=list)

    _file: str | None = PrivateAttr(default=None)
    _cache: dict = PrivateAttr(default_factory=dict)


    @model_validator(mode="after")
    def _default_year_1_to_entry_into_force(self) -> "Agreement":
        if self.staging.calendar.year_1_starts is None:
            self.staging.calendar.year_1_starts = self.entry_into_force
        return self

    # ---- convenience
    @property
    def file(self) -> str | None:
        """The file the agreement was loaded from (None for objects built in code)."""
        return self._file

    def line(self, line_id: str) -> ScheduleLine:
        for ln in self.lines:
            if ln.id == line_id:
                return ln
        raise KeyError(line_id)

    def amendments_in_force(self, on: dt.date | None) -> list[Amendment]:
        """Amendments effective on or before ``on`` (all when None), in effective-date order."""
        ams = sorted(self.amendments, key=lambda a: a.effective)
        return [a for a in ams if on is None or a.effective <= on]

    def __repr__(self) -> str:  # keep reprs short: agreements can have 10,000 lines
        return (f"Agreement(id={self.id!r}, parties={self.parties}, entry_into_force={self.entry_into_force}, "
                f"lines={len(self.lines)}, amendments={[a.id for a in self.amendments]})")

    __str__ = __repr__
