"""Cross-reference checks of an agreement: what field-level validation cannot see.

Unknown staging categories, duplicate ids, overlapping lines (same importer and HS code at
the same specificity, overlapping seasons) and amendment dates, checked on the original
text and again after each amendment; every error names the path of the offending field
(``lines[3].category``).
"""
from __future__ import annotations

from typing import Any

from tradepact.agreements.amendments import apply_amendment, original_text
from tradepact.agreements.schema import AddLine, Agreement, ScheduleLine
from tradepact.errors import AgreementError


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
