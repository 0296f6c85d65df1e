"""Quality-lead definition: what both teams agree a quality lead is — a draft, its back-test beside the
version in force, joint sign-off, and every version with its reasons."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import streamlit as st

from core import edits, quality, signoff
from ui import data, sidebar, widgets
from core.charts_quality import backtest_frame, diff_frame, in_force_name, monthly_chart, monthly_frame, proposals_frame
from core.semantic.measures import MEASURES, show
from core.metrics.backtest import backtest, rejudged
from core.models import SENIORITIES, QualityDefinition

KEY = "quality"
F = "quality_form_"  # the draft's widgets; widgets.restart_editor forgets every key with this prefix
KIND, SUBJECT = "quality_definition", edits.POLICY_SUBJECT
SENIORITY_NAMES = {"c_level": "C-level", "vp": "VP", "director": "Director", "manager": "Manager",
                   "individual": "Individual contributor"}
DEMO_MODES = {"fast_track": "Qualifies on its own (fast track)", "required": "Required, with the fit criteria",
              "ignored": "Not considered"}

scope = sidebar.scope()
actor = scope.actor
joint = signoff.joint_signoff_required()


def when(moment: datetime) -> str:
    return "the beginning of the data" if moment <= edits.BEGINNING else f"{moment:%Y-%m-%d %H:%M} UTC"


def load_draft(body: QualityDefinition, reason: str = "") -> None:
    """Put a definition's values into the draft's widgets (before they are drawn, or in a callback).

    Every draft widget is set explicitly, the reason and effective date too: a widget whose state was
    only deleted keeps showing its old value in the browser."""
    st.session_state[F + "reason"] = reason
    st.session_state[F + "when"] = "as_of"
    for name in ("min_score", "employees_min", "employees_max", "crm_qualified"):
        st.session_state[F + name] = getattr(body, name)
    for name in ("industries", "seniorities", "countries", "exclude_industries", "exclude_countries", "exclude_sources"):
        st.session_state[F + name] = list(getattr(body, name))
    st.session_state[F + "demo"] = "fast_track" if body.demo_fast_track else "required" if body.demo_required else "ignored"
    st.session_state[F + "loaded"] = True


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
opened_body = next((v.body for v in versions if v.version == opened), None)
choices: quality.LeadChoices = data.cached(quality.lead_choices)

# --- the version in force ------------------------------------------------------------------------------
entry = quality.in_force_at([(v.effective_from, v) for v in schedule], scope.as_of)
if entry is None:
    st.info("No definition is saved yet: no lead counts as a quality lead until one is.")
else:
    v = entry[1]
    with st.container(border=True):
        st.markdown(f"**In force as of {scope.as_of:%Y-%m-%d %H:%M} UTC — version {v.version}:** "
                    f"{quality.describe(v.body)}")
        st.caption(f"Applies to leads created from {when(v.effective_from)} · saved by {v.saved_by} on "
                   f"{v.saved_at:%Y-%m-%d} · {v.reason}")
        for later in (x for x in schedule if x.effective_from > scope.as_of):
            st.caption(f"Scheduled: version {later.version} applies to leads created from {when(later.effective_from)}: "
                       f"{quality.describe(later.body)}")

# --- pending proposals (both teams see them) ----------------------------------------------------------
pending: list[signoff.Proposal] = data.cached(signoff.pending_proposals)
if pending or joint:
    st.subheader(f"Waiting for sign-off ({len(pending)})")
    if not pending:
        st.caption("No change is waiting. With joint sign-off on, a change one team proposes takes effect "
                   "only when the other team approves it.")
for p in pending:
    with st.container(border=True):
        st.markdown(f"**{p.proposed_by}** ({p.proposed_team}) proposes, for leads created from "
                    f"{when(p.effective_from)}: {quality.describe(p.body)}")
        st.caption(f"Why: {p.reason} · proposed {p.proposed_at:%Y-%m-%d %H:%M} UTC on version {p.base_version}")
        base = next((x.body for x in versions if x.version == p.base_version), None)
        st.dataframe(diff_frame(base, p.body, quality.LABELS, f"version {p.base_version}", "proposed"),
                     hide_index=True, width="stretch")
        if current is not None and p.base_version != current.version:
            st.warning(f"Overtaken: version {current.version} was saved after this proposal was made on version "
                       f"{p.base_version}, so it can no longer be approved as it is. Reject it, or withdraw it and "
                       "propose again from the current version.")
        cannot_decide, cannot_withdraw = signoff.may_decide(actor, p), signoff.may_withdraw(actor, p)
        if cannot_decide is None:
            note = st.text_input("Note (required to reject)", key=f"quality_note_{p.proposal_id}")
            c1, c2, _ = st.columns([1, 1, 8], gap="small")
            if c1.button("Approve", key=f"quality_approve_{p.proposal_id}", type="primary"):
                try:
                    saved = signoff.approve(data.connection(), p.proposal_id, actor=actor, note=note)
                except edits.Conflict as conflict:
                    st.error(f"Not approved: {conflict.current.saved_by} saved version {conflict.current.version} "
                             f"after this proposal was made on version {p.base_version}. Nothing was changed.")
                except edits.EditRefused as refused:
                    st.error(str(refused))
                else:
                    widgets.restart_editor(KEY, saved, F)
                    st.session_state["quality_flash"] = (
                        f"Approved: version {saved.version} is saved and applies to leads created from "
                        f"{when(saved.effective_from)}. The draft now starts from it.")
                    st.rerun()
            if c2.button("Reject", key=f"quality_reject_{p.proposal_id}"):
                try:
                    signoff.reject(data.connection(), p.proposal_id, actor=actor, note=note)
                except edits.EditRefused as refused:
                    st.error(str(refused))
                else:
                    st.session_state["quality_flash"] = f"Rejected {p.proposed_by}'s proposal."
                    st.rerun()
        elif cannot_withdraw is None:
            st.caption(cannot_decide)
            if st.button("Withdraw", key=f"quality_withdraw_{p.proposal_id}"):
                try:
                    signoff.withdraw(data.connection(), p.proposal_id, actor=actor)
                except edits.EditRefused as refused:
                    st.error(str(refused))
                else:
                    st.session_state["quality_flash"] = "Proposal withdrawn."
                    st.rerun()
        else:
            st.caption(cannot_decide)

# --- the draft ----------------------------------------------------------------------------------------
if F + "loaded" not in st.session_state:
    load_draft(opened_body or QualityDefinition())

st.subheader("Draft")
st.caption(f"Starts from version {opened}. A lead qualifies when it is not excluded and either meets every "
           "fit criterion set here, or takes a fast track. Empty fields do not filter.")


def options(present: tuple[str, ...], name: str) -> list[str]:
    # values already in the draft stay selectable even when the data lacks them (validation says so)
    return list(dict.fromkeys([*present, *st.session_state.get(F + name, [])]))


left, right = st.columns(2, gap="large")
with left:
    st.markdown("**Fit — every criterion set must hold**")
    st.number_input("Minimum score (0–100)", min_value=0, max_value=100, step=5, key=F + "min_score",
                    placeholder="no minimum", help="Leads without a score do not pass a minimum score.")
    e1, e2 = st.columns(2)
    e1.number_input("Employees at least", min_value=0, step=10, key=F + "employees_min", placeholder="no minimum")
    e2.number_input("Employees at most", min_value=0, step=10, key=F + "employees_max", placeholder="no maximum")
    st.multiselect("Industries", options(choices.industries, "industries"), key=F + "industries",
                   accept_new_options=True, placeholder="any industry")
    st.multiselect("Seniorities", list(SENIORITIES), format_func=SENIORITY_NAMES.get, key=F + "seniorities",
                   placeholder="any seniority")
    st.multiselect("Countries", options(choices.countries, "countries"), key=F + "countries",
                   accept_new_options=True, placeholder="any country")
with right:
    st.markdown("**Fast tracks**")
    st.radio("Demo request", list(DEMO_MODES), format_func=DEMO_MODES.get, key=F + "demo")
    st.checkbox("Leads the source CRM marked qualified (mql_at) qualify on their own", key=F + "crm_qualified")
    st.markdown("**Never a quality lead**")
    st.multiselect("Excluded industries", options(choices.industries, "exclude_industries"),
                   key=F + "exclude_industries", accept_new_options=True, placeholder="none")
    st.multiselect("Excluded countries", options(choices.countries, "exclude_countries"),
                   key=F + "exclude_countries", accept_new_options=True, placeholder="none")
    st.multiselect("Excluded sources", options(choices.sources, "exclude_sources"), key=F + "exclude_sources",
                   accept_new_options=True, placeholder="none",
                   help="Channels of origin, e.g. outbound: leads sales generated itself.")

ss = st.session_state
draft_body = {
    "min_score": ss[F + "min_score"], "employees_min": ss[F + "employees_min"],
    "employees_max": ss[F + "employees_max"], "industries": ss[F + "industries"],
    "seniorities": ss[F + "seniorities"], "countries": ss[F + "countries"],
    "demo_fast_track": ss[F + "demo"] == "fast_track", "demo_required": ss[F + "demo"] == "required",
    "crm_qualified": ss[F + "crm_qualified"], "exclude_industries": ss[F + "exclude_industries"],
    "exclude_countries": ss[F + "exclude_countries"], "exclude_sources": ss[F + "exclude_sources"],
}
check: quality.DraftCheck = data.cached(quality.validate_draft, draft_body)
for message in check.errors:
    st.error(message)
for message in check.warnings:
    st.warning(message)
draft = check.definition if check.ok else None
unchanged = draft is not None and opened_body is not None and draft == opened_body
if draft is not None:
    st.markdown(f"**The draft reads:** {quality.describe(draft)}")

# --- back-test ----------------------------------------------------------------------------------------
st.subheader("Back-test: what if the draft had been in force")
if not choices.leads:
    st.info("No leads are loaded, so the draft cannot be back-tested yet.")
elif draft is None:
    st.info("Fix the draft above to back-test it.")
else:
    last_day = scope.as_of.date()
    first_day = min(choices.first_created.date(), last_day)
    picked = st.date_input("Leads created from … to … (inclusive)",
                           value=(max(first_day, last_day - timedelta(days=364)), last_day),
                           min_value=first_day, max_value=last_day, key="quality_bt_range",
                           help="Default: the trailing year up to as-of. Outcomes are followed up to as-of.")
    if not isinstance(picked, tuple) or len(picked) != 2:
        st.info("Pick the last day of the range too.")
    else:
        start, end = datetime.combine(picked[0], time()), datetime.combine(picked[1] + timedelta(days=1), time())
        bt = data.cached(backtest, draft, start, end, scope.as_of)
        for note in bt.notes:
            st.info(note)
        for warning in bt.warnings:
            st.warning(warning)
        if bt.leads:
            name = in_force_name(bt)
            c = st.columns(4)
            c[0].metric("Quality leads (draft)", show("backtest_leads", bt.draft.leads),
                        delta=f"{name}: {show('backtest_leads', bt.in_force.leads)}", delta_color="off",
                        delta_arrow="off", border=True, help=MEASURES["backtest_leads"].help)
            c[1].metric("Share of leads (draft)", show("backtest_share", bt.draft.share),
                        delta=f"{name}: {show('backtest_share', bt.in_force.share)}", delta_color="off",
                        delta_arrow="off", border=True, help=MEASURES["backtest_share"].help)
            c[2].metric("Lead → won (draft)", show("backtest_won_rate", bt.draft.won_rate),
                        delta=f"{name}: {show('backtest_won_rate', bt.in_force.won_rate)}", delta_color="off",
                        delta_arrow="off", border=True, help=MEASURES["backtest_won_rate"].help)
            c[3].metric("Wins the draft misses", show("backtest_missed_won_deals", bt.missed_won_deals),
                        delta=f"{show('backtest_missed_won_revenue', bt.missed_won_revenue)} won revenue",
                        delta_color="off", delta_arrow="off", border=True,
                        help=MEASURES["backtest_missed_won_deals"].help)
            st.dataframe(backtest_frame(bt), hide_index=True, width="stretch")
            st.caption(
                f"{bt.leads:,} leads created {picked[0]:%Y-%m-%d} – {picked[1]:%Y-%m-%d}, both definitions applied "
                f"to all of them. The draft newly qualifies {bt.newly_qualified:,} and newly excludes "
                f"{bt.newly_excluded:,}; it would catch {show('backtest_won_deals', bt.caught_won_deals)} won deals "
                f"({show('backtest_won_revenue', bt.caught_won_revenue)}) the version in force misses. "
                "Recent leads have had less time to convert."
            )
            st.altair_chart(monthly_chart(monthly_frame(bt)), width="stretch")

# --- save or propose ----------------------------------------------------------------------------------
st.subheader("Propose for sign-off" if joint else "Save as a new version")
if actor.team not in signoff.PROPOSERS:
    st.info(f"{actor.name} ({actor.team}) can read and back-test the definition; sales, marketing or "
            "leadership change it.")
else:
    latest_from = max((x.effective_from for x in versions), default=edits.BEGINNING)
    mode = st.radio(
        "Takes effect for leads created",
        ["as_of", "date"], horizontal=True, key=F + "when",
        format_func={"as_of": f"from now on (the data's as-of, {scope.as_of:%Y-%m-%d %H:%M} UTC)",
                     "date": "from a date (00:00 UTC)"}.get,
    )
    effective_from = scope.as_of
    if mode == "date":
        # no earlier than the latest version's start (core.edits refuses that); the first one starts at 2000
        min_day = latest_from.date() if latest_from > edits.BEGINNING else (choices.first_created or scope.as_of).date()
        day = st.date_input("Effective from", value=max(scope.as_of.date(), min_day), min_value=min_day,
                            key=F + "effective_date")
        effective_from = datetime.combine(day, time())
    if draft is not None and effective_from < scope.as_of:
        r = data.cached(rejudged, draft, effective_from, scope.as_of)
        st.warning(f"Back-dated: the {r.leads:,} leads already created since {effective_from:%Y-%m-%d %H:%M} UTC "
                   f"would be judged by this version — {r.gained:,} become quality leads and {r.lost:,} stop being "
                   "ones. Leads created before keep their verdict.")
    reason = st.text_input("Why (kept in the history; the other team reads it)", key=F + "reason")
    if joint:
        st.caption("Takes effect when someone from " + " or ".join(signoff.approver_teams(actor.team))
                   + " approves it. The version in force stays until then.")
    if unchanged:
        st.caption(f"The draft holds the same criteria as version {opened}: change something first.")
    label = "Propose for sign-off" if joint else f"Save as version {(current.version if current else 0) + 1}"
    if st.button(label, type="primary", disabled=draft is None or unchanged, key="quality_submit"):
        if joint:
            try:
                signoff.propose(data.connection(), draft, actor=actor, reason=reason, base_version=opened,
                                effective_from=effective_from)
            except edits.Conflict as conflict:
                st.session_state["quality_conflict"] = (conflict.current, draft.model_dump())
                st.rerun()
            except edits.EditRefused as refused:
                st.error(str(refused))
            else:
                widgets.restart_editor(KEY, current, F)
                st.session_state["quality_flash"] = (
                    "Proposed: waiting for " + " or ".join(signoff.approver_teams(actor.team))
                    + " to approve. The version in force is unchanged until then.")
                st.rerun()
        else:
            saved = widgets.submit_edit(KEY, KIND, SUBJECT, draft, actor=actor, reason=reason,
                                        effective_from=effective_from)
            if saved is not None:
                widgets.restart_editor(KEY, saved, F)
                st.session_state["quality_flash"] = (
                    f"Saved version {saved.version}: it applies to leads created from {when(saved.effective_from)}.")
                st.rerun()
            elif st.session_state.get("quality_conflict"):
                st.rerun()

# --- history ------------------------------------------------------------------------------------------
st.subheader("History")
widgets.version_history(KEY, versions, quality.LABELS)
if len(versions) >= 2:
    r1, r2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = r1.selectbox("Restore an earlier version: load it into the draft", [x.version for x in versions[1:]],
                        key="quality_restore_pick")
    r2.button("Load into the draft", key="quality_restore", on_click=load_draft,
              args=(next(x.body for x in versions if x.version == pick), f"Restore version {pick}"))
    st.caption("Restoring never rewrites history: the loaded values are saved (or proposed) as a new version "
               "with its own effective date and reason.")
decided = data.cached(signoff.decided_proposals)
if decided:
    with st.expander(f"Decided proposals (latest {len(decided)})"):
        st.dataframe(proposals_frame(decided), hide_index=True, width="stretch")
