"""Bad input, for every loader: missing column, non-numeric value, unknown country code, negative
value and duplicated key each raise DataFormatError naming file, row and field, and leave the
store byte-for-byte unchanged (hash of every file under the store directory)."""
from __future__ import annotations

import shutil

import pytest

from ledger_samples import baci_sample, comtrade_sample, gravity_sample, itpd_sample, services_sample, tree_hash
from tradepact.errors import DataFormatError
from tradepact.ledger import LedgerStore

FORMATS = ["baci", "comtrade", "itpd-e", "gravity-panel", "services"]
DEFECTS = ["missing-column", "non-numeric", "unknown-country", "negative", "duplicate"]


def _sample(fmt, shared_data):
    return {
        "baci": baci_sample, "comtrade": comtrade_sample, "itpd-e": itpd_sample, "services": services_sample,
        "gravity-panel": lambda: gravity_sample(shared_data / "agtpa_applications" / "agtpa_applications.csv"),
    }[fmt]()


@pytest.fixture(scope="module")
def base_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("base")
    store = LedgerStore.open(folder / "store")
    store.import_files("baci", [baci_sample().write(folder / "base")])
    store.import_files("services", [services_sample().write(folder / "base2")])
    return store.path


@pytest.fixture
def populated(base_store, tmp_path):
    """A store that already holds data (so 'unchanged' is a real check), plus its hash."""
    shutil.copytree(base_store, tmp_path / "store")
    store = LedgerStore.open(tmp_path / "store")
    assert len(store.manifest()["batches"]) == 2
    return store, tree_hash(store.path)


