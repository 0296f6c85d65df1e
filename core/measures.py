"""Every figure Accord shows, declared once: label, unit/format and the definition shown in tooltips.

Definitions paraphrase ../shared/METRICS.md; docs/metrics-notes.md records the choices made where it is
silent. Pages take labels and help text from here so a figure reads the same everywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    label: str
    fmt: str  # money | percent | ratio | count | decimal | hours | days | money_per_day
    help: str


MEASURES: dict[str, Measure] = {
    "goal": Measure("Revenue goal", "money", "The period's shared revenue goal (a month gets its quarter's goal pro-rated by days)."),
    "won_revenue": Measure("Won revenue", "money", "Sum of amount over deals closed won with closed_at in the period, as of the as-of moment."),
    "attainment": Measure("Attainment", "percent", "Won revenue ÷ revenue goal."),
    "pacing": Measure("Pacing", "percent", "Won revenue to date ÷ (goal × share of the period elapsed). 100% means on track."),
    "quality_leads": Measure("Quality leads", "count", "Leads created in the period that meet the quality-lead definition in force at their creation."),
    "delivery": Measure("Delivery vs commitment", "percent", "Quality leads in the period ÷ marketing's committed quality leads for the period."),
    "acceptance_rate": Measure("Acceptance rate", "percent", "Quality leads that sales accepted or converted (or that have a deal) ÷ quality leads."),
    "compliance": Measure("SLA compliance", "percent", "Quality leads first touched within the response window ÷ (met + breached); pending leads are not counted."),
    "median_hours": Measure("Median speed to lead", "hours", "Median hours from clock start (assignment, else creation) to first touch, over touched quality leads."),
    "p90_hours": Measure("p90 speed to lead", "hours", "90th percentile of hours from clock start to first touch (linear interpolation)."),
    "coverage": Measure("Coverage", "ratio", "Open pipeline expected to close in the period ÷ (goal − won revenue). Undefined when nothing remains."),
    "open_amount": Measure("Open pipeline", "money", "Amount of deals open as of, with expected close date inside the period."),
    "stalled_deals": Measure("Stalled deals", "count", "Deals open as of whose current stage was entered more than the stall threshold (days) before."),
    "win_rate": Measure("Win rate", "percent", "Won ÷ (won + lost) over deals closed in the trailing 365 days."),
    "velocity": Measure("Sales velocity", "money_per_day", "Open deals × win rate × average won deal size ÷ average sales cycle (days), trailing year."),
    "leads": Measure("Leads", "count", "Leads created in the period."),
    "accepted": Measure("Accepted", "count", "Quality leads with status accepted or converted, or with a deal."),
    "opportunities": Measure("Opportunities", "count", "Quality leads with a deal whose lead_id is theirs."),
    "won": Measure("Won", "count", "Quality leads with such a deal closed won."),
}


def fmt(value, kind: str) -> str:
    """Human formatting; None (cannot be computed) reads as an em dash, never as 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "money":
        return _money(value)
    if kind == "money_per_day":
        return f"{_money(value)}/day"
    if kind == "percent":
        return f"{value:.1%}"
    if kind == "ratio":
        return f"{value:.2f}×"
    if kind == "hours":
        return f"{value:.1f} h"
    if kind == "days":
        return f"{value:.1f} d"
    if kind == "count":
        return f"{value:,.0f}"
    if kind == "decimal":
        return f"{value:,.1f}"
    return str(value)


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1_000_000:
        return f"{sign}${v / 1_000_000:,.2f}M"
    if v >= 10_000:
        return f"{sign}${v / 1_000:,.0f}k"
    return f"{sign}${v:,.0f}"


def show(key: str, value) -> str:
    return fmt(value, MEASURES[key].fmt)


