"""Figures on partial or odd data say what they cannot compute instead of reading $0 or 100% (issue 12):
won deals without amounts, one deal carrying the period, open deals without expected close dates, an ended
period, and data without any lost deal. Tiny hand-made deals, exact values."""
from __future__ import annotations

from datetime import datetime

import pytest

from core.db import transaction
from core.metrics import goals, pipeline
from core.periods import parse_period

Q3 = parse_period("2026-Q3")
AS_OF = datetime(2026, 8, 15, 12, 0)
COLUMNS = "deal_id, lead_id, created_at, amount, stage, expected_close_on, closed_at"


def deals(con, *rows: str) -> None:
    with transaction(con, ("records",)) as cur:
        cur.execute(f"INSERT INTO deals ({COLUMNS}) VALUES " + ", ".join(rows))


LOST = "('X', NULL, '2025-12-01', 10, 'closed_lost', NULL, '2025-12-10')"  # a lost deal, so win rates exist


def test_won_deals_without_amounts_make_won_revenue_unknown_not_zero(empty):
    deals(empty, LOST, "('A', NULL, '2026-07-01', 0, 'closed_won', NULL, '2026-07-10')",
          "('B', NULL, '2026-07-01', 0, 'closed_won', NULL, '2026-07-11')")
    p = pipeline.pipeline(empty, Q3, AS_OF, goal_revenue=1000)
    assert (p.won_deals, p.won_revenue, p.coverage) == (2, None, None)
    assert "2 of 2 won deals in the period have no amount, so won revenue cannot be computed." in p.notes
    g = goals.goal_status(empty, Q3, AS_OF)
    assert (g.won_revenue, g.attainment, g.pacing) == (None, None, None)
    assert "2 of 2 won deals in the period have no amount, so won revenue cannot be computed." in g.notes


def test_some_won_deals_without_amounts_are_said(empty):
    deals(empty, LOST, "('A', NULL, '2026-07-01', 0, 'closed_won', NULL, '2026-07-10')",
          "('B', NULL, '2026-07-01', 300, 'closed_won', NULL, '2026-07-11')")
    value, won, notes, short = pipeline.won_revenue(empty, Q3, AS_OF)
    assert (value, won, short) == (300.0, 2, "caution: 1 of 2 won deals have no amount")
    assert notes == ["1 of 2 won deals in the period have no amount; won revenue counts the others only."]


def test_one_deal_carrying_the_period_is_flagged(empty):
    # median of 100, 100, 10,000 is 100: the big deal is 100× it and 10,000 / 10,200 = 98% of won revenue
    deals(empty, LOST, "('A', NULL, '2026-07-01', 100, 'closed_won', NULL, '2026-07-10')",
          "('B', NULL, '2026-07-01', 100, 'closed_won', NULL, '2026-07-11')",
          "('C', NULL, '2026-07-01', 10000, 'closed_won', NULL, '2026-07-12')")
    value, _, notes, short = pipeline.won_revenue(empty, Q3, AS_OF)
    assert (value, short) == (10_200.0, "caution: one deal is 98% of it")
    assert goals.goal_status(empty, Q3, AS_OF).won_caveat == "caution: one deal is 98% of it"
    assert notes == ["One won deal is 98% of won revenue ($10k of $10k, 100× the median won deal): check its amount; "
                     "Import data › Flagged records can exclude it."]


def test_open_deals_without_expected_close_dates(empty):
    deals(empty, LOST, "('O1', NULL, '2026-07-01', 500, 'proposal', NULL, NULL)",
          "('O2', NULL, '2026-07-01', 700, 'proposal', NULL, NULL)")
    p = pipeline.pipeline(empty, Q3, AS_OF, goal_revenue=1000)
    assert (p.open_amount, p.open_deals, p.coverage) == (None, None, None)
    assert (p.open_undated_deals, p.open_undated_amount, p.open_deals_all) == (2, 1200.0, 2)
    assert p.undated_note == "+2 deals, $1,200, no expected close date"
    assert ("None of the 2 open deals has an expected close date, so the open pipeline of the period cannot be "
            "computed (see 'no expected close date').") in p.notes

    deals(empty, "('O3', NULL, '2026-07-01', 900, 'proposal', '2026-09-01', NULL)")
    p = pipeline.pipeline(empty, Q3, AS_OF, goal_revenue=1000)
    assert (p.open_amount, p.open_deals, p.coverage) == (900.0, 1, 0.9)
    assert "2 open deals ($1,200) have no expected close date and are not counted in the period's open pipeline." in p.notes


