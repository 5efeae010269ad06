"""Fixtures for the agreements tests: a minimal valid agreement and a YAML writer."""
from __future__ import annotations

import copy
import datetime as dt

import pytest
import yaml

MINIMAL = {
    "id": "mini",
    "name": "Minimal test agreement",
    "parties": ["USA", "KOR"],
    "signed": dt.date(2007, 6, 30),
    "entry_into_force": dt.date(2012, 3, 15),
    "staging": {
        "calendar": {"later_cuts_on": "01-01"},
        "categories": {"A": {"kind": "immediate"}, "E5": {"kind": "equal_cuts", "cuts": 5},
                       "H10E5": {"kind": "held_then_equal_cuts", "hold_years": 10, "cuts": 5}},
    },
    "lines": [
        {"id": "L1", "importer": "KOR", "hs": ["0201"], "base_rate": 0.4, "category": "E5",
         "source": "test", "confirmed": True},
        {"id": "L2", "importer": "USA", "hs": ["8703"], "base_rate": 0.025, "category": "A",
         "source": "test", "confirmed": True},
    ],
    "amendments": [
        {"id": "AM1", "name": "test amendment", "agreed": dt.date(2018, 9, 24), "effective": dt.date(2019, 1, 1),
         "source": "test", "changes": [{"line": "L2", "set": {"category": "H10E5"}}]},
    ],
}


@pytest.fixture
def minimal() -> dict:
    """A fresh copy of a small valid agreement dict (YAML layout)."""
    return copy.deepcopy(MINIMAL)


@pytest.fixture
def write_yaml(tmp_path):
    """write_yaml(data or text, name) -> path of a YAML file in tmp_path."""
    def _write(data, name: str = "agreement.yaml"):
        path = tmp_path / name
        text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
        path.write_text(text, encoding="utf-8")
        return path
    return _write
