"""``tradepact estimate``: fit a PPML (or OLS) gravity model on a CSV/Parquet file."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from tradepact.cli.app import app
from tradepact.errors import ConfigError, DataFormatError

if TYPE_CHECKING:
    import pandas as pd


class EstimateFormat(str, Enum):
    table = "table"
    json = "json"
    latex = "latex"
    markdown = "markdown"
    html = "html"


class Model(str, Enum):
    ppml = "ppml"
    ols = "ols"


def load_data(path: str, where: str | None = None, store: str | None = None) -> pd.DataFrame:
    """Read ``path`` (CSV or Parquet, or ``ledger:DATASET[:PRODUCT]`` from the ledger store) and
    keep the rows where ``where`` holds (one boolean expression over the columns, checked by
    :func:`~tradepact.ledger.row_filter.compile_where`). Missing ``exp_year``, ``imp_year`` and
    ``pair_id`` columns are added from ``exporter, importer, year``."""
    import duckdb

    con = duckdb.connect()
    try:
        if path.startswith("ledger:"):
            from tradepact.gravity.panel import add_ids, panel_from_store

            parts = path.split(":", 2)[1:]
            dataset = parts[0] or None
            product = parts[1] if len(parts) > 1 and parts[1] else None
            frame = panel_from_store(store, dataset=dataset, product=product)
            if not where:
                return add_ids(frame)
            rel, source = con.from_df(frame), path
        else:
            p = Path(path)
            if not p.exists():
                raise DataFormatError(file=p, expected="an existing CSV or Parquet file", got="no such file")
            suffix = p.suffix.lower()
            if suffix not in (".parquet", ".pq", ".csv", ".txt", ".gz"):
                raise DataFormatError(file=p, expected="a .csv or .parquet file", got=p.suffix or "no extension")
            try:
                if suffix in (".parquet", ".pq"):
                    rel = con.read_parquet(str(p))
                else:
                    rel = con.read_csv(str(p), delimiter=_delimiter(p), header=True, skiprows=0)
            except duckdb.Error as exc:
                if suffix not in (".parquet", ".pq"):
                    _locate_csv_fault(p)
                raise DataFormatError(file=p, expected="a readable CSV/Parquet table",
                                      got=str(exc).splitlines()[0]) from None
            source = str(p)
        if where:
            from tradepact.ledger.row_filter import compile_where

            rel = rel.filter(compile_where(where, rel.columns))
        try:
            frame = rel.df()  # pandas is first imported here, by the read
        except duckdb.Error as exc:
            msg = str(exc).splitlines()[0]
            if where:
                raise ConfigError(f"--where {where!r} could not be applied to {source}: {msg}") from None
            raise DataFormatError(file=source, expected="a readable CSV/Parquet table", got=msg) from None
    finally:
        con.close()
    from tradepact.gravity.panel import add_ids

    return add_ids(frame)


def _open_text(p: Path):
    import gzip

    return gzip.open(p, "rt", newline="") if p.suffix.lower() == ".gz" else p.open(newline="")


def _delimiter(p: Path) -> str:
    """The CSV delimiter, read from the header line (the most frequent of , ; tab |), so a
    ragged row is an error instead of DuckDB re-guessing the whole file as one column."""
    with _open_text(p) as fh:
        header = fh.readline()
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _locate_csv_fault(p: Path) -> None:
    """Raise a DataFormatError naming the first row whose field count differs from the header
    (or an unterminated quote); return quietly if the CSV module finds nothing wrong."""
    import csv

    delim = _delimiter(p)
    with _open_text(p) as fh:
        reader = csv.reader(fh, delimiter=delim, strict=True)
        try:
            header = next(reader, [])
            for row in reader:
                if len(row) != len(header) and row:
                    raise DataFormatError(file=p, row=reader.line_num - 1,
                                          expected=f"{len(header)} fields as in the header",
                                          got=f"{len(row)} fields")
        except csv.Error as exc:
            raise DataFormatError(file=p, row=reader.line_num - 1, expected="well-formed CSV",
                                  got=str(exc)) from None


@app.command("estimate", epilog="Examples:\n\n  tradepact estimate agtpa_applications.csv -f \"trade ~ log(dist) + cntg + lang + clny | exporter^year + importer^year\" --where \"year = 2006 and exporter <> importer\"\n\n  tradepact estimate agtpa_applications.csv -f \"trade ~ csw(rta, rta_lag4) | exporter^year + importer^year + pair_id\" --where \"year in (1994, 1998, 2002, 2006)\" --format markdown")
def estimate_cmd(
    data: str = typer.Argument(..., help="CSV or Parquet file with one row per exporter-importer-year, or "
                               "ledger:DATASET[:PRODUCT] to read the ledger store (goods summed + gravity covariates)."),
    formula: str = typer.Option(..., "--formula", "-f", help='y ~ regressors | fixed effects, as in fixest: log(), exp(), '
                                'sqrt(), I(), a:b, a*b, C(x), i(x, d, ref=r), sw()/csw(); a^b combines fixed effects; '
                                '"y ~ 1 | fe" fits fixed effects alone. E.g. "trade ~ rta | exp_year + imp_year + pair_id"'),
    model: Model = typer.Option(Model.ppml, "--model", help="ppml (default) or ols"),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="cluster variable(s): a column, 'a^b' (e.g. exp^imp), "
                                          "'a + b' for two-way (default pair_id if present)"),
    vcov: Optional[str] = typer.Option(None, "--vcov", help="iid | hetero | cluster (default: cluster when a cluster variable is known)"),
    ssc: str = typer.Option("fixest", "--ssc", help="small-sample convention: fixest | stata | none"),
    where: Optional[str] = typer.Option(None, "--where", help='keep rows where this boolean expression over the columns holds, e.g. "year in (1986,1990,1994) and exporter <> \'USA\'"'),
    fmt: EstimateFormat = typer.Option(EstimateFormat.table, "--format", help="table | json | latex | markdown | html"),
    tol: float = typer.Option(1e-8, "--tol", help="relative deviance change for convergence"),
    keep_singletons: bool = typer.Option(False, "--keep-singletons", help="keep rows alone in a fixed-effect level "
                                         "(dropped by default, as ppmlhdfe and pyfixest do; fixest keeps them)"),
    store: Optional[str] = typer.Option(None, "--store", envvar="TRADEPACT_STORE", help="ledger store (for ledger:…)"),
    by: Optional[str] = typer.Option(None, "--by", help="fit one model per group of this column (e.g. sector)"),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", envvar="TRADEPACT_SCHEDULER",
                                            help="with --by: serial | local (default) | tcp://host:8786"),
    results: Optional[str] = typer.Option(None, "--results", help="with --by: keep each fitted group here; a "
                                          "re-run fits only the missing ones"),
) -> None:
    """Estimate a structural gravity model and print the coefficients."""
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(f"reading {data}…"):
        df = load_data(data, where, store)
    # the estimator and the output formats are imported once the data are read (start-up before the read
    # stays short, and a missing or unreadable file is reported without loading them)
    from tradepact.cli.output import Format, emit_result, print_json, rich_table
    from tradepact.gravity import etable, ols, ppml

    if by:
        from tradepact.cli.estimate_by import run_by

        run_by(df, model=model.value, formula=formula, by=by, fmt="json" if fmt == EstimateFormat.json else "table",
               scheduler=scheduler, results=results, options=dict(
                   vcov=vcov, cluster=cluster, ssc=ssc, drop_singletons=not keep_singletons,
                   **({"tol": tol} if model == Model.ppml else {})))
        return
    with console.status(f"estimating {model.value.upper()} on {len(df):,} rows…"):
        fn = ppml if model == Model.ppml else ols
        kw = {"tol": tol} if model == Model.ppml else {}
        try:
            res = fn(df, formula, vcov=vcov, cluster=cluster, ssc=ssc, drop_singletons=not keep_singletons, **kw)
        except DataFormatError as exc:
            if exc.file is None and not data.startswith("ledger:"):  # name the file the user gave
                raise DataFormatError(file=data, row=exc.row, field=exc.field, expected=exc.expected,
                                      got=exc.got, message=None if exc.expected else str(exc)) from None
            raise
    if isinstance(res, list):  # sw()/csw(): several models, one table
        if fmt == EstimateFormat.json:
            print_json(res.to_dict())
        else:
            typer.echo(etable(res, format={"latex": "latex", "html": "html"}.get(fmt.value, "markdown")))
        return
    if fmt == EstimateFormat.json:
        emit_result(res, Format.json)
    elif fmt == EstimateFormat.latex:
        typer.echo(etable([res], format="latex"))
    elif fmt == EstimateFormat.markdown:
        typer.echo(etable([res], format="markdown"))
    elif fmt == EstimateFormat.html:
        typer.echo(etable([res], format="html"))
    else:
        out = Console()
        out.print(rich_table(res.to_frame(), title=f"{model.value.upper()}: {formula}", floatfmt="{:.4f}"))
        dropped = ", ".join(f"{k}={v:,}" for k, v in res.dropped.items()) or "none"
        out.print(f"nobs {res.nobs:,} · dropped {dropped} · SE {res.vcov_type} · converged in {res.iterations} "
                  "iterations", style="dim")
