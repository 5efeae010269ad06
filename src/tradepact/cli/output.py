"""Shared output helpers for subcommands: one place that prints a frame as table, CSV or JSON."""
from __future__ import annotations

import json
import math
import sys
from enum import Enum
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _clean(value: Any) -> Any:
    """JSON-safe scalar: NaN -> None, numpy scalars -> Python."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as a list of JSON-safe dict records."""
    cols = list(frame.columns)
    return [{c: _clean(v) for c, v in zip(cols, row)} for row in frame.itertuples(index=False, name=None)]


def dumps(obj: Any) -> str:
    """JSON text with NaN turned into null."""
    return json.dumps(obj, indent=2, default=_clean, allow_nan=False)


def print_json(obj: Any) -> None:
    sys.stdout.write(dumps(obj) + "\n")


def rich_table(frame: pd.DataFrame, title: str | None = None, floatfmt: str = "{:,.1f}",
               flag_column: str | None = None, flag_text: str = "*") -> Table:
    """A rich Table from a frame; rows whose ``flag_column`` is False are marked with ``flag_text``."""
    table = Table(title=title, show_lines=False, header_style="bold")
    shown = [c for c in frame.columns if c != flag_column]
    for c in shown:
        numeric = pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
        table.add_column(str(c), justify="right" if numeric else "left")
    for _, row in frame.iterrows():
        cells = []
        for c in shown:
            v = row[c]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                cells.append("—")
            elif isinstance(v, float):
                cells.append(floatfmt.format(v))
            else:
                cells.append(str(v))
        if flag_column is not None and not bool(row[flag_column]):
            cells[0] = f"{cells[0]} {flag_text}"
            table.add_row(*cells, style="yellow")
        else:
            table.add_row(*cells)
    return table


def emit(frame: pd.DataFrame, fmt: Format, title: str | None = None, *, json_obj: Any = None,
         flag_column: str | None = None, footnote: str | None = None) -> None:
    """Print ``frame`` in ``fmt``; ``json_obj`` overrides the JSON payload (default: records)."""
    if fmt == Format.json:
        print_json(json_obj if json_obj is not None else records(frame))
    elif fmt == Format.csv:
        frame.to_csv(sys.stdout, index=False)
    else:
        console = Console()
        console.print(rich_table(frame, title=title, flag_column=flag_column))
        if footnote:
            console.print(footnote, style="dim")
