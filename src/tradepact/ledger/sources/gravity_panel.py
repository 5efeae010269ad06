"""The structural-gravity panel of Yotov, Piermartini, Monteiro & Larch (2016), *An Advanced Guide
to Trade Policy Analysis* (``agtpa_applications``, ``Chapter1Application3.dta`` as CSV).

Columns: ``exporter, importer, pair_id, year, trade, dist, cntg, lang, clny, rta, rta_lag3,
rta_lag4, rta_lag6, rta_lag8, rta_lag9, rta_lag12, rta_lead4`` (upper-case names as in the book's
Stata files are accepted too). ``trade`` is aggregate manufacturing trade including domestic flows;
its magnitudes imply **USD millions** (the book's label says "current US dollars"; the unit is not
stated in the text), so rows are stored with ``confirmed = False``. Legacy codes are normalized
(``ROM`` -> ``ROU``).

Two tables are written: goods (``product = 'AGTPA:MANUF'``, ``hs_rev`` null) and gravity (every other
column: distance, contiguity, language, colony, RTA dummies and their lags/leads, pair id).
"""
from __future__ import annotations

import re

from tradepact.ledger.sources._base import CsvLayout, Output, Prepared, code_sql, require_columns, sql_str

NAME = "gravity-panel"
TABLES = ("goods", "gravity")
REQUIRED = {"exporter": "VARCHAR", "importer": "VARCHAR", "year": "INTEGER", "trade": "DOUBLE"}
INT_RE = re.compile(r"^(pair_id|cntg|contig|lang|comlang\w*|clny|colony|smctry|rta\w*|border\w*|\w*_dummy)$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def column_types(layout: CsvLayout) -> tuple[dict[str, str], dict[str, str]]:
    """(types by file column, SQL name by file column): covariates are BIGINT dummies/ids or DOUBLE."""
    types: dict[str, str] = {}
    rename: dict[str, str] = {}
    for c in layout.columns:
        low = c.lower()
        rename[c] = low
        if low in REQUIRED:
            types[c] = REQUIRED[low]
        elif INT_RE.match(low):
            types[c] = "BIGINT"
        else:
            types[c] = "DOUBLE"
    return types, rename


def prepare(layout: CsvLayout, *, source: str | None = None, **_: object) -> Prepared:
    found = require_columns(layout, list(REQUIRED), case_insensitive=True)
    types, rename = column_types(layout)
    src = source or "Yotov, Piermartini, Monteiro & Larch (2016), An Advanced Guide to Trade Policy Analysis"
    covariates = [rename[c] for c in layout.columns if rename[c] not in REQUIRED and _IDENT.match(rename[c])]
    goods = f"""
        SELECT year, {code_sql('exporter')} AS exporter, {code_sql('importer')} AS importer,
               'AGTPA:MANUF' AS product, NULL::VARCHAR AS hs_rev, trade AS value,
               NULL::DOUBLE AS quantity, NULL::VARCHAR AS unit, {sql_str(src)} AS source,
               false AS confirmed, 'reported' AS flow_source, {sql_str(NAME)} AS dataset,
               _row, NULL::VARCHAR AS _drop
        FROM raw
    """
    cov = "".join(f", {c}" for c in covariates)
    gravity = f"""
        SELECT year, {code_sql('exporter')} AS exporter, {code_sql('importer')} AS importer,
               {sql_str(NAME)} AS dataset{cov}, _row, NULL::VARCHAR AS _drop
        FROM raw
    """
    fields = {"year": found["year"], "exporter": found["exporter"], "importer": found["importer"],
              "value": found["trade"]}
    return Prepared(layout.path, NAME, [Output("goods", goods), Output("gravity", gravity)], fields,
                    info={"types": types, "rename": rename, "extra": {"gravity": covariates}})
