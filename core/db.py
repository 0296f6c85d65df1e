"""Opening the DuckDB file, applying the schema and migrations, and the write transaction helper.

Opening waits a bounded time for a file another process holds (DuckDB allows one writing process per file):
the app closes the file whenever it is idle (ui/data.py), so `python -m core import` or `report` started
while it serves gets the file within one page computation, and the app's next unit of work waits for them
in turn. Every fault the person can act on (missing, locked, read-only, disk full, damaged) becomes one
AccordError sentence that says what happened and what to do; nothing already saved is touched.
"""
from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

from core import lake
from core.errors import AccordError

SCHEMA_PATH = Path(__file__).with_name("schema.sql")
T = TypeVar("T")
SCHEMA_VERSION = 8

# (version, before, after) applied in order to a database whose schema_version is lower, each in turn:
# `before`, then schema.sql (which always creates the full current shape of anything missing), then
# `after`. DuckDB cannot alter a CHECK constraint, so a table whose CHECK changes is renamed before,
# recreated by schema.sql, and copied back after; running them one at a time lets two migrations
# rebuild the same table.
MIGRATIONS: list[tuple[int, list[str], list[str]]] = [
    # 2: edit_versions may hold the access map (kind 'access'), for sign-in roles.
    (2, ["ALTER TABLE edit_versions RENAME TO edit_versions_v1"],
        ["INSERT INTO edit_versions SELECT * FROM edit_versions_v1", "DROP TABLE edit_versions_v1"]),
    # 3: edit_versions may hold exclusions (kind 'exclusion'): records an editor took out of the figures;
    # importers' stamps move from a JSON meta value to the table import_stamps, so SQL can read them.
    (3, ["ALTER TABLE edit_versions RENAME TO edit_versions_v2"],
        ["INSERT INTO edit_versions SELECT * FROM edit_versions_v2", "DROP TABLE edit_versions_v2",
         """INSERT OR IGNORE INTO import_stamps
            SELECT e['table'], e['column'], TRY_CAST(e['at'] AS TIMESTAMP), e['note']
            FROM (SELECT unnest(from_json(value, '[{"table": "VARCHAR", "column": "VARCHAR", "at": "VARCHAR",
                                                  "note": "VARCHAR"}]')) AS e
                  FROM meta WHERE key = 'import_stamps' AND json_valid(value))
            WHERE e['table'] IN ('leads', 'deals') AND e['column'] IS NOT NULL AND e['note'] IS NOT NULL
              AND TRY_CAST(e['at'] AS TIMESTAMP) IS NOT NULL""",
         "DELETE FROM meta WHERE key = 'import_stamps'"]),
    # 4: edit_versions may hold the stall rules per stage (kind 'stall_rules') and deals snoozed for a known
    # reason (kind 'deal_snooze').
    (4, ["ALTER TABLE edit_versions RENAME TO edit_versions_v3"],
        ["INSERT INTO edit_versions SELECT * FROM edit_versions_v3", "DROP TABLE edit_versions_v3"]),
    # 5: edit_versions may hold a quarter's team and rep target split (kind 'rep_targets').
    (5, ["ALTER TABLE edit_versions RENAME TO edit_versions_v4"],
        ["INSERT INTO edit_versions SELECT * FROM edit_versions_v4", "DROP TABLE edit_versions_v4"]),
    # 6: each domain's version counter is a table of its own (version_<domain>; _create_counters carries the
    # meta rows over), so writes to different domains do not conflict on a DuckLake.
    (6, [], []),
    # 7: leads get an integer key that activities, deals and touches carry too (LINK_KEYS), for the joins.
    (7, [f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS lead_key BIGINT"
         for t in ("leads", "activities", "deals", "campaign_touches")],
        []),  # schema.sql adds lead_keys; the open then links every record (link_all)
    # 8: deals get an integer key too, which stage-history rows carry, for the joins of a deal to its history.
    (8, [f"ALTER TABLE {t} ADD COLUMN IF NOT EXISTS deal_key BIGINT" for t in ("deals", "deal_stage_history")],
        []),  # schema.sql adds deal_keys; apply_schema links every record in the migration's transaction
]

