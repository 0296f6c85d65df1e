"""SLA compliance: sales' response promise and marketing's delivery promise on one page, the breach list
behind them, and the policy both sides agreed (edited through the one write path)."""
from __future__ import annotations

import streamlit as st

from core import charts_sla, edits, sla_policy
from core.metrics import sla
from core.semantic.dimensions import labels as dimension_labels
from core.semantic.enums import NO_REASON
from core.semantic.measures import show
from ui import data, sidebar, widgets

KEY = "sla"
FORM = f"{KEY}_form_"
WH_FORM = f"{KEY}_wh_"  # the working-hours editor's widgets
SALES_COLUMNS = ["quality_leads", "met", "breached", "pending", "compliance", "median_hours_to_first_touch",
                 "p90_hours_to_first_touch", "avg_attempts", "under_worked", "never_touched"]

scope = sidebar.scope()
period, as_of = scope.period, scope.as_of
head = data.cached(sla.sla_headline, period, as_of)
in_force = data.cached(sla.policy_in_force, as_of)


def table(frame, columns: list[str], key: str, *, sales: bool = False, labels: dict | None = None,
          max_height: int | None = None) -> None:
    """A table of this page: sales' tables count quality leads by clock start, marketing's by creation."""
    widgets.measure_table(frame, columns, f"{KEY}_{key}", measures=sla.SALES_MEASURES if sales else None,
                          labels={**sla.COLUMN_LABELS, **(labels or {})}, formats=sla.COLUMN_FORMATS,
                          max_height=max_height)


def cards(figures: list[tuple[str, object, str | None]]) -> None:
    """Metric cards in a row that wraps."""
    widgets.measure_row(figures)


def needs_sales_side(what: str) -> bool:
    """Say why `what` cannot be shown when the response SLA cannot be measured; True when it can."""
    if head.sales_notes:
        st.info(f"{what} the response SLA: " + widgets.plain(" ".join(head.sales_notes)))
    return not head.sales_notes


st.title(f"SLA compliance · {period.label}")
widgets.period_caption(scope, "a lead belongs to the period in which its SLA clock (assignment, else creation) started")
if in_force is not None:
    st.markdown(f"**Policy in force at as-of** (version {in_force.version}): {sla_policy.sentence(in_force.body)}.")
    widgets.say("caption", "{}", sla_policy.working_hours_sentence(in_force.body))  # names from the data
for change in data.cached(sla.policy_changes_within, period):
    st.info(sla_policy.change_note(change), icon=":material/rule:")

sales_col, marketing_col = st.columns(2, gap="large")
with sales_col:
    st.subheader("Sales' promise: speed to lead")
    if head.sales_notes:
        st.warning("The response SLA cannot be measured: " + widgets.plain(" ".join(head.sales_notes)))
    else:
        cards(head.sales_cards)
        st.caption(head.response.status_line)
        if head.response.never_touched_warning:
            st.warning(head.response.never_touched_warning, icon=":material/phone_disabled:")
with marketing_col:
    st.subheader("Marketing's promise: quality leads")
    if head.delivery.quality_leads is None:
        st.warning("Marketing's side cannot be measured: " + widgets.plain(" ".join(head.delivery.notes)))
    else:
        cards(head.marketing_cards)
widgets.notes(head.notes)


def by_team_and_rep() -> None:
    if not needs_sales_side("By team and by rep need"):
        return
    by_team = head.by["team"]
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Compliance by team**")
        if len(by_team):
            st.altair_chart(charts_sla.compliance_by_chart(by_team, "team"), width="stretch")
        else:
            st.caption("No quality lead's clock started in this period.")
    with right:
        st.markdown("**By team**")
        table(by_team, ["team", *SALES_COLUMNS], "by_team", sales=True)
    st.markdown("**By rep** (the lead's current owner; leads without one are 'unassigned')")
    by_rep = head.by["rep"]
    table(by_rep, ["team", "rep", "rep_key", *SALES_COLUMNS], "by_rep", sales=True, labels={"rep_key": "Owner id"})
    widgets.csv_download(by_rep[["team", "rep", "rep_key", *SALES_COLUMNS]], f"sla-by-rep-{period.label}.csv",
                         label="Download by rep (CSV)", key=f"{KEY}_by_rep_csv")


