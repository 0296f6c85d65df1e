"""Quality-lead definition: what both teams agree a quality lead is — a draft, its back-test beside the
version in force, joint sign-off, and every version with its reasons."""
from __future__ import annotations

import streamlit as st

from core import edits, quality, signoff
from core import quality_editor as editor
from core.charts_quality import backtest_frame, diff_frame, monthly_chart, monthly_frame, proposals_frame
from core.metrics.backtest import backtest, rejudged
from core.models import QualityDefinition
from ui import data, sidebar, widgets

KEY = "quality"
F = "quality_form_"  # the draft's widgets; widgets.restart_editor forgets every key with this prefix
KIND, SUBJECT = editor.KIND, editor.SUBJECT

scope = sidebar.scope()
actor = scope.actor
joint = signoff.joint_signoff_required()


def follow(outcome: editor.Outcome, mine: QualityDefinition | None = None) -> None:
    """After a write: an error stays on screen; otherwise rerun to show the flash (or the conflict: their
    values beside `mine`) at the top."""
    if outcome.conflict is not None:
        widgets.hold_conflict(KEY, outcome.conflict.current, mine or {})
    elif not outcome.ok:
        st.error(widgets.plain(outcome.message))  # refusals quote names and values
        return
    else:
        if outcome.restart:
            widgets.restart_editor(KEY, outcome.restart_from, F)
        widgets.flash(KEY, outcome.message)
    st.rerun()


st.title("Quality-lead definition")
st.caption(
    "What sales and marketing agree a quality lead (MQL) is. Every figure that counts quality leads — "
    "funnel, delivery, SLA, goals — uses the version in force when each lead was created, so a new version "
    "never changes how earlier leads were counted."
)
widgets.show_flash_and_conflict(KEY, quality.LABELS)

versions: list[edits.Version] = data.cached(edits.history, KIND, SUBJECT)
schedule: list[edits.Version] = data.cached(edits.in_force_schedule, KIND, SUBJECT)
current = versions[0] if versions else None
opened = widgets.opened_version(KEY, current)
opened_body = editor.body_of(versions, opened)
choices: quality.LeadChoices = data.cached(quality.lead_choices)

# --- the version in force (definitions name values from the data: plain text, never markdown) ---------
view = editor.in_force(schedule, scope.as_of)
if view is None:
    st.info("No definition is saved yet: no lead counts as a quality lead until one is.")
else:
    with st.container(border=True):
        st.text(view.headline)
        st.text(view.detail)
        for line in view.scheduled:
            st.text(line)

# --- pending proposals (both teams see them) ----------------------------------------------------------
pending: list[signoff.Proposal] = data.cached(signoff.pending_proposals)
if pending or joint:
    st.subheader(f"Waiting for sign-off ({len(pending)})")
    if not pending:
        st.caption("No change is waiting. With joint sign-off on, a change one team proposes takes effect "
                   "only when the other team approves it.")
for p in pending:
    pv = editor.proposal_view(p, versions, actor)
    with st.container(border=True):
        st.text(pv.summary)
        st.text(pv.why)
        left, right = st.columns([1, 1], gap="medium")
        left.dataframe(diff_frame(pv.base, p.body, quality.LABELS, f"version {p.base_version}", "proposed"),
                       hide_index=True, width="stretch")
        if choices.leads:  # what the proposal would have qualified, converted and missed, before anyone decides
            pbt = data.cached(backtest, p.body, *editor.backtest_bounds(editor.backtest_days(
                choices.first_created, scope.as_of).default), scope.as_of)
            for col, (name, value, delta) in zip(right.columns(2), editor.backtest_cards(pbt)[:2]):
                widgets.measure(col, name, value, delta)
            for col, (name, value, delta) in zip(right.columns(2), editor.backtest_cards(pbt)[2:]):
                widgets.measure(col, name, value, delta)
            right.caption("Back-test of the proposal over the trailing year, beside the version in force.")
        if pv.overtaken:
            st.warning(widgets.plain(pv.overtaken))
        if pv.note:
            st.caption(widgets.plain(pv.note))  # names people
        if pv.may_decide:
            note = st.text_input("Note (required to reject)", key=f"quality_note_{p.proposal_id}")
            c1, c2, _ = st.columns([1, 1, 8], gap="small")
            if c1.button("Approve", key=f"quality_approve_{p.proposal_id}", type="primary"):
                follow(editor.approve(data.connection(), p, actor=actor, note=note))
            if c2.button("Reject", key=f"quality_reject_{p.proposal_id}"):
                follow(editor.reject(data.connection(), p, actor=actor, note=note))
        elif pv.may_withdraw and st.button("Withdraw", key=f"quality_withdraw_{p.proposal_id}"):
            follow(editor.withdraw(data.connection(), p, actor=actor))

# --- the draft: one widget per criterion input, declared in core.quality.CRITERIA ---------------------
widgets.seed_widgets(F, editor.draft_state(opened_body or QualityDefinition()), basis=opened)

st.subheader("Draft")
st.caption(f"Starts from version {opened}. A lead qualifies when it is not excluded and either meets every "
           "fit criterion set here, or takes a fast track. Empty fields do not filter.")


