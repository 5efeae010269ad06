"""The fast paths of the BACI import: BACI lines parsed into typed arrays, checked, and written
as one Parquet file with dictionary-encoded codes.

Why fast paths: a BACI year is ~10 million rows of six numbers. The general path (DuckDB
``read_csv`` -> canonical SQL -> Parquet, then validation scans over the Parquet) builds a text
product code and two country codes per row through SQL expressions and lets the Parquet writer
re-discover their dictionaries by hashing every value; that is ~2/3 of its time. Here the codes
are mapped with array lookups straight into Arrow *dictionary* arrays (a small index per row plus
one small dictionary), which the Parquet writer stores without hashing, and every rule is checked
on the typed columns. Two fast paths, tried in this order by :func:`stage`:

1. the compiled parser (:func:`_stage_parsed`, kernels chosen by :func:`.baci_parse.kernels`): the file is
   memory-mapped and cut into chunks at line ends; two threads parse chunks (GIL released) straight
   into typed arrays, checking every rule as they go, while a third thread writes the parsed
   chunks in file order, one row group each with the chunk's own product dictionary; the arrays
   are recycled. Repeated (year, exporter, importer, product) keys: BACI files are sorted by
   (t, i, j, k), so when the raw keys strictly increase through the file (and distinct codes used
   are distinct countries) there is none; otherwise a second pass marks a bitmap of keys (or sorts
   them when the key space is large). Only for the plain layout ``t,i,j,k,v,q`` and its narrow
   grammar (see :mod:`.baci_parse`). The kernels are C, compiled when the package was installed;
   where they could not be built, numba's are used, but only for files of :data:`PARSE_MIN_BYTES`
   or more unless numba is already loaded: importing numba and loading its cached kernels costs
   ~1 s in a fresh process, more than the parser saves on smaller files.
2. the Arrow path (:func:`_stage`): one multi-threaded typed ``pyarrow.csv`` read, checks and
   code mapping in NumPy, the write overlapped with the mapping; repeated keys: none if the raw
   keys increase through the file (as above), else a sort of one packed key per row.

Both are *acceptors only*: they never report an error themselves. Each returns ``None`` as soon
as anything is not plainly valid (a parse or conversion problem, a null, an unknown code, a bad HS
code, a negative/non-finite value or quantity, a repeated key, an unexpected layout, a file too
large to hold in memory); the next path is tried and finally the general path runs on the same
file, finds the first offending row and raises the precise :class:`~tradepact.errors.DataFormatError`
(file, row, field, expected, got) it always did. So no rule is weaker here: a file is accepted by a
fast path only if every rule of the general path holds, and the stored rows are the same whichever
path stores them (same columns, types, values and row order: Parquet row ``n`` is data row ``n``).

Memory: the compiled parser holds a few chunks of arrays (the file itself is mapped, not read);
the Arrow path holds the typed columns (24 bytes a row) plus a 4-byte key a row. Files up to
:data:`MAX_BYTES` take the fast paths and larger ones stream through DuckDB.
"""
from __future__ import annotations

import os
import queue
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

from tradepact.ledger.sources import baci_layout as layout
from tradepact.ledger.sources import baci_parse as bp
from tradepact.ledger.sources._base import CsvLayout

#: Larger CSV files take the streaming DuckDB path (about 22 million BACI rows; ~1.3 GB RSS here).
MAX_BYTES = int(os.environ.get("TRADEPACT_BACI_FAST_MAX_BYTES", 800_000_000))
#: Null spellings of ``q`` accepted here (BACI writes ``NA``, space-padded to 13 characters in
#: recent releases). Any other spelling (e.g. other padding) makes the general path decide.
Q_NULLS = ["", "NA", "           NA"]
COLUMNS = ("t", "i", "j", "k", "v", "q")


