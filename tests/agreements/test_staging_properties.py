"""Property tests (hypothesis) of staging and line matching, against independent oracles.

Oracles written here, not taken from the package: the stage on a date is counted from an
explicit list of cut dates; equal cuts are max(0, 1 - k/N) (after a hold); the most specific
line is the longest declared prefix of the queried code. Rates compared to 1e-12.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradepact.agreements import agreement_from_dict, load_agreement, rate, rates, text_as_of

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _agreement(eif: dt.date, later: str, categories: dict, lines: list[dict]):
    return agreement_from_dict({
        "id": "prop", "name": "property test", "parties": ["USA", "KOR"], "entry_into_force": eif,
        "staging": {"calendar": {"later_cuts_on": later}, "categories": categories}, "lines": lines})


def _oracle_stage(eif: dt.date, later: str, day: dt.date) -> int:
    """Count cut dates on or before ``day`` from an explicit list (independent of the package)."""
    if day < eif:
        return 0
    cuts = [eif]
    for j in range(1, 200):
        if later == "anniversary":
            try:
                c = eif.replace(year=eif.year + j)
            except ValueError:  # 29 Feb
                c = dt.date(eif.year + j, 2, 28)
        else:
            m, d = map(int, later.split("-"))
            c = dt.date(eif.year + j, m, d)
        cuts.append(c)
    return sum(1 for c in cuts if c <= day)


dates = st.dates(min_value=dt.date(1995, 1, 1), max_value=dt.date(2035, 12, 31))
calendars = st.sampled_from(["01-01", "anniversary", "07-01", "04-01"])


@SETTINGS
@given(eif=dates, later=calendars, cuts=st.integers(1, 30), hold=st.integers(0, 12),
       base=st.floats(0.0, 3.0, allow_nan=False), held=st.booleans())
def test_equal_cut_path(eif, later, cuts, hold, base, held):
    cat = ({"kind": "held_then_equal_cuts", "hold_years": hold, "cuts": cuts} if held
           else {"kind": "equal_cuts", "cuts": cuts})
    ag = _agreement(eif, later, {"C": cat}, [
        {"id": "L", "importer": "KOR", "hs": "0201", "base_rate": base, "category": "C", "source": "t",
         "confirmed": True}])
    years = np.arange(eif.year - 5, eif.year + hold + cuts + 5)
    got = rates(ag, pd.DataFrame({"importer": "KOR", "exporter": "USA", "hs": "020130", "year": years}))
    r = got["rate"].to_numpy()
    # never rises, never negative
    assert (np.diff(r) <= 1e-15).all()
    assert (r >= 0).all()
    for y, value in zip(years, r):
        k = _oracle_stage(eif, later, dt.date(int(y), 12, 31))
        j = k - (hold if held else 0)
        expected = base if (k == 0 or j <= 0) else base * max(0.0, 1.0 - j / cuts)
        assert math.isclose(value, expected, rel_tol=1e-12, abs_tol=1e-12), (y, k, value, expected)
        if dt.date(int(y), 12, 31) < eif:  # before entry into force: the base rate
            assert value == base
    # the scalar query agrees
    y = int(years[len(years) // 2])
    assert math.isclose(rate(ag, "KOR", "USA", "0201", y).rate, r[len(years) // 2], abs_tol=1e-15)


@SETTINGS
@given(path=st.dictionaries(st.integers(1, 40), st.floats(0.0, 1.0, allow_nan=False), min_size=1, max_size=8),
       base=st.floats(0.0, 2.0, allow_nan=False), eif=dates)
def test_explicit_path_bounds(path, base, eif):
    ag = _agreement(eif, "01-01", {"X": {"kind": "explicit", "path": path}}, [
        {"id": "L", "importer": "KOR", "hs": "0201", "base_rate": base, "category": "X", "source": "t",
         "confirmed": True}])
    years = np.arange(eif.year - 3, eif.year + 45)
    r = rates(ag, pd.DataFrame({"importer": "KOR", "exporter": "USA", "hs": "0201", "year": years}))["rate"]
    assert (r >= 0).all() and (r <= base + 1e-12).all()
    before = years < eif.year
    assert (r[before] == base).all()
    last = path[max(path)]
    assert math.isclose(r.iloc[-1], 0.0 if last == 0 else last * base, abs_tol=1e-12)


codes = st.text(alphabet="0123456789", min_size=10, max_size=10)


@SETTINGS
@given(code=codes, levels=st.sets(st.sampled_from([2, 4, 6, 8, 10]), min_size=1),
       qlen=st.sampled_from([2, 4, 6, 8, 10]), rates_=st.lists(st.floats(0.0, 1.0), min_size=5, max_size=5))
def test_most_specific_line_wins(code, levels, qlen, rates_):
    lines = []
    for i, L in enumerate(sorted(levels)):
        lines.append({"id": f"L{L}", "importer": "KOR", "hs": code[:L], "base_rate": rates_[i],
                      "category": "NC", "source": "t", "confirmed": True})
    # a decoy sibling at every level that must never match the query
    for L in (2, 4, 6, 8, 10):
        sib = code[:L - 1] + str((int(code[L - 1]) + 1) % 10)
        lines.append({"id": f"D{L}", "importer": "KOR", "hs": sib, "base_rate": 0.99, "category": "NC",
                      "source": "t", "confirmed": True})
    ag = _agreement(dt.date(2012, 3, 15), "01-01", {"NC": {"kind": "no_commitment"}}, lines)
    query = code[:qlen]
    candidates = [L for L in levels if L <= qlen]
    expected = f"L{max(candidates)}" if candidates else None
    r = rate(ag, "KOR", "USA", query, 2020)
    assert r.line_id == expected
    v = rates(ag, pd.DataFrame({"importer": ["KOR"], "exporter": ["USA"], "hs": [query], "year": [2020]}))
    assert v["line_id"].iloc[0] == expected
    if expected:
        assert r.rate == rates_[sorted(levels).index(max(candidates))]
    else:
        assert math.isnan(r.rate) and r.category == "unscheduled"


KORUS = load_agreement("korus")
_KORUS_CODES = sorted({c for ln in text_as_of(KORUS, None).lines for c in ln.hs})


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_rates_equals_rate_on_korus(data):
    """The vectorized query and the scalar query give the same answers row by row."""
    n = data.draw(st.integers(1, 40))
    rows = []
    for _ in range(n):
        base = data.draw(st.sampled_from(_KORUS_CODES + ["9999", "72", "7208", "080510", "080510"]))
        extra = data.draw(st.sampled_from(["", "00", "1234"]))
        hs = (base + extra)[:10] if len(base + extra) in (2, 4, 6, 8, 10) else base
        rows.append(dict(importer=data.draw(st.sampled_from(["KOR", "USA", "JPN"])),
                         exporter=data.draw(st.sampled_from(["KOR", "USA", "AUS"])), hs=hs,
                         year=data.draw(st.integers(2005, 2045)),
                         day=data.draw(st.sampled_from([None, "06-01", "12-01", "02-29"]))))
    as_of = data.draw(st.sampled_from([None, dt.date(2011, 1, 1), dt.date(2017, 12, 31), dt.date(2019, 6, 1)]))
    frame = pd.DataFrame(rows)
    got = rates(KORUS, frame, as_of=as_of)
    for rec, (_, g) in zip(rows, got.iterrows()):
        r = rate(KORUS, rec["importer"], rec["exporter"], rec["hs"], rec["year"], as_of=as_of, day=rec["day"])
        assert (math.isnan(r.rate) and math.isnan(g["rate"])) or math.isclose(r.rate, g["rate"], abs_tol=1e-15)
        assert r.category == g["category"] and r.line_id == g["line_id"]
        assert r.amendment == g["amendment"] and r.confirmed == bool(g["confirmed"]) and r.source == g["source"]


@SETTINGS
@given(eif=dates, later=calendars, day=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2080, 12, 31)))
def test_stage_on_any_day(eif, later, day):
    """The stage in force on any date equals the count of cut dates up to it (cut days included)."""
    from tradepact.agreements.schema import Calendar
    from tradepact.agreements.staging import stage_on

    cal = Calendar(year_1_starts=eif, later_cuts_on=later)
    assert stage_on(cal, day) == _oracle_stage(eif, later, day)
    if later != "anniversary":  # a cut day itself already has the new stage
        m, d = map(int, later.split("-"))
        cut = dt.date(max(day.year, eif.year + 1), m, d)
        assert stage_on(cal, cut) == stage_on(cal, cut - dt.timedelta(days=1)) + 1
