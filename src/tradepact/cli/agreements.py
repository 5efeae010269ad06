"""CLI: ``tradepact agreements`` and ``tradepact schedule`` (thin: parse, call the library, render).

Examples::

    tradepact agreements
    tradepact schedule korus --importer KOR --exporter USA --hs 0201 --years 2012-2026
    tradepact schedule korus --importer USA --hs 8704 --years 2017-2042 --as-of 2017-12-31 --format json
    tradepact schedule korus --changes
    tradepact schedule --file my.yaml --importer KOR --hs 0201
"""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.console import Console

from tradepact import countries
from tradepact.agreements import (
    builtin_agreements,
    describe_category,
    load_agreement,
    quotas,
    rates,
    text_as_of,
)
from tradepact.agreements import changes as amendment_changes
from tradepact.cli.app import app
from tradepact.cli.output import Format, emit, warn
from tradepact.errors import ConfigError

AGREEMENT_HELP = "Built-in agreement name (see `tradepact agreements`) or path to a YAML file."
FILE_HELP = "Agreement YAML file (instead of a built-in name)."


def _resolve(agreement: Optional[str], file: Optional[Path]):
    if file is not None and agreement is not None:
        raise ConfigError("give either an agreement name or --file, not both")
    if agreement is None and file is None:
        raise ConfigError(f"name an agreement ({', '.join(builtin_agreements())}) or give --file my.yaml")
    # a full annex schedule can take seconds to validate: show a spinner on stderr (stdout stays clean)
    with Console(stderr=True).status(f"loading and validating {file or agreement}", spinner="dots"):
        return load_agreement(file if file is not None else agreement)


def parse_years(text: str) -> list[int]:
    """``"2012-2026"``, ``"2018"`` or ``"2012,2015,2020-2022"`` -> sorted list of years."""
    years: set[int] = set()
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d{4})\s*(?:-\s*(\d{4})\s*)?", part)
        if not m:
            raise ConfigError(f"--years: expected YYYY, YYYY-YYYY or a comma list, got {text!r}")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise ConfigError(f"--years {part.strip()}: the first year is after the last; write {hi}-{lo}")
        if hi - lo > 200:
            raise ConfigError(f"--years {part.strip()}: a range of more than 200 years; check the years")
        years.update(range(lo, hi + 1))
    return sorted(years)


def _parse_date(text: Optional[str]) -> Optional[dt.date]:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--as-of: expected a date YYYY-MM-DD, got {text!r}") from None


