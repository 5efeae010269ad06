"""The BACI fast path (tradepact.ledger.sources.baci_fast) is an acceptor only.

* On valid files it must store exactly what the general DuckDB path stores (same rows in the same
  order, same types, values, nulls; same report), checked here against the general path run in
  the same test on the same files.
* On every kind of bad input it must decline (return None, leave no file), so that the general
  path reports the offending file/row/field as before; each defect is checked both ways.
"""
from __future__ import annotations

import numpy as np
import pytest

from ledger_samples import baci_sample, tree_hash
from tradepact.errors import DataFormatError
from tradepact.ledger import LedgerStore
from tradepact.ledger.sources import baci, baci_fast
from tradepact.ledger.sources._base import read_header


@pytest.fixture(autouse=True)
def compiled_parser_for_small_files(monkeypatch):
    """Both fast paths take part whatever the file size (the compiled one first)."""
    monkeypatch.setattr(baci_fast, "PARSE_MIN_BYTES", 0)


def _stored(store: LedgerStore):
    """Every stored goods row in file order, plus the column types."""
    con = store._connect()
    rows = con.execute("SELECT * FROM goods").fetchall()
    types = [r[1] for r in con.execute("DESCRIBE goods").fetchall()]
    return rows, types


def _import_both(tmp_path, path, monkeypatch, **opts):
    calls = []
    real = baci_fast.stage

    def spy(*a, **k):
        out = real(*a, **k)
        calls.append(out)
        return out

    monkeypatch.setattr(baci_fast, "stage", spy)
    fast = LedgerStore.open(tmp_path / "fast")
    rep_fast = fast.import_files("baci", [path], **opts)
    assert calls and calls[-1] is not None, "the fast path declined a valid file"
    monkeypatch.setattr(baci_fast, "stage", lambda *a, **k: None)  # general path only
    slow = LedgerStore.open(tmp_path / "slow")
    rep_slow = slow.import_files("baci", [path], **opts)
    return (fast, rep_fast), (slow, rep_slow)


def _same_report(a, b):
    fa, fb = a.files[0], b.files[0]
    assert (fa.rows_read, fa.kept, fa.dropped, fa.zero_value, fa.years) == \
           (fb.rows_read, fb.kept, fb.dropped, fb.zero_value, fb.years)


def test_sample_stored_identically_by_both_paths(tmp_path, monkeypatch):
    path = baci_sample().write(tmp_path / "in")
    (fast, rf), (slow, rs) = _import_both(tmp_path, path, monkeypatch)
    _same_report(rf, rs)
    a, b = _stored(fast), _stored(slow)
    assert a == b
    rows = a[0]
    assert rows[2][3] == "010121" and rows[1][6] is None and rows[3][6] is None  # padded NA, NA
    assert rows[0][5] == 1234.5675  # 1234567.5 thousand USD -> USD millions
    assert {r[1] for r in rows} >= {"USA", "KOR", "ROU", "S19"}


def test_synthetic_multi_year_file_stored_identically(tmp_path, monkeypatch):
    """Two years with the same (i, j, k) in each: not duplicates; many products and partners."""
    (tmp_path / "gen").mkdir()
    one = baci.write_synthetic(tmp_path / "gen" / "BACI_HS92_Y2015_V202401b.csv", 30_000)
    path = tmp_path / "gen" / "BACI_HS92_Y2014_V202401b.csv"
    text = one.read_text().splitlines()
    path.write_text("\n".join([text[0]] + [
        ("2014" if int(line.split(",")[1]) % 2 == 0 else "2015") + line[4:] for line in text[1:]]) + "\n")
    (fast, rf), (slow, rs) = _import_both(tmp_path, path, monkeypatch, hs_rev="H0")
    _same_report(rf, rs)
    assert rf.files[0].years == [2014, 2015]
    a, b = _stored(fast), _stored(slow)
    assert a == b and len(a[0]) == 30_000
    q = np.array([r[6] if r[6] is not None else np.nan for r in a[0]])
    assert np.isnan(q).sum() == 3_000  # one row in ten has NA quantity


BAD = [  # (row, column, text, expected field or None when the general path accepts the file)
    (2, "i", "999", "i"),          # not in the country code file
    (2, "j", "12345", "j"),        # beyond every listed code
    (4, "v", "-5", "v"),
    (4, "v", "nan", "v"),
    (4, "v", "inf", "v"),
    (3, "v", "12,5x", "v"),        # non-numeric
    (3, "v", "", "v"),             # empty
    (6, "k", "1001", "k"),         # not a 6-digit HS code
    (6, "k", "1234567", "k"),
    (5, "q", "-1", "q"),
    (5, "q", "nan", "q"),
    (5, "q", "lots", "q"),
    (1, "t", "1700", "t"),
    (5, "q", "     NA", None),     # another padding of NA: valid (only the compiled parser takes it)
]


