"""The KORUS report: every section that works, in one document.

Sections are modules in :mod:`tradepact.report.sections` exposing ``korus_section() -> Section``;
a new section is a module there, listed in :data:`KORUS_SECTIONS`.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable

from tradepact.report.document import Report, Section

#: Section modules, in report order.
KORUS_SECTIONS: list[str] = [
    "ledger",
    "claims",
    "agreement",
    "expost",
    "scenarios",
    "ge",
]


def korus_sections(progress: Callable[[str], None] | None = None) -> list[Section]:
    """Build every KORUS section (``progress`` is called with each section's module name)."""
    out = []
    for name in KORUS_SECTIONS:
        if progress:
            progress(name)
        module = importlib.import_module(f"tradepact.report.sections.{name}")
        out.append(module.korus_section())
    return out


def korus_report(sections: list[Section] | None = None) -> Report:
    """The KORUS report document."""
    return Report(
        title="KORUS: what did the US–Korea agreement do, and what would changing it do?",
        subtitle="tradepact report on built-in data: the trade ledger, the claims of the debate, the "
                 "agreement's tariff schedule, gravity estimates and simulated scenarios.",
        sections=sections if sections is not None else korus_sections(),
    )
