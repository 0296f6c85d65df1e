"""Pipeline gaps: where revenue leaks against the shared goal — the cohort funnel, the gap per stage, the
pipeline's health and the revenue gap split into its causes, each with the records behind it."""
from __future__ import annotations

import streamlit as st

from ui import data, sidebar
from core.charts import funnel_chart, funnel_frame
from core.charts_pipeline import (
    comparison_table,
    components_markdown,
    factors_table,
    gap_chart,
    gap_table,
    health_table,
    segment_funnel_table,
    stalled_table,
    waterfall_chart,
)
from core.semantic.measures import fmt, show
from core.metrics.funnel import funnel
from core.metrics.gaps import (
    FUNNEL_SEGMENTS,
    GAP_RECORD_KINDS,
    LEAD_KINDS,
    funnel_comparison,
    funnel_segments,
    gap_decomposition,
    lead_records,
    stage_gaps,
    waterfall_frame,
)
from core.metrics.goals import GOAL_SEGMENTS, OTHER_SEGMENTS, goal_revenue
from core.metrics.pipeline import (
    DEAL_KINDS,
    pipeline,
    pipeline_by,
    pipeline_movement,
    stalled_deals,
    deal_records,
)
from ui.widgets import csv_download, measure as metric, notes

KEY = "pipeline"
STALLED_LIMIT = 200
scope = sidebar.scope()
period, as_of = scope.period, scope.as_of

st.title(f"Pipeline gaps · {period.label}")
st.caption(
    f"{period.start:%d %b %Y} – {period.end:%d %b %Y} (end exclusive) · as of {as_of:%Y-%m-%d %H:%M} UTC · "
    f"{period.elapsed_share(as_of):.0%} of the period elapsed · stall threshold {scope.stall_days} days"
)


def records_view(records, name: str, key: str) -> None:
    """A bounded records list with its CSV (formula-safe)."""
    if records.frame.empty:
        st.caption("No records behind this figure.")
        return
    shown = len(records.frame)
    st.caption(f"{records.total:,} record(s)" + (f"; the first {shown:,} are listed and in the CSV." if records.total > shown else "."))
    st.dataframe(records.frame, hide_index=True, width="stretch", height=min(38 + 35 * shown, 420))
    csv_download(records.frame, f"{name}.csv", key=f"{KEY}_{key}_csv")


funnel_tab, gap_tab, health_tab, decomposition_tab = st.tabs(
    ["Funnel", "Gap to goal", "Pipeline health", "Gap decomposition"])

# --- 1. Cohort funnel against the previous period and the trailing year --------------------------------
with funnel_tab:
    cohort = data.cached(funnel, period, as_of)
    comparison = data.cached(funnel_comparison, period, as_of)
    if cohort.leads is None:
        st.info(" ".join(cohort.notes))
    else:
        left, right = st.columns([5, 2])
        left.altair_chart(funnel_chart(funnel_frame(cohort)), width="stretch")
        previous = comparison.frame.set_index("key")["previous"]
        for key in ("sales_sourced_deals", "unqualified_opportunities", "unqualified_won"):
            metric(right, key, getattr(cohort, key),
                   delta=f"{comparison.previous_label}: {fmt(previous.get(key), 'count')}")
        st.markdown(f"**{period.label} against {comparison.previous_label} and the trailing year** "
                    "(each period's leads, counted as of the same moment)")
        st.dataframe(comparison_table(comparison.frame, period.label, comparison.previous_label),
                     hide_index=True, width="stretch")

        st.subheader("By segment")
        c1, c2 = st.columns(2)
        segment = c1.selectbox("Break down by", list(FUNNEL_SEGMENTS), format_func=FUNNEL_SEGMENTS.get,
                               key=f"{KEY}_funnel_segment")
        compare = c2.radio("Change in conversion against", ["prev", "year"], horizontal=True,
                           format_func={"prev": comparison.previous_label, "year": "the trailing year"}.get,
                           key=f"{KEY}_funnel_compare")
        by_segment = data.cached(funnel_segments, period, as_of, segment)
        st.caption("Conversions are from the previous stage; in brackets, the change in percentage points.")
        st.dataframe(segment_funnel_table(by_segment, FUNNEL_SEGMENTS[segment], compare),
                     hide_index=True, width="stretch")

        with st.expander("Records behind a figure", expanded=False):
            c1, c2 = st.columns(2)
            value = c1.selectbox(f"{FUNNEL_SEGMENTS[segment]}", ["(all)"] + list(by_segment["segment"]),
                                 key=f"{KEY}_funnel_value")
            kind = c2.selectbox("Figure", list(LEAD_KINDS), format_func=lambda k: LEAD_KINDS[k][0],
                                key=f"{KEY}_funnel_kind")
            chosen = None if value == "(all)" else segment
            records = data.cached(lead_records, period, as_of, kind, chosen, None if chosen is None else value)
            records_view(records, f"{period.label}-{kind}-{segment}-{value}", "funnel")
    notes(comparison.notes)

