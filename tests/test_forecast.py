"""Will we make the number? The landing estimate, its back-test and range, the status rule and the change versus
the same point of the previous period, on a hand-made world whose answers are worked out below.

The world (2026-Q3, as of 2026-08-15 00:00: day 46, 45 days in, 47 days left). Deals, all sales-sourced:

    id   created     amount  history (stage since)                          closed
    W1   2026-06-01  10,000  discovery 06-01, closed_won 07-10              won 07-10  (cycle 39 days)
    O1   2026-07-20  20,000  discovery 07-20, proposal 08-01                open       (proposal, 14 days)
    O2   2026-06-01   8,000  discovery 06-01                                open       (discovery, 75 days)
    P0   2026-03-01   6,000  discovery 03-01, closed_won 04-10              won 04-10  (cycle 40)
    P1   2026-05-01   5,000  discovery 05-01, proposal 05-10, won 06-15     won 06-15  (cycle 45)
    P2   2026-05-02   7,000  discovery 05-02, proposal 05-12, lost 06-20    lost 06-20
    P3   2026-03-20   4,000  discovery 03-20, closed_won 06-30              won 06-30  (cycle 102)
    Q1a  2026-01-20   3,000  discovery 01-20, proposal 02-01, won 03-10     won 03-10  (cycle 49)
    R1   2025-10-20   2,000  discovery 10-20, proposal 11-01, lost 12-20    lost 2025-12-20

Open at the same point (day 46, 00:00) of earlier quarters, and won before that quarter ended:
    2026-Q2 (05-16, 46 days left): P1 proposal 6 d (won), P2 proposal 4 d (lost), P3 discovery 57 d (won)
    2026-Q1 (02-15, 45 days left): Q1a proposal 14 d (won)
    2025-Q4 (11-15, 47 days left): R1 proposal 14 d (lost)
"""
from __future__ import annotations

import math
from datetime import datetime

import pytest

from core.db import link_keys
from core.metrics import forecast as fc
from core.metrics.forecast import (
    AT_RISK,
    BEHIND,
    ON_TRACK,
    Z_90,
    BacktestRow,
    forecast,
    landing_range,
    pace_status,
    quantile,
)
from core.metrics.funnel import funnel
from core.metrics.pipeline import won_revenue
from core.metrics.sla import SLA_CARDS
from core.periods import parse_period
from core.report import (
    REPORT_FIELDS,
    card_changes,
    card_statuses,
    change_text,
    comparison_point,
    headline,
    headline_cards,
    report_dict,
)

Q3 = parse_period("2026-Q3")
AS_OF = datetime(2026, 8, 15)

WORLD = """
INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
  ('W1',  NULL, 'W1',  '2026-06-01', 10000, 'closed_won',  '2026-07-10', '2026-07-10', NULL, NULL),
  ('O1',  NULL, 'O1',  '2026-07-20', 20000, 'proposal',    '2026-09-20', NULL,         NULL, NULL),
  ('O2',  NULL, 'O2',  '2026-06-01',  8000, 'discovery',   '2026-09-20', NULL,         NULL, NULL),
  ('P0',  NULL, 'P0',  '2026-03-01',  6000, 'closed_won',  '2026-04-10', '2026-04-10', NULL, NULL),
  ('P1',  NULL, 'P1',  '2026-05-01',  5000, 'closed_won',  '2026-06-15', '2026-06-15', NULL, NULL),
  ('P2',  NULL, 'P2',  '2026-05-02',  7000, 'closed_lost', '2026-06-20', '2026-06-20', NULL, 'price'),
  ('P3',  NULL, 'P3',  '2026-03-20',  4000, 'closed_won',  '2026-06-30', '2026-06-30', NULL, NULL),
  ('Q1a', NULL, 'Q1a', '2026-01-20',  3000, 'closed_won',  '2026-03-10', '2026-03-10', NULL, NULL),
  ('R1',  NULL, 'R1',  '2025-10-20',  2000, 'closed_lost', '2025-12-20', '2025-12-20', NULL, 'timing');
INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES
  ('W1', 'discovery', '2026-06-01'), ('W1', 'closed_won', '2026-07-10'),
  ('O1', 'discovery', '2026-07-20'), ('O1', 'proposal', '2026-08-01'),
  ('O2', 'discovery', '2026-06-01'),
  ('P0', 'discovery', '2026-03-01'), ('P0', 'closed_won', '2026-04-10'),
  ('P1', 'discovery', '2026-05-01'), ('P1', 'proposal', '2026-05-10'), ('P1', 'closed_won', '2026-06-15'),
  ('P2', 'discovery', '2026-05-02'), ('P2', 'proposal', '2026-05-12'), ('P2', 'closed_lost', '2026-06-20'),
  ('P3', 'discovery', '2026-03-20'), ('P3', 'closed_won', '2026-06-30'),
  ('Q1a', 'discovery', '2026-01-20'), ('Q1a', 'proposal', '2026-02-01'), ('Q1a', 'closed_won', '2026-03-10'),
  ('R1', 'discovery', '2025-10-20'), ('R1', 'proposal', '2025-11-01'), ('R1', 'closed_lost', '2025-12-20');
"""


