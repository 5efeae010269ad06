"""What every loader shares: reading a CSV header, typed streaming reads through DuckDB, errors.

A loader turns one user file into SQL producing canonical rows. The store runs that SQL
(:mod:`tradepact.ledger.store`). Two shapes:

* ``direct`` (row-preserving, one output, no filtering — BACI): the canonical SQL runs straight
  over ``read_csv`` and is copied to Parquet in one pass; DuckDB preserves row order, so the data
  row of a Parquet row is its ``file_row_number + 1``.
* staged (everything else): the typed file is first copied as-is to a raw Parquet file; the
  loader's SQL runs over the relation ``raw`` (the raw columns plus ``_row``, the 1-based data
  row) and yields canonical columns plus ``_row`` and ``_drop`` (null = keep, else the reason the
  row is dropped, counted in the import report).
"""
from __future__ import annotations

import csv
import math
import io
import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from tradepact import countries
from tradepact.errors import DataFormatError

TYPE_TEXT = {
    "INTEGER": "an integer", "BIGINT": "an integer", "DOUBLE": "a number", "VARCHAR": "text",
}


@dataclass
class Output:
    """One canonical table produced from a file: ``table`` name and the SELECT producing it."""

    table: str
    sql: str


@dataclass
class Prepared:
    """A file ready to import: its outputs, the user's names of canonical fields, and options."""

    path: Path
    dataset: str
    outputs: list[Output]
    fields: dict[str, str]
    direct: bool = False
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class CsvLayout:
    """The header of a CSV file as found: column names (as written), delimiter, encoding."""

    path: Path
    columns: list[str]
    delimiter: str
    encoding: str = "utf-8"
    #: the file already read into memory (Parquet, Excel): the store scans this frame instead of the CSV text
    frame: Any = None

    def find(self, name: str, case_insensitive: bool = False) -> str | None:
        """The column as written in the file matching ``name`` (None if absent)."""
        if name in self.columns:
            return name
        if case_insensitive:
            low = {c.lower(): c for c in self.columns}
            return low.get(name.lower())
        return None


