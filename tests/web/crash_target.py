"""A run target that kills its worker process (used to test that a dead worker is recorded)."""
import os


def crash(db_path: str, run_id: str, scenario_text: str) -> str:
    os._exit(3)
