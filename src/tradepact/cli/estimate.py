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
    apply an optional SQL ``where`` clause (DuckDB). Missing ``exp_year``, ``imp_year`` and
    ``pair_id`` columns are added from ``exporter, importer, year``."""
    import duckdb

    from tradepact.gravity.panel import add_ids, panel_from_store

    if path.startswith("ledger:"):
        parts = path.split(":", 2)[1:]
        dataset = parts[0] or None
        product = parts[1] if len(parts) > 1 and parts[1] else None
        frame = panel_from_store(store, dataset=dataset, product=product)
        if where:
            con = duckdb.connect()
            try:
                con.register("panel", frame)
                frame = con.execute(f"SELECT * FROM panel WHERE {where}").df()
            except duckdb.Error as exc:
                raise ConfigError(f"--where {where!r} could not be applied: {str(exc).splitlines()[0]}") from None
            finally:
                con.close()
        return add_ids(frame)
    p = Path(path)
    if not p.exists():
        raise DataFormatError(file=p, expected="an existing CSV or Parquet file", got="no such file")
    suffix = p.suffix.lower()
    if suffix in (".parquet", ".pq"):
        rel = f"read_parquet('{p.as_posix()}')"
    elif suffix in (".csv", ".txt", ".gz"):
        rel = f"read_csv_auto('{p.as_posix()}')"
    else:
        raise DataFormatError(file=p, expected="a .csv or .parquet file", got=p.suffix or "no extension")
    sql = f"SELECT * FROM {rel}"
    if where:
        sql += f" WHERE {where}"
    con = duckdb.connect()
    try:
        return add_ids(con.execute(sql).df())
    except duckdb.Error as exc:
        msg = str(exc).splitlines()[0]
        if where:
            raise ConfigError(f"--where {where!r} could not be applied to {p}: {msg}") from None
        raise DataFormatError(file=p, expected="a readable CSV/Parquet table", got=msg) from None
    finally:
        con.close()


@app.command("estimate")
def estimate_cmd(
    data: str = typer.Argument(..., help="CSV or Parquet file with one row per exporter-importer-year, or "
                               "ledger:DATASET[:PRODUCT] to read the ledger store (goods summed + gravity covariates)."),
    formula: str = typer.Option(..., "--formula", "-f", help='fixest syntax, e.g. "trade ~ RTA | exp_year + imp_year + pair_id"'),
    model: Model = typer.Option(Model.ppml, "--model", help="ppml (default) or ols"),
    cluster: Optional[str] = typer.Option(None, "--cluster", help="cluster variable(s): a column, 'a^b' (e.g. exp^imp), "
                                          "'a + b' for two-way (default pair_id if present)"),
    vcov: Optional[str] = typer.Option(None, "--vcov", help="iid | hetero | cluster (default: cluster when a cluster variable is known)"),
    ssc: str = typer.Option("fixest", "--ssc", help="small-sample convention: fixest | stata | none"),
    where: Optional[str] = typer.Option(None, "--where", help='SQL filter, e.g. "year in (1986,1990,1994)"'),
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

    from tradepact.cli.output import Format, emit_result, rich_table
    from tradepact.gravity import etable, ols, ppml

    console = Console(stderr=True)
    with console.status(f"reading {data}…"):
        df = load_data(data, where, store)
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
        res = fn(df, formula, vcov=vcov, cluster=cluster, ssc=ssc, drop_singletons=not keep_singletons, **kw)
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
