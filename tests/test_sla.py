"""Unit tier for both sides' SLAs (core/metrics/sla.py) on a hand-made world built in this file.

Period 2026-Q3, as of 2026-07-20 12:00 (a Monday). Policy: version 2 (from the beginning) = 24 h, 3
attempts in 7 days, 4 quality leads a month; version 3 from 2026-07-10 00:00 = 48 h, 2 attempts in 7
days, 6 a month. Quality = the default definition (score >= 60): every lead has score 80 except H (20).

lead  created      clock start       owner  policy  first touch (h after clock)  status    attempts (window closed?)
A     07-01 09:00  07-01 09:00       R1     v2      07-02 09:00 (24, boundary)   met       3, last at exactly +7 d (yes)
B     07-02 00:00  07-03 00:00 (asg) R2     v2      07-04 06:00 (30); a touch    breached  1 (yes) → under-worked
                                                    at 07-02 12:00 is before the clock and ignored
C     06-28 (Q2)   07-05 00:00 (asg) R3     v2      07-05 01:30 (1.5)            met       3 (yes)
D     07-06 00:00  07-06 00:00       —      v2      never                        breached  0 (yes) → under-worked
E     07-12 00:00  07-12 00:00       R1     v3      07-13 12:00 (36 < 48)        met       2 (yes)
F     07-19 18:00  07-19 18:00       R3     v3      (07-20 13:00 is after as-of)  pending   window open
H     07-03        not quality (score 20): in no SLA figure, its rejection not counted
I     07-08 00:00  07-08 00:00       R2     v2      07-08 05:00 (5)              met       1 (yes) → under-worked
J     07-11 00:00  07-11 00:00       R3     v3      07-11 10:00 (10)             met       2 (yes)
K     07-14 00:00  07-14 00:00       R1     v3      07-17 00:00 (72 > 48)        breached  window open
L     07-15 00:00  07-15 00:00       R2     v3      07-15 01:00 (1)              met       window open
N     07-16 00:00  07-16 00:00       R9*    v3      07-16 02:00 (2)              met       window open
P     07-09 20:00  07-10 00:00 (asg) R2     v3 (clock exactly at the effective date) 07-11 12:00 (36)  met  1 (yes) → under-worked
(* R9 is not in reps)
"""
from __future__ import annotations

import io
from datetime import date, datetime

import pandas as pd
import pytest

from conftest import LEADERSHIP
from core import edits, sla_policy
from core.db import transaction
from core.export import safe_csv
from core.metrics import sla
from core.models import Actor, SlaPolicy
from core.periods import parse_period
from core.report import build_report

Q3 = parse_period("2026-Q3")
AS_OF = datetime(2026, 7, 20, 12, 0)
POLICY_CHANGE = datetime(2026, 7, 10)
EVIL_CAMPAIGN = '=HYPERLINK("http://evil.example","open")'
EVIL_COMPANY = "=1+2"

