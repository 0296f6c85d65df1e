"""A link is the view: widgets whose value lives in the URL's query (Streamlit's bind="query-params"), so a
shared link opens the same period, dates, filters and tab."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import streamlit as st


def seed_bound(key: str, default: Any, text: str, parse: Callable[[str], Any],
               valid: Callable[[Any], bool] = lambda v: v is not None) -> None:
    """Start the URL-bound widget `key` on `default` (written `text` in the URL) unless the URL or the session
    holds a usable value. Call before drawing the widget, which takes no default of its own (`index=None`,
    `value=None`): Streamlit leaves a bound value equal to the widget's default out of the URL, and Accord's
    defaults move with the data (the latest quarter, the last week up to as-of), so a link copied before
    anyone touched the widget would open another view later. `parse(text)` is None for an unusable value."""
    in_url = st.query_params.get(key)
    if in_url is not None and parse(in_url) is not None:
        return
    if key in st.session_state and valid(st.session_state[key]):
        return
    drawn = key in st.session_state  # the widget ran before (its value is no longer offered)
    st.session_state[key] = default  # the value, in this very run
    if not drawn:  # and the address bar: Streamlit syncs a bound widget's URL only from its second run on
        st.query_params[key] = text


def parse_date(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None
