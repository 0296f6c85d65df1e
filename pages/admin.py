"""Admin: who may do what — the access map (e-mail or domain → role), versioned with history, and the log of
writes the write path refused."""
from __future__ import annotations

import streamlit as st

from core import access, edits
from core.semantic.enums import ROLE_LABELS, ROLES
from ui import data, sidebar, widgets

KEY = "admin"
scope = sidebar.scope()
actor = scope.actor

st.title("Admin: who may do what")
st.caption("Signed-in people get the role of the rule matching their e-mail address, else of their domain "
           "(@example.com); anyone else is a viewer. E-mails in ACCORD_ADMINS are always admins. Every change is a "
           "new version with its reason.")
widgets.show_flash_and_conflict(KEY)
if not edits.may(actor, "access"):
    widgets.say("info", "{} ({}) can read this page; only {} change it.", actor.name, actor.team,
                edits.who_may("access"))

versions = data.cached(edits.history, "access", access.SUBJECT)
current = versions[0] if versions else None
widgets.opened_version(KEY, current)
table = st.data_editor(
    access.rules_frame(current.body if current else data.cached(access.access_map)),
    num_rows="dynamic", hide_index=True, width="stretch", key=f"{KEY}_form_rules",
    disabled=not edits.may(actor, "access"),
    column_config={
        "match": st.column_config.TextColumn("E-mail or @domain", required=True),
        "role": st.column_config.SelectboxColumn("Role", options=list(ROLES), required=True, default="viewer",
                                                 help=", ".join(f"{r}: {ROLE_LABELS[r]}" for r in ROLES)),
    },
)
reason = st.text_input("Why (kept in the history)", key=f"{KEY}_form_reason")
if st.button("Save the access map", type="primary", key=f"{KEY}_save", disabled=not edits.may(actor, "access")):
    saved = widgets.submit_edit(KEY, "access", access.SUBJECT, access.rules_body(table.to_dict("records")),
                                actor=actor, reason=reason)
    widgets.after_submit(KEY, saved)

st.subheader("History")
widgets.version_history(KEY, versions)

st.subheader("Refused writes")
st.caption("Every write the write path refused, newest first: who tried what, and why it was refused.")
refused = data.uncached(access.refused_writes)
st.dataframe(refused, hide_index=True, width="stretch")
widgets.csv_download(refused, "accord-refused-writes.csv", label="Download the refused writes (CSV)",
                     key=f"{KEY}_refused_csv")