def _pct(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{100 * v:.2f}%"


def _warn_outside(ag, codes: list[str], yrs: list[int], res: pd.DataFrame) -> None:
    """Say so when a code is outside the HS or no line covers it, or a year precedes entry into force."""
    from tradepact import products

    for c in codes:
        if not products.in_nomenclature(products.clean(c)):
            warn(f"--hs {c}: chapter {c[:2]} is not an HS chapter (01–97; 77 is reserved, 98–99 are national)")
    unscheduled = sorted(set(res.loc[res["line_id"].isna(), "hs"].astype(str)))
    if unscheduled:
        warn(f"--hs {', '.join(unscheduled)}: no line of the {ag.id} schedule covers this code, so no rate is shown")
    before = [y for y in yrs if y < ag.entry_into_force.year]
    if before:
        span = f"{before[0]}–{before[-1]}" if len(before) > 1 else str(before[0])
        warn(f"--years {span}: before {ag.id} entered into force ({ag.entry_into_force}); "
             "the rates shown are the agreement's base rates, not necessarily what was applied then")


@app.command("agreements", epilog="Examples:\n\n  tradepact agreements\n\n  tradepact agreements --file my.yaml --format json")
def agreements_cmd(
    file: Optional[Path] = typer.Option(None, "--file", help="Validate and describe this agreement YAML file."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """List the built-in agreements (or describe one YAML file given with --file)."""
    ags = [load_agreement(file)] if file is not None else [load_agreement(n) for n in builtin_agreements()]
    rows = [{
        "agreement": (str(file) if file is not None else n),
        "id": ag.id, "name": ag.name, "parties": ", ".join(ag.parties),
        "signed": ag.signed, "entry_into_force": ag.entry_into_force, "lines": len(ag.lines),
        "amendments": ", ".join(f"{a.id} ({a.effective})" for a in ag.amendments),
    } for n, ag in zip(builtin_agreements() if file is None else [str(file)], ags)]
    frame = pd.DataFrame(rows)
    if fmt == Format.table:
        frame = frame.drop(columns=["id", "signed"]).assign(
            amendments=[", ".join(a.id for a in ag.amendments) for ag in ags])
    emit(frame, fmt, title="Agreements" if file is None else "Agreement file")


@app.command("schedule", epilog="Examples:\n\n  tradepact schedule korus --importer KOR --exporter USA --hs 0201 --years 2012-2026\n\n  tradepact schedule korus --changes")
def schedule_cmd(
    agreement: Optional[str] = typer.Argument(None, help=AGREEMENT_HELP, show_default=False),
    file: Optional[Path] = typer.Option(None, "--file", help=FILE_HELP),
    importer: Optional[str] = typer.Option(None, "--importer", help="Importing party (ISO3)."),
    exporter: Optional[str] = typer.Option(None, "--exporter",
                                           help="Exporter (ISO3); default: the other party of a two-party agreement."),
    hs: Optional[str] = typer.Option(None, "--hs", help="HS code(s), comma-separated (any level; 0201, 870323)."),
    years: Optional[str] = typer.Option(None, "--years", help="Years: 2012-2026, 2018 or 2012,2016."),
    as_of: Optional[str] = typer.Option(None, "--as-of",
                                        help="See the agreement as it stood on this date (YYYY-MM-DD)."),
    day: Optional[str] = typer.Option(None, "--day", help="Day of entry MM-DD, for seasonal lines."),
    changes: bool = typer.Option(False, "--changes", help="List what each amendment changed."),
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
) -> None:
    """Tariff rates by year under an agreement, the schedule's lines, or what amendments changed.

    Rates are printed in percent in tables and as fractions in CSV/JSON."""
    ag = _resolve(agreement, file)
    on = _parse_date(as_of)
    console = Console()
    if changes:
        ch = amendment_changes(ag)
        if on is not None:
            ch = ch[ch["effective"] <= on]
        if fmt == Format.table:
            tab = ch[ch["target_kind"] != "category"]  # category rules show up in the line rows
            what = tab["note"].where(tab["note"] != "", tab["field"] + ": " + tab["before"] + " -> " + tab["after"])
            shown = pd.DataFrame({"amendment": tab["amendment"], "effective": tab["effective"],
                                  "target": tab["target"], "change": what, "confirmed": tab["confirmed"]})
            emit(shown, fmt, title=f"{ag.name}: what each amendment changed", flag_column="confirmed",
                 footnote="Rows marked * rest on unconfirmed figures." if not ch["confirmed"].all() else None)
            out = ch[ch["outside_agreement"]]
            for _, r in out.drop_duplicates("amendment").iterrows():
                console.print(f"[yellow]{r['amendment']}[/] is a measure outside the agreement text: "
                              f"{r['amendment_name']}", highlight=False)
        else:
            emit(ch, fmt)
        return
    if hs is None:  # the schedule's lines as they stood
        text = text_as_of(ag, on)
        frame = pd.DataFrame([{
            "line_id": ln.id, "importer": ln.importer, "hs": ";".join(ln.hs), "description": ln.description,
            "base_rate": ln.effective_base, "category": ln.category,
            "staging": describe_category(text.categories[ln.category]),
            "amendment": text.line_amendment.get(ln.id), "source": ln.source, "confirmed": ln.confirmed,
        } for ln in text.lines if importer is None or ln.importer == importer.upper()])
        if fmt == Format.table:
            shown = frame.drop(columns=["source"]).assign(base_rate=frame["base_rate"].map(_pct))
            emit(shown, fmt, title=f"{ag.name}: schedule lines" + (f" as of {on}" if on else ""),
                 flag_column="confirmed", footnote="Lines marked * have an unconfirmed base rate or staging.")
        else:
            emit(frame, fmt)
        q = quotas(ag, (on or dt.date.today()).year, as_of=on)
        if fmt == Format.table and len(q):
            qq = q[["id", "kind", "importer", "hs", "volume", "unit", "outside_agreement", "confirmed"]]
            emit(qq, fmt, title="Quantity limits (this year)", flag_column="confirmed")
        return
    if importer is None:
        raise ConfigError("--importer is required with --hs (e.g. --importer KOR)")
    imp = importer.upper()
    for flag, code in (("--importer", imp), ("--exporter", exporter)):
        if code is not None and not countries.is_valid(code.upper()):
            raise ConfigError(f"{flag}: unknown country code {code!r} (expected ISO3, e.g. KOR)")
    if exporter is None:
        others = [p for p in ag.parties if p != imp]
        if len(ag.parties) != 2 or len(others) != 1:
            raise ConfigError(f"--exporter is required ({imp} is not one of two parties {', '.join(ag.parties)})")
        exporter = others[0]
    exp = exporter.upper()
    yrs = parse_years(years) if years else list(range(ag.entry_into_force.year - 1, ag.entry_into_force.year + 16))
    codes = [c.strip() for c in hs.split(",") if c.strip()]
    frame = pd.DataFrame([{"importer": imp, "exporter": exp, "hs": c, "year": y} for c in codes for y in yrs])
    if day is not None:
        frame["day"] = day
    res = rates(ag, frame, as_of=on)
    _warn_outside(ag, codes, yrs, res)
    cols = ["year", "hs", "rate", "base_rate", "category", "line_id", "amendment", "stage", "importer",
            "exporter", "source", "confirmed"]
    if res["quota_volume"].notna().any():
        cols += ["in_quota_rate", "quota_volume", "quota_unit"]
    res = res[cols]
    if fmt == Format.table:
        shown = res.drop(columns=["source", "importer", "exporter"]).assign(
            rate=res["rate"].map(_pct), base_rate=res["base_rate"].map(_pct))
        if "in_quota_rate" in shown:
            shown["in_quota_rate"] = res["in_quota_rate"].map(_pct)
        title = f"{ag.name}: {imp} tariff on goods from {exp}" + (f" (as of {on})" if on else "")
        emit(shown, fmt, title=title, flag_column="confirmed",
             footnote="Rows marked * rest on an assumption (unconfirmed). Sources: --format csv/json.")
    else:
        emit(res, fmt)