WORLD = f"""
INSERT INTO reps VALUES ('R1', 'Ada', 'sdr-emea', 'EMEA'), ('R2', 'Bo', 'sdr-emea', 'EMEA'), ('R3', 'Cy', 'sdr-na', 'NA');
INSERT INTO campaigns VALUES ('C1', '{EVIL_CAMPAIGN}', 'webinar', '2026-06-01', NULL, 100),
                             ('C2', 'Spring search', 'paid_search', '2026-01-01', NULL, 200);
INSERT INTO leads (lead_id, created_at, source, campaign_id, company, score, owner_id, assigned_at, status, rejected_reason) VALUES
  ('A', '2026-07-01 09:00', 'webinar',     'C1', 'Acme',         80, 'R1', NULL,               'accepted',  NULL),
  ('B', '2026-07-02 00:00', 'paid_search', 'C2', 'Bolt',         80, 'R2', '2026-07-03 00:00', 'open',      NULL),
  ('C', '2026-06-28 00:00', 'paid_search', 'C2', 'Cord',         80, 'R3', '2026-07-05 00:00', 'open',      NULL),
  ('D', '2026-07-06 00:00', 'partner',     NULL, '{EVIL_COMPANY}', 80, NULL, NULL,             'open',      NULL),
  ('E', '2026-07-12 00:00', 'webinar',     'C1', 'Echo',         80, 'R1', NULL,               'converted', NULL),
  ('F', '2026-07-19 18:00', 'partner',     NULL, 'Flux',         80, 'R3', NULL,               'open',      NULL),
  ('H', '2026-07-03 00:00', 'paid_search', 'C2', 'Hive',         20, 'R1', NULL,               'rejected',  'no budget'),
  ('I', '2026-07-08 00:00', 'webinar',     'C1', 'Iris',         80, 'R2', NULL,               'rejected',  'not a fit'),
  ('J', '2026-07-11 00:00', 'webinar',     'C1', 'Jolt',         80, 'R3', NULL,               'rejected',  NULL),
  ('K', '2026-07-14 00:00', 'paid_search', 'C2', 'Kilo',         80, 'R1', NULL,               'recycled',  '  timing '),
  ('L', '2026-07-15 00:00', 'paid_search', 'C2', 'Lima',         80, 'R2', NULL,               'recycled',  NULL),
  ('N', '2026-07-16 00:00', 'outbound',    NULL, 'Nova',         80, 'R9', NULL,               'open',      NULL),
  ('P', '2026-07-09 20:00', 'partner',     NULL, 'Papa',         80, 'R2', '2026-07-10 00:00', 'open',      NULL);
INSERT INTO activities (activity_id, lead_id, deal_id, rep_id, occurred_at, kind) VALUES
  ('a1', 'A', NULL, 'R1', '2026-07-02 09:00', 'call'),  ('a2', 'A', NULL, 'R1', '2026-07-05 00:00', 'email'),
  ('a3', 'A', NULL, 'R1', '2026-07-08 09:00', 'call'),
  ('b0', 'B', NULL, 'R1', '2026-07-02 12:00', 'email'), ('b1', 'B', NULL, 'R2', '2026-07-04 06:00', 'call'),
  ('c1', 'C', NULL, 'R3', '2026-07-05 01:30', 'call'),  ('c2', 'C', NULL, 'R3', '2026-07-06 00:00', 'email'),
  ('c3', 'C', NULL, 'R3', '2026-07-07 00:00', 'call'),
  ('e1', 'E', NULL, 'R1', '2026-07-13 12:00', 'call'),  ('e2', 'E', NULL, 'R1', '2026-07-15 00:00', 'email'),
  ('f1', 'F', NULL, 'R3', '2026-07-20 13:00', 'call'),
  ('i1', 'I', NULL, 'R2', '2026-07-08 05:00', 'call'),
  ('j1', 'J', NULL, 'R3', '2026-07-11 10:00', 'call'),  ('j2', 'J', NULL, 'R3', '2026-07-12 00:00', 'email'),
  ('k1', 'K', NULL, 'R1', '2026-07-17 00:00', 'call'),
  ('l1', 'L', NULL, 'R2', '2026-07-15 01:00', 'call'),
  ('n1', 'N', NULL, 'R9', '2026-07-16 02:00', 'call'),
  ('p1', 'P', NULL, 'R2', '2026-07-11 12:00', 'call');
"""


@pytest.fixture
def world(empty):
    with transaction(empty) as cur:
        cur.execute(WORLD)
    edits.save(empty, "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(monthly_quality_commitment=4),
               actor=LEADERSHIP, reason="commitment", expected_version=1, effective_from=edits.BEGINNING, now=AS_OF)
    edits.save(empty, "sla_policy", edits.POLICY_SUBJECT,
               SlaPolicy(response_hours=48, min_attempts=2, attempt_days=7, monthly_quality_commitment=6),
               actor=LEADERSHIP, reason="mid-period change", expected_version=2, effective_from=POLICY_CHANGE, now=AS_OF)
    return empty


def test_headline_response_sla(world):
    s = sla.response_sla(world, Q3, AS_OF)
    # met: A (24 h, exactly at the deadline), C, E (36 h under v3's 48 h), I, J, L, N, P = 8
    # breached: B (30 h > 24 h), D (never touched), K (72 h > 48 h) = 3; pending: F = 1
    assert (s.met, s.breached, s.pending, s.quality_leads) == (8, 3, 1, 12)
    assert s.compliance == pytest.approx(8 / 11)
    # touched: 1, 1.5, 2, 5, 10, 24, 30, 36, 36, 72 → median (10 + 24) / 2 = 17;
    # p90 at rank 0.9 × 9 = 8.1 → 36 + 0.1 × (72 − 36) = 39.6
    assert s.median_hours_to_first_touch == pytest.approx(17.0)
    assert s.p90_hours_to_first_touch == pytest.approx(39.6)
    assert s.never_touched == 1  # D; F is untouched too but still pending
    # closed attempt windows: A 3, B 1, C 3, D 0, E 2, I 1, J 2, P 1 → 8 leads, 13 attempts
    assert (s.attempt_windows_closed, s.avg_attempts) == (8, pytest.approx(13 / 8))
    # under-worked: B (1 < 3), D (0 < 3), I (1 < 3), P (1 < 2 under v3); J's 2 meets v3's minimum
    assert s.under_worked == 4
    assert s.notes == []
    # the Overview's comparison reads the cards only: the same values, attempts and the distribution not computed
    cards = sla.response_sla(world, Q3, AS_OF, cards_only=True)
    assert (cards.met, cards.breached, cards.pending, cards.quality_leads) == (8, 3, 1, 12)
    assert (cards.compliance, cards.median_hours_to_first_touch) == (s.compliance, s.median_hours_to_first_touch)
    assert cards.avg_attempts is None and cards.under_worked is None and cards.p90_hours_to_first_touch is None
    assert cards.notes == []


