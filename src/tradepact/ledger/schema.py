"""The canonical tables of the trade ledger and their validation.

Goods (``GOODS``), one row per flow ``exporter -> importer`` of one product in one year:

==============  ===========  ==========================================================
column          type         meaning
==============  ===========  ==========================================================
year            int32        calendar year
exporter        str          ISO3 (or a region/special-area code of :mod:`tradepact.countries`)
importer        str          ISO3, as above; exporter == importer is a domestic flow
product         str          see *Product codes* below
hs_rev          str | null   ``H0``..``H6`` for HS products, null for other classifications
value           float64      USD **millions**, finite and >= 0
quantity        float64      quantity in ``unit`` (null when unknown)
unit            str | null   e.g. ``t`` (tonnes, BACI) or Comtrade's ``qtyUnitAbbr``
source          str          provenance, e.g. ``CEPII BACI HS92 V202401b``
confirmed       bool         True when the publisher documents the figure's units and meaning
flow_source     str          ``reported`` or ``mirror`` (see below)
dataset         str          the loader that wrote the row: baci, comtrade, itpd-e, gravity-panel, ...
==============  ===========  ==========================================================

Services (``SERVICES``) has ``year, exporter, importer, item, value, source, confirmed,
flow_source, dataset``; ``item`` is an EBOPS 2010 code (``S`` = total services, ``SA``..``SL``
main components, longer codes sub-components) or ``<CLASS>:<code>`` as below.

Product codes
    HS products are zero-padded digit strings of 2, 4, 6, 8 or 10 digits with their revision in
    ``hs_rev``; ``TOTAL`` (with an HS revision) stands for all goods, as in UN Comtrade. Products of
    a non-HS classification have ``hs_rev`` null and are written ``<CLASS>:<code>``: ITPD-E
    industries are ``ITPD-E:<industry_id>`` (e.g. ``ITPD-E:17``), the aggregate manufacturing flow
    of the Yotov et al. (2016) panel is ``AGTPA:MANUF``.

flow_source
    Follows ITPD-E's convention: ``reported`` is the importer's declaration (or a reconciled figure,
    as in BACI), ``mirror`` the exporter's declaration of the same flow (ITPD-E ``flag_mirror = 1``,
    UN Comtrade export rows, services credits).

The duplicate key of goods is ``(dataset, year, exporter, importer, product, hs_rev, flow_source)``.

Two validators share the same rules: :func:`validate_frame` (pandas, vectorized, for frames in
memory) and :func:`validate_sql` (DuckDB, for files streamed by the loaders). Both raise
:class:`~tradepact.errors.DataFormatError` naming the user's file, the 1-based data row (header
excluded) and the user's column name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from tradepact import countries
from tradepact.errors import DataFormatError
from tradepact.products import HS_REVISIONS

#: HS product code shape (SQL/regex, full match).
HS_PRODUCT_RE = r"\d{2}|\d{4}|\d{6}|\d{8}|\d{10}|TOTAL"
#: Non-HS product/item code shape: ``CLASS:code``.
OTHER_PRODUCT_RE = r"[A-Z][A-Z0-9-]*:\S+"
#: Services item shape: EBOPS 2010 code or ``CLASS:code``.
SERVICE_ITEM_RE = r"S[A-Z0-9]*|[A-Z][A-Z0-9-]*:\S+"
FLOW_SOURCES = ("reported", "mirror")


@dataclass(frozen=True)
class TableSchema:
    """Columns (name -> DuckDB type) and duplicate key of one ledger table."""

    name: str
    columns: dict[str, str]
    key: tuple[str, ...]
    country_columns: tuple[str, ...] = ("exporter", "importer")
    extra_ok: bool = False  # may carry more columns (gravity covariates)
    notes: dict[str, str] = field(default_factory=dict)

    def empty_sql(self) -> str:
        """A SELECT giving an empty relation with this table's columns and types."""
        cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in self.columns.items())
        return f"SELECT {cols} WHERE false"


GOODS = TableSchema(
    name="goods",
    columns={
        "year": "INTEGER", "exporter": "VARCHAR", "importer": "VARCHAR", "product": "VARCHAR",
        "hs_rev": "VARCHAR", "value": "DOUBLE", "quantity": "DOUBLE", "unit": "VARCHAR",
        "source": "VARCHAR", "confirmed": "BOOLEAN", "flow_source": "VARCHAR", "dataset": "VARCHAR",
    },
    key=("dataset", "year", "exporter", "importer", "product", "hs_rev", "flow_source"),
)

