"""Agreement data model (pydantic): what an agreement file says, validated.

An :class:`Agreement` is parties, dates, the staging rules it declares (a calendar and
named staging categories), schedule lines per importing party, quantitative measures
(allowances, quotas) and amendments that override lines, categories or measures from an
effective date. Rates are ad valorem fractions (0.08 = 8%). HS codes are 2/4/6/8/10-digit
strings. Volumes are in the unit the line names.

Field-level checks (shapes, signs) live on the models; cross-references (unknown staging
category, overlapping lines, amendment dates) are checked by :func:`check_agreement`, which
names the path of the offending field (``lines[3].category``).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from tradepact import countries, products

_MMDD = re.compile(r"^(\d{2})-(\d{2})$")


def parse_hs(value: Any) -> str:
    """Normalize one HS code as written in an agreement file ("0201.10" -> "020110")."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"HS code must be a quoted string of 2, 4, 6, 8 or 10 digits (YAML reads unquoted 0201 as a "
            f"number), got {value!r}")
    code = products.clean(value)
    if not products.is_valid(code):
        raise ValueError(f"HS code must have 2, 4, 6, 8 or 10 digits, got {value!r}")
    return code


def _hs_list(v: Any) -> list:
    items = v if isinstance(v, list) else [v]
    if not items:
        raise ValueError("at least one HS code is needed")
    return items


def _iso3(v: Any) -> str:
    if not isinstance(v, str) or not countries.is_valid(v):
        raise ValueError(f"expected an ISO3 country code, got {v!r}")
    return v


#: An HS code as written in a file, normalized ("0201.10" -> "020110").
HsCode = Annotated[str, BeforeValidator(parse_hs)]
#: An ISO3 country (or declared region) code.
Iso3 = Annotated[str, BeforeValidator(_iso3)]


def parse_year_set(value: Any) -> list[tuple[int, int]]:
    """Years written as ``2019``, ``"2019-2040"`` or a list of those -> sorted inclusive ranges."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"expected a year or 'YYYY-YYYY' range, got {item!r}")
        if isinstance(item, int):
            out.append((item, item))
            continue
        if isinstance(item, (list, tuple)) and len(item) == 2:
            lo, hi = int(item[0]), int(item[1])
        else:
            m = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", str(item))
            if not m:
                raise ValueError(f"expected a year or 'YYYY-YYYY' range, got {item!r}")
            lo = int(m.group(1))
            hi = int(m.group(2) or m.group(1))
        if hi < lo:
            raise ValueError(f"year range {item!r} ends before it starts")
        out.append((lo, hi))
    return sorted(out)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, validate_assignment=False)


# --------------------------------------------------------------------------- staging rules

class Calendar(_Model):
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
    def _later(cls, v: str) -> str:
        if v != "anniversary":
            _check_mmdd(v)
        return v

    @field_validator("annual_rate_on")
    @classmethod
    def _annual(cls, v: str) -> str:
        _check_mmdd(v)
        return v


def _check_mmdd(v: str) -> tuple[int, int]:
    m = _MMDD.match(str(v))
    if not m:
        raise ValueError(f"expected a day as 'MM-DD' (or 'anniversary'), got {v!r}")
    month, day = int(m.group(1)), int(m.group(2))
    dt.date(2000, month, day)  # raises ValueError for impossible days (leap year allows 02-29)
    return month, day


class Immediate(_Model):
    """Duty-free from stage 1."""

    kind: Literal["immediate"]
    description: str | None = None


class EqualCuts(_Model):
    """``cuts`` equal annual cuts, the first at stage 1: fraction(k) = max(0, 1 - k/cuts)."""

    kind: Literal["equal_cuts"]
    cuts: int = Field(ge=1, le=100)
    description: str | None = None


class HeldThenEqualCuts(_Model):
    """Base rate held for stages 1..``hold_years``, then ``cuts`` equal annual cuts."""

    kind: Literal["held_then_equal_cuts"]
    hold_years: int = Field(ge=0, le=100)
    cuts: int = Field(ge=1, le=100)
    description: str | None = None


class ExplicitPath(_Model):
    """A non-linear path: stage (agreement year, 1 = first) -> fraction of the base rate.

    A listed fraction holds until the next listed stage; stages before the first listed one
    keep the base rate (fraction 1).
    """

    kind: Literal["explicit"]
    path: dict[int, float]
    description: str | None = None

    @field_validator("path")
    @classmethod
    def _path(cls, v: dict[int, float]) -> dict[int, float]:
        if not v:
            raise ValueError("explicit path needs at least one 'stage: fraction' entry")
        for k, f in v.items():
            if k < 1 or k > 200:
                raise ValueError(f"stage numbers start at 1 (year 1 = first stage), got {k}")
            if not (0.0 <= f):
                raise ValueError(f"fraction of base rate must be >= 0, got {f} at stage {k}")
        return dict(sorted(v.items()))


class NoCommitment(_Model):
    """Excluded: the MFN (base) rate stays."""

    kind: Literal["no_commitment"]
    description: str | None = None


Category = Annotated[Union[Immediate, EqualCuts, HeldThenEqualCuts, ExplicitPath, NoCommitment],
                     Field(discriminator="kind")]
CATEGORY_KINDS = ("immediate", "equal_cuts", "held_then_equal_cuts", "explicit", "no_commitment")


class StagingRules(_Model):
    """The agreement's calendar and its named staging categories."""

    calendar: Calendar = Field(default_factory=Calendar)
    categories: dict[str, Category]

    @field_validator("categories", mode="before")
    @classmethod
    def _kinds(cls, v: Any) -> Any:
        if isinstance(v, dict):
            for name, cat in v.items():
                if isinstance(cat, dict) and cat.get("kind") not in CATEGORY_KINDS:
                    raise ValueError(f"category {name!r}: unknown kind {cat.get('kind')!r}; "
                                     f"expected one of {', '.join(CATEGORY_KINDS)}")
        return v


