"""The compiled BACI parser (tradepact.ledger.sources.baci_parse, driven by baci_fast._stage_parsed),
in both of its implementations: the C kernels built at install (_baci_kernels) and the numba ones
(baci_kernels_numba, used where no compiler was available); every test runs once with each.

Oracle: the Arrow fast path (baci_fast._stage, pyarrow's CSV reader and a correctly rounded
strtod) run on the same file. Whenever the compiled parser accepts a file, the Parquet file it
writes must hold exactly the table the Arrow path writes: same columns, types, row order, codes,
float bits of every value and quantity, and the same null pattern; and the same statistics.
Whenever it declines (a spelling outside its narrow grammar, a mantissa beyond 2**53, a bad row,
a repeated key), ``baci_fast.stage`` must still end with the right outcome: the Arrow path's
table, or the general path's DataFormatError naming the row.
"""
from __future__ import annotations

import csv
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from ledger_samples import BACI_CODES, baci_sample
from test_baci_kernels_c import _can_compile
from tradepact.errors import DataFormatError
from tradepact.ledger import LedgerStore
from tradepact.ledger.sources import baci, baci_fast, baci_parse
from tradepact.ledger.sources._base import read_header

HEADER = "t,i,j,k,v,q"


def _write(folder, lines, *, end="\n", final=True, codes=BACI_CODES, name="BACI_HS12_Y2016_V202401b.csv"):
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "country_codes_V202401b.csv", "w", newline="") as fh:
        csv.writer(fh).writerows(codes)
    path = folder / name
    path.write_bytes((end.join([HEADER] + lines) + (end if final else "")).encode())
    return path


def _codes(path):
    return baci.read_country_codes(baci.find_country_codes(path))


def _table(path):
    """Columns of a staged Parquet file as NumPy arrays; floats as raw bits, nulls as a mask."""
    t = pq.read_table(path)
    out = {"schema": [(f.name, str(f.type), f.nullable) for f in t.schema]}
    for c in ("year", "exporter", "importer", "product"):
        out[c] = t.column(c).to_numpy(zero_copy_only=False)
    for c in ("value", "quantity"):
        col = t.column(c)
        out[c + "_null"] = col.is_null().to_numpy(zero_copy_only=False)
        out[c + "_bits"] = col.fill_null(0.0).to_numpy().view(np.uint64)
    return out


def _same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        if k == "schema":
            assert a[k] == b[k]
        else:
            assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


def _parsed_vs_arrow(tmp_path, path):
    """Stage ``path`` with the compiled parser and with the Arrow path; both must accept and agree."""
    layout, codes = read_header(path), _codes(path)
    tmp_path.mkdir(parents=True, exist_ok=True)
    fast, ref = tmp_path / "parsed.parquet", tmp_path / "arrow.parquet"
    a = baci_fast._stage_parsed(layout, codes, fast, lambda m, f: None)
    b = baci_fast._stage(layout, codes, ref, lambda m, f: None)
    assert a is not None, "the compiled parser declined a plain file"
    assert b is not None
    assert a == b
    _same(_table(fast), _table(ref))
    return a, _table(fast)


def _declines(tmp_path, path):
    out = tmp_path / "declined.parquet"
    assert baci_fast._stage_parsed(read_header(path), _codes(path), out, lambda m, f: None) is None
    assert not out.exists()


