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


class _Entries:
    """An id-keyed list of schedule lines or measures being amended, with which amendment
    last decided each entry; ``kind`` ("line"/"measure") names the fields in errors."""

    def __init__(self, kind: str, model_cls, entries: list, decided_by: dict[str, str]):
        self.kind, self.model_cls = kind, model_cls
        self.entries = list(entries)
        self.decided_by = dict(decided_by)
        self._pos = {e.id: i for i, e in enumerate(self.entries)}

    def change(self, ch, entry_id: str, am: Amendment, path: str) -> None:
        if entry_id not in self._pos:
            raise AgreementError(f"{path}.{self.kind}", f"no such {self.kind}",
                                 expected=f"the id of a {self._noun}", got=entry_id)
        i = self._pos[entry_id]
        self.entries[i] = _amended(self.model_cls, self.entries[i], ch, am, path)
        self.decided_by[entry_id] = am.id

    def add(self, entry, am: Amendment, path: str) -> None:
        if entry.id in self._pos:
            raise AgreementError(f"{path}.add_{self.kind}.id", f"a {self.kind} with this id already exists",
                                 expected=f"a new {self.kind} id", got=entry.id)
        self._pos[entry.id] = len(self.entries)
        self.entries.append(entry)
        self.decided_by[entry.id] = am.id

    def remove(self, entry_id: str, path: str) -> None:
        if entry_id not in self._pos:
            raise AgreementError(f"{path}.remove_{self.kind}", f"no such {self.kind}",
                                 expected=f"the id of a {self._noun}", got=entry_id)
        self.entries.pop(self._pos[entry_id])
        self._pos = {e.id: i for i, e in enumerate(self.entries)}
        self.decided_by.pop(entry_id, None)

    @property
    def _noun(self) -> str:
        return "schedule line" if self.kind == "line" else self.kind


def apply_amendment(text: Text, am: Amendment, index: int | None = None) -> Text:
    """A new :class:`Text` with ``am``'s changes applied (``index`` locates errors)."""
    base_path = f"amendments[{index}]" if index is not None else f"amendment {am.id}"
    lines = _Entries("line", ScheduleLine, text.lines, text.line_amendment)
    measures = _Entries("measure", Measure, text.measures, text.measure_amendment)
    categories = dict(text.categories)
    for j, ch in enumerate(am.changes):
        path = f"{base_path}.changes[{j}]"
        if isinstance(ch, LineChange):
            lines.change(ch, ch.line, am, path)
        elif isinstance(ch, AddLine):
            lines.add(ch.add_line, am, path)
        elif isinstance(ch, RemoveLine):
            lines.remove(ch.remove_line, path)
        elif isinstance(ch, CategoryChange):
            categories[ch.category] = ch.definition
        elif isinstance(ch, MeasureChange):
            measures.change(ch, ch.measure, am, path)
        elif isinstance(ch, AddMeasure):
            measures.add(ch.add_measure, am, path)
    return Text(text.on, text.applied + [am.id], lines.entries, categories, measures.entries,
                lines.decided_by, measures.decided_by)


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