# --------------------------------------------------------------------------- lines and measures

class VolumePath(_Model):
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


class TariffRateQuota(_Model):
    """A tariff-rate quota: imports up to ``volume`` pay ``in_quota_rate``; above it they pay
    ``out_of_quota_rate`` when given, else the line's staged rate."""

    in_quota_rate: float = Field(ge=0)
    out_of_quota_rate: float | None = Field(default=None, ge=0)
    volume: VolumePath
    note: str | None = None


class Safeguard(_Model):
    """A quantity-triggered safeguard: above ``trigger`` volume the ``safeguard_rate`` may apply."""

    trigger: VolumePath
    safeguard_rate: float | None = Field(default=None, ge=0)
    note: str | None = None


class SpecificDuty(_Model):
    """A specific duty (``amount`` per ``unit``) with an optional ad valorem equivalent."""

    amount: float = Field(ge=0)
    unit: str
    ave: float | None = Field(default=None, ge=0)


class Season(_Model):
    """Part of the year a seasonal line covers, inclusive, ``"MM-DD"`` (may wrap the year end)."""

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _d(cls, v: str) -> str:
        _check_mmdd(v)
        return v

    def days(self) -> set[int]:
        """Days of a leap year (0..365) covered."""
        base = dt.date(2000, 1, 1)
        s = (dt.date(2000, *_check_mmdd(self.start)) - base).days
        e = (dt.date(2000, *_check_mmdd(self.end)) - base).days
        return set(range(s, e + 1)) if s <= e else set(range(s, 366)) | set(range(0, e + 1))


class ScheduleLine(_Model):
    """One commitment of one importing party for one or more HS codes."""

    id: str
    importer: str
    hs: list[HsCode]
    description: str = ""
    base_rate: float | None = Field(default=None, ge=0)
    specific: SpecificDuty | None = None
    category: str
    season: Season | None = None
    trq: TariffRateQuota | None = None
    safeguard: Safeguard | None = None
    source: str
    confirmed: bool
    unconfirmed_years: list[tuple[int, int]] = Field(default_factory=list)
    hs_confirmed: bool = True
    notes: str | None = None

    @field_validator("importer")
    @classmethod
    def _imp(cls, v: str) -> str:
        if not countries.is_valid(v):
            raise ValueError(f"expected an ISO3 country code, got {v!r}")
        return v

    @field_validator("hs", mode="before")
    @classmethod
    def _hs(cls, v: Any) -> list[str]:
        return _hs_list(v)

    @field_validator("unconfirmed_years", mode="before")
    @classmethod
    def _uy(cls, v: Any) -> list[tuple[int, int]]:
        return parse_year_set(v)

    @field_validator("base_rate")
    @classmethod
    def _rate(cls, v: float | None) -> float | None:
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


