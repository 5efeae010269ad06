"""Row filters (``--where``): one boolean expression over a table's columns.

The expression is parsed by DuckDB's own SQL parser (``json_serialize_sql``), checked
node by node against a short allow-list — column names, literals, comparisons,
``AND``/``OR``/``NOT``, ``IN (...)`` lists, ``BETWEEN``, ``IS [NOT] NULL``,
``LIKE`` and arithmetic — and written back out as SQL by this module, with every
identifier quoted and every string literal escaped. Anything else (a second
statement, a subquery, a function such as ``read_csv``, a cast, a parameter) is
refused with a :class:`~tradepact.errors.ConfigError` naming what was found, so a
filter can select rows and nothing more.
"""
from __future__ import annotations

import json
import re
from typing import Any, Iterable

from tradepact.errors import ConfigError

_COMPARE = {
    "COMPARE_EQUAL": "=", "COMPARE_NOTEQUAL": "<>", "COMPARE_LESSTHAN": "<",
    "COMPARE_GREATERTHAN": ">", "COMPARE_LESSTHANOREQUALTO": "<=", "COMPARE_GREATERTHANOREQUALTO": ">=",
    "COMPARE_DISTINCT_FROM": "IS DISTINCT FROM", "COMPARE_NOT_DISTINCT_FROM": "IS NOT DISTINCT FROM",
}
_ARITHMETIC = {"+", "-", "*", "/", "%"}
_LIKE = {"~~": "LIKE", "!~~": "NOT LIKE", "~~*": "ILIKE", "!~~*": "NOT ILIKE"}
_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_WHAT = {
    "FUNCTION": "a function call", "SUBQUERY": "a subquery", "CAST": "a cast", "PARAMETER": "a parameter",
    "STAR": "'*'", "CASE": "a CASE expression", "WINDOW": "a window function", "LAMBDA": "a lambda",
}


class _Refused(Exception):
    pass


def _parse(expression: str) -> dict[str, Any]:
    import duckdb

    con = duckdb.connect()
    try:
        raw = con.execute("SELECT json_serialize_sql(?)", ["SELECT * FROM t WHERE " + expression]).fetchone()[0]
    finally:
        con.close()
    tree = json.loads(raw)
    if tree.get("error"):
        msg = str(tree.get("error_message", "syntax error")).splitlines()[0]
        raise ConfigError(f"--where {expression!r}: cannot read it as one boolean expression ({msg})")
    statements = tree.get("statements") or []
    if len(statements) != 1:
        raise ConfigError(f"--where {expression!r}: expected one boolean expression, found {len(statements)} "
                          "statements (';' is not allowed)")
    node = statements[0].get("node", {})
    if (node.get("type") != "SELECT_NODE" or node.get("modifiers") or node.get("group_expressions")
            or node.get("having") or node.get("qualify") or node.get("cte_map", {}).get("map")
            or (node.get("from_table") or {}).get("table_name") != "t" or node.get("where_clause") is None):
        raise ConfigError(f"--where {expression!r}: expected one boolean expression over the columns, "
                          "e.g. \"year in (1986, 1990) and exporter <> 'USA'\"")
    return node["where_clause"]


def _literal(node: dict[str, Any]) -> str:
    lit = node.get("literal") or {}
    kind, text = lit.get("kind"), lit.get("text")
    if kind == "STRING":
        return "'" + str(text).replace("'", "''") + "'"
    if kind in ("INTEGER", "NUMERIC", "DECIMAL", "BIGINT", "HUGEINT", "DOUBLE") and _NUMBER.match(str(text)):
        return str(text)
    if kind == "BOOLEAN" and str(text).lower() in ("true", "false"):
        return str(text).upper()
    if kind == "NULL" or (text is None and kind in (None, "NULL")):
        return "NULL"
    raise _Refused(f"a literal of kind {kind}")


