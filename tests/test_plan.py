"""Plan ahead (issue 14, item 3): a quarter's cascade placed in time with lags measured on a hand-made
history, every volume worked out by hand."""
from __future__ import annotations

from datetime import datetime

import pytest

from core import edits
from core.db import transaction
from core.metrics.plan import measured_lags, plan_ahead, spread, stage_lag
from core.models import Actor, GoalBody
from core.periods import parse_period

AS_OF = datetime(2026, 8, 15, 12, 0)
SALES = Actor(name="Sam Seller", team="sales")


@pytest.fixture
def history(empty):
    # three won deals from leads: lead -> deal 10, 30 and 50 days; deal -> won 20, 40 and 60 days
    with transaction(empty, ("records",)) as cur:
        cur.execute("""INSERT INTO leads (lead_id, created_at, source, status) VALUES
            ('L1', '2026-01-01', 'web', 'converted'), ('L2', '2026-02-01', 'web', 'converted'),
            ('L3', '2026-03-01', 'web', 'converted')""")
        cur.execute("""INSERT INTO deals (deal_id, lead_id, created_at, amount, stage, closed_at) VALUES
            ('D1', 'L1', TIMESTAMP '2026-01-01' + INTERVAL 10 DAY, 1000, 'closed_won', TIMESTAMP '2026-01-11' + INTERVAL 20 DAY),
            ('D2', 'L2', TIMESTAMP '2026-02-01' + INTERVAL 30 DAY, 1000, 'closed_won', TIMESTAMP '2026-03-03' + INTERVAL 40 DAY),
            ('D3', 'L3', TIMESTAMP '2026-03-01' + INTERVAL 50 DAY, 1000, 'closed_won', TIMESTAMP '2026-04-20' + INTERVAL 60 DAY)""")
    return empty


def test_lags_are_medians_of_the_trailing_year(history):
    lags = measured_lags(history, AS_OF)
    assert (lags.lead_to_deal_days, lags.lead_to_deal_deals) == (30.0, 3)
    assert (lags.deal_to_won_days, lags.deal_to_won_deals) == (40.0, 3)
    assert stage_lag(lags, "won") == 0 and stage_lag(lags, "opportunities") == 40.0 and stage_lag(lags, "leads") == 70.0


def test_a_window_spreads_over_the_quarters_it_overlaps_by_days():
    q4 = parse_period("2026-Q4")  # 1 Oct 2026 - 1 Jan 2027: 92 days
    from datetime import timedelta
    parts = spread(92.0, q4.start - timedelta(days=40), q4.end - timedelta(days=40))
    assert [(p.label, round(share * 92), round(volume, 9)) for p, share, volume in parts] == [
        ("2026-Q3", 40, 40.0), ("2026-Q4", 52, 52.0)]


def test_next_quarters_goal_needs_opportunities_this_quarter_and_leads_earlier(history):
    # 92,000 at 1,000 a deal and every rate 50%: 92 won, 184 opportunities, 368 accepted, 736 quality, 1,472 leads
    goal = GoalBody(revenue=92_000, avg_deal_size=1_000, rate_overrides={
        "win_rate": 0.5, "accepted_to_opportunity": 0.5, "quality_to_accepted": 0.5, "lead_to_quality": 0.5})
    edits.save(history, "goal", "2026-Q4", goal, actor=SALES, reason="plan ahead", expected_version=0, as_of=AS_OF)
    plan = plan_ahead(history, [parse_period("2026-Q3"), parse_period("2026-Q4")], AS_OF)
    assert plan.goals == [("2026-Q4", 92_000.0)]  # Q3 has no goal: nothing to place
    m = plan.matrix
    assert m.loc["won"].dropna().to_dict() == {"2026-Q4": pytest.approx(92.0)}
    # opportunities one 40-day cycle earlier: 40 of Q4's 92 days fall in Q3
    assert m.loc["opportunities"].dropna().to_dict() == {"2026-Q3": pytest.approx(80.0), "2026-Q4": pytest.approx(104.0)}
    # leads 40 + 30 = 70 days earlier: 70 days in Q3, 22 in Q4
    assert m.loc["leads"].dropna().to_dict() == {"2026-Q3": pytest.approx(1120.0), "2026-Q4": pytest.approx(352.0)}
    assert m.loc["quality_leads", "2026-Q3"] == pytest.approx(560.0)
    assert list(m.index) == ["won", "opportunities", "accepted", "quality_leads", "leads"]


def test_without_history_nothing_is_placed_and_it_says_why(empty):
    edits.save(empty, "goal", "2026-Q4", {"revenue": 1000}, actor=SALES, reason="x", expected_version=0, as_of=AS_OF)
    plan = plan_ahead(empty, [parse_period("2026-Q4")], AS_OF)
    assert plan.matrix.empty and plan.detail.empty
    assert any("deals" in n.lower() for n in plan.notes)