def routing_and_response() -> None:
    if not needs_sales_side("Routing and response need"):
        return
    r = head.response
    st.caption("Routing is the system's and operations' delay (lead created → assigned to sales); response is the "
               "rep's (clock start → first touch). Both count working time when the policy sets working hours.")
    cards([("median_routing_hours", r.median_routing_hours, f"p90 {show('p90_routing_hours', r.p90_routing_hours)}"),
           ("median_hours", r.median_hours_to_first_touch, r.p90_note),
           ("within_5m_share", r.within_5m_share, f"within 1 h: {show('within_1h_share', r.within_1h_share)}"),
           ("within_24h_share", r.within_24h_share,
            None if r.touched_leads is None else f"of {r.touched_leads:,} touched quality leads")])
    if r.routing_note:
        st.info(widgets.plain(r.routing_note), icon=":material/alt_route:")
    segments = dimension_labels(sla.SPEED_BY)
    by = st.radio("Routing and response by", list(segments), horizontal=True, key=f"{KEY}_speed_by",
                  format_func=segments.get, bind="query-params")
    frame = head.by[by]
    keys = ["team", "rep", "rep_key"] if by == "rep" else [by]
    label = "rep" if by == "rep" else by
    if len(frame) and frame["touched_leads"].sum():
        st.markdown(f"**First touched within 5 min, 1 h and 24 h, by {segments[by].lower()}**")
        st.altair_chart(charts_sla.response_distribution_chart(frame, label), width="stretch")
    table(frame, [*keys, *sla.SPEED_COLUMNS], f"speed_{by}", sales=True, labels={"rep_key": "Owner id"})


def weekly_trend() -> None:
    if not needs_sales_side("The weekly trend needs"):
        return
    weekly = head.by["week"]
    if not len(weekly):
        st.caption("The period has not started at as-of.")
        return
    st.altair_chart(charts_sla.weekly_trend_chart(weekly), width="stretch")
    st.caption("Weeks are ISO weeks (Monday 00:00 UTC) of the clock start; the first and last may be partly "
               "outside the period. Pending leads are not in compliance.")
    table(weekly, ["week", "week_start", *SALES_COLUMNS[:7], "never_touched", "under_worked"], "weekly", sales=True)


def marketing_side() -> None:
    if head.delivery.quality_leads is None:
        st.info("Marketing's side needs leads: " + widgets.plain(" ".join(head.delivery.notes)))
        return
    months = data.cached(sla.delivery_by_month, period, as_of)
    left, right = st.columns([2, 3])
    with left:
        st.markdown("**Quality leads delivered vs committed, per month**")
        st.altair_chart(charts_sla.delivery_chart(months), width="stretch")
    with right:
        st.markdown("**Per month**")
        table(months, ["month", "quality_leads", "committed", "delivery", "accepted", "acceptance_rate",
                       "elapsed_share"], "months")
        st.caption("The bar is delivered, the dark tick the month's commitment. A month in progress reads as to date.")
    segments = dimension_labels(sla.MARKETING_BY)
    by = st.radio("Acceptance and rejections by", list(segments), horizontal=True, key=f"{KEY}_segment",
                  format_func=segments.get, bind="query-params")
    st.markdown(f"**Acceptance by {segments[by].lower()}**")
    table(data.cached(sla.acceptance_by, period, as_of, by),
          ["segment", "quality_leads", "accepted", "acceptance_rate", "rejected", "rejection_rate"], "acceptance",
          labels={"segment": segments[by]})
    st.markdown(f"**Rejection reasons by {segments[by].lower()}** (the feedback sales owes marketing)")
    reasons = data.cached(sla.rejection_reasons, period, as_of, by)
    if len(reasons):
        st.altair_chart(charts_sla.rejections_chart(reasons), width="stretch")
        with st.expander("Rejection reasons as a table"):
            table(reasons, ["segment", "reason", "rejected"], "reasons", labels={"segment": segments[by]})
    else:
        st.caption("No quality lead of this period was rejected.")
    st.caption("Rejections count quality leads only (status rejected, or recycled with a reason); a rejection "
               f"without a reason shows as '{NO_REASON}'.")


