"""Overview: the shared goal and both teams' promises on one screen, for leadership."""
from __future__ import annotations

import streamlit as st

from core import cache
from core.widgets import measure
from core.charts import funnel_chart, funnel_frame
from core.measures import fmt
from core.report import headline

scope = cache.scope()
h = cache.cached(headline, scope.period, scope.as_of, scope.stall_days)

st.title(f"Overview · {scope.period.label}")
st.caption(
    f"{scope.period.start:%d %b %Y} – {scope.period.end:%d %b %Y} (end exclusive) · as of "
    f"{scope.as_of:%Y-%m-%d %H:%M} UTC · {scope.period.elapsed_share(scope.as_of):.0%} of the period elapsed"
)


st.subheader("Shared goal")
c = st.columns(4)
measure(c[0], "goal", h.goal.revenue)
measure(c[1], "won_revenue", h.goal.won_revenue)
measure(c[2], "attainment", h.goal.attainment)
measure(c[3], "pacing", h.goal.pacing)

st.subheader("Both teams' promises")
c = st.columns(4)
measure(c[0], "quality_leads", h.delivery.quality_leads,
       delta=f"committed {fmt(h.delivery.committed, 'count')}" if h.delivery.committed is not None else None)
measure(c[1], "delivery", h.delivery.delivery)
measure(c[2], "compliance", h.sla.compliance,
       delta=f"{h.sla.breached:,} breached" if h.sla.breached is not None else None)
measure(c[3], "median_hours", h.sla.median_hours_to_first_touch)

st.subheader("Pipeline")
c = st.columns(4)
measure(c[0], "open_amount", h.pipeline.open_amount)
measure(c[1], "coverage", h.pipeline.coverage)
measure(c[2], "stalled_deals", h.pipeline.stalled_deals)
measure(c[3], "win_rate", h.pipeline.win_rate)

st.subheader("Funnel of the period's leads")
left, right = st.columns([3, 1])
if h.funnel.leads is None:
    left.info(" ".join(h.funnel.notes))
else:
    left.altair_chart(funnel_chart(funnel_frame(h.funnel)), width="stretch")
right.metric("Sales-sourced deals", fmt(h.funnel.sales_sourced_deals, "count"),
             help="Deals created in the period with no lead: sourced by sales, reported beside the funnel.")
right.metric("Unqualified-sourced opportunities", fmt(h.funnel.unqualified_opportunities, "count"),
             help="Leads of the period that reached a deal without ever meeting the quality-lead definition.")
right.metric("Unqualified-sourced wins", fmt(h.funnel.unqualified_won, "count"),
             help="Of those, deals closed won: what the definition misses.")

notes = list(dict.fromkeys(n for part in (h.goal, h.funnel, h.sla, h.delivery, h.pipeline) for n in part.notes))
if notes:
    with st.expander(f"Figures that cannot be computed ({len(notes)})", expanded=h.funnel.leads is None):
        for note in notes:
            st.markdown(f"- {note}")
