"""Any bilateral trade panel (CSV or Parquet) described by a column map.

``tradepact data import panel FILE --map exporter=exp,importer=imp,year=time,value=export --unit usd``:
``--map`` names the file's columns for ``exporter, importer, year, value`` (required) and optionally
``product`` (default ``PANEL:TOTAL``); ``--unit`` says what ``value`` is in: ``usd``, ``thousand`` (USD
thousands) or ``million`` (USD millions, the ledger's unit). Country codes are ISO3 (legacy codes
such as ``ROM`` normalized). Rows go to goods (``flow_source = 'reported'``, ``confirmed`` False: the
unit is the user's statement); every other numeric column goes to the gravity table as a covariate.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from tradepact.errors import ConfigError
from tradepact.ledger.sources._base import CsvLayout, Output, Prepared, code_sql, frame_layout, read_table, require_columns, sql_str

NAME = "panel"
TABLES = ("goods", "gravity")
REQUIRED = ("exporter", "importer", "year", "value")
UNITS = {"usd": 1e6, "thousand": 1e3, "million": 1.0}
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_map(text: str | dict | None) -> dict[str, str]:
    """``"exporter=exp,importer=imp"`` -> ``{"exporter": "exp", "importer": "imp"}``."""
    if isinstance(text, dict):
        return dict(text)
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            raise ConfigError(f"--map entry {part.strip()!r}: expected FIELD=COLUMN (e.g. exporter=exp)")
        k, v = (x.strip() for x in part.split("=", 1))
        if k not in REQUIRED + ("product",):
            raise ConfigError(f"--map field {k!r}: expected one of {', '.join(REQUIRED + ('product',))}")
        out[k] = v
    return out


def read_layout(path: Path) -> CsvLayout:
    return frame_layout(path, read_table(path, "a CSV or Parquet panel"))


def prepare(layout: CsvLayout, *, column_map=None, unit: str | None = None, source: str | None = None,
            **_: object) -> Prepared:
    cmap = parse_map(column_map)
    for f in REQUIRED:
        cmap.setdefault(f, f)
    require_columns(layout, [cmap[f] for f in REQUIRED] + ([cmap["product"]] if "product" in cmap else []))
    if unit is None:
        raise ConfigError("--unit is required for the panel format: usd, thousand or million (USD)")
    if unit not in UNITS:
        raise ConfigError(f"--unit {unit!r}: expected usd, thousand or million")
    frame = layout.frame
    q = {f: '"' + c.replace('"', '""') + '"' for f, c in cmap.items()}
    for f in ("year", "value"):
        num = pd.to_numeric(frame[cmap[f]], errors="coerce")
        bad = num.isna() & frame[cmap[f]].notna()
        if bad.any():
            i = int(bad.to_numpy().argmax())
            from tradepact.errors import DataFormatError

            raise DataFormatError(layout.path, i + 1, cmap[f], "a number", frame[cmap[f]].iloc[i])
    used = set(cmap.values())
    covariates = [c for c in layout.columns if c not in used and not c.startswith("_") and _IDENT.match(c)
                  and pd.api.types.is_numeric_dtype(frame[c])]
    src = source or f"{Path(layout.path).name} (panel, value in {unit})"
    product = f"CAST({q['product']} AS VARCHAR)" if "product" in cmap else "'PANEL:TOTAL'"
    goods = f"""
        SELECT CAST({q['year']} AS INTEGER) AS year, {code_sql(q['exporter'])} AS exporter,
               {code_sql(q['importer'])} AS importer, {product} AS product, NULL::VARCHAR AS hs_rev,
               CAST({q['value']} AS DOUBLE) / {UNITS[unit]!r} AS value, NULL::DOUBLE AS quantity, NULL::VARCHAR AS unit,
               {sql_str(src)} AS source, false AS confirmed, 'reported' AS flow_source, {sql_str(NAME)} AS dataset,
               _row, CASE WHEN {q['value']} IS NULL THEN 'missing value' END AS _drop
        FROM raw
    """
    cov = "".join(f', CAST("{c}" AS DOUBLE) AS "{c.lower()}"' for c in covariates)
    gravity = f"""
        SELECT DISTINCT ON (year, exporter, importer) * FROM (
        SELECT CAST({q['year']} AS INTEGER) AS year, {code_sql(q['exporter'])} AS exporter,
               {code_sql(q['importer'])} AS importer, {sql_str(NAME)} AS dataset{cov}, _row,
               CASE WHEN {q['value']} IS NULL THEN 'missing value' END AS _drop
        FROM raw) ORDER BY _row
    """
    outputs = [Output("goods", goods)] + ([Output("gravity", gravity)] if covariates else [])
    fields = {"year": cmap["year"], "exporter": cmap["exporter"], "importer": cmap["importer"], "value": cmap["value"]}
    if "product" in cmap:
        fields["product"] = cmap["product"]
    return Prepared(layout.path, NAME, outputs, fields,
                    info={"types": {}, "extra": {"gravity": [c.lower() for c in covariates]}})