# --- 2. Gap to goal per stage, biggest first ------------------------------------------------------------
with gap_tab:
    split = st.selectbox("Split by", [None, *GOAL_SEGMENTS],
                         format_func=lambda s: "Whole funnel" if s is None else GOAL_SEGMENTS[s],
                         key=f"{KEY}_gap_segment",
                         help="The Goals page's split: each stage's target shared out by the segment's trailing-year share.")
    gaps = data.cached(stage_gaps, period, as_of, split)
    if not gaps.has_targets:
        st.info(" ".join(gaps.notes) or "No stage has a target yet.")
    else:
        st.caption("Targets come from the shared goal through the cascade (Goals page); gaps are ranked by the "
                   "revenue they put at stake, so leads and deals compare on one scale. Positive: behind pace.")
        chart = gap_chart(gaps.frame, segmented=split is not None)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        else:
            st.success("Every stage is on or ahead of pace.")
        st.dataframe(gap_table(gaps.frame, GOAL_SEGMENTS.get(split) if split else None), hide_index=True,
                     width="stretch")
        with st.expander("Records behind a gap", expanded=False):
            rows = gaps.frame.to_dict("records")
            labels = [(f"{r['segment']} · " if split else "") + r["label"] for r in rows]
            pick = st.selectbox("Gap", range(len(rows)), format_func=labels.__getitem__, key=f"{KEY}_gap_pick")
            row = rows[pick]
            table, kind = GAP_RECORD_KINDS[row["stage"]]
            if split and row["segment"] == OTHER_SEGMENTS:
                st.caption("This row sums the smaller segment values; pick one of the listed values to see records.")
            elif table == "lead":
                records_view(data.cached(lead_records, period, as_of, kind, split, row.get("segment")),
                             f"{period.label}-gap-{row['stage']}", "gap")
            else:
                records_view(data.cached(deal_records, period, as_of, kind, split, row.get("segment"),
                                          scope.stall_days), f"{period.label}-gap-{row['stage']}", "gap")
    notes(gaps.notes)

