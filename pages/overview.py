"""Overview: the shared goal and both teams' promises on one screen, for leadership."""
from __future__ import annotations

import streamlit as st

from core.charts import funnel_chart, funnel_frame
from core.report import headline, headline_notes
from ui import data, sidebar
from ui.widgets import measure, notes, period_caption

scope = sidebar.scope()
h = data.cached(headline, scope.period, scope.as_of, scope.stall_days)

st.title(f"Overview · {scope.period.label}")
period_caption(scope)

st.subheader("Shared goal")
c = st.columns(4)
measure(c[0], "goal", h.goal.revenue)
measure(c[1], "won_revenue", h.goal.won_revenue)
measure(c[2], "attainment", h.goal.attainment)
measure(c[3], "pacing", h.goal.pacing)

st.subheader("Both teams' promises")
c = st.columns(4)
measure(c[0], "quality_leads", h.delivery.quality_leads, delta=h.delivery.committed_note)
measure(c[1], "delivery", h.delivery.delivery)
measure(c[2], "compliance", h.sla.compliance, delta=h.sla.breached_note)
measure(c[3], "median_hours", h.sla.median_hours_to_first_touch)

st.subheader("Pipeline")
c = st.columns(4)
measure(c[0], "open_amount", h.pipeline.open_amount)
measure(c[1], "coverage", h.pipeline.coverage)
measure(c[2], "stalled_deals", h.pipeline.stalled_deals)
measure(c[3], "win_rate", h.pipeline.win_rate)

st.subheader(f"Funnel: the cohort of leads created in {scope.period.label}")
st.caption("Each stage counts the period's leads that reached it by as-of (METRICS.md, cohort funnel). Deals "
           "won or created in the period, whatever their lead's age, are on Shared goals and Pipeline gaps.")
left, right = st.columns([3, 1])
if h.funnel.leads is None:
    left.info(" ".join(h.funnel.notes))
else:
    left.altair_chart(funnel_chart(funnel_frame(h.funnel)), width="stretch")
measure(right, "sales_sourced_deals", h.funnel.sales_sourced_deals)
measure(right, "unqualified_opportunities", h.funnel.unqualified_opportunities)
measure(right, "unqualified_won", h.funnel.unqualified_won)

notes(headline_notes(h), expanded=h.funnel.leads is None)
