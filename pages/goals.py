"""Shared goals: one revenue goal per quarter, cascaded into every stage's target, edited together."""
from __future__ import annotations

import streamlit as st

from core import edits
from core import goals_editor as editor
from core.charts_goals import pacing_heatmap, progress_chart, rates_table, stage_table, whatif_table
from core.metrics.forecast import BACKTEST_COLUMNS, backtest_frame
from core.metrics.goals import GOAL_SEGMENTS, goal_plan, goal_version, segment_values, stage_rows, what_if
from core.metrics.plan import next_quarters, plan_ahead, plan_table
from core.report import card_statuses, forecast_cards, forecast_sentence, goal_cards, headline
from core.semantic.measures import show
from ui import data, sidebar, widgets

KEY = "goals"
FORM = f"{KEY}_form_"  # the edit form's widget keys (ui.widgets.restart_editor clears them after a save)
WHATIF = f"{KEY}_whatif_"

scope = sidebar.scope()
period, quarter = scope.period, scope.period.quarter()
current = data.cached(goal_version, period)
plan = goal_plan(None, period, scope.as_of, call=data.cached)  # each input cached on what it reads
h = headline(None, period, scope.as_of, scope.stall_days, call=data.cached,  # each section cached
             with_forecast=True, goal_only=True)  # the goal, coverage and landing: no funnel or SLA here
statuses = card_statuses(h)

st.title(f"Shared goals · {period.label}")
widgets.period_caption(scope, editor.scope_note(period))
widgets.announce(KEY)
widgets.measure_row([(name, value, delta, statuses.get(name)) for name, value, delta in goal_cards(h)])
if current is not None:
    st.text(editor.version_line(current))  # the reason is typed by people: plain text, never markdown

# --- Targets vs actual to date ------------------------------------------------------------------------
st.subheader("From the revenue goal to every stage's target")
st.caption("The reverse waterfall: deals won = goal ÷ average won deal size, then each stage ÷ its conversion "
           "rate. Rates are the trailing year's actuals unless the goal overrides them. Marketing owns the "
           "lead and quality-lead targets, sales the accepted-lead and deal targets: both see all.")
st.dataframe(rates_table(plan.stages), hide_index=True, width="stretch")
st.subheader("Target vs actual to date")
left, right, _ = st.columns(3)
segment = left.selectbox("Split by", [None, *GOAL_SEGMENTS], key=f"{KEY}_split", bind="query-params",
                         format_func=lambda s: editor.split_label(s, GOAL_SEGMENTS),
                         help="Each stage's target split by the segment's trailing-year share of that stage.")
view = goal_plan(None, period, scope.as_of, segment, call=data.cached) if segment else plan
values = segment_values(view)
value = right.selectbox(GOAL_SEGMENTS[segment], values, key=f"{KEY}_split_value_{segment}") if values else None
if segment and not values:
    right.info(f"No {GOAL_SEGMENTS[segment].lower()} has leads or deals in this period or the trailing year.")
rows = stage_rows(view, value)

if plan.goal_revenue is None:
    st.info(f"No revenue goal is set for {quarter.label} yet, so no stage has a target. Set one under "
            "“Set the goal” below; the what-if shows the volumes any goal would need.")
chart = progress_chart(rows, plan.elapsed_share)
if chart is not None:
    st.altair_chart(chart, width="stretch")
    st.caption("Grey: the whole period's target. Coloured: actual to date. Dashed line: where each stage "
               "should be today to be on pace.")
if len(rows):
    st.caption("Deals won and deals created count the deals closed and created in the period (sales-sourced "
               "included); the lead stages count the period's leads.")
    st.dataframe(stage_table(rows, with_share=segment is not None), hide_index=True, width="stretch")
if values:
    st.markdown(f"**Pacing by {GOAL_SEGMENTS[segment].lower()}**")
    heat = pacing_heatmap(view.stages)
    if heat is not None:
        st.altair_chart(heat, width="stretch")
    if view.listing_note:
        st.caption(view.listing_note)
if view.table_notes:  # whole tables absent: said in plain sight, not only in the notes
    st.info(widgets.plain(" ".join(view.table_notes)))
widgets.notes([*h.goal.notes, *view.other_notes, *(h.forecast.notes if h.forecast else [])])  # the goal's own first

# --- Will we make the number? The landing estimate and its back-test ------------------------------------
st.subheader("Will we make the number? The landing estimate, back-tested")
widgets.measure_row([(name, value, delta, statuses.get(name)) for name, value, delta in forecast_cards(h)[:3]])
sentence = forecast_sentence(h)
if sentence:
    st.caption(widgets.plain(sentence))
tested = backtest_frame(h.forecast) if h.forecast else None
if tested is not None and len(tested):
    st.caption("The same estimate made at the same day of each earlier period, with stage-to-win rates measured "
               "only on the periods before it, against what that period went on to win. Error = (estimate − "
               "landed) ÷ landed: positive when the estimate was too high.")
    widgets.measure_table(tested, BACKTEST_COLUMNS, key=f"{KEY}_backtest",
                          labels={"period": "Period", "moment": "Estimated as of"})
elif h.forecast and h.forecast.landing is not None and h.forecast.range_method:
    st.info("No earlier period could be back-tested at this point yet (each needs an earlier one to measure its "
            "rates on).")

