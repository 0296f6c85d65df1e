"""Pipeline gaps: where revenue leaks against the shared goal — the cohort funnel, the gap per stage, the
pipeline's health and the revenue gap split into its causes, each with the records behind it."""
from __future__ import annotations

from datetime import timedelta

import streamlit as st

from core import edits, stall_rules
from core import pipeline_view as view
from core.charts import funnel_chart, funnel_frame
from core.charts_goals import stage_table
from core.charts_pipeline import (
    GAP_TABLE,
    comparison_table,
    components_markdown,
    factors_table,
    gap_chart,
    health_table,
    segment_funnel_table,
    stalled_table,
    waterfall_chart,
)
from core.metrics.gaps import (
    FUNNEL_SEGMENTS,
    LEAD_KINDS,
    funnel_comparison,
    funnel_segments,
    gap_decomposition,
    lead_records,
    stage_gaps,
    waterfall_frame,
)
from core.metrics.goals import GOAL_SEGMENTS, goal_revenue
from core.metrics.pipeline import (
    DEAL_KINDS,
    PIPELINE_DIMENSIONS,
    deal_kind_label,
    deal_records,
    pipeline,
    pipeline_by,
    pipeline_movement,
)
from core.semantic.dimensions import labels
from core.semantic.enums import DEAL_STAGE_LABELS, OPEN_STAGES
from core.semantic.measures import label
from ui import data, sidebar
from ui.widgets import (
    after_submit,
    drill_down,
    measure,
    measure_row,
    notes,
    opened_version,
    period_caption,
    plain,
    records_list,
    say,
    seed_widgets,
    show_flash_and_conflict,
    submit_edit,
    version_history,
)

KEY = "pipeline"
scope = sidebar.scope()
period, as_of = scope.period, scope.as_of

st.title(f"Pipeline gaps · {period.label}")
rules = data.cached(stall_rules.current_rules)
period_caption(scope, f"stalled: open in one stage for {stall_rules.threshold_words(rules, scope.stall_days)}")


# --- 1. Cohort funnel against the previous period and the trailing year --------------------------------
def funnel_section() -> None:
    comparison = data.cached(funnel_comparison, period, as_of)
    cohort = comparison.this  # computed with the other windows in one query
    if cohort.leads is None:  # notes may quote the data: plain text
        st.info(plain(" ".join(cohort.notes)))
    else:
        st.caption(f"The cohort of leads created in {period.label}: each stage counts those leads that reached it "
                   "by as-of. Deals created or won in the period whatever their lead's age are under Pipeline health.")
        left, right = st.columns([5, 2])
        left.altair_chart(funnel_chart(funnel_frame(cohort)), width="stretch")
        for card in view.beside_funnel_cards(cohort, comparison):
            measure(right, *card)
        st.subheader(f"{period.label} against {comparison.previous_label} and the trailing year")
        st.caption("Each period's leads, counted as of the same moment.")
        st.dataframe(comparison_table(comparison.frame, period.label, comparison.previous_label),
                     hide_index=True, width="stretch")

        st.subheader("By segment")
        c1, c2 = st.columns(2)
        segments = labels(tuple(FUNNEL_SEGMENTS))
        segment = c1.selectbox("Break down by", list(segments), format_func=segments.get, key=f"{KEY}_funnel_segment",
                               bind="query-params")
        compare = c2.radio("Change in conversion against", ["prev", "year"], horizontal=True,
                           format_func={"prev": comparison.previous_label, "year": "the trailing year"}.get,
                           key=f"{KEY}_funnel_compare", bind="query-params")
        by_segment = data.cached(funnel_segments, period, as_of, segment)
        st.caption("Conversions are from the previous stage; in brackets, the change in percentage points.")
        st.dataframe(segment_funnel_table(by_segment, segment, compare), hide_index=True, width="stretch")

        box = drill_down("Records behind a figure", f"{KEY}_funnel_records")
        with box:
            if box.open:
                c1, c2 = st.columns(2)
                value = c1.selectbox(segments[segment], view.value_choices(by_segment), key=f"{KEY}_funnel_value")
                kind = c2.selectbox("Figure", list(LEAD_KINDS), format_func=label, key=f"{KEY}_funnel_kind")
                records = data.cached(lead_records, period, as_of, kind, *view.narrowed(segment, value))
                records_list(records.frame, records.caption(), f"{period.label}-{kind}-{segment}-{value}.csv",
                             f"{KEY}_funnel_csv")
    notes(comparison.notes)

