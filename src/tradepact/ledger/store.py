"""The ledger store: canonical trade tables as Parquet files in one directory, queried with DuckDB.

Layout of a store directory::

    manifest.json          the batches the store holds (the only file that says what is in it)
    goods/<batch>.parquet  canonical goods rows (see tradepact.ledger.schema.GOODS)
    services/<batch>.parquet
    gravity/<batch>.parquet gravity covariates by pair and year
    .lock                  held while an import runs

Location: an explicit path, else ``$TRADEPACT_STORE``, else ``platformdirs.user_data_dir('tradepact')``.

Imports are atomic. Every new Parquet file is written and validated inside a staging directory
in the store; only when every file of the import passed are they renamed into place and the
manifest replaced (written to a temporary file, then renamed). A failed import removes what it
staged, so the store is byte-for-byte as it was. Re-importing rows whose key is already stored is
an error unless ``replace=True``, which replaces the stored rows of the same dataset for the years
the new files cover.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

import pandas as pd

from tradepact.errors import ConfigError, DataFormatError, StoreError, TradepactError
from tradepact.results import Result, records
from tradepact.ledger.schema import (GOODS, GRAVITY, SERVICES, TABLES, TableSchema, check_constants, shown_key,
                                     validate_sql)
from tradepact.ledger.sources import FORMATS
from tradepact.ledger.sources._base import Prepared, raise_not_integer, raise_rejects, raw_value, read_csv_sql, read_header, sql_str

MANIFEST = "manifest.json"
#: Which dataset answers a bilateral query when several cover the same year (lower wins).
DATASET_PRIORITY = {"census-country": 1, "comtrade": 1, "services": 1, "baci": 2, "itpd-e": 3, "wb-dta": 3, "gravity-panel": 4,
                    "panel": 5}
ProgressFn = Callable[[str, float], None]


def default_path() -> Path:
    """``$TRADEPACT_STORE`` or the platform's user data directory for tradepact."""
    env = os.environ.get("TRADEPACT_STORE")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("tradepact"))


@dataclass
class FileReport:
    """What one input file gave: rows read, kept per table, dropped by reason, zero-value rows kept.

    A row is kept once even when it feeds two tables (the gravity panel writes goods and gravity
    rows; ITPD-E sends each industry to goods or services): rows kept = read - dropped.
    """

    file: str
    format: str
    rows_read: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    zero_value: int = 0
    replaced: int = 0
    years: list[int] = field(default_factory=list)
    seconds: float = 0.0
    #: what the loader wants the user to know (e.g. months not yet published)
    notes: list[str] = field(default_factory=list)

    @property
    def rows_dropped(self) -> int:
        return int(sum(self.dropped.values()))


@dataclass(repr=False)
class ImportReport(Result):
    """The outcome of :meth:`LedgerStore.import_files` (one :class:`FileReport` per input file).

    :meth:`to_frame`: one row per file (rows read, kept, dropped, zero-value rows, replaced, tables,
    years, seconds); :meth:`reasons`: dropped rows by file and reason."""

    kind = "ledger_import"

    store: str
    files: list[FileReport]

    def summary(self) -> str:
        frame = self.to_frame()
        if frame.empty:
            return f"Imported nothing into {self.store}"
        why = "; ".join(f"{r.reason}: {r.rows:,}" for r in self.reasons().itertuples(index=False)) or "none"
        return (f"Imported {len(frame)} file(s) into {self.store}: {int(frame['rows_read'].sum()):,} rows read, "
                f"{int(frame['rows_kept'].sum()):,} kept, {int(frame['rows_dropped'].sum()):,} dropped ({why})")

    def to_dict(self) -> dict:
        """``kind``, ``store``, ``files`` (records of :meth:`to_frame`) and ``dropped`` (records of :meth:`reasons`)."""
        return {"kind": self.kind, "store": self.store, "files": records(self.to_frame()),
                "dropped": records(self.reasons())}

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for f in self.files:
            rows.append({"file": f.file, "format": f.format, "rows_read": f.rows_read,
                         "rows_kept": f.rows_read - f.rows_dropped,
                         "rows_dropped": f.rows_dropped, "zero_value_rows": f.zero_value,
                         "replaced": f.replaced, "tables": ",".join(f"{t}:{n}" for t, n in f.kept.items()),
                         "years": _years_text(f.years), "seconds": round(f.seconds, 2),
                         "notes": "; ".join(f.notes)})
        return pd.DataFrame(rows)

    def reasons(self) -> pd.DataFrame:
        """Dropped rows by file and reason."""
        rows = [{"file": f.file, "reason": r, "rows": n} for f in self.files for r, n in f.dropped.items()]
        return pd.DataFrame(rows, columns=["file", "reason", "rows"])


