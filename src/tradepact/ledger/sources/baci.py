"""CEPII BACI: ``BACI_HS92_Y2015_V202401b.csv`` with columns ``t,i,j,k,v,q``.

* ``t`` year; ``i`` exporter and ``j`` importer as BACI numeric country codes, resolved through
  BACI's ``country_codes_V*.csv`` (columns ``country_code,country_name,country_iso2,country_iso3``;
  older releases ``country_code,country_name_abbreviation,country_name_full,iso_2digit_alpha,
  iso_3digit_alpha`` are read too), found beside the data file unless given;
* ``k`` HS6 product of the release's revision (HS92 -> H0 ... HS22 -> H6, from the file name unless
  given); an integer, written without its leading zero in recent releases (``10121`` = ``010121``);
* ``v`` value in **thousand** USD (stored / 1000 as USD millions); ``q`` quantity in metric tonnes
  (``NA`` when unknown).

BACI flows are reconciled from both partners' declarations, so ``flow_source`` is ``reported``.
Two paths write the same rows: the fast paths (:mod:`tradepact.ledger.sources.baci_fast`: a
compiled parser of plain BACI lines for large files, else a multi-threaded typed Arrow read; checks
on typed arrays, dictionary-encoded Parquet) accept a file only if every rule holds; anything else
goes through the general path (one streaming DuckDB pass
``read_csv`` with explicit types -> Parquet, then validation scans), which reports the first
offending row. Columns that are the same on every row of a BACI file (hs_rev, unit, source,
confirmed, flow_source, dataset) are kept in the store's manifest, not repeated on 10 million
rows; the store's ``goods`` view adds them.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

from tradepact import countries
from tradepact.errors import ConfigError, DataFormatError, check_choice
from tradepact.ledger.sources._base import CsvLayout, Output, Prepared, require_columns, sql_str

NAME = "baci"
TABLES = ("goods",)
#: ``q`` is read as text: BACI writes unknown quantities as ``NA``, space-padded in recent releases
#: (``           NA``); a cast per row is cheaper than matching many padded null strings.
TYPES = {"t": "INTEGER", "i": "INTEGER", "j": "INTEGER", "k": "INTEGER", "v": "DOUBLE", "q": "VARCHAR"}
FIELDS = {"year": "t", "exporter": "i", "importer": "j", "product": "k", "value": "v", "quantity": "q"}
HS_NAMES = {"92": "H0", "96": "H1", "02": "H2", "07": "H3", "12": "H4", "17": "H5", "22": "H6"}
_FILE_RE = re.compile(r"BACI_HS(\d{2})_Y\d{4}_V(\w+)", re.IGNORECASE)


def hs_rev_from_name(path: Path) -> tuple[str | None, str | None]:
    """(hs_rev, version) from a BACI file name such as ``BACI_HS92_Y2015_V202401b.csv``."""
    m = _FILE_RE.search(Path(path).name)
    if not m:
        return None, None
    return HS_NAMES.get(m.group(1)), m.group(2)


def find_country_codes(path: Path) -> Path:
    """The ``country_codes_V*.csv`` beside a BACI data file (newest by name)."""
    hits = sorted(Path(path).parent.glob("country_codes_V*.csv"))
    if not hits:
        raise ConfigError(f"no country_codes_V*.csv beside {path}; pass --country-codes FILE "
                          f"(BACI's country code list)")
    return hits[-1]


def read_country_codes(path: Path) -> dict[int, str | None]:
    """BACI numeric code -> ISO3 (normalized through :mod:`tradepact.countries`; None if unknown)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"country code file not found: {path}")
    with open(path, "r", encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        cols = reader.fieldnames or []
        iso_col = next((c for c in ("country_iso3", "iso_3digit_alpha") if c in cols), None)
        if "country_code" not in cols or iso_col is None:
            raise DataFormatError(path, None, "country_iso3", "columns country_code and country_iso3",
                                  ",".join(cols), message="missing column")
        out: dict[int, str | None] = {}
        for n, rec in enumerate(reader, start=1):
            try:
                code = int(str(rec["country_code"]).strip())
            except ValueError:
                raise DataFormatError(path, n, "country_code", "an integer", rec["country_code"]) from None
            iso = (rec[iso_col] or "").strip()
            out[code] = _iso3(iso)
    return out


def _iso3(code: str) -> str | None:
    """An ISO3 code as accepted by tradepact (legacy codes mapped), None if unknown."""
    up = code.upper()
    if up in countries.iso3_codes():
        return up
    return countries.LEGACY_CODES.get(up)


def write_synthetic(path: Path, rows: int, year: int = 2015, seed: int = 0, order: str = "baci") -> Path:
    """Write a BACI-layout file of ``rows`` unique flows (for benchmarks and tests) plus its codes file.

    The flows are the first ``rows`` of (product, importer, exporter) over 220 real countries (ISO
    numeric codes) and HS6 codes ``010110, 010120, ...``; ``v`` (thousand USD) has three decimals,
    ``q`` (tonnes) is ``NA`` (space-padded as in recent releases) for one row in ten, as in BACI.
    ``order="baci"`` writes them in BACI's own row order, sorted by (t, i, j, k) as numbers;
    ``order="product"`` writes the same rows ordered by (k, j, i) instead (an unsorted file for
    the importer's duplicate check). Written by DuckDB in a streaming pass. Returns the data file path.
    """
    import duckdb

    check_choice("order", order, ("baci", "product"))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    num = sorted((n, c) for n, c in countries.numeric_to_iso3().items() if 0 < n < 900)[:220]
    codes_file = path.parent / "country_codes_V202401b.csv"
    with open(codes_file, "w") as fh:
        fh.write("country_code,country_name,country_iso2,country_iso3\n")
        for n, c in num:
            fh.write(f"{n},{countries.name(c).replace(',', ' ')},NA,{c}\n")
    nc = len(num)
    lst = "[" + ", ".join(str(n) for n, _ in num) + "]"
    sort = "ORDER BY t, i, j, k" if order == "baci" else ""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute("SET preserve_insertion_order = true")
    con.execute(f"""
        COPY (
            SELECT t, i, j, k, v, q FROM (
                SELECT {int(year)} AS t,
                       {lst}[(range % {nc}) + 1] AS i,
                       {lst}[((range // {nc}) % {nc}) + 1] AS j,
                       (10110 + 10 * (range // {nc * nc}))::INTEGER AS k,
                       round(1 + ((hash(range, {int(seed)}) % 100000000) / 1000.0), 3) AS v,
                       CASE WHEN range % 10 = 0 THEN '           NA'
                            ELSE printf('%.3f', (hash(range, {int(seed) + 1}) % 1000000) / 1000.0) END AS q
                FROM range({int(rows)})
            ) {sort}
        ) TO {sql_str(str(path))} (HEADER, DELIMITER ',', QUOTE '')
    """)
    con.close()
    return path


def prepare(layout: CsvLayout, *, country_codes: Path | None = None, hs_rev: str | None = None,
            source: str | None = None, **_: object) -> Prepared:
    require_columns(layout, list(TYPES))
    rev, version = hs_rev_from_name(layout.path)
    rev = hs_rev or rev
    if rev is None:
        raise ConfigError(f"cannot tell the HS revision of {layout.path.name} from its name "
                          f"(expected BACI_HS92_Y2015_V202401b.csv style); pass --hs-rev H0..H6")
    codes_file = Path(country_codes) if country_codes else find_country_codes(layout.path)
    codes = read_country_codes(codes_file)
    top = max([c for c in codes if c >= 0] + [0])
    known = sorted({iso for iso in codes.values() if iso})
    # Country codes become an ENUM (written to Parquet as dictionary-encoded ISO3 text): a list
    # lookup by BACI code, no string built per row. Unknown codes give NULL (reported as i/j).
    enum = "_baci_iso3"
    setup = [f"DROP TYPE IF EXISTS {enum}",
             f"CREATE TYPE {enum} AS ENUM ({', '.join(sql_str(c) for c in known) or sql_str('USA')})"]
    lst = ["NULL"] * (top + 1)
    for c, iso in codes.items():
        if c >= 0 and iso:
            lst[c] = sql_str(iso)
    lookup = f"CAST([{', '.join(lst)}] AS {enum}[])"
    hs_label = {v: k for k, v in HS_NAMES.items()}.get(rev, rev)
    src = source or f"CEPII BACI HS{hs_label}" + (f" V{version}" if version else "")

    def country(col: str) -> str:
        return f"CASE WHEN {col} BETWEEN 0 AND {top} THEN {lookup}[{col} + 1] END"

    constants = {"hs_rev": rev, "unit": "t", "source": src, "confirmed": True, "flow_source": "reported",
                 "dataset": NAME}
    sql = f"""
        SELECT t AS year,
               {country('i')} AS exporter,
               {country('j')} AS importer,
               CASE WHEN k BETWEEN 0 AND 999999 THEN lpad(k::VARCHAR, 6, '0') ELSE k::VARCHAR END AS product,
               v / 1000.0 AS value,
               coalesce(TRY_CAST(q AS DOUBLE),
                        CASE WHEN q IS NULL OR trim(q) IN ('', 'NA') THEN NULL ELSE 'NaN'::DOUBLE END) AS quantity
        FROM raw
    """
    country_ok = f"a BACI country code listed in {codes_file.name} with a known ISO3 code"
    checks = [("i", "exporter IS NULL", country_ok), ("j", "importer IS NULL", country_ok),
              ("k", "length(product) <> 6 OR product < '01'", "a 6-digit HS code")]
    def fast(target: Path, tick=None) -> dict | None:
        from tradepact.ledger.sources import baci_fast

        return baci_fast.stage(layout, codes, target, tick)

    return Prepared(layout.path, NAME, [Output("goods", sql)], dict(FIELDS), direct=True,
                    info={"fast": fast, "types": TYPES, "country_codes": str(codes_file), "hs_rev": rev, "constants": constants,
                          "checks": checks, "verified": ("product", "exporter", "importer"), "setup": setup})
