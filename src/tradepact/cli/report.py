"""``tradepact report SCENARIO|korus --out DIR``: the HTML report (and chart images)."""
from __future__ import annotations
