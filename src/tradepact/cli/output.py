"""Shared output helpers for subcommands: one place that prints a frame as table, CSV or JSON.

JSON safety (:func:`records`, :func:`dumps`) lives with the result base in :mod:`tradepact.results`."""
from __future__ import annotations

import math
import sys
from enum import Enum
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from tradepact.results import Result, dumps, records

__all__ = ["Format", "dumps", "records", "print_json", "rich_table", "emit", "emit_result"]


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


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


def emit_result(result: Result, fmt: Format, *, table: pd.DataFrame | None = None, title: str | None = None,
                flag_column: str | None = None, footnote: str | None = None) -> None:
    """Print an engine's result: JSON is ``result.to_json()``, CSV is ``result.to_frame()``, a table
    shows ``table`` (a display version of the main table) or else ``result.to_frame()``."""
    if fmt == Format.json:
        sys.stdout.write(result.to_json() + "\n")
    elif fmt == Format.csv:
        result.to_frame().to_csv(sys.stdout, index=False)
    else:
        emit(table if table is not None else result.to_frame(), Format.table, title=title,
             flag_column=flag_column, footnote=footnote)