def test_per_lead_edges(world):
    rows = sla.sla_lead_rows(world, Q3, AS_OF).set_index("lead_id")
    # touch exactly at the window's end is met; the third attempt exactly at +7 days counts
    assert (rows.loc["A", "hours_to_first_touch"], rows.loc["A", "sla_status"], rows.loc["A", "attempts"]) == (24.0, "met", 3)
    # B: reassigned; the 07-02 12:00 touch precedes its clock (07-03 00:00) and counts neither as first touch nor attempt
    assert rows.loc["B", "clock_start"] == datetime(2026, 7, 3)
    assert (rows.loc["B", "hours_to_first_touch"], rows.loc["B", "attempts"], rows.loc["B", "hours_late"]) == (30.0, 1, 6.0)
    # C was created in Q2 but assigned in Q3: it belongs to Q3
    assert rows.loc["C", "clock_start"] == datetime(2026, 7, 5)
    # D never touched: late by as-of − deadline = 07-20 12:00 − 07-07 00:00 = 13.5 days
    assert (rows.loc["D", "sla_status"], rows.loc["D", "hours_late"]) == ("breached", 324.0)
    # F: deadline 07-21 18:00 is after as-of and its touch at 07-20 13:00 is after as-of → pending, untouched
    assert rows.loc["F", "sla_status"] == "pending" and pd.isna(rows.loc["F", "first_touch_at"])
    assert bool(rows.loc["F", "attempt_window_closed"]) is False
    # policy: v2 before 07-10 00:00, v3 from it (P's clock is exactly at the effective date)
    assert [rows.loc[x, "response_hours"] for x in ("B", "I", "P", "J", "E")] == [24, 24, 48, 48, 48]
    assert [rows.loc[x, "min_attempts"] for x in ("I", "P")] == [3, 2]
    assert "H" not in rows.index  # not a quality lead


def test_policy_change_mid_period_judges_each_lead_by_its_own_policy(world):
    # E's 36 h touch: met under v3 (48 h). Had v3 started after E's clock, E would be breached.
    rows = sla.sla_lead_rows(world, Q3, AS_OF).set_index("lead_id")
    assert rows.loc["E", "sla_status"] == "met"
    assert rows.loc["B", "sla_status"] == "breached"  # 30 h under v2 (24 h), though v3 would allow it
    assert sla.policy_in_force(world, datetime(2026, 7, 9, 23, 59)).version == 2
    assert sla.policy_in_force(world, POLICY_CHANGE).version == 3
    assert [v.version for v in sla.policy_changes_within(world, Q3)] == [3]
    assert sla.policy_changes_within(world, parse_period("2026-Q4")) == []


def test_page_headline_from_the_breakdown_query_equals_the_headline_query(world):
    # the SLA page reads its cards and tables from one GROUPING SETS query, the Overview and the report from
    # the headline query: the same figures, types and notes (counts stay ints: "8 of 11 met", not "8.0")
    h = sla.sla_headline(world, Q3, AS_OF)
    assert h.response == sla.response_sla(world, Q3, AS_OF)
    assert isinstance(h.response.met, int) and h.response.met_note == "8 of 11 met"
    assert sorted(h.by) == ["rep", "source", "team", "week"]
    for by in ("rep", "source", "team"):
        assert h.by[by].equals(sla.sla_by(world, Q3, AS_OF, by))
    assert h.by["week"].equals(sla.sla_weekly(world, Q3, AS_OF))
    for frame in h.by.values():
        assert frame["quality_leads"].sum() == h.response.quality_leads  # every grouping adds up


