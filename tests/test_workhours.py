"""Working hours in the response SLA (issue 15, core/workhours.py through core/metrics/sla.py) on hand-made
leads whose working hours a person can count on a calendar.

Period 2026-Q4, as of 2026-12-01 12:00 UTC (a Tuesday). Policy version 2 (from the beginning): first touch
within 8 h, 3 attempts within 2 days, and two calendars:
  team sdr-emea:  Mon–Fri 09:00–17:00 Europe/Berlin (CEST = UTC+2 until Sun 10-25, then CET = UTC+1),
                  holiday Mon 2026-10-12;
  region NA:      Mon–Fri 09:00–17:00 America/New_York (EDT = UTC−4 until Sun 11-01, then EST = UTC−5),
                  holiday Thu 2026-11-26.
A working day is 8 h, so the attempt window is 2 × 8 = 16 working hours. Reps: R1 (sdr-emea, EMEA),
R2 (sdr-na, NA), R3 (sdr-emea, NA: its team's calendar wins over its region's).

lead  owner  clock start (UTC)         first touch (UTC)   working hours                       calendar hours
A     R1     Fri 10-02 21:00 (23 CEST) Mon 10-05 07:30     Friday evening: from Mon 09:00, 0.5   58.5
B     R1     Sat 10-03 10:00           Mon 10-05 11:00     weekend: Mon 09:00–13:00 CEST, 4      49
C     R1     Sun 10-04 12:00           Mon 10-05 07:00     at the exact opening (09:00 CEST), 0   19
D     R1     Fri 10-09 14:00 (16 CEST) Tue 10-13 08:00     Fri 16–17 + Mon holiday + Tue 9–10, 2  90
E     R1     Fri 10-23 14:00 (16 CEST) Mon 10-26 09:00     across the DST change: Fri 16–17 CEST
                                                           + Mon 9–10 CET, 2                    67
F     R2     Mon 10-05 12:00 (08 EDT)  Mon 10-05 13:30     a second zone: from 09:00 EDT, 0.5    1.5
G     R2     Mon 10-12 14:00 (assigned; created Fri 10-09 20:00 = 16 EDT)
                                       Mon 10-12 14:05     5 minutes exactly; routing Fri 16–17
                                                           + Mon 9–10 EDT = 2 (calendar 66)
K     R3     Mon 10-05 16:00 (18 CEST, assigned at creation)
                                       Tue 10-06 08:00     team calendar (Berlin): Tue 9–10, 1   16
                                                           (New York's would give Mon 12–17, 5)
U     —      Sat 10-03 10:00           Sat 10-03 12:00     no calendar covers it: calendar, 2    2
H     R2     Wed 11-25 20:00 (15 EST)  never               deadline: Wed 15–17 (2) + Thu holiday + Fri 9–15 (6)
                                                           → Fri 11-27 15:00 EST = 20:00 UTC; late at as-of
                                                           by Fri 15–17 + Mon 11-30 9–17 = 10 h (Tue 07:00 EST)
"""
from __future__ import annotations

from datetime import date, datetime, time

import pytest
from pydantic import ValidationError

from conftest import LEADERSHIP
from core import edits, sla_policy, workhours
from core.db import transaction
from core.metrics import sla
from core.models import SlaPolicy, WorkingHours
from core.periods import parse_period

Q4 = parse_period("2026-Q4")
AS_OF = datetime(2026, 12, 1, 12, 0)
BERLIN = WorkingHours(applies_to="team", name="sdr-emea", time_zone="Europe/Berlin", holidays=[date(2026, 10, 12)])
NEW_YORK = WorkingHours(applies_to="region", name="NA", time_zone="America/New_York", holidays=[date(2026, 11, 26)])
POLICY = SlaPolicy(response_hours=8, min_attempts=3, attempt_days=2, working_hours=[BERLIN, NEW_YORK])