# DuckDB's memory while a migration links every record to its keys (it spills to disk beyond that).
LINK_MEMORY = "1GiB"


@dataclass(frozen=True)
class RecordKey:
    """An integer Accord keeps for a text id (`key` for `id`, in the table `table`: one per id ever seen in any
    record, loaded or not), held beside the id by every table in `holders`, so a join on the keys is exactly the
    join on the ids: text joins were the largest cost at ten million leads. New ids are numbered in the order
    their `origin` record was created, so the keys of one period's records sit close together (lead_deals)."""

    id: str
    key: str
    table: str
    origin: str
    holders: tuple[str, ...]


RECORD_KEYS = (
    RecordKey("lead_id", "lead_key", "lead_keys", "leads", ("leads", "activities", "deals", "campaign_touches")),
    RecordKey("deal_id", "deal_key", "deal_keys", "deals", ("deals", "deal_stage_history")),
)
# The records that name a lead by its lead_id; each also holds that lead_id's lead_key (schema.sql).
KEYED = RECORD_KEYS[0].holders


def _link(k: RecordKey) -> tuple[str, ...]:
    """Each id of k without a key takes the next one (in creation order where it is an origin record's), then
    each row without its key takes it."""
    ids = " UNION ALL ".join(
        f"SELECT {k.id}, {'created_at' if t == k.origin else 'NULL'} AS first_at FROM {t} "
        f"WHERE {k.key} IS NULL AND {k.id} IS NOT NULL" for t in k.holders)
    return (
        f"""INSERT INTO {k.table}
       SELECT {k.id}, (SELECT coalesce(max({k.key}), 0) FROM {k.table})
                       + row_number() OVER (ORDER BY min(first_at) NULLS LAST, {k.id})
       FROM ({ids}) n
       WHERE NOT EXISTS (SELECT 1 FROM {k.table} k WHERE k.{k.id} = n.{k.id})
       GROUP BY {k.id}""",
        *(f"""UPDATE {t} SET {k.key} = k.{k.key} FROM {k.table} k
          WHERE {t}.{k.key} IS NULL AND {t}.{k.id} IS NOT NULL AND {t}.{k.id} = k.{k.id}""" for t in k.holders),
    )


# Only ids and rows without a key are touched (0.05 s at ten million leads when there are none), so every write
# of records runs these (`transaction`); an import that changes a record's id clears its key first
# (core.ingest.validate). A key is never reused. All names come from RECORD_KEYS.
LINK_KEYS: tuple[str, ...] = tuple(statement for k in RECORD_KEYS for statement in _link(k))


