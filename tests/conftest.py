"""Shared test fixtures. Reference data live in ../shared/data beside the checkout."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TRADEPACT_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ../shared/data (the reference datasets); fails loudly if absent."""
    if not SHARED_DATA.is_dir():
        raise RuntimeError(f"reference data not found at {SHARED_DATA}; set TRADEPACT_SHARED_DATA")
    return SHARED_DATA


@pytest.fixture
def store_dir(tmp_path, monkeypatch) -> Path:
    """A fresh, empty ledger store location, also exported as TRADEPACT_STORE."""
    d = tmp_path / "store"
    monkeypatch.setenv("TRADEPACT_STORE", str(d))
    return d