class Measure(_Model):
    """A quantitative measure that is not a tariff line: a standards allowance, an absolute
    quota, ... ``outside_agreement`` marks measures that are not part of the agreement text
    (e.g. a unilateral measure negotiated alongside it)."""

    id: str
    importer: str
    exporter: str | None = None
    hs: list[HsCode]
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

    @field_validator("hs", mode="before")
    @classmethod
    def _hs(cls, v: Any) -> list[str]:
        return _hs_list(v)

    @field_validator("importer", "exporter")
    @classmethod
    def _iso(cls, v: str | None) -> str | None:
        if v is not None and not countries.is_valid(v):
            raise ValueError(f"expected an ISO3 country code, got {v!r}")
        return v


class MfnRate(_Model):
    """An importer's MFN rate for an HS code (used for non-parties when given)."""

    importer: str
    hs: list[HsCode]
    rate: float = Field(ge=0)
    source: str
    confirmed: bool = True

    @field_validator("hs", mode="before")
    @classmethod
    def _hs(cls, v: Any) -> list[str]:
        return _hs_list(v)


# --------------------------------------------------------------------------- amendments

class LineChange(_Model):
    """Override fields of a line (``set``) from the amendment's effective date."""

    line: str
    set: dict[str, Any]
    note: str = ""
    source: str | None = None
    confirmed: bool | None = None


class AddLine(_Model):
    add_line: ScheduleLine
    note: str = ""


class RemoveLine(_Model):
    remove_line: str
    note: str = ""


class CategoryChange(_Model):
    """Define or redefine a staging category from the effective date."""

    category: str
    definition: Category
    note: str = ""


class MeasureChange(_Model):
    measure: str
    set: dict[str, Any]
    note: str = ""
    source: str | None = None
    confirmed: bool | None = None


class AddMeasure(_Model):
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


class Amendment(_Model):
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

class Agreement(_Model):
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
    def _calendar_default(self) -> "Agreement":
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

    def changes(self):
        """What each amendment changed: a DataFrame (see :func:`tradepact.agreements.query.changes`)."""
        from tradepact.agreements.query import changes

        return changes(self)

    def as_of(self, on: dt.date | None):
        """The schedule as it stood on ``on`` (lines, categories, measures after amendments)."""
        from tradepact.agreements.query import text_as_of

        return text_as_of(self, on)

    def __repr__(self) -> str:  # keep reprs short: agreements can have 10,000 lines
        return (f"Agreement(id={self.id!r}, parties={self.parties}, entry_into_force={self.entry_into_force}, "
                f"lines={len(self.lines)}, amendments={[a.id for a in self.amendments]})")

    __str__ = __repr__


# --------------------------------------------------------------------------- the text on a date

class AgreementError(ValueError):
    """A cross-reference problem in an agreement, located by ``path`` (``lines[3].category``)."""

    def __init__(self, path: str, message: str, expected: str | None = None, got: Any = None):
        self.path, self.message, self.expected, self.got = path, message, expected, got
        super().__init__(f"{path}: {message}")


class Text:
    """The agreement as it stood on a date: lines, categories and measures after the
    amendments in force, and which amendment last decided each line or measure."""

    def __init__(self, on: dt.date | None, applied: list[str], lines: list[ScheduleLine],
                 categories: dict[str, Any], measures: list[Measure],
                 line_amendment: dict[str, str], measure_amendment: dict[str, str]):
        self.on = on
        self.applied = applied
        self.lines = lines
        self.categories = categories
        self.measures = measures
        self.line_amendment = line_amendment
        self.measure_amendment = measure_amendment


def _amended(cls, current, ch, am, path: str):
    """``current`` with a line/measure change's ``set`` applied; the change's (else the amendment's)
    source, and confirmed only if both the old entry and the change are confirmed."""
    upd = dict(ch.set)
    upd.setdefault("source", ch.source or am.source)
    if "confirmed" not in upd:
        conf = ch.confirmed if ch.confirmed is not None else am.confirmed
        upd["confirmed"] = bool(current.confirmed and conf)
    return _overridden(cls, current, upd, path)