def test_an_ended_period_has_no_coverage(empty):
    deals(empty, LOST, "('O1', NULL, '2026-03-01', 500, 'proposal', '2026-03-20', NULL)")
    p = pipeline.pipeline(empty, parse_period("2026-Q1"), AS_OF, goal_revenue=1000)
    assert p.coverage is None
    assert "2026-Q1 has ended: there is no pipeline left to cover it, so coverage is undefined." in p.notes


@pytest.mark.parametrize("with_lost, rate", [(False, None), (True, 0.5)])
def test_without_any_lost_deal_the_win_rate_is_unknown_not_100_percent(empty, with_lost, rate):
    deals(empty, "('A', NULL, '2026-01-01', 100, 'closed_won', NULL, '2026-02-01')",
          *([LOST] if with_lost else []))
    p = pipeline.pipeline(empty, Q3, AS_OF, goal_revenue=1000)
    assert p.win_rate == rate
    assert (pipeline.NO_LOST_DEALS in p.notes) is (not with_lost)
    if not with_lost:
        assert (p.coverage_needed, p.velocity_per_day) == (None, None)
        assert pipeline.trailing_year_deals(empty, AS_OF).win_rate is None


# --- records whose creation date the source did not have (an importer's stamp) -------------------------

STAMP = datetime(2026, 8, 1, 9, 30)


def _stamped_world(con, dated_leads: int) -> None:
    from core.ingest.profile import record_stamp

    with transaction(con, ("records",)) as cur:
        for i in range(dated_leads):
            cur.execute("INSERT INTO leads (lead_id, created_at, source, status) VALUES (?, '2026-07-05', 'web', 'open')",
                        [f"D{i}"])
        for i in range(3):
            cur.execute("INSERT INTO leads (lead_id, created_at, source, status) VALUES (?, ?, 'web', 'open')",
                        [f"U{i}", STAMP])
        record_stamp(cur, "leads", "created_at", STAMP, "Leads.csv has no dates.")


def test_leads_without_creation_dates_are_in_no_period(empty):
    from core.metrics import funnel

    _stamped_world(empty, dated_leads=2)
    f = funnel.funnel(empty, Q3, AS_OF)
    assert f.leads == 2  # not 5: the stamped three did not arrive in Q3
    assert "3 of 5 leads have no creation date in the source, so no period's lead figures count them." in f.notes


def test_when_no_lead_has_a_creation_date_lead_figures_cannot_be_computed(empty):
    from core.metrics import funnel, sla

    _stamped_world(empty, dated_leads=0)
    note = ("The 3 leads loaded have no creation date in the source, so no lead can be placed in a period: lead "
            "counts, quality leads, the funnel, the SLA and lead attribution cannot be computed. Import a file "
            "that has the leads' creation dates.")
    f = funnel.funnel(empty, Q3, AS_OF)
    assert (f.leads, f.quality_leads, f.notes[0]) == (None, None, note)
    assert note in sla.response_sla(empty, Q3, AS_OF).notes


def test_a_deal_without_a_creation_date_is_not_created_in_a_period_nor_stalled(empty):
    from core.ingest.profile import record_stamp

    deals(empty, LOST, "('O1', NULL, '2026-07-01', 500, 'proposal', '2026-09-01', NULL)",
          "('O2', NULL, '2026-08-01 09:30', 700, 'discovery', '2026-09-01', NULL)")
    with transaction(empty, ("records",)) as cur:
        cur.execute("INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES ('X', 'closed_lost', '2025-12-10')")
        record_stamp(cur, "deals", "created_at", STAMP, "no engage date")
    p = pipeline.pipeline(empty, Q3, AS_OF, None, stall_days=30)
    # O1 entered its stage on creation, 45 days before as-of: stalled; O2's start is unknown: not stalled
    assert (p.open_deals, p.open_amount, p.stalled_deals) == (2, 1200.0, 1)
    assert ("1 of 3 deals have no creation date in the source, so deals created in a period, time in stage and "
            "sales cycles leave them out.") in p.notes
    assert goals.stage_actuals(empty, Q3, AS_OF).opportunities == 1  # O1 only