@pytest.fixture
def world(empty):
    empty.execute(WORLD)
    link_keys(empty)  # raw rows: their keys, as every write path gives them
    return empty


# --- the landing arithmetic -------------------------------------------------------------------------------


def test_stage_to_win_rates_are_measured_at_the_same_point_of_past_quarters(world):
    f = forecast(world, Q3, AS_OF)
    rates = {(r.stage, r.bucket): (r.deals, r.won) for r in f.rates}
    # proposal under 30 days: P1 won, P2 lost (Q2), Q1a won (Q1), R1 lost (Q4) → 2 of 4
    # discovery 30–90 days: P3 (57 days at 05-16) won before 07-01 → 1 of 1
    assert rates == {("proposal", "under 30 days"): (4, 2), ("discovery", "30–90 days"): (1, 1)}
    assert f.history_periods == 3 and (f.day, f.days) == (46, 92)


def test_landing_is_won_plus_weighted_open_plus_deals_not_created_yet(world):
    f = forecast(world, Q3, AS_OF)
    assert f.won_to_date == 10_000  # W1
    assert f.open_deals == 2
    # O1: 20,000 × 2/4 (proposal, 14 days) + O2: 8,000 × 1/1 (discovery, 75 days)
    assert f.open_weighted == pytest.approx(18_000)
    # deals created in the 90 days up to as-of: W1, O1, O2 → 3/90 a day. Deals created in the 365 days before the
    # last 47 days (2025-06-29 → 2026-06-29]: W1 O2 P0 P1 P2 P3 Q1a R1 = 8; won ones earn amount × (47 − cycle):
    # W1 10,000 × 8 + P1 5,000 × 2 + P0 6,000 × 7 (P3: 102 days, Q1a: 49, nothing) = 132,000 → 3/90 × 132,000 / 8
    assert f.new_revenue == pytest.approx(550)
    assert f.landing == pytest.approx(10_000 + 18_000 + 550)


def test_won_to_date_and_what_past_quarters_landed_are_won_revenue(world):
    f = forecast(world, Q3, AS_OF)
    assert f.won_to_date == won_revenue(world, Q3, AS_OF)[0]
    for row in f.backtest:
        assert row.actual == won_revenue(world, parse_period(row.period), AS_OF)[0]


# --- back-test and range ----------------------------------------------------------------------------------


def test_backtest_on_two_past_quarters(world):
    f = forecast(world, Q3, AS_OF)
    assert [r.period for r in f.backtest] == ["2026-Q2", "2026-Q1"]  # 2025-Q4 has no earlier rates to use
    q2, q1 = f.backtest
    # 2026-Q2 at 05-16, with rates of Q1 and Q4 only: proposal <30 days 1 of 2 → (P1 + P2) × 0.5 = 6,000; P3
    # (discovery, 57 days) has no rate of its own nor of its stage: every open deal's, 1 of 2 → 2,000. Won by
    # then: P0 6,000. New deals: 4 created in the 90 days (P0 P1 P2 P3); 4 in (2025-03-31, 2026-03-31], of which
    # P0 won by 05-16 earning 6,000 × (46 − 40) = 36,000 → 4/90 × 36,000 / 4 = 400.
    assert (q2.moment, q2.estimate, q2.actual) == (datetime(2026, 5, 16), pytest.approx(14_400), 15_000)
    assert q2.error == pytest.approx((14_400 - 15_000) / 15_000)  # −4%
    # 2026-Q1 at 02-15, with Q4's rates: proposal <30 days 0 of 1 → Q1a weighs 0; nothing won yet; one deal
    # created in the 90 days (Q1a) and the cycle window holds R1 alone, lost → 0. It landed 3,000.
    assert (q1.estimate, q1.actual, q1.error) == (0, 3_000, -1.0)