def _overridden(model_cls, current: BaseModel, updates: dict[str, Any], path: str):
    data = current.model_dump()
    unknown = sorted(set(updates) - set(model_cls.model_fields))
    if unknown:
        raise AgreementError(f"{path}.set", f"unknown field(s) {unknown}",
                             expected=f"fields of a {model_cls.__name__}", got=unknown)
    data.update(updates)
    from pydantic import ValidationError

    try:
        return model_cls.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise AgreementError(f"{path}.set.{loc}", err["msg"], got=err.get("input")) from None


def apply_amendment(text: Text, am: Amendment, index: int | None = None) -> Text:
    """A new :class:`Text` with ``am``'s changes applied (``index`` locates errors)."""
    base_path = f"amendments[{index}]" if index is not None else f"amendment {am.id}"
    lines = list(text.lines)
    pos = {ln.id: i for i, ln in enumerate(lines)}
    categories = dict(text.categories)
    measures = list(text.measures)
    mpos = {m.id: i for i, m in enumerate(measures)}
    line_am = dict(text.line_amendment)
    meas_am = dict(text.measure_amendment)
    for j, ch in enumerate(am.changes):
        path = f"{base_path}.changes[{j}]"
        if isinstance(ch, LineChange):
            if ch.line not in pos:
                raise AgreementError(f"{path}.line", "no such line", expected="the id of a schedule line",
                                     got=ch.line)
            lines[pos[ch.line]] = _amended(ScheduleLine, lines[pos[ch.line]], ch, am, path)
            line_am[ch.line] = am.id
        elif isinstance(ch, AddLine):
            if ch.add_line.id in pos:
                raise AgreementError(f"{path}.add_line.id", "a line with this id already exists",
                                     expected="a new line id", got=ch.add_line.id)
            pos[ch.add_line.id] = len(lines)
            lines.append(ch.add_line)
            line_am[ch.add_line.id] = am.id
        elif isinstance(ch, RemoveLine):
            if ch.remove_line not in pos:
                raise AgreementError(f"{path}.remove_line", "no such line", expected="the id of a schedule line",
                                     got=ch.remove_line)
            lines.pop(pos[ch.remove_line])
            pos = {ln.id: i for i, ln in enumerate(lines)}
            line_am.pop(ch.remove_line, None)
        elif isinstance(ch, CategoryChange):
            categories[ch.category] = ch.definition
        elif isinstance(ch, MeasureChange):
            if ch.measure not in mpos:
                raise AgreementError(f"{path}.measure", "no such measure", expected="the id of a measure",
                                     got=ch.measure)
            measures[mpos[ch.measure]] = _amended(Measure, measures[mpos[ch.measure]], ch, am, path)
            meas_am[ch.measure] = am.id
        elif isinstance(ch, AddMeasure):
            if ch.add_measure.id in mpos:
                raise AgreementError(f"{path}.add_measure.id", "a measure with this id already exists",
                                     expected="a new measure id", got=ch.add_measure.id)
            mpos[ch.add_measure.id] = len(measures)
            measures.append(ch.add_measure)
            meas_am[ch.add_measure.id] = am.id
    return Text(text.on, text.applied + [am.id], lines, categories, measures, line_am, meas_am)


def original_text(ag: Agreement) -> Text:
    """The agreement before any amendment."""
    return Text(None, [], list(ag.lines), dict(ag.staging.categories), list(ag.measures), {}, {})


def text_as_of(ag: Agreement, on: dt.date | None) -> Text:
    """The agreement as it stood on ``on`` (None: with every amendment)."""
    key = ("text", tuple(a.id for a in ag.amendments_in_force(on)))
    cached = ag._cache.get(key)
    if cached is None:
        text = original_text(ag)
        order = {id(a): i for i, a in enumerate(ag.amendments)}
        for am in ag.amendments_in_force(on):
            text = apply_amendment(text, am, order[id(am)])
        ag._cache[key] = cached = text
    out = Text(on, cached.applied, cached.lines, cached.categories, cached.measures,
               cached.line_amendment, cached.measure_amendment)
    return out


