"""Unit tier for pipeline gaps: movement (advanced, slipped), stalls from stage history, coverage needed per
segment (undefined without wins), the records behind figures, the funnel comparisons, the gap to goal
ranked by revenue at stake and the gap decomposition — on tiny hand-made worlds, values derived by hand."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from conftest import AS_OF, LEADERSHIP
from core import edits
from core import pipeline_view as view
from core.db import link_keys
from core.metrics import gaps
from core.metrics import pipeline as pl
from core.metrics.funnel import funnel, funnel_by
from core.models import GoalBody
from core.periods import parse_period
from core.report import build_report
from core.semantic.enums import OTHER_VALUES

Q3 = parse_period("2026-Q3")

# World A — deals of four AE teams, 2026-Q3 as of 2026-08-15 12:00 (AS_OF).
#   P1 ae-na   created 06-01, proposal, expected 08-10 (passed, still open)       history disc 06-01, qual 07-01, prop 07-20
#   P2 ae-na   created 05-01, negotiation, expected 09-20                         history disc 05-01, nego 06-01, prop 07-01, nego 07-10
#   P3 ae-emea created 07-05, won 07-30, expected 07-30                           history disc 07-05, prop 07-15, won 07-30
#   P4 ae-emea created 07-10, lost 08-01                                          history disc 07-10, lost 08-01
#   P5 ae-emea created 07-01, discovery, expected 08-14 (passed, still open)      no history
#   P6 ae-na   created 04-01, won 10-02 (after as-of: open then), expected 08-15  history disc 04-01, won 10-02
#   P7 ae-na   won 06-15; P8 ae-na lost 05-01; P9 ae-emea lost 03-01; P10 ae-apac lost 04-01
#   P11 ae-apac created 07-20, discovery, expected 09-30                          history disc 07-20
#   P12 ae-latam created 08-01, qualification, expected 09-01                     history disc 08-01, qual 08-05
WORLD_A = """
INSERT INTO reps VALUES ('A1', 'Ann Lowe', 'ae-na', 'NA'), ('A2', 'Bo Ek', 'ae-emea', 'EMEA'),
                        ('A3', 'Cy Tan', 'ae-apac', 'APAC'), ('A4', 'Di Paz', 'ae-latam', 'LATAM');
INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
  ('P1',  NULL, 'One',    '2026-06-01', 10000, 'proposal',    '2026-08-10', NULL,          'A1', NULL),
  ('P2',  NULL, 'Two',    '2026-05-01', 20000, 'negotiation', '2026-09-20', NULL,          'A1', NULL),
  ('P3',  NULL, 'Three',  '2026-07-05',  5000, 'closed_won',  '2026-07-30', '2026-07-30',  'A2', NULL),
  ('P4',  NULL, 'Four',   '2026-07-10',  8000, 'closed_lost', '2026-08-01', '2026-08-01',  'A2', 'price'),
  ('P5',  NULL, 'Five',   '2026-07-01',  7000, 'discovery',   '2026-08-14', NULL,          'A2', NULL),
  ('P6',  NULL, 'Six',    '2026-04-01',  4000, 'closed_won',  '2026-08-15', '2026-10-02',  'A1', NULL),
  ('P7',  NULL, 'Seven',  '2026-03-01', 30000, 'closed_won',  '2026-06-15', '2026-06-15',  'A1', NULL),
  ('P8',  NULL, 'Eight',  '2026-02-01',  6000, 'closed_lost', '2026-05-01', '2026-05-01',  'A1', 'timing'),
  ('P9',  NULL, 'Nine',   '2026-01-10',  9000, 'closed_lost', '2026-03-01', '2026-03-01',  'A2', 'price'),
  ('P10', NULL, 'Ten',    '2026-02-01',  3000, 'closed_lost', '2026-04-01', '2026-04-01',  'A3', 'price'),
  ('P11', NULL, 'Eleven', '2026-07-20',  6000, 'discovery',   '2026-09-30', NULL,          'A3', NULL),
  ('P12', NULL, 'Twelve', '2026-08-01',  2000, 'qualification','2026-09-01', NULL,         'A4', NULL);
INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES
  ('P1', 'discovery', '2026-06-01'), ('P1', 'qualification', '2026-07-01'), ('P1', 'proposal', '2026-07-20'),
  ('P2', 'discovery', '2026-05-01'), ('P2', 'negotiation', '2026-06-01'), ('P2', 'proposal', '2026-07-01'),
  ('P2', 'negotiation', '2026-07-10'),
  ('P3', 'discovery', '2026-07-05'), ('P3', 'proposal', '2026-07-15'), ('P3', 'closed_won', '2026-07-30'),
  ('P4', 'discovery', '2026-07-10'), ('P4', 'closed_lost', '2026-08-01'),
  ('P6', 'discovery', '2026-04-01'), ('P6', 'closed_won', '2026-10-02'),
  ('P11', 'discovery', '2026-07-20'),
  ('P12', 'discovery', '2026-08-01'), ('P12', 'qualification', '2026-08-05');