SERVICES = TableSchema(
    name="services",
    columns={
        "year": "INTEGER", "exporter": "VARCHAR", "importer": "VARCHAR", "item": "VARCHAR",
        "value": "DOUBLE", "source": "VARCHAR", "confirmed": "BOOLEAN", "flow_source": "VARCHAR",
        "dataset": "VARCHAR",
    },
    key=("dataset", "year", "exporter", "importer", "item", "flow_source"),
)

#: Gravity covariates by pair and year (distance, contiguity, language, colony, RTA dummies...).
GRAVITY = TableSchema(
    name="gravity",
    columns={"year": "INTEGER", "exporter": "VARCHAR", "importer": "VARCHAR", "dataset": "VARCHAR"},
    key=("dataset", "year", "exporter", "importer"),
    extra_ok=True,
)

#: The trade agreement in force for a pair and year (``agreement_id`` 0 = none is not stored) and, as
#: extra columns, that agreement's provision dummies (e.g. World Bank DTA ``ad_prov_14``).
AGREEMENTS = TableSchema(
    name="agreements",
    columns={"year": "INTEGER", "exporter": "VARCHAR", "importer": "VARCHAR", "agreement_id": "BIGINT",
             "agreement": "VARCHAR", "source": "VARCHAR", "dataset": "VARCHAR"},
    key=("dataset", "year", "exporter", "importer"),
    extra_ok=True,
)

#: Goods flows by calendar month (``month`` 1-12), same meaning and units as GOODS (USD millions).
GOODS_MONTHLY = TableSchema(
    name="goods_monthly",
    columns={"year": "INTEGER", "month": "INTEGER", "exporter": "VARCHAR", "importer": "VARCHAR",
             "product": "VARCHAR", "value": "DOUBLE", "source": "VARCHAR", "confirmed": "BOOLEAN",
             "flow_source": "VARCHAR", "dataset": "VARCHAR"},
    key=("dataset", "year", "month", "exporter", "importer", "product", "flow_source"),
)

#: A reporter's trade with a group of partners as the publisher defines it (Census "European Union",
#: "CAFTA-DR", "Pacific Rim"...), kept apart from country flows; ``month`` 0 = the whole year; USD millions.
GROUPS = TableSchema(
    name="groups",
    columns={"year": "INTEGER", "month": "INTEGER", "reporter": "VARCHAR", "group_code": "VARCHAR",
             "group_name": "VARCHAR", "exports": "DOUBLE", "imports": "DOUBLE", "source": "VARCHAR",
             "confirmed": "BOOLEAN", "dataset": "VARCHAR"},
    key=("dataset", "year", "month", "reporter", "group_code"),
    country_columns=("reporter",),
)

TABLES: dict[str, TableSchema] = {t.name: t for t in (GOODS, SERVICES, GRAVITY, AGREEMENTS, GOODS_MONTHLY, GROUPS)}


