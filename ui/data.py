"""The app's hold on its DuckDB file, and cached calls of core functions.

The file is held only while the app works. DuckDB lets one process write a file at a time, so an app that
kept it open for its whole life refused every `python -m core import` and `report` while it served. Here
each unit of work (a cached call's miss, a read of the domain versions, a save) takes a cursor from
`connection()`; the first cursor opens the file, and once the last one is closed and nothing has asked
for another for ACCORD_IDLE_CLOSE_SECONDS the file is closed, which releases DuckDB's lock. An import
started meanwhile waits (core.db, up to ACCORD_LOCK_WAIT_SECONDS) for the current unit of work to end,
and the app's next one waits for the import in turn. Measured on a 1M-lead copy (README, "Operating
Accord"): an open is ~20 ms and a warm page run reuses one open, so the cost of letting go is one open
per interaction after an idle pause.

A cached call is keyed on the function, its arguments and the versions of the data domains the function
declares it reads (`@core.db.reads(...)`): a goal save bumps only the goal domain, so the SLA and
attribution caches stay warm. The versions are read from the file at every call, so an import another
process committed while the app let go shows at the next interaction: its transaction bumped the
records domain, and exactly the figures reading records miss their cache.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st

from core.db import DOMAINS, DatabaseReadOnly, DiskFull, close, connect, domain_versions
from core.lake import is_lake
from core.semantic.blocks import shared_reads
from core.settings import Settings, get_settings
from core.store import open_store

_build_lock = threading.Lock()
log = logging.getLogger("accord")


def db_path() -> Path | str:
    """The database file, or a DuckLake target kept as written (a libpq URI must not lose its '//')."""
    target = get_settings().db_path
    return target if is_lake(target) else Path(target)


class LeasedCursor:
    """A cursor of the shared database that keeps the file open until it is closed."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, owner: Database, generation: int):
        self._cur = cur
        self._owner: Database | None = owner
        self._generation = generation

    def __getattr__(self, name: str) -> Any:  # everything else is the DuckDB cursor's own
        return getattr(self._cur, name)

    def close(self) -> None:
        owner, self._owner = self._owner, None
        if owner is None:
            return  # closed twice: the lease was already given back
        try:
            self._cur.close()
        except duckdb.Error:
            pass  # the connection was dropped after a fatal error; the lease still has to go back
        owner._release(self._generation)

    def __enter__(self) -> LeasedCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten cursor must not hold the file for the process's life
        if getattr(self, "_owner", None) is not None:
            try:
                self.close()
            except Exception:  # at interpreter exit the lock or DuckDB may be gone already
                pass


