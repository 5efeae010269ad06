"""``tradepact ge``: general-equilibrium counterfactuals from pair data, as in the book and gegravity.

Example (Yotov et al. 2016 ch. 2, "trade without borders")::

    tradepact ge trade_without_border_2006.csv --theta 6 \\
        --costs "ln_DIST=-0.7912879,CNTG=0.6736456,INTL_BRDR=-2.47445" --set "INTL_BRDR=0" \\
        --reference ZZZ --baseline fitted --closure full --format json

DATA is CSV or Parquet with one row per ordered pair (domestic included): ``exporter``,
``importer``, ``trade`` (override with ``--exporter/--importer/--trade``) and the cost
variables. A cost variable ``ln_X`` that is not a column is computed as log(X) from column
``X``; a column already holding the log is used as it is.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer

from tradepact.cli.app import app
from tradepact.cli.options import parse_assignments, parse_pairs
from tradepact.cli.output import Format, emit_result
from tradepact.errors import ConfigError, DataFormatError


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise DataFormatError(file=path, expected="an existing CSV or Parquet file", got="no such file")
    parquet = path.suffix.lower() in (".parquet", ".pq")
    try:
        return pd.read_parquet(path) if parquet else pd.read_csv(path)
    except Exception as exc:  # pandas/pyarrow parser errors
        raise DataFormatError(file=path, expected="Parquet" if parquet else "CSV",
                              got=" ".join(str(exc).split())[:160]) from None


def _read_estimate(path: Path):
    """Estimate file → (coefficients, std errors, covariance or None).

    CSV ``term, estimate[, std_error]``; or JSON ``{"params": {term: value}, "vcov": {term: {term: value}}}``
    (optionally ``"std_errors"``), e.g. written from ``res.params.to_dict()`` and ``res.vcov.to_dict()``.
    """
    if path.suffix.lower() == ".json":
        import json

        try:
            obj = json.loads(path.read_text())
            coefs = {str(k): float(v) for k, v in obj["params"].items()}
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataFormatError(file=path, field="params", expected='JSON {"params": {...}, "vcov": {...}}',
                                  got=str(exc)[:80]) from None
        vcov = pd.DataFrame(obj["vcov"]).astype(float) if "vcov" in obj else None
        ses = {str(k): float(v) for k, v in obj.get("std_errors", {}).items()}
        if vcov is not None:
            if list(vcov.index) != list(vcov.columns) or not (vcov.to_numpy() == vcov.to_numpy().T).all():
                raise DataFormatError(file=path, field="vcov", expected="a symmetric square matrix", got=vcov.shape)
            ses = ses or {k: float(vcov.at[k, k]) ** 0.5 for k in vcov.index}
        return coefs, ses, vcov
    df = _read(path)
    cols = {c.lower(): c for c in df.columns}
    term = cols.get("term") or cols.get("var") or cols.get("name")
    est = cols.get("estimate") or cols.get("coef") or cols.get("coeff")
    if term is None or est is None:
        raise DataFormatError(file=path, field="term/estimate", expected="columns term, estimate[, std_error]",
                              got=list(df.columns))
    se = cols.get("std_error") or cols.get("se") or cols.get("ste")
    coefs = dict(zip(df[term].astype(str), pd.to_numeric(df[est], errors="raise")))
    ses = dict(zip(df[term].astype(str), pd.to_numeric(df[se], errors="raise"))) if se else {}
    return coefs, ses, None


@app.command("ge", epilog="Examples:\n\n  tradepact ge trade_without_border_2006.csv --theta 7 --costs \"ln_DIST=-0.79,CNTG=0.67,INTL_BRDR=-2.47\" --set INTL_BRDR=0 --closure conditional")
def ge_command(
    data: Path = typer.Argument(..., help="Pair data (CSV/Parquet): exporter, importer, trade, cost variables."),
    theta: float = typer.Option(..., "--theta", help="Trade elasticity θ = σ − 1 (> 0)."),
    costs: Optional[str] = typer.Option(None, "--costs", help='Coefficients, e.g. "ln_DIST=-0.79,CNTG=0.67,INTL_BRDR=-2.47".'),
    set_: Optional[str] = typer.Option(None, "--set", help='Counterfactual values, e.g. "INTL_BRDR=0".'),
    pairs: Optional[str] = typer.Option(None, "--pairs", help='Apply --set only to these directional pairs, e.g. "CAN>USA,USA>CAN".'),
    year: Optional[int] = typer.Option(None, "--year", help="Keep rows of this year (column 'year')."),
    output: Optional[str] = typer.Option(None, "--output", help="Column with each exporter's output (as gegravity); default: sum of its flows."),
    expenditure: Optional[str] = typer.Option(None, "--expenditure", help="Column with each importer's expenditure; default: sum of its flows."),
    reference: Optional[str] = typer.Option(None, "--reference", help="Reference country whose price index is fixed (book: DEU)."),
    baseline: str = typer.Option("fitted", "--baseline", help="fitted (GEPPML/gegravity) or observed (hat algebra on the data)."),
    closure: str = typer.Option("full", "--closure", help="full | conditional | gegravity (compatibility with gegravity 0.3)."),
    deficits: str = typer.Option("multiplicative", "--deficits", help="multiplicative (E/Y fixed) or additive (levels fixed)."),
    from_estimate: Optional[Path] = typer.Option(None, "--from-estimate", help="Estimate: CSV term,estimate[,std_error] or JSON {params, vcov}; --costs entries override."),
    draws: int = typer.Option(0, "--draws", help="Monte Carlo draws of the coefficients (needs std errors) for 95% bands."),
    theta_se: Optional[float] = typer.Option(None, "--theta-se", help="Standard error of θ for the Monte Carlo."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the Monte Carlo."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", envvar="TRADEPACT_SCHEDULER",
                                            help="Where --draws run: serial | local (default) | tcp://host:8786."),
    results: Optional[Path] = typer.Option(None, "--results", help="Keep finished Monte Carlo chunks here; a re-run "
                                           "solves only the missing ones."),
    exporter: str = typer.Option("exporter", "--exporter"),
    importer: str = typer.Option("importer", "--importer"),
    trade: str = typer.Option("trade", "--trade"),
    fmt: Format = typer.Option(Format.table, "--format", help="table | csv | json"),
) -> None:
    """Solve a GE counterfactual (conditional and full/gegravity closures) and print per-country results."""
    from tradepact.simulate.ge.workflow import counterfactual_from_frame, monte_carlo_from_frame

    if baseline not in ("fitted", "observed"):
        raise ConfigError(f"--baseline must be fitted or observed, got {baseline!r}")
    coefs: dict[str, float] = {}
    ses: dict[str, float] = {}
    vcov = None
    if from_estimate is not None:
        coefs, ses, vcov = _read_estimate(from_estimate)
    coefs.update(parse_assignments(costs, "--costs"))
    set_values = parse_assignments(set_, "--set")
    frame = _read(data)
    kw = dict(set_values=set_values, pairs=parse_pairs(pairs), year=year, output=output, expenditure=expenditure,
              reference=reference, baseline=baseline, closure=closure, deficits=deficits, exporter=exporter,
              importer=importer, trade=trade, file=str(data))
    cf = counterfactual_from_frame(frame, theta=theta, costs=coefs, **kw)
    if draws:
        cf.bands = monte_carlo_from_frame(frame, costs=coefs, std_errors=ses, theta=theta, theta_se=theta_se,
                                          draws=draws, seed=seed, progress=True, vcov=vcov, scheduler=scheduler,
                                          results=results, **kw)
        if cf.bands.errors:
            from rich.console import Console

            err = Console(stderr=True)
            for e in cf.bands.errors:
                err.print(f"[red]failed[/] {e}", highlight=False, soft_wrap=True)
    _print_ge(cf, fmt, baseline, deficits)
    if cf.bands is not None and cf.bands.errors:
        raise typer.Exit(1)


def _print_ge(cf, fmt: Format, baseline: str, deficits: str) -> None:
    """JSON and CSV straight from the result; the table with short headings and the solver's note."""
    if fmt != Format.table:
        emit_result(cf, fmt)
        return
    table = cf.to_frame()
    rep = cf.main.report
    note = (f"closure={cf.main.closure}, baseline={baseline}, deficits={deficits}; solver {rep.iterations} "
            f"iterations, max relative excess demand {rep.residual:.1e}")
    if cf.main.baseline.domestic_approximated.any():
        note += "; " + "; ".join(cf.main.baseline.notes) + " (rows marked *)"
    short = {"exports_change_pct_conditional": "exports % (cond.)", "exports_change_pct_full": "exports %",
             "real_gdp_change_pct": "real GDP %", "price_change_pct": "factory price %",
             "price_index_change_pct": "price index %", "welfare_change_pct": "welfare %",
             "imports_change_pct_full": "imports %", "balance_change": "balance Δ"}
    shown = table.rename(columns=short)
    shown["observed domestic"] = ~table["domestic_approximated"]
    shown = shown.drop(columns=["domestic_approximated"])
    for c in shown.columns:
        if c not in ("country", "observed domestic"):
            shown[c] = shown[c].map(lambda v: f"{v:,.4f}")
    emit_result(cf, fmt, table=shown, title="GE counterfactual: changes by country", flag_column="observed domestic",
                footnote=note)
