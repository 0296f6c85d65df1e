"""Shared goals: one revenue goal per quarter, cascaded into every stage's target, edited together."""
from __future__ import annotations

import streamlit as st

from core import edits
from ui import data, sidebar, widgets
from core.charts_goals import pacing_heatmap, progress_chart, rates_table, stage_table, whatif_table
from core.semantic.measures import MEASURES, fmt
from core.semantic.blocks import MISSING_TABLE_NOTES
from core.metrics.goals import (
    GOAL_SEGMENTS,
    RATE_FIELDS,
    goal_plan,
    goal_version,
    one_segment,
    quarter_revenue,
    segment_values,
    what_if,
)
from core.report import headline

KEY = "goals"
FORM = f"{KEY}_form_"        # widget keys of the edit form (ui.widgets.restart_editor clears them)
WHATIF = f"{KEY}_whatif_"
LABELS = {"revenue": "Revenue goal", "avg_deal_size": "Average won deal size (override)",
          "rate_overrides": "Rate overrides", "correction": "Correction of an ended quarter"}
INPUT_LABELS = {name: MEASURES[name].label for name in RATE_FIELDS}

scope = sidebar.scope()
period, quarter = scope.period, scope.period.quarter()
current = data.cached(goal_version, period)
plan = data.cached(goal_plan, period, scope.as_of)
h = data.cached(headline, period, scope.as_of, scope.stall_days)

st.title(f"Shared goals · {period.label}")
st.caption(
    f"{period.start:%d %b %Y} – {period.end:%d %b %Y} (end exclusive) · as of {scope.as_of:%Y-%m-%d %H:%M} UTC · "
    f"{plan.elapsed_share:.0%} of the period elapsed · one goal per quarter, shared by sales and marketing"
    + ("" if period.is_quarter else f" (this month gets {quarter.label}'s goal pro-rated by days)")
)
# A save or a refused save is announced where the person is (a toast), and shown in full by the form.
if st.session_state.get(f"{KEY}_flash"):
    st.toast(st.session_state[f"{KEY}_flash"], icon="✅")
if st.session_state.pop(f"{KEY}_conflict_toast", False):
    st.toast("Not saved: someone saved this goal after you opened it. Both versions are under “Set the goal”.",
             icon="⚠️")


c = st.columns(5)
widgets.measure(c[0], "goal", h.goal.revenue)
widgets.measure(c[1], "won_revenue", h.goal.won_revenue)
widgets.measure(c[2], "attainment", h.goal.attainment)
widgets.measure(c[3], "pacing", h.goal.pacing)
widgets.measure(c[4], "coverage", h.pipeline.coverage)
if current is not None:
    st.caption(f"{quarter.label} goal: version {current.version}, saved by {current.saved_by} on "
               f"{current.saved_at:%Y-%m-%d %H:%M} UTC — “{current.reason}”")

# --- Targets vs actual to date ------------------------------------------------------------------------
st.subheader("From the revenue goal to every stage's target")
st.caption("The reverse waterfall: won deals = goal ÷ average won deal size, then each stage ÷ its conversion "
           "rate. Rates are the trailing year's actuals unless the goal overrides them. Marketing owns the "
           "lead and quality-lead targets, sales the accepted, opportunity and won-deal targets: both see all.")
st.dataframe(rates_table(plan.stages), hide_index=True, width="stretch")
st.subheader("Target vs actual to date")
split_names = ["Whole period"] + [GOAL_SEGMENTS[s] for s in GOAL_SEGMENTS]
left, right, _ = st.columns(3)
split = left.selectbox("Split by", split_names, key=f"{KEY}_split",
                       help="Each stage's target split by the segment's trailing-year share of that stage.")
segment = None if split == split_names[0] else list(GOAL_SEGMENTS)[split_names.index(split) - 1]
view, rows = plan, plan.stages
if segment is not None:
    view = data.cached(goal_plan, period, scope.as_of, segment)
    values = segment_values(view)
    if values:
        value = right.selectbox(GOAL_SEGMENTS[segment], values, key=f"{KEY}_split_value_{segment}")
        rows = one_segment(view, value)
    else:
        rows = rows.iloc[0:0]
        right.info(f"No {split.lower()} has leads or deals in this period or the trailing year.")

if plan.goal_revenue is None:
    st.info(f"No revenue goal is set for {quarter.label} yet, so no stage has a target. Set one under "
            "“Set the goal” below; the what-if shows the volumes any goal would need.")
