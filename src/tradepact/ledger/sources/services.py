"""Services trade by partner, BaTIS/EBOPS style: ``reporter, partner, year, flow, item, value``.

* ``reporter``/``partner`` ISO3 codes (legacy codes normalized); ``value`` in **USD millions**.
* ``flow``: ``X``/``exports``/``credit`` -> exporter = reporter, importer = partner,
  ``flow_source = mirror`` (the exporter's declaration); ``M``/``imports``/``debit`` -> exporter =
  partner, importer = reporter, ``flow_source = reported`` (see :mod:`tradepact.ledger.schema`).
* ``item``: EBOPS 2010 code (``S`` total services, ``SA``..``SL`` main components, ...).
* Rows with partner World (``WLD``/``W00``/``W1``) are dropped and counted.
"""
from __future__ import annotations

from tradepact.ledger.sources._base import CsvLayout, Output, Prepared, code_sql, require_columns, sql_str

NAME = "services"
TABLES = ("services",)
REQUIRED = {"reporter": "VARCHAR", "partner": "VARCHAR", "year": "INTEGER", "flow": "VARCHAR",
            "item": "VARCHAR", "value": "DOUBLE"}
FIELDS = {"year": "year", "exporter": "reporter", "importer": "partner", "item": "item", "value": "value",
          "flow_source": "flow"}
EXPORT_WORDS = ("X", "EXPORT", "EXPORTS", "CREDIT", "CR", "C")
IMPORT_WORDS = ("M", "IMPORT", "IMPORTS", "DEBIT", "DB", "DR", "D")


def prepare(layout: CsvLayout, *, source: str | None = None, **_: object) -> Prepared:
    found = require_columns(layout, list(REQUIRED), case_insensitive=True)
    types = {c: "VARCHAR" for c in layout.columns}
    rename = {c: c.lower() for c in layout.columns}
    for name, col in found.items():
        types[col] = REQUIRED[name]
    src = source or "services by partner (BaTIS/EBOPS 2010)"
    xs = ", ".join(sql_str(w) for w in EXPORT_WORDS)
    ms = ", ".join(sql_str(w) for w in IMPORT_WORDS)
    flow = "upper(trim(flow))"
    sql = f"""
        WITH c AS (
            SELECT *, CASE WHEN {flow} IN ({xs}) THEN 'X' WHEN {flow} IN ({ms}) THEN 'M' END AS _flow,
                   {code_sql('reporter')} AS _reporter, {code_sql('partner')} AS _partner
            FROM raw
        )
        SELECT year,
               CASE WHEN _flow = 'X' THEN _reporter ELSE _partner END AS exporter,
               CASE WHEN _flow = 'X' THEN _partner ELSE _reporter END AS importer,
               upper(trim(item)) AS item,
               value,
               {sql_str(src)} AS source,
               true AS confirmed,
               CASE WHEN _flow = 'X' THEN 'mirror' ELSE 'reported' END AS flow_source,
               {sql_str(NAME)} AS dataset,
               _row,
               CASE WHEN upper(trim(partner)) IN ('WLD', 'W00', 'W1', 'WORLD') THEN 'partner is the World aggregate'
               END AS _drop,
               _flow, _reporter, _partner
        FROM c
    """
    known = "a known country code (ISO3, a declared region or special area)"
    fields = {k: found.get(v, v) for k, v in FIELDS.items()}
    return Prepared(layout.path, NAME, [Output("services", sql)], fields,
                    info={"types": types, "rename": rename, "checks": [
                        (found["flow"], "_flow IS NULL", "X or M (exports/imports, credit/debit)"),
                        (found["reporter"], "starts_with(_reporter, '?')", known),
                        (found["partner"], "_drop IS NULL AND starts_with(_partner, '?')", known),
                    ]})