def link_all(con: duckdb.DuckDBPyConnection) -> None:
    """LINK_KEYS in a transaction of its own, at a full open: records another program wrote without their keys
    get them (0.05 s at ten million leads when there are none)."""
    con.execute("BEGIN TRANSACTION")
    try:
        link_keys(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def link_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Give every id of RECORD_KEYS and every record naming one its key (LINK_KEYS), in the caller's
    transaction."""
    for statement in LINK_KEYS:
        con.execute(statement)


class DatabaseMissing(AccordError):
    pass


class DatabaseUnreadable(AccordError):
    pass


class DatabaseLocked(DatabaseUnreadable):
    """Another program kept the file for longer than we wait."""


class DatabaseDamaged(DatabaseUnreadable):
    """The file is not a whole DuckDB database (truncated, overwritten, checksum mismatch)."""


class DatabaseReadOnly(AccordError):
    """The file or its folder cannot be written; reading may still work (report, digest)."""


class DiskFull(AccordError):
    """Not enough free space to write safely; the database was left as it was."""


class NewerSchema(AccordError):
    pass


class WriteRace(AccordError):
    """On DuckLake, another process's write overlapped this one, which was rolled back whole (core.lake);
    callers with a state check (core.edits) retry it."""


def retry_races(run: Callable[[], T], *, tries: int, pause: Callable[[int], float],
                again: Callable[[int], None] | None = None) -> T:
    """`run()`, run again after each WriteRace up to `tries` times, `pause(attempt)` seconds apart (`again`
    told of each new try); the last race is raised. For writes that start with their own state check (a save,
    an import), so the run after a race sees what the other process wrote."""
    for attempt in range(tries + 1):
        try:
            return run()
        except WriteRace:
            if attempt == tries:
                raise
            time.sleep(pause(attempt))
            if again is not None:
                again(attempt + 1)
    raise AssertionError("unreachable: the last attempt returns or raises")



def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip()]


def _has_meta(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta' "
                      "AND table_catalog = current_database()").fetchone()
    return bool(row and row[0])


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables, refuse a newer file, migrate an older one, all in one transaction."""
    limit = None  # the memory limit to put back after a migration that bounded it
    con.execute("BEGIN TRANSACTION")
    try:
        has_meta = _has_meta(con)
        found = None
        if has_meta:
            row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            found = int(row[0]) if row else None
        if found is not None and found > SCHEMA_VERSION:
            raise NewerSchema(
                f"This database was written by a newer Accord (schema {found}; this release reads up to "
                f"{SCHEMA_VERSION}). Upgrade Accord, or point ACCORD_DB_PATH at another file."
            )
        schema = _statements(SCHEMA_PATH.read_text())
        if on_lake(con):
            schema = lake.lake_statements(schema)
        # adding lead keys to every record held 4 GiB at ten million leads unbounded, twice the server's budget:
        # bounded from the first ALTER on (DuckDB spills beyond it), and put back after
        keying = found is not None and found < 8
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone() if keying else None
        if keying:
            con.execute(f"SET memory_limit = '{LINK_MEMORY}'")
        for _, before, after in [m for m in MIGRATIONS if found is not None and m[0] > found]:
            for statement in (*before, *schema, *after):
                con.execute(statement)
        for statement in schema:
            con.execute(statement)
        if keying:
            link_keys(con)  # every record of the older schema, in this transaction
        refresh_views(con)
        _create_counters(con)
        set_meta(con, "schema_version", str(SCHEMA_VERSION))
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass  # a COMMIT that failed (disk full, read-only) has already ended the transaction
        raise
    finally:
        if limit:
            con.execute(f"SET memory_limit = '{limit[0]}'")  # DuckDB's own rendering of its setting


# What the figures read instead of leads and deals: the records less those an editor excluded, with
# `created_known` false where the creation date is an importer's stamp (core.ingest.profile.record_stamp).
_COUNTED_KEYS = {"leads": "lead_id", "deals": "deal_id"}


def refresh_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)make counted_leads and counted_deals for the exclusions and stamps there are now. Called when
    the schema is applied and by every write that changes either, in its transaction. Without exclusions
    or stamps a view is the table itself (an anti-join per query cost 0.33 s at ten million leads); stamps
    are few moments of our own making, compared as literals; exclusions are the editors' record ids, so
    they stay in their table and are anti-joined."""
    for table, key in _COUNTED_KEYS.items():
        stamps = [r[0] for r in con.execute(
            "SELECT DISTINCT stamped_at FROM import_stamps WHERE table_name = ? AND column_name = 'created_at' "
            "ORDER BY 1", [table]).fetchall()]
        excluded = con.execute("SELECT count(*) FROM exclusions WHERE table_name = ?", [table]).fetchone()
        known = ("TRUE" if not stamps else  # datetime values read back from a TIMESTAMP column: no quote
                 "t.created_at NOT IN (" + ", ".join(f"TIMESTAMP '{s.isoformat(sep=' ')}'" for s in stamps) + ")")
        where = (f"WHERE NOT EXISTS (SELECT 1 FROM exclusions x WHERE x.table_name = '{table}' "
                 f"AND x.record_id = t.{key})" if excluded and excluded[0] else "")
        con.execute(f"CREATE OR REPLACE VIEW counted_{table} AS SELECT t.*, {known} AS created_known "
                    f"FROM {table} t {where}")


# How long to sleep between two attempts at a file another process holds: short, because the app holds it
# only while it works (a cached page run: milliseconds; a cold one at a million leads: about a second).
LOCK_POLL_SECONDS = 0.05
DEFAULT_LOCK_WAIT_SECONDS = 30.0
# Right after another process closed the file, DuckDB 2.0 can read a block past the end the other process just
# truncated ("Could not read enough bytes"): seen in 1 to 3 of 400 opens when 4 processes open, write and close
# in a loop (tests/test_ops.py), and gone at the next attempt. A truncated file fails every attempt, so a few
# quick retries tell the two apart and cost a damaged file 10 × 50 ms before it is reported.
SHORT_READ_RETRIES = 10


def connect(path: str | Path, *, create: bool = False, read_only: bool = False, migrate: bool = True,
            lock_wait_seconds: float | None = None,
            on_wait: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """Open (or with create=True, make) an Accord database, with the schema applied.

    migrate=False only checks the schema version (the app's reopen after an idle close: applying the schema
    is a write transaction, done once per process). A file another process holds is retried for
    `lock_wait_seconds` (default: the setting); `on_wait` hears once, in a sentence, that it is waiting and
    for whom (the CLI prints it, so a cron log shows why an import took longer). Every failure becomes an
    AccordError with a one-line message, so the CLI and the app can show it.
    """
    if lake.is_lake(path):
        return _connect_lake(str(path), read_only=read_only)  # a lake is made by its first open; no file
    path = Path(path)
    memory = str(path) == ":memory:"
    if not memory and not path.exists() and not create:
        raise DatabaseMissing(f"Database file not found: {path}. Build one with: python -m core demo --db {path}")
    if not memory and path.exists() and path.is_dir():
        raise DatabaseUnreadable(f"{path} is a folder, not a DuckDB database file.")
    if create and not memory:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _os_fault(path, exc) from exc
    for attempt in range(SHORT_READ_RETRIES + 1):
        con = _open_waiting(path, read_only, lock_wait_seconds, on_wait)
        try:
            con.execute("SET TimeZone = 'UTC'")
            if read_only or not migrate:
                _check_version_only(con, path, migrating=not read_only)
            else:
                apply_schema(con)
                link_all(con)  # records without their keys (an older schema's, another program's)
                reclaim(con)  # a killed or failed import's tail, given back at the next full open
        except duckdb.Error as exc:
            close(con)
            if _is_short_read(exc) and attempt < SHORT_READ_RETRIES:
                time.sleep(LOCK_POLL_SECONDS)  # see SHORT_READ_RETRIES
                continue
            raise fault(exc, path) from exc
        except BaseException:
            close(con)
            raise
        return con
    raise AssertionError("unreachable: the last attempt returns or raises")


LAKE_OPEN_RETRIES = 5


def _connect_lake(target: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """connect() for a DuckLake target (core.lake). A lake opened for the first time gets the schema; two
    processes doing so at once conflict on creating the same tables, and the loser simply tries again."""
    data_path = _data_path_setting()
    for attempt in range(LAKE_OPEN_RETRIES + 1):
        try:
            con = lake.attach(target, data_path=data_path, read_only=read_only)
        except duckdb.Error as exc:
            raise lake_fault(exc, target, data_path) from exc
        try:
            con.execute("SET TimeZone = 'UTC'")
            # the schema is written only when missing or older: every process opens the lake, and a write per
            # open would make each open a transaction racing every other (four processes opening at once
            # failed to open after three tries when each applied the schema)
            _check_version_only(con, None, migrating=not read_only)
            return con
        except duckdb.Error as exc:
            con.close()
            if lake.is_write_race(exc) and attempt < LAKE_OPEN_RETRIES:
                time.sleep(LOCK_POLL_SECONDS * (attempt + 1))
                continue
            raise lake_fault(exc, target, data_path) from exc
        except BaseException:
            con.close()
            raise
    raise AssertionError("unreachable: the last attempt returns or raises")


def _data_path_setting() -> str | None:
    try:  # core.settings is optional here, as in lock_wait_default
        from core.settings import get_settings

        return get_settings().data_path or None
    except Exception:
        return None


def lake_fault(exc: BaseException, target: str, data_path: str | None) -> AccordError:
    """The plain sentence for a DuckLake target that cannot be opened."""
    if isinstance(exc, AccordError):
        return exc
    text = lake.describe(str(exc).strip())  # DuckDB quotes the connection string, password and all
    first = text.splitlines()[0] if text else type(exc).__name__
    low = text.lower()
    where = lake.describe(target)
    if "data_path" in low or "data path" in low:
        return DatabaseUnreadable(f"{where} is a new DuckLake and needs a folder for its data files: set "
                                  f"ACCORD_DATA_PATH (--data-path) ({first}).")
    if "connection" in low or "could not connect" in low or "postgres" in low:
        return DatabaseUnreadable(f"Could not open the DuckLake catalog {where}: {first}. Check that PostgreSQL "
                                  "is running and the connection string is right.")
    return DatabaseUnreadable(f"Could not open the DuckLake {where} ({first}).")


def on_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con` works on a DuckLake (core.lake) rather than a DuckDB file."""
    row = con.execute("SELECT type FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    return row is not None and row[0] == "ducklake"


def _open_waiting(path: Path, read_only: bool, wait: float | None,
                  on_wait: Callable[[str], None] | None) -> duckdb.DuckDBPyConnection:
    if wait is None:
        wait = lock_wait_default()
    deadline = time.monotonic() + max(wait, 0.0)
    told = False
    while True:
        try:
            with handoff(path):
                return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc) or time.monotonic() >= deadline:
                raise fault(exc, path, waited=wait) from exc
            if on_wait is not None and not told:
                holder = _HOLDER.search(str(exc))
                who = f"{Path(holder['program']).name}, process {holder['pid']}" if holder else "another program"
                on_wait(f"{path} is in use ({who}); waiting up to {wait:g} s for it.")
                told = True
        time.sleep(LOCK_POLL_SECONDS)  # the holder gives no signal to wait on; a lock is polled


