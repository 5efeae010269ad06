"""``tradepact estimate DATA --by COL``: one gravity model per group, fanned out (serial, local Dask
cluster or a scheduler address), shown as a table and a coefficient-by-group chart, or JSON.

Imported only when ``--by`` is given (keeps ``tradepact`` start-up free of Dask).
"""
from __future__ import annotations

import math

import pandas as pd
import typer

BAR_WIDTH = 30


def run_by(df: pd.DataFrame, *, model: str, formula: str, by: str, fmt: str, scheduler: str | None,
           results: str | None, options: dict) -> None:
    """Fit ``model`` per group of ``by`` and print; exits with status 1 when a group failed."""
    from tradepact.cli.output import print_json
    from tradepact.gravity.by_group import fit_by

    cols = [c.strip() for c in by.split(",") if c.strip()]
    res = fit_by(model, df, formula, cols if len(cols) > 1 else cols[0], scheduler=scheduler, results=results,
                 progress=True, **options)
    if fmt == "json":
        print_json(res.to_dict())
    else:
        _print_table(res, model, formula)
    if res.failed:
        raise typer.Exit(1)


def _print_table(res, model: str, formula: str) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Console()
    frame = res.to_frame()
    terms = list(dict.fromkeys(frame["term"])) if len(frame) else []
    table = Table(title=f"{model.upper()} by {', '.join(res.by)}: {formula}", header_style="bold")
    table.add_column(", ".join(res.by))
    for t in terms:
        table.add_column(t, justify="right")
    table.add_column("nobs", justify="right")
    for key, r in res.results.items():
        cells = [str(res.group_label(key))]
        for t in terms:
            cells.append(f"{r.params[t]:.4f} ({r.bse[t]:.4f})" if t in r.params.index else "—")
        cells.append(f"{r.nobs:,}")
        table.add_row(*cells)
    out.print(table)
    if terms:
        out.print(_chart(res, terms[0]))
    for key, err in res.failed.items():
        out.print(f"[red]failed[/] {res.group_label(key)}: {err}", highlight=False)
    run = res.run
    if run is not None:
        out.print(f"{len(res.results)} fitted ({run.computed} now, {run.resumed} resumed), {len(res.failed)} failed"
                  f" · {run.scheduler} · {run.wall_seconds:.1f} s", style="dim")


def _chart(res, term: str) -> str:
    """Text chart of ``term`` by group: a bar from 0 to the estimate, ``|`` marks the 95% interval."""
    rows = []
    for key, r in res.results.items():
        if term in r.params.index and math.isfinite(r.params[term]):
            b, se = float(r.params[term]), float(r.bse[term])
            rows.append((str(res.group_label(key)), b, b - 1.96 * se, b + 1.96 * se))
    if not rows:
        return ""
    lo = min(0.0, *(r[2] for r in rows if math.isfinite(r[2])))
    hi = max(0.0, *(r[3] for r in rows if math.isfinite(r[3])))
    span = (hi - lo) or 1.0
    pos = lambda v: min(BAR_WIDTH - 1, max(0, int(round((v - lo) / span * (BAR_WIDTH - 1)))))  # noqa: E731
    zero = pos(0.0)
    w = max(len(r[0]) for r in rows)
    lines = [f"{term} by group (bar: estimate, | |: 95% interval; axis {lo:.3g} … {hi:.3g})"]
    for name, b, a, c in rows:
        cells = [" "] * BAR_WIDTH
        i, j = sorted((zero, pos(b)))
        for k in range(i, j + 1):
            cells[k] = "█"
        for v in (a, c):
            if math.isfinite(v):
                cells[pos(v)] = "|"
        cells[zero] = "┆" if cells[zero] == " " else cells[zero]
        lines.append(f"{name:>{w}} {''.join(cells)} {b:+.4f}")
    return "\n".join(lines)