# --- Shared goals (issue #3): the reverse waterfall's inputs and each stage's target vs actual ---------
MEASURES.update({
    "avg_deal_size": Measure("Average won deal size", "money", "Mean amount of the deals won in the trailing 365 days, sales-sourced included. The cascade divides the revenue goal by it."),
    "accepted_to_opportunity": Measure("Accepted → opportunity", "percent", "Trailing-year cohort: quality leads with a deal ÷ accepted quality leads."),
    "quality_to_accepted": Measure("Quality → accepted", "percent", "Trailing-year cohort: accepted quality leads ÷ quality leads."),
    "lead_to_quality": Measure("Lead → quality", "percent", "Trailing-year cohort: quality leads ÷ leads."),
    "stage_target": Measure("Target (period)", "count", "Volume this stage needs in the whole period for the revenue goal: the goal through the reverse waterfall (deal size, then each conversion rate). Rounded up: you cannot win part of a deal."),
    "stage_target_to_date": Measure("Target to date", "count", "Target × share of the period elapsed: where the stage should be by now to be on pace. Rounded up."),
    "stage_actual": Measure("Actual to date", "count", "Leads, quality leads, accepted: the period's lead cohort so far. Opportunities: deals created in the period. Won deals: deals won (closed_at) in the period. Sales-sourced deals count."),
    "stage_pacing": Measure("Pacing", "percent", "Actual to date ÷ target to date. 100% means on track; undefined before the period starts or without a target."),
    "stage_gap": Measure("Gap to date", "count", "Target to date − actual to date, rounded up: how many more the stage needed by now to be on pace. Negative: ahead of pace."),
    "still_needed": Measure("Still needed", "count", "Target for the whole period − actual to date (never below 0), rounded up: what remains to reach the goal."),
    "segment_share": Measure("Share of target", "percent", "The segment's share of this stage in the trailing year; the period's target is split by it."),
    "required_volume": Measure("Required", "count", "Volume the what-if goal and rates need in the period (rounded up). Nothing is saved."),
})


# --- SLA compliance (issue #4): both sides' promises in detail, the breach list, the policy's fields ---
MEASURES.update({
    "sla_quality_leads": Measure("Quality leads measured", "count", "Quality leads whose SLA clock (assignment, else creation) started in the period, by as-of."),
    "sla_met": Measure("Met", "count", "Quality leads first touched within the response window: clock start + response hours, a touch exactly at the deadline included."),
    "sla_breached": Measure("Breached", "count", "Quality leads whose response window passed (as of) without a touch in it, never-touched leads included."),
    "sla_pending": Measure("Pending", "count", "Quality leads whose response window is still open at as-of and who have not been touched yet."),
    "never_touched": Measure("Never touched", "count", "Breached quality leads with no activity at all since their clock started: quality leads nobody called."),
    "under_worked": Measure("Under-worked", "count", "Quality leads with fewer than the minimum attempts within the attempt window, judged once that window has closed."),
    "avg_attempts": Measure("Follow-up attempts", "decimal", "Average activities per quality lead within the attempt window (days from clock start), over leads whose window has closed."),
    "hours_late": Measure("Hours late", "hours", "Breached leads: first touch − deadline, or as-of − deadline when never touched."),
    "committed": Measure("Committed quality leads", "count", "Marketing's quality-lead commitment for the period: the sum of its months' commitments, each month on the policy in force at its first day."),
    "rejected": Measure("Rejected", "count", "Quality leads of the period that sales rejected (status rejected, or recycled with a reason)."),
    "rejection_rate": Measure("Rejection rate", "percent", "Rejected quality leads ÷ quality leads."),
    "response_hours": Measure("Response window", "hours", "Hours from clock start within which a quality lead must be first touched."),
    "min_attempts": Measure("Minimum attempts", "count", "Activities a quality lead must get within the attempt window."),
    "attempt_days": Measure("Attempt window", "days", "Days from clock start in which the minimum attempts must happen."),
    "monthly_quality_commitment": Measure("Monthly quality-lead commitment", "count", "Quality leads marketing commits to deliver each month."),
})


# --- Quality-lead definition (issue #6): the back-test of a draft beside the version in force ---------
MEASURES.update({
    "backtest_leads": Measure("Leads", "count", "Leads created in the back-test range (by as-of) in this group."),
    "backtest_share": Measure("Share of all leads", "percent", "This group's leads ÷ all leads created in the range."),
    "backtest_opportunities": Measure("Reached an opportunity", "count", "Leads of this group with a deal on them created by as-of (a lead with two deals counts once)."),
    "backtest_opportunity_rate": Measure("Lead → opportunity", "percent", "Leads of this group that reached an opportunity ÷ leads of this group."),
    "backtest_won_leads": Measure("Won", "count", "Leads of this group with a deal on them closed won by as-of."),
    "backtest_won_rate": Measure("Lead → won", "percent", "Leads of this group with a won deal ÷ leads of this group."),
    "backtest_won_deals": Measure("Won deals", "count", "Deals closed won by as-of on leads of this group."),
    "backtest_won_revenue": Measure("Won revenue", "money", "Amount of the deals closed won by as-of on leads of this group."),
    "backtest_missed_won_deals": Measure("Won deals the draft would miss", "count", "Won deals on leads the version in force qualifies and the draft excludes."),
    "backtest_missed_won_revenue": Measure("Won revenue the draft would miss", "money", "Amount of the won deals on leads the version in force qualifies and the draft excludes."),
    "backtest_newly_qualified": Measure("Newly qualified", "count", "Leads the draft qualifies that the version in force does not."),
    "backtest_newly_excluded": Measure("Newly excluded", "count", "Leads the version in force qualifies that the draft does not."),
})