# --- Plan ahead: when each stage of the goals set must happen, with lags measured on history ------------
st.subheader("Plan ahead: when each stage must happen")
ahead = plan_ahead(None, next_quarters(quarter, 3), scope.as_of, call=data.cached)
lags = ahead.lags
st.caption("Won deals land in their goal's quarter; deals must be created one sales cycle earlier "
           f"({'unknown' if lags.deal_to_won_days is None else f'median {lags.deal_to_won_days:.0f} days'}) and leads "
           f"one lead-to-deal lag before that ({'unknown' if lags.lead_to_deal_days is None else f'median {lags.lead_to_deal_days:.0f} days'}), "
           "both measured on the trailing year. Each column is what the goals set so far need in that quarter.")
if ahead.matrix.empty:
    st.info(f"No goal is set for {quarter.label} or the two quarters after it, or the lags cannot be measured: "
            "set next quarter's goal (choose it under Period) to see when its deals and leads must be created.")
else:
    widgets.measure_table(plan_table(ahead), list(plan_table(ahead).columns), key=f"{KEY}_ahead",
                          formats={c: "localized" for c in ahead.matrix.columns})
    st.caption("Goals placed: " + "; ".join(f"{q} {show('goal', r)}" for q, r in ahead.goals) + ".")

st.subheader("Try, set and review the goal")
whatif_tab, edit_tab, history_tab = st.tabs(["What-if", "Set the goal", "History"], key=f"{KEY}_tab",
                                            bind="query-params")

# --- What-if: live, never saved; starts again from the saved plan after a save or in another period -----
start = editor.whatif_start(plan)
widgets.seed_widgets(WHATIF, start, basis=(period.label, plan.goal_version, scope.as_of))
with whatif_tab:
    st.caption("Change the goal, the deal size or any rate and the required volumes follow at once. "
               "Nothing here is saved.")
    asked = {f.name: col.number_input(f.label, key=WHATIF + f.name, **f.options)
             for col, f in zip([*st.columns(3), *st.columns(3)], editor.whatif_fields(period))}
    inputs = {k: v for k, v in asked.items() if k != "revenue"}
    st.dataframe(whatif_table(what_if(plan, asked["revenue"], **inputs)), hide_index=True, width="stretch")
    warning = editor.whatif_warning(inputs)
    if warning:
        st.warning(warning)
    b1, b2, _ = st.columns([1, 1, 3])
    b1.button("Back to the saved plan", key=WHATIF + "reset", on_click=widgets.set_widgets, args=(WHATIF, start))
    b2.button("Copy into the edit form", key=WHATIF + "copy", on_click=widgets.set_widgets,
              args=(FORM, editor.form_from_whatif(period, plan, asked)),
              help="Fills “Set the goal” with these values; you still review, give a reason and save.")

# --- Edit: one goal per quarter, new version on every save ---------------------------------------------
widgets.seed_widgets(FORM, editor.form_values(current.body if current else None))
opened = widgets.opened_version(KEY, current)
with edit_tab:
    widgets.show_flash_and_conflict(KEY, editor.FIELD_LABELS)
    refusal = editor.refusal_note(scope.actor)
    if refusal:
        st.info(widgets.plain(refusal))  # names the person
    st.caption(editor.editor_caption(quarter, opened, current))
    with st.form(f"{KEY}_form"):
        typed = {f.name: col.number_input(f.label, key=FORM + f.name, **f.options)
                 for col, f in zip([*st.columns(2), *st.columns(4)], editor.form_fields(quarter, plan.trailing))}
        typed["correction"] = st.checkbox("Correction: change the goal of a quarter that has ended",
                                          key=FORM + "correction",
                                          help="Goals of ended quarters are history; tick this only to correct one.")
        reason = st.text_input("Why (kept in the history)", key=FORM + "reason", placeholder="e.g. board plan for Q3")
        submitted = st.form_submit_button("Save goal", type="primary")
    if submitted:
        saved = widgets.submit_edit(KEY, "goal", quarter.label, editor.body_from_form(typed), actor=scope.actor,
                                    reason=reason, as_of=scope.as_of)
        widgets.after_submit(KEY, saved, FORM, editor.CONFLICT_TOAST)

# --- History: every version, restore = a new version ---------------------------------------------------
with history_tab:
    versions = data.cached(edits.history, "goal", quarter.label)
    widgets.version_history(KEY, versions, editor.FIELD_LABELS)
    if len(versions) >= 2:
        with st.form(f"{KEY}_restore"):
            st.markdown("**Restore an earlier version** (saved as a new version; nothing is deleted)")
            r1, r2 = st.columns([1, 3])
            chosen = r1.selectbox("Version", [v.version for v in versions[1:]], key=f"{KEY}_restore_version")
            why = r2.text_input("Why", key=f"{KEY}_restore_reason", placeholder="e.g. back to the agreed plan")
            correction = st.checkbox("Correction of an ended quarter", key=f"{KEY}_restore_correction")
            restore = st.form_submit_button("Restore as a new version")
        if restore:
            body, why = editor.restore(versions, chosen, why, correction)
            saved = widgets.submit_edit(KEY, "goal", quarter.label, body, actor=scope.actor, reason=why,
                                        as_of=scope.as_of)
            widgets.after_submit(KEY, saved, FORM, editor.CONFLICT_TOAST)
