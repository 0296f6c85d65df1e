"""Unit tier for shared goals: stage actuals to date, targets, pacing and gap per stage and per segment,
the what-if, and saves reaching every goal-dependent figure. Exact values, each derived by hand beside it.

Besides the shared tiny world (tests/fixtures/tiny.sql) this file builds its own small world (`world`),
chosen so the arithmetic is round: 2026-Q3 as of 2026-08-16 00:00, exactly half of the quarter's 92 days
(07-01 → 08-16 = 46 days), and a goal whose overrides make the cascade whole numbers.
"""
from __future__ import annotations

import math
from datetime import datetime

import pytest

from conftest import AS_OF, LEADERSHIP
from core import edits, goals_editor
from core.charts_goals import progress_chart, stage_table, whatif_table, whole_up
from core.db import data_version, link_keys
from core.metrics import goals
from core.metrics.pipeline import pipeline
from core.models import Actor, GoalBody
from core.periods import parse_period
from core.report import build_report
from core.semantic.enums import UNASSIGNED
from core.semantic.measures import MEASURES

Q3 = parse_period("2026-Q3")
HALF = datetime(2026, 8, 16)
MARKETING = Actor(name="Mia Kent", team="marketing")
SALES = Actor(name="Sal Ortiz", team="sales")

# Goal 20,000 with every cascade input overridden:
#   won = 20,000 / 10,000 = 2; opportunities = 2 / 0.5 = 4; accepted = 4 / 0.5 = 8;
#   quality = 8 / 0.8 = 10; leads = 10 / 0.5 = 20. To date (half the quarter): 1, 2, 4, 5, 10.
WON, CREATED = goals.STAGE_LABELS["won"], goals.STAGE_LABELS["opportunities"]  # "Deals won", "Deals created"

WORLD_GOAL = GoalBody(revenue=20_000, avg_deal_size=10_000,
                      rate_overrides={"win_rate": 0.5, "accepted_to_opportunity": 0.5,
                                      "quality_to_accepted": 0.8, "lead_to_quality": 0.5})


def _lead(lead_id, created, source, owner, score, status):
    return (lead_id, created, source, None, None, None, None, None, None, score, False, None, owner, None, status, None)