@contextmanager
def handoff(path: str | Path) -> Iterator[None]:
    """Hold an flock on the database's folder while DuckDB opens or closes the file, so no process opens it
    while another is still closing it.

    Measured with DuckDB 2.0: 4 processes each opening the file, inserting one row and closing it 25 times,
    16 such processes at once on 2 cores: 6 of 20 runs ended with 99 of 100 rows although every insert had
    committed, and 7 processes failed to open ("Could not read enough bytes"): an open that lands while another
    process is closing reads the file as it was before that close's checkpoint. With this lock around every
    open and close, 20 of 20 runs (twice) kept all 100 rows and no open failed.

    The folder, not a lock file beside the database: a lock file could not be removed safely and would be
    left next to every database, and the database file itself cannot be used, since closing any descriptor of
    it drops DuckDB's own (POSIX) lock in this process. flock and POSIX locks do not interact on Linux. Where
    the folder cannot be locked, opening goes ahead as DuckDB alone would."""
    if str(path) == ":memory:":
        yield
        return
    try:
        fd = os.open(Path(path).resolve().parent, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held for an open or a close only: milliseconds, a checkpoint at most
        except OSError:
            pass  # a file system without flock: as before
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def close(con: duckdb.DuckDBPyConnection) -> None:
    """Close an Accord connection inside the handoff lock (see handoff): every process that opens the file
    through connect() must close it through here."""
    try:
        row = con.execute(
            "SELECT path, type FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
        path = row[0] if row and row[0] and row[1] == "duckdb" else None  # a lake has no file to hand off
    except duckdb.Error:
        path = None  # an invalidated connection: close it anyway
    if path is None:
        con.close()
        return
    with handoff(path):
        con.close()


def lock_wait_default() -> float:
    try:  # core.settings is optional here: db must open in scripts without a configured environment
        from core.settings import get_settings

        return float(get_settings().lock_wait_seconds)
    except Exception:
        return DEFAULT_LOCK_WAIT_SECONDS


def _is_short_read(exc: BaseException) -> bool:
    return "could not read enough bytes" in str(exc).lower()


def _is_lock_conflict(exc: BaseException) -> bool:
    return "could not set lock" in str(exc).lower()


_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>\S+) \(PID (?P<pid>\d+)\)")


def fault(exc: BaseException, path: str | Path | None = None, *, waited: float | None = None) -> AccordError:
    """The plain sentence for a DuckDB or OS failure touching the database at `path`, as an AccordError.
    Something unrecognised keeps DuckDB's first line, so it can still be looked up."""
    if isinstance(exc, AccordError):
        return exc
    where = f"{path}" if path is not None else "The database"
    text = str(exc)
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    low = text.lower()
    if _is_lock_conflict(exc):
        holder = _HOLDER.search(text)
        who = (f"another program ({Path(holder['program']).name}, process {holder['pid']})" if holder
               else "another program")
        waited_text = f" and stayed busy for {waited:g} s" if waited else ""
        return DatabaseLocked(f"{where} is in use by {who}{waited_text}; try again when it is done "
                              "(an import or report finishes on its own; a second Accord app on the same "
                              "file must be stopped).")
    if isinstance(exc, OSError):
        return _os_fault(Path(where), exc)
    if "no space left" in low or "disk is full" in low:
        on = f" holding {path}" if path is not None else ""
        return DiskFull(f"The disk{on} is full: nothing was saved and the database is as it was. "
                        "Free some space, then try again.")
    if "read-only file system" in low or "permission denied" in low or "read-only mode" in low:
        return DatabaseReadOnly(f"{where} cannot be written (a read-only file or folder): nothing was changed. "
                                "Make it writable, or point ACCORD_DB_PATH (--db) at a writable copy.")
    if ("not a valid duckdb database" in low or "could not read enough bytes" in low
            or "corrupt database" in low or ("checksum" in low and "does not match" in low)):
        return DatabaseDamaged(f"{where} could not be opened as a DuckDB database ({first}): it is damaged or not "
                               "a whole database file. Restore it from a backup, or point ACCORD_DB_PATH (--db) at "
                               "another file; it was left untouched.")
    if "created with an newer version of duckdb" in low or "created with a newer version of duckdb" in low:
        # Accord moved from DuckDB 2.0 to 1.5.5 (for DuckLake): a file written by 2.0 cannot be read back here
        return DatabaseUnreadable(f"{where} was written by a newer DuckDB than this Accord uses ({duckdb.__version__}); "
                                  "it was left untouched. Rebuild the demo (python -m core demo --db …), or restore a "
                                  "backup made with `python -m core backup` (Parquet reads back across versions).")
    if "invalidated" in low:
        return DatabaseUnreadable(f"{where} stopped accepting work after an earlier failure ({first}); "
                                  "it will be reopened at the next step.")
    return DatabaseUnreadable(f"{where} could not be opened as a DuckDB database ({first}).")


def _os_fault(path: Path, exc: OSError) -> AccordError:
    if exc.errno == errno.ENOSPC:
        return DiskFull(f"The disk holding {path} is full: nothing was saved and the database is as it was. "
                        "Free some space, then try again.")
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return DatabaseReadOnly(f"{path} cannot be written (a read-only file or folder): nothing was changed. "
                                "Make it writable, or point ACCORD_DB_PATH (--db) at a writable copy.")
    return DatabaseUnreadable(f"{path}: {exc.strerror or exc}.")


# What an import may need on disk, per byte of its input files: the rows in the write-ahead log, then again
# in the file at the checkpoint, with indexes (measured: a 1.4 MiB olist import grew file + log by 2.1 MiB at
# its peak); 4 leaves room for wide CSVs whose values compress less.
IMPORT_SPACE_FACTOR = 4


def free_bytes(path: str | Path) -> int:
    """Free bytes on the file system holding `path` (its folder when it does not exist yet)."""
    path = Path(path)
    probe = path if path.exists() else path.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def check_free_space(path: str | Path, input_bytes: int, *, reserve_mb: int | None = None) -> None:
    """Refuse an import before it writes when the disk may not hold it: a write that fails half-way wastes
    the space it took and can leave too little for any later save."""
    if str(path) == ":memory:" or lake.is_lake(path):
        return  # a lake's files live under its data path, often another machine's or an object store's
    if reserve_mb is None:
        try:
            from core.settings import get_settings

            reserve_mb = int(get_settings().min_free_mb)
        except Exception:
            reserve_mb = 64
    needed = IMPORT_SPACE_FACTOR * max(input_bytes, 0) + reserve_mb * 1024 * 1024
    free = free_bytes(path)
    if free < needed:
        raise DiskFull(f"Not enough free disk space for this import: {_mib(free)} free where {path} lives, and it "
                       f"may need {_mib(needed)} ({IMPORT_SPACE_FACTOR} × the files' {_mib(input_bytes)} plus "
                       f"{reserve_mb} MiB kept free). Nothing was imported; free some space and run it again.")


def _mib(n: int) -> str:
    return f"{n / 1024 / 1024:,.1f} MiB"


def reclaim(con: duckdb.DuckDBPyConnection) -> int:
    """Give back the free blocks at the end of the file that a failed or killed write left (bytes it held).

    DuckDB truncates the file's free tail only at a checkpoint that has something to write (measured: after
    an import that failed on a full 12 MiB disk, FORCE CHECKPOINT and VACUUM left the file at 12.6 MB, a
    one-row write and CHECKPOINT brought it to 5.8 MB), so it writes one meta row and checkpoints. Best
    effort: a checkpoint waits for no one, and with another transaction open it is simply skipped."""
    row = con.execute("SELECT free_blocks * block_size FROM pragma_database_size()").fetchone()
    free = int(row[0]) if row and row[0] else 0
    if not free:
        return 0
    try:
        from core.periods import utc_now  # core.periods imports this module

        set_meta(con, "space_reclaimed_at", utc_now().isoformat(sep=" "))
        con.execute("CHECKPOINT")
    except duckdb.Error:
        return 0  # busy (another transaction) or still full: the next open tries again
    return free


def _check_version_only(con: duckdb.DuckDBPyConnection, path: Path | None = None, *, migrating: bool = False) -> None:
    has_meta = _has_meta(con)
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() if has_meta else None
    if row and int(row[0]) > SCHEMA_VERSION:
        raise NewerSchema(f"This database was written by a newer Accord (schema {row[0]}).")
    if migrating and (row is None or int(row[0]) < SCHEMA_VERSION):
        apply_schema(con)  # the file was replaced by an older or empty one since we last had it (or a new lake)
        link_all(con)
    elif row is not None and int(row[0]) < 8:  # read-only: the keys every figure joins on cannot be added
        raise DatabaseUnreadable(
            f"{path or 'The database'} was written by an older Accord (schema {row[0]}) and can only be read here, so "
            "it cannot be upgraded: open it once where it can be written (python -m core report --db … upgrades it).")
    elif row is None:
        raise DatabaseUnreadable(f"{path or 'The file'} is a DuckDB database but not an Accord one (it has no "
                                 "schema version); point ACCORD_DB_PATH (--db) at an Accord database.")


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    """Set one meta value: an UPDATE, or an INSERT for a key not there yet (DuckLake has no primary key to
    replace on; callers are inside a transaction or alone)."""
    if not _updated(con.execute("UPDATE meta SET value = ? WHERE key = ?", [value, key])):
        con.execute("INSERT INTO meta VALUES (?, ?)", [key, value])


def _updated(result: duckdb.DuckDBPyConnection) -> int:
    row = result.fetchone()
    return int(row[0]) if row and row[0] else 0


# What a write can change, each with its own version counter, so a cache keyed on the domains a figure
# reads survives writes to the others (a goal save keeps the SLA and attribution caches warm).
DOMAINS: tuple[str, ...] = ("records", "goal", "sla_policy", "quality_definition", "proposals", "access",
                            "stalls")


def _counter(domain: str) -> str:
    if domain not in DOMAINS:
        raise ValueError(f"unknown data domain {domain!r}")
    return f"version_{domain}"  # an identifier from the allow-list DOMAINS


def _create_counters(con: duckdb.DuckDBPyConnection) -> None:
    """One single-row table per domain holding its version counter (inside apply_schema's transaction).

    A table each, not rows of one table: on DuckLake two transactions that update the same table conflict
    (core.lake), which is what makes two saves of one kind serialise, while a goal save and an import, which
    bump different counters, commit side by side. With one shared table an import lost every race to a burst
    of saves (4 processes saving back to back: 11 tries over 20 s, all refused). A database from before schema
    6 kept its counters as meta rows 'version.<domain>'; they are carried over once."""
    for domain in DOMAINS:
        table = _counter(domain)
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} (value BIGINT NOT NULL)")
        con.execute(f"INSERT INTO {table} SELECT coalesce((SELECT max(TRY_CAST(value AS BIGINT)) FROM meta "
                    f"WHERE key = ?), 0) WHERE NOT EXISTS (SELECT 1 FROM {table})", [f"version.{domain}"])
    con.execute("DELETE FROM meta WHERE key = 'data_version' OR key LIKE 'version.%'")