chart = progress_chart(rows, plan.elapsed_share) if len(rows) else None
if chart is not None:
    st.altair_chart(chart, width="stretch")
    st.caption("Grey: the whole period's target. Coloured: actual to date. Dashed line: where each stage "
               "should be today to be on pace.")
if len(rows):
    st.dataframe(stage_table(rows, with_share=segment is not None), hide_index=True, width="stretch")
if segment is not None and values:
    st.markdown(f"**Pacing by {split.lower()}**")
    heat = pacing_heatmap(view.stages)
    if heat is not None:
        st.altair_chart(heat, width="stretch")
    if view.segments_total > view.segments_listed:
        st.caption(f"{view.segments_total:,} values: the largest {view.segments_listed - 1} are listed, the rest "
                   "are summed in one row.")
missing = [n for n in view.notes if n in MISSING_TABLE_NOTES.values()]
if missing:  # whole tables absent: say so in plain sight, not only in the notes
    st.info(" ".join(missing))
widgets.notes([n for n in view.notes if n not in missing])

st.subheader("Try, set and review the goal")
whatif_tab, edit_tab, history_tab = st.tabs(["What-if", "Set the goal", "History"])

# --- What-if: live, never saved -----------------------------------------------------------------------
rates = plan.rates


def _saved_inputs() -> dict:
    return {"revenue": plan.goal_revenue, **{k: getattr(rates, k) if rates else None for k in RATE_FIELDS}}


def _reset_whatif() -> None:
    for name, value in _saved_inputs().items():
        st.session_state[WHATIF + name] = value


basis = (period.label, plan.goal_version, scope.as_of)
if st.session_state.get(WHATIF + "basis") != basis:  # a save or another period: start from the saved plan
    st.session_state[WHATIF + "basis"] = basis
    _reset_whatif()


def _copy_to_form() -> None:
    """Put the what-if values in the edit form (a month's goal scales back to its quarter's)."""
    revenue = st.session_state.get(WHATIF + "revenue")
    st.session_state[FORM + "revenue"] = quarter_revenue(period, revenue)
    for name in RATE_FIELDS:
        value = st.session_state.get(WHATIF + name)
        trailing = getattr(plan.trailing, name) if plan.trailing else None
        st.session_state[FORM + name] = None if value == trailing else value


with whatif_tab:
    st.caption("Change the goal, the deal size or any rate and the required volumes follow at once. "
               "Nothing here is saved.")
    cols = st.columns(3)
    revenue = cols[0].number_input(f"Revenue goal ({period.label})", key=WHATIF + "revenue", min_value=0.0,
                                   step=10_000.0, format="%.0f", placeholder="any goal")
    inputs = {"avg_deal_size": cols[1].number_input(INPUT_LABELS["avg_deal_size"], key=WHATIF + "avg_deal_size",
                                                    min_value=0.0, step=1_000.0, format="%.0f",
                                                    help=MEASURES["avg_deal_size"].help)}
    for col, name in zip([cols[2], *st.columns(3)], RATE_FIELDS[1:]):
        inputs[name] = col.number_input(f"{INPUT_LABELS[name]} (0–1)", key=WHATIF + name, min_value=0.0,
                                        max_value=1.0, step=0.01, format="%.3f", help=MEASURES[name].help)
    required = what_if(plan, revenue, **inputs)
    st.dataframe(whatif_table(required), hide_index=True, width="stretch")
    if any(v == 0 for v in inputs.values()):
        st.warning("A rate or deal size of 0 makes the volumes that depend on it undefined (—).")
    b1, b2, _ = st.columns([1, 1, 3])
    b1.button("Back to the saved plan", key=WHATIF + "reset", on_click=_reset_whatif)
    b2.button("Copy into the edit form", key=WHATIF + "copy", on_click=_copy_to_form,
              help="Fills “Set the goal” with these values; you still review, give a reason and save.")

# --- Edit: one goal per quarter, new version on every save ---------------------------------------------
opened = widgets.opened_version(KEY, current)
if FORM + "revenue" not in st.session_state:  # first open, or after a save / restart: load the latest
    body = current.body if current is not None else None
    st.session_state[FORM + "revenue"] = body.revenue if body else None
    st.session_state[FORM + "avg_deal_size"] = body.avg_deal_size if body else None
    for name in RATE_FIELDS[1:]:
        st.session_state[FORM + name] = body.rate_overrides.get(name) if body else None
    st.session_state[FORM + "correction"] = False
    st.session_state[FORM + "reason"] = ""

