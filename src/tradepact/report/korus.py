"""The KORUS report: every area's ``korus_section()`` in one document.

Each area exposes ``tradepact.report.sections.<area>.korus_section() -> Section`` (built-in
data only). :func:`korus_report` collects them in reading order (ledger, agreements,
gravity/estimates, scenarios/PE, GE, then any others alphabetically). A section that
raises is replaced by a caveat naming the error, so one broken area never hides the rest,
and the failure is returned so the caller can report it.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

from tradepact.report.document import Note, Report, Section

ORDER = ("ledger", "agreements", "agreement", "gravity", "estimates", "pe", "simulate", "scenarios",
         "scenario", "ge")


def section_modules() -> list[str]:
    """Names of the modules in ``tradepact.report.sections`` that define ``korus_section``, in order."""
    import tradepact.report.sections as pkg

    names = [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    return sorted(names, key=lambda n: (ORDER.index(n) if n in ORDER else len(ORDER), n))


def korus_report(progress: Callable[[str], None] | None = None) -> tuple[Report, list[tuple[str, str]]]:
    """Build the KORUS report; returns (report, failures as (module, error) pairs)."""
    from tradepact.errors import TradepactError

    report = Report(title="KORUS: the US–Korea Free Trade Agreement",
                    subtitle="In force 2012-03-15, renegotiated 2018. Built-in data; USD millions unless stated.")
    failures: list[tuple[str, str]] = []
    for name in section_modules():
        if progress:
            progress(name)
        try:
            mod = importlib.import_module(f"tradepact.report.sections.{name}")
            fn = getattr(mod, "korus_section", None)
            if fn is None:
                continue
            report.sections.append(fn())
        except (TradepactError, ImportError, ValueError, KeyError) as exc:
            failures.append((name, f"{type(exc).__name__}: {exc}"))
            report.sections.append(Section(id=f"{name}-failed", title=f"{name} (not available)", blocks=[
                Note(f"This section could not be built: {type(exc).__name__}: {exc}", kind="caveat")],
                summary=f"{name}: not available ({exc})"))
    return report, failures