"""


@pytest.fixture
def world_a(empty):
    empty.execute(WORLD_A)
    link_keys(empty)  # raw rows: their lead keys, as every write path gives them
    return empty


def test_movement(world_a):
    m = pl.pipeline_movement(world_a, Q3, AS_OF)
    # created in Q3: P3, P4, P5, P11, P12 = 5,000 + 8,000 + 7,000 + 6,000 + 2,000
    assert (m.created_deals, m.created_amount) == (5, 28_000)
    # advanced (an open stage above the previous row's, entered in Q3): P1 (qual 07-01, prop 07-20),
    # P2 (nego 07-10 after prop 07-01; prop 07-01 after nego is a step back, not an advance), P3 (prop
    # 07-15), P12 (qual 08-05). P4's and P11's first rows have no previous stage; P6's win is after as-of.
    assert (m.advanced_deals, m.advanced_amount) == (4, 10_000 + 20_000 + 5_000 + 2_000)
    assert (m.won_deals, m.won_amount, m.lost_deals, m.lost_amount) == (1, 5_000, 1, 8_000)
    # slipped: expected in Q3 before 08-15 and not closed: P1 (08-10), P5 (08-14). P6's date is as-of's
    # own day (not yet passed); P3 and P4 closed on their dates.
    assert (m.slipped_deals, m.slipped_amount) == (2, 17_000)
    assert m.notes == []


def test_slipped_after_the_period_ended(world_a):
    # As of 2026-10-20 every deal expected in Q3 that did not close in Q3 slipped: P1, P2, P5, P11, P12
    # are still open, and P6 closed on 10-02, after the period, though expected on 08-15.
    m = pl.pipeline_movement(world_a, Q3, datetime(2026, 10, 20))
    assert (m.slipped_deals, m.slipped_amount) == (6, 10_000 + 20_000 + 7_000 + 4_000 + 6_000 + 2_000)
    rows = pl.deal_records(world_a, Q3, datetime(2026, 10, 20), "slipped").frame
    assert sorted(rows["deal_id"]) == ["P1", "P11", "P12", "P2", "P5", "P6"]


def test_stalls_use_the_latest_entry_into_the_current_stage(world_a):
    rows = pl.stalled_deals(world_a, AS_OF, 30)
    # threshold: entered before 07-16 12:00. P6 discovery since 04-01 (its win row is after as-of) =
    # 136.5 d; P5 has no history, so since created 07-01 = 45.5 d; P2 re-entered negotiation 07-10 =
    # 36.5 d (not 75.5 d from its first negotiation on 06-01). P1 (07-20), P11 (07-20), P12 (08-05) are fresh.
    assert rows["deal_id"].tolist() == ["P6", "P5", "P2"]
    assert rows["days_in_stage"].tolist() == [136.5, 45.5, 36.5]
    assert rows["stage"].tolist() == ["discovery", "discovery", "negotiation"]
    assert rows["owner"].tolist() == ["Ann Lowe", "Bo Ek", "Ann Lowe"]
    assert rows["amount"].tolist() == [4_000, 7_000, 20_000]
    assert pl.stalled_deals(world_a, AS_OF, 30, limit=2)["deal_id"].tolist() == ["P6", "P5"]


def test_exactly_stall_days_in_a_stage_is_not_stalled(world_a):
    # as of 08-09 00:00 the threshold is 07-10 00:00, the moment P2 re-entered negotiation: exactly 30
    # days is not "more than" 30. P5 (39 d) and P6 (130 d) are stalled.
    rows = pl.stalled_deals(world_a, datetime(2026, 8, 9), 30)
    assert rows["deal_id"].tolist() == ["P6", "P5"]


def test_pipeline_and_coverage_needed(world_a):
    p = pl.pipeline(world_a, Q3, AS_OF, goal_revenue=100_000)
    # open, expected in Q3: P1 10k, P2 20k, P5 7k, P6 4k (won only after as-of), P11 6k, P12 2k
    assert (p.open_amount, p.open_deals) == (49_000, 6)
    assert p.won_revenue == 5_000  # P3
    assert p.coverage == pytest.approx(49_000 / 95_000)
    # trailing year: won P3, P7; lost P4, P8, P9, P10 → 2 / 6; coverage needed = 1 / (1/3) = 3
    assert p.win_rate == pytest.approx(1 / 3)
    assert p.coverage_needed == pytest.approx(3.0)
    assert p.stalled_deals == 3


def test_coverage_by_segment_with_undefined_need(world_a):
    rows = pl.pipeline_by(world_a, Q3, AS_OF, "team", goal_revenue=100_000).set_index("segment")
    # biggest shortfall first; segments whose need is undefined last, bigger open pipeline first
    assert list(rows.index) == ["ae-na", "ae-emea", "ae-apac", "ae-latam"]
    na, emea = rows.loc["ae-na"], rows.loc["ae-emea"]
    # ae-na: open P1, P2, P6 = 34,000; trailing year won P7 (30,000), lost P8 → win rate 1/2, needs 2×;
    # share of goal = 30,000 / 35,000 of trailing won revenue = 6/7 → 85,714.29, nothing won in Q3
    assert (na["open_deals"], na["open_amount"], na["won_revenue"]) == (3, 34_000, 0)
    assert (na["win_rate"], na["coverage_needed"]) == (0.5, 2.0)
    assert na["segment_goal"] == pytest.approx(100_000 * 6 / 7)
    assert na["coverage"] == pytest.approx(34_000 / (100_000 * 6 / 7))
    assert na["pipeline_shortfall"] == pytest.approx(2 * 100_000 * 6 / 7 - 34_000)
    assert (na["stalled_deals"], na["status"]) == (2, "short")  # P2, P6
    # ae-emea: open P5 7,000; won P3 (5,000) in Q3; trailing won P3, lost P4, P9 → 1/3, needs 3×;
    # share 5,000 / 35,000 = 1/7 → remaining 14,285.71 − 5,000 = 9,285.71
    assert emea["win_rate"] == pytest.approx(1 / 3) and emea["coverage_needed"] == pytest.approx(3.0)
    assert emea["remaining_goal"] == pytest.approx(100_000 / 7 - 5_000)
    assert emea["coverage"] == pytest.approx(7_000 / (100_000 / 7 - 5_000))
    assert emea["pipeline_shortfall"] == pytest.approx(3 * (100_000 / 7 - 5_000) - 7_000)
    # ae-apac closed only a loss (P10): win rate 0, coverage need undefined; ae-latam closed nothing
    apac, latam = rows.loc["ae-apac"], rows.loc["ae-latam"]
    assert apac["win_rate"] == 0 and pd.isna(apac["coverage_needed"])
    assert apac["status"] == "need undefined: no deal won in the trailing year"
    assert pd.isna(latam["win_rate"]) and pd.isna(latam["coverage_needed"])
    assert latam["status"] == "need undefined: nothing closed in the trailing year"
    assert (apac["open_amount"], latam["open_amount"]) == (6_000, 2_000)


def test_segment_whose_share_of_the_goal_is_won(world_a):
    rows = pl.pipeline_by(world_a, Q3, AS_OF, "team", goal_revenue=5_000).set_index("segment")
    # ae-emea's share is 5,000 / 7 = 714.29, and it won 5,000 (P3): nothing remains to cover
    emea = rows.loc["ae-emea"]
    assert emea["status"] == "goal share met" and emea["remaining_goal"] == pytest.approx(5_000 / 7 - 5_000)
    assert pd.isna(emea["coverage"]) and pd.isna(emea["pipeline_shortfall"])
    # ae-na: 5,000 × 6/7 remains, × 2 needed = 8,571.43, and it has 34,000 open: covered, 25,428.57 spare
    na = rows.loc["ae-na"]
    assert na["status"] == "covered" and na["pipeline_shortfall"] == pytest.approx(2 * 5_000 * 6 / 7 - 34_000)


def test_coverage_needed_undefined_without_wins_overall(empty):
    empty.execute("""INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
        ('X1', NULL, 'A', '2026-07-01', 1000, 'closed_lost', '2026-07-10', '2026-07-10', NULL, 'price'),
        ('X2', NULL, 'B', '2026-07-01', 5000, 'discovery', '2026-09-10', NULL, NULL, NULL)""")
    p = pl.pipeline(empty, Q3, AS_OF, goal_revenue=10_000)
    # one loss, no win: win rate 0, so no amount of pipeline covers the goal — need undefined, with a note
    assert p.win_rate == 0 and p.coverage_needed is None
    assert any("coverage needed" in n for n in p.notes)
    assert p.coverage == pytest.approx(5_000 / 10_000)
    rows = pl.pipeline_by(empty, Q3, AS_OF, "source", goal_revenue=10_000)
    # no trailing-year won revenue: the goal cannot be shared out, so no segment has a coverage
    assert rows["segment"].tolist() == ["sales-sourced"]
    assert pd.isna(rows.loc[0, "segment_goal"]) and pd.isna(rows.loc[0, "coverage"])


def test_records_match_the_figures(world_a):
    m = pl.pipeline_movement(world_a, Q3, AS_OF)
    for kind in ("created", "advanced", "won", "lost", "slipped"):
        records = pl.deal_records(world_a, Q3, AS_OF, kind)
        assert records.total == getattr(m, f"{kind}_deals"), kind
        assert records.frame["amount"].sum() == getattr(m, f"{kind}_amount"), kind
    stalled = pl.deal_records(world_a, Q3, AS_OF, "stalled", stall_days=30)
    assert sorted(stalled.frame["deal_id"]) == ["P2", "P5", "P6"]
    # one segment value: ae-na's open pipeline in Q3 is P2, P1, P6 (biggest first)
    na = pl.deal_records(world_a, Q3, AS_OF, "open_pipeline", "team", "ae-na")
    assert na.frame["deal_id"].tolist() == ["P2", "P1", "P6"] and na.total == 3
    assert na.frame["days_in_stage"].tolist() == [36.5, 26.5, 136.5]
    # bounded: 2 of the 5 created, the total still 5
    limited = pl.deal_records(world_a, Q3, AS_OF, "created", limit=2)
    assert (len(limited.frame), limited.total) == (2, 5)
    with pytest.raises(ValueError):
        pl.deal_records(world_a, Q3, AS_OF, "1=1 OR TRUE")
    with pytest.raises(ValueError):
        pl.deal_records(world_a, Q3, AS_OF, "won", "r.name; DROP TABLE deals", "x")


def test_movement_without_stage_history(world_a):
    world_a.execute("DELETE FROM deal_stage_history")
    m = pl.pipeline_movement(world_a, Q3, AS_OF)
    assert m.advanced_deals is None and "stage history" in m.notes[0]
    assert m.created_deals == 5  # the rest is still known
    # stalls cannot be told without history: unknown on the headline and per segment alike, never 0
    assert pl.pipeline(world_a, Q3, AS_OF, 100_000).stalled_deals is None
    assert pl.pipeline_by(world_a, Q3, AS_OF, "team", 100_000)["stalled_deals"].isna().all()


def test_each_figure_is_one_function():
    # the headline and every segment row call these, so they cannot drift apart
    assert pl.win_rate(1, 3) == 0.25 and pl.win_rate(0, 0) is None
    assert pl.coverage(50_000, 100_000, 50_000) == 1.0
    assert pl.coverage(50_000, 100_000, 100_000) is None and pl.coverage(50_000, None, 0) is None
    assert pl.coverage_needed(0.25) == 4.0 and pl.coverage_needed(0.0) is None and pl.coverage_needed(None) is None
    # 4 open deals × 50% × 1,000 ÷ 20 days = 100 a day; a zero-day cycle has no velocity
    assert pl.velocity(4, 0.5, 1_000, 20) == 100.0 and pl.velocity(4, 0.5, 1_000, 0) is None
    assert pl.velocity(4, None, 1_000, 20) is None


@pytest.mark.parametrize("segment", pl.PIPELINE_DIMENSIONS)
def test_segments_add_up_to_the_headline(world_a, segment):
    # the headline is the same query without a segment: every breakdown sums to it
    p = pl.pipeline(world_a, Q3, AS_OF, 100_000)
    rows = pl.pipeline_by(world_a, Q3, AS_OF, segment, 100_000)
    assert (rows["open_deals"].sum(), rows["open_amount"].sum()) == (p.open_deals, p.open_amount) == (6, 49_000)
    assert (rows["won_revenue"].sum(), rows["stalled_deals"].sum()) == (p.won_revenue, p.stalled_deals) == (5_000, 3)
    won, lost = rows["year_won_deals"].sum(), rows["year_lost_deals"].sum()
    assert pl.win_rate(won, lost) == p.win_rate == 1 / 3  # P3, P7 won; P4, P8, P9, P10 lost


def test_rep_segment_is_the_deal_owner(world_a):
    rows = pl.pipeline_by(world_a, Q3, AS_OF, "rep", 100_000).set_index("segment")
    # Ann Lowe owns P1, P2, P6 (open in Q3), like the ae-na team
    assert rows.loc["Ann Lowe", "open_amount"] == 34_000
    records = pl.deal_records(world_a, Q3, AS_OF, "open_pipeline", "rep", "Ann Lowe")
    assert sorted(records.frame["deal_id"]) == ["P1", "P2", "P6"]
    assert pl.deal_kind_label("open_pipeline") == "Open pipeline" and pl.deal_kind_label("won") == "Deals won"
    with pytest.raises(ValueError):
        pl.pipeline_by(world_a, Q3, AS_OF, "owner", 100_000)  # the old name: dimensions say "rep"


def test_records_caption():
    frame = pd.DataFrame({"deal_id": ["P1", "P2"]})
    assert pl.Records(frame, total=2, limit=200).caption() == "2 record(s)."
    assert pl.Records(frame, total=5, limit=2).caption("deal(s)") == "5 deal(s); the first 2 are listed and in the CSV."
    assert pl.Records(frame.head(0), total=0, limit=200).caption() == "No records behind this figure."
    assert pl.Records(frame.head(0), total=0, limit=0, note="Pick a value.").caption() == "Pick a value."


def test_nothing_loaded_says_why(empty):
    m = pl.pipeline_movement(empty, Q3, AS_OF)
    assert m.created_deals is None and "No deals" in m.notes[0]
    assert pl.pipeline_by(empty, Q3, AS_OF, "team", 100_000).empty
    d = gaps.gap_decomposition(empty, Q3, AS_OF)
    assert d.components == {} and any("No leads" in n for n in d.notes)


# --- Funnel comparisons and the leads behind a figure (tiny fixture, see test_metrics.py) -------------

def test_funnel_by_owner_dimension(tiny):
    rows = funnel_by(tiny, Q3, AS_OF, "team").set_index("segment")
    # Q3 leads by their owner's team: S1 (sdr-emea) L1 L2 L5; S2 (sdr-na) L3 L4 L7 L10; L6 has no owner
    assert rows["leads"].to_dict() == {"sdr-na": 4, "sdr-emea": 3, "unassigned": 1}
    # L6 is quality (CRM mql_at) and accepted, without a deal
    assert rows.loc["unassigned", ["quality_leads", "accepted", "opportunities"]].tolist() == [1, 1, 0]


def test_funnel_comparison(tiny):
    c = gaps.funnel_comparison(tiny, Q3, AS_OF)
    rows = c.frame.set_index("key")
    assert c.previous_label == "2026-Q2"
    # Q3: 8 / 5 / 3 / 2 / 1 (test_metrics); Q2's cohort is L9 alone: quality, converted, deal D4 still open;
    # trailing year: 9 / 6 / 4 / 3 / 1
    assert rows["this"].tolist()[:5] == [8, 5, 3, 2, 1]
    assert rows["previous"].tolist()[:5] == [1, 1, 1, 1, 0]
    assert rows["year"].tolist()[:5] == [9, 6, 4, 3, 1]
    assert rows.loc["won", "this_conversion"] == 0.5 and rows.loc["won", "previous_conversion"] == 0
    assert rows.loc["opportunities", "year_conversion"] == 0.75
    # beside the funnel: sales-sourced deals created in Q3 D5, D10; in Q2 D6; in the trailing year D5, D6,
    # D7 (2025-10-01), D9, D10 — and of those only D9 was won by as-of
    assert (rows.loc["sales_sourced_deals", "this"], rows.loc["sales_sourced_deals", "previous"],
            rows.loc["sales_sourced_deals", "year"]) == (2, 1, 5)
    assert rows.loc["sales_sourced_won", "year"] == 1
    assert rows.loc["unqualified_won", "this"] == 1  # L7 → D3


def test_funnel_segments(tiny):
    rows = gaps.funnel_segments(tiny, Q3, AS_OF, "campaign").set_index("segment")
    # Q3 leads by first-touch campaign: Brand search L2 L3 L5; no campaign L6 L7 L10; July webinar L1 L4
    assert rows["leads"].to_dict() == {"Brand search": 3, "(no campaign)": 3, "July webinar": 2}
    # July webinar: 2 leads, both quality, L1 accepted with a won deal: 1/1 → 100% opportunity → won;
    # in Q2 its only lead L9 had an open deal: 0% won
    assert rows.loc["July webinar", "conv_won"] == 1.0 and rows.loc["July webinar", "prev_conv_won"] == 0.0
    # Brand search had no lead in Q2: no previous conversion (undefined, not 0)
    assert pd.isna(rows.loc["Brand search", "prev_conv_quality_leads"])
    assert rows.loc["(no campaign)", "unqualified_won"] == 1  # L7
    with pytest.raises(ValueError):
        gaps.funnel_segments(tiny, Q3, AS_OF, "seniority; DROP TABLE leads")


def test_lead_records_match_funnel_by(tiny):
    by_source = funnel_by(tiny, Q3, AS_OF, "source").set_index("segment")
    for kind in gaps.LEAD_KINDS:
        total = gaps.lead_records(tiny, Q3, AS_OF, kind).total
        assert total == by_source[kind].sum(), kind
        for value in by_source.index:
            assert gaps.lead_records(tiny, Q3, AS_OF, kind, "source", value).total == by_source.loc[value, kind]
    # the leads of no campaign (the campaign dimension's "(no campaign)"): L6, L7, L10
    rows = gaps.lead_records(tiny, Q3, AS_OF, "leads", "campaign", "(no campaign)").frame
    assert rows["lead_id"].tolist() == ["L6", "L7", "L10"]


def test_report_sections_come_from_the_same_functions(tiny):
    report = build_report(tiny, Q3, AS_OF)
    p = pl.pipeline(tiny, Q3, AS_OF, 100_000)
    assert report["pipeline"]["open_amount"] == p.open_amount == 42_000
    assert report["pipeline"]["stalled_deals"] == p.stalled_deals == len(pl.stalled_deals(tiny, AS_OF, 30))
    c = gaps.funnel_comparison(tiny, Q3, AS_OF).frame.set_index("key")["this"]
    assert [report["funnel"][k] for k in ("leads", "quality_leads", "accepted", "opportunities", "won")] == c.tolist()[:5]


# --- World B: the gap to goal and its decomposition -------------------------------------------------------
# 2026-Q3 as of 2026-10-01 00:00 (the whole quarter elapsed). Goal 100,000 with every cascade input set
# by hand: deal size 10,000, win rate, accepted→opportunity, quality→accepted, lead→quality all 0.5, so
# the plan is 10 won, 20 opportunities, 40 accepted, 80 quality leads, 160 leads.
# Leads of Q3: Q1-Q40 quality (score 80; Q1-Q20 webinar, Q21-Q40 paid_search; Q1-Q4 converted, Q5-Q10
# accepted), U1-U10 not quality (score 10, paid_search). P1: a webinar quality lead of 2025-09.
# Deals: D1-D4 on Q1-Q4 created 07-15 (D1, D2 lost 08-15; D3, D4 open); D5 on P1 created 2026-05-01,
# won 08-20 for 8,000; D6, D7 sales-sourced, created 07-05, won 09-01 for 8,000 each; D8 sales-sourced,
# created 07-05, lost 09-10.
B_AS_OF = datetime(2026, 10, 1)
WORLD_B = """
INSERT INTO leads (lead_id, created_at, source, campaign_id, company, industry, employees, country, seniority, score, demo_requested, mql_at, owner_id, assigned_at, status, rejected_reason)
  SELECT 'Q' || i, TIMESTAMP '2026-07-01' + to_hours(i), CASE WHEN i <= 20 THEN 'webinar' ELSE 'paid_search' END,
         NULL, NULL, NULL, NULL, NULL, NULL, 80, false, NULL, NULL, NULL,
         CASE WHEN i <= 4 THEN 'converted' WHEN i <= 10 THEN 'accepted' ELSE 'open' END, NULL
  FROM range(1, 41) t(i);
