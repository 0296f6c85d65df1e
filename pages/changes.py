"""What changed since the last review: deals created, advanced, moved back, won, lost and slipped between two
dates, with amounts; the largest movements in funnel conversion by segment; all said in plain sentences."""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from core.errors import AccordError
from core.metrics.changes import CHANGE_SEGMENTS, LIST_LIMIT, changes, window_of_days
from core.semantic.dimensions import labels
from core.semantic.measures import fmt
from ui import data, links, sidebar
from ui.widgets import csv_download, measure_row, measure_table, notes

KEY = "changes"
scope = sidebar.scope()
last = scope.as_of.date()

# both dates and the split live in the URL, so "what changed since Monday's review" is a link
links.seed_bound("since", last - timedelta(days=7), (last - timedelta(days=7)).isoformat(), links.parse_date)
links.seed_bound("until", last, last.isoformat(), links.parse_date)
left, right, split_col, _ = st.columns([1, 1, 1, 1])
since = left.date_input("From", value=None, key="since", bind="query-params", max_value=last,
                        help="The start of the window (from midnight UTC).")
until = right.date_input("To", value=None, key="until", bind="query-params", max_value=last,
                         help="The last day of the window, included; figures are as of its end (as of the data's "
                              "as-of moment for today).")
segments = labels(CHANGE_SEGMENTS)
segment = split_col.selectbox("Conversion by", list(segments), format_func=segments.get, key="by",
                              bind="query-params")

st.title("What changed")
if since is None or until is None:
    st.info("Choose both dates to see what changed between them.")
    st.stop()
try:
    start, end = window_of_days(since, until, scope.as_of)
except AccordError as exc:
    st.warning(str(exc))  # our own sentence
    st.stop()
st.caption(f"{start:%d %b %Y} – {end:%d %b %Y %H:%M} UTC · every deal's state as of the window's end · "
           "data as of " f"{scope.as_of:%Y-%m-%d %H:%M} UTC")

result = data.cached(changes, start, end, segment)
for sentence in result.sentences:
    st.text(sentence)  # generated from figures, with values (segment names) from the data: plain text

counts = {kind: result.count(kind) for kind in ("created", "advanced", "regressed", "won", "lost", "slipped")}
measure_row([(f"window_{kind}", deals, None if not deals or amount is None else f"worth {fmt(amount, 'money')}")
             for kind, (deals, amount) in counts.items()])

st.subheader("The deals that moved")
if result.deals_total:
    shown = f"the largest {LIST_LIMIT:,} are listed and in the CSV" if result.deals_total > LIST_LIMIT else "all listed"
    st.caption(f"{result.deals_total:,} deal(s) created, advanced, moved back, won, lost or slipped in the window; "
               f"{shown}.")
    measure_table(result.deals, ["deal_id", "account", "amount", "stage", "what_happened"], key=f"{KEY}_deals",
                  labels={"deal_id": "Deal", "account": "Account", "amount": "Amount", "stage": "Stage now",
                          "what_happened": "What happened"}, formats={"amount": "dollar"}, max_height=420)
    csv_download(result.deals, f"changes_{start:%Y%m%d}_{end:%Y%m%d}.csv", "Download the deals (CSV)",
                 key=f"{KEY}_csv")
else:
    st.caption("No deal was created, moved, closed or slipped in the window.")

st.subheader(f"Largest movements in funnel conversion by {segments[segment].lower()}")
st.caption("This window's leads, as of its end, against the leads of the window of the same length before it, "
           "as of that window's end.")
if not result.conversion_moves.empty:
    measure_table(result.conversion_moves, ["segment", "step", "before", "after", "change", "base_before", "base_after"],
                  key=f"{KEY}_conversion",
                  labels={"segment": segments[segment], "step": "Conversion", "before": "Before", "after": "After",
                          "change": "Change", "base_before": "Base before", "base_after": "Base after"},
                  formats={"before": "percent", "after": "percent", "change": "percent"})
notes(result.notes)
