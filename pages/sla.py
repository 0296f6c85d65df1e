"""SLA compliance: sales' response promise and marketing's delivery promise on one page, the breach list
behind them, and the policy both sides agreed (edited through the one write path)."""
from __future__ import annotations

from datetime import datetime, time

import streamlit as st

from core import edits
from ui import data, sidebar, widgets
from core.charts_sla import compliance_by_chart, delivery_chart, rejections_chart, weekly_trend_chart
from core.semantic.measures import MEASURES, fmt, show
from core.metrics import sla
from core.models import SlaPolicy

KEY = "sla"
POLICY_FIELDS = ("response_hours", "min_attempts", "attempt_days", "monthly_quality_commitment")
POLICY_LABELS = {f: MEASURES[f].label for f in POLICY_FIELDS}
CSV_INLINE_MAX = 50_000  # above this many rows the CSV is built only when asked for
TABS = ["Sales by team and rep", "Weekly trend", "Marketing's side", "Breach list", "SLA policy"]
ISSUES = {"any": "Breached or under-worked", "breached": "Breached", "never_touched": "Never touched",
          "under_worked": "Under-worked"}
SORTS = {"hours_late": "Hours late (most first)", "clock_start": "Clock start (newest first)",
         "attempts": "Attempts (fewest first)", "rep": "Team and rep"}
ALL = "__all__"
FORM = f"{KEY}_form_"

# Column → (measure key or plain label, format) for every table on this page.
COLUMNS = {
    "team": ("Team", None), "rep": ("Rep", None), "week": ("ISO week", None), "month": ("Month", None),
    "segment": ("Segment", None), "reason": ("Reason", None), "lead_id": ("Lead", None), "company": ("Company", None),
    "issue": ("Issue", None), "source": ("Source", None), "campaign": ("Campaign", None),
    "quality_leads": ("sla_quality_leads", "localized"), "met": ("sla_met", "localized"),
    "breached": ("sla_breached", "localized"), "pending": ("sla_pending", "localized"),
    "compliance": ("compliance", "percent"), "median_hours_to_first_touch": ("median_hours", "%.1f h"),
    "p90_hours_to_first_touch": ("p90_hours", "%.1f h"), "never_touched": ("never_touched", "localized"),
    "avg_attempts": ("avg_attempts", "%.1f"), "under_worked": ("under_worked", "localized"),
    "hours_late": ("hours_late", "%.1f h"), "attempts": ("Attempts", "localized"),
    "min_attempts": ("min_attempts", "localized"), "committed": ("committed", "localized"),
    "delivery": ("delivery", "percent"), "accepted": ("accepted", "localized"),
    "acceptance_rate": ("acceptance_rate", "percent"), "rejected": ("rejected", "localized"),
    "rejection_rate": ("rejection_rate", "percent"), "elapsed_share": ("Month elapsed", "percent"),
}
DATES = {"week_start": ("Week starts", "YYYY-MM-DD"), "clock_start": ("Clock start", "YYYY-MM-DD HH:mm"),
         "deadline": ("Deadline", "YYYY-MM-DD HH:mm"), "first_touch_at": ("First touch", "YYYY-MM-DD HH:mm")}
# Marketing's tables count quality leads by creation (the funnel's cohort), not by clock start.
MARKETING = {"quality_leads": ("quality_leads", "localized")}


def table(frame, columns: list[str], key: str, overrides: dict | None = None, height: int | None = None) -> None:
    """A sortable table of `columns` labelled and formatted as the measures declare them."""
    config = {}
    for column in columns:
        if column in DATES:
            config[column] = st.column_config.DatetimeColumn(DATES[column][0], format=DATES[column][1])
            continue
        name, number_format = {**COLUMNS, **(overrides or {})}[column]
        declared = MEASURES.get(name)
        label, help_text = (declared.label, declared.help) if declared else (name, None)
        if number_format is None:
            config[column] = st.column_config.TextColumn(label, help=help_text)
        else:
            # a step of 0.001 makes "percent" show one decimal on every row (80.8%, 0.0%)
            config[column] = st.column_config.NumberColumn(label, help=help_text, format=number_format,
                                                           step=0.001 if number_format == "percent" else None)
    st.dataframe(frame[columns], column_config=config, hide_index=True, width="stretch", key=key,
                 height=height if height is not None else "auto")