INSERT INTO leads (lead_id, created_at, source, campaign_id, company, industry, employees, country, seniority, score, demo_requested, mql_at, owner_id, assigned_at, status, rejected_reason)
  SELECT 'U' || i, TIMESTAMP '2026-08-01' + to_hours(i), 'paid_search',
         NULL, NULL, NULL, NULL, NULL, NULL, 10, false, NULL, NULL, NULL, 'open', NULL
  FROM range(1, 11) t(i);
INSERT INTO leads (lead_id, created_at, source, campaign_id, company, industry, employees, country, seniority, score, demo_requested, mql_at, owner_id, assigned_at, status, rejected_reason) VALUES ('P1', '2025-09-01', 'webinar', NULL, NULL, NULL, NULL, NULL, NULL, 80, false, NULL,
                          NULL, NULL, 'converted', NULL);
INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
  ('D1', 'Q1', NULL, '2026-07-15', 5000, 'closed_lost', '2026-08-15', '2026-08-15', NULL, 'price'),
  ('D2', 'Q2', NULL, '2026-07-15', 5000, 'closed_lost', '2026-08-15', '2026-08-15', NULL, 'price'),
  ('D3', 'Q3', NULL, '2026-07-15', 5000, 'discovery',   '2026-10-15', NULL,         NULL, NULL),
  ('D4', 'Q4', NULL, '2026-07-15', 5000, 'discovery',   '2026-10-15', NULL,         NULL, NULL),
  ('D5', 'P1', NULL, '2026-05-01', 8000, 'closed_won',  '2026-08-20', '2026-08-20', NULL, NULL),
  ('D6', NULL, NULL, '2026-07-05', 8000, 'closed_won',  '2026-09-01', '2026-09-01', NULL, NULL),
  ('D7', NULL, NULL, '2026-07-05', 8000, 'closed_won',  '2026-09-01', '2026-09-01', NULL, NULL),
  ('D8', NULL, NULL, '2026-07-05', 5000, 'closed_lost', '2026-09-10', '2026-09-10', NULL, 'price');