def test_by_rep(world):
    by_rep = sla.sla_by(world, Q3, AS_OF, "rep")
    # ordered by team, rep: 'rep not loaded' < 'sdr-emea' < 'sdr-na' < 'unassigned'; an owner missing from
    # reps reads as the rep dimension says ('rep not loaded'), one row per owner id (rep_key)
    assert by_rep[["team", "rep", "rep_key"]].values.tolist() == [
        ["rep not loaded", "rep not loaded", "R9"], ["sdr-emea", "Ada", "R1"], ["sdr-emea", "Bo", "R2"],
        ["sdr-na", "Cy", "R3"], ["unassigned", "unassigned", ""]]
    r = by_rep.set_index("rep")
    # Ada: A met 24, E met 36, K breached 72 → 2/3; median 36; p90 at rank 1.8 → 36 + 0.8 × 36 = 64.8
    assert r.loc["Ada", ["quality_leads", "met", "breached", "pending"]].tolist() == [3, 2, 1, 0]
    assert r.loc["Ada", "compliance"] == pytest.approx(2 / 3)
    assert (r.loc["Ada", "median_hours_to_first_touch"], r.loc["Ada", "p90_hours_to_first_touch"]) == (36.0, pytest.approx(64.8))
    assert (r.loc["Ada", "attempt_windows_closed"], r.loc["Ada", "avg_attempts"], r.loc["Ada", "under_worked"]) == (2, 2.5, 0)
    # Bo: B breached 30, I met 5, L met 1, P met 36 → 3/4; hours 1, 5, 30, 36: median 17.5,
    # p90 at rank 2.7 → 30 + 0.7 × 6 = 34.2; closed windows B, I, P with 1 attempt each, all under-worked
    assert r.loc["Bo", ["quality_leads", "met", "breached", "pending", "under_worked"]].tolist() == [4, 3, 1, 0, 3]
    assert (r.loc["Bo", "compliance"], r.loc["Bo", "median_hours_to_first_touch"]) == (0.75, 17.5)
    assert r.loc["Bo", "p90_hours_to_first_touch"] == pytest.approx(34.2)
    assert r.loc["Bo", "avg_attempts"] == 1.0
    # Cy: C met 1.5, J met 10, F pending → 2/2; median 5.75, p90 1.5 + 0.9 × 8.5 = 9.15
    assert r.loc["Cy", ["met", "breached", "pending"]].tolist() == [2, 0, 1]
    assert (r.loc["Cy", "compliance"], r.loc["Cy", "median_hours_to_first_touch"]) == (1.0, 5.75)
    assert r.loc["Cy", "p90_hours_to_first_touch"] == pytest.approx(9.15)
    # no owner: D, never touched → 0 of 1, no speed to lead, under-worked
    assert r.loc["unassigned", ["quality_leads", "met", "breached", "never_touched", "under_worked"]].tolist() == [1, 0, 1, 1, 1]
    assert r.loc["unassigned", "compliance"] == 0.0 and pd.isna(r.loc["unassigned", "median_hours_to_first_touch"])
    # owner missing from reps (R9): its attempt window is open → no average
    assert r.loc["rep not loaded", ["met", "attempt_windows_closed"]].tolist() == [1, 0]
    assert pd.isna(r.loc["rep not loaded", "avg_attempts"])
    assert by_rep["quality_leads"].sum() == 12  # adds up to the headline


def test_by_team(world):
    t = sla.sla_by(world, Q3, AS_OF, "team").set_index("team")
    assert t.index.tolist() == ["rep not loaded", "sdr-emea", "sdr-na", "unassigned"]
    # sdr-emea = Ada + Bo: 7 leads, 5 met, 2 breached; hours 1, 5, 24, 30, 36, 36, 72 → median 30,
    # p90 at rank 5.4 → 36 + 0.4 × 36 = 50.4; closed windows A 3, E 2, B 1, I 1, P 1 → 8 / 5 = 1.6
    assert t.loc["sdr-emea", ["quality_leads", "met", "breached", "pending", "under_worked"]].tolist() == [7, 5, 2, 0, 3]
    assert t.loc["sdr-emea", "compliance"] == pytest.approx(5 / 7)
    assert (t.loc["sdr-emea", "median_hours_to_first_touch"], t.loc["sdr-emea", "avg_attempts"]) == (30.0, 1.6)
    assert t.loc["sdr-emea", "p90_hours_to_first_touch"] == pytest.approx(50.4)
    assert t.loc["unassigned", "quality_leads"] == 1
    with pytest.raises(ValueError):
        sla.sla_by(world, Q3, AS_OF, "team; DROP TABLE leads")


def test_weekly_trend(world):
    w = sla.sla_weekly(world, Q3, AS_OF)
    # ISO weeks from the one holding 07-01 (W27, Mon 06-29) to the one holding as-of (W30, Mon 07-20)
    assert w["week"].tolist() == ["2026-W27", "2026-W28", "2026-W29", "2026-W30"]
    assert w["week_start"].tolist()[0] == pd.Timestamp("2026-06-29")
    # W27: A met, B breached, C met (Sun 07-05); W28: D (Mon 07-06 00:00, the week's first instant)
    # breached, I, P, J, E met; W29: K breached, L, N met, F pending; W30: none yet → zeros, undefined rates
    assert w[["quality_leads", "met", "breached", "pending"]].values.tolist() == [
        [3, 2, 1, 0], [5, 4, 1, 0], [4, 2, 1, 1], [0, 0, 0, 0]]
    assert w["compliance"].tolist()[:3] == [pytest.approx(2 / 3), 0.8, pytest.approx(2 / 3)]
    assert pd.isna(w["compliance"].iloc[3])
    # W28 hours 5, 10, 36, 36 → median 23; W27 1.5, 24, 30 → 24; W29 1, 2, 72 → 2
    assert w["median_hours_to_first_touch"].tolist()[:3] == [24.0, 23.0, 2.0]
    assert w["met"].sum() == 8 and w["breached"].sum() == 3
    # before the period starts there is no week to show
    assert sla.sla_weekly(world, parse_period("2026-Q4"), AS_OF).empty


