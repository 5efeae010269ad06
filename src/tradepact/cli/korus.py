"""`tradepact korus`: the main job — the KORUS report on built-in data, with a terminal summary."""
from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import Progress, SpinnerColumn, TextColumn

from tradepact.cli.app import app
from tradepact.cli.output import Format, output_dir, print_json, records, rich_table


@app.command("korus", epilog="Examples:\n\n  tradepact korus\n\n  tradepact korus --out korus-2026")
def korus_cmd(
    out: Path = typer.Option(Path("korus-report"), "--out", help="Directory for the HTML report"),
    fmt: Format = typer.Option(Format.table, "--format",
                               help="table: summary + HTML report; json: the claims and the ex-post object (no report)."),
) -> None:
    """Check the KORUS debate's claims and write the self-contained HTML report (opens offline)."""
    if fmt == Format.json:
        from tradepact.data import korus
        from tradepact.ledger.balances import bilateral
        from tradepact.ledger.claims import check_claims
        from tradepact.report.sections.expost import korus_expost

        summary, _ = check_claims(korus().claims, bilateral("USA", "KOR"))
        print_json({"claims": records(summary), "expost": korus_expost().to_dict()})
        return
    from tradepact.report.korus import KORUS_SECTIONS, korus_report, korus_sections

    output_dir(out, keep=("index.html",))
    console = Console()
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True) as bar:
        task = bar.add_task("building report", total=len(KORUS_SECTIONS))
        sections = korus_sections(lambda name: bar.update(task, description=f"section: {name}", advance=1))
    report = korus_report(sections)
    path = report.write(out)

    lines = [f"[bold]{s.title}[/]: {s.summary}" for s in sections if s.summary]
    console.print(Panel("\n".join(lines), title="KORUS — summary", expand=False))
    claims = next((s for s in sections if s.id == "claims"), None)
    if claims is not None:
        table = next(b for b in claims.blocks if getattr(b, "name", "") == "claims")
        shown = table.frame[["claim", "evidence", "verdict", "confirmed"]]
        console.print(rich_table(shown, title="Claims checked", flag_column="confirmed", flag_text="⚠"))
    console.print(f"Report written to [bold]{path}[/] (self-contained HTML; open it in a browser).")
