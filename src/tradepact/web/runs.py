"""Saved scenario runs: one SQLite file in the store, one row per run.

A run goes ``queued -> running -> done`` or ``... -> failed``. The result (JSON text) and
the final status are written together in one transaction, so a reader sees either a run
still in progress or a finished run with its whole result, never half a result. Every
write names its run by id and only moves a run forward (a finished run is never
rewritten), so concurrent runs cannot overwrite each other.

Columns: ``id`` (32 hex chars), ``created_at``/``started_at``/``finished_at`` (ISO 8601
UTC), ``status``, ``progress`` (0..1), ``stage`` (text shown on the page),
``scenario_name``, ``scenario_text`` (the YAML as submitted), ``origin`` (``builtin`` or
``upload`` or ``text``), ``tradepact_version``, ``result_json``, ``summary``, ``error``,
``error_detail`` (traceback for unexpected errors).
"""
from __future__ import annotations

import json
import sqlite3
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from tradepact.errors import StoreError

STATUSES = ("queued", "running", "done", "failed")
TERMINAL = ("done", "failed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued','running','done','failed')),
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT NOT NULL DEFAULT '',
    scenario_name TEXT NOT NULL,
    scenario_text TEXT NOT NULL,
    origin TEXT NOT NULL,
    tradepact_version TEXT NOT NULL,
    result_json TEXT,
    summary TEXT,
    error TEXT,
    error_detail TEXT
);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class RunStore:
    """Access to ``runs.sqlite``; cheap to construct and safe to share between threads
    and processes (each call opens its own connection; SQLite WAL mode)."""

    path: Path

    @classmethod
    def open(cls, store_dir: str | Path) -> "RunStore":
        """Open (creating if needed) the runs database in ``store_dir``."""
        d = Path(store_dir)
        try:
            d.mkdir(parents=True, exist_ok=True)
            rs = cls(d / "runs.sqlite")
            with rs._connect() as con:
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the runs database in {d}: {exc}") from exc
        return rs

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA busy_timeout=30000")
            yield con
        finally:
            con.close()

    # -- writes --------------------------------------------------------------------
    def create(self, scenario_name: str, scenario_text: str, origin: str, version: str) -> str:
        """Insert a queued run; returns its id."""
        run_id = uuid.uuid4().hex
        with self._connect() as con:
            con.execute(
                "INSERT INTO runs (id, created_at, status, progress, stage, scenario_name, scenario_text,"
                " origin, tradepact_version) VALUES (?,?,?,?,?,?,?,?,?)",
                (run_id, _now(), "queued", 0.0, "queued", scenario_name, scenario_text, origin, version),
            )
        return run_id

    def start(self, run_id: str) -> bool:
        """Move a queued run to running; False if it was not queued."""
        with self._connect() as con:
            cur = con.execute(
                "UPDATE runs SET status='running', started_at=?, stage='starting', progress=0.05"
                " WHERE id=? AND status='queued'", (_now(), run_id))
            return cur.rowcount == 1

    def progress(self, run_id: str, fraction: float, stage: str) -> None:
        """Record progress of a running run (ignored once the run is finished)."""
        fraction = min(max(float(fraction), 0.0), 0.99)
        with self._connect() as con:
            con.execute("UPDATE runs SET progress=?, stage=? WHERE id=? AND status='running'",
                        (fraction, stage, run_id))

    def finish(self, run_id: str, result: dict[str, Any], summary: str = "") -> bool:
        """Store the whole result and mark the run done, in one transaction.

        Returns False (and changes nothing) if the run is not running any more.
        """
        text = json.dumps(result, allow_nan=False)
        with self._connect() as con:
            cur = con.execute(
                "UPDATE runs SET status='done', progress=1, stage='done', finished_at=?, result_json=?,"
                " summary=? WHERE id=? AND status='running'", (_now(), text, summary, run_id))
            return cur.rowcount == 1

    def fail(self, run_id: str, error: str, detail: str | None = None) -> bool:
        """Mark a queued or running run failed with ``error``; no result is kept."""
        with self._connect() as con:
            cur = con.execute(
                "UPDATE runs SET status='failed', stage='failed', finished_at=?, error=?, error_detail=?,"
                " result_json=NULL WHERE id=? AND status IN ('queued','running')",
                (_now(), error, detail, run_id))
            return cur.rowcount == 1

    def fail_unfinished(self, reason: str) -> int:
        """Mark every queued/running run failed (used at start-up after a crash or stop)."""
        with self._connect() as con:
            cur = con.execute(
                "UPDATE runs SET status='failed', stage='failed', finished_at=?, error=?"
                " WHERE status IN ('queued','running')", (_now(), reason))
            return cur.rowcount

    # -- reads ---------------------------------------------------------------------
    def get(self, run_id: str) -> dict[str, Any] | None:
        """The run as a dict (``result`` parsed), or None."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            return None
        out = dict(row)
        text = out.pop("result_json")
        out["result"] = None if text is None else json.loads(text)
        return out

    def list(self, limit: int = 50, status: str | None = None) -> list[dict[str, Any]]:
        """Newest first, without scenario text and results."""
        q = ("SELECT id, created_at, started_at, finished_at, status, progress, stage, scenario_name,"
             " origin, tradepact_version, summary, error FROM runs")
        args: tuple = ()
        if status is not None:
            q += " WHERE status=?"
            args = (status,)
        q += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        with self._connect() as con:
            rows = con.execute(q, args + (int(limit),)).fetchall()
        return [dict(r) for r in rows]

    def count(self) -> dict[str, int]:
        with self._connect() as con:
            rows = con.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall()
        out = {s: 0 for s in STATUSES}
        out.update({r[0]: r[1] for r in rows})
        return out