def read_header(path: Path) -> CsvLayout:
    """Read the first line of a CSV file: column names and delimiter (comma, tab, semicolon, pipe)."""
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, None, None, "an existing CSV file", str(path), message="file not found")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic == b"PAR1" or path.suffix.lower() in (".parquet", ".dta", ".xlsx", ".xls", ".zip", ".gz", ".7z"):
        raise DataFormatError(path, None, None, "a CSV text file (unzip or export it to CSV first)",
                              path.suffix or magic.decode("latin-1"), message="not a CSV file")
    try:
        with open(path, "r", encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except UnicodeDecodeError:
        raise DataFormatError(path, None, None, "UTF-8 text", "undecodable bytes in the header",
                              message="not a CSV text file") from None
    if not first.strip():
        raise DataFormatError(path, None, None, "a header line with column names", "an empty file",
                              message="empty file")
    delim = max([",", "\t", ";", "|"], key=first.count)
    cols = next(csv.reader(io.StringIO(first), delimiter=delim))
    cols = [c.strip() for c in cols]
    return CsvLayout(path, cols, delim)


def require_columns(layout: CsvLayout, required: list[str], case_insensitive: bool = False) -> dict[str, str]:
    """Map each required canonical column name to the file's column; raise on the first missing one."""
    found: dict[str, str] = {}
    for name in required:
        col = layout.find(name, case_insensitive)
        if col is None:
            raise DataFormatError(layout.path, None, name, f"a column '{name}'",
                                  ",".join(layout.columns), message="missing column")
        found[name] = col
    return found


def column_types(layout: CsvLayout, *known: Mapping[str, str]) -> dict[str, str]:
    """DuckDB types for every column of ``layout``: those named in ``known`` mappings, others VARCHAR."""
    t = {c: "VARCHAR" for c in layout.columns}
    for mapping in known:
        t.update({c: v for c, v in mapping.items() if c in layout.columns})
    return t


def sql_str(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


#: Marker of the error raised inside DuckDB when an integer column holds a fractional number.
NOT_INTEGER = "tradepact:not-an-integer:"
_INTEGER_TYPES = ("INTEGER", "BIGINT")


def read_csv_sql(layout: CsvLayout, types: Mapping[str, str], rejects: str, *,
                 rename: Mapping[str, str] | None = None, nullstr: list[str] | None = None) -> str:
    """``read_csv(...)`` over ``layout.path`` with explicit column names and types.

    ``types`` maps the file's column names to DuckDB types (others are read as VARCHAR);
    ``rename`` gives the name a column gets in SQL (default: as written). Rows that fail to parse
    go to the rejects table ``rejects`` (checked by :func:`raise_rejects`). Integer columns are
    parsed as numbers and a fractional value stops the query with :data:`NOT_INTEGER` and the
    column's name (DuckDB would otherwise round ``2016.5`` to 2017 silently); see
    :func:`raise_not_integer`.
    """
    rename = rename or {}
    ints = [rename.get(c, c) for c in layout.columns if str(types.get(c, "")).upper() in _INTEGER_TYPES]
    read_type = {c: ("DOUBLE" if str(types.get(c, "")).upper() in _INTEGER_TYPES else types.get(c, "VARCHAR"))
                 for c in layout.columns}
    cols = ", ".join(f"{sql_str(rename.get(c, c))}: {sql_str(read_type[c])}" for c in layout.columns)
    nulls = f"nullstr=[{', '.join(sql_str(x) for x in nullstr)}], " if nullstr else ""
    scan = (f"read_csv({sql_str(str(layout.path))}, header=true, delim={sql_str(layout.delimiter)}, {nulls}"
            f"quote='\"', columns={{{cols}}}, auto_detect=false, strict_mode=true, "
            f"store_rejects=true, rejects_table={sql_str(rejects)}, rejects_scan={sql_str(rejects + '_scan')})")
    if not ints:
        return scan
    back = {rename.get(c, c): c for c in layout.columns}
    casts = []
    for c in ints:
        q = '"' + c.replace('"', '""') + '"'
        typ = str(types.get(back[c])).upper()
        casts.append(f"CASE WHEN {q} IS NULL OR {q} = trunc({q}) THEN {q}::{typ} "
                     f"ELSE error({sql_str(NOT_INTEGER + back[c])}) END AS {q}")
    return f"(SELECT * REPLACE ({', '.join(casts)}) FROM {scan})"


def raise_not_integer(exc: Exception, layout: CsvLayout) -> None:
    """Turn DuckDB's :data:`NOT_INTEGER` error into a DataFormatError naming file, row and field.

    The row is found by streaming the file once (only on this error path). Returns if ``exc`` is
    another error.
    """
    text = str(exc)
    if NOT_INTEGER not in text:
        return
    column = text.split(NOT_INTEGER, 1)[1].split("\n", 1)[0].strip().strip("'\"")
    if column not in layout.columns:
        return
    idx = layout.columns.index(column)
    with open(layout.path, "r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=layout.delimiter)
        next(reader, None)
        for row, line in enumerate(reader, start=1):
            value = line[idx].strip() if idx < len(line) else ""
            try:
                number = float(value)
            except ValueError:
                continue
            if math.isfinite(number) and number != int(number):
                raise DataFormatError(layout.path, row, column, "an integer", value,
                                      message="fractional value in an integer column") from None
    raise DataFormatError(layout.path, None, column, "an integer", None,
                          message="fractional value in an integer column") from None


def raise_rejects(con, rejects: str, layout: CsvLayout, types: Mapping[str, str],
                  rename: Mapping[str, str] | None = None) -> None:
    """Raise :class:`DataFormatError` for the first line DuckDB could not parse, if any."""
    hit = con.execute(
        f"SELECT line, column_idx, column_name, error_type, csv_line, error_message FROM {rejects} "
        f"ORDER BY line, column_idx LIMIT 1").fetchone()
    if hit is None:
        return
    line, col_idx, col_name, err_type, csv_line, message = hit
    back = {v: k for k, v in (rename or {}).items()}
    user_col = back.get(col_name, col_name)
    row = int(line) - 1
    if str(err_type).upper() == "CAST":
        got = _field_of(csv_line, layout.delimiter, col_idx)
        expected = TYPE_TEXT.get(str(types.get(user_col, "VARCHAR")).upper(), str(types.get(user_col)))
        raise DataFormatError(layout.path, row, user_col, expected, got, message="non-numeric value")
    raise DataFormatError(layout.path, row, user_col, f"{len(layout.columns)} fields per line",
                          csv_line, message=f"malformed line ({str(err_type).lower()})")


def _field_of(line: str | None, delim: str, col_idx: int | None) -> str | None:
    if line is None or col_idx is None:
        return line
    try:
        parts = next(csv.reader(io.StringIO(line), delimiter=delim))
        return parts[int(col_idx) - 1]
    except (StopIteration, IndexError, ValueError):
        return line


def raw_value(layout: CsvLayout, row: int, column: str) -> str | None:
    """The text of ``column`` in 1-based data ``row`` as written in the file (streams to the row)."""
    if column not in layout.columns:
        return None
    if layout.frame is not None:
        return None if not 1 <= row <= len(layout.frame) else str(layout.frame[column].iloc[row - 1])
    idx = layout.columns.index(column)
    with open(layout.path, "r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=layout.delimiter)
        line = next(itertools.islice(reader, row, row + 1), None)
    return None if line is None or idx >= len(line) else line[idx]


def iso3_lookup_sql() -> str:
    """SELECT of (code, iso3) for every accepted code and legacy code (register as a small table)."""
    pairs = {c: c for c in countries.iso3_codes()}
    pairs.update(countries.LEGACY_CODES)
    values = ", ".join(f"({sql_str(k)}, {sql_str(v)})" for k, v in sorted(pairs.items()))
    return f"SELECT * FROM (VALUES {values}) AS t(code, iso3)"


def code_sql(col: str, table: str = "_iso") -> str:
    """SQL mapping a text country-code column to ISO3 via the lookup table; unknown -> '?code'."""
    return (f"coalesce((SELECT iso3 FROM {table} WHERE code = upper(trim({col}))), "
            f"'?' || coalesce({col}, ''))")


_NES = re.compile(r"^[A-Z]\d{2}$")


def nes_area_sql(col: str) -> str:
    """SQL predicate: a UN 'not elsewhere specified' area code (E19, F49, ...) that is not accepted."""
    accepted = ", ".join(sql_str(c) for c in sorted(countries.iso3_codes()) if _NES.match(c))
    return f"(regexp_full_match({col}, '[A-Z][0-9]{{2}}') AND {col} NOT IN ({accepted or sql_str('')}))"


def frame_layout(path: Path, frame) -> CsvLayout:
    """A layout over a file read into a DataFrame (Parquet, Excel); data rows are numbered from 1."""
    return CsvLayout(Path(path), [str(c) for c in frame.columns], "", frame=frame)


def read_table(path: Path, what: str):
    """Read a Parquet or CSV file into a DataFrame (DataFormatError naming the file if unreadable)."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, None, None, f"an existing {what}", str(path), message="file not found")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic == b"PAR1":
            return pd.read_parquet(path)
        return pd.read_csv(path, low_memory=False)
    except (OSError, ValueError) as exc:
        raise DataFormatError(path, None, None, what, type(exc).__name__, message=f"unreadable file ({exc})") from None