def policy_sentence(policy) -> str:
    commitment = (f"{policy.monthly_quality_commitment:,} quality leads a month"
                  if policy.monthly_quality_commitment is not None else "no quality-lead commitment set")
    return (f"first touch within {fmt(policy.response_hours, 'hours')}, {policy.min_attempts} attempts within "
            f"{fmt(policy.attempt_days, 'days')}; {commitment}")


scope = sidebar.scope()
period, as_of = scope.period, scope.as_of
response = data.cached(sla.response_sla, period, as_of)
supply = data.cached(sla.delivery, period, as_of)
sales_notes = data.cached(sla.sales_side_notes)
in_force = data.cached(sla.policy_in_force, as_of)
changes = data.cached(sla.policy_changes_within, period)

st.title(f"SLA compliance · {period.label}")
st.caption(
    f"{period.start:%d %b %Y} – {period.end:%d %b %Y} (end exclusive) · as of {as_of:%Y-%m-%d %H:%M} UTC · "
    f"a lead belongs to the period in which its SLA clock (assignment, else creation) started"
)
if in_force is not None:
    st.markdown(f"**Policy in force at as-of** (version {in_force.version}): {policy_sentence(in_force.body)}.")
for change in changes:
    st.info(f"The policy changed on {change.effective_from:%d %b %Y %H:%M} UTC (version {change.version}: "
            f"{policy_sentence(change.body)}). Each lead is measured under the policy in force when its clock "
            f"started.", icon=":material/rule:")

sales_col, marketing_col = st.columns(2, gap="large")
with sales_col:
    st.subheader("Sales' promise: speed to lead")
    if sales_notes:
        st.warning("The response SLA cannot be measured: " + " ".join(sales_notes))
    else:
        c = st.columns(2)
        widgets.measure(c[0], "compliance", response.compliance, delta=f"{response.met:,} of {response.judged:,} met")
        widgets.measure(c[1], "median_hours", response.median_hours_to_first_touch,
               delta=f"p90 {show('p90_hours', response.p90_hours_to_first_touch)}")
        c = st.columns(2)
        widgets.measure(c[0], "never_touched", response.never_touched, delta="quality leads nobody called")
        widgets.measure(c[1], "under_worked", response.under_worked,
               delta=f"avg {show('avg_attempts', response.avg_attempts)} attempts per lead")
        st.caption(f"{response.quality_leads:,} quality leads measured: {response.met:,} met, "
                   f"{response.breached:,} breached, {response.pending:,} pending (window still open at as-of).")
        if response.never_touched:
            st.warning(f"**{response.never_touched:,} quality lead{'s' if response.never_touched != 1 else ''} "
                       f"never touched** in this period: see the breach list (issue 'Never touched').", icon=":material/phone_disabled:")
with marketing_col:
    st.subheader("Marketing's promise: quality leads")
    if supply.quality_leads is None:
        st.warning("Marketing's side cannot be measured: " + " ".join(supply.notes))
    else:
        c = st.columns(2)
        widgets.measure(c[0], "quality_leads", supply.quality_leads,
               delta=f"committed {fmt(supply.committed, 'count')}" if supply.committed is not None else "no commitment set")
        widgets.measure(c[1], "delivery", supply.delivery,
               delta=f"{period.elapsed_share(as_of):.0%} of the period elapsed")
        c = st.columns(2)
        widgets.measure(c[0], "acceptance_rate", supply.acceptance_rate,
               delta=f"{supply.accepted:,} accepted" if supply.accepted is not None else None)
        widgets.measure(c[1], "rejected", data.cached(sla.rejected_quality_leads, period, as_of),
               delta=f"of {supply.quality_leads:,} quality leads")

widgets.notes([n for n in [*response.notes, *supply.notes] if n not in sales_notes])

tabs = st.tabs(TABS, key=f"{KEY}_tab", on_change="rerun")

with tabs[0]:
    if tabs[0].open is not False:
        if sales_notes:
            st.info("By team and by rep need the response SLA: " + " ".join(sales_notes))
        else:
            by_team = data.cached(sla.sla_by, period, as_of, "team")
            by_rep = data.cached(sla.sla_by, period, as_of, "rep")
            left, right = st.columns([2, 3])
            with left:
                st.markdown("**Compliance by team**")
                if len(by_team):
                    st.altair_chart(compliance_by_chart(by_team, "team"), width="stretch")
                else:
                    st.caption("No quality lead's clock started in this period.")
            with right:
                st.markdown("**By team**")
                table(by_team, ["team", "quality_leads", "met", "breached", "pending", "compliance",
                                "median_hours_to_first_touch", "p90_hours_to_first_touch", "avg_attempts",
                                "under_worked", "never_touched"], f"{KEY}_by_team")
            st.markdown("**By rep** (the lead's current owner; leads without one are 'unassigned')")
            table(by_rep, ["team", "rep", "quality_leads", "met", "breached", "pending", "compliance",
                           "median_hours_to_first_touch", "p90_hours_to_first_touch", "avg_attempts",
                           "under_worked", "never_touched"], f"{KEY}_by_rep")

