"""App tier for the SLA page (pages/sla.py) under AppTest, on copies of the tiny world (2026-Q3, as of
2026-08-15 12:00; its figures are derived by hand in tests/test_metrics.py and recalled beside each
assertion here)."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import duckdb
from streamlit.testing.v1 import AppTest

from apptest_support import PERSONAS, card, card_delta, cards, click, open_page, set_bound
from conftest import LEADERSHIP
from core import edits
from core.metrics import sla
from core.models import SlaPolicy
from core.semantic.measures import MEASURES
from core.store import open_store

PAGE = "pages/sla.py"


def open_sla(tab: str | None = None, persona: str | None = None) -> AppTest:
    return open_page(PAGE, persona=persona, tab=tab)


def show_tab(at: AppTest, tab: str) -> AppTest:
    set_bound(at, "sla_tab", tab)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def save_policy(at: AppTest, *, hours: float | None = None, effective: date | None = None, reason: str = "test") -> AppTest:
    if hours is not None:
        at.number_input(key="sla_form_response_hours").set_value(hours)
    if effective is not None:
        at.date_input(key="sla_form_effective").set_value(effective)
    at.text_input(key="sla_form_reason").set_value(reason)
    click(at, "Save new version")
    assert not at.exception, [e.value for e in at.exception]
    return at


def versions(path: Path) -> list[int]:
    con = duckdb.connect(str(path))  # same configuration as the app's connection in this process
    try:
        return [r[0] for r in con.execute(
            "SELECT version FROM edit_versions WHERE kind = 'sla_policy' ORDER BY version").fetchall()]
    finally:
        con.close()


def column_labels(frame) -> dict[str, str]:
    """A drawn table's column → header label."""
    return {name: spec.get("label") for name, spec in json.loads(frame.proto.columns).items()}


