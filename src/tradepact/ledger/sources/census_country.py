"""US Census Bureau "U.S. Trade in Goods by Country" (``country.xlsx``, the annual-and-monthly country file).

One sheet: ``year, CTY_CODE, CTYNAME``, imports by month ``IJAN..IDEC`` and year ``IYR``, exports
``EJAN..EDEC`` and ``EYR``, in **USD millions** (exports f.a.s., general imports customs value, Census
basis). Written to three tables, the US as one side of every flow:

* goods (annual): US exports (``USA -> partner``, the exporter's declaration: ``flow_source = 'mirror'``)
  and imports (``partner -> USA``, ``reported``), ``product = 'CENSUS:TOTAL'``;
* goods_monthly: the same by month;
* groups: Census groupings (codes below 1000: European Union, CAFTA-DR, Pacific Rim, World...), kept
  apart from countries, ``month`` 0 for the year.

Partners are mapped to ISO3 from their names (country_converter), with :data:`CODE_ISO3` for names that
are ambiguous or historical; codes that map to the same ISO3 in a year are summed (Gaza Strip and West
Bank into PSE; Czechoslovakia's residual entries after 1993 into CZE). Unidentified countries,
international organisations and the Iraq-Saudi neutral zone are dropped and counted.

Months not yet published: in the last year of the file, months that are zero for every partner
(September-December 2024 in the copy in ``../shared/data``) are not stored as zero trade: monthly rows
are left out, that year's annual rows are stored with ``confirmed = False`` and a source saying which
months they cover, and the import report names the missing months.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tradepact import countries
from tradepact.errors import DataFormatError
from tradepact.ledger.sources._base import CsvLayout, Output, Prepared, frame_layout, require_columns, sql_str

NAME = "census-country"
TABLES = ("goods", "goods_monthly", "groups")
MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
REQUIRED = ["year", "CTY_CODE", "CTYNAME", "IYR", "EYR"] + [f"I{m}" for m in MONTHS] + [f"E{m}" for m in MONTHS]
#: Census codes whose names country_converter cannot place (or places wrongly)
CODE_ISO3 = {2771: "ANT", 4610: "SUN", 4790: "YUG", 4799: "SCG", 5082: "PSE", 5083: "PSE", 4350: "CZE"}
#: Census codes that are not a country: dropped with this reason
NOT_COUNTRY = {8220: "unidentified countries", 8500: "international organizations",
               5160: "Iraq-Saudi Arabia neutral zone (no country)"}
SOURCE = "US Census Bureau, U.S. Trade in Goods by Country (country.xlsx)"


def read_layout(path: Path) -> CsvLayout:
    path = Path(path)
    if not path.is_file():
        raise DataFormatError(path, None, None, "an existing Census country.xlsx workbook", str(path),
                              message="file not found")
    try:
        frame = pd.read_excel(path, engine="calamine")
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file for the user
        raise DataFormatError(path, None, None, "an Excel workbook (country.xlsx)", type(exc).__name__,
                              message=f"unreadable workbook ({exc})") from None
    layout = frame_layout(path, frame)
    require_columns(layout, REQUIRED)
    for col in REQUIRED[3:] + ["year", "CTY_CODE"]:
        num = pd.to_numeric(frame[col], errors="coerce")
        bad = num.isna() & frame[col].notna() | (num < 0)
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise DataFormatError(path, i + 1, col, "a non-negative number", frame[col].iloc[i])
        frame[col] = num
    code = frame["CTY_CODE"].astype("int64")
    names = frame["CTYNAME"].astype(str).str.strip()
    lookup = {n: countries.normalize(n) for n in pd.unique(names[code >= 1000])}
    iso = names.map(lookup)
    iso = pd.Series(code.map(CODE_ISO3), index=frame.index).fillna(iso)
    kind = np.where(code < 1000, "group", np.where(code.isin(list(NOT_COUNTRY)) | iso.isna(), "drop", "country"))
    frame["_iso3"] = iso.where(kind == "country")
    frame["_kind"] = kind
    frame["_why"] = [NOT_COUNTRY.get(int(c), f"partner name not mapped to ISO3: {n}") if k == "drop" else None
                     for c, n, k in zip(code, names, kind)]
    # months of the last year that no partner has data for are not yet published
    last = int(frame["year"].max())
    ly = frame[frame["year"] == last]
    missing = [m for m in MONTHS if float(ly[f"I{m}"].abs().sum() + ly[f"E{m}"].abs().sum()) == 0.0]
    frame["_published"] = 12
    frame.attrs["unpublished"] = (last, missing)
    return layout


def prepare(layout: CsvLayout, *, source: str | None = None, **_: object) -> Prepared:
    src = source or SOURCE
    last, missing = layout.frame.attrs.get("unpublished", (None, []))
    have = [m for m in MONTHS if m not in missing]
    partial = f"year = {last}" if missing else "false"
    span = f"{have[0].title()}-{have[-1].title()} only" if missing and have else ""
    src_sql = (f"CASE WHEN {partial} THEN {sql_str(src + f' ({span}; {last} not complete)')} "
               f"ELSE {sql_str(src)} END")
    routing = """
        SELECT _row, CASE WHEN _kind = 'drop' THEN 'not a country: ' || _why
                          WHEN _kind = 'group' THEN '>groups table' END AS _drop FROM raw
    """
    dirs = (("'USA'", "_iso3", "EYR", "E", "mirror"), ("_iso3", "'USA'", "IYR", "I", "reported"))
    annual = " UNION ALL ".join(
        f"SELECT year, {ex} AS exporter, {im} AS importer, {col} AS v, '{fs}' AS flow_source, _row FROM raw "
        f"WHERE _kind = 'country'" for ex, im, col, _, fs in dirs)
    goods = f"""
        SELECT CAST(year AS INTEGER) AS year, exporter, importer, 'CENSUS:TOTAL' AS product, NULL::VARCHAR AS hs_rev,
               sum(v) AS value, NULL::DOUBLE AS quantity, NULL::VARCHAR AS unit, {src_sql} AS source,
               NOT ({partial}) AS confirmed, flow_source, {sql_str(NAME)} AS dataset, min(_row) AS _row,
               NULL::VARCHAR AS _drop
        FROM ({annual}) GROUP BY year, exporter, importer, flow_source
    """
    monthly = " UNION ALL ".join(
        f"SELECT year, {i + 1} AS month, {ex} AS exporter, {im} AS importer, {p}{m} AS v, '{fs}' AS flow_source, _row "
        f"FROM raw WHERE _kind = 'country' AND NOT (year = {last or 0} AND {i + 1} IN ({', '.join(str(MONTHS.index(x) + 1) for x in missing) or '0'}))"
        for i, m in enumerate(MONTHS) for ex, im, _, p, fs in dirs)
    goods_m = f"""
        SELECT CAST(year AS INTEGER) AS year, month, exporter, importer, 'CENSUS:TOTAL' AS product, sum(v) AS value,
               {sql_str(src)} AS source, true AS confirmed, flow_source, {sql_str(NAME)} AS dataset,
               min(_row) AS _row, NULL::VARCHAR AS _drop
        FROM ({monthly}) GROUP BY year, month, exporter, importer, flow_source
    """
    gm = " UNION ALL ".join(
        [f"SELECT year, 0 AS month, CTY_CODE, CTYNAME, EYR AS e, IYR AS i, {partial} AS part, _row FROM raw WHERE _kind = 'group'"]
        + [f"SELECT year, {i + 1}, CTY_CODE, CTYNAME, E{m}, I{m}, false, _row FROM raw WHERE _kind = 'group' "
           f"AND NOT (year = {last or 0} AND {i + 1} IN ({', '.join(str(MONTHS.index(x) + 1) for x in missing) or '0'}))"
           for i, m in enumerate(MONTHS)])
    groups = f"""
        SELECT CAST(year AS INTEGER) AS year, month, 'USA' AS reporter, CAST(CAST(CTY_CODE AS BIGINT) AS VARCHAR) AS group_code,
               CTYNAME AS group_name, e AS exports, i AS imports,
               CASE WHEN part THEN {sql_str(src + f' ({span})')} ELSE {sql_str(src)} END AS source,
               NOT part AS confirmed, {sql_str(NAME)} AS dataset, _row, NULL::VARCHAR AS _drop
        FROM ({gm})
    """
    notes = ([f"{last}: {', '.join(m.title() for m in missing)} not yet published (zero for every partner in the file): "
              f"no monthly rows stored for them; {last} annual totals cover {span} and are marked unconfirmed"]
             if missing else [])
    fields = {"year": "year", "exporter": "CTYNAME", "importer": "CTYNAME", "value": "EYR", "month": "year"}
    return Prepared(layout.path, NAME, [Output("goods", goods), Output("goods_monthly", goods_m),
                                        Output("groups", groups)], fields,
                    info={"types": {}, "routing": routing, "notes": notes})