"""
HAND_GOAL = GoalBody(revenue=100_000, avg_deal_size=10_000,
                     rate_overrides={"win_rate": 0.5, "accepted_to_opportunity": 0.5, "quality_to_accepted": 0.5,
                                     "lead_to_quality": 0.5})


@pytest.fixture
def world_b(empty):
    empty.execute(WORLD_B)
    link_keys(empty)
    edits.save(empty, "goal", "2026-Q3", HAND_GOAL, actor=LEADERSHIP, reason="hand-checkable plan",
               expected_version=0, now=AS_OF, as_of=AS_OF)
    return empty


def test_gap_decomposition_components_sum_to_the_gap(world_b):
    d = gap_decomposition = gaps.gap_decomposition(world_b, Q3, B_AS_OF)
    assert d.notes == []
    # goal to date = 100,000 × 1 (the quarter has ended); won in Q3: D5, D6, D7 = 24,000 → gap 76,000
    assert (d.goal_to_date, d.won_revenue, d.gap) == (100_000, 24_000, 76_000)
    # plan: 80 quality leads × (0.5 × 0.5 × 0.5 = 0.125) × 10,000 = 100,000
    assert (d.quality_leads_plan, d.conversion_plan, d.deal_size_plan) == (80, 0.125, 10_000)
    # actual: 40 quality leads; 4 of them (Q1-Q4) have a deal → 0.1; closed in Q3: won D5, D6, D7, lost
    # D1, D2, D8 → win rate 0.5; average won deal 24,000 / 3 = 8,000
    assert (d.quality_leads_actual, d.quality_to_opportunity_actual, d.win_rate_actual) == (40, 0.1, 0.5)
    assert (d.conversion_actual, d.deal_size_actual) == (0.05, 8_000)
    # R1 = 40 × 0.125 × 10,000 = 50,000 → volume 50,000
    # R2 = 4 opportunities × 0.5 × 10,000 = 20,000 → conversion 30,000
    # R3 = 4 × 0.5 × 8,000 = 16,000 → deal size 4,000
    # won from quality leads: D5 (P1 scores 80) 8,000 → cycle time 16,000 − 8,000 = 8,000
    # sales-sourced wins D6, D7 = 16,000 → other sources −16,000
    assert d.components == {"volume": 50_000, "conversion": 30_000, "deal_size": 4_000, "cycle_time": 8_000,
                            "other_sources": -16_000}
    assert sum(d.components.values()) == d.gap
    # sales cycle (context): D5 111 days, D6 and D7 58 days each
    assert d.cycle_days_actual == pytest.approx(227 / 3) and d.cycle_days_plan == pytest.approx(227 / 3)
    w = gaps.waterfall_frame(gap_decomposition)
    assert w["label"].iloc[0] == "Goal to date" and w["label"].iloc[-1] == "Won to date"
    assert w["end"].iloc[-2] == w["end"].iloc[-1] == 24_000  # the steps land exactly on won revenue
    assert w["kind"].tolist()[1:-1] == ["widened the gap"] * 4 + ["narrowed the gap"]


def test_gap_decomposition_mid_period(world_b):
    # As of 2026-08-16 00:00 (46 of 92 days: half the quarter): goal to date 50,000; won: none yet (D5
    # closes 08-20) → gap 50,000. Quality leads: Q1-Q40 (all in July) = 40 vs 80 × 0.5 = 40 planned →
    # volume 0. Closed by then: D1, D2 lost on 08-15, no win → win rate 0 → conversion = 50,000 − 0;
    # no win, so deal size taken as planned (0) and nothing to time.
    d = gaps.gap_decomposition(world_b, Q3, datetime(2026, 8, 16))
    assert (d.goal_to_date, d.won_revenue, d.gap) == (50_000, 0, 50_000)
    assert d.components == {"volume": 0, "conversion": 50_000, "deal_size": 0, "cycle_time": 0, "other_sources": 0}
    assert any("No deal was won in the period" in n for n in d.notes)


def test_gap_decomposition_sums_on_the_tiny_world(tiny):
    d = gaps.gap_decomposition(tiny, Q3, AS_OF)
    # not round numbers here (trailing rates), but the components still telescope to the gap
    assert sum(d.components.values()) == pytest.approx(d.gap, abs=1e-6)
    assert d.gap == pytest.approx(100_000 * 45.5 / 92 - 35_000)
    assert d.components["other_sources"] == -5_000  # D3 on L7, which never qualified


def test_gap_decomposition_needs_a_goal(tiny):
    tiny.execute("DELETE FROM edit_versions WHERE kind = 'goal'")
    d = gaps.gap_decomposition(tiny, Q3, AS_OF)
    assert d.components == {} and "No revenue goal" in d.notes[0]
    g = gaps.stage_gaps(tiny, Q3, AS_OF)
    assert not g.has_targets and g.frame["revenue_at_stake"].isna().all()
    assert any("No revenue goal" in n for n in g.notes)


def test_stage_gaps_biggest_first(world_b):
    g = gaps.stage_gaps(world_b, Q3, B_AS_OF)
    rows = g.frame.set_index("stage")
    # actual: 50 leads, 40 quality, 10 accepted (Q1-Q10), 7 opportunities (D1-D4, D6-D8 created in Q3),
    # 3 won (D5, D6, D7); gap = target − actual: 110, 40, 30, 13, 7
    assert rows["gap_to_date"].to_dict() == {"accepted": 30, "won": 7, "leads": 110, "opportunities": 13,
                                             "quality_leads": 40}
    # a unit's worth = goal / target: lead 625, quality 1,250, accepted 2,500, opportunity 5,000, won 10,000
    assert rows["revenue_at_stake"].to_dict() == {"accepted": 75_000, "won": 70_000, "leads": 68_750,
                                                  "opportunities": 65_000, "quality_leads": 50_000}
    assert list(rows.index) == ["accepted", "won", "leads", "opportunities", "quality_leads"]


def test_stage_gaps_by_source(world_b):
    g = gaps.stage_gaps(world_b, Q3, B_AS_OF, "source")
    got = {(r["segment"], r["stage"]): r["revenue_at_stake"] for r in g.frame.to_dict("records")}
    # trailing-year shares (cohort from 2025-10-01; P1 is older): leads webinar 20/50, paid_search 30/50;
    # quality 20/40 each; accepted webinar 10/10; deals created: webinar D1-D5 5/8, sales-sourced 3/8;
    # won: webinar D5 1/3, sales-sourced D6, D7 2/3.
    # webinar: accepted 40 − 10 = 30 × 2,500; opportunities 12.5 − 4 = 8.5 × 5,000; leads 64 − 20 = 44 × 625;
    #          quality 40 − 20 = 20 × 1,250; won 10/3 − 1 = 7/3 × 10,000
    # paid_search: leads 96 − 30 = 66 × 625; quality 40 − 20 = 20 × 1,250 (accepted, deals: no target, none)
    # sales-sourced: won 20/3 − 2 = 14/3 × 10,000; opportunities 7.5 − 3 = 4.5 × 5,000
    expected = {("webinar", "accepted"): 75_000, ("sales-sourced", "won"): 140_000 / 3,
                ("webinar", "opportunities"): 42_500, ("paid_search", "leads"): 41_250,
                ("webinar", "leads"): 27_500, ("webinar", "quality_leads"): 25_000,
                ("paid_search", "quality_leads"): 25_000, ("webinar", "won"): 70_000 / 3,
                ("sales-sourced", "opportunities"): 22_500}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value), key
    assert g.frame["revenue_at_stake"].is_monotonic_decreasing


# --- What the Pipeline page shows, section by section (core.pipeline_view), on the tiny world ----------

def test_funnel_tab_sections(tiny):
    comparison = gaps.funnel_comparison(tiny, Q3, AS_OF)
    beside = view.beside_funnel_cards(funnel(tiny, Q3, AS_OF), comparison)
    # sales-sourced deals created in Q3: D5, D10 (Q2: D6); unqualified-sourced: L7 → D3 (Q2's L9 qualified)
    assert beside == [("sales_sourced_deals", 2, "2026-Q2: 1"), ("unqualified_opportunities", 1, "2026-Q2: 0"),
                      ("unqualified_won", 1, "2026-Q2: 0")]
    by_source = gaps.funnel_segments(tiny, Q3, AS_OF, "source")
    assert view.value_choices(by_source) == ["(all)", "paid_search", "partner", "webinar", "outbound"]
    assert view.narrowed("source", "(all)") == (None, None)
    assert view.narrowed("source", "partner") == ("source", "partner")


def test_health_tab_sections(tiny):
    health = view.health_cards(pl.pipeline(tiny, Q3, AS_OF, 100_000))
    # open 42,000; coverage 42,000 / 65,000; needs 1 / 0.6; win rate 3 / 5; 2 stalled (test_metrics)
    assert [c.measure for c in health] == ["open_amount", "coverage", "coverage_needed", "win_rate", "velocity",
                                           "stalled_deals"]
    assert health[1].delta == "needs 1.67×" and health[5].value == 2
    movement = view.movement_cards(pl.pipeline_movement(tiny, Q3, AS_OF))
    # created D1 D2 D3 D4 D5 D10 D11 = 89,000; advanced D2, D4 = 30,000; won D1, D3; lost D5; none slipped
    assert movement == [("created_deals", 7, "$89k"), ("advanced_deals", 2, "$30k"), ("period_won_deals", 2, "$35k"),
                        ("lost_deals", 1, "$8,000"), ("slipped_deals", 0, "$0")]
    stalled = pl.deal_records(tiny, Q3, AS_OF, "stalled")
    assert stalled.frame["deal_id"].tolist() == ["D6", "D4"]  # longest in stage first: 106.5 d, 34.5 d
    assert view.stalled_caption(stalled, "more than 30 days") == ("2 deal(s) open in one stage for more than 30 days, "
                                                                  "longest first.")
    none = pl.deal_records(tiny, Q3, AS_OF, "stalled", stall_days=200)
    assert view.stalled_caption(none, "more than 200 days") == (
        "No open deal has been in one stage for more than 200 days, or every one that has is snoozed for a known "
        "reason.")
    assert view.snoozed_caption(pl.deal_records(tiny, Q3, AS_OF, "snoozed")) == "No stalled deal is snoozed."


def test_gap_tab_records(tiny):
    whole = gaps.stage_gaps(tiny, Q3, AS_OF)
    first = view.gap_choices(whole)[0]
    assert (first.stage, first.segment_value) == ("accepted", None)  # the biggest gap (test_app_pipeline)
    # a lead stage lists the cohort's leads: accepted L1 (converted), L2 (accepted), L6 (accepted)
    accepted = view.gap_records(tiny, Q3, AS_OF, None, "accepted", None)
    assert accepted.frame["lead_id"].tolist() == ["L1", "L2", "L6"]
    # a deal stage lists deals: won in Q3 by as-of, D1 30,000 and D3 5,000 (biggest first)
    won = view.gap_records(tiny, Q3, AS_OF, None, "won", None)
    assert won.frame["deal_id"].tolist() == ["D1", "D3"]
    by_source = view.gap_choices(gaps.stage_gaps(tiny, Q3, AS_OF, "source"))
    assert by_source[0].segment_value == "sales-sourced" and by_source[0].label.startswith("sales-sourced · ")
    # the row summing the smaller values has no records of its own, and says so
    other = view.gap_records(tiny, Q3, AS_OF, "source", "won", OTHER_VALUES)
    assert other.frame.empty and other.caption().startswith("This row sums the smaller segment values")