# --- Pipeline gaps and attribution (issue #5) ---------------------------------------------------------
MEASURES.update({
    "coverage_needed": Measure("Coverage needed", "ratio", "1 ÷ trailing-year win rate of the same deals: the pipeline each unit of remaining goal needs (a 25% win rate needs 4×). Undefined when nothing closed or nothing was won in the trailing year."),
    "pipeline_shortfall": Measure("Pipeline short of need", "money", "(Goal share − won revenue) × coverage needed − open pipeline in the period. Positive: more pipeline is needed."),
    "segment_goal": Measure("Share of goal", "money", "The period's goal split by each segment's share of the trailing year's won revenue."),
    "created_deals": Measure("Created", "count", "Deals created in the period (any source)."),
    "advanced_deals": Measure("Advanced", "count", "Deals that entered, in the period, an open stage later than the one their previous stage-history row recorded."),
    "period_won_deals": Measure("Won", "count", "Deals closed won in the period."),
    "lost_deals": Measure("Lost", "count", "Deals closed lost in the period."),
    "slipped_deals": Measure("Slipped", "count", "Deals expected to close in the period whose expected date has passed (before as-of's date) but that did not close in the period: still open, or closed after it."),
    "days_in_stage": Measure("Days in stage", "days", "Days from entering the current stage (latest stage-history row, else deal creation) to as-of."),
    "revenue_at_stake": Measure("Revenue at stake", "money", "Gap to date × revenue one unit of the stage is worth in the plan (goal ÷ the stage's period target). Ranks gaps of different stages on one scale."),
    "goal_to_date": Measure("Goal to date", "money", "Revenue goal × share of the period elapsed."),
    "revenue_gap": Measure("Revenue gap to date", "money", "Goal to date − won revenue. Positive: behind."),
    "gap_volume": Measure("Volume", "money", "Revenue lost (or gained) because the period has fewer (more) quality leads than the plan's target to date, at the plan's conversion and deal size."),
    "gap_conversion": Measure("Conversion", "money", "The period's quality → opportunity and win rate against the cascade's, on the period's actual quality leads."),
    "gap_deal_size": Measure("Deal size", "money", "The period's average won deal size against the cascade's, on the period's expected wins."),
    "gap_cycle_time": Measure("Cycle time", "money", "What the period's opportunities would earn at its win rate and deal size, minus what quality-lead deals actually won in it: positive when they have not closed yet."),
    "gap_other_sources": Measure("Other sources", "money", "Minus the revenue won in the period from sales-sourced, unqualified-sourced and unknown-lead deals: the cascade asks the quality-lead funnel for the whole goal."),
    "sales_sourced_deals": Measure("Sales-sourced deals", "count", "Deals created in the period with no lead: sourced by sales, reported beside the funnel."),
    "unqualified_opportunities": Measure("Unqualified-sourced opportunities", "count", "Leads of the period that reached a deal without meeting the quality-lead definition."),
    "unqualified_won": Measure("Unqualified-sourced wins", "count", "Of those, leads with a deal closed won."),
    "attr_leads": Measure("Leads", "count", "Leads created in the period whose first touch (leads.campaign_id) is this campaign."),
    "attr_quality_leads": Measure("Quality leads", "count", "Of those leads, the ones meeting the quality-lead definition."),
    "attr_opportunities": Measure("Opportunities", "decimal", "Deals created in the period, credited by the chosen model (fractions under multi-touch)."),
    "attr_won_revenue": Measure("Won revenue", "money", "Amount of deals won in the period, credited by the chosen model."),
    "attr_cost": Measure("Cost in period", "money", "Campaign cost spread evenly over its days (to as-of while it has no end date); the period's days up to as-of."),
    "cost_per_quality_lead": Measure("Cost per quality lead", "money", "Cost in the period ÷ first-touch quality leads."),
    "attr_return": Measure("Return", "ratio", "Won revenue credited by the model ÷ cost in the period."),
})
