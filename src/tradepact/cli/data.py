"""``tradepact data import FORMAT PATH...`` and ``tradepact data list``: fill and inspect the ledger store."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tradepact.cli.app import app
from tradepact.cli.output import Format, emit, emit_result, rich_table

data_app = typer.Typer(help="Import trade data into the ledger store and see what it holds.", no_args_is_help=True)
app.add_typer(data_app, name="data")

FORMAT_HELP = "One of: baci, comtrade, itpd-e, gravity-panel, services, wb-dta, census-country, panel."
STORE_HELP = "Store directory (default: $TRADEPACT_STORE or the user data directory)."


@data_app.command("import", epilog="Examples:\n\n  tradepact data import gravity-panel agtpa_applications.csv --store ledger-store\n\n  tradepact data import baci BACI_HS17_Y2022_V202401b.csv --country-codes country_codes_V202401b.csv --store ledger-store")
def import_(
    fmt: str = typer.Argument(..., metavar="FORMAT", help=FORMAT_HELP),
    paths: List[Path] = typer.Argument(..., metavar="PATH...", help="Files in that format."),
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
    country_codes: Optional[Path] = typer.Option(
        None, "--country-codes", help="BACI's country_codes_V*.csv (default: found beside the data file)."),
    hs_rev: Optional[str] = typer.Option(None, "--hs-rev", help="HS revision H0..H6 when the file name does not say (BACI)."),
    source: Optional[str] = typer.Option(None, "--source", help="Provenance text stored with each row."),
    replace: bool = typer.Option(False, "--replace", help="Replace stored rows of the same dataset and years."),
    column_map: Optional[str] = typer.Option(
        None, "--map", help="panel format: FIELD=COLUMN for exporter, importer, year, value [, product]."),
    unit: Optional[str] = typer.Option(None, "--unit", help="panel format: value unit, usd | thousand | million."),
    fmt_out: Format = typer.Option(Format.table, "--format", help="Output: table, csv or json."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", envvar="TRADEPACT_SCHEDULER",
                                            help="Several files are parsed in parallel on: serial | local (default) "
                                                 "| tcp://host:8786; then committed together."),
) -> None:
    """Import files atomically; print rows read, kept and dropped (with reasons)."""
    from tradepact.ledger.store import LedgerStore

    st = LedgerStore.open(store)
    console = Console(stderr=True)
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console, transient=True,
                  disable=fmt_out != Format.table) as bar:
        task = bar.add_task(f"importing {fmt}", total=1.0)

        def progress(message: str, fraction: float) -> None:
            bar.update(task, description=message, completed=fraction)

        options = {"column_map": column_map, "unit": unit} if fmt == "panel" else None
        if fmt != "panel" and (column_map or unit):
            from tradepact.errors import ConfigError

            raise ConfigError("--map and --unit apply to the panel format only")
        report = st.import_files(fmt, paths, country_codes=country_codes, hs_rev=hs_rev, source=source,
                                 replace=replace, progress=progress, scheduler=scheduler or "local",
                                 options=options)
    if fmt_out != Format.table:
        emit_result(report, fmt_out)
        return
    frame = report.to_frame()
    reasons = report.reasons()
    out = Console()
    shown = frame.assign(file=[Path(f).name for f in frame["file"]]).rename(columns={
        "rows_read": "read", "rows_kept": "kept", "rows_dropped": "dropped", "zero_value_rows": "zeros"})
    shown = shown[["file", "read", "kept", "dropped", "zeros", "replaced", "tables", "years"]]
    out.print(rich_table(shown, title=f"Imported into {report.store}", floatfmt="{:,.0f}"))
    if len(reasons):
        out.print("Rows dropped, by reason:", style="bold")
        for rec in reasons.itertuples(index=False):
            out.print(f"  {rec.rows:>12,}  {rec.reason}  [dim]({Path(rec.file).name})[/]", highlight=False)
    else:
        out.print("No rows dropped.", style="dim")
    for f in report.files:
        for note in f.notes:
            out.print(f"Note ({Path(f.file).name}): {note}", style="yellow", highlight=False)
    zeros = int(frame["zero_value_rows"].sum())
    if zeros:
        out.print(f"{zeros:,} zero-value rows were kept (zero flows matter for gravity estimation).", style="dim")


@data_app.command("list", epilog="Examples:\n\n  tradepact data list --store ledger-store")
def list_(
    store: Optional[Path] = typer.Option(None, "--store", help=STORE_HELP),
    fmt_out: Format = typer.Option(Format.table, "--format", help="Output: table, csv or json."),
) -> None:
    """Show what the store holds: tables, datasets, years, rows, files."""
    from tradepact.ledger.store import LedgerStore

    st = LedgerStore.open(store)
    frame = st.contents()
    if fmt_out == Format.table and frame.empty:
        Console().print(f"The store at {st.path} is empty. Fill it with: tradepact data import FORMAT PATH...")
        return
    emit(frame, fmt_out, title=f"Ledger store {st.path}")
