"""The agreement as it stood on a date: amendments applied, in effective-date order.

:func:`text_as_of` gives the lines, staging categories and measures in force on a day,
and which amendment last decided each line or measure; :func:`apply_amendment` applies
one amendment's changes (an error names the path of the offending change,
``amendments[2].changes[0].line``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ValidationError

from tradepact.agreements.schema import (
    AddLine,
    AddMeasure,
    Agreement,
    Amendment,
    CategoryChange,
    LineChange,
    Measure,
    MeasureChange,
    RemoveLine,
    ScheduleLine,
)
from tradepact.errors import AgreementError


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
