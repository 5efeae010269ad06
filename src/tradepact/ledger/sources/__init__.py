"""Loaders of real trade-data formats into the ledger's canonical tables.

``FORMATS`` maps the CLI's format names to loader modules. Each module documents the published
layout and units it reads and exposes ``NAME``, ``TABLES`` and ``prepare(layout, **options)``.
"""
from __future__ import annotations

from types import ModuleType

from tradepact.ledger.sources import baci, census_country, comtrade, gravity_panel, itpd_e, panel, services, wb_dta

FORMATS: dict[str, ModuleType] = {
    "baci": baci,
    "comtrade": comtrade,
    "itpd-e": itpd_e,
    "gravity-panel": gravity_panel,
    "services": services,
    "wb-dta": wb_dta,
    "census-country": census_country,
    "panel": panel,
}

__all__ = ["FORMATS"]
