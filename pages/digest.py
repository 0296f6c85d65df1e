"""The meeting digest: one page on the period for leadership's meeting, in the app and as a file (HTML, PDF,
PNG) drawn offline; the same as `python -m core digest`."""
from __future__ import annotations

import streamlit as st

from core.digest import DEAL_COLUMNS, GAP_COLUMNS, NO_EDITS, build_digest, period_is_empty, render
from ui import data, sidebar
from ui.widgets import measure_row, notes, period_caption

KEY = "digest"
scope = sidebar.scope()
period, as_of = scope.period, scope.as_of

st.title(f"Meeting digest · {period.label}")
period_caption(scope, "the report's figures on one page")
empty = data.cached(period_is_empty, period, as_of)
if empty:
    st.info(empty)
    st.stop()
digest = build_digest(None, period, as_of, scope.stall_days, call=data.cached)  # each part cached, shared with the pages

# The files take seconds to draw (charts rendered offline): each is made when asked, then offered.
files = st.session_state.setdefault(f"{KEY}_files", {})
basis = (period.label, as_of, digest.report)  # a file made for another period or other figures is not offered
cols = st.columns(3)
for col, (kind, mime) in zip(cols, (("html", "text/html"), ("pdf", "application/pdf"), ("png", "image/png"))):
    made = files.get(kind)
    if made and made[0] == basis:
        col.download_button(f"Download {kind.upper()}", data=made[1], file_name=f"accord-digest-{period.label}.{kind}",
                            mime=mime, key=f"{KEY}_download_{kind}", type="primary")
    elif col.button(f"Make the {kind.upper()} file", key=f"{KEY}_make_{kind}"):
        with st.spinner(f"Drawing the {kind.upper()} file…"):
            files[kind] = (basis, render(digest, kind))
        st.rerun()

for title, lines in digest.sections:
    st.subheader(title)
    measure_row(lines)
if digest.sentences:
    st.subheader("In words")
    for sentence in digest.sentences:
        st.text(sentence)  # built from figures and data values: plain text
for title, chart in digest.charts:
    st.markdown(f"**{title}**")
    st.altair_chart(chart, width="stretch")
left, right = st.columns(2)
with left:
    st.subheader("Biggest gaps")
    if len(digest.gaps):
        st.dataframe(digest.gaps[list(GAP_COLUMNS)].rename(columns=GAP_COLUMNS), hide_index=True, width="stretch")
    else:
        st.caption("No stage has a target to be short of.")
with right:
    st.subheader(f"Deals at risk ({digest.at_risk_total:,})")
    st.caption("Open, expected to close in the period, and stalled.")
    if len(digest.at_risk):
        st.dataframe(digest.at_risk[list(DEAL_COLUMNS)].rename(columns=DEAL_COLUMNS), hide_index=True, width="stretch")
st.subheader(f"Stalled deals ({digest.stalled_total:,})")
if len(digest.stalled):
    st.dataframe(digest.stalled[list(DEAL_COLUMNS)].rename(columns=DEAL_COLUMNS), hide_index=True, width="stretch")
st.subheader("Goal, SLA and definition changes in the period")
for line in digest.edits_made or [NO_EDITS]:
    st.text(line)  # reasons are typed by people: plain text
notes(digest.notes)