def _check_lines(lines: list[ScheduleLine], categories: dict[str, Any], where: dict[str, str]) -> None:
    """Unknown categories, duplicate ids and overlapping lines (same importer, same HS code,
    overlapping seasons). ``where`` maps a line id to its path in the file."""
    seen: dict[str, str] = {}
    keys: dict[tuple[str, str], list[ScheduleLine]] = {}
    for ln in lines:
        path = where.get(ln.id, f"line {ln.id}")
        if ln.id in seen:
            raise AgreementError(f"{path}.id", f"duplicate line id (also at {seen[ln.id]})",
                                 expected="unique line ids", got=ln.id)
        seen[ln.id] = path
        if ln.category not in categories:
            raise AgreementError(f"{path}.category", "unknown staging category",
                                 expected=f"one of {sorted(categories)}", got=ln.category)
        for code in ln.hs:
            for other in keys.get((ln.importer, code), []):
                a = ln.season.days() if ln.season else None
                b = other.season.days() if other.season else None
                if a is None or b is None or (a & b):
                    raise AgreementError(
                        f"{path}.hs", f"overlaps line {other.id!r} ({where.get(other.id, other.id)}): same importer "
                        f"{ln.importer}, same HS code {code} at the same specificity"
                        + (" and overlapping seasons" if a is not None and b is not None else ""),
                        expected="at most one line per importer and HS code (per season)", got=code)
            keys.setdefault((ln.importer, code), []).append(ln)


def check_agreement(ag: Agreement) -> None:
    """Cross-reference checks; raises :class:`AgreementError` naming the field's path."""
    where = {ln.id: f"lines[{i}]" for i, ln in enumerate(ag.lines)}
    _check_lines(ag.lines, ag.staging.categories, where)
    mids: dict[str, int] = {}
    for i, m in enumerate(ag.measures):
        if m.id in mids:
            raise AgreementError(f"measures[{i}].id", "duplicate measure id", expected="unique ids", got=m.id)
        mids[m.id] = i
    for i, imp in enumerate(ag.parties):
        if ag.parties.count(imp) > 1:
            raise AgreementError(f"parties[{i}]", "party listed twice", got=imp)
    if ag.signed is not None and ag.entry_into_force < ag.signed:
        raise AgreementError("entry_into_force", "entry into force before signature",
                             expected=f"a date on or after signed ({ag.signed})", got=str(ag.entry_into_force))
    floor = ag.signed or ag.entry_into_force
    floor_name = "signed" if ag.signed is not None else "entry_into_force"
    ids: set[str] = set()
    for i, am in enumerate(ag.amendments):
        if am.id in ids:
            raise AgreementError(f"amendments[{i}].id", "duplicate amendment id", got=am.id)
        ids.add(am.id)
        if am.agreed is not None and am.agreed < floor:
            raise AgreementError(f"amendments[{i}].agreed", "amendment dated before the agreement",
                                 expected=f"a date on or after {floor_name} ({floor})", got=str(am.agreed))
        if am.effective < floor:
            raise AgreementError(f"amendments[{i}].effective", "amendment dated before the agreement",
                                 expected=f"a date on or after {floor_name} ({floor})", got=str(am.effective))
        if am.agreed is not None and am.effective < am.agreed:
            raise AgreementError(f"amendments[{i}].effective", "amendment effective before it was agreed",
                                 expected=f"a date on or after agreed ({am.agreed})", got=str(am.effective))
    # apply amendments in date order; check the text after each one
    text = original_text(ag)
    order = {id(a): i for i, a in enumerate(ag.amendments)}
    for am in sorted(ag.amendments, key=lambda a: a.effective):
        idx = order[id(am)]
        text = apply_amendment(text, am, idx)
        w = dict(where)
        for j, ch in enumerate(am.changes):
            target = getattr(ch, "line", None) or (ch.add_line.id if isinstance(ch, AddLine) else None)
            if target:
                w[target] = f"amendments[{idx}].changes[{j}]" + (".add_line" if isinstance(ch, AddLine) else "")
        _check_lines(text.lines, text.categories, w)
