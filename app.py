"""Accord's entry point: page config, first-run demo build, shared sidebar, navigation.

Every page runs inside `guarded()`, so a user never sees a traceback: AccordError messages are shown
as written; anything else is logged and shown as a one-line apology.
"""
from __future__ import annotations

import logging
from pathlib import Path

import duckdb
import streamlit as st

from core.db import DatabaseLocked, DatabaseUnreadable, fault
from core.errors import AccordError
from core.navigation import pages_for
from ui import auth, data, sidebar
from ui.widgets import plain

# a local icon: a Material icon as favicon is fetched from Google's font CDN by every browser
st.set_page_config(page_title="Accord · revenue alignment", page_icon=str(Path(__file__).with_name("ui") / "favicon.png"),
                   layout="wide")
log = logging.getLogger("accord")


def _first_run() -> None:
    bar = None

    def progress(fraction: float, message: str) -> None:
        nonlocal bar
        if bar is None:
            bar = st.progress(0.0, text="Building the demo database…")
        bar.progress(min(max(fraction, 0.0), 1.0), text=f"Building the demo database: {message}")

    if data.ensure_database(progress):
        st.toast("Demo database built: every figure you see is generated sample data.")
        if bar is not None:
            bar.empty()


try:
    _first_run()
    actor = auth.current_actor()  # first: without a signed-in person the run stops at the sign-in page
    menu = pages_for(actor)
    # "/" opens the first page through a hidden twin, so every page, the first too, keeps its own address
    # (/overview): the default page's address is always "/", and a shared /overview link would otherwise
    # open on "Page not found".
    home = st.Page(menu[0].path, title=menu[0].title, icon=menu[0].icon, url_path="home", default=True,
                   visibility="hidden")
    page = st.navigation([home, *(st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path)
                                  for spec in menu)])
    st.set_page_config(page_title=f"{page.title} · Accord")  # each page its own browser-tab title
    intended = st.session_state.pop("app_intended_page", None)
    if intended and any(spec.path == intended for spec in menu):
        # a deep link that arrived before navigation existed (see ui.sidebar.scope), with the link's query
        # parameters (period, tab, filters): before the sidebar binds the period to its picker, since
        # Streamlit refuses to carry a bound parameter through a switch of page
        st.switch_page(intended, query_params=st.query_params.to_dict())
    scope = sidebar.sidebar(actor)
    if scope.is_demo:
        st.sidebar.info("Demo data: generated sample records, not a real company.", icon=":material/science:")
    blocked = data.read_only_reason()
    if blocked:  # figures still show; every save would be refused, so say so before anyone tries
        st.sidebar.warning(plain(f"Read only for now: {blocked}"), icon=":material/lock:")
    page.run()
except DatabaseLocked as exc:  # an import or report holds the file for longer than we wait: it passes
    st.warning(plain(f"{exc} Reload this page in a moment; nothing was lost."), icon=":material/hourglass_top:")
except AccordError as exc:
    data.recover(exc)
    st.error(plain(exc))  # messages may quote what someone typed or imported
except duckdb.Error as exc:  # the file failed under us (disk full, damaged, removed): say which, plainly
    data.recover(exc)
    told = fault(exc, data.db_path())
    if type(told) is DatabaseUnreadable:  # nothing we recognise: a bug as far as the reader can tell
        log.exception("page failed")
        st.error("Something went wrong while computing this page. The error was logged; try another period or reload.")
    else:
        st.error(plain(told))
except Exception:  # a bug: log it for us, one calm line for the reader
    log.exception("page failed")
    st.error("Something went wrong while computing this page. The error was logged; try another period or reload.")