def breach_list() -> None:
    if not needs_sales_side("The breach list needs"):
        return
    teams, reps = sla.breach_filter_choices(head.by["rep"])
    c = st.columns(4)
    filters = {
        "team": c[0].selectbox("Team", list(teams), key=f"{KEY}_f_team", format_func=teams.get,
                                bind="query-params"),
        "rep": c[1].selectbox("Rep", list(reps), key=f"{KEY}_f_rep", format_func=reps.get,
                               bind="query-params"),
        "issue": c[2].selectbox("Issue", list(sla.ISSUE_FILTERS), key=f"{KEY}_f_issue",
                                format_func=lambda k: sla.ISSUE_FILTERS[k].label, bind="query-params"),
        "sort": c[3].selectbox("Order by", list(sla.BREACH_SORTS), key=f"{KEY}_f_sort",
                               format_func=lambda k: sla.BREACH_SORTS[k].label, bind="query-params"),
    }
    found = data.cached(sla.breach_list, period, as_of, **filters)
    st.caption(found.summary)
    table(found.rows, list(sla.BREACH_COLUMNS), "breaches", max_height=460)
    # the whole list is built only when someone downloads it, unless it is already all on screen
    rows = found.rows if found.complete else lambda: data.cached(sla.breach_list, period, as_of, limit=None,
                                                                  **filters).rows
    widgets.csv_download(rows, f"sla-breaches-{period.label}.csv", label=f"Download all {found.total:,} as CSV",
                         key=f"{KEY}_csv")


def policy() -> None:
    widgets.show_flash_and_conflict(KEY, sla_policy.LABELS)
    latest = data.cached(edits.latest, sla_policy.KIND, edits.POLICY_SUBJECT)
    opened = widgets.opened_version(KEY, latest)
    if note := sla_policy.read_only_note(scope.actor):
        st.info(widgets.plain(note))  # names the person
    st.caption(sla_policy.editing_note(opened, latest))
    # values start from session state: a cleared number is then None ("not set"); given as `value=`, Streamlit
    # would hand a cleared field its starting value back
    # reseeded only when the version the editor opened changes (a save, or starting again): a version someone
    # else saved meanwhile never replaces what was typed; the save then shows the conflict
    widgets.seed_widgets(FORM, sla_policy.form_values(latest, as_of), basis=(opened, as_of))
    with st.form(f"{KEY}_form"):
        values = {f.name: col.number_input(f.label, value=None, key=FORM + f.name, step=f.step,
                                           format=f.number_format, help=f.help, placeholder="not set")
                  for col, f in zip(st.columns(len(sla_policy.FORM_FIELDS)), sla_policy.FORM_FIELDS)}
        c = st.columns([1, 3])
        values["effective"] = c[0].date_input(
            "Effective from (00:00 UTC)", key=FORM + "effective",
            help="Not before the latest saved version's effective date (that would change how past leads were counted).")
        values["reason"] = c[1].text_input("Why (kept in the history)", key=FORM + "reason",
                                           placeholder="e.g. agreed in the pipeline review of 3 Aug")
        submitted = st.form_submit_button("Save new version", type="primary")
    if submitted:
        body, effective_from, reason = sla_policy.submission(values, keep=latest)
        saved = widgets.submit_edit(KEY, sla_policy.KIND, edits.POLICY_SUBJECT, body, actor=scope.actor,
                                    reason=reason, as_of=as_of, effective_from=effective_from)
        widgets.after_submit(KEY, saved, widget_prefix=FORM)
    working_hours(latest, opened)
    st.markdown("**History**")
    widgets.version_history(KEY, data.cached(edits.history, sla_policy.KIND, edits.POLICY_SUBJECT), sla_policy.LABELS)