@pytest.fixture(autouse=True, params=["c", "numba"])
def kernels(request, monkeypatch):
    """Each test once with the C kernels and once with numba's; the compiled parser for small
    files too (with numba's kernels, by default only from PARSE_MIN_BYTES on)."""
    monkeypatch.setattr(baci_fast, "PARSE_MIN_BYTES", 0)
    monkeypatch.setenv(baci_parse.KERNELS_ENV, request.param)
    try:
        kern = baci_parse.kernels()
    except ImportError:
        if request.param == "c" and not _can_compile():
            pytest.skip("the C kernels are not built: no C compiler or Python headers at install")
        raise
    assert kern.__name__.rsplit(".", 1)[-1] == {"c": "_baci_kernels", "numba": "baci_kernels_numba"}[request.param]
    return kern


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of a few hundred bytes: many row groups, chunk boundaries and recycled buffers."""
    monkeypatch.setattr(baci_fast, "FIRST_CHUNK", 200)
    monkeypatch.setattr(baci_fast, "CHUNK", 700)


@pytest.mark.parametrize("order", ["baci", "product"])
def test_generated_file_in_both_orders(tmp_path, order):
    path = baci.write_synthetic(tmp_path / "g" / "BACI_HS92_Y2015_V202401b.csv", 25_000, order=order)
    stats, t = _parsed_vs_arrow(tmp_path, path)
    assert stats["rows"] == 25_000 and stats["years"] == [2015]
    assert t["quantity_null"].sum() == 2_500  # one NA in ten
    if order == "baci":  # BACI's order: exporter codes ascending through the file
        codes = {iso: n for n, iso in _codes(path).items()}
        num = np.array([codes[e] for e in t["exporter"]])
        assert (np.diff(num) >= 0).all()


def test_generated_file_in_small_chunks(tmp_path, small_chunks):
    path = baci.write_synthetic(tmp_path / "g" / "BACI_HS92_Y2015_V202401b.csv", 3_000)
    stats, _ = _parsed_vs_arrow(tmp_path, path)
    assert stats["rows"] == 3_000
    assert pq.ParquetFile(tmp_path / "parsed.parquet").metadata.num_row_groups > 50


def test_two_years_unsorted_and_sort_fallback(tmp_path, small_chunks, monkeypatch):
    """Years alternate by exporter: not sorted; checked by the key bitmap, then by sorting keys."""
    one = baci.write_synthetic(tmp_path / "g" / "BACI_HS92_Y2015_V202401b.csv", 4_000)
    lines = one.read_text().splitlines()[1:]
    lines = [("2014" if int(x.split(",")[1]) % 2 == 0 else "2015") + x[4:] for x in lines]
    with open(one.parent / "country_codes_V202401b.csv", newline="") as fh:
        codes = list(csv.reader(fh))
    path = _write(tmp_path / "in", lines, codes=codes, name="BACI_HS92_Y2014_V202401b.csv")
    stats, _ = _parsed_vs_arrow(tmp_path, path)
    assert stats["years"] == [2014, 2015]
    monkeypatch.setattr(baci_fast, "MAX_KEY_BITS", 0)
    assert _parsed_vs_arrow(tmp_path, path)[0] == stats


EDGE = {
    "crlf": dict(end="\r\n"),
    "no final newline": dict(final=False),
    "crlf, no final newline": dict(end="\r\n", final=False),
}


@pytest.mark.parametrize("case", list(EDGE))
@pytest.mark.parametrize("chunks", ["one chunk", "small chunks"])
def test_line_endings(tmp_path, monkeypatch, case, chunks):
    if chunks == "small chunks":
        monkeypatch.setattr(baci_fast, "FIRST_CHUNK", 40)
        monkeypatch.setattr(baci_fast, "CHUNK", 80)
    lines = [",".join(r) for r in baci_sample().rows]
    _parsed_vs_arrow(tmp_path / "all", _write(tmp_path / "in", lines, **EDGE[case]))
    _parsed_vs_arrow(tmp_path / "one", _write(tmp_path / "in1", lines[:1], **EDGE[case]))


def test_spellings_within_the_grammar(tmp_path):
    """Padded and bare NA, empty q, leading zeros, padded numbers, many decimals: exact values."""
    lines = [
        "2016,842,410,870323,1234567.5,120.5",
        "2016,410,842,870323,16000000,           NA",
        "2016,0842,0410,010121,0002500,NA",         # leading zeros in codes, HS and value
        "2016,124,842,270900,0,",                     # empty quantity
        "2016,490,842,854231,    999.999,           NA",  # padded value
        "2016,642,251,100199,0.1000000000000001,9007199254740.992",  # 16-17 significant digits
        "2016,4,251,100199,123456789012345.6,0.000000000000001",
        "2016,251,4,100199,9007199254740992,1.797693134862315",
    ]
    stats, t = _parsed_vs_arrow(tmp_path, _write(tmp_path / "in", lines))
    assert stats == {"rows": 8, "zero_value": 1, "years": [2016]}
    assert list(t["quantity_null"]) == [False, True, True, True, True, False, False, False]
    assert t["product"][2] == "010121" and t["exporter"][2] == "USA"
    value = t["value_bits"].view(np.float64)
    assert value[0] == 1234.5675 and value[5] == 0.1000000000000001 / 1000.0


def _stored(store):
    con = store._connect()
    return con.execute("SELECT * FROM goods").fetchall(), con.execute("DESCRIBE goods").fetchall()


def _vs_general(tmp_path, path, monkeypatch):
    """Import ``path`` as the store does (fast paths first) and by the general path alone: the
    same rows (Python floats compare by value: equal doubles are equal bits, NaN aside)."""
    fast = LedgerStore.open(tmp_path / "fast")
    rep = fast.import_files("baci", [path])
    with monkeypatch.context() as m:
        m.setattr(baci_fast, "stage", lambda *a, **k: None)
        general = LedgerStore.open(tmp_path / "general")
        want = general.import_files("baci", [path])
    a, b = rep.files[0], want.files[0]
    assert (a.rows_read, a.kept, a.zero_value, a.years) == (b.rows_read, b.kept, b.zero_value, b.years)
    assert _stored(fast) == _stored(general)
    return _stored(fast)[0]


def test_other_na_padding_is_a_null(tmp_path, monkeypatch):
    """Accepted here though not by the Arrow path (its null spellings are a fixed list)."""
    lines = [",".join(r) for r in baci_sample().rows]
    lines[4] = "2016,490,842,854231,999.999,  NA"
    path = _write(tmp_path / "in", lines)
    stats, t = _parsed_vs_general_only(tmp_path, path, monkeypatch)
    assert t[4][6] is None and stats == 6


def _parsed_vs_general_only(tmp_path, path, monkeypatch):
    """The compiled parser accepts what the Arrow path does not: compare with the general path."""
    layout, codes = read_header(path), _codes(path)
    got = baci_fast._stage_parsed(layout, codes, tmp_path / "p.parquet", lambda m, f: None)
    assert got is not None
    try:
        arrow = baci_fast._stage(layout, codes, tmp_path / "a.parquet", lambda m, f: None)
    except Exception:  # noqa: BLE001 - stage() treats a raise as a decline
        arrow = None
    assert arrow is None
    rows = _vs_general(tmp_path, path, monkeypatch)
    return got["rows"], rows


@pytest.mark.parametrize("field,text", [
    ("v", "12345678901234567.5"),   # mantissa above 2**53: outside the exact fast path
    ("q", "9007199254740993"),
    ("v", "1e3"), ("v", "+5"), ("v", "5."), ("v", ".5"), ("v", " 5 "),
    ("q", "   "), ("q", "na"), ("i", " 842"), ("t", '"2016"'),
])
def test_other_spellings_decline_yet_end_as_the_general_path_says(tmp_path, monkeypatch, field, text):
    lines = [",".join(r) for r in baci_sample().with_cell(3, field, text)]
    path = _write(tmp_path / "in", lines)
    _declines(tmp_path, path)
    try:
        _vs_general(tmp_path, path, monkeypatch)
    except DataFormatError as exc:  # refused by the general path: the fast paths must decline
        assert exc.row == 3
        assert baci_fast.stage(read_header(path), _codes(path), tmp_path / "o.parquet") is None


@pytest.mark.parametrize("sort", [True, False])
def test_repeated_key_declines_and_general_path_names_the_row(tmp_path, sort):
    s = baci_sample()
    rows = [list(r) for r in s.rows] + [list(s.rows[2])]
    if sort:
        rows.sort(key=lambda r: tuple(int(x) for x in r[:4]))
    path = _write(tmp_path / "in", [",".join(r) for r in rows])
    _declines(tmp_path, path)
    assert baci_fast.stage(read_header(path), _codes(path), tmp_path / "o.parquet") is None
    with pytest.raises(DataFormatError) as info:
        LedgerStore.open(tmp_path / "store").import_files("baci", [path])
    assert "same as row" in str(info.value)
    first, second = [n + 1 for n, r in enumerate(rows) if r == list(s.rows[2])]
    assert info.value.row == second and f"same as row {first}" in str(info.value)


def test_two_codes_of_one_country_in_a_sorted_file(tmp_path):
    """642 and 643 both mean Romania: increasing raw keys, yet the same stored key twice."""
    codes = list(BACI_CODES) + [("643", "Romania (old)", "RO", "ROU")]
    lines = ["2016,4,842,100199,1,1", "2016,642,251,100199,42,10", "2016,643,251,100199,43,11"]
    path = _write(tmp_path / "in", lines, codes=codes)
    _declines(tmp_path, path)
    with pytest.raises(DataFormatError) as info:
        LedgerStore.open(tmp_path / "store").import_files("baci", [path])
    assert info.value.row == 3 and "same as row 2" in str(info.value)
    ok = _write(tmp_path / "ok", lines[:2] + ["2016,643,251,100200,43,11"], codes=codes)
    assert _parsed_vs_arrow(tmp_path, ok)[0]["rows"] == 3  # distinct products: fine


@pytest.mark.parametrize("line,row,field", [
    ("2016,999,842,100199,1,1", 7, "i"),       # code not in the code file
    ("2016,842,410,1001,1,1", 7, "k"),         # not a 6-digit HS code
    ("1700,842,410,100199,1,1", 7, "t"),
])
def test_bad_row_declines_and_general_path_names_it(tmp_path, small_chunks, line, row, field):
    lines = [",".join(r) for r in baci_sample().rows] + [line]
    path = _write(tmp_path / "in", lines)
    _declines(tmp_path, path)
    with pytest.raises(DataFormatError) as info:
        LedgerStore.open(tmp_path / "store").import_files("baci", [path])
    assert (info.value.row, info.value.field) == (row, field), str(info.value)


def test_empty_line_and_header_only_decline(tmp_path):
    lines = [",".join(r) for r in baci_sample().rows]
    _declines(tmp_path, _write(tmp_path / "a", lines[:3] + [""] + lines[3:]))
    _declines(tmp_path, _write(tmp_path / "b", []))


def test_store_import_takes_the_compiled_path(tmp_path, monkeypatch):
    """``stage`` tries the compiled parser first; the Arrow path is not run on a plain file."""
    calls = []
    real = baci_fast._stage
    monkeypatch.setattr(baci_fast, "_stage", lambda *a, **k: calls.append(1) or real(*a, **k))
    path = baci.write_synthetic(tmp_path / "g" / "BACI_HS92_Y2015_V202401b.csv", 2_000)
    rep = LedgerStore.open(tmp_path / "store").import_files("baci", [path])
    assert rep.files[0].kept == {"goods": 2_000} and calls == []


def test_random_decimals_match_python_float(tmp_path):
    """20,000 random decimal spellings (1-15 digits, so always below 2**53; 0-15 decimals) against Python's
    correctly rounded float(): every value and quantity bit-identical (v / 1000 as stored)."""
    rng = np.random.default_rng(7)
    n = 20_000
    digits = rng.integers(1, 16, size=(n, 2))
    frac = rng.integers(0, 16, size=(n, 2))
    texts = []
    for r in range(n):
        pair = []
        for c in range(2):
            d, f = int(digits[r, c]), int(min(frac[r, c], digits[r, c]))
            s = "".join(str(x) for x in rng.integers(0, 10, size=d))
            pair.append(s if f == 0 else (s[:d - f] or "0") + "." + s[d - f:])
        texts.append(pair)
    codes = [(str(x), f"C{x}", "NA", iso) for x, iso in enumerate(["USA", "KOR", "CAN", "FRA"], start=1)]
    lines = [f"2016,{1 + r % 4},{1 + (r // 4) % 4},{100000 + r},{v},{q}" for r, (v, q) in enumerate(texts)]
    path = _write(tmp_path / "in", lines, codes=[BACI_CODES[0]] + codes)
    assert baci_fast._stage_parsed(read_header(path), _codes(path), tmp_path / "p.parquet", lambda m, f: None)
    t = _table(tmp_path / "p.parquet")
    want_v = np.array([float(v) / 1000.0 for v, _ in texts])
    want_q = np.array([float(q) for _, q in texts])
    assert np.array_equal(t["value_bits"], want_v.view(np.uint64))
    assert np.array_equal(t["quantity_bits"], want_q.view(np.uint64))


def test_small_file_in_a_fresh_process_does_not_load_numba(tmp_path, kernels):
    """A fresh process importing a small file never loads numba: the C kernels parse it; with
    numba's kernels, below PARSE_MIN_BYTES, the Arrow path reads it."""
    import os
    import subprocess

    path = baci.write_synthetic(tmp_path / "g" / "BACI_HS92_Y2015_V202401b.csv", 1_000)
    code = ("import sys; from tradepact.ledger import LedgerStore; "
            f"r = LedgerStore.open({str(tmp_path / 'store')!r}).import_files('baci', [{str(path)!r}]); "
            "print(r.files[0].kept['goods'], 'numba' in sys.modules, "
            "'tradepact.ledger.sources._baci_kernels' in sys.modules)")
    env = {k: v for k, v in os.environ.items() if k != "TRADEPACT_BACI_PARSE_MIN_BYTES"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    c = kernels.__name__.endswith("_baci_kernels")
    assert out.stdout.split() == ["1000", "False", str(c)]


@pytest.mark.parametrize("bitmap", [True, False])
def test_unsorted_file_keys_kept_from_the_parse(tmp_path, small_chunks, monkeypatch, bitmap, kernels):
    """First chunk out of BACI's order: the packed keys are kept and checked (bitmap or sort)."""
    monkeypatch.setattr(baci_fast, "FIRST_CHUNK", 20_000)  # ~540 lines: past line 221, where i wraps from 894 to 4
    if not bitmap:
        monkeypatch.setattr(baci_fast, "MAX_KEY_BITS", 0)
    calls = []
    for kernel in ("mark_packed", "mark_keys", "line_keys"):
        real = getattr(kernels, kernel)
        monkeypatch.setattr(kernels, kernel, lambda *a, _k=kernel, _r=real: calls.append(_k) or _r(*a))
    path = baci.write_synthetic(tmp_path / "g" / "BACI_HS92_Y2015_V202401b.csv", 3_000, order="product")
    assert _parsed_vs_arrow(tmp_path / "ok", path)[0]["rows"] == 3_000
    assert set(calls) == ({"mark_packed"} if bitmap else set())  # never a second pass over the text
    lines = path.read_text().splitlines()
    lines.insert(2_500, lines[7])  # a repeat far from its first occurrence
    path.write_text("\n".join(lines) + "\n")
    _declines(tmp_path, path)
    with pytest.raises(DataFormatError) as info:
        LedgerStore.open(tmp_path / "store").import_files("baci", [path])
    assert info.value.row == 2_500 and "same as row 7" in str(info.value)