def test_breach_list_sorted_filtered_and_bounded(world):
    b = sla.breach_list(world, Q3, AS_OF)
    # breached or under-worked: D 324 h, K 24 h, B 6 h late, then I and P (under-worked only, no hours late)
    assert b.total == 5
    assert b.rows["lead_id"].tolist() == ["D", "K", "B", "I", "P"]
    assert b.rows["hours_late"].tolist()[:3] == [324.0, 24.0, 6.0] and b.rows["hours_late"].iloc[3:].isna().all()
    assert b.rows["issue"].tolist() == ["never touched, under-worked", "breached", "breached, under-worked",
                                        "under-worked", "under-worked"]
    d = b.rows.set_index("lead_id").loc["D"]
    assert (d["rep"], d["team"], d["source"], d["campaign"], d["company"]) == (
        "unassigned", "unassigned", "partner", "(no campaign)", EVIL_COMPANY)
    assert b.rows.set_index("lead_id").loc["I", "campaign"] == EVIL_CAMPAIGN
    # bounded: the first 2 by hours late, with the total still 5
    top = sla.breach_list(world, Q3, AS_OF, limit=2)
    assert (top.rows["lead_id"].tolist(), top.total) == (["D", "K"], 5)
    # filters
    assert sla.breach_list(world, Q3, AS_OF, team="sdr-emea").rows["lead_id"].tolist() == ["K", "B", "I", "P"]
    assert sla.breach_list(world, Q3, AS_OF, rep="R2").rows["lead_id"].tolist() == ["B", "I", "P"]
    assert sla.breach_list(world, Q3, AS_OF, rep="").rows["lead_id"].tolist() == ["D"]  # unassigned
    assert sla.breach_list(world, Q3, AS_OF, issue="never_touched").rows["lead_id"].tolist() == ["D"]
    assert sla.breach_list(world, Q3, AS_OF, issue="breached").total == 3
    assert sla.breach_list(world, Q3, AS_OF, issue="under_worked").rows["lead_id"].tolist() == ["D", "B", "I", "P"]
    # other orders: fewest attempts first (ties by clock start), newest clock first
    assert sla.breach_list(world, Q3, AS_OF, sort="attempts").rows["lead_id"].tolist() == ["D", "B", "I", "P", "K"]
    assert sla.breach_list(world, Q3, AS_OF, sort="clock_start").rows["lead_id"].tolist() == ["K", "P", "I", "D", "B"]
    assert sla.breach_list(world, Q3, AS_OF, team="nobody").total == 0
    with pytest.raises(ValueError):
        sla.breach_list(world, Q3, AS_OF, sort="hours_late; DROP TABLE leads")
    with pytest.raises(ValueError):
        sla.breach_list(world, Q3, AS_OF, issue="1=1")


def test_breach_csv_neutralises_formulas(world):
    full = sla.breach_list(world, Q3, AS_OF, limit=None)
    text = safe_csv(full.rows).decode("utf-8")
    back = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False).set_index("lead_id")
    assert back.loc["D", "company"] == "'" + EVIL_COMPANY
    assert back.loc["I", "campaign"] == "'" + EVIL_CAMPAIGN
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in back.to_numpy().ravel())
    assert back.loc["D", "hours_late"] == "324.0"  # numbers stay numbers
    assert len(back) == 5


def test_delivery_with_commitment_changing_mid_quarter(world):
    d = sla.delivery(world, Q3, AS_OF)
    # Q3 cohort by created_at: A B D E F I J K L N P = 11 quality (C was created in Q2, H is not quality)
    # committed: July on v2 (4), August and September on v3 (6 each) = 16
    assert (d.quality_leads, d.committed, d.delivery) == (11, 16, pytest.approx(11 / 16))
    # accepted: A (accepted), E (converted) → 2 / 11
    assert (d.accepted, d.acceptance_rate) == (2, pytest.approx(2 / 11))
    months = sla.delivery_by_month(world, Q3, AS_OF)
    assert months["month"].tolist() == ["2026-07", "2026-08", "2026-09"]
    assert months["quality_leads"].tolist() == [11, 0, 0]
    assert months["committed"].tolist() == [4, 6, 6]
    # as of 07-20, August and September have not started: their delivery is not measured ("—"), never 0%
    assert months["delivery"].tolist()[0] == 2.75 and months["delivery"].isna().tolist() == [False, True, True]
    assert sla.delivery(world, parse_period("2026-08"), AS_OF).notes[-1] == (
        "2026-08 has not started by as-of, so its delivery is not measured yet.")
    # July elapsed at 07-20 12:00: 19.5 of 31 days
    assert months["elapsed_share"].tolist() == [pytest.approx(19.5 / 31), 0.0, 0.0]


