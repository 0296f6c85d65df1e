"""DuckLake with a PostgreSQL catalog: one Accord database shared by several app processes and importers.

A target is either a DuckDB file path (the default) or `ducklake:postgres:<libpq connection string>`, with the
data files under ACCORD_DATA_PATH (`--data-path`): a shared folder or an object-store prefix. The catalog
(tables, snapshots, small inlined writes) lives in PostgreSQL, so any number of processes open it at once;
DuckDB's one-writer-per-file lock, which the file default works around by letting go when idle, does not
apply.

What differs from a file, and how Accord keeps the same guarantees:
- DuckLake has no PRIMARY KEY, UNIQUE or CHECK constraints. The schema is the same schema.sql with those
  clauses taken out (`lake_statements`); every value is already validated by the import and write paths.
- DuckLake retries a commit whose changes do not overlap another's, so two "read the latest version, insert
  version + 1" transactions can both succeed (issue 16 measured 35 distinct versions for 81 rows from 4
  processes × 20 of them; here the same 4 × 20 left 39 rows holding 39 distinct versions once each
  transaction also updated one shared row). Every Accord write bumps the version counter of each domain it changes
  with an UPDATE (core.db.bump_versions; a table per domain), which DuckLake does treat as a conflict: of two
  writes to one domain that overlap in time one fails at COMMIT (`WriteRace`), and core.edits retries it
  from its state check, which then reports a real conflict or saves on top of the other. Writes to
  different domains (a goal save, an import) do not conflict.
- Nothing here is a file: no lock to wait for, no free space to check, no dead space to reclaim.
"""
from __future__ import annotations

import glob
import os
import re
from pathlib import Path

import duckdb

PREFIX = "ducklake:"
CATALOG = "accord"  # the name the lake is attached under; every query runs with it as the default (USE)


def is_lake(target: str | Path) -> bool:
    return str(target).startswith(PREFIX)


def describe(target: str | Path) -> str:
    """The target for messages and logs, without a password the connection string may carry."""
    return re.sub(r"(password\s*=\s*)(\S+)", r"\1***", str(target), flags=re.IGNORECASE)


def _extension(package: str) -> str:
    """The .duckdb_extension file a PyPI extension package ships, installed from disk: no extension server."""
    module = __import__(package)
    found = sorted(glob.glob(os.path.join(os.path.dirname(str(module.__file__)), "extensions", "*",
                                          "*.duckdb_extension")))
    if not found:
        raise RuntimeError(f"{package} holds no .duckdb_extension file; reinstall it (pip install -r requirements.txt)")
    return found[-1]


def _quoted(text: str) -> str:
    """A SQL string literal: ATTACH and INSTALL take no bound parameters, so the quote is doubled."""
    return "'" + text.replace("'", "''") + "'"