WORLD = """
INSERT INTO reps VALUES ('R1', 'Ada', 'sdr-emea', 'EMEA'), ('R2', 'Bo', 'sdr-na', 'NA'), ('R3', 'Cy', 'sdr-emea', 'NA');
INSERT INTO leads (lead_id, created_at, source, score, owner_id, assigned_at, status) VALUES
  ('A', '2026-10-02 21:00', 'webinar', 80, 'R1', NULL, 'open'),
  ('B', '2026-10-03 10:00', 'webinar', 80, 'R1', NULL, 'open'),
  ('C', '2026-10-04 12:00', 'webinar', 80, 'R1', NULL, 'open'),
  ('D', '2026-10-09 14:00', 'partner', 80, 'R1', NULL, 'open'),
  ('E', '2026-10-23 14:00', 'partner', 80, 'R1', NULL, 'open'),
  ('F', '2026-10-05 12:00', 'paid_search', 80, 'R2', NULL, 'open'),
  ('G', '2026-10-09 20:00', 'paid_search', 80, 'R2', '2026-10-12 14:00', 'open'),
  ('K', '2026-10-05 16:00', 'paid_search', 80, 'R3', '2026-10-05 16:00', 'open'),
  ('U', '2026-10-03 10:00', 'outbound', 80, NULL, NULL, 'open'),
  ('H', '2026-11-25 20:00', 'outbound', 80, 'R2', NULL, 'open');
INSERT INTO activities (activity_id, lead_id, deal_id, rep_id, occurred_at, kind) VALUES
  ('a1', 'A', NULL, 'R1', '2026-10-05 07:30', 'call'),
  ('b1', 'B', NULL, 'R1', '2026-10-05 11:00', 'call'),
  ('c1', 'C', NULL, 'R1', '2026-10-05 07:00', 'call'), ('c2', 'C', NULL, 'R1', '2026-10-06 15:30', 'email'),
  ('c3', 'C', NULL, 'R1', '2026-10-07 07:00', 'call'), ('c4', 'C', NULL, 'R1', '2026-10-07 07:01', 'email'),
  ('d1', 'D', NULL, 'R1', '2026-10-13 08:00', 'call'),
  ('e1', 'E', NULL, 'R1', '2026-10-26 09:00', 'call'),
  ('f1', 'F', NULL, 'R2', '2026-10-05 13:30', 'call'),
  ('g1', 'G', NULL, 'R2', '2026-10-12 14:05', 'call'),
  ('k1', 'K', NULL, 'R3', '2026-10-06 08:00', 'call'),
  ('u1', 'U', NULL, 'R1', '2026-10-03 12:00', 'call');
"""
WORKING = {"A": 0.5, "B": 4.0, "C": 0.0, "D": 2.0, "E": 2.0, "F": 0.5, "G": 5 / 60, "K": 1.0, "U": 2.0}
CALENDAR = {"A": 58.5, "B": 49.0, "C": 19.0, "D": 90.0, "E": 67.0, "F": 1.5, "G": 5 / 60, "K": 16.0, "U": 2.0}


def _world(con, policy: SlaPolicy):
    with transaction(con) as cur:
        cur.execute(WORLD)
    edits.save(con, "sla_policy", edits.POLICY_SUBJECT, policy, actor=LEADERSHIP, reason="test",
               expected_version=1, effective_from=edits.BEGINNING, now=AS_OF)
    return con


@pytest.fixture
def world(empty):
    return _world(empty, POLICY)


def _rows(con):
    return sla.sla_lead_rows(con, Q4, AS_OF).set_index("lead_id")


def test_working_hours_to_first_touch(world):
    rows = _rows(world)
    assert {k: rows.loc[k, "hours_to_first_touch"] for k in WORKING} == pytest.approx(WORKING, abs=1e-9)
    # the exact opening and 5 minutes are exact to the second (the distribution compares seconds)
    assert (rows.loc["C", "seconds_to_first_touch"], rows.loc["G", "seconds_to_first_touch"]) == (0.0, 300.0)
    # every one met under 8 working hours, though A (58.5), B (73), D (90), E (67) and K... took more calendar time
    assert set(rows.loc[list(WORKING), "sla_status"]) == {"met"}


def test_the_default_policy_counts_calendar_hours(empty):
    rows = _rows(_world(empty, SlaPolicy(response_hours=8, min_attempts=3, attempt_days=2)))
    assert {k: rows.loc[k, "hours_to_first_touch"] for k in CALENDAR} == pytest.approx(CALENDAR, abs=1e-9)
    # over 8 calendar hours: A, B, C, D, E, K breached, and H: 8 h after Wed 20:00 UTC, late by as-of 128 h
    assert sorted(rows.index[rows["sla_status"] == "breached"]) == ["A", "B", "C", "D", "E", "H", "K"]
    assert (rows.loc["H", "deadline"], rows.loc["H", "hours_late"]) == (datetime(2026, 11, 26, 4, 0), 128.0)