def _literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return sql_str(value)


def batch_sql(path: Path | str, constants: dict | None = None, schema: TableSchema | None = None,
              extra: str = "") -> str:
    """SELECT over one stored Parquet file, adding the columns its batch keeps as constants."""
    src = f"read_parquet({sql_str(str(path))}{extra})"
    if not constants:
        return f"SELECT * FROM {src}"
    consts = ", ".join(f"CAST({_literal(v)} AS {schema.columns.get(c, 'VARCHAR') if schema else 'VARCHAR'}) AS {c}"
                       for c, v in constants.items())
    return f"SELECT *, {consts} FROM {src}"


def _years_text(years: Sequence[int]) -> str:
    if not years:
        return ""
    ys = sorted(years)
    return str(ys[0]) if len(ys) == 1 else f"{ys[0]}-{ys[-1]}"


@dataclass
class _Staged:
    table: str
    dataset: str
    file: str
    format: str
    path: Path          # staged parquet
    years: list[int]
    rows: int
    columns: list[str]
    locate: str         # SQL giving key columns + _row, to find a row by key (error path)
    fields: dict[str, str]
    constants: dict = field(default_factory=dict)
    batch: str = field(default_factory=lambda: uuid.uuid4().hex[:16])

    @property
    def scope(self) -> str:
        """What --replace replaces: the dataset, per HS revision when the batch has one (BACI)."""
        rev = self.constants.get("hs_rev")
        return f"{self.dataset}:{rev}" if rev else self.dataset


def _scope(batch: dict) -> str:
    rev = (batch.get("constants") or {}).get("hs_rev")
    return f"{batch['dataset']}:{rev}" if rev else batch["dataset"]