# --- 2. Gap to goal per stage, biggest first ------------------------------------------------------------
def gap_section() -> None:
    splits = labels(tuple(GOAL_SEGMENTS))
    split = st.selectbox("Split by", [None, *splits], format_func=lambda s: "Whole funnel" if s is None else splits[s],
                         key=f"{KEY}_gap_segment",
                         help="The Goals page's split: each stage's target shared out by the segment's trailing-year share.")
    gaps = stage_gaps(None, period, as_of, split, call=data.cached)  # its sections cached, shared with Shared goals
    if not gaps.has_targets:
        st.info(plain(" ".join(gaps.notes)) or "No stage has a target yet.")
    else:
        st.caption("Targets come from the shared goal through the cascade (Goals page); gaps are ranked by the "
                   "revenue they put at stake, so leads and deals compare on one scale. Positive: behind pace.")
        chart = gap_chart(gaps.frame, segmented=split is not None)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
        else:
            st.success("Every stage is on or ahead of pace.")
        st.dataframe(stage_table(gaps.frame, GAP_TABLE, segment_label=splits.get(split)), hide_index=True,
                     width="stretch")
        box = drill_down("Records behind a gap", f"{KEY}_gap_records")
        with box:
            if box.open:
                choice = st.selectbox("Gap", view.gap_choices(gaps), format_func=lambda c: c.label, key=f"{KEY}_gap_pick")
                records = data.cached(view.gap_records, period, as_of, split, choice.stage, choice.segment_value,
                                      scope.stall_days)
                records_list(records.frame, records.caption(), f"{period.label}-gap-{choice.stage}.csv", f"{KEY}_gap_csv")
    notes(gaps.notes)

# --- 3. Pipeline health -------------------------------------------------------------------------------
def health_section() -> None:
    goal = data.cached(goal_revenue, period)
    health = data.cached(pipeline, period, as_of, goal, scope.stall_days)
    movement = data.cached(pipeline_movement, period, as_of)
    if health.open_deals_all is None:  # no deal at all; a figure that cannot be computed shows on its card
        st.info(plain(" ".join(health.notes)))
    else:
        cards = view.health_cards(health)
        measure_row(cards)

        st.subheader("Movement in the period")
        measure_row(view.movement_cards(movement))

        st.subheader("Coverage by segment")
        dims = labels(PIPELINE_DIMENSIONS)
        segment = st.selectbox("Break down by", list(dims), format_func=dims.get, key=f"{KEY}_health_segment", bind="query-params",
                               help="Source, campaign and industry of the deal's lead; team, region and rep of the "
                                    "deal owner.")
        by_segment = data.cached(pipeline_by, period, as_of, segment, goal, scope.stall_days)
        st.caption("Each segment's share of the goal follows its share of the trailing year's won revenue; the "
                   "coverage it needs is 1 ÷ its own win rate. Biggest shortfall first.")
        st.dataframe(health_table(by_segment, segment), hide_index=True, width="stretch")

        st.subheader("Stalled deals")
        if health.stalled_deals is None:
            st.info("Stalled deals cannot be identified without deal stage history.")
        else:
            stalls_section()

        box = drill_down("Records behind a figure", f"{KEY}_deal_records")
        with box:
            if box.open:
                c1, c2 = st.columns(2)
                kind = c1.selectbox("Figure", list(DEAL_KINDS), format_func=deal_kind_label, key=f"{KEY}_deal_kind")
                value = c2.selectbox(dims[segment], view.value_choices(by_segment), key=f"{KEY}_deal_value")
                records = data.cached(deal_records, period, as_of, kind, *view.narrowed(segment, value), scope.stall_days)
                records_list(records.frame, records.caption(), f"{period.label}-{kind}-{segment}-{value}.csv",
                             f"{KEY}_deals_csv")
    notes(health.notes + movement.notes)