def test_headline_figures_of_both_sides(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla()
    # sales: met L1, L6; breached L2, L3; pending L4 → 2 / 4; speed 2, 24, 27 h → median 24, p90 26.4
    assert (card(at, "compliance"), card_delta(at, "compliance")) == ("50.0%", "2 of 4 met")
    assert "5 quality leads measured: 2 met, 2 breached, 1 pending (window still open at as-of)." in [
        c.value for c in at.caption]
    assert (card(at, "median_hours"), card_delta(at, "median_hours")) == ("24.0 h", "p90 26.4 h")
    # L3 never touched; under-worked L2, L3, L6; attempts over closed windows (L1 3, L2 1, L3 0, L6 1)
    # = 5 / 4 = 1.25, shown to one decimal (round half to even) as 1.2
    assert (card(at, "never_touched"), card(at, "under_worked")) == ("1", "3")
    assert card_delta(at, "under_worked") == "avg 1.2 attempts per lead"
    # marketing: 5 quality leads vs 3 × 10 committed = 16.7%; accepted L1, L2, L6 = 3 / 5
    assert (card(at, "quality_leads"), card(at, "delivery"), card(at, "acceptance_rate")) == ("5", "16.7%", "60.0%")
    assert (card_delta(at, "quality_leads"), card_delta(at, "acceptance_rate")) == ("committed 30", "3 accepted")
    # 45.5 of Q3's 92 days elapsed at 08-15 12:00 = 49%
    assert card_delta(at, "delivery") == "49% of the period elapsed"
    # L5's rejection: not a quality lead
    assert (card(at, "rejected"), card_delta(at, "rejected")) == ("0", "of 5 quality leads")
    assert any(w.value.startswith("1 quality lead never touched in this period") for w in at.warning)
    assert "Policy in force at as-of** (version 2): first touch within 24.0 h, 3 attempts within 7.0 d; 10 quality leads a month" \
        in "\n".join(x.value for x in at.markdown)


def test_quality_leads_card_is_the_overviews(tiny_db_copy, use_db):
    # the same measure for the same period reads the same on both pages
    use_db(tiny_db_copy)
    overview = open_page("pages/overview.py")
    at = open_sla()
    for name in ("quality_leads", "delivery", "compliance", "median_hours"):
        assert card(at, name) == card(overview, name), name


def test_by_team_and_rep_tables(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla()
    by_team, by_rep = at.dataframe[:2]
    # sdr-emea (Sam Reed): L1 met, L2 breached; sdr-na (Sue Park): L3 breached, L4 pending; L6 has no owner
    assert by_rep.value[["team", "rep", "quality_leads", "met", "breached", "pending"]].values.tolist() == [
        ["sdr-emea", "Sam Reed", 2, 1, 1, 0], ["sdr-na", "Sue Park", 2, 0, 1, 1], ["unassigned", "unassigned", 1, 1, 0, 0]]
    assert by_team.value["compliance"].tolist() == [0.5, 0.0, 1.0]
    # Sam Reed: 24 and 27 h → median 25.5
    assert by_rep.value["median_hours_to_first_touch"].iloc[0] == 25.5
    # sales' tables count quality leads by clock start: that measure's label, never the cohort's
    labels = column_labels(by_team)
    assert (labels["quality_leads"], labels["met"], labels["compliance"]) == (
        MEASURES["sla_quality_leads"].label, MEASURES["sla_met"].label, MEASURES["compliance"].label)


def test_weekly_and_marketing_tabs(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("Weekly trend")
    weekly = at.dataframe[0].value
    # W27 (06-29): L1 met, L2 breached, L3 breached; W28: L6 met; W33 (08-10): L4 pending
    assert weekly["week"].tolist() == [f"2026-W{w}" for w in range(27, 34)]
    assert weekly["quality_leads"].tolist() == [3, 1, 0, 0, 0, 0, 1]
    show_tab(at, "Marketing's side")
    months = at.dataframe[0].value
    # July L1 L2 L3 L6; August L4 (L8 is after as-of); September nothing yet; 10 a month committed
    assert months[["month", "quality_leads", "committed"]].values.tolist() == [
        ["2026-07", 4, 10], ["2026-08", 1, 10], ["2026-09", 0, 10]]
    acceptance = at.dataframe[1]
    # by campaign: Brand search L2, L3 (L2 accepted); July webinar L1, L4 (L1 converted); no campaign L6 (accepted)
    assert acceptance.value[["segment", "quality_leads", "accepted"]].values.tolist() == [
        ["Brand search", 2, 1], ["July webinar", 2, 1], ["(no campaign)", 1, 1]]
    # marketing's tables count the funnel's cohort (quality leads by creation)
    assert column_labels(acceptance)["quality_leads"] == MEASURES["quality_leads"].label
    assert column_labels(acceptance)["segment"] == "Campaign"
    assert any("No quality lead of this period was rejected" in c.value for c in at.caption)


def test_breach_list_filters_and_download(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("Breach list")
    rows = at.dataframe[0].value
    # L3 never touched (late 08-15 12:00 − 07-04 00:00 = 1,020 h), L2 3 h late, L6 under-worked only
    assert rows["lead_id"].tolist() == ["L3", "L2", "L6"]
    assert rows["hours_late"].tolist()[:2] == [1020.0, 3.0]
    assert any(c.value.startswith("3 leads match; all shown.") for c in at.caption)
    assert at.get("download_button")[0].label == "Download all 3 as CSV"
    at.selectbox(key="sla_f_team").set_value("sdr-na")
    at.run()
    assert at.dataframe[0].value["lead_id"].tolist() == ["L3"]
    at.selectbox(key="sla_f_team").set_value(sla.ALL)
    at.selectbox(key="sla_f_issue").set_value("under_worked")
    at.selectbox(key="sla_f_rep").set_value("")  # unassigned
    at.run()
    assert at.dataframe[0].value["lead_id"].tolist() == ["L6"]


def test_policy_form_saves_a_new_version_and_figures_follow(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("SLA policy")
    # 12 h from 07-01: L1 (24 h) becomes breached, L6 (2 h) stays met → 1 met, 3 breached = 25.0%
    save_policy(at, hours=12.0, effective=date(2026, 7, 1), reason="faster follow-up")
    assert [s.value for s in at.success] == ["Saved version 3 (Lee Ader)."]
    assert card(at, "compliance") == "25.0%"
    history = at.dataframe[0].value
    assert history["version"].tolist() == [3, 2, 1]
    assert history["changes"].iloc[0] == "Response window: 24.0 → 12.0"
    assert history["reason"].iloc[0] == "faster follow-up"
    assert versions(tiny_db_copy) == [1, 2, 3]
    # the form reloads from the saved version
    assert at.number_input(key="sla_form_response_hours").value == 12.0


def test_zero_hours_is_refused_with_a_clear_message_and_nothing_saved(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("SLA policy")
    save_policy(at, hours=0.0, reason="instant")
    assert [e.value for e in at.error] == ["response hours: Input should be greater than 0"]
    assert versions(tiny_db_copy) == [1, 2]
    assert at.number_input(key="sla_form_response_hours").value == 0.0  # what was typed is kept


def test_effective_date_before_the_latest_version_is_refused(tiny_db_copy, use_db):
    con = open_store(tiny_db_copy)
    edits.save(con, "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(monthly_quality_commitment=12), actor=LEADERSHIP,
               reason="from August", expected_version=2, effective_from=datetime(2026, 8, 1))
    con.close()
    use_db(tiny_db_copy)
    at = open_sla("SLA policy")
    save_policy(at, hours=20.0, effective=date(2026, 7, 15), reason="backdate")
    assert any("cannot take effect before a version already saved" in e.value for e in at.error)
    assert versions(tiny_db_copy) == [1, 2, 3]
    # the August change is inside Q3 and called out
    assert any("The policy changed on 01 Aug 2026" in i.value for i in at.info)


def test_stale_save_shows_the_conflict_view(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("SLA policy")  # the editor opened version 2
    other = open_store(tiny_db_copy)  # another person saves version 3 meanwhile
    edits.save(other, "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(response_hours=8, monthly_quality_commitment=10),
               actor=LEADERSHIP, reason="their change", expected_version=2, effective_from=datetime(2026, 8, 15))
    save_policy(at, hours=30.0, reason="my change")
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("Not saved: Lee Ader saved version 3 at")
    conflict = at.dataframe[0].value
    assert conflict.values.tolist() == [["Response window", "8.0", "30.0"]]
    assert any(c.value == "Their reason: their change" for c in at.caption)
    assert versions(tiny_db_copy) == [1, 2, 3]
    # starting again loads their version into the form
    click(at, "Start again from version 3")
    assert at.number_input(key="sla_form_response_hours").value == 8.0 and not at.error


def test_viewer_is_refused(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("SLA policy", persona=PERSONAS["viewer"])
    assert any("only marketing editors, sales editors or admins can change it" in i.value for i in at.info)
    save_policy(at, hours=12.0, reason="viewer try")
    assert [e.value for e in at.error] == ["Vic Board (viewer) may not change the sla policy."]
    assert versions(tiny_db_copy) == [1, 2]


def test_without_activities_says_why_and_shows_marketing(tiny_db_copy, use_db):
    con = open_store(tiny_db_copy)
    con.execute("DELETE FROM activities")
    con.close()
    use_db(tiny_db_copy)
    at = open_sla()
    assert [w.value for w in at.warning] == [
        "The response SLA cannot be measured: No activities are loaded, so the response SLA (speed to lead, "
        + "attempts) cannot be measured."]
    assert MEASURES["compliance"].card_label not in cards(at)  # not shown as 0
    assert (card(at, "quality_leads"), card(at, "delivery"), card(at, "acceptance_rate")) == ("5", "16.7%", "60.0%")
    assert any(i.value.startswith("By team and by rep need the response SLA") for i in at.info)
    show_tab(at, "Breach list")
    assert any(i.value.startswith("The breach list needs the response SLA") for i in at.info)
    assert not at.error


def test_a_long_breach_list_is_built_for_download_only_when_asked(tmp_path, use_db, monkeypatch):
    # 50,001 quality leads (score 80) assigned to nobody and never touched in July → all breached
    path = tmp_path / "many.duckdb"
    con = open_store(path, create=True)
    con.execute("""INSERT INTO leads (lead_id, created_at, source, score, status)
                   SELECT 'M' || i, TIMESTAMP '2026-07-01' + i * INTERVAL 10 SECOND, 'webinar', 80, 'open'
                   FROM range(50001) t(i)""")
    con.execute("INSERT INTO activities (activity_id, lead_id, deal_id, rep_id, occurred_at, kind) VALUES ('x', NULL, NULL, 'R1', '2026-07-01', 'call')")
    con.execute("INSERT INTO meta VALUES ('as_of', '2026-08-15T12:00:00')")
    con.close()
    use_db(path)
    built = []
    monkeypatch.setattr("ui.widgets.safe_csv", lambda frame: built.append(len(frame)) or b"")
    at = open_sla("Breach list")
    assert any(c.value.startswith("50,001 leads match; showing the first 200 by hours late") for c in at.caption)
    assert len(at.dataframe[0].value) == 200
    # the button is there, but the whole list is only built when it is clicked (in the browser)
    assert [d.label for d in at.get("download_button")] == ["Download all 50,001 as CSV"]
    assert built == []


def test_a_cleared_commitment_saves_no_commitment_and_a_cleared_window_is_refused(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("SLA policy")
    at.number_input(key="sla_form_monthly_quality_commitment").set_value(None)
    save_policy(at, effective=date(2026, 8, 10), reason="no commitment this quarter")
    con = open_store(tiny_db_copy)
    try:
        saved = edits.latest(con, "sla_policy", edits.POLICY_SUBJECT)
    finally:
        con.close()
    assert saved is not None and saved.version == 3
    assert saved.body.monthly_quality_commitment is None  # "not set", never 0
    at.number_input(key="sla_form_response_hours").set_value(None)
    save_policy(at, effective=date(2026, 8, 11), reason="cleared by mistake")
    assert [e.value for e in at.error] == ["response hours: Input should be a valid number"]
    assert versions(tiny_db_copy) == [1, 2, 3]


# --- issue 15: routing apart from response, the response distribution, the working-hours editor -----------


def test_routing_and_response_tab(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("Routing and response")
    # routing (created → assigned by as-of): L3 0 h, L1 1 h, L4 6 h → median 1.0, p90 1 + 0.8 × 5 = 5.0
    assert (card(at, "median_routing_hours"), card_delta(at, "median_routing_hours")) == ("1.0 h", "p90 5.0 h")
    # touched: L6 2 h, L1 24 h (inclusive), L2 27 h → within 5 min 0 of 3, within 1 h 0, within 24 h 2 of 3
    assert (card(at, "within_5m_share"), card_delta(at, "within_5m_share")) == ("0.0%", "within 1 h: 0.0%")
    assert (card(at, "within_24h_share"), card_delta(at, "within_24h_share")) == (
        "66.7%", "of 3 touched quality leads")
    by_source = at.dataframe[0].value.set_index("source")
    # paid_search: L3 routed in 0 h, never touched; L2 touched in 27 h. partner: L6 2 h. webinar: L1 (1 h, 24 h), L4 (6 h)
    assert by_source.index.tolist() == ["paid_search", "partner", "webinar"]
    assert by_source["routed_leads"].tolist() == [1, 0, 2]
    assert by_source.loc["webinar", "median_routing_hours"] == 3.5
    assert by_source["within_24h_share"].tolist() == [0.0, 1.0, 1.0]
    assert column_labels(at.dataframe[0])["median_routing_hours"] == MEASURES["median_routing_hours"].label
    at.radio(key="sla_speed_by").set_value("rep")
    at.run()
    by_rep = at.dataframe[0].value
    assert by_rep[["rep", "touched_leads", "routed_leads"]].values.tolist() == [
        ["Sam Reed", 2, 1], ["Sue Park", 0, 2], ["unassigned", 1, 0]]


def _calendar(at: AppTest, *, applies_to: str = "team", name: str = "sdr-emea", zone: str = "Europe/London",
              opens=None, closes=None, holidays: str = "", effective: date = date(2026, 7, 1),
              reason: str = "office hours") -> AppTest:
    from datetime import time

    at.selectbox(key="sla_wh_applies_to").set_value(applies_to)
    at.text_input(key="sla_wh_name").set_value(name)
    at.selectbox(key="sla_wh_time_zone").set_value(zone)
    at.time_input(key="sla_wh_opens").set_value(opens or time(9))
    at.time_input(key="sla_wh_closes").set_value(closes or time(17))
    at.text_area(key="sla_wh_holidays").set_value(holidays)
    at.date_input(key="sla_wh_effective").set_value(effective)
    at.text_input(key="sla_wh_reason").set_value(reason)
    click(at, "Save working hours")
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_working_hours_editor_saves_a_calendar_and_the_figures_follow(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("SLA policy")
    assert any(c.value == "Latest version: Calendar hours: the response clock runs day and night, weekends included."
               for c in at.caption)
    # team sdr-emea (Sam Reed: L1, L2) in London (BST = UTC+1), Mon–Fri 09–17, Friday 07-03 a holiday:
    # L1 Wed 11:00 → Thu 11:00 BST = 6 + 2 = 8 working hours (was 24); L2 Thu 10:00 → Fri 13:00 BST, the
    # holiday: 7 working hours (was 27: breached) → met L1, L2, L6; breached L3 (sdr-na: calendar hours) = 75%
    _calendar(at, holidays="2026-07-03")
    assert [s.value for s in at.success] == ["Saved version 3 (Lee Ader)."]
    assert card(at, "compliance") == "75.0%"
    con = open_store(tiny_db_copy)
    try:
        saved = edits.latest(con, "sla_policy", edits.POLICY_SUBJECT).body
    finally:
        con.close()
    assert (saved.response_hours, saved.monthly_quality_commitment) == (24, 10)  # the rest of the policy kept
    assert [(c.applies_to, c.name, c.time_zone, [d.isoformat() for d in c.holidays]) for c in saved.working_hours] == [
        ("team", "sdr-emea", "Europe/London", ["2026-07-03"])]
    rule = ("Working hours: team sdr-emea Mon–Fri 09:00–17:00 Europe/London (1 holiday). Leads no calendar covers "
            "are measured in calendar hours. A clock that starts outside working hours starts at the next opening.")
    assert rule in [c.value for c in at.caption]
    # the number editor's save keeps the calendar it does not show
    save_policy(at, hours=12.0, effective=date(2026, 7, 2), reason="faster")
    con = open_store(tiny_db_copy)
    try:
        latest = edits.latest(con, "sla_policy", edits.POLICY_SUBJECT)
    finally:
        con.close()
    assert latest.version == 4 and latest.body.response_hours == 12.0
    assert [c.name for c in latest.body.working_hours] == ["sdr-emea"]


def test_working_hours_editor_refuses_bad_input_and_saves_nothing(tiny_db_copy, use_db):
    from datetime import time

    use_db(tiny_db_copy)
    at = open_sla("SLA policy")
    _calendar(at, opens=time(17), closes=time(9))
    assert [e.value for e in at.error] == ["Closing time 09:00 must be after opening time 17:00."]
    _calendar(at, holidays="2026-07-03\n2026-13-01")
    assert [e.value for e in at.error] == ["Holiday '2026-13-01' is not a date: write one per line as YYYY-MM-DD."]
    _calendar(at, name="")
    assert [e.value for e in at.error] == ["Name the team this calendar applies to."]
    assert versions(tiny_db_copy) == [1, 2]


def test_a_viewer_cannot_save_working_hours(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("SLA policy", persona=PERSONAS["viewer"])
    _calendar(at)
    assert [e.value for e in at.error] == ["Vic Board (viewer) may not change the sla policy."]
    assert versions(tiny_db_copy) == [1, 2]


def test_without_assignment_times_routing_delay_says_why(tiny_db_copy, use_db):
    con = open_store(tiny_db_copy)
    con.execute("UPDATE leads SET assigned_at = NULL")
    con.close()
    use_db(tiny_db_copy)
    at = open_sla("Routing and response")
    assert [i.value.replace("\\", "") for i in at.info] == [sla.NO_ASSIGNMENT_TIMES]  # shown as plain text
    assert card(at, "median_routing_hours") != "0.0 h"  # unknown, never a zero
    assert at.dataframe[0].value["routed_leads"].tolist() == [0, 0, 0]
    assert card(at, "within_24h_share") != "—"  # the response side needs no assignment times


def test_routing_and_response_columns_are_labelled_by_their_measures(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("Routing and response")
    labels = column_labels(at.dataframe[0])
    assert [labels[c] for c in sla.SPEED_COLUMNS] == [MEASURES[sla.SALES_MEASURES[c]].label for c in sla.SPEED_COLUMNS]
    assert (labels["median_hours_to_first_touch"], labels["within_5m_share"]) == (
        "Median speed to lead", "Touched within 5 min")


def test_the_policy_history_never_shows_a_placeholder_date(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_sla("SLA policy")
    history = next(d.value for d in at.dataframe if "effective from" in d.value.columns)
    # the first version applies to all earlier records: said in words, never "2000-01-01"
    assert history["effective from"].tolist()[-1] == "all earlier records"
    assert not any("2000" in str(v) for v in history["effective from"])
