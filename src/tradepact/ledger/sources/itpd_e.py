"""USITC ITPD-E (International Trade and Production Database for Estimation).

Columns: ``exporter_iso3, exporter_name, importer_iso3, importer_name, year, industry_id,
industry_descr, broad_sector, trade, flag_mirror, flag_zero``; ``trade`` in **million** USD
(stored as is). Domestic flows (exporter == importer, production minus exports) are part of the
data set and kept.

* Industries are not HS products: ``product = 'ITPD-E:<industry_id>'`` with ``hs_rev`` null.
* Rows whose ``broad_sector`` is ``Services`` go to the services table (``item =
  'ITPD-E:<industry_id>'``); agriculture, mining & energy and manufacturing go to goods.
* ``flag_mirror = 1`` (value taken from the exporter's report) -> ``flow_source = mirror``.
* Zero flows (``flag_zero`` ``r`` reported zero, ``u`` missing) are kept and counted in the report.
"""
from __future__ import annotations

from tradepact.ledger.sources._base import CsvLayout, Output, Prepared, code_sql, require_columns, sql_str

NAME = "itpd-e"
TABLES = ("goods", "services")
REQUIRED = {"exporter_iso3": "VARCHAR", "importer_iso3": "VARCHAR", "year": "INTEGER",
            "industry_id": "INTEGER", "broad_sector": "VARCHAR", "trade": "DOUBLE"}
OPTIONAL = {"flag_mirror": "INTEGER", "flag_zero": "VARCHAR"}
FIELDS = {"year": "year", "exporter": "exporter_iso3", "importer": "importer_iso3", "product": "industry_id",
          "item": "industry_id", "value": "trade", "flow_source": "flag_mirror"}


def types_for(layout: CsvLayout) -> dict[str, str]:
    t = {c: "VARCHAR" for c in layout.columns}
    t.update({c: v for c, v in {**REQUIRED, **OPTIONAL}.items() if c in layout.columns})
    return t


def prepare(layout: CsvLayout, *, source: str | None = None, **_: object) -> Prepared:
    require_columns(layout, list(REQUIRED))
    src = source or "USITC ITPD-E"
    mirror = "coalesce(flag_mirror, 0) = 1" if "flag_mirror" in layout.columns else "false"
    base = f"""
        SELECT year,
               {code_sql('exporter_iso3')} AS exporter,
               {code_sql('importer_iso3')} AS importer,
               'ITPD-E:' || industry_id::VARCHAR AS code,
               trade AS value,
               {sql_str(src)} AS source,
               true AS confirmed,
               CASE WHEN {mirror} THEN 'mirror' ELSE 'reported' END AS flow_source,
               {sql_str(NAME)} AS dataset,
               _row,
               lower(trim(broad_sector)) = 'services' AS _services
        FROM raw
    """
    goods = f"""
        SELECT year, exporter, importer, code AS product, NULL::VARCHAR AS hs_rev, value,
               NULL::DOUBLE AS quantity, NULL::VARCHAR AS unit, source, confirmed, flow_source, dataset,
               _row, CASE WHEN _services THEN '>services table' END AS _drop
        FROM ({base})
    """
    services = f"""
        SELECT year, exporter, importer, code AS item, value, source, confirmed, flow_source, dataset,
               _row, CASE WHEN NOT _services THEN '>goods table' END AS _drop
        FROM ({base})
    """
    return Prepared(layout.path, NAME, [Output("goods", goods), Output("services", services)], dict(FIELDS),
                    info={"types": types_for(layout), "split": True})