def _sql(node: dict[str, Any], columns: set[str] | None, used: list[str]) -> str:
    cls, typ = node.get("class"), node.get("type")
    if cls == "COLUMN_REF":
        names = node.get("column_names") or []
        if len(names) != 1:
            raise _Refused(f"a qualified name {'.'.join(names)!r} (use the bare column name)")
        name = names[0]
        if columns is not None:  # SQL names are case-insensitive, as DuckDB matches them
            match = [c for c in columns if c.lower() == name.lower()]
            if not match:
                raise ConfigError(f"no column {name!r}; the columns are {', '.join(sorted(columns))}")
            name = name if name in match else match[0]
        used.append(name)
        return '"' + name.replace('"', '""') + '"'
    if cls == "CONSTANT":
        return _literal(node)
    if cls == "CONJUNCTION" and typ in ("CONJUNCTION_AND", "CONJUNCTION_OR"):
        op = " AND " if typ == "CONJUNCTION_AND" else " OR "
        return "(" + op.join(_sql(c, columns, used) for c in node["children"]) + ")"
    if cls == "COMPARISON" and typ in _COMPARE:
        return f"({_sql(node['left'], columns, used)} {_COMPARE[typ]} {_sql(node['right'], columns, used)})"
    if cls == "BETWEEN":
        parts = [_sql(node[k], columns, used) for k in ("input", "lower", "upper")]
        return f"({parts[0]} BETWEEN {parts[1]} AND {parts[2]})"
    if cls == "OPERATOR":
        kids = [_sql(c, columns, used) for c in node.get("children", [])]
        if typ in ("COMPARE_IN", "COMPARE_NOT_IN") and len(kids) >= 2:
            word = "IN" if typ == "COMPARE_IN" else "NOT IN"
            return f"({kids[0]} {word} ({', '.join(kids[1:])}))"
        if typ == "OPERATOR_NOT" and len(kids) == 1:
            return f"(NOT {kids[0]})"
        if typ == "OPERATOR_IS_NULL" and len(kids) == 1:
            return f"({kids[0]} IS NULL)"
        if typ == "OPERATOR_IS_NOT_NULL" and len(kids) == 1:
            return f"({kids[0]} IS NOT NULL)"
        raise _Refused(f"the operator {typ}")
    if cls == "FUNCTION" and node.get("is_operator"):
        name = node.get("function_name")
        # DuckDB >= 1.4 lists operands under "arguments" ({name, expression}); earlier under "children"
        operands = [a.get("expression", a) for a in node.get("arguments") or []] or node.get("children", [])
        if any(isinstance(a, dict) and a.get("name") for a in node.get("arguments") or []):
            raise _Refused(f"named arguments to {name!r}")
        args = [_sql(c, columns, used) for c in operands]
        if name in _ARITHMETIC and len(args) == 2:
            return f"({args[0]} {name} {args[1]})"
        if name == "-" and len(args) == 1:
            return f"(-{args[0]})"
        if name in _LIKE and len(args) == 2:
            return f"({args[0]} {_LIKE[name]} {args[1]})"
        raise _Refused(f"the operator {name!r}")
    if cls == "FUNCTION":
        raise _Refused(f"a function call {node.get('function_name')}()")
    raise _Refused(_WHAT.get(cls, f"{str(cls).lower()} ({typ})"))


def compile_where(expression: str, columns: Iterable[str] | None = None) -> str:
    """Check ``expression`` (SQL syntax: ``year >= 2000 and exporter in ('USA', 'KOR')``) and
    return an equivalent SQL boolean expression safe to splice after ``WHERE``.

    ``columns``, when given, are the names the expression may use; any other name is an error
    listing them. Raises :class:`~tradepact.errors.ConfigError` for anything that is not one
    boolean expression of column names, literals, comparisons, ``AND/OR/NOT``, ``IN`` lists,
    ``BETWEEN``, ``IS [NOT] NULL``, ``LIKE`` and arithmetic.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise ConfigError("--where: expected a boolean expression such as \"year >= 2000\", got an empty one")
    tree = _parse(expression)
    used: list[str] = []
    cols = None if columns is None else set(columns)
    try:
        sql = _sql(tree, cols, used)
    except _Refused as exc:
        raise ConfigError(f"--where {expression!r}: {exc} is not allowed; a filter is one boolean expression "
                          "of column names, literals, comparisons, and/or/not, in (...), between, is null, "
                          "like and + - * /") from None
    except ConfigError as exc:
        raise ConfigError(f"--where {expression!r}: {exc}") from None
    return sql