RULES_KEY, SNOOZE_KEY = f"{KEY}_stall_rules", f"{KEY}_snooze"
RULES_LABELS = {"days": "Days per stage (unlisted: the default)"}


def stalls_section() -> None:
    """The stalled list, the deals snoozed for a known reason, the rule per stage and the two editors."""
    stalled = data.cached(deal_records, period, as_of, "stalled", None, None, scope.stall_days)
    records_list(stalled.frame, view.stalled_caption(stalled, stall_rules.threshold_words(rules, scope.stall_days)),
                 f"stalled-deals-{as_of:%Y-%m-%d}.csv", f"{KEY}_stalled_csv", shown=stalled_table(stalled.frame))
    snoozed = data.cached(deal_records, period, as_of, "snoozed", None, None, scope.stall_days)
    if snoozed.total:
        st.markdown("**Snoozed, known reason**")
        records_list(snoozed.frame, view.snoozed_caption(snoozed), f"snoozed-deals-{as_of:%Y-%m-%d}.csv",
                     f"{KEY}_snoozed_csv", shown=stalled_table(snoozed.frame))
    show_flash_and_conflict(RULES_KEY, RULES_LABELS)
    flash = st.session_state.pop(f"{SNOOZE_KEY}_flash", None)
    if flash:
        st.success(plain(flash))  # names a deal id and a person
    left, right = st.columns(2)
    with left.expander("Stall rule per stage", expanded=False):
        rules_editor()
    with right.expander("Stalled for a known reason", expanded=False):
        snooze_editor(stalled.frame["deal_id"].tolist() + snoozed.frame["deal_id"].tolist())


def rules_editor() -> None:
    st.dataframe(stall_rules.rules_table(rules, scope.stall_days), hide_index=True, width="stretch")
    may = edits.may(scope.actor, stall_rules.RULES_KIND)
    if not may:
        say("caption", "{} ({}) can read the rules; " + edits.who_may(stall_rules.RULES_KIND) + " change them.",
            scope.actor.name, scope.actor.team)
    opened = opened_version(RULES_KEY, rules)
    prefix = f"{RULES_KEY}_form_"
    # reseeded only when the version this editor opened changes (its own save, or starting again): a version
    # someone else saved meanwhile never replaces what was typed; the save then shows the conflict
    seed_widgets(prefix, stall_rules.thresholds(rules.body if rules else None, scope.stall_days),
                 basis=(opened, scope.stall_days))
    with st.form(f"{RULES_KEY}_form"):
        st.caption(f"Days in one stage after which an open deal counts as stalled. A stage on the default "
                   f"({scope.stall_days} days, ACCORD_STALL_DAYS) follows it when it changes.")
        days = {stage: col.number_input(DEAL_STAGE_LABELS[stage], min_value=1, max_value=365, step=1,
                                        key=prefix + stage)
                for stage, col in zip(OPEN_STAGES, st.columns(2) * 2)}
        reason = st.text_input("Why (kept in the history)", key=prefix + "reason",
                               placeholder="e.g. discovery calls happen within two weeks or not at all")
        submitted = st.form_submit_button("Save the stall rules", type="primary", disabled=not may)
    if submitted:
        body = stall_rules.rules_from_form(days, scope.stall_days)
        saved = submit_edit(RULES_KEY, stall_rules.RULES_KIND, stall_rules.SUBJECT, body, actor=scope.actor,
                            reason=reason, as_of=as_of)
        after_submit(RULES_KEY, saved, prefix)
    if rules is not None:
        st.markdown("**History**")
        version_history(RULES_KEY, data.cached(stall_rules.rules_history), RULES_LABELS)


