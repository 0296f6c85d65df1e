"""Backups of an Accord database and restoring them: `python -m core backup` and `python -m core restore`.

A backup is DuckDB's EXPORT DATABASE (schema.sql, load.sql and one Parquet file per table) taken in one
read-only transaction, plus a manifest with the row count of every table. EXPORT rather than a file copy:
the export is consistent without stopping writers for more than its own run (1.9 s at a million leads), it is
about a quarter of the file's size, and Parquet reads back under any later DuckDB, where a database file
is tied to its storage version. The running app holds the file only while it works (core.db), so a backup
waits for a moment between two of its units of work, like an import does.

A restore builds the database from the backup in a new file beside the target, checks every table's rows
against the manifest, and only then moves it into place; a database already there is kept beside it
(`<name>.before-restore-<time>.duckdb`), so a restore never destroys anything.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from core.db import DatabaseLocked, DatabaseMissing, connect, fault
from core.errors import AccordError
from core.lake import is_lake

MANIFEST = "accord-backup.json"
FORMAT = "accord-backup/1"


class BackupFailed(AccordError):
    pass


@dataclass(frozen=True)
class BackupResult:
    folder: Path
    tables: dict[str, int]  # rows per table
    bytes: int
    seconds: float

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


@dataclass(frozen=True)
class RestoreResult:
    db: Path
    tables: dict[str, int]
    kept_as: Path | None  # where the database that was at `db` went, if there was one
    seconds: float


def _quoted(path: Path) -> str:
    """A path as a SQL string literal: EXPORT/IMPORT DATABASE take no bound parameters, so the quote is doubled."""
    return "'" + str(path).replace("'", "''") + "'"


def _table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    names = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND NOT internal "
        "ORDER BY table_name").fetchall()]
    # the names come from the catalogue itself, and are quoted as identifiers
    return {n: int(con.execute(f'SELECT count(*) FROM "{n.replace(chr(34), chr(34) * 2)}"').fetchone()[0])  # type: ignore[index]
            for n in names}


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _refuse_lake(db: str | Path) -> None:
    if is_lake(db):
        raise BackupFailed("A DuckLake is backed up as its two parts: its PostgreSQL catalog (pg_dump) and its data "
                           "path (a copy or bucket snapshot taken after the dump); README, \"Several app "
                           "processes\". backup and restore handle DuckDB files.")


def backup(db: str | Path, to: str | Path, *, lock_wait_seconds: float | None = None,
           now: datetime | None = None) -> BackupResult:
    """Export `db` into the new folder `to` (refused if it exists and is not empty: a backup is never
    overwritten). Written into a hidden folder beside `to` and renamed at the end, so `to` holds a whole
    backup or nothing."""
    started = time.perf_counter()
    _refuse_lake(db)
    db, to = Path(db), Path(to)
    if str(db) == ":memory:":
        raise BackupFailed("An in-memory database has nothing on disk to back up.")
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise BackupFailed(f"{to} already exists and is not an empty folder: choose a new folder for the backup "
                           "(a backup never overwrites another).")
    if not db.exists():
        raise DatabaseMissing(f"Database file not found: {db}; nothing was backed up.")
    try:
        to.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupFailed(f"{to.parent} cannot be created ({exc.strerror or exc}); nothing was backed up.") from None
    staging = to.parent / f".{to.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    # read-only: no schema change, no checkpoint, and other readers are not blocked; connect() waits while
    # another process (the app at work, an import) holds the file, and says who holds it if it stays busy
    con = connect(db, read_only=True, lock_wait_seconds=lock_wait_seconds)
    try:
        con.execute("BEGIN TRANSACTION")  # the counts and the export see one and the same state
        tables = _table_counts(con)
        con.execute(f"EXPORT DATABASE {_quoted(staging)} (FORMAT parquet)")
        con.execute("COMMIT")
    except duckdb.Error as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise fault(exc, staging) from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        con.close()
    stamp = (now or datetime.now(UTC)).replace(microsecond=0)
    manifest = {"format": FORMAT, "source": str(db.resolve()), "taken_at": stamp.isoformat(),
                "duckdb": duckdb.__version__, "tables": tables}
    try:
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        if to.exists():
            to.rmdir()  # empty (checked above); rename needs the name free
        staging.rename(to)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise fault(exc, to) from exc
    return BackupResult(to, tables, _folder_bytes(to), time.perf_counter() - started)


def read_manifest(folder: str | Path) -> dict:
    folder = Path(folder)
    if not folder.is_dir():
        raise BackupFailed(f"{folder}: no such backup folder.")
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise BackupFailed(f"{folder} is not an Accord backup (it has no {MANIFEST}); "
                           "make one with: python -m core backup --db PATH --to FOLDER") from None
    except (OSError, ValueError) as exc:
        raise BackupFailed(f"{path} cannot be read ({exc}); the backup is damaged.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("tables"), dict):
        raise BackupFailed(f"{path} is not a manifest this version of Accord knows ({FORMAT}).")
    return manifest


def restore(backup_folder: str | Path, db: str | Path, *, replace: bool = False,
            lock_wait_seconds: float | None = None, now: datetime | None = None) -> RestoreResult:
    """Rebuild the database at `db` from `backup_folder`. With a database already at `db`, `replace` must be
    given; that database is then kept beside it, renamed, never deleted. Stop the app first: a restore swaps
    the file every session reads (README, Backups and restore)."""
    started = time.perf_counter()
    _refuse_lake(db)
    source, db = Path(backup_folder), Path(db)
    manifest = read_manifest(source)
    if db.exists() and db.is_dir():
        raise BackupFailed(f"{db} is a folder, not a database file; nothing was restored.")
    if db.exists() and not replace:
        raise BackupFailed(f"{db} already exists: add --replace to restore over it (it is kept beside it as "
                           f"{db.stem}.before-restore-<time>{db.suffix}); nothing was restored.")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise fault(exc, db) from exc
    fresh = db.with_name(f".{db.name}.restoring-{os.getpid()}")
    for leftover in (fresh, fresh.with_name(fresh.name + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(fresh))
        try:
            con.execute(f"IMPORT DATABASE {_quoted(source)}")
            got = _table_counts(con)
        finally:
            con.close()
    except duckdb.Error as exc:
        fresh.unlink(missing_ok=True)
        raise BackupFailed(f"{source} could not be restored ({str(exc).strip().splitlines()[0]}); "
                           f"{db} was left as it was.") from None
    except OSError as exc:
        fresh.unlink(missing_ok=True)
        raise fault(exc, db) from exc
    expected = {str(k): int(v) for k, v in manifest["tables"].items()}
    if got != expected:
        fresh.unlink(missing_ok=True)
        differ = sorted(t for t in set(got) | set(expected) if got.get(t) != expected.get(t))
        raise BackupFailed(f"{source} does not hold what its manifest lists (tables {', '.join(differ)} differ): "
                           f"the backup is incomplete or was changed; {db} was left as it was.")
    try:
        connect(fresh).close()  # the schema this version expects: applied now, not at the app's first open
    except AccordError:
        fresh.unlink(missing_ok=True)
        raise
    try:
        kept = _set_aside(db, lock_wait_seconds, now) if db.exists() else None
        os.replace(fresh, db)
    except OSError as exc:
        fresh.unlink(missing_ok=True)
        raise fault(exc, db) from exc
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    return RestoreResult(db, got, kept, time.perf_counter() - started)


def _set_aside(db: Path, lock_wait_seconds: float | None, now: datetime | None) -> Path:
    """Rename the database at `db` out of the way, whole: its write-ahead log is folded in first (an open and
    close checkpoints it), waiting like any writer while another process holds it. A damaged file cannot be
    opened and is moved as it is, with its log beside it."""
    try:
        connect(db, migrate=False, lock_wait_seconds=lock_wait_seconds).close()
    except DatabaseLocked:
        raise  # in use: moving it now would pull it from under a writer
    except AccordError:
        pass  # damaged, or of a newer version: kept as it is
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    kept = db.with_name(f"{db.stem}.before-restore-{stamp}{db.suffix}")
    n = 1
    while kept.exists():
        n += 1
        kept = db.with_name(f"{db.stem}.before-restore-{stamp}-{n}{db.suffix}")
    os.replace(db, kept)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        os.replace(wal, kept.with_name(kept.name + ".wal"))
    return kept