def stage(layout: CsvLayout, codes: dict[int, str | None], target: Path,
          tick: Callable[[str, float], None] | None = None) -> dict | None:
    """Write the canonical Parquet file of a BACI CSV to ``target`` if every rule holds.

    Returns ``{"rows", "zero_value", "years"}`` on success, else ``None`` (nothing left at
    ``target``). ``codes`` maps BACI numeric country codes to ISO3 (None = unknown).
    """
    tick = tick or (lambda m, f: None)
    for path in (_stage_parsed, _stage):
        try:
            out = path(layout, codes, target, tick)
        except Exception:  # noqa: BLE001 - any surprise: the next path decides and reports
            out = None
        if out is not None:
            return out
        if target.exists():
            target.unlink()
    return None


def _country_lut(codes: dict[int, str | None]) -> tuple[list[str], np.ndarray] | None:
    """(sorted known ISO3 codes, lookup table BACI code -> index into them, -1 = unknown)."""
    known = sorted({iso for iso in codes.values() if iso})
    if not known:
        return None
    top = max(c for c in codes if c >= 0) if any(c >= 0 for c in codes) else -1
    lut = np.full(top + 1, -1, dtype=np.int32)
    pos = {iso: x for x, iso in enumerate(known)}
    for c, iso in codes.items():
        if c >= 0 and iso:
            lut[c] = pos[iso]
    return known, lut


def _schema():
    import pyarrow as pa

    code = pa.dictionary(pa.int32(), pa.string())
    return pa.schema([pa.field("year", pa.int32(), nullable=False), pa.field("exporter", code, nullable=False),
                      pa.field("importer", code, nullable=False), pa.field("product", code, nullable=False),
                      pa.field("value", pa.float64(), nullable=False), pa.field("quantity", pa.float64())])


def _parquet_writer(target: Path, schema):
    """The Parquet writer both paths use (same encodings and statistics)."""
    import pyarrow.parquet as pq

    return pq.ParquetWriter(target, schema, store_schema=False,
                            # random values do not compress: only the (constant) year is
                            compression={"year": "snappy", "exporter": "none", "importer": "none",
                                         "product": "none", "value": "none", "quantity": "none"},
                            use_dictionary=["exporter", "importer", "product"],
                            # min/max of a dictionary column costs a hash pass over its
                            # indices: kept for exporter (bilateral queries filter on it)
                            write_statistics=["year", "exporter", "value", "quantity"])


class _Writer:
    """A thread writing Arrow tables to one Parquet file, one row group each, in the order they are
    put (the Parquet writer releases the GIL).

    ``put(part, token)``: ``part`` is a table, or a future of a table or of None (a chunk that was
    not accepted: nothing is written). ``done(token)`` is called once ``part`` is written or dropped
    (also after a failure), so that its buffers can be reused.
    """

    def __init__(self, target: Path, schema, done: Callable | None = None):
        self.pending: queue.Queue = queue.Queue(maxsize=4)  # back-pressure on the producer
        self.failed: list[BaseException] = []
        self.done = done
        self.thread = threading.Thread(target=self._run, args=(target, schema), daemon=True)
        self.thread.start()

    def _release(self, token) -> None:
        if token is not None and self.done is not None:
            self.done(token)

    def _run(self, target, schema):
        try:
            with _parquet_writer(target, schema) as w:
                while (item := self.pending.get()) is not None:
                    part, token = item
                    if isinstance(part, Future):
                        part = part.result()
                    if part is not None:
                        w.write_table(part, row_group_size=max(1, part.num_rows))
                    del part, item
                    self._release(token)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            self.failed.append(exc)
            while (item := self.pending.get()) is not None:  # drain so the producer never blocks
                self._release(item[1])

    def put(self, part, token=None) -> None:
        self.pending.put((part, token))

    def close(self) -> None:
        """Wait for every table to be written; re-raise the writer's error."""
        self.pending.put(None)
        self.thread.join()
        if self.failed:
            raise self.failed[0]