class LedgerStore:
    """A directory of canonical Parquet tables with a DuckDB query layer.

    Tables (SQL views in :meth:`sql`): ``goods``, ``services``, ``gravity`` (see
    :mod:`tradepact.ledger.schema`). Money in USD millions. Open one with :meth:`open`.

    Parameters
    ----------
    path : pathlib.Path
        The store's directory (``LedgerStore.open(path)`` creates it if needed; without a path it
        uses ``$TRADEPACT_STORE`` or the user data directory).

    Returns
    -------
    LedgerStore
        ``import_files(format, paths)`` fills it (an :class:`ImportReport`), ``contents()`` lists
        what it holds, ``goods_bilateral(a, b)`` and :meth:`sql` query it.

    Raises
    ------
    StoreError
        The directory cannot be created, or its manifest is corrupt.
    DataFormatError
        An imported file breaks its format (file, row and field named; the store is unchanged).
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self._con = None
        self._qlock = threading.RLock()  # one DuckDB connection, used by one thread at a time

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path | None = None) -> "LedgerStore":
        """Open (creating if needed) the store at ``path``, ``$TRADEPACT_STORE`` or the default location."""
        p = Path(path).expanduser() if path is not None else default_path()
        try:
            p.mkdir(parents=True, exist_ok=True)
            for t in TABLES:
                (p / t).mkdir(exist_ok=True)
            (p / ".lock").touch(exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the ledger store at {p}: {exc}") from exc
        store = cls(p)
        store.manifest()  # fail early on a corrupt manifest
        return store

    def manifest(self) -> dict:
        """The store's manifest: ``{"version": 1, "batches": [...]}``."""
        f = self.path / MANIFEST
        if not f.exists():
            return {"version": 1, "batches": []}
        try:
            return json.loads(f.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"unreadable store manifest {f}: {exc}") from exc

    def files(self, table: str, dataset: str | None = None) -> list[Path]:
        """Parquet files of ``table`` (optionally one dataset) currently in the store."""
        return [self.path / b["parquet"] for b in self.manifest()["batches"]
                if b["table"] == table and (dataset is None or b["dataset"] == dataset)]

    # ------------------------------------------------------------------ queries
    def _connect(self):
        import duckdb

        if self._con is None:
            self._con = duckdb.connect()
            self._con.execute("SET enable_progress_bar = false")
        con = self._con
        batches = self.manifest()["batches"]
        for name, schema in TABLES.items():
            mine = [b for b in batches if b["table"] == name]
            plain = [self.path / b["parquet"] for b in mine if not b.get("constants")]
            parts = []
            if plain:
                lst = "[" + ", ".join(sql_str(str(f)) for f in plain) + "]"
                parts.append(f"SELECT * FROM read_parquet({lst}, union_by_name=true)")
            parts += [batch_sql(self.path / b["parquet"], b["constants"], schema) for b in mine if b.get("constants")]
            if parts:
                cols = ", ".join(schema.columns) if not schema.extra_ok else "*"
                body = " UNION ALL BY NAME ".join(f"({p})" for p in parts)
                con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {cols} FROM ({body})")
            else:
                con.execute(f"CREATE OR REPLACE VIEW {name} AS {schema.empty_sql()}")
        return con

    def sql(self, query: str, params: Sequence | None = None) -> pd.DataFrame:
        """Run SQL over the views ``goods``, ``services``, ``gravity``; returns a DataFrame."""
        import duckdb

        try:
            with self._qlock:
                return self._connect().execute(query, params or []).df()
        except duckdb.Error as exc:
            raise StoreError(f"query failed: {exc}") from exc

    def has_goods(self, a: str, b: str) -> bool:
        """True if the store holds any goods flow between ``a`` and ``b`` (either direction)."""
        with self._qlock:
            r = self._connect().execute(
                "SELECT count(*) FROM (SELECT 1 FROM goods WHERE (exporter = $a AND importer = $b) "
                "OR (exporter = $b AND importer = $a) LIMIT 1)", {"a": a, "b": b}).fetchone()
        return bool(r[0])

    def goods_bilateral(self, a: str, b: str, dataset: str | None = None, *,
                        with_source: bool = False) -> pd.DataFrame:
        """Goods trade of ``a`` with ``b`` by year: columns ``year, exports, imports`` (USD millions).

        ``exports`` = a -> b, ``imports`` = b -> a, summed over products. Per year and direction one
        dataset answers (``dataset`` if given, else by :data:`DATASET_PRIORITY`; for BACI the newest
        HS revision imported) and within it importer-reported rows are preferred to mirror rows.
        Empty frame if there is nothing.
        ``with_source`` adds ``source`` (the provenance texts used) and ``confirmed`` (all rows
        confirmed).
        """
        frame = self._bilateral("goods", a, b, "NULL", dataset)
        return frame.drop(columns="grp") if with_source else frame[["year", "exports", "imports"]]

    def services_bilateral(self, a: str, b: str, dataset: str | None = None, *,
                           with_source: bool = False) -> pd.DataFrame:
        """Services trade of ``a`` with ``b`` by year: ``year, exports, imports`` (USD millions).

        Same choice rules as :meth:`goods_bilateral`; EBOPS items are not double counted: the total
        ``S`` is used where present, else the main components ``SA``..``SL``.
        """
        frame = self._bilateral("services", a, b, "NULL", dataset)
        return frame.drop(columns="grp") if with_source else frame[["year", "exports", "imports"]]

    def goods_by_sector(self, a: str, b: str, level: int = 2, dataset: str | None = None) -> pd.DataFrame:
        """Goods trade of ``a`` with ``b`` by year and HS ``level``-digit prefix.

        Columns ``year, product, exports, imports`` (USD millions); non-HS products keep their code.
        """
        if level not in (2, 4, 6):
            raise ConfigError(f"level must be 2, 4 or 6, got {level}")
        grp = f"CASE WHEN hs_rev IS NOT NULL AND product <> 'TOTAL' THEN substr(product, 1, {int(level)}) ELSE product END"
        frame = self._bilateral("goods", a, b, grp, dataset)
        return frame.rename(columns={"grp": "product"})[["year", "product", "exports", "imports"]].reset_index(drop=True)

    def _bilateral(self, table: str, a: str, b: str, grp: str, dataset: str | None) -> pd.DataFrame:
        prio = " ".join(f"WHEN {sql_str(k)} THEN {v}" for k, v in DATASET_PRIORITY.items())
        level = ("0" if table == "goods" else
                 "CASE WHEN item = 'S' THEN 0 WHEN regexp_full_match(item, 'S[A-L]') THEN 1 "
                 "WHEN starts_with(item, 'S') AND NOT contains(item, ':') THEN 2 ELSE 1 END")
        ds = "AND dataset = $d" if dataset else ""
        # Comtrade rows of one year may mix revisions (reporters differ), so only datasets whose
        # revision is fixed per file (BACI) are told apart by revision.
        rev = "CASE WHEN dataset = 'baci' THEN hs_rev END" if table == "goods" else "NULL::VARCHAR"
        q = f"""
            WITH r AS (
                SELECT year, CASE WHEN exporter = $a THEN 'x' ELSE 'm' END AS dir, dataset, flow_source,
                       {grp} AS grp, {level} AS lvl, value, source, confirmed, {rev} AS rev
                FROM {table}
                WHERE ((exporter = $a AND importer = $b) OR (exporter = $b AND importer = $a)) {ds}
            ), pick AS (
                SELECT year, dir, dataset, flow_source, lvl, rev FROM (
                    SELECT *, row_number() OVER (PARTITION BY year, dir ORDER BY
                           CASE dataset {prio} ELSE 9 END, dataset,
                           CASE flow_source WHEN 'reported' THEN 0 ELSE 1 END, rev DESC NULLS LAST, lvl) AS rn
                    FROM (SELECT DISTINCT year, dir, dataset, flow_source, lvl, rev FROM r)
                ) WHERE rn = 1
            )
            SELECT year::INTEGER AS year, grp,
                   sum(value) FILTER (WHERE dir = 'x') AS exports,
                   sum(value) FILTER (WHERE dir = 'm') AS imports,
                   string_agg(DISTINCT source, '; ' ORDER BY source) AS source,
                   bool_and(confirmed) AS confirmed
            FROM r SEMI JOIN pick ON r.year = pick.year AND r.dir = pick.dir AND r.dataset = pick.dataset
                 AND r.flow_source = pick.flow_source AND r.lvl = pick.lvl AND r.rev IS NOT DISTINCT FROM pick.rev
            GROUP BY year, grp ORDER BY year, grp
        """
        params = {"a": a, "b": b}
        if dataset:
            params["d"] = dataset
        with self._qlock:
            out = self._connect().execute(q, params).df()
        for c in ("exports", "imports"):
            out[c] = out[c].astype("float64")
        return out.reset_index(drop=True)

    def contents(self) -> pd.DataFrame:
        """What the store holds: one row per table and dataset (years, rows, files, sources)."""
        rows = []
        for b in self.manifest()["batches"]:
            rows.append({"table": b["table"], "dataset": b["dataset"], "year_min": min(b["years"], default=None),
                         "year_max": max(b["years"], default=None), "rows": b["rows"], "file": b["file"]})
        cols = ["table", "dataset", "years", "rows", "files"]
        if not rows:
            return pd.DataFrame(columns=cols)
        df = pd.DataFrame(rows)
        out = df.groupby(["table", "dataset"], sort=True).agg(
            year_min=("year_min", "min"), year_max=("year_max", "max"), rows=("rows", "sum"),
            files=("file", "nunique")).reset_index()
        out["years"] = [f"{int(lo)}" if lo == hi else f"{int(lo)}-{int(hi)}"
                        for lo, hi in zip(out["year_min"], out["year_max"])]
        return out[cols]

    # ------------------------------------------------------------------ import
    def import_files(self, fmt: str, paths: Iterable[str | Path], *, country_codes: str | Path | None = None,
                     hs_rev: str | None = None, source: str | None = None, replace: bool = False,
                     progress: ProgressFn | None = None, memory_limit: str | None = None,
                     scheduler: str | None = "serial", options: dict | None = None) -> ImportReport:
        """Import files of format ``fmt`` (baci, comtrade, itpd-e, gravity-panel, services) atomically.

        Raises :class:`DataFormatError` (file, row, field) on bad input; on any failure the store is
        left exactly as it was. ``progress(message, fraction)`` is called as work advances.
        With a ``scheduler`` other than ``"serial"`` (``"local"``, a Dask scheduler address, or None for
        ``$TRADEPACT_SCHEDULER``; see :mod:`tradepact.execution`) several files are parsed and validated
        in parallel, then checked against the store and committed together in this process. Workers of
        a scheduler address must see the input files and the store directory.
        """
        if fmt not in FORMATS:
            raise ConfigError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        loader = FORMATS[fmt]
        paths = [Path(p) for p in paths]
        if not paths:
            raise ConfigError("no input files given")
        opts = {"country_codes": country_codes, "hs_rev": hs_rev, "source": source, **(options or {})}
        with self._locked():
            stage = self.path / f".staging-{uuid.uuid4().hex[:12]}"
            stage.mkdir()
            try:
                return self._import(loader, fmt, paths, opts, replace, stage, progress, memory_limit, scheduler)
            finally:
                shutil.rmtree(stage, ignore_errors=True)

    @contextlib.contextmanager
    def _locked(self):
        import fcntl

        with open(self.path / ".lock", "r+") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                raise StoreError(f"the ledger store {self.path} is busy (another import is running)") from exc
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @staticmethod
    def _import_connection(stage: Path, memory_limit: str | None, tmp: str = "tmp"):
        """A DuckDB connection set up for staging files into ``stage``."""
        import duckdb

        con = duckdb.connect()
        con.execute("SET enable_progress_bar = true")
        con.execute("SET enable_progress_bar_print = false")
        con.execute(f"SET temp_directory = {sql_str(str(stage / tmp))}")
        limit = memory_limit or os.environ.get("TRADEPACT_MEMORY_LIMIT", "1GB")
        con.execute(f"SET memory_limit = {sql_str(limit)}")
        con.execute("SET preserve_insertion_order = true")
        return con

    def _stage_parallel(self, fmt, paths, opts, stage, memory_limit, scheduler, progress) -> dict:
        """Stage every file as one task on the execution layer: {file index: (FileReport, [_Staged])}.
        The first file (in the given order) that fails raises its error; nothing is committed."""
        from tradepact.execution import Task, run_tasks

        tasks = [Task(f"file-{n:05d}", _stage_one, (str(self.path), fmt, str(p), opts, str(stage), n, memory_limit),
                      label=str(p)) for n, p in enumerate(paths)]
        count = [0]

        def parsed(_key, _value):
            count[0] += 1
            if progress:
                progress(f"parsed {count[0]} of {len(paths)} files", 0.9 * count[0] / len(paths))

        if progress:
            progress(f"parsing {len(paths)} files in parallel", 0.0)
        fan = run_tasks(tasks, scheduler=scheduler, on_result=parsed, description="files")
        if fan.failed:
            raise _rebuilt(fan.failed[0].error)
        return {int(k.split("-")[1]): v for k, v in fan.values.items()}

    def _import(self, loader, fmt, paths, opts, replace, stage, progress, memory_limit, scheduler=None) -> ImportReport:
        from tradepact.execution import resolve_scheduler

        pre = {}
        if len(paths) > 1 and resolve_scheduler(scheduler) != "serial":
            pre = self._stage_parallel(fmt, paths, opts, stage, memory_limit, scheduler, progress)
        con = self._import_connection(stage, memory_limit)
        manifest = self.manifest()
        sizes = [max(p.stat().st_size, 1) if p.is_file() else 1 for p in paths]
        total = float(sum(sizes))
        staged: list[_Staged] = []
        reports: list[FileReport] = []
        done = 0.0
        iso_ready = False
        try:
            for n, path in enumerate(paths):
                t0 = time.perf_counter()
                share = sizes[n] / total

                def tick(msg: str, frac: float, _done=done, _share=share):
                    if progress:
                        progress(msg, min(1.0, _done + _share * frac))

                if n in pre:  # staged by a worker
                    report, new = pre[n]
                    tick(f"checking {path.name} against the store", 0.95)
                else:
                    report = FileReport(file=str(path), format=fmt)
                    layout = read_layout(loader, path)
                    prep = loader.prepare(layout, **opts)
                    report.notes = list(prep.info.get("notes", []))
                    if not prep.direct and not iso_ready:  # the ISO3 lookup table of text-code loaders
                        from tradepact.ledger.sources._base import iso3_lookup_sql

                        con.execute(f"CREATE TEMP TABLE _iso AS {iso3_lookup_sql()}")
                        iso_ready = True
                    new = self._stage_file(con, prep, layout, stage, n, report, tick)
                for s in new:
                    self._check_against_store(con, s, manifest, staged, replace)
                staged.extend(new)
                if n not in pre:
                    report.seconds = time.perf_counter() - t0
                reports.append(report)
                done += share
            if progress:
                progress("committing", 1.0)
            self._commit(manifest, staged, replace, reports, con, stage)
        finally:
            con.close()
        if self._con is not None:
            self._con.close()
            self._con = None
        return ImportReport(str(self.path), reports)

    def _run(self, con, sql: str, tick: Callable[[str, float], None], msg: str, lo: float, hi: float) -> None:
        """Execute ``sql``, reporting DuckDB's query progress between fractions ``lo`` and ``hi``."""
        tick(msg, lo)
        stop = threading.Event()

        def poll():
            while not stop.wait(0.2):
                try:
                    p = con.query_progress()
                except Exception:  # noqa: BLE001 - progress is cosmetic
                    return
                if p is not None and p >= 0:
                    tick(msg, lo + (hi - lo) * min(p, 100.0) / 100.0)

        th = threading.Thread(target=poll, daemon=True)
        th.start()
        try:
            con.execute(sql)
        except Exception as exc:  # noqa: BLE001 - re-raised unless it is our integer check
            layout = getattr(self, "_layout", None)
            if layout is not None:
                raise_not_integer(exc, layout)
            raise
        finally:
            stop.set()
            th.join()
        tick(msg, hi)

    def _stage_file(self, con, prep: Prepared, layout, stage: Path, n: int, report: FileReport, tick) -> list[_Staged]:
        types = prep.info["types"]
        rename = prep.info.get("rename")
        rej = f"_rejects_{n}"
        if layout.frame is not None:  # read into memory by the loader (Parquet, Excel)
            con.register(f"_frame_{n}", layout.frame)
            rel = f"_frame_{n}"
        else:
            rel = read_csv_sql(layout, types, rej, rename=rename, nullstr=prep.info.get("nullstr"))
        self._layout = layout  # lets _run name the row of a fractional value in an integer column
        for stmt in prep.info.get("setup", []):
            con.execute(stmt)
        raw_of = lambda row, col: raw_value(layout, row, col)  # noqa: E731
        name = Path(layout.path).name
        out: list[_Staged] = []
        if prep.direct:
            o = prep.outputs[0]
            schema = TABLES[o.table]
            target = stage / f"{n}-{o.table}.parquet"
            constants = dict(prep.info.get("constants", {}))
            stored = [c for c in schema.columns if c not in constants]
            view = (f"SELECT *, file_row_number + 1 AS _row FROM "
                    f"({batch_sql(target, constants, schema, ', file_row_number=true')})")
            stats = None
            fast = prep.info.get("fast")
            if fast is not None:
                # An acceptor only: None unless every rule holds; then the general path below
                # finds and reports the first offending row exactly as it always did.
                check_constants(con, schema, constants, file=layout.path, fields=prep.fields)
                stats = fast(target, tick)
            if stats is None:
                self._run(con, f"COPY (WITH raw AS (SELECT * FROM {rel}) SELECT {', '.join(stored)} FROM ({o.sql})) "
                               f"TO {sql_str(str(target))} (FORMAT parquet, COMPRESSION snappy)",
                          tick, f"reading {name}", 0.0, 0.8)
                raise_rejects(con, rej, layout, types, rename)
                tick(f"checking {name}", 0.8)
                stats = validate_sql(con, view, schema, file=layout.path, fields=prep.fields, raw_value=raw_of,
                                     constants=constants, extra_rules=prep.info.get("checks", []),
                                     skip=prep.info.get("verified", ()))
            rows = stats["rows"]
            report.rows_read = rows
            report.kept[o.table] = rows
            report.zero_value = stats["zero_value"]
            report.years = stats["years"]
            out.append(_Staged(o.table, prep.dataset, str(layout.path), "", target, report.years, rows,
                               list(schema.columns), view, prep.fields, constants))
            tick(f"checked {name}", 1.0)
            return out

        rawfile = stage / f"{n}-raw.parquet"
        self._run(con, f"COPY (SELECT * FROM {rel}) TO {sql_str(str(rawfile))} (FORMAT parquet, COMPRESSION snappy)",
                  tick, f"reading {name}", 0.0, 0.5)
        if layout.frame is None:
            raise_rejects(con, rej, layout, types, rename)
        con.execute(f"CREATE OR REPLACE TEMP VIEW raw AS SELECT *, file_row_number + 1 AS _row "
                    f"FROM read_parquet({sql_str(str(rawfile))}, file_row_number=true)")
        report.rows_read = con.execute("SELECT count(*) FROM raw").fetchone()[0]
        tick(f"checking {name}", 0.55)
        first = prep.info.get("routing") or prep.outputs[0].sql  # one row per raw row, with _drop
        self._loader_checks(con, first, prep, layout, raw_of)
        for o in prep.outputs:
            schema = TABLES[o.table]
            validate_sql(con, f"SELECT * FROM ({o.sql}) WHERE _drop IS NULL", schema, file=layout.path,
                         fields=prep.fields, raw_value=raw_of)
        drops = con.execute(f"SELECT _drop, count(*) FROM ({first}) WHERE _drop IS NOT NULL "
                            f"AND NOT starts_with(_drop, '>') GROUP BY 1 ORDER BY 2 DESC").fetchall()
        report.dropped = {str(r): int(c) for r, c in drops}
        for i, o in enumerate(prep.outputs):
            schema = TABLES[o.table]
            cols = list(schema.columns) + list(prep.info.get("extra", {}).get(o.table, []))
            target = stage / f"{n}-{o.table}.parquet"
            self._run(con, f"COPY (SELECT {', '.join(cols)} FROM ({o.sql}) WHERE _drop IS NULL) "
                           f"TO {sql_str(str(target))} (FORMAT parquet, COMPRESSION snappy)",
                      tick, f"writing {name}", 0.6 + 0.4 * i / len(prep.outputs),
                      0.6 + 0.4 * (i + 1) / len(prep.outputs))
            rows, zeros, years = con.execute(
                f"SELECT count(*), count(*) FILTER (WHERE {'value = 0' if 'value' in schema.columns else 'false'}), "
                f"coalesce(list(DISTINCT year ORDER BY year), []) FROM read_parquet({sql_str(str(target))})").fetchone()
            report.kept[o.table] = int(rows)
            if "value" in schema.columns:
                report.zero_value += int(zeros)
            report.years = sorted(set(report.years) | {int(y) for y in years})
            locate = f"SELECT * FROM ({o.sql}) WHERE _drop IS NULL"
            if rows:
                # keep the raw view's rows reachable for error messages after the view is replaced
                locate = locate.replace("FROM raw", f"FROM (SELECT *, file_row_number + 1 AS _row FROM "
                                                    f"read_parquet({sql_str(str(rawfile))}, file_row_number=true))")
                out.append(_Staged(o.table, prep.dataset, str(layout.path), "", target, [int(y) for y in years],
                                   int(rows), cols, locate, prep.fields))
        return out

    @staticmethod
    def _loader_checks(con, relation: str, prep: Prepared, layout, raw_of) -> None:
        """Format-specific rules of the loader: (SQL predicate, user column, expected)."""
        for user_field, pred, expected in prep.info.get("checks", []):
            row = con.execute(f"SELECT min(_row) FROM ({relation}) WHERE {pred}").fetchone()[0]
            if row is not None:
                raise DataFormatError(layout.path, int(row), user_field, expected, raw_of(int(row), user_field))

    def _check_against_store(self, con, s: _Staged, manifest: dict, staged: list[_Staged], replace: bool) -> None:
        """Raise if a key of the staged batch ``s`` is already in the store (or staged earlier)."""
        schema: TableSchema = TABLES[s.table]
        years = set(s.years)
        others: list[tuple[Path, str, dict]] = []
        if not replace:
            for b in manifest["batches"]:
                if b["table"] == s.table and _scope(b) == s.scope and years & set(b["years"]):
                    others.append((self.path / b["parquet"], b["file"], b.get("constants") or {}))
        for t in staged:
            if t.table == s.table and t.scope == s.scope and years & set(t.years):
                others.append((t.path, t.file, t.constants))
        if not others:
            return
        key = list(schema.key)
        cond = " AND ".join(f"n.{k} IS NOT DISTINCT FROM o.{k}" for k in key)
        hk = ", ".join(key)
        ys = ", ".join(str(y) for y in sorted(years))
        union = " UNION ALL ".join(
            f"SELECT {hk}, {sql_str(f)} AS _origin FROM ({batch_sql(p, c, schema)}) WHERE year IN ({ys})"
            for p, f, c in others)
        hit = con.execute(
            f"SELECT {', '.join('n.' + k for k in key)}, o._origin FROM ({batch_sql(s.path, s.constants, schema)}) n "
            f"JOIN (SELECT hash({hk}) AS _h, * FROM ({union})) o "
            f"ON hash({', '.join('n.' + k for k in key)}) = o._h AND {cond} LIMIT 1").fetchone()
        if hit is None:
            return
        values = dict(zip(key, hit[:-1]))
        origin = hit[-1]
        where = " AND ".join(f"{k} IS NOT DISTINCT FROM ${k}" for k in key)
        row = con.execute(f"SELECT min(_row) FROM ({s.locate}) WHERE {where}", values).fetchone()[0]
        shown = shown_key(key, s.fields)
        user_key = ",".join(dict.fromkeys(s.fields.get(k, k) for k in shown))
        raise DataFormatError(s.file, None if row is None else int(row), user_key,
                              "a key not already in the store (to overwrite those years, import with --replace; in Python replace=True)",
                              ", ".join(f"{k}={values[k]}" for k in shown) + f" (already imported from {origin})",
                              message="duplicated key")

    def _commit(self, manifest: dict, staged: list[_Staged], replace: bool, reports: list[FileReport],
                con, stage: Path) -> None:
        """Move staged files into place and replace the manifest; undo the moves on failure."""
        batches = list(manifest["batches"])
        superseded: list[Path] = []
        rewrites: list[tuple[Path, Path]] = []
        if replace:
            kept_batches = []
            for b in batches:
                cover = {y for s in staged if s.table == b["table"] and s.scope == _scope(b) for y in s.years}
                hit = cover & set(b["years"])
                if not hit:
                    kept_batches.append(b)
                    continue
                old = self.path / b["parquet"]
                superseded.append(old)
                replaced_rows = con.execute(
                    f"SELECT count(*) FROM read_parquet({sql_str(str(old))}) WHERE year IN "
                    f"({', '.join(map(str, sorted(hit)))})").fetchone()[0]
                for r in reports:
                    if any(s.file == r.file and s.table == b["table"] for s in staged):
                        r.replaced += int(replaced_rows)
                        break
                rest = sorted(set(b["years"]) - hit)
                if rest:  # keep the other years of a partly replaced batch
                    nb = dict(b)
                    nb["batch"] = uuid.uuid4().hex[:16]
                    nb["parquet"] = f"{b['table']}/{nb['batch']}.parquet"
                    tmp = stage / f"rewrite-{nb['batch']}.parquet"
                    con.execute(f"COPY (SELECT * FROM read_parquet({sql_str(str(old))}) WHERE year NOT IN "
                                f"({', '.join(map(str, sorted(hit)))})) TO {sql_str(str(tmp))} "
                                f"(FORMAT parquet, COMPRESSION snappy)")
                    nb["years"] = rest
                    nb["rows"] = int(con.execute(f"SELECT count(*) FROM read_parquet({sql_str(str(tmp))})").fetchone()[0])
                    rewrites.append((tmp, self.path / nb["parquet"]))
                    kept_batches.append(nb)
            batches = kept_batches
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        moves = list(rewrites)
        for s in staged:
            rel = f"{s.table}/{s.batch}.parquet"
            batches.append({"batch": s.batch, "table": s.table, "dataset": s.dataset, "file": s.file,
                            "parquet": rel, "years": s.years, "rows": s.rows, "columns": s.columns,
                            "constants": s.constants, "imported_at": now})
            moves.append((s.path, self.path / rel))
        moved: list[Path] = []
        tmp_manifest = self.path / f".{MANIFEST}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            for src, dst in moves:
                os.replace(src, dst)
                moved.append(dst)
            text = json.dumps({"version": 1, "batches": batches}, indent=1)
            with open(tmp_manifest, "w") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_manifest, self.path / MANIFEST)
        except BaseException:
            for dst in moved:
                with contextlib.suppress(OSError):
                    dst.unlink()
            with contextlib.suppress(OSError):
                tmp_manifest.unlink()
            raise
        for old in superseded:
            with contextlib.suppress(OSError):
                old.unlink()


