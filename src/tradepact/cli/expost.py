"""``tradepact expost AGREEMENT``: did an agreement raise a member's trade? (ex-post gravity on a real panel)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from tradepact.cli.app import app
from tradepact.cli.output import Format, print_json, rich_table
from tradepact.errors import ConfigError

DATA_HELP = ("Panel: 'builtin' (world trade x World Bank DTA, 1964-2016), 'ledger' (the wb-dta dataset of the "
             "ledger store) or a CSV/Parquet file with exporter, importer, year, value (USD millions), agreement_id "
             "[, agreement].")


def parse_window(text: str | None) -> tuple[int, int] | None:
    """``"1988-2016"`` -> (1988, 2016); None stays None."""
    if text is None:
        return None
    parts = text.replace("–", "-").split("-")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ConfigError(f"--window {text!r}: expected FIRST-LAST years, e.g. 1988-2016")
    return int(parts[0]), int(parts[1])


def load_panel(data: str, store: Path | None = None):
    """(panel frame, agreement names or None, description) for ``--data``."""
    if data == "builtin":
        from tradepact.data import dta_agreements, dta_panel

        return dta_panel(), dta_agreements(), "built-in UN Comtrade x World Bank DTA panel (penppml)"
    if data == "ledger":
        from tradepact.ledger.dta import panel_from_store

        panel, names, where = panel_from_store(store)
        return panel, names, where
    path = Path(data)
    if not path.is_file():
        raise ConfigError(f"--data {data!r}: not 'builtin', 'ledger' or an existing CSV/Parquet file")
    import pandas as pd

    frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    return frame, None, str(path)


@app.command("expost", epilog="Examples:\n\n  tradepact expost korus --country USA --window 1988-2016\n\n  tradepact expost --list")
def expost_cmd(
    agreement: str = typer.Argument(None, metavar="AGREEMENT", help="Agreement id or name in the panel (e.g. 211, korus, NAFTA)."),
    country: Optional[str] = typer.Option(None, "--country", help="ISO3 party whose exports/imports are measured (default USA if a party)."),
    window: Optional[str] = typer.Option(None, "--window", help="Years FIRST-LAST (default 1988-2016)."),
    placebos: int = typer.Option(0, "--placebos", min=0, help="Placebo pairs re-estimated for the permutation p-value."),
    seed: int = typer.Option(0, "--seed", help="Seed of the placebo draw."),
    jobs: Optional[int] = typer.Option(None, "--jobs", min=1, help="Worker processes (default: all cores)."),
    data: str = typer.Option("builtin", "--data", help=DATA_HELP),
    store: Optional[Path] = typer.Option(None, "--store", help="Ledger store directory (with --data ledger)."),
    list_: bool = typer.Option(False, "--list", help="List the panel's agreements and exit."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output: table or json."),
) -> None:
    """Estimate an agreement's effect on a member's exports to and imports from its partners (PPML, pair FE)."""
    from tradepact.gravity.expost import expost

    panel, names, where = load_panel(data, store)
    if list_:
        _list(panel, names, fmt)
        return
    if agreement is None:
        raise ConfigError("give an AGREEMENT (id or name; see tradepact expost --list)")
    console = Console(stderr=True)
    t0 = time.perf_counter()
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TimeElapsedColumn(), console=console,
                  transient=True, disable=fmt != Format.table) as bar:
        task = bar.add_task("ex-post estimation", total=1.0)
        res = expost(panel, agreement, country, window=parse_window(window), placebos=placebos, seed=seed,
                     n_jobs=jobs, names=names,
                     progress=lambda msg, frac: bar.update(task, description=msg, completed=frac))
    if fmt == Format.json:
        print_json(res.to_dict())
        return
    if fmt == Format.csv:
        from tradepact.cli.output import emit

        emit(res.to_frame(), fmt)
        return
    _print(res, where, time.perf_counter() - t0)


def _list(panel, names, fmt: Format) -> None:
    import pandas as pd

    from tradepact.cli.output import emit

    used = panel.loc[panel["agreement_id"] > 0].groupby("agreement_id").agg(first=("year", "min"), last=("year", "max"),
                                                                            rows=("year", "size")).reset_index()
    if names is not None:
        used = used.merge(names, on="agreement_id", how="left")
    elif "agreement" in panel.columns:
        used = used.merge(panel[["agreement_id", "agreement"]].drop_duplicates("agreement_id"), on="agreement_id")
    else:
        used["agreement"] = ""
    used = used[["agreement_id", "agreement", "first", "last", "rows"]]
    emit(pd.DataFrame(used), fmt, title="Agreements in the panel")


def _print(res, where: str, seconds: float) -> None:
    out = Console()
    out.print(f"[bold]{res.agreement.name}[/] (id {res.agreement.id}, in force from {res.agreement.entry}): "
              f"{res.country} with {', '.join(res.partners)} — window {res.window[0]}-{res.window[1]}, "
              f"{res.nobs:,} observations ({where})", highlight=False)
    t = res.to_frame()
    shown = t.assign(pct=t["pct"] * 100)[["term", "estimate", "std_error", "pct", "conf_low", "conf_high", "usd_mn",
                                          "p_value", "p_placebo"]]
    out.print(rich_table(shown, title="PPML, exporter-year + importer-year + pair FE, SE clustered by pair "
                                      "(log points; pct = e^b - 1 in %; usd_mn at the last year's flow)",
                         floatfmt="{:,.3f}"))
    ev = res.event_frame()
    if len(ev):
        out.print(rich_table(ev, title=f"Event study (reference: {', '.join(map(str, res.pretrend['reference']))})",
                             floatfmt="{:,.3f}"))
    if res.pretrend.get("p") is not None:
        out.print(f"Pre-trend test (leads = 0): chi2({res.pretrend['df']}) = {res.pretrend['chi2']:.2f}, "
                  f"p = {res.pretrend['p']:.4f}", highlight=False)
    if res.placebo["n"]:
        out.print(f"Placebos: {res.placebo['n']} untreated pairs; permutation p-value exports "
                  f"{res.placebo['p_exports']:.3f}, imports {res.placebo['p_imports']:.3f}", highlight=False)
    import pandas as pd

    sens = pd.DataFrame(res.sensitivity)
    if len(sens):
        sens["window"] = [f"{a}-{b}" for a, b in sens["window"]]
        out.print(rich_table(sens.drop(columns=["pct"]), title="Sensitivity: window and pooling", floatfmt="{:,.3f}"))
    out.print(f"[dim]{seconds:.1f} s[/]")
