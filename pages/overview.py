"""Overview: the shared goal and both teams' promises on one screen, for leadership."""
from __future__ import annotations

import streamlit as st

from core.charts import funnel_chart, funnel_frame
from core.report import (
    card_changes,
    card_statuses,
    comparison_point,
    forecast_cards,
    forecast_sentence,
    headline,
    headline_cards,
    headline_notes,
)
from ui import data, sidebar
from ui.widgets import measure, measure_row, notes, period_caption, plain

scope = sidebar.scope()
h = headline(None, scope.period, scope.as_of, scope.stall_days, call=data.cached,  # each section cached
             with_forecast=True)
statuses = card_statuses(h)

st.title(f"Overview · {scope.period.label}")
period_caption(scope)

st.subheader("Will we make the number?")
measure_row([(name, value, delta, statuses.get(name)) for name, value, delta in forecast_cards(h)])
sentence = forecast_sentence(h)
if sentence:
    st.caption(plain(sentence) + " The back-test is on Shared goals.")

slots = []  # each card's place: drawn now, redrawn with its change once the previous period is read
for title, row in headline_cards(h):
    st.subheader(title)
    cards = st.container(horizontal=True, gap="small")  # wraps at narrow widths instead of truncating
    for name, value, delta in row:
        slots.append((cards.empty(), name, value, delta))
        measure(slots[-1][0], name, value, delta=delta, status=statuses.get(name))
point = comparison_point(scope.period, scope.as_of)
st.caption("On track: at or above the target to date; at risk: from 90% of it; behind: below 90%. Targets: the goal "
           "and marketing's commitment pro-rated to date, 90% SLA compliance, the coverage the win rate needs, and "
           "for the landing estimate the whole goal."
           + (f" Changes are against {point.point}, the same point of the previous period." if point else ""))

st.subheader(f"Funnel: the cohort of leads created in {scope.period.label}")
st.caption("Each stage counts the period's leads that reached it by as-of (METRICS.md, cohort funnel). Deals "
           "won or created in the period, whatever their lead's age, are on Shared goals and Pipeline gaps.")
left, right = st.columns([3, 1])
if h.funnel.leads is None:
    left.info(plain(" ".join(h.funnel.notes)))  # notes may quote the data
else:
    left.altair_chart(funnel_chart(funnel_frame(h.funnel)), width="stretch")
measure(right, "sales_sourced_deals", h.funnel.sales_sourced_deals)
measure(right, "unqualified_opportunities", h.funnel.unqualified_opportunities)
measure(right, "unqualified_won", h.funnel.unqualified_won)

notes(headline_notes(h), expanded=h.funnel.leads is None)

# The same point of the previous period is a second headline (as long to compute as the first, 1 s at ten
# million leads when not cached): read last, so every figure above shows first and the changes follow.
if point is not None:
    changes = card_changes(h, headline(None, point.period, point.moment, scope.stall_days, call=data.cached,
                                       cards_only=True), point.words)
    for slot, name, value, delta in slots:
        if name in changes:
            measure(slot, name, value, delta=delta, status=statuses.get(name), change=changes[name])
