"""Amendments that name a line or measure the agreement does not have, or add one it already has,
fail with the path of the offending change; a removed line is gone from the amended text."""
from __future__ import annotations

import datetime as dt

import pytest

from tradepact.agreements import load_agreement, text_as_of
from tradepact.agreements.amendments import apply_amendment
from tradepact.agreements.schema import Amendment
from tradepact.errors import AgreementError


@pytest.fixture(scope="module")
def korus_text():
    return text_as_of(load_agreement("korus"), None)


def _amendment(*changes) -> Amendment:
    return Amendment.model_validate({"id": "test-am", "name": "test", "effective": dt.date(2030, 1, 1),
                                     "source": "test", "changes": list(changes)})


@pytest.mark.parametrize("change, path, message", [
    ({"line": "no-such-line", "set": {"notes": "x"}}, "changes[0].line", "no such line"),
    ({"remove_line": "no-such-line"}, "changes[0].remove_line", "no such line"),
    ({"measure": "no-such-measure", "set": {"notes": "x"}}, "changes[0].measure", "no such measure"),
])
def test_unknown_target_names_the_change(korus_text, change, path, message):
    with pytest.raises(AgreementError) as exc:
        apply_amendment(korus_text, _amendment(change), index=3)
    assert f"amendments[3].{path}" in str(exc.value) and message in str(exc.value)


def test_adding_an_existing_line_or_measure_is_refused(korus_text):
    line = korus_text.lines[0].model_dump(exclude_none=True)
    with pytest.raises(AgreementError, match=r"add_line\.id.*already exists"):
        apply_amendment(korus_text, _amendment({"add_line": line}))
    measure = korus_text.measures[0].model_dump(exclude_none=True)
    with pytest.raises(AgreementError, match=r"add_measure\.id.*already exists"):
        apply_amendment(korus_text, _amendment({"add_measure": measure}))


def test_remove_then_change_sees_the_removal(korus_text):
    first, second = korus_text.lines[0], korus_text.lines[1]
    out = apply_amendment(korus_text, _amendment({"remove_line": first.id},
                                                 {"line": second.id, "set": {"notes": "amended"}}))
    ids = [ln.id for ln in out.lines]
    assert first.id not in ids and len(out.lines) == len(korus_text.lines) - 1
    assert out.lines[ids.index(second.id)].notes == "amended"
    assert out.line_amendment[second.id] == "test-am" and first.id not in out.line_amendment
    assert korus_text.lines[0].id == first.id  # the input text is not modified