def data_version(con: duckdb.DuckDBPyConnection) -> int:
    """A counter that every write bumping any domain moves up: the sum of the domains' counters."""
    return sum(domain_versions(con))


def domain_versions(con: duckdb.DuckDBPyConnection, domains: tuple[str, ...] = DOMAINS) -> tuple[int, ...]:
    """The version counter of each of `domains`, in that order (0 for one never written)."""
    if not domains:
        return ()
    # one UNION ALL, one round trip: read on every cached call, so it must stay cheap (0.40 ms for all seven
    # at a million leads; one row of scalar subqueries took 2.2 ms)
    found: dict[int, int] = {}
    for i, value in con.execute(" UNION ALL ".join(f"SELECT {i}, value FROM {_counter(d)}"
                                                   for i, d in enumerate(domains))).fetchall():
        found[i] = max(found.get(i, 0), int(value or 0))
    return tuple(found.get(i, 0) for i in range(len(domains)))


def bump_versions(con: duckdb.DuckDBPyConnection, domains: tuple[str, ...] = DOMAINS) -> None:
    """Bump each domain's counter; `()` (a log line, not state) bumps nothing."""
    unknown = set(domains) - set(DOMAINS)
    if unknown:
        raise ValueError(f"unknown data domains {sorted(unknown)}")
    for domain in dict.fromkeys(domains):
        table = _counter(domain)
        # an UPDATE of the row apply_schema created: on DuckLake, the write's real conflict (core.lake)
        if not _updated(con.execute(f"UPDATE {table} SET value = value + 1")):
            con.execute(f"INSERT INTO {table} VALUES (1)")