# ---------------------------------------------------------------------------------------------
# Rules as SQL predicates (true = the row breaks the rule), in the order they are reported.
# Each: (canonical field, SQL predicate, expected text).
# ---------------------------------------------------------------------------------------------
def _rules(schema: TableSchema) -> list[tuple[str, str, str]]:
    rules: list[tuple[str, str, str]] = [
        ("year", "year IS NULL OR year < 1800 OR year > 2200", "a calendar year (integer)"),
    ]
    for c in schema.country_columns:
        rules.append((c, f"{c} IS NULL OR starts_with({c}, '?')",
                      "a known country code (ISO3, a declared region or special area)"))
    if schema is GOODS:
        revs = ", ".join(f"'{r}'" for r in HS_REVISIONS)
        rules += [
            ("hs_rev", f"hs_rev IS NOT NULL AND hs_rev NOT IN ({revs})", "an HS revision H0..H6 or null"),
            ("product", f"product IS NULL OR (hs_rev IS NOT NULL AND NOT regexp_full_match(product, '{HS_PRODUCT_RE}'))"
                        f" OR (hs_rev IS NULL AND NOT regexp_full_match(product, '{OTHER_PRODUCT_RE}'))",
             "an HS code of 2/4/6/8/10 digits (or TOTAL), or CLASS:code for non-HS products"),
        ]
    if schema is GOODS_MONTHLY:
        rules.append(("month", "month IS NULL OR month < 1 OR month > 12", "a month 1-12"))
        rules.append(("product", f"product IS NULL OR NOT regexp_full_match(product, '{OTHER_PRODUCT_RE}')",
                      "CLASS:code"))
    if schema is GROUPS:
        rules.append(("month", "month IS NULL OR month < 0 OR month > 12", "a month 0-12 (0 = the whole year)"))
        rules.append(("exports", "exports IS NOT NULL AND (NOT isfinite(exports) OR exports < 0)",
                      "a finite non-negative number (USD millions)"))
        rules.append(("imports", "imports IS NOT NULL AND (NOT isfinite(imports) OR imports < 0)",
                      "a finite non-negative number (USD millions)"))
    if schema is AGREEMENTS:
        rules.append(("agreement_id", "agreement_id IS NULL OR agreement_id <= 0", "a positive agreement id"))
    if schema is SERVICES:
        rules.append(("item", f"item IS NULL OR NOT regexp_full_match(item, '{SERVICE_ITEM_RE}')",
                      "an EBOPS 2010 item code (S, SA..SL, ...) or CLASS:code"))
    if "value" in schema.columns:
        rules.append(("value", "value IS NULL OR NOT isfinite(value) OR value < 0",
                      "a finite non-negative number (USD millions)"))
    if "quantity" in schema.columns:
        rules.append(("quantity", "quantity IS NOT NULL AND (NOT isfinite(quantity) OR quantity < 0)",
                      "a finite non-negative number or NA"))
    if "flow_source" in schema.columns:
        rules.append(("flow_source", "flow_source NOT IN ('reported', 'mirror')", "reported or mirror"))
    return rules


def _fail(file, row, field_name: str, fields: Mapping[str, str] | None, expected: str, got,
          message: str | None = None) -> DataFormatError:
    user_field = (fields or {}).get(field_name, field_name)
    return DataFormatError(file, None if row is None else int(row), user_field, expected, got, message)


def validate_sql(con, relation: str, schema: TableSchema, *, file, fields: Mapping[str, str] | None = None,
                 raw_value=None, constants: Mapping[str, object] | None = None,
                 extra_rules: Sequence[tuple[str, str, str]] = (), skip: Sequence[str] = ()) -> dict:
    """Check a DuckDB relation (SQL text) holding ``schema``'s columns plus ``_row`` (1-based data row).

    Runs one scan for the per-row rules (the first offending row of the first broken rule is
    reported) and one hash aggregation for the duplicate key. ``fields`` maps canonical column
    names to the user's column names; ``raw_value(row, user_field)`` returns the text as written in
    the user's file (for the ``got`` part of the message); without it the canonical value is shown.
    ``constants`` are columns with one value for the whole relation: they are checked once, here,
    instead of on every row. ``extra_rules`` are loader rules ``(user field, SQL predicate,
    expected)`` checked first; ``skip`` names canonical rules the loader already guarantees.

    Returns ``{"rows", "zero_value", "years"}`` from the same scan.
    """
    constants = dict(constants or {})
    check_constants(con, schema, constants, file=file, fields=fields)
    rules = [(f, p, e, True) for f, p, e in extra_rules]
    rules += [(f, p, e, False) for f, p, e in _rules(schema) if f not in constants and f not in skip]
    sel = [f"min(_row) FILTER (WHERE {pred})" for _, pred, _, _ in rules]
    zero = "count(*) FILTER (WHERE value = 0)" if "value" in schema.columns else "0"
    sel += ["count(*)", zero, "list(DISTINCT year ORDER BY year)"]
    hits = con.execute(f"SELECT {', '.join(sel)} FROM ({relation})").fetchone()
    for i, (fname, _, expected, is_user) in enumerate(rules):
        if hits[i] is not None:
            row = int(hits[i])
            user = fname if is_user else (fields or {}).get(fname, fname)
            got = None
            if not is_user:
                got = con.execute(f"SELECT {fname}::VARCHAR FROM ({relation}) WHERE _row = {row} LIMIT 1").fetchone()[0]
            if raw_value is not None:
                try:
                    got = raw_value(row, user)
                except Exception:  # noqa: BLE001 - best effort for the message only
                    pass
            if got is not None and isinstance(got, str) and got.startswith("?"):
                got = got[1:]
            raise DataFormatError(file, row, user, expected, got)
    n = len(rules)
    check_duplicates_sql(con, relation, schema, file=file, fields=fields, skip=tuple(constants))
    return {"rows": int(hits[n]), "zero_value": int(hits[n + 1]), "years": [int(y) for y in hits[n + 2] or []]}


