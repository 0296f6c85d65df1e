"""With core/widgets.py, the only core modules that import streamlit. This one holds the process's one connection, cached metric calls keyed
on the data version, the first-run demo build, and the sidebar scope every page reads.

Caches are invalidated by the write path, not a timer: every write bumps meta.data_version in its
transaction, and every cached call has that version in its key, so the next rerun after a save misses.
"""
from __future__ import annotations

import importlib
import inspect
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import duckdb
import streamlit as st

from core.db import data_version, get_meta
from core.models import DEMO_PERSONAS, Actor
from core.periods import Period, parse_as_of, parse_period, recent_periods, utc_now
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
    return _connection(str(db_path())).cursor()


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
def _call(fn_path: str, path: str, version: int, args: tuple, kwargs: tuple) -> Any:
    module_name, _, name = fn_path.rpartition(".")
    if not module_name.startswith("core."):
        raise ValueError(f"not a core function: {fn_path}")
    fn = getattr(importlib.import_module(module_name), name)
    cur = _connection(path).cursor()
    try:
        return fn(cur, *args, **dict(kwargs))
    finally:
        cur.close()


def cached(fn: Callable, *args, **kwargs) -> Any:
    """Call a core function `fn(con, *args, **kwargs)` through the cache, keyed on the data version."""
    path = str(db_path())
    cur = _connection(path).cursor()
    try:
        version = data_version(cur)
    finally:
        cur.close()
    return _call(f"{fn.__module__}.{fn.__name__}", path, version, args, tuple(sorted(kwargs.items())))


def clear() -> None:
    """After a write the data version already changed; this only frees memory held by old entries."""
    _call.clear()


@dataclass(frozen=True)
class Scope:
    """What every page computes for: the period, the as-of moment, who is acting, where data came from."""

    period: Period
    as_of: datetime
    actor: Actor
    source: str
    is_demo: bool
    stall_days: int


def _data_facts() -> tuple[datetime, str, bool]:
    cur = cursor()
    try:
        as_of_text = get_meta(cur, "as_of")
        source = get_meta(cur, "source") or "no data loaded yet"
        is_demo = get_meta(cur, "is_demo") == "1"
    finally:
        cur.close()
    return (parse_as_of(as_of_text) if as_of_text else utc_now()), source, is_demo


def sidebar() -> Scope:
    """Draw the shared sidebar (period, as-of, source, persona) and remember the scope for pages."""
    as_of, source, is_demo = _data_facts()
    options = []
    for quarter in recent_periods(as_of, quarters=6):
        options.append(quarter.label)
        options.extend(m.label for m in quarter.months())
    with st.sidebar:
        label = st.selectbox("Period", options, index=0, key="app_period",
                             help="A calendar quarter or month; start inclusive, end exclusive (UTC).")
        persona_names = [f"{a.name} · {a.team}" for a in DEMO_PERSONAS]
        who = st.selectbox("Acting as", persona_names, index=0, key="app_persona",
                           help="Until sign-in exists, edits are recorded under this demo persona.")
        st.caption(f"Figures as of **{as_of:%Y-%m-%d %H:%M} UTC**")
        st.caption(f"Source: {source}")
    scope = Scope(
        period=parse_period(label),
        as_of=as_of,
        actor=DEMO_PERSONAS[persona_names.index(who)],
        source=source,
        is_demo=is_demo,
        stall_days=get_settings().stall_days,
    )
    st.session_state["app_scope"] = scope
    return scope


def scope() -> Scope:
    """The scope app.py's sidebar chose for this run.

    Streamlit runs a `pages/` folder in its legacy multipage mode until app.py has called st.navigation
    once in the process; a browser whose first request is a deep link (/sla) would then run the page
    without app.py. Sending that session through app.py once turns the modern mode on for good.
    """
    found = st.session_state.get("app_scope")
    if isinstance(found, Scope):
        return found
    caller = Path(inspect.stack()[1].filename).resolve()
    root = Path(__file__).resolve().parents[1]
    if caller.is_relative_to(root / "pages"):
        st.session_state["app_intended_page"] = str(caller.relative_to(root))
    st.switch_page(str(Path(__file__).resolve().parents[1] / "app.py"))
    raise AssertionError("unreachable: st.switch_page stops this run")
