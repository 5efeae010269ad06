"""`tradepact simulate`, `tradepact compare`, `tradepact scenarios`: scenario files through the PE model."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tradepact.cli.app import app
from tradepact.cli.output import Format, emit, emit_result, output_dir, records, rich_table
from tradepact.errors import ConfigError

LEVELS = ("hs2", "sector", "total", "line")
SHOW = {"trade_creation": "creation", "trade_diversion": "diversion", "total_import_change": "imports Δ",
        "tariff_revenue_change": "revenue Δ", "consumer_surplus_change": "cons. surplus Δ",
        "quota_rent_change": "quota rent Δ"}


def _keys_as_text(frame):
    """Key columns as text (rich_table goes through iterrows, which would print years as floats)."""
    frame = frame.copy()
    for c in ("year", "hs2", "hs", "sector", "importer", "exporter"):
        if c in frame.columns:
            frame[c] = frame[c].astype(str)
    return frame


def _level(level: str) -> str:
    if level not in LEVELS:
        raise ConfigError(f"--level: expected one of {', '.join(LEVELS)}, got {level!r}")
    return level


def _run(spec: str):
    from tradepact.simulate.scenario import load_scenario, run_scenario

    scn = load_scenario(spec)
    if scn.draws.n > 0:
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                      TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(f"{scn.name}: Monte Carlo draws", total=scn.draws.n)
            return run_scenario(scn, progress=lambda done, total: bar.update(task, completed=done))
    return run_scenario(scn)


def _write_out(result, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    name = result.name
    paths = [out / f"{name}.json", out / f"{name}_lines.csv", out / f"{name}_by_hs2.csv", out / f"{name}_by_year.csv"]
    paths[0].write_text(result.to_json() + "\n", encoding="utf-8")
    result.to_frame().to_csv(paths[1], index=False)
    result.by("hs2", ("year",)).to_csv(paths[2], index=False)
    result.by("total", ("year",)).to_csv(paths[3], index=False)
    return paths


@app.command("simulate", epilog="Examples:\n\n  tradepact simulate auto-tariff-25 --level sector\n\n  tradepact simulate auto-tariff-25 --format csv --out auto-results")
def simulate_cmd(
    scenario: str = typer.Argument(..., help="Scenario YAML file or built-in name (see `tradepact scenarios`)"),
    fmt: Format = typer.Option(Format.table, "--format", help="table, csv or json"),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write JSON and CSV results to this directory"),
    level: str = typer.Option("hs2", "--level", help="Table breakdown: hs2, sector, total or line"),
) -> None:
    """Run a scenario through the PE model (year by year along the tariff path).

    Table: effects by year and --level (USD millions). JSON: {"scenario", "lines": [per flow and year:
    importer, exporter, hs, year, import_value, rate_before, rate_after, import_demand_elasticity,
    substitution_elasticity, export_supply_elasticity (null = infinite), trade_creation, trade_diversion,
    tariff_revenue_change, consumer_surplus_change, ...], "totals", "by_year", "by_hs2", "by_sector",
    "skipped", "notes"}. CSV: the per-line frame.
    """
    level = _level(level)
    if out is not None:
        output_dir(out)
    result = _run(scenario)
    if out is not None:
        paths = _write_out(result, out)
        Console(stderr=True).print(f"wrote {', '.join(str(p) for p in paths)}", highlight=False)
    if fmt != Format.table:
        emit_result(result, fmt)
        return
    console = Console()
    console.print(f"[bold]{result.name}[/]: {result.scenario.description}", highlight=False)
    if result.pe is None:
        console.print("no flows with trade and tariff rates: nothing to simulate")
    else:
        frame = result.by(level, ("year",)) if level != "line" else result.pe.aggregate("line", ("year", "importer", "exporter"))
        keep = [c for c in frame.columns if c not in SHOW and c not in
                ("import_value", "import_value_after", "tariff_revenue_before", "tariff_revenue_after",
                 "domestic_output_change")]
        eff = [c for c in SHOW if c in frame.columns]
        moved = frame[eff].abs().sum(axis=1) > 1e-9
        hidden = int((~moved).sum())
        frame = frame.loc[moved, keep + eff].rename(columns=SHOW)
        console.print(rich_table(_keys_as_text(frame), title=f"Effects by year and {level} (USD millions)"))
        if hidden:
            console.print(f"{hidden} rows with no effect not shown (all rows in --format json/csv)", style="dim")
        console.print(result.summary(), highlight=False)
    if result.ge is not None:
        console.print(f"GE at central θ = {result.ge['result'].baseline.theta[0]:g} (the summary above gives the "
                      "θ range):", highlight=False)
        console.print(result.ge["result"].summary(), highlight=False)
    for a in result.assumptions():
        console.print(f"assumption: {a['assumption']}: {a['value']} ({a['source']})", style="dim", highlight=False,
                      markup=False)
    for note in result.notes:
        console.print(f"note: {note}", style="dim", highlight=False)
    for cav in result.scenario.caveats:
        console.print(f"caveat: {cav}", style="yellow", highlight=False)


@app.command("compare", epilog="Examples:\n\n  tradepact compare no-korus auto-tariff-25 --level total")
def compare_cmd(
    a: str = typer.Argument(..., help="First scenario (file or built-in name)"),
    b: str = typer.Argument(..., help="Second scenario (file or built-in name)"),
    level: str = typer.Option("total", "--level", help="hs2, sector, total or line"),
    fmt: Format = typer.Option(Format.table, "--format", help="table, csv or json"),
) -> None:
    """Two scenarios' PE results side by side by year, with differences (B − A), USD millions."""
    from tradepact.simulate.scenario import compare

    level = _level(level)
    ra, rb = _run(a), _run(b)
    if ra.pe is None or rb.pe is None:
        raise ConfigError(f"nothing to compare: {ra.name if ra.pe is None else rb.name} simulated no flows")
    frame = compare(ra, rb, level)
    if fmt == Format.json:
        emit(frame, fmt, json_obj={"a": ra.name, "b": rb.name, "level": level, "rows": records(frame),
                                   "totals": {"a": ra.totals(), "b": rb.totals()}})
        return
    if fmt == Format.csv:
        emit(frame, fmt)
        return
    keys = [c for c in ("year", "hs2", "sector", "importer", "exporter", "hs") if c in frame.columns]
    shown = keys + [f"{c}_{s}" for c in ("trade_creation", "tariff_revenue_change", "consumer_surplus_change")
                    for s in ("a", "b", "diff")]
    table = frame[shown].rename(columns=lambda c: c.replace("trade_creation", "creation")
                                .replace("tariff_revenue_change", "revenue").replace("consumer_surplus_change", "CS"))
    console = Console()
    console.print(rich_table(_keys_as_text(table), title=f"A = {ra.name}, B = {rb.name} (USD millions; diff = B − A)"))
    console.print(ra.summary(), highlight=False)
    console.print(rb.summary(), highlight=False)


@app.command("scenarios", epilog="Examples:\n\n  tradepact scenarios\n\n  tradepact scenarios --format json")
def scenarios_cmd(fmt: Format = typer.Option(Format.table, "--format", help="table, csv or json")) -> None:
    """List the built-in scenarios (name, years, models, description)."""
    import pandas as pd

    from tradepact.simulate.scenario import builtin_scenario_info

    frame = pd.DataFrame(builtin_scenario_info())
    if fmt == Format.table:
        frame["description"] = [d if len(d) <= 90 else d[:87].rsplit(" ", 1)[0] + "…" for d in frame["description"]]
    emit(frame, fmt, title="Built-in scenarios (run with `tradepact simulate NAME`)")