with tabs[1]:
    if tabs[1].open:
        if sales_notes:
            st.info("The weekly trend needs the response SLA: " + " ".join(sales_notes))
        else:
            weekly = data.cached(sla.sla_weekly, period, as_of)
            if len(weekly):
                st.altair_chart(weekly_trend_chart(weekly), width="stretch")
                st.caption("Weeks are ISO weeks (Monday 00:00 UTC) of the clock start; the first and last "
                           "may be partly outside the period. Pending leads are not in compliance.")
                table(weekly, ["week", "week_start", "quality_leads", "met", "breached", "pending", "compliance",
                               "median_hours_to_first_touch", "p90_hours_to_first_touch", "never_touched",
                               "under_worked"], f"{KEY}_weekly")
            else:
                st.caption("The period has not started at as-of.")

with tabs[2]:
    if tabs[2].open:
        if supply.quality_leads is None:
            st.info("Marketing's side needs leads: " + " ".join(supply.notes))
        else:
            months = data.cached(sla.delivery_by_month, period, as_of)
            left, right = st.columns([2, 3])
            with left:
                st.markdown("**Quality leads delivered vs committed, per month**")
                st.altair_chart(delivery_chart(months), width="stretch")
            with right:
                st.markdown("**Per month**")
                table(months, ["month", "quality_leads", "committed", "delivery", "accepted", "acceptance_rate",
                               "elapsed_share"], f"{KEY}_months", MARKETING)
                st.caption("The bar is delivered, the dark tick the month's commitment. A month in progress "
                           "reads as to date.")
            by_label = st.radio("Acceptance and rejections by", ["campaign", "source"], horizontal=True,
                                key=f"{KEY}_segment", format_func=str.title)
            st.markdown(f"**Acceptance by {by_label}**")
            table(data.cached(sla.acceptance_by, period, as_of, by_label),
                  ["segment", "quality_leads", "accepted", "acceptance_rate", "rejected", "rejection_rate"],
                  f"{KEY}_acceptance", MARKETING)
            st.markdown(f"**Rejection reasons by {by_label}** (the feedback sales owes marketing)")
            reasons = data.cached(sla.rejection_reasons, period, as_of, by_label)
            if len(reasons):
                st.altair_chart(rejections_chart(reasons), width="stretch")
                with st.expander("Rejection reasons as a table"):
                    table(reasons, ["segment", "reason", "rejected"], f"{KEY}_reasons")
            else:
                st.caption("No quality lead of this period was rejected.")
            st.caption("Rejections count quality leads only (status rejected, or recycled with a reason); "
                       "a rejection without a reason shows as '(no reason given)'.")

with tabs[3]:
    if tabs[3].open:
        if sales_notes:
            st.info("The breach list needs the response SLA: " + " ".join(sales_notes))
        else:
            by_rep = data.cached(sla.sla_by, period, as_of, "rep")
            teams = [ALL, *dict.fromkeys(by_rep["team"])]
            reps = {ALL: "All reps", **{k: f"{r} · {t}" for k, r, t in zip(by_rep["rep_key"], by_rep["rep"], by_rep["team"])}}
            c = st.columns(4)
            team = c[0].selectbox("Team", teams, key=f"{KEY}_f_team",
                                  format_func=lambda t: "All teams" if t == ALL else t)
            rep = c[1].selectbox("Rep", list(reps), key=f"{KEY}_f_rep", format_func=reps.get)
            issue = c[2].selectbox("Issue", list(ISSUES), key=f"{KEY}_f_issue", format_func=ISSUES.get)
            sort = c[3].selectbox("Order by", list(SORTS), key=f"{KEY}_f_sort", format_func=SORTS.get)
            filters = dict(team=None if team == ALL else team, rep=None if rep == ALL else rep, issue=issue)
            found = data.cached(sla.breach_list, period, as_of, sort=sort, **filters)
            shown = len(found.rows)
            st.caption(f"{found.total:,} lead{'s' if found.total != 1 else ''} match; "
                       + (f"showing the first {shown:,} by {SORTS[sort].lower()}." if shown < found.total
                          else "all shown.")
                       + " Hours late is filled for breached leads only.")
            table(found.rows, list(sla.BREACH_COLUMNS), f"{KEY}_breaches", height=min(38 + 35 * shown, 460))
            file_name = f"sla-breaches-{period.label}.csv"
            if found.total <= CSV_INLINE_MAX or st.session_state.get(f"{KEY}_csv_ready") == (period, as_of, tuple(filters.items())):
                full = found if shown == found.total else data.cached(sla.breach_list, period, as_of, sort=sort, limit=None, **filters)
                widgets.csv_download(full.rows, file_name, label=f"Download all {found.total:,} as CSV", key=f"{KEY}_csv")
            elif st.button(f"Prepare the CSV of all {found.total:,} leads", key=f"{KEY}_csv_prepare"):
                st.session_state[f"{KEY}_csv_ready"] = (period, as_of, tuple(filters.items()))
                st.rerun()