@pytest.mark.parametrize("defect", DEFECTS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_input_names_file_row_field_and_leaves_store(fmt, defect, populated, tmp_path, shared_data):
    store, before = populated
    s = _sample(fmt, shared_data)
    folder = tmp_path / "in"
    header = None
    if defect == "missing-column":
        header, rows = s.without(s.value_col)
        expect_row, expect_field = None, s.value_col
    elif defect == "non-numeric":
        rows, expect_row, expect_field = s.with_cell(3, s.value_col, "12,5x"), 3, s.value_col
    elif defect == "unknown-country":
        rows, expect_row, expect_field = s.with_cell(2, s.exporter_col, s.bad_code), 2, s.exporter_col
    elif defect == "negative":
        rows, expect_row, expect_field = s.with_cell(4, s.value_col, "-5"), 4, s.value_col
    else:
        rows = [list(r) for r in s.rows] + [list(s.rows[0])]
        expect_row, expect_field = len(rows), None
    path = s.write(folder, rows=rows, header=header)
    with pytest.raises(DataFormatError) as info:
        store.import_files(fmt, [path])
    err = info.value
    assert err.file is not None and err.file.endswith(s.name), str(err)
    assert err.row == expect_row, str(err)
    if expect_field is not None:
        assert err.field == expect_field, str(err)
    else:  # duplicated key: the field names the key's columns as the user wrote them
        assert set(err.field.split(",")) == set(s.key_cols), str(err)
        assert "same as row 1" in str(err)
    msg = str(err)
    assert s.name in msg and (expect_row is None or f"row {expect_row}" in msg)
    assert tree_hash(store.path) == before
    assert not list(store.path.glob(".staging-*"))


def test_same_file_twice_is_a_duplicate_unless_replace(tmp_path):
    store = LedgerStore.open(tmp_path / "store")
    s = comtrade_sample()
    path = s.write(tmp_path / "in")
    store.import_files("comtrade", [path])
    before = tree_hash(store.path)
    with pytest.raises(DataFormatError) as info:
        store.import_files("comtrade", [path])
    assert info.value.row == 1 and "already imported" in str(info.value)
    assert tree_hash(store.path) == before
    rep = store.import_files("comtrade", [path], replace=True)
    assert rep.files[0].replaced == rep.files[0].kept["goods"] == 5
    assert store.sql("SELECT count(*) AS n FROM goods")["n"].iloc[0] == 5


def test_failure_while_committing_leaves_store_unchanged(tmp_path, monkeypatch):
    store = LedgerStore.open(tmp_path / "store")
    store.import_files("services", [services_sample().write(tmp_path / "a")])
    before = tree_hash(store.path)
    import tradepact.ledger.store as mod

    real = mod.os.replace

    def failing(src, dst):
        if str(dst).endswith("manifest.json"):
            raise OSError("disk full (simulated)")
        return real(src, dst)

    monkeypatch.setattr(mod.os, "replace", failing)
    with pytest.raises(OSError):
        store.import_files("baci", [baci_sample().write(tmp_path / "b")])
    monkeypatch.setattr(mod.os, "replace", real)
    assert tree_hash(store.path) == before


def test_two_files_in_one_import_are_checked_against_each_other(tmp_path):
    store = LedgerStore.open(tmp_path / "store")
    s = services_sample()
    a = s.write(tmp_path / "a")
    b = s.write(tmp_path / "b")
    before = tree_hash(store.path)
    with pytest.raises(DataFormatError) as info:
        store.import_files("services", [a, b])
    assert info.value.file == str(b) and info.value.row == 1
    assert tree_hash(store.path) == before


def test_other_format_specific_errors(tmp_path):
    store = LedgerStore.open(tmp_path / "store")
    s = comtrade_sample()
    rows = s.with_cell(2, "freqCode", "M")
    with pytest.raises(DataFormatError) as info:
        store.import_files("comtrade", [s.write(tmp_path / "m", rows=rows)])
    assert (info.value.row, info.value.field) == (2, "freqCode")
    rows = s.with_cell(5, "partnerISO", "QQQ")
    rows[4][s.header.index("partnerCode")] = "999"
    with pytest.raises(DataFormatError) as info:
        store.import_files("comtrade", [s.write(tmp_path / "p", rows=rows)])
    assert (info.value.row, info.value.field) == (5, "partnerISO")
    rows = s.with_cell(3, "cmdCode", "87A3")
    with pytest.raises(DataFormatError) as info:
        store.import_files("comtrade", [s.write(tmp_path / "c", rows=rows)])
    assert (info.value.row, info.value.field) == (3, "cmdCode")
    b = baci_sample()
    with pytest.raises(DataFormatError) as info:
        store.import_files("baci", [b.write(tmp_path / "q", rows=b.with_cell(5, "q", "lots"))])
    assert (info.value.row, info.value.field, info.value.got) == (5, "q", "lots")
    with pytest.raises(DataFormatError) as info:
        store.import_files("baci", [b.write(tmp_path / "k", rows=b.with_cell(6, "k", "1001"))])
    assert (info.value.row, info.value.field) == (6, "k")
    sv = services_sample()
    with pytest.raises(DataFormatError) as info:
        store.import_files("services", [sv.write(tmp_path / "f", rows=sv.with_cell(6, "flow", "sideways"))])
    assert (info.value.row, info.value.field) == (6, "flow")
    assert store.contents().empty


def test_malformed_lines(tmp_path):
    store = LedgerStore.open(tmp_path / "store")
    b = baci_sample()
    rows = [list(r) for r in b.rows]
    rows[2] = rows[2][:4]  # too few fields on data row 3
    with pytest.raises(DataFormatError) as info:
        store.import_files("baci", [b.write(tmp_path / "few", rows=rows)])
    assert info.value.row == 3 and "malformed" in str(info.value)
    rows = [list(r) for r in b.rows]
    rows[4] = rows[4] + ["7"]  # too many on data row 5
    with pytest.raises(DataFormatError) as info:
        store.import_files("baci", [b.write(tmp_path / "many", rows=rows)])
    assert info.value.row == 5 and "malformed" in str(info.value)
    assert store.contents().empty


@pytest.mark.parametrize("fmt, column, value", [("baci", "t", "2016.5"), ("baci", "i", "842.4"),
                                                ("comtrade", "refYear", "2016.5"), ("itpd-e", "year", "2016.2"),
                                                ("services", "year", "2015.5")])
def test_fractional_value_in_integer_column(fmt, column, value, populated, tmp_path, shared_data):
    """A fractional year or code is an error naming file, row and field, not rounded silently."""
    store, before = populated
    s = _sample(fmt, shared_data)
    path = s.write(tmp_path / "in", rows=s.with_cell(2, column, value))
    with pytest.raises(DataFormatError) as info:
        store.import_files(fmt, [path])
    err = info.value
    assert err.file.endswith(s.name) and err.row == 2 and err.field == column, str(err)
    assert err.expected == "an integer" and err.got == value, str(err)
    assert tree_hash(store.path) == before
