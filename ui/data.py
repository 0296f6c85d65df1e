"""The process's one DuckDB connection and cached calls of core functions.

A cached call is keyed on the function, its arguments and the versions of the data domains the function
declares it reads (`@core.db.reads(...)`): a goal save bumps only the goal domain, so the SLA and
attribution caches stay warm. Writes go through core (core.edits, core.ingest) on `connection()`; their
transaction bumps the domains they change, so the next rerun after a save misses exactly the caches it
made stale.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st

from core.db import DOMAINS, domain_versions
from core.settings import get_settings
from core.store import open_store

_build_lock = threading.Lock()


def db_path() -> Path:
    return Path(get_settings().db_path)


@st.cache_resource(show_spinner=False)
def _connection(path: str) -> duckdb.DuckDBPyConnection:
    # One connection per process; each unit of work takes its own cursor (DuckDB connections are not
    # thread-safe, and Streamlit runs every session in its own thread).
    return open_store(path)


def connection() -> duckdb.DuckDBPyConnection:
    """The process's shared connection, for the write path (core.db.transaction takes its own cursor)."""
    return _connection(str(db_path()))


def cursor() -> duckdb.DuckDBPyConnection:
    return connection().cursor()


def ensure_database(progress: Callable[[float, str], None]) -> bool:
    """Build the demo database if the file is missing. Returns True when it built one."""
    path = db_path()
    with _build_lock:  # two first visitors must not both build
        if path.exists():
            return False
        from core.demo import build_demo

        settings = get_settings()
        build_demo(path, leads=settings.demo_leads, seed=settings.demo_seed, progress=progress)
        return True


@st.cache_data(show_spinner=False, max_entries=2048)
def _call(name: str, path: str, versions: tuple[int, ...], args: tuple, kwargs: tuple, _fn: Callable) -> Any:
    # `name` (module.qualname) identifies the function in the key; `_fn` (not hashed) is the function
    # itself, passed by the caller: nothing is looked up by name.
    cur = _connection(path).cursor()
    # one read transaction: a figure made of several queries sees one snapshot, even while an import commits
    cur.execute("BEGIN TRANSACTION")
    try:
        return _fn(cur, *args, **dict(kwargs))
    finally:
        cur.execute("ROLLBACK")
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