def test_rejection_reasons_count_quality_leads_only(world):
    # rejected quality leads: I ('not a fit', C1/webinar), J (no reason, C1/webinar), K (recycled with
    # '  timing ', C2/paid_search). Not counted: H (not quality), L (recycled without a reason)
    by_campaign = sla.rejection_reasons(world, Q3, AS_OF, "campaign")
    assert by_campaign.values.tolist() == [
        [EVIL_CAMPAIGN, "(no reason given)", 1], [EVIL_CAMPAIGN, "not a fit", 1], ["Spring search", "timing", 1]]
    by_source = sla.rejection_reasons(world, Q3, AS_OF, "source")
    assert by_source.values.tolist() == [
        ["webinar", "(no reason given)", 1], ["webinar", "not a fit", 1], ["paid_search", "timing", 1]]
    assert sla.rejected_quality_leads(world, Q3, AS_OF) == 3
    with pytest.raises(ValueError):
        sla.rejection_reasons(world, Q3, AS_OF, "c.source; DROP TABLE leads")


def test_acceptance_by_source_and_campaign(world):
    s = sla.acceptance_by(world, Q3, AS_OF, "source")
    # webinar A E I J (accepted A, E; rejected I, J); paid_search B K L (rejected K); partner D F P; outbound N
    assert s[["segment", "quality_leads", "accepted", "rejected"]].values.tolist() == [
        ["webinar", 4, 2, 2], ["paid_search", 3, 0, 1], ["partner", 3, 0, 0], ["outbound", 1, 0, 0]]
    assert s["acceptance_rate"].tolist() == [0.5, 0.0, 0.0, 0.0]
    assert s["rejection_rate"].tolist() == [0.5, pytest.approx(1 / 3), 0.0, 0.0]
    c = sla.acceptance_by(world, Q3, AS_OF, "campaign")
    # ties on 4 quality leads sort by name: '(' before '='
    assert c[["segment", "quality_leads", "accepted", "rejected"]].values.tolist() == [
        ["(no campaign)", 4, 0, 0], [EVIL_CAMPAIGN, 4, 2, 2], ["Spring search", 3, 0, 1]]


def test_report_sections_come_from_the_same_functions(world):
    report = build_report(world, Q3, AS_OF)
    s = sla.response_sla(world, Q3, AS_OF)
    assert report["sla"]["met"] == s.met == 8
    assert report["sla"]["compliance"] == s.compliance
    assert report["sla"]["median_hours_to_first_touch"] == s.median_hours_to_first_touch == 17.0
    assert (report["delivery"]["quality_leads"], report["delivery"]["committed"]) == (11, 16)


def test_without_activities_the_sales_side_says_why_and_marketing_still_counts(world):
    world.execute("DELETE FROM activities")
    notes = sla.sales_side_notes(world)
    assert notes == ["No activities are loaded, so the response SLA (speed to lead, attempts) cannot be measured."]
    s = sla.response_sla(world, Q3, AS_OF)
    assert (s.met, s.compliance, s.median_hours_to_first_touch) == (None, None, None)
    assert sla.sla_by(world, Q3, AS_OF, "rep").empty and sla.sla_weekly(world, Q3, AS_OF).empty
    b = sla.breach_list(world, Q3, AS_OF)
    assert b.total is None and b.rows.empty and b.notes == notes
    assert sla.delivery(world, Q3, AS_OF).quality_leads == 11
    assert sla.rejected_quality_leads(world, Q3, AS_OF) == 3


def test_without_leads_nothing_is_a_zero(empty):
    assert sla.sales_side_notes(empty)[0].startswith("No leads are loaded")
    assert sla.rejected_quality_leads(empty, Q3, AS_OF) is None
    assert sla.delivery(empty, Q3, AS_OF).quality_leads is None
    assert sla.acceptance_by(empty, Q3, AS_OF, "source").empty


def test_breakdowns_add_up_to_the_headline(world):
    # one aggregate list for the headline, per team, per rep and per week: the counts add up by construction
    s = sla.response_sla(world, Q3, AS_OF)
    for frame in (sla.sla_by(world, Q3, AS_OF, "team"), sla.sla_by(world, Q3, AS_OF, "rep"),
                  sla.sla_weekly(world, Q3, AS_OF)):
        assert [int(frame[c].sum()) for c in sla.SALES_COUNTS] == [getattr(s, c) for c in sla.SALES_COUNTS]
    assert (s.quality_leads, s.met, s.breached, s.pending, s.never_touched, s.attempt_windows_closed,
            s.under_worked) == (12, 8, 3, 1, 1, 8, 4)


def test_each_issue_filter_holds_what_its_card_counts(world):
    s = sla.response_sla(world, Q3, AS_OF)
    totals = {issue: sla.breach_list(world, Q3, AS_OF, issue=issue).total for issue in sla.ISSUE_FILTERS}
    # breached B, D, K; never touched D; under-worked B, D, I, P; either: B, D, I, K, P
    assert totals == {"any": 5, "breached": 3, "never_touched": 1, "under_worked": 4}
    assert (totals["breached"], totals["never_touched"], totals["under_worked"]) == (
        s.breached, s.never_touched, s.under_worked)
    # the filters are labelled as the cards are
    assert [sla.ISSUE_FILTERS[k].label for k in ("breached", "never_touched", "under_worked")] == [
        "Breached", "Never touched", "Under-worked"]