# DuckDB serialises transactions per connection; the app shares one connection across session threads,
# so writers take this lock and work on their own cursor.
_write_lock = threading.Lock()


@contextmanager
def transaction(
    con: duckdb.DuckDBPyConnection, changes: tuple[str, ...] = DOMAINS
) -> Iterator[duckdb.DuckDBPyConnection]:
    """One unit of write work: a fresh cursor, BEGIN … COMMIT, the version of every domain in `changes`
    bumped in the same transaction; ROLLBACK on any error."""
    with _write_lock:
        cur = con.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
            if "records" in changes:
                link_keys(cur)  # records written in this unit get their keys before anyone reads them
            bump_versions(cur, changes)
            cur.execute("COMMIT")
        except BaseException as exc:
            try:
                cur.execute("ROLLBACK")
            except duckdb.Error:
                pass  # a COMMIT that failed (disk full, read-only) has already ended the transaction
            if isinstance(exc, duckdb.Error) and _is_io_fault(exc):
                raise fault(exc) from exc  # the person's problem, told plainly: nothing was saved
            if isinstance(exc, duckdb.Error) and lake.is_write_race(exc):
                raise WriteRace("Another save landed at the same moment; nothing of this one was saved. "
                                "Try again.") from exc
            raise
        finally:
            cur.close()


def _is_io_fault(exc: BaseException) -> bool:
    low = str(exc).lower()
    return any(t in low for t in ("no space left", "read-only file system", "permission denied", "disk is full",
                                  "read-only mode"))


def reads(*domains: str):
    """Declare which domains a core function's result depends on; ui.data keys its cache on their
    versions only. An undeclared function is taken to read everything (never stale, only colder)."""
    unknown = set(domains) - set(DOMAINS)
    if unknown:
        raise ValueError(f"unknown data domains {sorted(unknown)}")

    def mark(fn):
        fn.reads = tuple(domains)
        return fn

    return mark
