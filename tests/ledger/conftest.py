"""Ledger tests import their sample-file writers (ledger_samples.py) from this folder."""
import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:  # pytest runs with --import-mode=importlib, which adds no test folders
    sys.path.insert(0, HERE)