@pytest.mark.parametrize("row,col,text,field", BAD)
def test_fast_path_declines_bad_input_and_general_path_reports_it(tmp_path, monkeypatch, row, col, text, field):
    s = baci_sample()
    path = s.write(tmp_path / "in", rows=s.with_cell(row, col, text))
    codes = baci.read_country_codes(baci.find_country_codes(path))
    target = tmp_path / "out.parquet"
    if field is None:  # a valid file: stored as the general path stores it (null quantity)
        assert baci_fast.stage(read_header(path), codes, target) is not None
        with pytest.raises(Exception):  # the Arrow path cannot read it (stage() treats this as a decline)
            baci_fast._stage(read_header(path), codes, target, lambda m, f: None)
        monkeypatch.setattr(baci_fast, "stage", lambda *a, **k: None)
        general = LedgerStore.open(tmp_path / "general")
        assert general.import_files("baci", [path]).files[0].kept == {"goods": len(s.rows)}
        monkeypatch.undo()
        store = LedgerStore.open(tmp_path / "store")
        rep = store.import_files("baci", [path])
        assert rep.files[0].kept == {"goods": len(s.rows)}
        assert _stored(store) == _stored(general) and _stored(store)[0][row - 1][6] is None
        return
    assert baci_fast.stage(read_header(path), codes, target) is None
    assert not target.exists()
    store = LedgerStore.open(tmp_path / "store")
    before = tree_hash(store.path)
    with pytest.raises(DataFormatError) as info:
        store.import_files("baci", [path])
    assert (info.value.row, info.value.field) == (row, field), str(info.value)
    assert tree_hash(store.path) == before


def test_fast_path_declines_duplicates_and_reports_first_repeat(tmp_path):
    s = baci_sample()
    rows = [list(r) for r in s.rows] + [list(s.rows[2]), list(s.rows[0])]
    path = s.write(tmp_path / "in", rows=rows)
    codes = baci.read_country_codes(baci.find_country_codes(path))
    assert baci_fast.stage(read_header(path), codes, tmp_path / "o.parquet") is None
    store = LedgerStore.open(tmp_path / "store")
    with pytest.raises(DataFormatError) as info:
        store.import_files("baci", [path])
    assert info.value.row == 7 and "same as row 3" in str(info.value)


def test_large_files_stream_through_the_general_path(tmp_path, monkeypatch):
    path = baci_sample().write(tmp_path / "in")
    monkeypatch.setattr(baci_fast, "MAX_BYTES", 10)
    codes = baci.read_country_codes(baci.find_country_codes(path))
    assert baci_fast.stage(read_header(path), codes, tmp_path / "o.parquet") is None
    rep = LedgerStore.open(tmp_path / "store").import_files("baci", [path])
    assert rep.files[0].kept == {"goods": 6}


def test_other_valid_spellings_stored_identically(tmp_path, monkeypatch):
    """Blanks around numbers, exponents, a plus sign: both readers take them, with equal values."""
    s = baci_sample()
    rows = s.with_cell(5, "v", " 999.999 ")
    rows[4][5] = "5e-1"
    rows[5][1] = " 642"
    rows[0][5] = "+120.5"
    path = s.write(tmp_path / "in", rows=rows)
    (fast, rf), (slow, rs) = _import_both(tmp_path, path, monkeypatch)
    _same_report(rf, rs)
    assert _stored(fast) == _stored(slow)
    assert _stored(fast)[0][4][5:7] == (0.999999, 0.5)


def test_key_already_in_store_found_at_its_row_in_a_fast_path_file(tmp_path):
    """Duplicates against the store are located through the fast path's Parquet row order."""
    s = baci_sample()
    store = LedgerStore.open(tmp_path / "store")
    store.import_files("baci", [s.write(tmp_path / "a", rows=s.rows[3:4])])
    before = tree_hash(store.path)
    with pytest.raises(DataFormatError) as info:
        store.import_files("baci", [s.write(tmp_path / "b")])
    assert info.value.row == 4 and "already imported" in str(info.value)
    assert tree_hash(store.path) == before
    rep = store.import_files("baci", [s.write(tmp_path / "b")], replace=True)
    assert rep.files[0].replaced == 1 and rep.files[0].kept == {"goods": 6}
