"""UN Comtrade bulk/API CSV, as returned by ``comtradeapicall`` (``getFinalData`` / bulk files).

Columns (all kept in the raw stage; the ones used are marked *): ``typeCode, freqCode*,
refPeriodId, refYear*, refMonth, period, reporterCode*, reporterISO*, reporterDesc, flowCode*,
flowDesc, partnerCode*, partnerISO*, partnerDesc, partner2Code*, partner2ISO,
classificationCode*, cmdCode*, cmdDesc, aggrLevel*, isLeaf, customsCode*, mosCode, motCode*,
qtyUnitCode*, qtyUnitAbbr*, qty*, isQtyEstimated, altQtyUnitCode, altQty, netWgt, grossWgt,
cifvalue, fobvalue, primaryValue*, legacyEstimationFlag, isReported, isAggregate``.

* ``primaryValue`` is in USD (stored / 1e6 as USD millions); ``qty`` in ``qtyUnitAbbr``.
* ``flowCode`` ``M`` (imports of the reporter): exporter = partner, importer = reporter,
  ``flow_source = reported``; ``X`` (exports): exporter = reporter, importer = partner,
  ``flow_source = mirror`` (the exporter's declaration, see :mod:`tradepact.ledger.schema`).
* ``classificationCode`` ``H0``..``H6`` is the HS revision; ``cmdCode`` the HS code or ``TOTAL``.
* Annual data only (``freqCode = A``).

Rows dropped (counted, with their reason): partner World (``partnerCode 0``/``W00``), partner
areas not elsewhere specified, flows other than M/X (re-exports, re-imports...), second-partner,
customs-procedure and mode-of-transport breakdowns, and rows coarser than the finest product level
present for the same reporter, partner, flow and year (so totals are not counted twice).
"""
from __future__ import annotations

from tradepact.ledger.sources._base import CsvLayout, Output, Prepared, code_sql, nes_area_sql, require_columns, sql_str

NAME = "comtrade"
TABLES = ("goods",)
REQUIRED = {
    "freqCode": "VARCHAR", "refYear": "INTEGER", "reporterCode": "INTEGER", "reporterISO": "VARCHAR",
    "flowCode": "VARCHAR", "partnerCode": "INTEGER", "partnerISO": "VARCHAR",
    "classificationCode": "VARCHAR", "cmdCode": "VARCHAR", "primaryValue": "DOUBLE",
}
OPTIONAL = {
    "partner2Code": "INTEGER", "customsCode": "VARCHAR", "motCode": "INTEGER", "aggrLevel": "INTEGER",
    "qtyUnitCode": "INTEGER", "qtyUnitAbbr": "VARCHAR", "qty": "DOUBLE", "typeCode": "VARCHAR",
    "refPeriodId": "BIGINT", "refMonth": "INTEGER", "period": "VARCHAR",
}
FIELDS = {"year": "refYear", "exporter": "reporterISO", "importer": "partnerISO", "product": "cmdCode", "hs_rev": "classificationCode", "value": "primaryValue",
          "quantity": "qty", "unit": "qtyUnitAbbr", "flow_source": "flowCode"}


def types_for(layout: CsvLayout) -> dict[str, str]:
    t = {c: "VARCHAR" for c in layout.columns}
    t.update({c: v for c, v in {**REQUIRED, **OPTIONAL}.items() if c in layout.columns})
    return t


def prepare(layout: CsvLayout, *, source: str | None = None, **_: object) -> Prepared:
    require_columns(layout, list(REQUIRED))
    cols = set(layout.columns)
    src = source or "UN Comtrade"

    def opt(col: str, default: str) -> str:
        return col if col in cols else default

    partner2 = opt("partner2Code", "0")
    customs = opt("customsCode", "'C00'")
    mot = opt("motCode", "0")
    cmd = "trim(cmdCode)"
    product = (f"CASE WHEN upper({cmd}) = 'TOTAL' THEN 'TOTAL' "
               f"WHEN regexp_full_match({cmd}, '[0-9]+') AND length({cmd}) % 2 = 1 THEN '0' || {cmd} "
               f"ELSE {cmd} END")
    level = opt("aggrLevel", f"CASE WHEN upper({cmd}) = 'TOTAL' THEN 0 ELSE length({cmd}) END")
    qty_ok = "qtyUnitCode IS NOT NULL AND qtyUnitCode <> -1" if "qtyUnitCode" in cols else "true"
    quantity = f"CASE WHEN {qty_ok} THEN qty END" if "qty" in cols else "NULL::DOUBLE"
    unit = f"CASE WHEN {qty_ok} THEN qtyUnitAbbr END" if "qtyUnitAbbr" in cols else "NULL::VARCHAR"
    flow = "upper(trim(flowCode))"
    reporter = code_sql("reporterISO")
    partner = code_sql("partnerISO")
    part = "upper(trim(partnerISO))"
    sql = f"""
        WITH c AS (
            SELECT *,
                   {flow} AS _flow,
                   {level} AS _level,
                   CASE
                     WHEN upper(trim(freqCode)) <> 'A' THEN '!freq'
                     WHEN partnerCode = 0 OR {part} = 'W00' THEN 'partner is the World aggregate'
                     WHEN {nes_area_sql(part)} THEN 'partner area not elsewhere specified'
                     WHEN {flow} NOT IN ('M', 'X') THEN 'flow other than imports/exports (' || {flow} || ')'
                     WHEN coalesce({partner2}, 0) <> 0 THEN 'second-partner breakdown (partner2Code != 0)'
                     WHEN coalesce({customs}, 'C00') <> 'C00' THEN 'customs-procedure breakdown (customsCode != C00)'
                     WHEN coalesce({mot}, 0) <> 0 THEN 'mode-of-transport breakdown (motCode != 0)'
                   END AS _pre
            FROM raw
        ), k AS (
            SELECT *,
                   CASE WHEN _pre IS NULL AND _level < max(_level) FILTER (WHERE _pre IS NULL)
                          OVER (PARTITION BY reporterISO, partnerISO, _flow, refYear)
                        THEN 'coarser product level than other rows of the same reporter, partner, flow and year'
                        ELSE _pre END AS _drop0,
                   {reporter} AS _reporter,
                   {partner} AS _partner
            FROM c
        )
        SELECT refYear AS year,
               CASE WHEN _flow = 'X' THEN _reporter ELSE _partner END AS exporter,
               CASE WHEN _flow = 'X' THEN _partner ELSE _reporter END AS importer,
               {product} AS product,
               CASE WHEN upper(trim(classificationCode)) IN ('H0','H1','H2','H3','H4','H5','H6')
                    THEN upper(trim(classificationCode)) ELSE '?' || classificationCode END AS hs_rev,
               primaryValue / 1e6 AS value,
               {quantity} AS quantity,
               {unit} AS unit,
               {sql_str(src)} || ' (reporter ' || coalesce(reporterISO, '') || ')' AS source,
               true AS confirmed,
               CASE WHEN _flow = 'M' THEN 'reported' ELSE 'mirror' END AS flow_source,
               {sql_str(NAME)} AS dataset,
               _row,
               _drop0 AS _drop,
               _reporter,
               _partner
        FROM k
    """
    known = "a known country code (ISO3, a declared region or special area)"
    return Prepared(layout.path, NAME, [Output("goods", sql)], dict(FIELDS),
                    info={"types": types_for(layout), "checks": [
                        ("freqCode", "_drop = '!freq'", "A (annual data)"),
                        ("reporterISO", "starts_with(_reporter, '?')", known),
                        ("partnerISO", "_drop IS NULL AND starts_with(_partner, '?')", known),
                    ]})