with edit_tab:
    widgets.show_flash_and_conflict(KEY, LABELS)
    if scope.actor.team not in edits.MAY_EDIT["goal"]:
        st.info(f"{scope.actor.name} is a {scope.actor.team}: viewers can read every figure and try the what-if, "
                "but a save is refused. Pick a sales, marketing or leadership persona in the sidebar to edit.")
    st.caption(
        (f"Editing {quarter.label}, version {opened}." if opened else f"No goal saved for {quarter.label} yet.")
        + (f" The latest is version {current.version}." if current is not None and current.version != opened else "")
        + " Leave an override empty to use the trailing-year actual. Every save is a new version with who, "
          "when, before, after and why."
    )
    with st.form(f"{KEY}_form"):
        top = st.columns(2)
        top[0].number_input(f"Revenue goal for {quarter.label}", key=FORM + "revenue", step=10_000.0,
                            format="%.2f", placeholder="e.g. 1500000",
                            help="Positive, in the data's currency. Months get a pro-rated share by days.")
        for col, name in zip([top[1], *st.columns(4)], RATE_FIELDS):
            trailing = getattr(plan.trailing, name) if plan.trailing else None
            is_money = name == "avg_deal_size"
            shown = fmt(trailing, "money" if is_money else "percent")
            col.number_input(
                f"{INPUT_LABELS[name]}{' override' if is_money else ' (0–1)'}", key=FORM + name,
                step=1_000.0 if is_money else 0.01, format="%.2f" if is_money else "%.3f",
                placeholder=f"trailing year: {shown}",
                help=("A positive amount." if is_money else "A share above 0 and at most 1, e.g. 0.25 for 25%.")
                + f" Empty: the trailing-year actual ({shown}).",
            )
        st.checkbox("Correction: change the goal of a quarter that has ended", key=FORM + "correction",
                    help="Goals of ended quarters are history; tick this only to correct one.")
        st.text_input("Why (kept in the history)", key=FORM + "reason", placeholder="e.g. board plan for Q3")
        submitted = st.form_submit_button("Save goal", type="primary")
    if submitted:
        state = st.session_state
        body = {
            "revenue": state[FORM + "revenue"],
            "avg_deal_size": state[FORM + "avg_deal_size"],
            "rate_overrides": {n: state[FORM + n] for n in RATE_FIELDS[1:] if state[FORM + n] is not None},
            "correction": state[FORM + "correction"],
        }
        saved = widgets.submit_edit(KEY, "goal", quarter.label, body, actor=scope.actor,
                                    reason=state[FORM + "reason"], as_of=scope.as_of)
        if saved is not None:
            widgets.restart_editor(KEY, saved, widget_prefix=FORM)  # reload the form from what was saved
            st.rerun()  # every figure above was drawn before the save
        elif st.session_state.get(f"{KEY}_conflict"):
            st.session_state[f"{KEY}_conflict_toast"] = True
            st.rerun()  # show their values beside yours, above the form

# --- History: every version, restore = a new version ---------------------------------------------------
with history_tab:
    versions = data.cached(edits.history, "goal", quarter.label)
    widgets.version_history(KEY, versions, LABELS)
    if len(versions) >= 2:
        with st.form(f"{KEY}_restore"):
            st.markdown("**Restore an earlier version** (saved as a new version; nothing is deleted)")
            older = [v.version for v in versions[1:]]
            r1, r2 = st.columns([1, 3])
            chosen = r1.selectbox("Version", older, key=f"{KEY}_restore_version")
            why = r2.text_input("Why", key=f"{KEY}_restore_reason", placeholder="e.g. back to the agreed plan")
            correction = st.checkbox("Correction of an ended quarter", key=f"{KEY}_restore_correction")
            restore = st.form_submit_button("Restore as a new version")
        if restore:
            old = next(v for v in versions if v.version == chosen)
            body = old.body.model_dump() | {"correction": correction}
            saved = widgets.submit_edit(KEY, "goal", quarter.label, body, actor=scope.actor,
                                        reason=f"Restored version {chosen}: {why}".strip() if why.strip() else "",
                                        as_of=scope.as_of)
            if saved is not None:
                widgets.restart_editor(KEY, saved, widget_prefix=FORM)
                st.rerun()
            elif st.session_state.get(f"{KEY}_conflict"):
                st.session_state[f"{KEY}_conflict_toast"] = True
                st.rerun()