def attach(target: str, *, data_path: str | None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as `accord` and in use. `data_path` is needed when the lake
    is new (it is then kept in the catalog); an existing lake remembers its own."""
    con = duckdb.connect()
    try:
        installed = {r[0] for r in con.execute(
            "SELECT extension_name FROM duckdb_extensions() WHERE installed").fetchall()}
        for package, name, known_as in (("duckdb_extension_postgres", "postgres", "postgres_scanner"),
                                        ("duckdb_extension_ducklake", "ducklake", "ducklake")):
            if known_as not in installed:  # copied into DuckDB's extension folder once (78 MB, ~0.2 s per open)
                con.execute(f"INSTALL {_quoted(_extension(package))}")
            con.execute(f"LOAD {name}")
        options = []
        if data_path:
            options.append(f"DATA_PATH {_quoted(_data_folder(data_path))}")
        if read_only:
            options.append("READ_ONLY")
        clause = f" ({', '.join(options)})" if options else ""
        con.execute(f"ATTACH {_quoted(target)} AS {CATALOG}{clause}")
        con.execute(f"USE {CATALOG}")
    except BaseException:
        con.close()
        raise
    return LakeConnection(con)  # type: ignore[return-value]  # used exactly as a DuckDB connection


class LakeConnection:
    """A DuckDB connection with the lake attached, whose cursors work on the lake too.

    `USE` holds for one connection only, and a DuckDB cursor is a new connection to the same database that
    starts on the in-memory default: without this every cursor (a unit of work, core.db.transaction, the app's
    cached reads) would find none of the tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._con = con

    def cursor(self) -> LakeConnection:
        cur = self._con.cursor()
        try:
            cur.execute(f"USE {CATALOG}")
        except BaseException:
            cur.close()
            raise
        return LakeConnection(cur)

    def __getattr__(self, name: str):  # everything else is the DuckDB connection's own
        return getattr(self._con, name)

    def __enter__(self) -> LakeConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._con.close()


def _data_folder(data_path: str) -> str:
    """A local data path as an absolute folder that exists and ends in '/'; an object-store URL as given."""
    if "://" in data_path:
        return data_path
    folder = Path(data_path).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"{folder}/"


_DROPPED_ITEM = re.compile(r"^\s*(PRIMARY\s+KEY|UNIQUE|CHECK)\b", re.IGNORECASE)


def lake_statements(statements: list[str]) -> list[str]:
    """schema.sql's statements for DuckLake: PRIMARY KEY, UNIQUE and CHECK clauses removed, nothing else."""
    return [_without_constraints(s) if s.upper().startswith("CREATE TABLE") else s for s in statements]


def _without_constraints(statement: str) -> str:
    head, body, tail = _split_body(statement)
    kept = []
    for item in _top_level_items(body):
        if _DROPPED_ITEM.match(item):
            continue  # a table constraint: PRIMARY KEY (...), CHECK (...)
        kept.append(_strip_column_constraints(item))
    return head + "(\n    " + ",\n    ".join(kept) + "\n" + tail


def _split_body(statement: str) -> tuple[str, str, str]:
    start = statement.index("(")
    depth = 0
    for i in range(start, len(statement)):
        depth += {"(": 1, ")": -1}.get(statement[i], 0)
        if depth == 0:
            return statement[:start], statement[start + 1:i], statement[i:]
    raise ValueError(f"unbalanced parentheses in {statement[:60]!r}")


def _top_level_items(body: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    depth = 0
    for ch in body:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            items.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        items.append("".join(current).strip())
    return items


def _strip_column_constraints(column: str) -> str:
    """`name TYPE NOT NULL CHECK (...)` -> `name TYPE NOT NULL`; `name TYPE PRIMARY KEY` -> `name TYPE NOT NULL`
    (a key's values were never null, and that much DuckLake enforces)."""
    out = re.sub(r"\s+PRIMARY\s+KEY\b", " NOT NULL", column, flags=re.IGNORECASE)
    while True:
        found = re.search(r"\s+CHECK\s*\(", out, flags=re.IGNORECASE)
        if not found:
            return out.strip()
        depth, end = 0, None
        for i in range(found.end() - 1, len(out)):
            depth += {"(": 1, ")": -1}.get(out[i], 0)
            if depth == 0:
                end = i + 1
                break
        if end is None:
            raise ValueError(f"unbalanced CHECK in {column!r}")
        out = out[:found.start()] + out[end:]


def is_write_race(exc: BaseException) -> bool:
    """A DuckLake commit refused because another transaction changed the same rows meanwhile."""
    low = str(exc).lower()
    return "transaction conflict" in low or "failed to commit ducklake transaction" in low


def replace_from_file(target: str, source: str | Path) -> dict[str, int]:
    """Replace every table of the lake at `target` with the tables of the Accord DuckDB file `source`, in one
    lake transaction: how the demo is built on a lake (generated into a file, then copied), and how a file
    database moves to a lake. The lake's own version counters (version_<domain>) go up, never back to the
    file's, so no process's cache keyed on the old counters can match the new data. Returns rows per table."""
    from core.db import close, connect, refresh_views, transaction

    con = connect(target)  # the schema applied: every table exists
    try:
        con.execute(f"ATTACH {_quoted(str(Path(source).resolve()))} AS accord_source (READ_ONLY)")
        try:
            tables = [r[0] for r in con.execute(  # the version counters stay the lake's own (bumped below)
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'accord_source' "
                "AND table_name NOT LIKE 'version\\_%' ESCAPE '\\' ORDER BY table_name"
            ).fetchall()]
            counts: dict[str, int] = {}
            with transaction(con) as cur:  # every domain's counter goes up with the copy
                for table in tables:  # names read from the file's own catalog, quoted as identifiers
                    name = '"' + table.replace('"', '""') + '"'
                    cur.execute(f"DELETE FROM {name}")
                    # by name: a file of an older schema lacks columns added since (its lead keys: the
                    # transaction links them)
                    cur.execute(f"INSERT INTO {name} BY NAME SELECT * FROM accord_source.main.{name}")
                    row = cur.execute(f"SELECT count(*) FROM {name}").fetchone()
                    counts[table] = int(row[0]) if row else 0
                refresh_views(cur)
        finally:
            con.execute("DETACH accord_source")
    finally:
        close(con)
    return counts