def test_an_export_of_closed_deals_only_has_no_open_pipeline_not_zero(empty):
    deals(empty, LOST, "('A', NULL, '2026-07-01', 100, 'closed_won', NULL, '2026-07-10')")
    p = pipeline.pipeline(empty, Q3, AS_OF, 1000)
    assert (p.open_amount, p.open_deals, p.open_deals_all, p.coverage) == (None, None, 0, None)
    assert ("No deal is open as of 2026-08-15: every deal in the data had closed by then, so the export seems to "
            "hold closed deals only, and the open pipeline cannot be computed.") in p.notes


def test_slipped_and_advanced_need_the_data_that_shows_them(empty):
    # two open deals without expected close dates; history with one open stage per deal (as Maven's)
    deals(empty, LOST, "('O1', NULL, '2026-07-01', 500, 'proposal', NULL, NULL)",
          "('O2', NULL, '2026-07-02', 700, 'discovery', NULL, NULL)")
    with transaction(empty, ("records",)) as cur:
        cur.execute("INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES ('O1', 'proposal', '2026-07-01'), "
                    "('O2', 'discovery', '2026-07-02'), ('X', 'closed_lost', '2025-12-10')")
    m = pipeline.pipeline_movement(empty, Q3, AS_OF)
    assert (m.created_deals, m.created_amount) == (2, 1200.0)
    assert (m.slipped_deals, m.advanced_deals) == (None, None)
    assert m.notes == [
        "The stage history records no move from one open stage to another (each deal has one open stage at most), "
        "so deals that advanced cannot be counted.",
        "No deal has an expected close date, so slipped deals cannot be counted."]
    # one recorded move between open stages: advanced is measurable again (O2 moved up in the period)
    with transaction(empty, ("records",)) as cur:
        cur.execute("INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES ('O2', 'qualification', '2026-07-20')")
    assert pipeline.pipeline_movement(empty, Q3, AS_OF).advanced_deals == 1


def test_segment_rows_follow_the_headline_rules(empty):
    # no lost deal anywhere: every segment's win rate is unknown, not 100%; open deals without expected close
    # dates: the segment's open pipeline is unknown, not $0
    deals(empty, "('A', NULL, '2026-07-01', 100, 'closed_won', NULL, '2026-07-10')",
          "('O1', NULL, '2026-07-01', 500, 'proposal', NULL, NULL)")
    rows = pipeline.pipeline_by(empty, Q3, AS_OF, "source", 1000)
    row = rows.set_index("segment").loc["sales-sourced"]
    assert (row["year_won_deals"], row["open_amount"], row["win_rate"], row["status"]) == (
        1, pytest.approx(float("nan"), nan_ok=True), pytest.approx(float("nan"), nan_ok=True),
        "need undefined: no lost deal recorded")


def test_stalled_table_shows_missing_values_as_dashes():
    import pandas as pd

    from core.charts_pipeline import stalled_table

    frame = pd.DataFrame([{"deal_id": "D1", "account": float("nan"), "stage": "proposal", "days_in_stage": 40.0,
                           "owner": "Kim", "amount": 10.0, "expected_close_on": pd.NaT}])
    assert stalled_table(frame).iloc[0][["Account", "Expected close"]].tolist() == ["—", "—"]


def test_one_deal_carrying_the_trailing_year_is_said_beside_the_average_deal_size(empty):
    # won in the trailing year: 100, 100, 10,000 (median 100): the big deal is 100× it and 98% of 10,200;
    # the average won deal size, 3,400, leans on it
    deals(empty, LOST, "('A', NULL, '2026-01-01', 100, 'closed_won', NULL, '2026-02-10')",
          "('B', NULL, '2026-01-01', 100, 'closed_won', NULL, '2026-03-11')",
          "('C', NULL, '2026-01-01', 10000, 'closed_won', NULL, '2026-04-12')")
    stats = pipeline.trailing_year_deals(empty, AS_OF)
    assert stats.avg_won_deal_size == 3400.0
    assert ("One deal won in the trailing year is 98% of its won revenue ($10k, 100× the median): the average won "
            "deal size ($3,400) and what depends on it lean on that one amount. Import data › Flagged records can "
            "exclude it.") in stats.notes