def test_too_few_backtested_quarters_give_a_normal_range_and_say_so(world):
    f = forecast(world, Q3, AS_OF)
    assert f.range_method == "normal approximation"
    # O1 wins with 0.5 (variance 20,000² × 0.25), O2 with 1 (none); new deals: 3/90 × Σ amount² × slack / 8
    variance = 20_000**2 * 0.25 + 3 / 90 * (10_000**2 * 8 + 5_000**2 * 2 + 6_000**2 * 7) / 8
    assert f.high == pytest.approx(28_550 + Z_90 * math.sqrt(variance))  # 41,656
    assert f.low == pytest.approx(28_550 - Z_90 * math.sqrt(variance))   # 15,444: above won to date
    assert any(n.startswith("Only 2 earlier quarters could be back-tested (at least 4 are needed)") for n in f.notes)


def test_percentile_range_from_past_errors():
    assert quantile([1.2, 0.8, 1.0, 0.9, 1.1], 0.1) == pytest.approx(0.84)  # rank 0.4: 0.8 + 0.4 × 0.1
    assert quantile([1.2, 0.8, 1.0, 0.9, 1.1], 0.9) == pytest.approx(1.16)  # rank 3.6: 1.1 + 0.6 × 0.1
    rows = [BacktestRow("p", AS_OF, 100.0, 100.0 * r, None) for r in (0.8, 0.9, 1.0, 1.1, 1.2)]
    rows.append(BacktestRow("nothing estimated", AS_OF, 0.0, 50.0, None))  # no ratio: left out
    low, high, method = landing_range(100_000, 50_000, rows, variance=1e12)
    assert (low, high, method) == (pytest.approx(84_000), pytest.approx(116_000), "back-test")
    # the low end never falls below what is already won
    assert landing_range(100_000, 90_000, rows, variance=0)[0] == 90_000
    # three usable periods are not enough: the normal approximation, landing ∓ 1.2816 × √variance
    assert landing_range(100_000, 0, rows[:3], variance=100.0**2) == (
        pytest.approx(100_000 - Z_90 * 100), pytest.approx(100_000 + Z_90 * 100), "normal approximation")


def test_four_backtested_quarters_make_the_range_from_their_errors(world):
    # two more quarters whose same point had an open deal: 2025-Q3 (08-15) and 2025-Q2 (05-16, its rates' source)
    world.execute("""INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
        ('S1', NULL, 'S1', '2025-08-01', 1000, 'closed_won', NULL, '2025-09-01', NULL, NULL),
        ('S2', NULL, 'S2', '2025-05-01', 1000, 'closed_won', NULL, '2025-06-01', NULL, NULL);
        INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES ('S1', 'proposal', '2025-08-01'), ('S2', 'proposal', '2025-05-01')""")
    link_keys(world)
    f = forecast(world, Q3, AS_OF)
    assert [r.period for r in f.backtest] == ["2026-Q2", "2026-Q1", "2025-Q4", "2025-Q3"]
    assert f.range_method == "back-test"
    ratios = [r.actual / r.estimate for r in f.backtest if r.estimate > 0]
    assert f.low == pytest.approx(max(f.landing * quantile(ratios, 0.1), f.won_to_date))
    assert f.high == pytest.approx(f.landing * quantile(ratios, 0.9))


# --- cannot compute ---------------------------------------------------------------------------------------


def test_without_deals_the_landing_cannot_be_computed(empty):
    f = forecast(empty, Q3, AS_OF)
    assert f.landing is None and f.low is None and f.high is None
    assert f.notes[0].startswith("No deals are loaded, so the landing estimate")


def test_without_earlier_quarters_to_measure_rates_on(empty):
    empty.execute("""INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
        ('A', NULL, 'A', '2026-07-01', 1000, 'discovery', NULL, NULL, NULL, NULL)""")
    f = forecast(empty, Q3, AS_OF)
    assert f.landing is None and f.won_to_date == 0
    assert ("Cannot compute the landing estimate because no earlier quarter had deals open at the same point to "
            "measure stage-to-win rates on.") in f.notes