#: With numba's kernels (the C ones were not built), smaller files take the Arrow path unless numba
#: is already loaded in this process: importing numba and loading the cached parser costs ~1 s in a
#: fresh process (measured: that path is slower than Arrow at 2 and 5 million rows, faster at 10
#: million). The C kernels take files of any size.
PARSE_MIN_BYTES = int(os.environ.get("TRADEPACT_BACI_PARSE_MIN_BYTES", 256_000_000))
#: Bytes of CSV per parsed chunk (one Parquet row group each): the first is small so that the
#: writer starts early; then ~1.3 million BACI lines.
FIRST_CHUNK = 8 << 20
CHUNK = 48 << 20
#: Sets of chunk arrays in flight (parsed, queued, being written); recycled, because fresh memory
#: is slow to fault in on some virtual machines.
POOL = 3
#: Largest bitmap (bits) of (year, exporter, importer, product) keys for the duplicate check of
#: an unsorted file; larger key spaces sort the keys instead.
MAX_KEY_BITS = 1 << 31
YEAR_KEY_MAX = 2201
YEAR_SPAN = 2200 - 1800 + 1


class _Arrays:
    """Output arrays and per-chunk tables of one chunk (capacity ``cap`` lines); reused."""

    def __init__(self, cap: int, codes: int):
        self.year = np.empty(cap, np.int32)
        self.exporter = np.empty(cap, np.int32)
        self.importer = np.empty(cap, np.int32)
        self.product = np.empty(cap, np.int32)
        self.pindex = np.empty(cap, np.int32)
        self.value = np.empty(cap, np.float64)
        self.quantity = np.empty(cap, np.float64)
        self.qbits = np.zeros((cap + 7) // 8, np.uint8)
        self.present = np.zeros(1_000_000, np.uint8)  # HS codes in the chunk
        self.plut = np.zeros(1_000_000, np.int32)  # HS code -> index in the chunk's dictionary
        self.years = np.zeros(YEAR_SPAN, np.uint8)
        self.used = np.zeros(codes, np.uint8)
        self.stats = np.zeros(layout.NSTATS, np.int64)


def _map_file(path: Path):
    """The file's bytes as a read-only uint8 array over a memory map (no copy)."""
    import mmap

    with open(path, "rb") as fh:
        mm = mmap.mmap(fh.fileno(), 0, flags=mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0),
                       prot=mmap.PROT_READ)
    return mm, np.frombuffer(mm, dtype=np.uint8)


def _stage_parsed(layout: CsvLayout, codes: dict[int, str | None], target: Path, tick) -> dict | None:
    """The compiled-parser path (:mod:`baci_parse`): chunks parsed on this thread while a writer
    thread stores the previous ones. Only for the plain layout ``t,i,j,k,v,q`` with commas."""
    if list(layout.columns) != list(COLUMNS) or layout.delimiter != ",":
        return None
    path = Path(layout.path)
    size = path.stat().st_size
    if not 0 < size <= MAX_BYTES:
        return None
    try:  # numba's kernels only where loading numba costs less than they save
        kern = bp.kernels(allow_numba=size >= PARSE_MIN_BYTES or "numba" in sys.modules)
    except ImportError:  # neither built nor wanted: the Arrow path
        return None
    mapped = _country_lut(codes)
    if mapped is None:
        return None
    known, lut = mapped
    mm, buf = _map_file(path)
    out = None
    try:
        out = _parse_and_write(kern, buf, known, lut, target, path.name, tick)
    finally:
        del buf
        try:
            mm.close()
        except BufferError:  # views still held by an error unwinding: the map goes with them,
            pass             # and that error (not this one) is the one to pass on
        if out is None and target.exists():
            target.unlink()
    return out