with tabs[4]:
    if tabs[4].open:
        widgets.show_flash_and_conflict(KEY, POLICY_LABELS)
        latest = data.cached(edits.latest, "sla_policy", edits.POLICY_SUBJECT)
        opened = widgets.opened_version(KEY, latest)
        if scope.actor.team not in edits.MAY_EDIT["sla_policy"]:
            st.info(f"You are acting as {scope.actor.name} ({scope.actor.team}): you can read the policy, but "
                    "only sales, marketing or leadership can change it.")
        st.caption(f"Editing version {opened} (latest saved: version {latest.version if latest else 0}, effective "
                   f"from {latest.effective_from:%d %b %Y} UTC). A new version applies to leads whose clock starts on "
                   "or after its effective date; earlier leads keep the policy they were measured under."
                   if latest else "No policy saved yet.")
        if FORM + "response_hours" not in st.session_state:  # first open, or after a save / restart
            body = latest.body if latest else SlaPolicy()
            for name in POLICY_FIELDS:
                st.session_state[FORM + name] = getattr(body, name)
            st.session_state[FORM + "effective"] = max(latest.effective_from.date() if latest else as_of.date(),
                                                       as_of.date())
            st.session_state[FORM + "reason"] = ""
        with st.form(f"{KEY}_form"):
            c = st.columns(4)
            c[0].number_input(POLICY_LABELS["response_hours"] + " (hours)", key=FORM + "response_hours", step=1.0,
                              format="%.1f", help=MEASURES["response_hours"].help + " Above 0, at most 720.")
            c[1].number_input(POLICY_LABELS["min_attempts"], key=FORM + "min_attempts", step=1,
                              help=MEASURES["min_attempts"].help + " At least 1.")
            c[2].number_input(POLICY_LABELS["attempt_days"] + " (days)", key=FORM + "attempt_days", step=1.0,
                              format="%.1f", help=MEASURES["attempt_days"].help + " Above 0, at most 90.")
            c[3].number_input("Quality leads a month", key=FORM + "monthly_quality_commitment",
                              step=1, placeholder="not set",
                              help=MEASURES["monthly_quality_commitment"].help + " Leave empty for none.")
            c = st.columns([1, 3])
            c[0].date_input("Effective from (00:00 UTC)", key=FORM + "effective",
                            help="Not before the latest saved version's effective date "
                                 "(that would change how past leads were counted).")
            c[1].text_input("Why (kept in the history)", key=FORM + "reason",
                            placeholder="e.g. agreed in the pipeline review of 3 Aug")
            submitted = st.form_submit_button("Save new version", type="primary")
        if submitted:
            state = st.session_state
            body = {name: state[FORM + name] for name in POLICY_FIELDS}
            saved = widgets.submit_edit(KEY, "sla_policy", edits.POLICY_SUBJECT, body, actor=scope.actor,
                                        reason=state[FORM + "reason"], as_of=as_of,
                                        effective_from=datetime.combine(state[FORM + "effective"], time()))
            if saved is not None:
                widgets.restart_editor(KEY, saved, widget_prefix=FORM)  # reload the form from what was saved
                st.rerun()  # every figure above was drawn before the save
            elif st.session_state.get(f"{KEY}_conflict"):
                st.rerun()  # show their values beside yours at the top of this tab
        st.markdown("**History**")
        widgets.version_history(KEY, data.cached(edits.history, "sla_policy", edits.POLICY_SUBJECT), POLICY_LABELS)
