"""The shared sidebar (period, as-of, source, acting persona) and the Scope every page computes for."""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import streamlit as st

from core.access import abilities
from core.db import get_meta
from core.models import Actor
from core.periods import (
    Period,
    default_period,
    latest_record_at,
    parse_as_of,
    parse_period,
    period_options,
    utc_now,
)
from core.settings import get_settings
from ui import data, links
from ui.widgets import say

ROOT = Path(__file__).resolve().parents[1]
PERIOD_KEY = "period"  # the sidebar's period picker, and its query parameter in the URL


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
    cur = data.cursor()
    try:
        as_of_text = get_meta(cur, "as_of")
        source = get_meta(cur, "source") or "no data loaded yet"
        is_demo = get_meta(cur, "is_demo") == "1"
    finally:
        cur.close()
    return (parse_as_of(as_of_text) if as_of_text else utc_now()), source, is_demo


def _seed_period(options: list[str], default: str) -> None:
    """The period lives in the URL (?period=2026-Q3), so a link opens the view that was shared; it starts on
    the latest quarter holding data, written into the URL too (ui.links.seed_bound)."""
    links.seed_bound(PERIOD_KEY, default, default, parse=lambda t: t if t in options else None,
                     valid=lambda v: v in options)


def sidebar(actor: Actor) -> Scope:
    """Draw the shared sidebar for `actor` (ui.auth.current_actor) and remember the scope for the page this
    run shows."""
    as_of, source, is_demo = _data_facts()
    with st.sidebar:
        latest = data.cached(latest_record_at, as_of)
        options = period_options(as_of, latest_record=latest)  # from two quarters ahead down
        _seed_period(options, default_period(as_of, latest).label)
        label = st.selectbox("Period", options, index=None, key=PERIOD_KEY, bind="query-params",
                             help="A calendar quarter or month; start inclusive, end exclusive (UTC).")
        st.caption(abilities(actor))
        st.caption(f"Figures as of **{as_of:%Y-%m-%d %H:%M} UTC**")
        say("caption", "Source: {}", source)  # a file or preset name: shown as plain text
    scope = Scope(
        period=parse_period(label),
        as_of=as_of,
        actor=actor,
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
    if caller.is_relative_to(ROOT / "pages"):
        st.session_state["app_intended_page"] = str(caller.relative_to(ROOT))
    # a shared link's query parameters (period, tab, filters) go along: switch_page drops them otherwise
    st.switch_page(str(ROOT / "app.py"), query_params=st.query_params.to_dict())
    raise AssertionError("unreachable: st.switch_page stops this run")