def _parse_and_write(kern, buf, known, lut, target: Path, name: str, tick) -> dict | None:
    """Parse chunks of ``buf`` on two threads (nogil kernels) while a third writes the parsed
    chunks in file order, one row group each, with the chunk's own product dictionary."""
    import pyarrow as pa

    size = len(buf)
    start = bp.next_line_start(buf, 0)  # past the header line
    if start >= size:
        return None
    # chunks (bytes, start, end), each ending with a '\n' (the kernel relies on it)
    body = size
    if buf[size - 1] != 10:  # a last line without '\n': parsed from a padded copy
        body = bp.last_line_start(buf, start)
    chunks = []
    step = FIRST_CHUNK
    at = start
    while at < body:
        end = min(body, bp.next_line_start(buf, min(body, at + step) - 1))
        chunks.append((buf, at, end))
        at, step = end, CHUNK
    if body < size:
        chunks.append((np.frombuffer(bytes(buf[body:size]) + b"\n", dtype=np.uint8), 0, size - body + 1))
    nchunks = len(chunks)
    base = len(lut)
    order_base = base if YEAR_KEY_MAX * base * base * 1_000_000 < (1 << 62) else 0
    iso = pa.array(known, type=pa.string())
    schema = _schema()
    pow10 = layout.POW10
    tick(f"reading {name}", 0.0)
    cap = max(b - a for _, a, b in chunks) // 15 + 1  # a valid line has >= 15 bytes
    sets = [_Arrays(cap, base) for _ in range(min(POOL, nchunks))]
    free: queue.Queue = queue.Queue()
    for arr in sets:
        free.put(arr)
    present_all = np.zeros(1_000_000, dtype=np.uint8)
    stop = threading.Event()
    # Packed keys of every row, kept only if the first chunk is not in BACI's order (then the
    # duplicate check runs over them instead of parsing the file a second time); chunk c's keys
    # start at slot[c].
    ne = len(known)
    slot = np.cumsum([0] + [(b - a) // 15 + 1 for _, a, b in chunks]).tolist()
    keys = np.empty(0, np.int64)
    no_keys = keys
    meta: list = [None] * nchunks  # per chunk: (stats, HS codes present) once parsed

    def parse(c: int, arr: _Arrays):
        """Chunk ``c`` into ``arr``: its Arrow table, with ``meta[c]`` set; None if a line is not
        plainly valid."""
        if stop.is_set():
            return None
        data, a, b = chunks[c]
        arr.qbits[:(b - a) // 15 // 8 + 1] = 0
        st = arr.stats
        out_keys = keys[slot[c]:slot[c + 1]] if len(keys) else no_keys
        if kern.parse_chunk(data, a, b, lut, order_base, pow10, arr.year, arr.exporter, arr.importer,
                          arr.product, arr.value, arr.quantity, arr.qbits, arr.present, arr.years,
                          arr.used, st, out_keys, ne) != layout.OK:
            stop.set()
            return None
        n = int(st[layout.ROWS])
        products = np.flatnonzero(arr.present)
        arr.present[products] = 0
        arr.plut[products] = np.arange(len(products), dtype=np.int32)
        pi = arr.pindex[:n]
        kern.remap(arr.product[:n], arr.plut, pi)
        nulls = int(st[layout.NULLS])
        table = pa.table([
            pa.array(arr.year[:n]),
            pa.DictionaryArray.from_arrays(pa.array(arr.exporter[:n]), iso, safe=False),
            pa.DictionaryArray.from_arrays(pa.array(arr.importer[:n]), iso, safe=False),
            pa.DictionaryArray.from_arrays(pa.array(pi), pa.array([f"{p:06d}" for p in products],
                                                                  type=pa.string()), safe=False),
            pa.array(arr.value[:n]),
            pa.Array.from_buffers(pa.float64(), n, [pa.py_buffer(arr.qbits) if nulls else None,
                                                    pa.py_buffer(arr.quantity[:n])], null_count=nulls),
        ], schema=schema)
        meta[c] = (st.copy(), products)
        return table

    writer = _Writer(target, schema, done=free.put)  # each chunk's arrays go back to ``free`` once written
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        for c in range(nchunks):
            arr = free.get()  # taken in chunk order: no chunk waits for a later one's arrays
            if stop.is_set() or writer.failed:
                free.put(arr)
                break
            if c == 0:  # here, first (a small chunk): is the file in BACI's order?
                fut = Future()
                table = parse(0, arr)
                if (table is not None and not meta[0][0][layout.ORDERED] and nchunks > 1
                        and YEAR_SPAN * ne * ne * 1_000_000 < (1 << 62)):
                    keys = np.empty(slot[-1], np.int64)  # not sorted: keep the keys
                    table = parse(0, arr)
                fut.set_result(table)
                del table
            else:
                fut = pool.submit(parse, c, arr)
            writer.put(fut, arr)
            del fut
            tick(f"reading {name}", 0.9 * c / nchunks)
    finally:
        pool.shutdown(wait=True)
    ok = not stop.is_set() and all(m is not None for m in meta)
    stats = []
    if ok:
        stats = [m[0] for m in meta]
        for m in meta:
            present_all[m[1]] = 1
        # every chunk is parsed (the writer may still be busy): years and codes seen, then the
        # duplicate check
        years = np.bitwise_or.reduce([arr.years for arr in sets])
        used = np.bitwise_or.reduce([arr.used for arr in sets])
        ok = _ordered(stats, lut, used, order_base)
        if not ok and len(keys):
            ok = _unique_packed(kern, keys, [(slot[c], int(st[layout.ROWS])) for c, st in enumerate(stats)],
                                ne, years, present_all)
        elif not ok:
            ok = _unique_keys(kern, buf, start, size, lut, years, present_all)
    writer.close()
    rows = sum(int(s[layout.ROWS]) for s in stats)
    if not ok or rows == 0:
        return None
    return {"rows": rows, "zero_value": sum(int(s[layout.ZEROS]) for s in stats),
            "years": [int(layout.YEAR0 + y) for y in np.flatnonzero(years)]}


def _ordered(stats, lut, used, order_base) -> bool:
    """True if the raw keys (t, i, j, k) strictly increase through the file (BACI's own layout)
    and distinct BACI codes used map to distinct ISO3 codes: then no (year, exporter, importer,
    product) repeats."""
    if not order_base:
        return False
    idx = lut[np.flatnonzero(used)]
    if len(np.unique(idx)) != len(idx):
        return False
    return all(s[layout.ORDERED] for s in stats) and all(
        stats[x][layout.LAST_KEY] < stats[x + 1][layout.FIRST_KEY] for x in range(len(stats) - 1))


def _unique_packed(kern, keys, segments, ne, years, present_all) -> bool:
    """True if no packed key repeats: a bitmap of the compact keys (year, exporter, importer,
    product index), or a sort when that key space is large."""
    yrs = np.flatnonzero(years)
    ny = int(yrs[-1] - yrs[0]) + 1
    products = np.flatnonzero(present_all)
    plut = np.zeros(1_000_000, dtype=np.int64)
    plut[products] = np.arange(len(products))
    npr = len(products)
    space = ny * ne * ne * npr
    if space <= MAX_KEY_BITS:
        seen = np.zeros(space // 8 + 1, dtype=np.uint8)
        yoff = int(yrs[0]) * ne * ne
        return all(kern.mark_packed(keys[a:a + n], yoff, plut, npr, seen) for a, n in segments)
    flat = np.concatenate([keys[a:a + n] for a, n in segments])
    flat.sort()
    return not bool((flat[1:] == flat[:-1]).any())


def _unique_keys(kern, buf, start, end, lut, years, present_all) -> bool:
    """True if no two lines share (year, exporter, importer, product): a second pass over the
    (validated) lines marking a bitmap of keys, or sorting them when the key space is large."""
    yrs = np.flatnonzero(years)
    ymin = int(layout.YEAR0 + yrs[0])
    ny = int(yrs[-1] - yrs[0]) + 1
    products = np.flatnonzero(present_all)
    plut = np.zeros(1_000_000, dtype=np.int64)
    plut[products] = np.arange(len(products))
    ne, npr = int(lut.max()) + 1, len(products)
    space = ny * ne * ne * npr
    if space <= MAX_KEY_BITS:
        seen = np.zeros(space // 8 + 1, dtype=np.uint8)
        return bool(kern.mark_keys(buf, start, end, lut, plut, ymin, ne, npr, seen))
    keys = np.empty((end - start) // 15 + 1, dtype=np.int64)
    n = kern.line_keys(buf, start, end, lut, plut, ymin, ne, npr, keys)
    keys = keys[:n]
    keys.sort()
    return not bool((keys[1:] == keys[:-1]).any())


def _stage(layout: CsvLayout, codes: dict[int, str | None], target: Path, tick) -> dict | None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    path = Path(layout.path)
    if path.stat().st_size > MAX_BYTES or len(set(layout.columns)) != len(layout.columns):
        return None
    if not set(COLUMNS) <= set(layout.columns):
        return None
    name = path.name
    tick(f"reading {name}", 0.0)
    types = {c: pa.int32() for c in "tijk"} | {"v": pa.float64(), "q": pa.float64()}
    table = pcsv.read_csv(
        path,
        read_options=pcsv.ReadOptions(column_names=list(layout.columns), skip_rows=1, block_size=16 << 20),
        parse_options=pcsv.ParseOptions(delimiter=layout.delimiter, quote_char='"', double_quote=True,
                                        escape_char=False, newlines_in_values=False, ignore_empty_lines=False),
        convert_options=pcsv.ConvertOptions(column_types=types, include_columns=list(COLUMNS),
                                            null_values=Q_NULLS, strings_can_be_null=False,
                                            quoted_strings_can_be_null=False),
    )
    n = table.num_rows
    if n == 0:
        return None
    tick(f"checking {name}", 0.55)
    for c in "tijkv":
        if table.column(c).null_count:
            return None

    # Country codes: BACI number -> index into the sorted ISO3 list (-1 = unknown).
    mapped = _country_lut(codes)
    if mapped is None:
        return None
    known, lut = mapped
    top = len(lut) - 1

    table = table.select(list(COLUMNS))
    chunks = {c: table.column(c).chunks for c in COLUMNS}
    if len({len(ch) for ch in chunks.values()}) != 1:
        table = table.combine_chunks()
        chunks = {c: table.column(c).chunks for c in COLUMNS}
    nchunks = len(chunks["t"])
    present = np.zeros(1_000_000, dtype=bool)  # HS6 codes seen (k)
    used = np.zeros(top + 1, dtype=bool)  # BACI country codes seen
    base = top + 1
    order_base = base if YEAR_KEY_MAX * base * base * 1_000_000 < (1 << 62) else 0

    def scan(x: int):
        """Pass 1 on one chunk: every per-row rule as a reduction; None if one fails."""
        t, i, j, k, v = (chunks[c][x].to_numpy() for c in "tijkv")
        if len(t) == 0:
            return (1 << 30, -(1 << 30), 0, 1, None, None)
        for a in (i, j):  # codes inside the lookup table (unknown codes are caught in pass 2)
            if int(a.min()) < 0 or int(a.max()) > top:
                return None
        if int(k.min()) < 10_000 or int(k.max()) > 999_999:  # 6-digit HS, zero-padded, first digits >= 01
            return None
        vmin, vmax = v.min(), v.max()
        if not (vmin >= 0 and vmax < np.inf):  # also false when any value is NaN
            return None
        if not _quantity_ok(chunks["q"][x]):
            return None
        present[k] = True
        used[i] = True
        used[j] = True
        ordered, first, last = 0, None, None
        if order_base:  # raw keys (t, i, j, k) strictly increasing, as BACI writes its files
            raw = ((t.astype(np.int64) * order_base + i) * order_base + j) * 1_000_000 + k
            ordered, first, last = int(bool((raw[1:] > raw[:-1]).all())), int(raw[0]), int(raw[-1])
        return (int(t.min()), int(t.max()), int(np.count_nonzero(v == 0)), ordered, first, last)

    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        scans = list(pool.map(scan, range(nchunks)))
    if any(r is None for r in scans):
        return None
    ymin, ymax = min(r[0] for r in scans), max(r[1] for r in scans)
    zero_value = sum(r[2] for r in scans)
    if ymin < 1800 or ymax > 2200:
        return None

    # No repeated (year, exporter, importer, product) if the raw keys increase through the file
    # and distinct codes used are distinct countries; else the packed keys are sorted.
    full = [r for r in scans if r[4] is not None]
    idx = lut[np.flatnonzero(used)]
    ordered = (bool(order_base) and len(np.unique(idx)) == len(idx) and all(r[3] for r in full)
               and all(full[x][5] < full[x + 1][4] for x in range(len(full) - 1)))
    products = np.flatnonzero(present)
    plut = np.full(1_000_000, -1, dtype=np.int32)
    plut[products] = np.arange(len(products), dtype=np.int32)
    ne, npr, ny = len(known), len(products), ymax - ymin + 1
    wide = ny * ne * ne * npr >= (1 << 32)
    key = np.empty(0 if ordered else n, dtype=np.uint64 if wide else np.uint32)
    iso = pa.array(known, type=pa.string())
    prod = pa.array([f"{p:06d}" for p in products], type=pa.string())
    schema = _schema()

    # Pass 2: dictionary indices and the packed key (year, exporter, importer, product); each
    # chunk is handed to a writer thread (the Parquet writer releases the GIL), so writing
    # overlaps mapping the next chunk and sorting the keys.
    tick(f"writing {name}", 0.7)
    writer = _Writer(target, schema)
    at = 0
    year_present = np.zeros(ny, dtype=bool)
    ok = True
    try:
        for x in range(nchunks):
            t, i, j, k, v = (chunks[c][x].to_numpy() for c in "tijkv")
            m = len(t)
            if m == 0:
                continue
            ei, mi = np.take(lut, i), np.take(lut, j)
            if int(ei.min()) < 0 or int(mi.min()) < 0:  # a code without a known ISO3
                ok = False
                break
            pi = np.take(plut, k)
            if ny > 1:
                year_present[np.unique(t - ymin)] = True
            if not ordered:
                kk = key[at:at + m]
                if ny > 1:
                    kk[:] = t - ymin
                    kk *= ne
                    kk += ei.view(np.uint32)
                else:
                    kk[:] = ei.view(np.uint32)
                kk *= ne
                kk += mi.view(np.uint32)
                kk *= npr
                kk += pi.view(np.uint32)
            at += m
            writer.put(pa.table([
                chunks["t"][x],
                pa.DictionaryArray.from_arrays(pa.array(ei), iso, safe=False),
                pa.DictionaryArray.from_arrays(pa.array(mi), iso, safe=False),
                pa.DictionaryArray.from_arrays(pa.array(pi), prod, safe=False),
                pa.array(v / 1000.0),  # thousand USD -> USD millions
                chunks["q"][x],
            ], schema=schema))
        if ok and not ordered:  # while the writer finishes
            key.sort()
            ok = not (n > 1 and bool((key[1:] == key[:-1]).any()))
    finally:
        writer.close()
    if ny == 1:
        year_present[0] = True
    del key
    if not ok:
        return None
    years = [int(ymin + y) for y in np.flatnonzero(year_present)]
    return {"rows": int(n), "zero_value": int(zero_value), "years": years}


def _quantity_ok(qa) -> bool:
    """``q`` of one chunk: every non-null quantity finite and >= 0 (nulls are NA in the file)."""
    if qa.null_count == len(qa):
        return True
    raw = np.frombuffer(qa.buffers()[1], dtype=np.float64, count=len(qa), offset=qa.offset * 8)
    lo, hi = raw.min(), raw.max()  # null slots included: if all are fine, so are the non-null ones
    if lo >= 0 and hi < np.inf:
        return True
    q = qa.to_numpy(zero_copy_only=False)  # nulls -> NaN
    fin = np.isfinite(q)
    if len(q) - int(np.count_nonzero(fin)) != qa.null_count:  # NaN or inf written in the file
        return False
    return float(np.min(q, where=fin, initial=0.0)) >= 0