def test_deadlines_and_lateness_in_working_time(world):
    rows = _rows(world)
    # H: 8 working hours reached Fri 11-27 15:00 EST (the holiday skipped); 10 working hours late at as-of
    assert rows.loc["H", "deadline"] == datetime(2026, 11, 27, 20, 0)
    assert (rows.loc["H", "sla_status"], rows.loc["H", "hours_late"]) == ("breached", pytest.approx(10.0))
    # A's clock runs from Mon 09:00 CEST; its 8th working hour ends at Monday's closing, so the deadline is the
    # next opening (Tue 09:00 CEST = 07:00 UTC): nothing happens outside hours, a touch on Monday night is met
    assert rows.loc["A", "deadline"] == datetime(2026, 10, 6, 7, 0)
    # U has no calendar: calendar hours, 8 h after its clock
    assert rows.loc["U", "deadline"] == datetime(2026, 10, 3, 18, 0)


def test_attempt_window_in_working_days(world):
    rows = _rows(world)
    # C's 2 working days: Mon and Tue from 09:00 CEST, ending at Tuesday's closing → Wed 09:00 CEST (07:00 UTC),
    # closed at both ends: c1 Mon, c2 Tue 17:30 CEST (after hours, before the end), c3 at 07:00 count, c4 does not
    assert rows.loc["C", "attempts_until"] == datetime(2026, 10, 7, 7, 0)
    assert rows.loc["C", "attempts"] == 3 and not rows.loc["C", "under_worked"]


def test_routing_apart_from_response_in_working_hours(world):
    s = sla.response_sla(world, Q4, AS_OF)
    # routing: K 0 (assigned at creation), G 2 working hours (calendar: 66) → median 1.0, p90 0 + 0.9 × 2 = 1.8
    assert (s.routed_leads, s.median_routing_hours, s.p90_routing_hours) == (2, pytest.approx(1.0), pytest.approx(1.8))
    # response over 9 touched: 0, 5/60, 0.5, 0.5, 1, 2, 2, 2, 4 → median 1; p90 at rank 7.2 → 2 + 0.2 × 2 = 2.4
    assert s.touched_leads == 9
    assert (s.median_hours_to_first_touch, s.p90_hours_to_first_touch) == (pytest.approx(1.0), pytest.approx(2.4))
    # within 5 min: C (0), G (exactly 300 s) = 2/9; within 1 h: + A, F (0.5), K (1.0 exactly) = 5/9; 24 h: all
    assert (s.within_5m_share, s.within_1h_share, s.within_24h_share) == (
        pytest.approx(2 / 9), pytest.approx(5 / 9), 1.0)
    assert (s.met, s.breached, s.pending) == (9, 1, 0)


def test_each_lead_follows_the_policy_in_force_at_its_clock_start(world):
    # from 10-20 calendar hours again: E (clock Fri 10-23) is measured in calendar time, 67 h → breached
    edits.save(world, "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(response_hours=8, min_attempts=3, attempt_days=2),
               actor=LEADERSHIP, reason="back to calendar hours", expected_version=2,
               effective_from=datetime(2026, 10, 20), now=AS_OF)
    rows = _rows(world)
    assert (rows.loc["E", "hours_to_first_touch"], rows.loc["E", "sla_status"]) == (pytest.approx(67.0), "breached")
    assert rows.loc["D", "hours_to_first_touch"] == pytest.approx(2.0)  # clock before 10-20: working hours


def test_intervals_follow_the_zone_on_dst_days():
    every_day = dict(weekdays=["sun"], opens=time(0), closes=time(12), time_zone="Europe/Berlin")
    # 2026-10-25: clocks go back at 03:00, so local 00:00–12:00 holds 13 real hours (22:00 UTC the day before)
    assert workhours.intervals(WorkingHours(**every_day), date(2026, 10, 25), date(2026, 10, 25)) == [
        (datetime(2026, 10, 24, 22, 0), datetime(2026, 10, 25, 11, 0))]
    # 2026-03-29: clocks go forward at 02:00: 11 real hours
    assert workhours.intervals(WorkingHours(**every_day), date(2026, 3, 29), date(2026, 3, 29)) == [
        (datetime(2026, 3, 28, 23, 0), datetime(2026, 3, 29, 10, 0))]
    # a weekend day and a holiday have none
    assert workhours.intervals(BERLIN, date(2026, 10, 10), date(2026, 10, 12)) == []