def test_breach_list_summary_and_completeness(world):
    every = sla.breach_list(world, Q3, AS_OF)
    assert every.complete
    assert every.summary == "5 leads match; all shown. Hours late is filled for breached leads only."
    top = sla.breach_list(world, Q3, AS_OF, sort="attempts", limit=2)
    assert not top.complete
    assert top.summary == ("5 leads match; showing the first 2 by attempts (fewest first). "
                           "Hours late is filled for breached leads only.")
    one = sla.breach_list(world, Q3, AS_OF, issue="never_touched")
    assert one.summary.startswith("1 lead match; all shown.")


def test_breach_filter_choices_name_each_owner():
    by_rep = pd.DataFrame({"team": ["rep not loaded", "sdr-emea", "sdr-emea", "unassigned"],
                           "rep": ["rep not loaded", "Ada", "Bo", "unassigned"],
                           "rep_key": ["R9", "R1", "R2", ""]})
    teams, reps = sla.breach_filter_choices(by_rep)
    assert teams == {sla.ALL: "All teams", "rep not loaded": "rep not loaded", "sdr-emea": "sdr-emea",
                     "unassigned": "unassigned"}
    # an owner missing from reps is named by its owner id
    assert reps == {sla.ALL: "All reps", "R9": "R9 · rep not loaded", "R1": "Ada · sdr-emea", "R2": "Bo · sdr-emea",
                    "": "unassigned · unassigned"}


def test_card_notes_in_words(world):
    h = sla.sla_headline(world, Q3, AS_OF)
    r = h.response
    assert (r.met_note, r.p90_note, r.attempts_note) == ("8 of 11 met", "p90 39.6 h", "avg 1.6 attempts per lead")
    assert r.status_line == "12 quality leads measured: 8 met, 3 breached, 1 pending (window still open at as-of)."
    assert r.never_touched_warning == ("1 quality lead never touched in this period: see the breach list "
                                       "(issue 'Never touched').")
    assert sla.ResponseSla(never_touched=2).never_touched_warning.startswith("2 quality leads never touched")
    assert sla.ResponseSla(never_touched=0).never_touched_warning is None
    assert [(name, note) for name, _, note in h.sales_cards] == [
        ("compliance", "8 of 11 met"), ("median_hours", "p90 39.6 h"), ("never_touched", "quality leads nobody called"),
        ("under_worked", "avg 1.6 attempts per lead")]
    # marketing: 11 of 16 committed, 2 accepted, 3 rejected; 19.5 of Q3's 92 days elapsed = 21%
    assert h.marketing_cards == [
        ("quality_leads", 11, "committed 16"), ("delivery", pytest.approx(11 / 16), "21% of the period elapsed"),
        ("acceptance_rate", pytest.approx(2 / 11), "2 accepted"), ("rejected", 3, "of 11 quality leads")]
    assert h.notes == [] and h.sales_notes == []


def test_acceptance_by_segment_adds_up_to_delivery(world):
    d = sla.delivery(world, Q3, AS_OF)
    for by in sla.MARKETING_BY:
        a = sla.acceptance_by(world, Q3, AS_OF, by)
        assert (a["quality_leads"].sum(), a["accepted"].sum(), a["rejected"].sum()) == (
            d.quality_leads, d.accepted, sla.rejected_quality_leads(world, Q3, AS_OF))


def test_commitment_is_the_policy_in_force_at_each_months_start(world):
    # July on version 2 (4); from 07-10 version 3 (6): August, September → Q3 16; Q2 before any change: 3 × 4
    assert sla.committed_quality_leads(world, Q3) == 16
    assert sla.committed_quality_leads(world, parse_period("2026-Q2")) == 12
    assert sla.committed_quality_leads(world, parse_period("2026-07")) == 4
    edits.save(world, "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(), actor=LEADERSHIP, reason="no commitment",
               expected_version=3, effective_from=datetime(2026, 9, 1), now=AS_OF)
    assert sla.committed_quality_leads(world, Q3) is None  # September has none
    assert sla.committed_quality_leads(world, parse_period("2026-08")) == 6


def test_no_commitment_without_any_policy(empty):
    empty.execute("DELETE FROM edit_versions WHERE kind = 'sla_policy'")
    assert sla.committed_quality_leads(empty, Q3) is None
    assert sla.policy_in_force(empty, AS_OF) is None


