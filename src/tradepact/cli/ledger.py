"""`tradepact ledger A B`: a pair's goods, services and total balances per year, before vs after."""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from tradepact.cli.app import app
from tradepact.cli.output import Format, emit, rich_table
from tradepact.errors import ConfigError


SHORT = {"goods_exports": "goods X", "goods_imports": "goods M", "goods_balance": "goods bal",
         "services_exports": "serv X", "services_imports": "serv M", "services_balance": "serv bal",
         "total_balance": "total bal"}


def agreement_entry_into_force(name: str) -> dt.date:
    """Entry-into-force date of a built-in agreement or an agreement YAML file."""
    from tradepact.agreements import load_agreement

    return load_agreement(name).entry_into_force


def _builtin_agreement_between(a: str, b: str) -> dt.date | None:
    """Entry into force of the built-in agreement both countries are party to, if there is one."""
    from tradepact import countries
    from tradepact.agreements import builtin_agreements, load_agreement

    pair = {countries.normalize(a), countries.normalize(b)}
    for name in builtin_agreements():
        ag = load_agreement(name)
        if pair <= set(ag.parties):
            return ag.entry_into_force
    return None


def _parse_date(text: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from exc


@app.command("ledger", epilog="Examples:\n\n  tradepact ledger USA KOR --from 2006 --to 2024\n\n  tradepact ledger KOR USA --agreement korus --format csv")
def ledger_cmd(
    a: str = typer.Argument(..., metavar="A", help="Country whose point of view is taken (ISO3), e.g. USA"),
    b: str = typer.Argument(..., metavar="B", help="Partner country (ISO3), e.g. KOR"),
    start: Optional[int] = typer.Option(None, "--from", help="First year"),
    end: Optional[int] = typer.Option(None, "--to", help="Last year"),
    since: Optional[str] = typer.Option(None, help="Agreement entry into force (YYYY-MM-DD) for before/after"),
    agreement: Optional[str] = typer.Option(None, help="Take --since from an agreement: a built-in name (korus) or a YAML file"),
    store: Optional[Path] = typer.Option(None, envvar="TRADEPACT_STORE", help="Ledger store directory"),
    fmt: Format = typer.Option(Format.table, "--format", help="table, csv or json"),
    allow_gaps: bool = typer.Option(False, "--allow-gaps",
                                    help="Average over a before/after period even when years in it have no data"),
) -> None:
    """Goods/services/total balance of A with B per year (USD millions), with before/after averages.

    JSON: a list of records, one per year (year, goods_exports, goods_imports, goods_balance,
    services_exports, services_imports, services_balance, total_balance, confirmed, source).
    """
    from tradepact.ledger.balances import before_after, bilateral, distinct_sources, vintages, years_text

    if start is not None and end is not None and start > end:
        raise ConfigError(f"--from {start} is after --to {end}; swap them")
    frame = bilateral(a, b, start, end, store=store)
    if frame.attrs.get("missing_years"):
        Console(stderr=True).print(
            f"[yellow]warning:[/] no data for {years_text(frame.attrs['missing_years'])} "
            f"(the data cover {frame.attrs['covered']}); those years are not shown", highlight=False, soft_wrap=True)
    eif = None
    if since:
        eif = _parse_date(since, "--since")
    elif agreement:
        eif = agreement_entry_into_force(agreement)
    else:
        eif = _builtin_agreement_between(a, b)
    if fmt != Format.table:
        emit(frame, fmt)
        return
    console = Console()
    shown = frame.drop(columns=["source", "goods_confirmed", "services_confirmed", "vintage"]).rename(columns=SHORT)
    console.print(rich_table(shown, title=f"{a.upper()} trade with {b.upper()} (USD millions; {frame.attrs['basis']})",
                             flag_column="confirmed", flag_text="⚠", floatfmt="{:,.0f}"))
    if not frame["confirmed"].all():
        console.print("⚠ = a figure of that year is unconfirmed in its source (yellow rows); check before use.",
                      style="yellow")
    if eif is not None:
        ba = before_after(frame, eif, allow_gaps=allow_gaps)
        pct = ba.copy()
        pct["measure"] = pct["measure"].map(SHORT)
        for c in ("before_growth", "after_growth"):
            pct[c] = [f"{v:+.1%}/yr" if v == v else "—" for v in ba[c]]
        pct = pct.rename(columns={"before_years": "before", "before_avg": "avg", "after_years": "after",
                                  "after_avg": "avg ", "before_growth": "growth", "after_growth": "growth "})
        notes = [f"{SHORT.get(m, m)}: {n}" for m, n in zip(ba["measure"], ba["note"]) if n]
        console.print(rich_table(pct.drop(columns="note"), title=f"Before vs after entry into force "
                                 f"({eif.isoformat()}), yearly averages over the years listed",
                                 flag_column="confirmed", flag_text="⚠", floatfmt="{:,.0f}"))
        for n in notes:
            console.print(n, style="yellow")
    console.print("Vintages: " + vintages(frame), style="dim")
    console.print("Sources:", style="dim")
    for src in distinct_sources(frame["source"]):
        console.print(f"  • {src}", style="dim", overflow="ellipsis", no_wrap=True)