@pytest.fixture
def world(empty):
    """Reps: S1 sdr-emea/EMEA, S2 sdr-na/NA, A1 ae-na/NA (owns every deal).

    Q3 leads (created 07-01 … 07-12): L01–L08 webinar (S1), L09–L12 events (S2).
      quality (score 80): L01–L04, L09, L10 → 6; accepted: L01 converted, L02 and L09 accepted → 3.
    Earlier leads (2026-01-10, inside the trailing year): P01–P02 webinar (S1, not quality),
      P03–P08 events (S2), of which P03–P06 quality and P03, P04 accepted.
    L13 (webinar) is created 08-20, after as-of: it does not exist yet.
    Deals: D1 L01 created 07-10 won 08-01; D2 L09 created 07-20 open; D3 sales-sourced created 07-15 open;
      D7 sales-sourced created 06-01 won 07-20 (won in Q3, created in Q2); D5 sales-sourced won 2025-06-01
      (before the trailing year); D6 sales-sourced created 08-20 (after as-of)."""
    con = empty
    con.execute("INSERT INTO reps VALUES ('S1', 'Sam', 'sdr-emea', 'EMEA'), ('S2', 'Sue', 'sdr-na', 'NA'), "
                "('A1', 'Ann', 'ae-na', 'NA')")
    rows = []
    for i in range(1, 13):
        source, owner = ("webinar", "S1") if i <= 8 else ("events", "S2")
        score = 80 if i <= 4 or i in (9, 10) else 10
        status = {1: "converted", 2: "accepted", 9: "accepted"}.get(i, "open")
        rows.append(_lead(f"L{i:02d}", datetime(2026, 7, i), source, owner, score, status))
    for i in range(1, 9):
        source, owner = ("webinar", "S1") if i <= 2 else ("events", "S2")
        score = 80 if 3 <= i <= 6 else 10
        rows.append(_lead(f"P{i:02d}", datetime(2026, 1, 10), source, owner, score, "accepted" if i in (3, 4) else "open"))
    rows.append(_lead("L13", datetime(2026, 8, 20), "webinar", "S1", 80, "open"))
    con.executemany("INSERT INTO leads (lead_id, created_at, source, campaign_id, company, industry, employees, country, seniority, score, demo_requested, mql_at, owner_id, assigned_at, status, rejected_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute("""INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
      ('D1', 'L01', 'a', '2026-07-10', 10000, 'closed_won', NULL, '2026-08-01', 'A1', NULL),
      ('D2', 'L09', 'b', '2026-07-20',  8000, 'proposal',   NULL, NULL,         'A1', NULL),
      ('D3', NULL,  'c', '2026-07-15',  5000, 'discovery',  NULL, NULL,         'A1', NULL),
      ('D7', NULL,  'd', '2026-06-01',  6000, 'closed_won', NULL, '2026-07-20', 'A1', NULL),
      ('D5', NULL,  'e', '2025-05-01',  9000, 'closed_won', NULL, '2025-06-01', 'A1', NULL),
      ('D6', NULL,  'f', '2026-08-20',  7000, 'discovery',  NULL, NULL,         'A1', NULL)""")
    link_keys(con)  # raw rows: their lead keys, as every write path gives them
    edits.save(con, "goal", "2026-Q3", WORLD_GOAL, actor=LEADERSHIP, reason="world goal", expected_version=0, as_of=HALF)
    return con


def _rows(plan, segment=None):
    frame = plan.stages if segment is None else goals.one_segment(plan, segment)
    return {r["stage"]: r for r in frame.to_dict("records")}


def _maybe(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


# --- actuals to date ------------------------------------------------------------------------------------

def test_stage_actuals_on_the_tiny_world(tiny):
    a = goals.stage_actuals(tiny, Q3, AS_OF)
    # cohort funnel (test_metrics): 8 leads, 5 quality, 3 accepted
    assert (a.leads, a.quality_leads, a.accepted) == (8, 5, 3)
    # deals created in Q3 by as-of: D1 07-05, D2 07-20, D3 07-08, D4 07-10, D5 07-15, D10 08-01, D11 07-20 = 7
    # (sales-sourced D5, D10 and D11 of an unknown lead count: the win rate is over all deals too)
    assert a.opportunities == 7
    # won in Q3 by as-of: D1 08-01, D3 08-05; D6 closes 09-01, after as-of
    assert a.won == 2
    assert a.notes == []


def test_stage_actuals_on_the_world(world):
    a = goals.stage_actuals(world, Q3, HALF)
    # L13 and D6 come after as-of; D7 was created in Q2 but won in Q3, so it is a Q3 win, not a Q3 opportunity
    assert (a.leads, a.quality_leads, a.accepted, a.opportunities, a.won) == (12, 6, 3, 3, 2)


# --- targets, pacing and gap for the whole period -------------------------------------------------------

def test_plan_targets_pacing_and_gap_per_stage(world):
    plan = goals.goal_plan(world, Q3, HALF)
    assert plan.elapsed_share == 0.5
    assert plan.goal_revenue == 20_000 and plan.goal_version == 1
    assert sorted(plan.rates.overridden) == sorted(goals.RATE_FIELDS)
    rows = _rows(plan)
    assert [r for r in plan.stages["stage"]] == ["won", "opportunities", "accepted", "quality_leads", "leads"]
    expected = {
        # stage: (target, target to date, actual, pacing = actual / to date, gap = to date − actual, still needed)
        "won": (2, 1, 2, 2.0, -1, 0),              # 2 won of 1 due; nothing still needed
        "opportunities": (4, 2, 3, 1.5, -1, 1),    # 3 / 2
        "accepted": (8, 4, 3, 0.75, 1, 5),         # 3 / 4: one behind pace, 5 to go
        "quality_leads": (10, 5, 6, 1.2, -1, 4),   # 6 / 5
        "leads": (20, 10, 12, 1.2, -2, 8),         # 12 / 10
    }
    for stage, (target, to_date, actual, pace, gap, needed) in expected.items():
        r = rows[stage]
        assert (r["target"], r["target_to_date"], r["actual"]) == pytest.approx((target, to_date, actual)), stage
        assert (r["pacing"], r["gap_to_date"], r["still_needed"]) == pytest.approx((pace, gap, needed)), stage
        assert r["overridden"] and r["share"] == 1.0
    assert rows["won"]["progress"] == 1.0 and rows["accepted"]["progress"] == pytest.approx(3 / 8)
    assert rows["won"]["rate"] == 10_000 and rows["won"]["rate_name"] == "avg_deal_size"
    assert (rows["leads"]["owner"], rows["accepted"]["owner"]) == ("marketing", "sales")
    assert plan.notes == []


def test_plan_on_the_tiny_world_uses_trailing_year_rates(tiny):
    plan = goals.goal_plan(tiny, Q3, AS_OF)
    rows = _rows(plan)
    # test_metrics: deal size 55,000 / 3, win rate 0.6, accepted→opp 3/4, quality→accepted 4/6, lead→quality 6/9
    # won target = 100,000 / (55,000 / 3) = 60/11; opportunities = 60/11 / 0.6 = 100/11; accepted = 400/33;
    # quality = 400/33 / (2/3) = 200/11; leads = 200/11 / (2/3) = 300/11
    for stage, target in {"won": 60 / 11, "opportunities": 100 / 11, "accepted": 400 / 33,
                          "quality_leads": 200 / 11, "leads": 300 / 11}.items():
        assert rows[stage]["target"] == pytest.approx(target), stage
        assert not rows[stage]["overridden"] and rows[stage]["rate"] == rows[stage]["rate_trailing"]
    # elapsed 45.5 of 92 days; won: 2 actual / (60/11 × 45.5/92) = 2 × 11 × 92 / (60 × 45.5) = 2024/2730
    assert rows["won"]["pacing"] == pytest.approx(2024 / 2730)
    # accepted: 3 / (400/33 × 45.5/92) = 3 × 33 × 92 / (400 × 45.5) = 9108/18200
    assert rows["accepted"]["pacing"] == pytest.approx(9108 / 18200)
    assert rows["opportunities"]["gap_to_date"] == pytest.approx(100 / 11 * 45.5 / 92 - 7)
    assert plan.rates.overridden == []


def test_overrides_change_only_their_stage_and_those_below(tiny):
    edits.save(tiny, "goal", "2026-Q3", GoalBody(revenue=100_000, rate_overrides={"win_rate": 0.5}),
               actor=SALES, reason="harder market", expected_version=1, as_of=AS_OF)
    rows = _rows(goals.goal_plan(tiny, Q3, AS_OF))
    assert rows["won"]["target"] == pytest.approx(60 / 11)            # deal size untouched
    assert rows["opportunities"]["target"] == pytest.approx(120 / 11)  # 60/11 / 0.5
    assert rows["leads"]["target"] == pytest.approx(120 / 11 / 0.75 / (2 / 3) / (2 / 3))
    assert rows["opportunities"]["overridden"] and rows["opportunities"]["rate_trailing"] == 0.6
    assert not rows["won"]["overridden"]


def test_a_month_gets_its_pro_rated_share(world):
    rows = _rows(goals.goal_plan(world, parse_period("2026-07"), HALF))
    # July's goal = 20,000 × 31/92; won target = that / 10,000 = 62/92; leads = 62/92 / 0.5 / 0.5 / 0.8 / 0.5
    assert rows["won"]["target"] == pytest.approx(62 / 92)
    assert rows["leads"]["target"] == pytest.approx(62 / 92 * 10)
    # July has ended by as-of: the whole target is due; 12 July leads against 6.74
    assert rows["leads"]["target_to_date"] == pytest.approx(620 / 92)
    assert rows["leads"]["pacing"] == pytest.approx(12 / (620 / 92))


def test_a_months_goal_scales_back_to_its_quarter():
    # the what-if's month goal copied into the (quarterly) form: August 31 of 92 days
    assert goals.quarter_revenue(parse_period("2026-08"), 31_000) == pytest.approx(92_000)
    assert goals.quarter_revenue(Q3, 5.0) == 5.0 and goals.quarter_revenue(Q3, None) is None


def test_pacing_is_undefined_before_the_period_starts(world):
    plan = goals.goal_plan(world, Q3, datetime(2026, 6, 30))
    rows = _rows(plan)
    assert plan.elapsed_share == 0
    assert all(_maybe(r["pacing"]) is None for r in rows.values())
    assert rows["leads"]["target"] == 20 and rows["leads"]["actual"] == 0 and rows["leads"]["gap_to_date"] == 0


def test_without_a_goal_no_stage_has_a_target(world):
    plan = goals.goal_plan(world, parse_period("2026-Q4"), HALF)
    assert plan.goal_revenue is None and plan.targets == dict.fromkeys(goals.STAGE_KEYS)
    assert "No revenue goal is set for 2026-Q4" in plan.notes[0]
    assert all(_maybe(r["target"]) is None and _maybe(r["gap_to_date"]) is None for r in _rows(plan).values())


def test_a_missing_rate_is_said_plainly(empty):
    # deals but no won deal in the trailing year: deal size unknown, so no target at all
    empty.execute("INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES ('D1', NULL, 'a', '2026-07-10', 100, 'closed_lost', NULL, '2026-07-20', NULL, 'x')")
    edits.save(empty, "goal", "2026-Q3", {"revenue": 1000}, actor=SALES, reason="x", expected_version=0, as_of=AS_OF)
    plan = goals.goal_plan(empty, Q3, AS_OF)
    assert plan.targets["won"] is None
    assert any("average won deal size is unknown" in n for n in plan.notes)
    assert any("No leads are loaded" in n for n in plan.notes)
    rows = _rows(plan)
    assert _maybe(rows["leads"]["actual"]) is None  # no leads table: unknown, not zero
    assert rows["opportunities"]["actual"] == 1     # D1 created 07-10


def test_empty_database_says_what_cannot_be_computed(empty):
    plan = goals.goal_plan(empty, Q3, AS_OF)
    text = " ".join(plan.notes)
    assert "No revenue goal" in text and "No leads are loaded" in text and "No deals are loaded" in text
    assert all(_maybe(r["actual"]) is None for r in _rows(plan).values())
    split = goals.goal_plan(empty, Q3, AS_OF, "source")
    assert split.stages.empty and list(split.stages.columns) == list(goals.SEGMENT_COLUMNS)


# --- by segment -----------------------------------------------------------------------------------------

def test_split_by_source(world):
    plan = goals.goal_plan(world, Q3, HALF, "source")
    # trailing year (2025-08-16, 2026-08-16]: leads webinar 10 (L01–L08, P01–P02), events 10 (L09–L12, P03–P08);
    # quality webinar 4, events 6; accepted webinar 2 (L01, L02), events 3 (L09, P03, P04);
    # opportunities created D1 webinar, D2 events, D3 and D7 sales-sourced (D5 is older; D6 after as-of);
    # won D1 webinar, D7 sales-sourced (D5 won before the trailing year)
    # ordered by total volume: webinar 8+4+2+1+1 (Q3) + 10+4+2+1+1 (trailing) = 34; events 8 + 20 = 28;
    # sales-sourced 2 + 3 = 5
    assert goals.segment_values(plan) == ["webinar", "events", "sales-sourced"]
    expected = {
        # value: stage: (share, target, actual, pacing)
        "webinar": {"won": (0.5, 1, 1, 2.0),                  # 2 × 1/2; D1; 1 / 0.5
                    "opportunities": (0.25, 1, 1, 2.0),       # 4 × 1/4; D1
                    "accepted": (0.4, 3.2, 2, 2 / 1.6),       # 8 × 2/5; L01, L02
                    "quality_leads": (0.4, 4, 4, 2.0),        # 10 × 4/10; L01–L04
                    "leads": (0.5, 10, 8, 1.6)},              # 20 × 10/20; L01–L08
        "events": {"won": (0.0, 0, 0, None),                  # no trailing-year win: no target, no pacing
                   "opportunities": (0.25, 1, 1, 2.0),        # D2
                   "accepted": (0.6, 4.8, 1, 1 / 2.4),        # L09
                   "quality_leads": (0.6, 6, 2, 2 / 3),       # L09, L10
                   "leads": (0.5, 10, 4, 0.8)},               # L09–L12
        "sales-sourced": {"won": (0.5, 1, 1, 2.0),            # D7
                          "opportunities": (0.5, 2, 1, 1.0),  # D3
                          "leads": (0.0, 0, 0, None)},
    }
    for value, stages in expected.items():
        rows = _rows(plan, value)
        for stage, (share, target, actual, pace) in stages.items():
            r = rows[stage]
            assert (r["share"], r["target"], r["actual"]) == pytest.approx((share, target, actual)), (value, stage)
            assert _maybe(r["pacing"]) == (None if pace is None else pytest.approx(pace)), (value, stage)
    # the split adds up to the whole period's targets and actuals
    by_stage = plan.stages.groupby("stage")[["target", "actual"]].sum()
    assert by_stage.loc["accepted"].tolist() == pytest.approx([8, 3])
    assert by_stage.loc["won"].tolist() == pytest.approx([2, 2])


def test_split_by_region_uses_lead_owner_for_lead_stages_and_deal_owner_for_deals(world):
    plan = goals.goal_plan(world, Q3, HALF, "region")
    na = _rows(plan, "NA")
    # every deal is A1's (NA): all of the won and opportunity targets and actuals
    assert (na["won"]["share"], na["won"]["target"], na["won"]["actual"]) == (1.0, 2, 2)
    assert (na["opportunities"]["target"], na["opportunities"]["actual"]) == (4, 3)
    # lead stages: S2's leads are the events ones
    assert (na["leads"]["target"], na["leads"]["actual"]) == (10, 4)
    emea = _rows(plan, "EMEA")
    assert (emea["won"]["target"], emea["quality_leads"]["target"], emea["quality_leads"]["actual"]) == (0, 4, 4)


def test_split_by_team_on_the_tiny_world_keeps_unowned_leads(tiny):
    plan = goals.goal_plan(tiny, Q3, AS_OF, "team")
    assert set(goals.segment_values(plan)) == {"ae-na", "sdr-na", "sdr-emea", UNASSIGNED}
    unowned = _rows(plan, UNASSIGNED)
    # L6 has no owner (the team dimension reads 'unassigned'): trailing-year cohort 1 of 9 leads, 1 of 6 quality leads; in Q3 it is 1 lead
    assert unowned["leads"]["share"] == pytest.approx(1 / 9) and unowned["leads"]["actual"] == 1
    assert unowned["leads"]["target"] == pytest.approx(300 / 11 / 9)
    assert unowned["quality_leads"]["share"] == pytest.approx(1 / 6)


def test_segments_are_allow_listed(world):
    with pytest.raises(ValueError):
        goals.goal_plan(world, Q3, HALF, "source; DROP TABLE leads")
    with pytest.raises(ValueError):
        goals.goal_plan(world, Q3, HALF, "industry")  # a funnel segment, but not one goals are split by


def test_values_beyond_the_limit_are_summed_not_dropped(world, monkeypatch):
    monkeypatch.setattr(goals, "MAX_SEGMENTS", 2)
    plan = goals.goal_plan(world, Q3, HALF, "source")
    assert goals.segment_values(plan) == ["webinar", goals.OTHER_SEGMENTS]
    assert (plan.segments_listed, plan.segments_total) == (2, 3)
    other = _rows(plan, goals.OTHER_SEGMENTS)
    # events + sales-sourced: won share 0 + 0.5, opportunities 0.25 + 0.5 → targets 1 and 3; actuals 1 and 2
    assert (other["won"]["target"], other["won"]["actual"]) == (1, 1)
    assert (other["opportunities"]["target"], other["opportunities"]["actual"]) == (3, 2)


# --- what-if --------------------------------------------------------------------------------------------

def test_what_if_recomputes_volumes_without_saving(world):
    plan = goals.goal_plan(world, Q3, HALF)
    before = (data_version(world), len(edits.history(world, "goal", "2026-Q3")))
    frame = goals.what_if(plan, 40_000, win_rate=0.25)
    rows = {r["stage"]: r for r in frame.to_dict("records")}
    # 40,000 / 10,000 = 4 won; / 0.25 = 16 opportunities; / 0.5 = 32 accepted; / 0.8 = 40 quality; / 0.5 = 80
    assert [rows[s]["required"] for s in goals.STAGE_KEYS] == pytest.approx([4, 16, 32, 40, 80])
    assert [rows[s]["change"] for s in goals.STAGE_KEYS] == pytest.approx([2, 12, 24, 30, 60])
    assert rows["opportunities"]["rate_changed"] and not rows["won"]["rate_changed"]
    assert (data_version(world), len(edits.history(world, "goal", "2026-Q3"))) == before
    # a zero rate leaves its stage and those below undefined, as the cascade does (other inputs: the plan's):
    # 4 won / 0.5 = 8 opportunities / 0.5 = 16 accepted / 0 → undefined
    zero = {r["stage"]: r["required"] for r in goals.what_if(plan, 40_000, quality_to_accepted=0).to_dict("records")}
    assert zero["accepted"] == 16 and _maybe(zero["quality_leads"]) is None and _maybe(zero["leads"]) is None
    with pytest.raises(ValueError):
        goals.what_if(plan, 1, churn=0.1)


# --- saving: every goal-dependent figure follows at once ------------------------------------------------

def test_a_save_bumps_the_data_version_and_every_goal_figure_follows(tiny):
    version = data_version(tiny)
    edits.save(tiny, "goal", "2026-Q3", GoalBody(revenue=50_000), actor=MARKETING, reason="halve",
               expected_version=1, as_of=AS_OF)
    assert data_version(tiny) == version + 1  # what ui.data.cached keys on
    report = build_report(tiny, Q3, AS_OF)
    # attainment 35,000 / 50,000; coverage 42,000 / (50,000 − 35,000) = 2.8
    assert report["goal"]["revenue"] == 50_000 and report["goal"]["attainment"] == 0.7
    assert report["pipeline"]["coverage"] == pytest.approx(2.8)
    assert goals.goal_status(tiny, Q3, AS_OF).pacing == pytest.approx(35_000 * 92 / (50_000 * 45.5))
    assert _rows(goals.goal_plan(tiny, Q3, AS_OF))["won"]["target"] == pytest.approx(30 / 11)  # 50,000 / (55,000/3)
    assert pipeline(tiny, Q3, AS_OF, goals.goal_revenue(tiny, Q3)).coverage == pytest.approx(2.8)


def test_two_sessions_editing_the_same_goal_one_wins(tiny):
    # both open version 1 of the tiny goal; marketing saves first
    opened_by_marketing = opened_by_sales = edits.latest(tiny, "goal", "2026-Q3").version
    edits.save(tiny, "goal", "2026-Q3", GoalBody(revenue=120_000), actor=MARKETING, reason="stretch",
               expected_version=opened_by_marketing, as_of=AS_OF)
    version = data_version(tiny)
    with pytest.raises(edits.Conflict) as told:
        edits.save(tiny, "goal", "2026-Q3", GoalBody(revenue=80_000), actor=SALES, reason="realistic",
                   expected_version=opened_by_sales, as_of=AS_OF)
    assert told.value.current.body.revenue == 120_000 and told.value.current.saved_by == "Mia Kent"
    history = edits.history(tiny, "goal", "2026-Q3")
    assert [(v.version, v.body.revenue, v.saved_by) for v in history] == [
        (2, 120_000, "Mia Kent"), (1, 100_000, "Lee Ader")]  # one save landed, nothing overwritten
    assert data_version(tiny) == version
    assert goals.goal_plan(tiny, Q3, AS_OF).goal_revenue == 120_000


def test_an_ended_quarter_needs_the_correction_flag_judged_on_the_data_as_of(tiny):
    q2 = "2026-Q2"  # ended 2026-07-01, before the tiny world's as-of
    with pytest.raises(edits.EditRefused, match="tick 'correction'"):
        edits.save(tiny, "goal", q2, {"revenue": 90_000}, actor=SALES, reason="late", expected_version=0, as_of=AS_OF)
    edits.save(tiny, "goal", q2, {"revenue": 90_000, "correction": True}, actor=SALES, reason="fix",
               expected_version=0, as_of=AS_OF)
    assert goals.goal_revenue(tiny, parse_period(q2)) == 90_000


# --- display: rounding up, tables, charts ---------------------------------------------------------------

def test_display_rounds_targets_up_and_keeps_the_gap_consistent(tiny):
    plan = goals.goal_plan(tiny, Q3, AS_OF)
    table = stage_table(plan.stages).set_index("Stage")
    columns = [MEASURES[m].label for m in ("stage_target", "stage_target_to_date", "stage_actual", "stage_gap",
                                             "still_needed", "stage_pacing")]
    # won: target 5.45 → 6; to date 2.70 → 3; actual 2; gap 0.70 → 1 (= 3 − 2); still needed 3.45 → 4
    assert table.loc[WON, columns].tolist() == ["6", "3", "2", "1", "4", "74.1%"]
    # opportunities: to date 4.50 → 5, actual 7: ahead by 2 (gap −2.50 rounds up to −2)
    assert table.loc[CREATED, MEASURES["stage_gap"].label] == "-2"
    # the table says which records each actual counts
    assert table["Counts"].tolist() == ["deals closed in the period", "deals created in the period"] + [
        "leads created in the period"] * 3
    assert (whole_up(5.0000000001), whole_up(5.2), whole_up(-2.5), whole_up(None)) == (5, 6, -2, None)
    assert progress_chart(plan.stages, plan.elapsed_share) is not None
    what = whatif_table(goals.what_if(plan, 100_000)).set_index("Stage")
    assert what.loc["Leads", [MEASURES["required_volume"].label, "Saved plan", "Change"]].tolist() == ["28", "28", "0"]


def test_no_chart_without_targets(world):
    plan = goals.goal_plan(world, parse_period("2026-Q4"), HALF)
    assert progress_chart(plan.stages, plan.elapsed_share) is None
    assert stage_table(plan.stages).loc[0, MEASURES["stage_target"].label] == "—"


# --- the cascade's stages read as what they count ---------------------------------------------------------

def test_cascade_stages_are_labelled_as_their_measures_never_as_the_cohort_funnel():
    # the deal stages count deals won / created in the period, not the lead cohort's opportunities and wins
    assert goals.STAGE_LABELS == {"won": "Deals won", "opportunities": "Deals created", "accepted": "Accepted leads",
                                  "quality_leads": "Quality leads", "leads": "Leads"}
    assert not set(goals.STAGE_LABELS.values()) & {MEASURES["won"].label, MEASURES["opportunities"].label}
    assert [s.counts for s in goals.CASCADE] == ["deals closed in the period", "deals created in the period"] + [
        "leads created in the period"] * 3


def test_each_stage_says_how_its_target_is_derived(tiny):
    rows = _rows(goals.goal_plan(tiny, Q3, AS_OF))
    assert {s: r["derived_as"] for s, r in rows.items()} == {
        "won": "revenue goal ÷ average won deal size",
        "opportunities": "deals won ÷ win rate",
        "accepted": "deals created ÷ (accepted → opportunity)",
        "quality_leads": "accepted leads ÷ (quality → accepted)",
        "leads": "quality leads ÷ (lead → quality)",
    }


def test_stage_rows_whole_period_or_one_segment_value(world):
    plan = goals.goal_plan(world, Q3, HALF)
    assert goals.stage_rows(plan)["stage"].tolist() == list(goals.STAGE_KEYS)
    split = goals.goal_plan(world, Q3, HALF, "source")
    assert goals.stage_rows(split, "events")["segment"].unique().tolist() == ["events"]
    assert goals.stage_rows(split, "events")["actual"].tolist() == [0, 1, 1, 2, 4]  # D2; L09; L09, L10; L09–L12
    assert goals.stage_rows(split).empty  # a split shows one value at a time
    assert split.listing_note is None


def test_plan_notes_on_missing_tables_are_told_apart(empty):
    plan = goals.goal_plan(empty, Q3, AS_OF)
    assert sorted(plan.table_notes) == [
        "No deals are loaded, so revenue, pipeline and win-rate figures cannot be computed.",
        "No leads are loaded, so lead, quality-lead and funnel figures cannot be computed.",
    ]
    assert plan.other_notes[0] == "No revenue goal is set for 2026-Q3, so no stage has a target."
    assert set(plan.table_notes) | set(plan.other_notes) == set(plan.notes)


def test_a_long_split_says_how_many_values_it_summed(world, monkeypatch):
    monkeypatch.setattr(goals, "MAX_SEGMENTS", 2)
    plan = goals.goal_plan(world, Q3, HALF, "source")
    assert plan.listing_note == "3 values: the largest 1 are listed, the rest are summed in one row."


# --- the Goals page's rules, without Streamlit (core.goals_editor) ----------------------------------------

def test_the_form_maps_to_a_goal_body_and_back():
    body = GoalBody(revenue=100_000, avg_deal_size=20_000, rate_overrides={"win_rate": 0.5})
    values = goals_editor.form_values(body)
    assert values == {"revenue": 100_000, "avg_deal_size": 20_000, "win_rate": 0.5, "accepted_to_opportunity": None,
                      "quality_to_accepted": None, "lead_to_quality": None, "correction": False, "reason": ""}
    # only the rates given become overrides; the reason travels apart
    assert goals_editor.body_from_form(values) == {"revenue": 100_000, "avg_deal_size": 20_000,
                                                   "rate_overrides": {"win_rate": 0.5}, "correction": False}
    assert GoalBody.model_validate(goals_editor.body_from_form(values)) == body
    assert goals_editor.form_values(None) == dict.fromkeys(goals_editor.form_values(body), None) | {
        "correction": False, "reason": ""}


def test_the_what_if_starts_from_the_saved_plan(tiny):
    start = goals_editor.whatif_start(goals.goal_plan(tiny, Q3, AS_OF))
    # the tiny goal (100,000) with the trailing year's rates (test_metrics)
    assert start == pytest.approx({"revenue": 100_000, "avg_deal_size": 55_000 / 3, "win_rate": 0.6,
                                   "accepted_to_opportunity": 0.75, "quality_to_accepted": 2 / 3,
                                   "lead_to_quality": 2 / 3})


def test_a_what_if_copied_into_the_form_keeps_only_real_overrides_and_a_quarters_goal(tiny):
    august = parse_period("2026-08")
    plan = goals.goal_plan(tiny, august, AS_OF)
    asked = goals_editor.whatif_start(plan) | {"revenue": 31_000, "win_rate": 0.3}
    form = goals_editor.form_from_whatif(august, plan, asked)
    # August is 31 of Q3's 92 days: 31,000 for the month is 92,000 for the quarter; the win rate differs from
    # the trailing year's 0.6, so it overrides; every other input equals the trailing year: left empty
    assert form == {"revenue": pytest.approx(92_000), "avg_deal_size": None, "win_rate": 0.3,
                    "accepted_to_opportunity": None, "quality_to_accepted": None, "lead_to_quality": None}
    assert goals_editor.form_from_whatif(Q3, plan, {"revenue": None})["revenue"] is None
    assert goals_editor.whatif_warning(asked) is None
    assert "undefined" in goals_editor.whatif_warning(asked | {"lead_to_quality": 0})


def test_who_may_save_and_what_the_editor_says():
    assert goals_editor.refusal_note(LEADERSHIP) is None and goals_editor.refusal_note(MARKETING) is None
    assert goals_editor.refusal_note(Actor(name="Vic Board", team="viewer")).startswith("Vic Board (viewer) can read every figure")
    v2 = edits.Version("goal", "2026-Q3", 2, HALF, GoalBody(revenue=1), "Mia Kent", HALF, "stretch")
    assert goals_editor.editor_caption(Q3, 1, v2).startswith("Editing 2026-Q3, version 1. The latest is version 2.")
    assert goals_editor.editor_caption(Q3, 0, None).startswith("No goal saved for 2026-Q3 yet. Leave")
    assert goals_editor.version_line(v2) == "2026-Q3 goal: version 2, saved by Mia Kent on 2026-08-16 00:00 UTC — “stretch”"
    assert goals_editor.scope_note(Q3) == "one goal per quarter, shared by sales and marketing"
    assert goals_editor.scope_note(parse_period("2026-08")).endswith("(this month gets 2026-Q3's goal pro-rated by days)")


def test_a_restore_is_the_old_body_as_a_new_version(tiny):
    edits.save(tiny, "goal", "2026-Q3", GoalBody(revenue=50_000), actor=SALES, reason="halve", expected_version=1,
               as_of=AS_OF)
    versions = edits.history(tiny, "goal", "2026-Q3")
    body, reason = goals_editor.restore(versions, 1, " board kept the plan ", correction=False)
    assert (body, reason) == ({"revenue": 100_000, "avg_deal_size": None, "rate_overrides": {}, "correction": False},
                              "Restored version 1: board kept the plan")
    assert goals_editor.restore(versions, 1, "  ", correction=True)[1] == ""  # refused by core.edits: say why
    edits.save(tiny, "goal", "2026-Q3", body, actor=SALES, reason=reason, expected_version=2, as_of=AS_OF)
    assert goals.goal_revenue(tiny, Q3) == 100_000


def test_the_inputs_are_worded_from_the_semantic_layer(tiny):
    plan = goals.goal_plan(tiny, Q3, AS_OF)
    form = {f.name: f for f in goals_editor.form_fields(Q3, plan.trailing)}
    assert list(form) == ["revenue", *goals.RATE_FIELDS]
    assert form["revenue"].label == "Revenue goal for 2026-Q3"
    assert form["avg_deal_size"].label == "Average won deal size override"
    assert form["avg_deal_size"].options["placeholder"] == "trailing year: $18k"
    assert form["win_rate"].label == "Win rate (0–1)" and form["win_rate"].options["placeholder"] == "trailing year: 60.0%"
    what = {f.name: f for f in goals_editor.whatif_fields(parse_period("2026-08"))}
    assert what["revenue"].label == "Revenue goal (2026-08)"
    assert what["lead_to_quality"].options["max_value"] == 1.0 and what["avg_deal_size"].options["max_value"] is None


def test_the_pipeline_gap_table_can_be_drawn_by_the_same_stage_table(tiny):
    from core.metrics import gaps

    frame = gaps.stage_gaps(tiny, Q3, AS_OF).frame
    table = stage_table(frame, ("stage_target_to_date", "stage_actual", "stage_gap", "revenue_at_stake"))
    # accepted: to date 400/33 × 45.5/92 = 5.99 → 6, actual 3, gap 2.99 → 3, at stake 2.99 × (100,000 ÷ 400/33)
    assert table.iloc[0].tolist() == ["Accepted leads", "sales", "leads created in the period", "6", "3", "3", "$25k"]
    assert table["Stage"].tolist() == ["Accepted leads", "Quality leads", "Leads", WON, CREATED]
    split = stage_table(gaps.stage_gaps(tiny, Q3, AS_OF, "source").frame, ("stage_gap",), segment_label="Source")
    assert split.iloc[0].tolist() == ["sales-sourced", WON, "sales", "deals closed in the period", "1"]


def test_acceptance_not_recorded_makes_accepted_to_opportunity_a_construction_not_a_measure(empty):
    # Olist-like: leads are only 'converted' (they got a deal) or 'open'; no sales decision is recorded
    from core.charts_goals import rates_table
    from core.db import transaction

    with transaction(empty, ("records",)) as cur:
        cur.execute("""INSERT INTO leads (lead_id, created_at, source, status, demo_requested) VALUES
            ('L1', '2026-07-01', 'web', 'converted', true), ('L2', '2026-07-02', 'web', 'open', true)""")
        cur.execute("""INSERT INTO deals (deal_id, lead_id, created_at, amount, stage, closed_at) VALUES
            ('D1', 'L1', '2026-07-05', 100, 'closed_won', '2026-07-20')""")
    rates = goals.trailing_year_rates(empty, AS_OF)
    assert rates.accepted_to_opportunity == 1.0  # 1 accepted (it has a deal) of which 1 has a deal
    assert rates.by_construction == {"accepted_to_opportunity": "no acceptance decision in the data: accepted = has a deal"}
    assert any("no sales acceptance decision" in n for n in rates.notes)
    plan = goals.goal_plan(empty, Q3, AS_OF)
    basis = dict(zip(rates_table(plan.stages)["Stage"], rates_table(plan.stages)["Basis"]))
    assert basis["Accepted leads"] == "by construction (no acceptance decision in the data: accepted = has a deal)"
    with transaction(empty, ("records",)) as cur:  # one recorded decision and the rate is measured again
        cur.execute("UPDATE leads SET status = 'rejected' WHERE lead_id = 'L2'")
    assert goals.trailing_year_rates(empty, AS_OF).by_construction == {}
