"""Opening the DuckDB file, applying the schema and migrations, and the write transaction helper."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from core.errors import AccordError

SCHEMA_PATH = Path(__file__).with_name("schema.sql")
SCHEMA_VERSION = 4

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
]


class DatabaseMissing(AccordError):
    pass


class DatabaseUnreadable(AccordError):
    pass


class NewerSchema(AccordError):
    pass


def _statements(sql: str) -> list[str]:
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [s.strip() for s in body.split(";\n") if s.strip()]


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables, refuse a newer file, migrate an older one, all in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        has_meta = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchone()[0]  # type: ignore[index]  # an aggregate: always one row
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
        for _, before, after in [m for m in MIGRATIONS if found is not None and m[0] > found]:
            for statement in (*before, *schema, *after):
                con.execute(statement)
        for statement in schema:
            con.execute(statement)
        refresh_views(con)
        con.execute(
            "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)]
        )
        con.execute("INSERT OR IGNORE INTO meta VALUES ('data_version', '0')")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


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


def connect(path: str | Path, *, create: bool = False, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (or with create=True, make) an Accord database, with the schema applied.

    Every failure becomes an AccordError with a one-line message, so the CLI and the app can show it.
    """
    path = Path(path)
    if str(path) != ":memory:" and not path.exists() and not create:
        raise DatabaseMissing(f"Database file not found: {path}. Build one with: python -m core demo --db {path}")
    if str(path) != ":memory:" and path.exists() and path.is_dir():
        raise DatabaseUnreadable(f"{path} is a folder, not a DuckDB database file.")
    if create and str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        message = str(exc).splitlines()[0]
        if "lock" in message.lower():
            raise DatabaseUnreadable(f"{path} is in use by another process (DuckDB allows one writer).") from exc
        raise DatabaseUnreadable(f"{path} could not be opened as a DuckDB database ({message}).") from exc
    except duckdb.Error as exc:
        raise DatabaseUnreadable(f"{path} could not be opened as a DuckDB database ({exc}).") from exc
    try:
        con.execute("SET TimeZone = 'UTC'")
        if read_only:
            _check_version_only(con)
        else:
            apply_schema(con)
    except BaseException:
        con.close()
        raise
    return con


def _check_version_only(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row and int(row[0]) > SCHEMA_VERSION:
        raise NewerSchema(f"This database was written by a newer Accord (schema {row[0]}).")


def get_meta(con: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_meta(con: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])


# What a write can change, each with its own version counter, so a cache keyed on the domains a figure
# reads survives writes to the others (a goal save keeps the SLA and attribution caches warm).
DOMAINS: tuple[str, ...] = ("records", "goal", "sla_policy", "quality_definition", "proposals", "access",
                            "stalls")


def data_version(con: duckdb.DuckDBPyConnection) -> int:
    """A counter bumped by every write, whatever it changed."""
    value = get_meta(con, "data_version")
    return int(value) if value is not None else 0


def domain_versions(con: duckdb.DuckDBPyConnection, domains: tuple[str, ...] = DOMAINS) -> tuple[int, ...]:
    """The version counter of each of `domains`, in that order (0 for one never written)."""
    found = dict(con.execute(
        "SELECT key, CAST(value AS BIGINT) FROM meta WHERE key IN (SELECT 'version.' || unnest($d))",
        {"d": list(domains)},
    ).fetchall())
    return tuple(found.get(f"version.{d}", 0) for d in domains)


def bump_versions(con: duckdb.DuckDBPyConnection, domains: tuple[str, ...] = DOMAINS) -> None:
    """Bump each domain's counter and the global one; `()` (a log line, not state) bumps nothing."""
    unknown = set(domains) - set(DOMAINS)
    if unknown:
        raise ValueError(f"unknown data domains {sorted(unknown)}")
    if not domains:
        return
    for key in ("data_version", *(f"version.{d}" for d in domains)):
        con.execute(
            "INSERT INTO meta VALUES (?, '1') ON CONFLICT (key) DO UPDATE "
            "SET value = CAST(CAST(meta.value AS BIGINT) + 1 AS VARCHAR)",
            [key],
        )


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
            bump_versions(cur, changes)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        finally:
            cur.close()


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