def test_working_hours_are_validated():
    with pytest.raises(ValidationError, match="must be after opening time"):
        WorkingHours(opens=time(17), closes=time(9))
    with pytest.raises(ValidationError, match="not a known time zone"):
        WorkingHours(time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="at least one working day"):
        WorkingHours(weekdays=[])
    with pytest.raises(ValidationError, match="Name the team"):
        WorkingHours(applies_to="team")
    with pytest.raises(ValidationError, match="Two working calendars for all leads"):
        SlaPolicy(working_hours=[WorkingHours(), WorkingHours(time_zone="Europe/Paris")])
    # an old saved body (no working_hours) reads as calendar hours
    old = SlaPolicy.model_validate({"response_hours": 24, "min_attempts": 3, "attempt_days": 7,
                                    "monthly_quality_commitment": None})
    assert old.working_hours == [] and not workhours.uses_working_hours([(edits.BEGINNING, old)])
    # weekdays kept in week order without repeats; holidays sorted
    assert WorkingHours(weekdays=["fri", "mon", "fri"], holidays=["2026-12-25", "2026-12-24"]).model_dump()[
        "weekdays"] == ["mon", "fri"]


def test_the_rule_in_words():
    assert sla_policy.working_hours_sentence(SlaPolicy()) == (
        "Calendar hours: the response clock runs day and night, weekends included.")
    assert sla_policy.working_hours_sentence(POLICY) == (
        "Working hours: team sdr-emea Mon–Fri 09:00–17:00 Europe/Berlin (1 holiday); region NA Mon–Fri "
        "09:00–17:00 America/New_York (1 holiday). A lead follows its owner's team's calendar, else its region's. "
        "Leads no calendar covers are measured in calendar hours. A clock that starts outside working hours "
        "starts at the next opening.")


def test_the_calendar_editor_replaces_adds_and_removes_one_calendar():
    latest = edits.Version("sla_policy", "default", 2, edits.BEGINNING, POLICY, "Lee Ader", AS_OF, "why")
    choices = sla_policy.calendar_choices(POLICY)
    assert list(choices) == ["team:sdr-emea", "region:NA", sla_policy.NEW_CALENDAR]
    values = sla_policy.calendar_form_values(latest, "team:sdr-emea", AS_OF)
    assert (values["applies_to"], values["name"], values["time_zone"], values["holidays"]) == (
        "team", "sdr-emea", "Europe/Berlin", "2026-10-12")
    # change Berlin's closing to 18:00 and add a holiday: the other calendar and the numbers are kept
    sent = sla_policy.calendar_submission(latest, "team:sdr-emea", {
        **values, "closes": time(18), "holidays": "2026-10-12, 2026-12-24", "reason": "longer days"})
    assert sent.errors == [] and sent.reason == "longer days"
    body = SlaPolicy.model_validate(sent.body)
    assert (body.response_hours, body.attempt_days) == (8, 2)
    assert [(c.name, c.closes, c.holidays) for c in body.working_hours] == [
        ("sdr-emea", time(18), [date(2026, 10, 12), date(2026, 12, 24)]), ("NA", time(17), [date(2026, 11, 26)])]
    # a new calendar for every other lead goes last; its name is ignored
    added = sla_policy.calendar_submission(latest, sla_policy.NEW_CALENDAR, {
        **sla_policy.calendar_form_values(latest, sla_policy.NEW_CALENDAR, AS_OF), "name": "ignored"})
    assert [(c["applies_to"], c["name"]) for c in added.body["working_hours"]] == [
        ("team", "sdr-emea"), ("region", "NA"), ("all", None)]
    removed = sla_policy.calendar_submission(latest, "region:NA", {**values, "remove": True})
    assert [c["name"] for c in removed.body["working_hours"]] == ["sdr-emea"]
    # problems are said in words and nothing is submitted
    bad = sla_policy.calendar_submission(latest, "team:sdr-emea", {**values, "holidays": "24/12/2026"})
    assert (bad.body, bad.errors) == (None, ["Holiday '24/12/2026' is not a date: write one per line as YYYY-MM-DD."])
    # the number editor keeps the calendars it does not show
    numbers = {**sla_policy.form_values(latest, AS_OF), "reason": "r"}
    assert sla_policy.submission(numbers, keep=latest)[0]["working_hours"] == [c.model_dump() for c in POLICY.working_hours]
