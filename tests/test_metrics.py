"""Unit tier: every metric on the tiny world of tests/fixtures/tiny.sql (2026-Q3, as of 2026-08-15 12:00).

Each expected value is worked out by hand in the comment beside it.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from conftest import AS_OF, LEADERSHIP
from core import edits
from core.metrics import goals, sla
from core.metrics import pipeline as pl
from core.metrics.funnel import funnel, funnel_by
from core.models import GoalBody, QualityDefinition, SlaPolicy
from core.periods import parse_period
from core.report import build_report

Q3 = parse_period("2026-Q3")


def test_funnel_counts(tiny):
    f = funnel(tiny, Q3, AS_OF)
    # Q3 leads created by as-of: L1-L7 and L10 (L8 is after as-of, L9 is in Q2) = 8
    assert f.leads == 8
    # quality: L1 score 80, L2 demo, L3 score 90, L4 score 70, L6 CRM mql_at; L10's mql_at is after as-of
    assert f.quality_leads == 5
    # accepted: L1 converted, L2 accepted, L6 accepted (L3, L4 open without deal)
    assert f.accepted == 3
    # opportunities: L1 (D1), L2 (D2); won: L1 (D1 won 08-01)
    assert (f.opportunities, f.won) == (2, 1)
    # L7 is not quality but has D3, won 08-05: unqualified-sourced
    assert (f.unqualified_opportunities, f.unqualified_won) == (1, 1)
    # sales-sourced deals created in Q3: D5 (lost), D10 (open); D11 points at a lead that is not loaded
    assert (f.sales_sourced_deals, f.sales_sourced_won, f.deals_with_unknown_lead) == (2, 0, 1)
    assert f.conversions() == {"quality_leads": 5 / 8, "accepted": 3 / 5, "opportunities": 2 / 3, "won": 1 / 2}
    assert f.notes == []


def test_funnel_by_source(tiny):
    rows = funnel_by(tiny, Q3, AS_OF, "source").set_index("segment")
    # paid_search: L2, L3, L5 → quality L2, L3 → accepted L2 → opportunity L2 (D2 open) → no win
    assert rows.loc["paid_search", ["leads", "quality_leads", "accepted", "opportunities", "won"]].tolist() == [3, 2, 1, 1, 0]
    assert rows["leads"].sum() == 8
    with pytest.raises(ValueError):
        funnel_by(tiny, Q3, AS_OF, "1; DROP TABLE leads")


def test_funnel_as_of_excludes_later_records(tiny):
    # As of 2026-07-04: leads L1, L2, L3; D1 exists but is not won yet; D2 does not exist yet
    f = funnel(tiny, Q3, datetime(2026, 7, 4))
    assert (f.leads, f.quality_leads, f.accepted, f.opportunities, f.won) == (3, 3, 2, 0, 0)


def test_response_sla_edges(tiny):
    s = sla.response_sla(tiny, Q3, AS_OF)
    # L1: assigned 07-01 10:00, touched 07-02 10:00 = exactly 24h → met (window closed at both ends)
    # L6: no owner, clock starts at created_at 07-06 00:00, touched at 02:00 → met
    # L2: a touch at 08:00 precedes its clock start (09:00, created, not assigned) and is ignored;
    #     first touch 07-03 12:00 = 27h → breached. L3: never touched → breached.
    # L4: clock 08-15 06:00, deadline 08-16 06:00 is after as-of → pending (its 08-16 touch is after as-of)
    assert (s.met, s.breached, s.pending) == (2, 2, 1)
    assert s.compliance == 0.5
    # hours to first touch over touched quality leads: 2, 24, 27 → median 24; p90 = 24 + 0.8 × 3 = 26.4
    assert s.median_hours_to_first_touch == 24.0
    assert s.p90_hours_to_first_touch == pytest.approx(26.4)
    assert s.never_touched == 1
    # under-worked (window of 7 days closed, < 3 attempts): L2 (1), L3 (0), L6 (1); L1 has 3, the last
    # exactly 7 days after clock start; L4's window is still open
    assert s.under_worked == 3


def test_sla_lead_rows(tiny):
    rows = sla.sla_lead_rows(tiny, Q3, AS_OF).set_index("lead_id")
    assert rows.loc["L2", "sla_status"] == "breached"
    assert rows.loc["L2", "hours_late"] == pytest.approx(3.0)  # 27h against a 24h window
    # never touched: late by as-of − deadline = 08-15 12:00 − 07-04 00:00 = 42.5 days
    assert rows.loc["L3", "hours_late"] == pytest.approx(42.5 * 24)
    assert rows.loc["L1", "attempts"] == 3
    assert bool(rows.loc["L4", "under_worked"]) is False


def test_breach_becomes_due_exactly_at_deadline(tiny):
    # L4's deadline is 2026-08-16 06:00: one second before, pending; at the deadline, breached
    # (its touch at 08-16 00:00 is then within the window, so use a day when it was not yet touched)
    before = sla.sla_lead_rows(tiny, Q3, datetime(2026, 8, 15, 23, 59)).set_index("lead_id")
    assert before.loc["L4", "sla_status"] == "pending"
    after = sla.sla_lead_rows(tiny, Q3, datetime(2026, 8, 16, 6, 0)).set_index("lead_id")
    assert after.loc["L4", "sla_status"] == "met"  # touched at 00:00, within the window


def _longer_window(con, effective_from: datetime) -> None:
    edits.save(con, "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(response_hours=30, monthly_quality_commitment=10),
               actor=LEADERSHIP, reason="longer window", expected_version=2,
               effective_from=effective_from, now=AS_OF)


def test_sla_policy_change_mid_period_keeps_earlier_leads_on_old_policy(tiny):
    # 30h from 07-02 12:00: L2's clock (07-02 09:00) started before → 24h, its 27h touch stays breached
    _longer_window(tiny, datetime(2026, 7, 2, 12))
    rows = sla.sla_lead_rows(tiny, Q3, AS_OF).set_index("lead_id")
    assert (rows.loc["L1", "response_hours"], rows.loc["L2", "response_hours"]) == (24, 24)
    assert (rows.loc["L3", "response_hours"], rows.loc["L6", "response_hours"]) == (30, 30)
    assert rows.loc["L2", "sla_status"] == "breached"


def test_sla_policy_change_covering_a_lead_changes_its_verdict(tiny):
    # 30h from 07-02 00:00: L2's 27h touch is now within its window → met 3 (L1, L2, L6), breached 1 (L3)
    _longer_window(tiny, datetime(2026, 7, 2))
    s = sla.response_sla(tiny, Q3, AS_OF)
    assert (s.met, s.breached, s.pending) == (3, 1, 1)
    assert s.compliance == 0.75


def test_delivery(tiny):
    d = sla.delivery(tiny, Q3, AS_OF)
    # 5 quality leads against 3 months × 10 committed
    assert (d.quality_leads, d.committed) == (5, 30)
    assert d.delivery == pytest.approx(5 / 30)
    assert d.acceptance_rate == pytest.approx(3 / 5)
    m = sla.delivery(tiny, parse_period("2026-07"), AS_OF)
    # July: L1, L2, L3, L6 = 4 quality leads against 10
    assert (m.quality_leads, m.committed, m.delivery) == (4, 10, 0.4)


def test_goal_attainment_and_pacing(tiny):
    g = goals.goal_status(tiny, Q3, AS_OF)
    # won in Q3 by as-of: D1 30,000 + D3 5,000; D6 closes 09-01, after as-of
    assert (g.revenue, g.won_revenue, g.attainment) == (100_000, 35_000, 0.35)
    # elapsed: 45.5 of 92 days; pacing = 35,000 / (100,000 × 45.5 / 92)
    assert g.elapsed_share == pytest.approx(45.5 / 92)
    assert g.pacing == pytest.approx(35_000 * 92 / (100_000 * 45.5))
    # a month's goal is the quarter's pro-rated by days: August 31 / 92
    assert goals.goal_revenue(tiny, parse_period("2026-08")) == pytest.approx(100_000 * 31 / 92)


def test_pipeline(tiny):
    p = pl.pipeline(tiny, Q3, AS_OF, goal_revenue=100_000, stall_days=30)
    # open as of with expected close in Q3: D2 10,000 (09-15), D4 20,000 (09-30), D6 12,000 (08-30, won
    # only on 09-01); D10 and D11 close after Q3
    assert (p.open_amount, p.open_deals) == (42_000, 3)
    assert p.coverage == pytest.approx(42_000 / 65_000)
    # stalled (> 30 days in stage): D4 negotiation since 07-12 (34.5 d), D6 discovery since 05-01;
    # D2 proposal 21.5 d; D10 has no history → since created 08-01; D11 discovery 26.5 d
    assert p.stalled_deals == 2
    # trailing year (after 2025-08-15 12:00): won D1, D3, D9; lost D5, D7; D8 is older
    assert p.win_rate == 0.6
    assert p.avg_won_deal_size == pytest.approx(55_000 / 3)
    assert p.avg_sales_cycle_days == pytest.approx((27 + 28 + 40) / 3)
    # velocity = 5 open deals × 0.6 × 18,333.33 / 31.67 days = 165,000 / 95
    assert p.open_deals_all == 5
    assert p.velocity_per_day == pytest.approx(165_000 / 95)


def test_stalled_list(tiny):
    rows = pl.stalled_deals(tiny, AS_OF, 30)
    assert rows["deal_id"].tolist() == ["D6", "D4"]
    assert rows["days_in_stage"].tolist() == pytest.approx([106.5, 34.5])
    assert rows["stage"].tolist() == ["discovery", "negotiation"]


def test_coverage_undefined_when_goal_met_or_missing(tiny):
    met = pl.pipeline(tiny, Q3, AS_OF, goal_revenue=30_000)
    assert met.coverage is None and "nothing remains" in " ".join(met.notes)
    missing = pl.pipeline(tiny, Q3, AS_OF, goal_revenue=None)
    assert missing.coverage is None and "No revenue goal" in " ".join(missing.notes)


def test_cascade_from_trailing_rates(tiny):
    rates = goals.trailing_year_rates(tiny, AS_OF)
    # trailing-year cohort: L1-L7, L9, L10 = 9 leads; quality L1 L2 L3 L4 L6 L9 = 6; accepted L1 L2 L6 L9 = 4;
    # opportunities L1 L2 L9 = 3
    assert rates.lead_to_quality == pytest.approx(6 / 9)
    assert rates.quality_to_accepted == pytest.approx(4 / 6)
    assert rates.accepted_to_opportunity == pytest.approx(3 / 4)
    assert rates.win_rate == 0.6
    targets = goals.cascade(100_000, rates)
    won = 100_000 / (55_000 / 3)
    assert targets["won"] == pytest.approx(won)
    assert targets["opportunities"] == pytest.approx(won / 0.6)
    assert targets["accepted"] == pytest.approx(won / 0.6 / 0.75)
    assert targets["quality_leads"] == pytest.approx(won / 0.6 / 0.75 / (4 / 6))
    assert targets["leads"] == pytest.approx(won / 0.6 / 0.75 / (4 / 6) / (6 / 9))


def test_cascade_with_overrides_is_hand_checkable():
    rates = goals.effective_rates(
        goals.CascadeRates(avg_deal_size=1, win_rate=1, accepted_to_opportunity=1, quality_to_accepted=1, lead_to_quality=1),
        GoalBody(revenue=100_000, avg_deal_size=20_000,
                 rate_overrides={"win_rate": 0.25, "accepted_to_opportunity": 0.5, "quality_to_accepted": 0.8,
                                 "lead_to_quality": 0.4}),
    )
    # 100,000 / 20,000 = 5 won; / 0.25 = 20 opps; / 0.5 = 40 accepted; / 0.8 = 50 quality; / 0.4 = 125 leads
    assert goals.cascade(100_000, rates) == {"won": 5, "opportunities": 20, "accepted": 40, "quality_leads": 50, "leads": 125}
    assert sorted(rates.overridden) == sorted(["avg_deal_size", "win_rate", "accepted_to_opportunity",
                                               "quality_to_accepted", "lead_to_quality"])


def test_quality_definition_effective_dating(tiny):
    # v2 from 2026-07-03: score >= 85 only, no fast tracks. Leads created before keep v1's verdict.
    edits.save(tiny, "quality_definition", edits.POLICY_SUBJECT,
               QualityDefinition(min_score=85, demo_fast_track=False, crm_qualified=False),
               actor=LEADERSHIP, reason="stricter", expected_version=1,
               effective_from=datetime(2026, 7, 3), now=AS_OF)
    f = funnel(tiny, Q3, AS_OF)
    # L1 (07-01, v1: 80 ≥ 60) and L2 (07-02, v1: demo) still count; from 07-03 only L3 (90) qualifies;
    # L4 (70) and L6 (CRM flag) no longer do
    assert f.quality_leads == 3


def test_report_shape_and_values(tiny):
    report = build_report(tiny, Q3, AS_OF)
    assert report["period"] == {"label": "2026-Q3", "start": "2026-07-01", "end": "2026-10-01"}
    assert report["goal"] == {"revenue": 100_000, "won_revenue": 35_000, "attainment": 0.35, "notes": []}
    assert report["funnel"] == {"leads": 8, "quality_leads": 5, "accepted": 3, "opportunities": 2, "won": 1, "notes": []}
    assert report["sla"]["compliance"] == 0.5
    assert report["delivery"]["committed"] == 30
    assert report["pipeline"]["stalled_deals"] == 2


def test_report_on_empty_database_is_null_with_reasons(empty):
    report = build_report(empty, Q3, AS_OF)
    for section in ("goal", "funnel", "sla", "delivery", "pipeline"):
        assert report[section]["notes"], section
    assert report["funnel"]["leads"] is None
    assert report["sla"]["compliance"] is None
    assert report["pipeline"]["open_amount"] is None
    assert report["goal"]["won_revenue"] is None
    assert report["delivery"]["delivery"] is None


def test_period_without_records_is_zero_not_null(tiny):
    report = build_report(tiny, parse_period("2025-Q1"), AS_OF)
    assert report["funnel"]["leads"] == 0
    assert report["sla"]["compliance"] is None  # nothing to measure: undefined, with a note
    assert report["sla"]["notes"]


def test_leads_without_activities_table(tiny):
    tiny.execute("DELETE FROM activities")
    s = sla.response_sla(tiny, Q3, AS_OF)
    assert s.compliance is None and s.met is None
    assert "No activities" in s.notes[0]
    assert sla.delivery(tiny, Q3, AS_OF).quality_leads == 5  # marketing's side still measured


def test_deals_without_leads(tiny):
    tiny.execute("DELETE FROM leads")
    f = funnel(tiny, Q3, AS_OF)
    assert f.leads is None and "No leads" in f.notes[0]
    assert f.sales_sourced_deals == 2
    assert pl.pipeline(tiny, Q3, AS_OF, 100_000).open_amount == 42_000


def test_several_windows_in_one_query_give_each_window_alone(tiny):
    # overlapping windows (Q3 and June are inside the trailing year, Q3 and the half-year overlap) counted
    # in one pass must equal each counted on its own: flags per window, never a lead counted in the wrong one
    from core.metrics.funnel import funnels, funnels_by
    from core.metrics.goals import trailing_year

    windows = [Q3, parse_period("2026-06"), trailing_year(AS_OF), parse_period("2026-Q2")]
    together = funnels(tiny, windows, AS_OF)
    assert [f.as_dict() for f in together] == [funnel(tiny, w, AS_OF).as_dict() for w in windows]
    assert together[0].leads == 8 and together[2].leads == 9  # tiny: Q3's 8 leads, the year's 9 (L9 in June)
    by_source = funnels_by(tiny, windows, AS_OF, "source")
    for frame, w in zip(by_source, windows):
        assert frame.to_dict("records") == funnel_by(tiny, w, AS_OF, "source").to_dict("records")