def test_an_export_of_closed_deals_only_has_no_landing(world):
    world.execute("DELETE FROM deals WHERE deal_id IN ('O1', 'O2')")
    f = forecast(world, Q3, AS_OF)
    assert f.landing is None
    assert any(n.startswith("No deal is open as of 2026-08-15: the export seems to hold closed deals only") for n in f.notes)


def test_won_deals_without_amounts_leave_the_landing_unknown(world):
    world.execute("UPDATE deals SET amount = 0 WHERE deal_id = 'W1'")
    f = forecast(world, Q3, AS_OF)
    assert f.landing is None and f.won_to_date is None
    assert "1 of 1 won deals in the period have no amount, so won revenue cannot be computed." in f.notes


def test_a_period_not_started_and_one_ended(world):
    f = forecast(world, parse_period("2026-Q4"), AS_OF)
    assert f.landing is None and f.notes == ["2026-Q4 has not started by as-of, so there is no landing estimate yet."]
    ended = forecast(world, parse_period("2026-Q2"), AS_OF)
    # P1 + P3 + P0: what it won is where it landed
    assert (ended.landing, ended.low, ended.high) == (15_000, 15_000, 15_000)
    assert "2026-Q2 has ended by as-of: its landing is the revenue it won." in ended.notes


# --- status and change ------------------------------------------------------------------------------------


@pytest.mark.parametrize("actual, target, status", [
    (100, 100, ON_TRACK), (120, 100, ON_TRACK), (90, 100, AT_RISK), (99.99, 100, AT_RISK), (89.99, 100, BEHIND),
    (0, 100, BEHIND), (None, 100, None), (50, None, None), (50, 0, None),
])
def test_status_at_its_boundaries(actual, target, status):
    assert pace_status(actual, target) == status


def test_same_point_of_the_previous_period():
    point = comparison_point(Q3, datetime(2026, 8, 15, 12))
    assert (point.period.label, point.moment, point.words, point.point) == (
        "2026-Q2", datetime(2026, 5, 16, 12), "vs 2026-Q2", "day 46 of 2026-Q2")
    # day 31 of March 10:00 is past February's end: the whole of February
    march = comparison_point(parse_period("2026-03"), datetime(2026, 3, 31, 10))
    assert (march.period.label, march.moment) == ("2026-02", datetime(2026, 3, 1))
    ended = comparison_point(parse_period("2026-Q1"), AS_OF)
    assert (ended.moment, ended.words, ended.point) == (datetime(2026, 1, 1), "vs 2025-Q4", "all of 2025-Q4")
    assert comparison_point(parse_period("2026-Q4"), AS_OF) is None


def test_change_text_in_each_unit():
    where = "vs 2026-Q2"
    assert change_text("won_revenue", 35_000, 20_000, where) == "+$15k vs 2026-Q2"
    assert change_text("won_revenue", 20_000, 35_000, where) == "−$15k vs 2026-Q2"
    assert change_text("compliance", 0.5, 0.625, where) == "−12.5 pts vs 2026-Q2"
    assert change_text("stalled_deals", 2, 2, where) == "no change vs 2026-Q2"
    assert change_text("coverage", 0.65, 0.5, where) == "+0.15× vs 2026-Q2"
    assert change_text("won_revenue", None, 20_000, where) is None
    assert change_text("won_revenue", 20_000, float("nan"), where) is None