def working_hours(latest, opened: int) -> None:
    """The working-hours editor: one calendar at a time, saved as a new version of the whole policy."""
    st.markdown(f"**{sla_policy.WORKING_HOURS_LABEL}**")
    widgets.say("caption", "Latest version: {}", sla_policy.working_hours_sentence(
        latest.body if latest is not None else sla_policy.SlaPolicy()))
    st.caption("A lead follows its owner's team's calendar, else its region's, else the one for every other lead; "
               "a lead no calendar covers stays in calendar hours. Days, hours and holidays are local to the time "
               "zone. Saving adds, changes or removes one calendar as a new version of the whole policy.")
    choices = sla_policy.calendar_choices(latest.body if latest is not None else None)
    choice = st.selectbox("Calendar", list(choices), key=WH_FORM + "choice", format_func=choices.get)
    widgets.seed_widgets(WH_FORM, sla_policy.calendar_form_values(latest, choice, as_of), basis=(opened, as_of, choice))
    with st.form(f"{KEY}_wh_form"):
        c = st.columns(3)
        values: dict[str, object] = {
            "applies_to": c[0].selectbox("Applies to", list(sla_policy.APPLIES_TO), key=WH_FORM + "applies_to",
                                         format_func=sla_policy.APPLIES_TO.get),
            "name": c[1].text_input("Team or region", key=WH_FORM + "name",
                                    help="As in the reps' team or region (e.g. sdr-emea, EMEA); empty for every other lead."),
            "time_zone": c[2].selectbox("Time zone", sla_policy.TIME_ZONES, key=WH_FORM + "time_zone"),
        }
        c = st.columns([3, 1, 1])
        values["weekdays"] = c[0].multiselect("Working days", list(sla_policy.WEEKDAY_NAMES), key=WH_FORM + "weekdays",
                                              format_func=sla_policy.WEEKDAY_NAMES.get)
        values["opens"] = c[1].time_input("Opens (local)", key=WH_FORM + "opens", step=900)
        values["closes"] = c[2].time_input("Closes (local)", key=WH_FORM + "closes", step=900)
        values["holidays"] = st.text_area("Holidays (one date a line, YYYY-MM-DD, local)", key=WH_FORM + "holidays",
                                          height=90)
        c = st.columns([1, 2, 1])
        # labels differ from the number editor's above, so each field is found by its name
        values["effective"] = c[0].date_input("Working hours effective from (00:00 UTC)", key=WH_FORM + "effective")
        values["reason"] = c[1].text_input("Why these working hours (kept in the history)", key=WH_FORM + "reason")
        values["remove"] = c[2].checkbox("Remove this calendar", key=WH_FORM + "remove",
                                         disabled=choice == sla_policy.NEW_CALENDAR)
        submitted = st.form_submit_button("Save working hours", type="primary")
    if submitted:
        sent = sla_policy.calendar_submission(latest, choice, values)
        for error in sent.errors:
            widgets.say("error", "{}", error)
        if sent.body is not None:
            saved = widgets.submit_edit(KEY, sla_policy.KIND, edits.POLICY_SUBJECT, sent.body, actor=scope.actor,
                                        reason=sent.reason, as_of=as_of, effective_from=sent.effective_from)
            widgets.after_submit(KEY, saved, widget_prefix=WH_FORM)


# Only the open tab runs (tabs rerun the page when switched).
# The open tab and the view's choices live in the URL (?sla_tab=Breach+list&sla_f_team=…): a link is the view.
SECTIONS = {"Sales by team and rep": by_team_and_rep, "Routing and response": routing_and_response,
            "Weekly trend": weekly_trend, "Marketing's side": marketing_side,
            "Breach list": breach_list, "SLA policy": policy}
for tab, draw in zip(st.tabs(list(SECTIONS), key=f"{KEY}_tab", on_change="rerun", bind="query-params"), SECTIONS.values()):
    if tab.open:
        with tab:
            draw()