def check_constants(con, schema: TableSchema, constants: Mapping[str, object] | None, *, file,
                    fields: Mapping[str, str] | None = None) -> None:
    """Check the columns that have one value for a whole batch (hs_rev, source, ...) once."""
    constants = dict(constants or {})
    if not constants:
        return
    one = "(SELECT " + ", ".join(f"{_sql_literal(v)} AS {c}" for c, v in constants.items()) + ")"
    for fname, pred, expected in _rules(schema):
        if fname in constants and con.execute(f"SELECT count(*) FROM {one} WHERE {pred}").fetchone()[0]:
            raise _fail(file, None, fname, fields, expected, constants[fname])


def _sql_literal(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "NULL"
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(float(value))
    return "'" + str(value).replace("'", "''") + "'"


def check_duplicates_sql(con, relation: str, schema: TableSchema, *, file, fields=None,
                         skip: Sequence[str] = ()) -> None:
    """Raise on the first row (in file order) whose key repeats an earlier row's key.

    ``skip``: key columns that are constant over the relation (left out of the hash).
    """
    cols = [k for k in schema.key if k not in skip]
    key = ", ".join(cols)
    # Fast path: 64-bit hashes of the key sorted in NumPy (8 bytes a row; far cheaper than a hash
    # aggregation with one group per row). Only when two hashes collide is the exact query run.
    h = con.execute(f"SELECT hash({key}) AS h FROM ({relation})").fetchnumpy()["h"]
    h = np.asarray(h, dtype=np.uint64)
    if not h.flags.writeable:
        h = h.copy()
    h.sort()
    if len(h) < 2 or not bool((h[1:] == h[:-1]).any()):
        return
    del h
    cand = con.execute(
        f"WITH r AS (SELECT hash({key}) AS _h, _row FROM ({relation})), "
        f"d AS (SELECT _h FROM r GROUP BY _h HAVING count(*) > 1) "
        f"SELECT {key}, _row FROM ({relation}) WHERE hash({key}) IN (SELECT _h FROM d) ORDER BY _row"
    ).df()
    if cand.empty:
        return
    dup = cand.duplicated(subset=cols, keep="first")
    if not dup.any():  # hash collision only
        return
    second = cand[dup].iloc[0]
    first = cand[_nan_eq(cand, second, cols)]
    first_row = int(first["_row"].min())
    shown = shown_key(cols, fields)
    user_key = ",".join(dict.fromkeys((fields or {}).get(k, k) for k in shown))
    key_text = ", ".join(f"{k}={second[k]}" for k in shown)
    raise DataFormatError(file, int(second["_row"]), user_key, "a unique key",
                          f"{key_text} (same as row {first_row})", message="duplicated key")


def shown_key(key: Sequence[str], fields: Mapping[str, str] | None) -> list[str]:
    """The key columns worth naming to the user: those that come from a column of their file."""
    shown = [k for k in key if k not in ("dataset", "flow_source", "hs_rev")]
    if fields:
        shown = [k for k in shown if k in fields] or shown
    return shown


def _nan_eq(frame: pd.DataFrame, row: pd.Series, key: Sequence[str]) -> pd.Series:
    """Rows equal to ``row`` on ``key`` treating nulls as equal."""
    ok = pd.Series(True, index=frame.index)
    for k in key:
        col = frame[k]
        ok &= (col == row[k]) | (col.isna() & pd.isna(row[k]))
    return ok


def validate_frame(frame: pd.DataFrame, schema: TableSchema = GOODS, *, file="<frame>",
                   fields: Mapping[str, str] | None = None, normalize_codes: bool = True) -> pd.DataFrame:
    """Validate (and lightly normalize) a canonical frame held in memory; returns the checked copy.

    Row numbers in errors are 1-based positions in ``frame``. Legacy country codes are mapped to
    their successors (``ROM`` -> ``ROU``) when ``normalize_codes``; optional columns missing from
    ``frame`` (quantity, unit, hs_rev, flow_source, dataset, source, confirmed) are filled with nulls
    or defaults. Vectorized: one mask per rule.
    """
    out = frame.copy()
    required = [c for c in schema.columns if c in ("year", "exporter", "importer", "product", "item", "value")]
    for c in required:
        if c not in out.columns:
            raise _fail(file, None, c, fields, f"a column '{(fields or {}).get(c, c)}'",
                        f"columns {list(frame.columns)}", message="missing column")
    rows = np.arange(1, len(out) + 1)
    for c in ("year", "value") + (("quantity",) if "quantity" in schema.columns and "quantity" in out else ()):
        num = pd.to_numeric(out[c], errors="coerce")
        bad = num.isna() & out[c].notna()
        if bad.any():
            i = int(np.argmax(bad.to_numpy()))
            raise _fail(file, rows[i], c, fields, "a number", out[c].iloc[i], message="non-numeric value")
        out[c] = num
    defaults = {"hs_rev": None, "quantity": np.nan, "unit": None, "source": "", "confirmed": True,
                "flow_source": "reported", "dataset": "frame"}
    for c in schema.columns:
        if c not in out.columns:
            out[c] = defaults.get(c)
    if normalize_codes:
        for c in schema.country_columns:
            raw = out[c]
            uniq = pd.Series(raw.dropna().unique())
            mapping = {u: (countries.normalize(u) if isinstance(u, str) else None) for u in uniq}
            mapped = raw.map(mapping)
            out[c] = mapped.where(mapped.notna(), "?" + raw.astype("string").fillna(""))
    year_ok = out["year"].notna() & (out["year"] % 1 == 0)
    if not year_ok.all():
        i = int(np.argmax(~year_ok.to_numpy()))
        raise _fail(file, rows[i], "year", fields, "a calendar year (integer)", frame["year"].iloc[i])
    out["year"] = out["year"].astype("int32")
    checks = _frame_masks(out, schema)
    for fname, mask, expected in checks:
        m = mask.to_numpy(dtype=bool)
        if m.any():
            i = int(np.argmax(m))
            got = frame[fname].iloc[i] if fname in frame.columns else out[fname].iloc[i]
            raise _fail(file, rows[i], fname, fields, expected, got)
    key = list(schema.key)
    dup = out.duplicated(subset=key, keep="first").to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        same = _nan_eq(out, out.iloc[i], key).to_numpy()
        first = int(np.argmax(same))
        shown = shown_key(key, fields)
        raise DataFormatError(file, int(rows[i]), ",".join((fields or {}).get(k, k) for k in shown), "a unique key",
                              ", ".join(f"{k}={out[k].iloc[i]}" for k in shown) + f" (same as row {first + 1})",
                              message="duplicated key")
    return out[list(schema.columns) + ([c for c in out.columns if c not in schema.columns] if schema.extra_ok else [])]


def _frame_masks(out: pd.DataFrame, schema: TableSchema) -> list[tuple[str, pd.Series, str]]:
    masks: list[tuple[str, pd.Series, str]] = []
    for c in schema.country_columns:
        s = out[c].astype("string")
        masks.append((c, s.isna() | s.str.startswith("?").fillna(True),
                      "a known country code (ISO3, a declared region or special area)"))
    if schema is GOODS:
        rev = out["hs_rev"]
        masks.append(("hs_rev", rev.notna() & ~rev.isin(HS_REVISIONS), "an HS revision H0..H6 or null"))
        prod = out["product"].astype("string")
        hs_ok = prod.str.fullmatch(HS_PRODUCT_RE).fillna(False).astype(bool)
        other_ok = prod.str.fullmatch(OTHER_PRODUCT_RE).fillna(False).astype(bool)
        masks.append(("product", (rev.notna() & ~hs_ok) | (rev.isna() & ~other_ok),
                      "an HS code of 2/4/6/8/10 digits (or TOTAL), or CLASS:code for non-HS products"))
    if schema is SERVICES:
        item = out["item"].astype("string")
        masks.append(("item", ~item.str.fullmatch(SERVICE_ITEM_RE).fillna(False).astype(bool),
                       "an EBOPS 2010 item code (S, SA..SL, ...) or CLASS:code"))
    v = out["value"].to_numpy(dtype="float64")
    masks.append(("value", pd.Series(~np.isfinite(v) | (v < 0), index=out.index),
                  "a finite non-negative number (USD millions)"))
    if "quantity" in schema.columns:
        q = out["quantity"].to_numpy(dtype="float64")
        masks.append(("quantity", pd.Series(~np.isnan(q) & (~np.isfinite(q) | (q < 0)), index=out.index),
                      "a finite non-negative number or NA"))
    masks.append(("flow_source", ~out["flow_source"].isin(FLOW_SOURCES), "reported or mirror"))
    return masks