def snooze_editor(choices: list[str]) -> None:
    may = edits.may(scope.actor, stall_rules.SNOOZE_KIND)
    if not may:
        say("caption", "{} ({}) can read the snoozes; " + edits.who_may(stall_rules.SNOOZE_KIND) + " mark a deal "
            "stalled for a known reason.", scope.actor.name, scope.actor.team)
    st.caption(f"A snoozed deal leaves the stalled count until the date (00:00 UTC), from {as_of:%Y-%m-%d} on; "
               "it stays open and counts again once the date passes.")
    active = data.cached(stall_rules.active_snoozes, as_of)
    if not active.empty:  # every snooze in force, also of deals not (yet) over their threshold
        st.dataframe(active.rename(columns={"deal_id": "Deal", "until": "Until", "snoozed_by": "By",
                                            "snooze_reason": "Why", "snoozed_at": "Saved at (UTC)"}),
                     hide_index=True, width="stretch")
    choices = list(dict.fromkeys(choices + active["deal_id"].tolist()))
    deal = st.selectbox("Deal (a stalled one, or type any deal id)", choices, index=0 if choices else None,
                        accept_new_options=True, key=f"{SNOOZE_KEY}_deal", placeholder="Type a deal id")
    deal_id = str(deal).strip() if deal else ""
    # the snooze version this person decided on: a snooze someone saves meanwhile makes theirs a conflict
    opened: dict[str, int] = st.session_state.setdefault(f"{SNOOZE_KEY}_opened", {})
    if deal_id:
        expected = opened.setdefault(deal_id, data.cached(stall_rules.snooze_version, deal_id))
    with st.form(f"{SNOOZE_KEY}_form", clear_on_submit=True):
        until = st.date_input("Snoozed until", value=as_of.date() + timedelta(days=14),
                              min_value=as_of.date() + timedelta(days=1), key=f"{SNOOZE_KEY}_until")
        reason = st.text_input("Why (kept in the history)", key=f"{SNOOZE_KEY}_reason",
                               placeholder="e.g. legal review of the contract until the 30th")
        c1, c2 = st.columns(2)
        snooze = c1.form_submit_button("Snooze the deal", type="primary", disabled=not may or not deal_id)
        end = c2.form_submit_button("End its snooze", disabled=not may or not deal_id)
    if (snooze or end) and deal_id:
        try:
            stall_rules.snooze(data.connection(), deal_id, until if snooze else None, actor=scope.actor,
                               reason=reason, expected_version=expected, as_of=as_of)
        except edits.Conflict as conflict:
            opened.pop(deal_id, None)  # the next decision starts from what is saved now
            say("error", "Not saved: {} changed this deal's snooze a moment ago (the list above is now current); "
                "decide again if you still mean to.", conflict.current.saved_by if conflict.current else "someone")
        except edits.EditRefused as refused:
            st.error(plain(refused))  # quotes ids
        else:
            opened.pop(deal_id, None)
            st.session_state[f"{SNOOZE_KEY}_flash"] = (
                f"Deal {deal_id} snoozed until {until:%Y-%m-%d}." if snooze else f"Deal {deal_id}'s snooze ended.")
            st.rerun()


# --- 4. The revenue gap, decomposed -------------------------------------------------------------------
def decomposition_section() -> None:
    d = gap_decomposition(None, period, as_of, call=data.cached)  # its sections cached, shared with the pages
    if not d.components:
        st.info(plain(" ".join(d.notes)) or "The gap cannot be decomposed.")
    else:
        measure_row([("goal_to_date", d.goal_to_date), ("won_revenue", d.won_revenue), ("revenue_gap", d.gap)])
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


# Only the open tab runs (a tab switch reruns the page): a cold load computes one tab's figures, not four. The
# open tab and the breakdowns live in the URL (?pipeline_tab=Pipeline+health&…): a link is the view.
SECTIONS = {"Funnel": funnel_section, "Gap to goal": gap_section, "Pipeline health": health_section,
            "Gap decomposition": decomposition_section}
for tab, draw in zip(st.tabs(list(SECTIONS), key=f"{KEY}_tab", on_change="rerun", bind="query-params"), SECTIONS.values()):
    if tab.open:
        with tab:
            draw()