def test_statuses_and_changes_of_the_tiny_world(tiny):
    h = headline(tiny, Q3, datetime(2026, 8, 15, 12), with_forecast=True)
    before = headline(tiny, parse_period("2026-Q2"), datetime(2026, 5, 16, 12))
    statuses = card_statuses(h)
    # pacing 35,000 ÷ (100,000 × 45.5/92) = 70.8%: behind; 5 quality leads of 30 × 45.5/92 = 14.8 to date:
    # behind; compliance 50% of 90%: behind; coverage 0.65× of the 1 ÷ 0.6 = 1.67× needed: behind
    assert statuses == {name: BEHIND for name in ("won_revenue", "attainment", "pacing", "quality_leads", "delivery",
                                                  "compliance", "coverage", "landing")}
    changes = card_changes(h, before, "vs 2026-Q2")
    # won: D1 + D3 = 35,000 now; D9 (04-10) 20,000 by day 46 of Q2
    assert changes["won_revenue"] == "+$15k vs 2026-Q2"
    # win rate: 3 of 5 now (D1 D3 D9 won, D5 D7 lost); 2 of 3 then (D8 D9 won, D7 lost)
    assert changes["win_rate"] == "−6.7 pts vs 2026-Q2"
    assert "goal" not in changes
    # the Overview reads the earlier headline with cards_only: every card the same, the deals beside the funnel left out
    lean = headline(tiny, parse_period("2026-Q2"), datetime(2026, 5, 16, 12), cards_only=True)
    assert headline_cards(lean) == headline_cards(before)
    assert card_changes(h, lean, "vs 2026-Q2") == changes
    assert before.funnel.sales_sourced_deals is not None and lean.funnel.sales_sourced_deals is None
    # and the response SLA's figures beyond its cards: the same cards, the rest not computed
    assert {f: getattr(lean.sla, f) for f in SLA_CARDS} == {f: getattr(before.sla, f) for f in SLA_CARDS}
    assert before.sla.attempt_windows_closed == 0 and lean.sla.attempt_windows_closed is None
    assert before.sla.routed_leads == 0 and lean.sla.routed_leads is None
    # and the pipeline's: its cards the same (in headline_cards above), the averages not computed
    assert before.pipeline.avg_won_deal_size is not None and lean.pipeline.avg_won_deal_size is None
    assert lean.goal.won_revenue == before.goal.won_revenue and lean.pipeline.won[:2] == before.pipeline.won[:2]
    # the headline's funnel is two cached sections (the stages, the deals beside them) that make funnel()'s
    assert h.funnel == funnel(tiny, Q3, datetime(2026, 8, 15, 12))
    assert before.funnel == funnel(tiny, parse_period("2026-Q2"), datetime(2026, 5, 16, 12))


def test_report_json_has_the_forecast(world):
    h = headline(world, Q3, AS_OF, with_forecast=True)
    out = report_dict(h, Q3, AS_OF)
    assert REPORT_FIELDS["forecast"] == ("landing", "low", "high")
    assert set(out["forecast"]) == {"landing", "low", "high", "notes"}
    assert out["forecast"]["landing"] == pytest.approx(28_550)
    assert out["forecast"]["low"] == pytest.approx(h.forecast.low)


def test_the_report_without_a_forecast_says_so(world):
    out = report_dict(headline(world, Q3, AS_OF), Q3, AS_OF)
    assert out["forecast"] == {"landing": None, "low": None, "high": None,
                               "notes": ["The landing estimate was not computed for this report."]}


def test_the_estimate_reads_two_queries_for_every_moment(world, monkeypatch):
    """The back-test's moments are measured in one pass (not a query per past quarter)."""
    calls = []
    real_run = fc.run

    def counting(con, sql, params):
        calls.append(sql)
        return real_run(con, sql, params)

    monkeypatch.setattr(fc, "run", counting)
    forecast(world, Q3, AS_OF)
    assert len(calls) == 2


def test_each_card_is_judged_against_its_own_target():
    from core.metrics.funnel import Funnel
    from core.metrics.goals import Goal
    from core.metrics.pipeline import Pipeline
    from core.metrics.sla import Delivery, ResponseSla
    from core.report import Headline

    h = Headline(
        # half the period gone: the goal to date is 50,000; 45,000 won is 90% of it → at risk
        goal=Goal(revenue=100_000, won_revenue=45_000, elapsed_share=0.5),
        funnel=Funnel(),
        sla=ResponseSla(compliance=0.9),                    # exactly the 90% target → on track
        delivery=Delivery(quality_leads=14, committed=30),  # 14 of 15 to date = 93% → at risk
        pipeline=Pipeline(coverage=1.49, coverage_needed=1.5),  # 99% of the coverage the win rate needs
        forecast=fc.Forecast(landing=89_999),               # 90.0% of the whole goal, just under → behind
    )
    assert card_statuses(h) == {"won_revenue": AT_RISK, "attainment": AT_RISK, "pacing": AT_RISK,
                                "quality_leads": AT_RISK, "delivery": AT_RISK, "compliance": ON_TRACK,
                                "coverage": AT_RISK, "landing": BEHIND}
    # no goal, no commitment, no measured compliance: no status at all rather than a guess
    bare = Headline(goal=Goal(elapsed_share=0.5), funnel=Funnel(), sla=ResponseSla(), delivery=Delivery(quality_leads=3),
                    pipeline=Pipeline())
    assert card_statuses(bare) == {}
