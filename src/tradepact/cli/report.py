"""``tradepact report SCENARIO|korus --out DIR``: a self-contained HTML report plus chart images."""
from __future__ import annotations

from pathlib import Path

import typer

from tradepact.cli.app import app
from tradepact.errors import ConfigError


def _formats(charts: str) -> tuple[str, ...]:
    if charts.strip().lower() in ("", "none"):
        return ()
    from tradepact.report.export import FORMATS

    out = tuple(c.strip().lower() for c in charts.split(",") if c.strip())
    bad = [c for c in out if c not in FORMATS]
    if bad:
        raise ConfigError(f"--charts: unknown format {bad[0]!r}; expected a comma list of {', '.join(FORMATS)} or 'none'")
    return out


@app.command("report", epilog="Examples:\n\n  tradepact report auto-tariff-25 --out auto-report --charts none\n\n  tradepact report korus --out korus-brief --charts none")
def report(
    target: str = typer.Argument(..., help="'korus' for the KORUS report, or a built-in scenario name "
                                           "(e.g. auto-tariff-25), or a scenario YAML file."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Output directory (index.html, charts/)."),
    charts: str = typer.Option("png", help="Chart image formats for briefs: comma list of png,pdf,svg, or 'none'."),
    chart_engine: str = typer.Option("auto", help="auto (kaleido with Chromium, else matplotlib), kaleido or matplotlib."),
) -> None:
    """Write a self-contained HTML report (offline; table of contents, sources, CSV downloads) and chart images."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from tradepact.report.export import ENGINES

    from tradepact.cli.output import output_dir

    formats = _formats(charts)
    output_dir(out, keep=("index.html",))
    if chart_engine not in ENGINES:
        raise ConfigError(f"--chart-engine: expected one of {', '.join(ENGINES)}, got {chart_engine!r}")
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        if target.lower() == "korus":
            from tradepact.report.korus import KORUS_SECTIONS, korus_report, korus_sections

            task = bar.add_task("building sections", total=len(KORUS_SECTIONS) + 1)
            doc = korus_report(korus_sections(lambda n: bar.update(task, advance=1, description=f"section {n}")))
        else:
            task = bar.add_task(f"running scenario {target}", total=3)
            doc = _scenario_report(target)
            bar.update(task, advance=1)
        bar.update(task, description="exporting charts" if formats else "writing HTML")
        path = doc.write(out, charts=formats, engine=chart_engine)
        bar.update(task, completed=bar.tasks[0].total)
    for s in doc.sections:
        if s.summary:
            Console().print(f"• {s.summary}", highlight=False)
    n = len(doc.charts())
    Console().print(f"report: {path}" + (f"  ({n} charts as {', '.join(formats)} in {path.parent / 'charts'})"
                                          if formats and n else ""), highlight=False)


def _scenario_report(target: str):
    """Run a built-in scenario (by name) or a scenario file and build its report."""
    from tradepact.report.scenario import scenario_report
    from tradepact.web import services

    path = Path(target)
    if path.suffix.lower() in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"scenario file {target} not found")
        text = path.read_text(encoding="utf-8")
    else:
        catalog = {s["name"]: s["text"] for s in services.scenario_catalog()}
        if target not in catalog:
            raise ConfigError(f"unknown scenario {target!r}: not a file, not a built-in "
                              f"({', '.join(sorted(catalog)) or 'none installed'}), and not 'korus'")
        text = catalog[target]
    from tradepact.web.safety import InputError

    try:
        payload, summary = services.run_scenario_text(text)
    except InputError as exc:
        raise ConfigError(f"{target}: {exc.message}") from None
    return scenario_report(payload, summary=summary, scenario_text=text)
