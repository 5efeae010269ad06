"""The fast path of the BACI import: one multi-threaded typed CSV read into Arrow, checks and
code mapping in NumPy, one Parquet write with dictionary-encoded codes.

Why a second path: a BACI year is ~10 million rows of six numbers. The general path (DuckDB
``read_csv`` -> canonical SQL -> Parquet, then validation scans over the Parquet) builds a text
product code and two country codes per row through SQL expressions and lets the Parquet writer
re-discover their dictionaries by hashing every value; that is ~2/3 of its time. Here the codes
are mapped with array lookups (``lut[i]``) straight into Arrow *dictionary* arrays (a 1-2 byte
index per row plus one small dictionary), which the Parquet writer stores without hashing, and
every rule is a vectorized reduction over the typed columns (min/max, a lookup, a sort of one
32-bit key per row for duplicates).

The fast path is an *acceptor only*: it never reports an error itself. It returns ``None`` as
soon as anything is not plainly valid (a parse or conversion problem, a null, an unknown code,
a bad HS code, a negative/non-finite value or quantity, a repeated key, an unexpected layout, a
file too large to hold in memory); the caller then runs the general path on the same file, which
finds the first offending row and raises the precise :class:`~tradepact.errors.DataFormatError`
(file, row, field, expected, got) it always did. So no rule is weaker here: a file is accepted by
the fast path only if every rule of the general path holds, and the stored rows are the same
(same columns, types, values and row order: Parquet row ``n`` is data row ``n``).

Memory: the typed columns (24 bytes a row) plus a 4-byte key a row, so files up to
:data:`MAX_BYTES` take this path and larger ones stream through DuckDB.
"""
from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

import numpy as np

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
    try:
        out = _stage(layout, codes, target, tick or (lambda m, f: None))
    except Exception:  # noqa: BLE001 - any surprise: the general path decides and reports
        out = None
    if out is None and target.exists():
        target.unlink()
    return out


def _stage(layout: CsvLayout, codes: dict[int, str | None], target: Path, tick) -> dict | None:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

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
    known = sorted({iso for iso in codes.values() if iso})
    if not known:
        return None
    top = max(c for c in codes if c >= 0) if any(c >= 0 for c in codes) else -1
    lut = np.full(top + 1, -1, dtype=np.int32)
    pos = {iso: x for x, iso in enumerate(known)}
    for c, iso in codes.items():
        if c >= 0 and iso:
            lut[c] = pos[iso]

    table = table.select(list(COLUMNS))
    chunks = {c: table.column(c).chunks for c in COLUMNS}
    if len({len(ch) for ch in chunks.values()}) != 1:
        table = table.combine_chunks()
        chunks = {c: table.column(c).chunks for c in COLUMNS}
    nchunks = len(chunks["t"])
    present = np.zeros(1_000_000, dtype=bool)  # HS6 codes seen (k)

    def scan(x: int):
        """Pass 1 on one chunk: every per-row rule as a reduction; None if one fails."""
        t, i, j, k, v = (chunks[c][x].to_numpy() for c in "tijkv")
        if len(t) == 0:
            return (1 << 30, -(1 << 30), 0)
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
        return (int(t.min()), int(t.max()), int(np.count_nonzero(v == 0)))

    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        scans = list(pool.map(scan, range(nchunks)))
    if any(r is None for r in scans):
        return None
    ymin, ymax = min(r[0] for r in scans), max(r[1] for r in scans)
    zero_value = sum(r[2] for r in scans)
    if ymin < 1800 or ymax > 2200:
        return None

    products = np.flatnonzero(present)
    plut = np.full(1_000_000, -1, dtype=np.int32)
    plut[products] = np.arange(len(products), dtype=np.int32)
    ne, npr, ny = len(known), len(products), ymax - ymin + 1
    wide = ny * ne * ne * npr >= (1 << 32)
    key = np.empty(n, dtype=np.uint64 if wide else np.uint32)
    iso = pa.array(known, type=pa.string())
    prod = pa.array([f"{p:06d}" for p in products], type=pa.string())
    code = pa.dictionary(pa.int32(), pa.string())
    schema = pa.schema([pa.field("year", pa.int32(), nullable=False), pa.field("exporter", code, nullable=False),
                        pa.field("importer", code, nullable=False), pa.field("product", code, nullable=False),
                        pa.field("value", pa.float64(), nullable=False), pa.field("quantity", pa.float64())])

    # Pass 2: dictionary indices and the packed key (year, exporter, importer, product); each
    # chunk is handed to a writer thread (the Parquet writer releases the GIL), so writing
    # overlaps mapping the next chunk and sorting the keys.
    tick(f"writing {name}", 0.7)
    pending: queue.Queue = queue.Queue(maxsize=4)
    failed: list[BaseException] = []

    def writer():
        try:
            with pq.ParquetWriter(target, schema, store_schema=False,
                                  # random values do not compress: only the (constant) year is
                                  compression={"year": "snappy", "exporter": "none", "importer": "none",
                                               "product": "none", "value": "none", "quantity": "none"},
                                  use_dictionary=["exporter", "importer", "product"],
                                  # min/max of a dictionary column costs a hash pass over its
                                  # indices: kept for exporter (bilateral queries filter on it)
                                  write_statistics=["year", "exporter", "value", "quantity"]) as w:
                while (part := pending.get()) is not None:
                    w.write_table(part, row_group_size=1 << 21)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            failed.append(exc)
            while pending.get() is not None:  # drain so the producer never blocks
                pass

    th = threading.Thread(target=writer, daemon=True)
    th.start()
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
            kk = key[at:at + m]
            if ny > 1:
                ty = t - ymin
                year_present[np.unique(ty)] = True
                kk[:] = ty
                kk *= ne
                kk += ei.view(np.uint32)
            else:
                kk[:] = ei.view(np.uint32)
            kk *= ne
            kk += mi.view(np.uint32)
            kk *= npr
            kk += pi.view(np.uint32)
            at += m
            pending.put(pa.table([
                chunks["t"][x],
                pa.DictionaryArray.from_arrays(pa.array(ei), iso, safe=False),
                pa.DictionaryArray.from_arrays(pa.array(mi), iso, safe=False),
                pa.DictionaryArray.from_arrays(pa.array(pi), prod, safe=False),
                pa.array(v / 1000.0),  # thousand USD -> USD millions
                chunks["q"][x],
            ], schema=schema))
    except BaseException:
        pending.put(None)
        th.join()
        raise
    pending.put(None)
    if ny == 1:
        year_present[0] = True
    if ok:
        key.sort()
        ok = not (n > 1 and bool((key[1:] == key[:-1]).any()))
    del key
    th.join()
    if failed:
        raise failed[0]
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