def draw(box, inp: quality.Input) -> None:
    key = F + inp.key
    if inp.kind == "number":
        # value=None: an empty field is "no limit"; without it Streamlit would start an unset field at 0
        box.number_input(inp.label, value=None, min_value=inp.min_value, max_value=inp.max_value, step=inp.step,
                         key=key, placeholder=inp.placeholder, help=inp.help)
    elif inp.kind == "choices":
        box.multiselect(inp.label, editor.options(inp, choices, st.session_state.get(key, [])), key=key,
                        format_func=inp.show, accept_new_options=inp.open_ended, placeholder=inp.placeholder,
                        help=inp.help)
    elif inp.kind == "radio":
        box.radio(inp.label, list(inp.options), format_func=inp.show, key=key, help=inp.help)
    else:
        box.checkbox(inp.label, key=key, help=inp.help)


left, right = st.columns(2, gap="large")
for section, box in (("fit", left), ("fast_track", right), ("exclude", right)):
    box.markdown(f"**{editor.SECTIONS[section]}**")
    for criterion in (c for c in quality.CRITERIA if c.section == section):
        boxes = box.columns(len(criterion.inputs)) if len(criterion.inputs) > 1 else [box]
        for inner, inp in zip(boxes, criterion.inputs):
            draw(inner, inp)

check: edits.Check = data.cached(edits.check, KIND, SUBJECT, editor.draft_values(st.session_state, F))
for message in check.errors:  # messages quote the draft's values: plain text
    st.error(widgets.plain(message))
for message in check.warnings:
    st.warning(widgets.plain(message))
draft = check.model if check.ok else None
if draft is not None:
    st.text(f"The draft reads: {quality.describe(draft)}")

# --- back-test ----------------------------------------------------------------------------------------
st.subheader("Back-test: what if the draft had been in force")
if not choices.leads:
    st.info("No leads are loaded, so the draft cannot be back-tested yet.")
elif draft is None:
    st.info("Fix the draft above to back-test it.")
else:
    days = editor.backtest_days(choices.first_created, scope.as_of)
    picked = st.date_input("Leads created from … to … (inclusive)", value=days.default, min_value=days.first,
                           max_value=days.last, key="quality_bt_range",
                           help="Default: the trailing year up to as-of. Outcomes are followed up to as-of.")
    bounds = editor.backtest_bounds(picked)
    if bounds is None:
        st.info("Pick the last day of the range too.")
    else:
        bt = data.cached(backtest, draft, *bounds, scope.as_of)
        for message in bt.notes:
            st.info(widgets.plain(message))
        for message in bt.warnings:
            st.warning(widgets.plain(message))
        if bt.leads:
            widgets.measure_row(editor.backtest_cards(bt))
            st.dataframe(backtest_frame(bt), hide_index=True, width="stretch")
            st.caption(editor.backtest_caption(bt, *picked))
            st.altair_chart(monthly_chart(monthly_frame(bt)), width="stretch")

# --- save or propose ----------------------------------------------------------------------------------
st.subheader("Propose for sign-off" if joint else "Save as a new version")
read_only = editor.read_only_note(actor, joint)
if read_only:
    st.info(widgets.plain(read_only))  # names the person
else:
    mode = st.radio(
        "Takes effect for leads created", ["as_of", "date"], horizontal=True, key=F + "when",
        format_func={"as_of": f"from now on (the data's as-of, {scope.as_of:%Y-%m-%d %H:%M} UTC)",
                     "date": "from a date (00:00 UTC)"}.get,
    )
    day = None
    if mode == "date":
        earliest, default = editor.effective_days(versions, choices.first_created, scope.as_of)
        day = st.date_input("Effective from", value=default, min_value=earliest, key=F + "effective_date")
    start = editor.effective_from(mode, day, scope.as_of)
    if editor.is_backdated(draft, start, scope.as_of):
        st.warning(editor.backdated_warning(data.cached(rejudged, draft, start, scope.as_of), start))
    reason = st.text_input("Why (kept in the history; the other team reads it)", key=F + "reason")
    if joint:
        st.caption(editor.approval_caption(actor))
    unchanged = editor.unchanged(draft, opened_body)
    if unchanged:
        st.caption(f"The draft holds the same criteria as version {opened}: change something first.")
    if st.button(editor.submit_label(joint, current), type="primary", disabled=draft is None or unchanged,
                 key="quality_submit"):
        follow(editor.submit(data.connection(), draft, joint=joint, actor=actor, reason=reason, opened=opened,
                             current=current, start=start), mine=draft)

# --- history ------------------------------------------------------------------------------------------
st.subheader("History")
widgets.version_history(KEY, versions, quality.LABELS)
if len(versions) >= 2:
    r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = r1.selectbox("Restore an earlier version: load it into the draft", [x.version for x in versions[1:]],
                        key="quality_restore_pick")
    r2.button("Load into the draft", key="quality_restore", on_click=widgets.set_widgets,
              args=(F, editor.restore_state(versions, pick)))
    st.caption("Restoring never rewrites history: the loaded values are saved (or proposed) as a new version "
               "with its own effective date and reason.")
decided = data.cached(signoff.decided_proposals)
if decided:
    with st.expander(f"Decided proposals (latest {len(decided)})"):
        decided_table = proposals_frame(decided)
        st.dataframe(decided_table, hide_index=True, width="stretch")
        widgets.csv_download(decided_table, "quality-decided-proposals.csv", label="Download the decided proposals (CSV)",
                             key=f"{KEY}_decided_csv")