def read_layout(loader, path: Path):
    """The loader's own reader (Parquet, Excel: the file read into a frame) or the CSV header."""
    reader = getattr(loader, "read_layout", None)
    return reader(Path(path)) if reader is not None else read_header(Path(path))


def _stage_one(store: str, fmt: str, path: str, opts: dict, stage: str, n: int, memory_limit: str | None):
    """One file parsed, validated and written to ``stage`` (a task of a parallel import, run where
    the execution layer sends it): ``(FileReport, [_Staged])``."""
    st = LedgerStore(Path(store))
    con = st._import_connection(Path(stage), memory_limit, tmp=f"tmp-{n}")
    t0 = time.perf_counter()
    try:
        report = FileReport(file=path, format=fmt)
        layout = read_layout(FORMATS[fmt], Path(path))
        prep = FORMATS[fmt].prepare(layout, **opts)
        report.notes = list(prep.info.get("notes", []))
        if not prep.direct:
            from tradepact.ledger.sources._base import iso3_lookup_sql

            con.execute(f"CREATE TEMP TABLE _iso AS {iso3_lookup_sql()}")
        new = st._stage_file(con, prep, layout, Path(stage), n, report, lambda _msg, _frac: None)
    finally:
        con.close()
    report.seconds = time.perf_counter() - t0
    return report, new


def _rebuilt(error: str) -> TradepactError:
    """A worker's ``"ErrorType: message"`` as that tradepact error again (one line, no traceback)."""
    from tradepact import errors

    name, _, text = error.partition(": ")
    cls = getattr(errors, name, None)
    if cls is errors.DataFormatError:
        return errors.DataFormatError(message=text)
    if isinstance(cls, type) and issubclass(cls, TradepactError):
        return cls(text)
    return StoreError(f"import failed: {error}")


def open_store(path: str | Path | None = None) -> LedgerStore:
    """Shorthand for :meth:`LedgerStore.open`."""
    return LedgerStore.open(path)


__all__ = ["LedgerStore", "ImportReport", "FileReport", "default_path", "open_store", "DATASET_PRIORITY",
           "GOODS", "SERVICES", "GRAVITY"]
