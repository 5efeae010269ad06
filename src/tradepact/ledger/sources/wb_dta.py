"""World trade × World Bank Deep Trade Agreements panel, in the layout of penppml's ``trade`` data
(``../shared/data/wb_trade_agreements/trade.parquet``), as Parquet or CSV.

Columns: ``exp, imp`` (exporter, importer: ISO3 or UN Comtrade historical codes), ``time`` (year),
``export`` (merchandise exports, **USD**, exporter basis), ``id`` (agreement in force, 0 = none),
``agreement`` (its name, may be empty) and provision dummies ``*_prov_*``. Two tables are written:

* goods: one row per flow, ``product = 'WB-DTA:TOTAL'``, ``value = export / 1e6`` (USD millions),
  ``flow_source = 'mirror'`` (the exporter's declaration); zero flows kept;
* agreements: the pair-years with an agreement in force (``agreement_id, agreement`` and the
  provision dummies as extra columns); pair-years without one are not stored there.

Country codes are kept as written (historical codes such as ``DDR`` or ``SUN`` stay distinct entities
rather than merging into a successor, which would duplicate pairs); :data:`HISTORICAL_CODES` lists
those that are not ISO3.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from tradepact import countries
from tradepact.errors import DataFormatError
from tradepact.ledger.sources._base import CsvLayout, Output, Prepared, frame_layout, read_table, require_columns, sql_str

NAME = "wb-dta"
TABLES = ("goods", "agreements")
REQUIRED = ["exp", "imp", "time", "export", "id"]
PROVISION_RE = re.compile(r"^[a-z]+_prov_\d+$")
#: UN Comtrade historical / area codes found in the panel that are not ISO3 codes
HISTORICAL_CODES = {
    "BLX": "Belgium-Luxembourg", "BAT": "British Antarctic Territory", "BUN": "Burundi (old code)",
    "CSK": "Czechoslovakia", "DDR": "German Democratic Republic", "FRE": "Free zones", "KN1": "Saint Kitts, Nevis and Anguilla",
    "MNT": "Montenegro (old code)", "NZE": "Neutral Zone", "PCE": "Pacific Islands (former)", "PCZ": "Panama Canal Zone",
    "ROM": "Romania (old code)", "RYU": "Ryukyu Islands", "SIK": "Sikkim", "SPE": "Special categories",
    "SVR": "Southern Rhodesia (old code)", "SVU": "USSR (former)", "TAN": "Tanganyika", "TMP": "East Timor (old code)",
    "UNS": "Areas not specified", "USP": "US Pacific Islands", "VDR": "Viet Nam, Democratic Republic",
    "YDR": "Yemen, Democratic", "YUG": "Yugoslavia (former)", "ZAR": "Zaire", "ZPM": "Zanzibar and Pemba",
    "ZW1": "Zimbabwe (old code)",
}


def read_layout(path: Path) -> CsvLayout:
    frame = read_table(path, "a Parquet or CSV file in the layout of penppml's trade data")
    layout = frame_layout(path, frame)
    require_columns(layout, REQUIRED)
    accepted = countries.iso3_codes() | set(HISTORICAL_CODES)
    for col in ("exp", "imp"):
        code = frame[col].astype("string").str.strip().str.upper()
        frame[f"_{col}"] = code.where(code.isin(accepted), "?" + frame[col].astype("string").fillna(""))
    if "agreement" not in frame.columns:
        frame["agreement"] = ""
    frame["agreement"] = frame["agreement"].fillna("").astype(str)
    for col, kind in (("time", "an integer year"), ("id", "an integer agreement id"), ("export", "a number (USD)")):
        num = np.asarray(frame[col], dtype="float64") if frame[col].dtype != object else None
        if num is None or (kind != "a number (USD)" and np.any(np.isfinite(num) & (num % 1 != 0))):
            bad = 0 if num is None else int(np.argmax(np.isfinite(num) & (num % 1 != 0)))
            raise DataFormatError(path, bad + 1, col, kind, frame[col].iloc[bad])
    return layout


def prepare(layout: CsvLayout, *, source: str | None = None, **_: object) -> Prepared:
    src = source or "UN Comtrade x World Bank Deep Trade Agreements (penppml trade data)"
    provisions = [c for c in layout.columns if PROVISION_RE.match(c)]
    routing = f"""
        SELECT _row, CASE WHEN export IS NULL THEN 'missing export value' END AS _drop FROM raw
    """
    goods = f"""
        SELECT CAST(time AS INTEGER) AS year, _exp AS exporter, _imp AS importer, 'WB-DTA:TOTAL' AS product,
               NULL::VARCHAR AS hs_rev, CAST(export AS DOUBLE) / 1e6 AS value, NULL::DOUBLE AS quantity,
               NULL::VARCHAR AS unit, {sql_str(src)} AS source, true AS confirmed, 'mirror' AS flow_source,
               {sql_str(NAME)} AS dataset, _row,
               CASE WHEN export IS NULL THEN 'missing export value' END AS _drop
        FROM raw
    """
    prov = "".join(f", CAST({c} AS DOUBLE) AS {c}" for c in provisions)
    agreements = f"""
        SELECT CAST(time AS INTEGER) AS year, _exp AS exporter, _imp AS importer, CAST(id AS BIGINT) AS agreement_id,
               agreement, {sql_str(src)} AS source, {sql_str(NAME)} AS dataset{prov}, _row,
               CASE WHEN export IS NULL THEN 'missing export value'
                    WHEN coalesce(id, 0) = 0 THEN '>no agreement in force' END AS _drop
        FROM raw
    """
    fields = {"year": "time", "exporter": "exp", "importer": "imp", "value": "export", "agreement_id": "id"}
    return Prepared(layout.path, NAME, [Output("goods", goods), Output("agreements", agreements)], fields,
                    info={"types": {}, "routing": routing, "extra": {"agreements": provisions}})