class Database:
    """One database file, opened for the units of work that need it and closed when idle.

    A DuckDB connection is not thread-safe, and Streamlit runs each session in its own thread: every unit of
    work still takes its own cursor (`cursor()`), and the connection only hands cursors out. Closing the
    connection closes its cursors, so it closes only when no cursor is out (`_leases == 0`)."""

    def __init__(self, path: str, *, idle_close_seconds: float | None, lock_wait_seconds: float,
                 memory_mb: int | None = None):
        self.path = path
        self.memory_mb = memory_mb
        self.idle_close_seconds = idle_close_seconds
        self.lock_wait_seconds = lock_wait_seconds
        self._cond = threading.Condition()
        self._opening = threading.Lock()  # one opener at a time; a second one waits and reuses its result
        self._con: duckdb.DuckDBPyConnection | None = None
        self._leases = 0
        self._generation = 0  # bumped when a connection is dropped, so its cursors' late close() is not counted
        self._last_release = 0.0
        self._prepared = False  # schema applied and defaults present: a write, done once per process
        self._stopped = False
        self.opens = 0
        self.closes = 0
        self.read_only_reason: str | None = None  # why the file is open read-only (a read-only or full disk)
        self.waits = 0  # opens that found the file held by another process (an import, a report) and waited
        self._closer = threading.Thread(target=self._close_when_idle, name=f"accord-idle-close {path}", daemon=True)
        self._closer.start()

    def cursor(self) -> LeasedCursor:
        with self._opening:
            with self._cond:
                con, generation = self._con, self._generation
                if con is not None:
                    self._leases += 1
            if con is None:
                con = self._open()  # outside _cond: an open may wait for an import, releases must not
                with self._cond:
                    self._con, generation = con, self._generation
                    self._leases += 1
                    self.opens += 1
        try:
            return LeasedCursor(con.cursor(), self, generation)
        except BaseException:
            self._release(generation)
            raise

    @property
    def is_open(self) -> bool:
        with self._cond:
            return self._con is not None

    def _open(self) -> duckdb.DuckDBPyConnection:
        try:
            if not self._prepared:
                con = open_store(self.path, lock_wait_seconds=self.lock_wait_seconds, on_wait=self._waiting)
                self._prepared = True
            else:
                # after an idle close only the schema version is checked: another process may have replaced
                # the file, but applying the schema on every open would be a write per interaction
                con = connect(self.path, migrate=False, lock_wait_seconds=self.lock_wait_seconds,
                              on_wait=self._waiting)
        except (DatabaseReadOnly, DiskFull) as exc:
            # the figures can still be read: open read-only and say why nothing can be saved; the next open
            # tries to write again, so freeing space or making the file writable needs no restart
            con = connect(self.path, read_only=True, lock_wait_seconds=self.lock_wait_seconds, on_wait=self._waiting)
            self.read_only_reason = str(exc)
            return self._bounded(con)
        self.read_only_reason = None
        return self._bounded(con)

    def _bounded(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        if self.memory_mb:  # the app's share of the machine (ACCORD_APP_MEMORY_MB); the CLI keeps DuckDB's default
            con.execute(f"SET memory_limit = '{int(self.memory_mb)}MiB'")
        return con

    def _waiting(self, sentence: str) -> None:
        self.waits += 1
        log.info(sentence)

    def _release(self, generation: int) -> None:
        with self._cond:
            if generation != self._generation:
                return  # a cursor of a connection already dropped
            self._leases -= 1
            self._last_release = time.monotonic()
            if self._leases == 0:
                if self._stopped:  # released from the cache: no closer thread is left to do it
                    self._close_locked()
                self._cond.notify_all()

    def _close_when_idle(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._con is None or self._leases or self.idle_close_seconds is None:
                    self._cond.wait()
                    continue
                remaining = self._last_release + self.idle_close_seconds - time.monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                self._close_locked()

    def _close_locked(self) -> None:
        con, self._con = self._con, None
        self._generation += 1
        self._leases = 0  # closing the connection closed any cursor still out
        if con is not None:
            try:
                close(con)  # under the condition: a cursor asked for meanwhile waits for a fresh open
            except duckdb.Error:
                pass  # a connection DuckDB invalidated still lets go of the file
            self.closes += 1

    def discard(self) -> None:
        """Drop a connection DuckDB invalidated (a fatal error, such as a full disk during a write), so the next
        unit of work opens the file afresh instead of failing forever."""
        with self._cond:
            self._close_locked()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._close_locked()
            self._cond.notify_all()


def _stop(database: Any) -> None:
    if isinstance(database, Database):
        database.stop()


@st.cache_resource(show_spinner=False, on_release=_stop)
def _connection(path: str) -> Database:
    settings = get_settings()
    # a DuckLake holds no file lock to give up, and attaching it costs a catalog round trip: kept open
    return Database(path, idle_close_seconds=None if is_lake(path) else settings.idle_close_seconds,
                    lock_wait_seconds=settings.lock_wait_seconds, memory_mb=settings.app_memory_mb)


def connection() -> Database:
    """The app's database, for the write path: `cursor()` is all core asks of it (core.db.transaction takes
    its own cursor per unit of work)."""
    return _connection(str(db_path()))


def cursor() -> LeasedCursor:
    return connection().cursor()


def read_only_reason() -> str | None:
    """Why the app can show figures but save nothing right now (a read-only or full disk), else None."""
    database = _connection(str(db_path()))
    return database.read_only_reason if isinstance(database, Database) else None


def recover(exc: BaseException) -> None:
    """After a failure: drop the connection if DuckDB invalidated it, so the next interaction reopens the file."""
    cause = exc.__cause__ or exc
    if isinstance(cause, duckdb.FatalException) or "invalidated" in str(cause).lower():
        database = _connection(str(db_path()))
        if isinstance(database, Database):
            database.discard()


def builds_demo_here(settings: Settings | None = None) -> bool:
    """The app builds the demo only at the default path, or where ACCORD_DEMO_IF_MISSING asks: a mistyped
    ACCORD_DB_PATH is reported as missing, never silently filled with sample data."""
    settings = settings or get_settings()
    default = Path(Settings.model_fields["db_path"].default)
    if is_lake(settings.db_path):
        return False  # a lake gets its demo only when asked: python -m core demo --db ducklake:...
    return settings.demo_if_missing or Path(settings.db_path).resolve() == default.resolve()


def ensure_database(progress: Callable[[float, str], None]) -> bool:
    """Build the demo database if the file is missing and this is where the demo belongs. Returns True when
    it built one; a missing file elsewhere is left for the first unit of work to report."""
    path = db_path()
    with _build_lock:  # two first visitors must not both build
        if not isinstance(path, Path) or path.exists() or not builds_demo_here():
            return False
        from core.demo import build_demo

        settings = get_settings()
        build_demo(path, leads=settings.demo_leads, seed=settings.demo_seed, progress=progress)
        return True


# Per database path: the reads every section repeats (shared_reads), keyed on the versions they depend on.
_SHARED_READS: dict[str, dict] = {}
_SHARED_READS_MAX = 256


@st.cache_data(show_spinner=False, max_entries=2048)
def _call(name: str, path: str, versions: tuple[int, ...], args: tuple, kwargs: tuple, _fn: Callable) -> Any:
    # `name` (module.qualname) identifies the function in the key; `_fn` (not hashed) is the function
    # itself, passed by the caller: nothing is looked up by name.
    cur = _connection(path).cursor()
    # one read transaction: a figure made of several queries sees one snapshot, even while an import commits
    cur.execute("BEGIN TRANSACTION")
    try:
        # the reads every section repeats (core.semantic.blocks.once_per_run), kept per version like the section
        store = _SHARED_READS.setdefault(path, {})
        if len(store) > _SHARED_READS_MAX:
            store.clear()  # versions only grow: old entries are never read again
        with shared_reads(store, dict(zip(getattr(_fn, "reads", DOMAINS), versions))):
            return _fn(cur, *args, **dict(kwargs))
    finally:
        try:
            cur.execute("ROLLBACK")
        except duckdb.Error:
            pass  # the read failed with the connection (reported by the caller); nothing to undo in a read
        finally:
            cur.close()


def cached(fn: Callable, *args, **kwargs) -> Any:
    """`fn(cursor, *args, **kwargs)` through the cache, keyed on the versions of the domains `fn` reads."""
    path = str(db_path())
    domains = getattr(fn, "reads", DOMAINS)
    cur = _connection(path).cursor()
    try:
        versions = domain_versions(cur, domains)
    finally:
        cur.close()
    return _call(f"{fn.__module__}.{fn.__qualname__}", path, versions, args, tuple(sorted(kwargs.items())), fn)


def uncached(fn: Callable, *args, **kwargs) -> Any:
    """`fn(cursor, *args, **kwargs)` on its own cursor, never cached: for logs that no write version tracks."""
    cur = cursor()
    try:
        return fn(cur, *args, **kwargs)
    finally:
        cur.close()
