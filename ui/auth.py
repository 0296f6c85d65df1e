"""Who is acting in this browser session: the person signed in through OpenID Connect (st.login) when an
[auth] section is configured in .streamlit/secrets.toml, else a demo persona picked in the sidebar.

Streamlit's identity cookie lasts 30 days whatever the identity token says, so the token's own expiry
(`exp`) is checked on every run and an expired session is signed out. Demo mode has no real sign-in, so it
serves only this machine (a browser on another address is refused).
"""
from __future__ import annotations

import ipaddress
import time

import streamlit as st

from core.access import access_map, resolve
from core.models import DEMO_PERSONAS, Actor
from core.settings import get_settings
from ui import data
from ui.widgets import say


def auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


def _local_client() -> bool:
    address = st.context.ip_address
    if not isinstance(address, str):  # none under AppTest (no browser); the server binds to localhost anyway
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def _signed_in_actor() -> Actor:
    if not st.user.is_logged_in:
        st.title("Accord · revenue alignment")
        st.write("Sign in to see the numbers sales, marketing and leadership share.")
        st.button("Sign in", type="primary", on_click=st.login, key="auth_login")
        st.stop()
    expires = st.user.get("exp")
    if expires is not None and float(expires) <= time.time():
        st.logout()  # the identity token has expired: sign in again
        st.stop()
    email = st.user.get("email")
    if not email:
        st.error("Your identity provider did not share an e-mail address, so Accord cannot tell your role. "
                 "Ask your administrator to add the 'email' scope.")
        st.stop()
    return resolve(data.cached(access_map), str(email), st.user.get("name"), get_settings().admin_emails)


def _demo_actor() -> Actor:
    if not _local_client():
        st.error("This Accord runs in demo mode, without sign-in, so it only serves this machine. To serve others, "
                 "configure sign-in ([auth] in .streamlit/secrets.toml; see the README).")
        st.stop()
    names = [f"{a.name} · {a.team}" for a in DEMO_PERSONAS]
    who = st.sidebar.selectbox("Acting as (demo mode, no real sign-in)", names, index=0, key="app_persona",
                               help="Demo mode: pick a persona to try each team's rights. With sign-in configured, "
                                    "your identity and role come from your account.")
    return DEMO_PERSONAS[names.index(who)]


def current_actor() -> Actor:
    """The acting person for this run (stops the run with a sign-in page when nobody is signed in)."""
    if auth_configured():
        actor = _signed_in_actor()
        with st.sidebar:
            say("caption", "Signed in as {} ({})", actor.name, actor.email)  # names come from outside: plain text
            st.button("Sign out", on_click=st.logout, key="auth_logout")
        return actor
    return _demo_actor()