# --- 3. Pipeline health -------------------------------------------------------------------------------
with health_tab:
    goal = data.cached(goal_revenue, period)
    health = data.cached(pipeline, period, as_of, goal, scope.stall_days)
    movement = data.cached(pipeline_movement, period, as_of)
    if health.open_amount is None:
        st.info(" ".join(health.notes))
    else:
        c = st.columns(3)
        metric(c[0], "open_amount", health.open_amount)
        metric(c[1], "coverage", health.coverage, delta=f"needs {show('coverage_needed', health.coverage_needed)}")
        metric(c[2], "coverage_needed", health.coverage_needed)
        c = st.columns(3)
        metric(c[0], "win_rate", health.win_rate)
        metric(c[1], "velocity", health.velocity_per_day)
        metric(c[2], "stalled_deals", health.stalled_deals)

        st.subheader("Movement in the period")
        c = st.columns(5)
        for col, kind, key in zip(c, ("created", "advanced", "won", "lost", "slipped"),
                                  ("created_deals", "advanced_deals", "period_won_deals", "lost_deals", "slipped_deals")):
            metric(col, key, getattr(movement, f"{kind}_deals"),
                   delta=None if getattr(movement, f"{kind}_amount") is None
                   else fmt(getattr(movement, f"{kind}_amount"), "money"))

        st.subheader("Coverage by segment")
        segment = st.selectbox("Break down by", list(FUNNEL_SEGMENTS), format_func=FUNNEL_SEGMENTS.get,
                               key=f"{KEY}_health_segment",
                               help="Source, campaign and industry of the deal's lead; team and region of the deal owner.")
        by_segment = data.cached(pipeline_by, period, as_of, segment, goal, scope.stall_days)
        st.caption("Each segment's share of the goal follows its share of the trailing year's won revenue; the "
                   "coverage it needs is 1 ÷ its own win rate. Biggest shortfall first.")
        st.dataframe(health_table(by_segment, FUNNEL_SEGMENTS[segment]), hide_index=True, width="stretch")

        st.subheader("Stalled deals")
        if health.stalled_deals is None:
            st.info("Stalled deals cannot be identified without deal stage history.")
        else:
            stalled = data.cached(stalled_deals, as_of, scope.stall_days, STALLED_LIMIT)
            if stalled.empty:
                st.caption(f"No open deal has been in one stage for more than {scope.stall_days} days.")
            else:
                st.caption(f"{health.stalled_deals:,} deal(s) open in one stage for more than {scope.stall_days} days, "
                           f"longest first" + (f"; the first {len(stalled):,} are listed." if health.stalled_deals > len(stalled) else "."))
                st.dataframe(stalled_table(stalled), hide_index=True, width="stretch",
                             height=min(38 + 35 * len(stalled), 420))
                csv_download(stalled, f"stalled-deals-{as_of:%Y-%m-%d}.csv", key=f"{KEY}_stalled_csv")

        with st.expander("Records behind a figure", expanded=False):
            c1, c2 = st.columns(2)
            kind = c1.selectbox("Figure", list(DEAL_KINDS), format_func=lambda k: DEAL_KINDS[k][0],
                                key=f"{KEY}_deal_kind")
            value = c2.selectbox(FUNNEL_SEGMENTS[segment], ["(all)"] + list(by_segment["segment"]),
                                 key=f"{KEY}_deal_value")
            chosen = None if value == "(all)" else segment
            records_view(data.cached(deal_records, period, as_of, kind, chosen,
                                      None if chosen is None else value, scope.stall_days),
                         f"{period.label}-{kind}-{segment}-{value}", "deals")
    notes(health.notes + movement.notes)

# --- 4. The revenue gap, decomposed -------------------------------------------------------------------
with decomposition_tab:
    d = data.cached(gap_decomposition, period, as_of)
    if not d.components:
        st.info(" ".join(d.notes) or "The gap cannot be decomposed.")
    else:
        c = st.columns(3)
        metric(c[0], "goal_to_date", d.goal_to_date)
        metric(c[1], "won_revenue", d.won_revenue)
        metric(c[2], "revenue_gap", d.gap)
        st.altair_chart(waterfall_chart(waterfall_frame(d)), width="stretch")
        st.markdown("**What each step means** (the steps add up to the gap exactly)")
        st.markdown(components_markdown(d.component_frame()))
        st.markdown("**Cascade assumptions against the period**")
        left, _ = st.columns([3, 2])
        left.dataframe(factors_table(d.factors()), hide_index=True, width="stretch")
        with st.expander("How the gap is split"):
            st.markdown(
                "Expected revenue = quality leads × quality→won conversion × average won deal size. Start from "
                "the cascade's plan (which gives exactly the goal to date) and replace one assumption at a time "
                "by the period's actual, in funnel order: **volume** (quality leads), **conversion** "
                "(quality→opportunity × win rate of deals closed in the period), **deal size** (average of "
                "deals won in the period). Each step's change in expected revenue is that factor's share of the "
                "gap. **Cycle time** is what the period's opportunities would earn at its own win rate and deal "
                "size minus what quality-lead deals actually won in the period: positive while they are still "
                "open. **Other sources**: wins from sales-sourced and unqualified leads, which the cascade does "
                "not count on, narrow the gap. A different order would move interaction effects between "
                "steps; the order is fixed so the figures are comparable from period to period."
            )
    notes(d.notes)