def test_policy_in_words():
    v3 = SlaPolicy(response_hours=48, min_attempts=2, attempt_days=7, monthly_quality_commitment=1200)
    assert sla_policy.sentence(v3) == "first touch within 48.0 h, 2 attempts within 7.0 d; 1,200 quality leads a month"
    assert sla_policy.sentence(SlaPolicy()) == ("first touch within 24.0 h, 3 attempts within 7.0 d; "
                                                "no quality-lead commitment set")
    version = edits.Version("sla_policy", "default", 3, POLICY_CHANGE, v3, "Lee Ader", AS_OF, "why")
    assert sla_policy.change_note(version) == (
        "The policy changed on 10 Jul 2026 00:00 UTC (version 3: first touch within 48.0 h, 2 attempts within "
        "7.0 d; 1,200 quality leads a month). Each lead is measured under the policy in force when its clock started.")
    assert sla_policy.editing_note(2, version).startswith(
        "Editing version 2 (latest saved: version 3, effective from 10 Jul 2026 UTC).")
    assert sla_policy.editing_note(0, None) == "No policy saved yet."


def test_policy_editor_rights_in_words():
    assert sla_policy.read_only_note(LEADERSHIP) is None
    assert sla_policy.read_only_note(Actor(name="Vic Board", team="viewer")) == (
        "You are acting as Vic Board (viewer): you can read the policy, but only marketing editors, sales editors "
        "or admins can change it.")


def test_policy_form_fields_come_from_the_measures_and_the_model():
    fields = {f.name: f for f in sla_policy.FORM_FIELDS}
    assert [f.label for f in sla_policy.FORM_FIELDS] == [
        "Response window (hours)", "Minimum attempts", "Attempt window (days)", "Monthly quality-lead commitment"]
    # the bounds SlaPolicy enforces, in words
    assert fields["response_hours"].help.endswith("Above 0, at most 720.")
    assert fields["min_attempts"].help.endswith("At least 1, at most 100.")
    assert fields["monthly_quality_commitment"].help.endswith("At least 0; leave empty for none.")
    assert (fields["response_hours"].step, fields["response_hours"].number_format) == (1.0, "%.1f")
    assert (fields["min_attempts"].step, fields["min_attempts"].number_format) == (1, None)


def test_policy_form_starts_from_the_latest_version_and_submits_a_body(world):
    latest = edits.latest(world, "sla_policy", edits.POLICY_SUBJECT)  # version 3, effective 07-10
    assert sla_policy.form_values(latest, AS_OF) == {
        "response_hours": 48.0, "min_attempts": 2, "attempt_days": 7.0, "monthly_quality_commitment": 6,
        "effective": date(2026, 7, 20), "reason": ""}
    # an as-of before the latest effective date starts the form on that date (an earlier one is refused)
    assert sla_policy.form_values(latest, datetime(2026, 7, 1))["effective"] == date(2026, 7, 10)
    assert sla_policy.form_values(None, AS_OF)["response_hours"] == 24.0
    values = {**sla_policy.form_values(latest, AS_OF), "response_hours": 36.0, "reason": "review"}
    assert sla_policy.submission(values) == (
        {"response_hours": 36.0, "min_attempts": 2, "attempt_days": 7.0, "monthly_quality_commitment": 6},
        datetime(2026, 7, 20), "review")


def test_routing_apart_from_response_and_the_distribution(world):
    s = sla.response_sla(world, Q3, AS_OF)
    # routing (created → assigned): P 4 h (07-09 20:00 → 07-10), B 24 h, C 168 h (created in Q2, assigned 07-05)
    # → median 24; p90 at rank 1.8 → 24 + 0.8 × 144 = 139.2
    assert (s.routed_leads, s.median_routing_hours) == (3, 24.0)
    assert s.p90_routing_hours == pytest.approx(139.2)
    # touched: 1 (L), 1.5, 2, 5, 10, 24 (A: exactly, inclusive), 30, 36, 36, 72 → within 5 min none,
    # within 1 h L only (exactly 1 h), within 24 h six of ten
    assert s.touched_leads == 10
    assert (s.within_5m_share, s.within_1h_share, s.within_24h_share) == (0.0, 0.1, 0.6)
    by_source = sla.sla_by(world, Q3, AS_OF, "source").set_index("source")
    # paid_search B (30 h; routed 24 h), C (1.5; 168), K (72), L (1): routing median 96; within 1 h 1/4, 24 h 2/4
    assert by_source.loc["paid_search", ["routed_leads", "median_routing_hours", "touched_leads"]].tolist() == [2, 96.0, 4]
    assert by_source.loc["paid_search", ["within_1h_share", "within_24h_share"]].tolist() == [0.25, 0.5]
    # webinar A 24, E 36, I 5, J 10: never assigned (no routing delay), 3 of 4 within 24 h
    assert by_source.loc["webinar", "routed_leads"] == 0 and pd.isna(by_source.loc["webinar", "median_routing_hours"])
    assert by_source.loc["webinar", "within_24h_share"] == 0.75
    # partner: D never touched, F pending, P 36 h → one touched, none within 24 h; outbound N 2 h
    assert by_source.loc["partner", ["touched_leads", "within_24h_share", "median_routing_hours"]].tolist() == [1, 0.0, 4.0]
    assert by_source.loc["outbound", "within_24h_share"] == 1.0
    assert int(by_source["touched_leads"].sum()) == s.touched_leads
