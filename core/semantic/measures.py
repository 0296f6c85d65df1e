"""Every figure Accord shows, declared once: a stable name, its label, unit/format, its basis (which
records it counts: leads created in the period, deals closed in it, open as of, trailing year…), the one
function that computes it and the definition shown in its tooltip.

Pages, the report command, CSV headers and tests read labels and formats only from here, so a figure
reads the same everywhere and two figures with different bases never share a label (a test checks).
Definitions paraphrase ../shared/METRICS.md; docs/metrics-notes.md records choices where it is silent.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Basis:
    """Which records a figure counts. `on_card` bases differ from "the selected period" and are named on
    every card that shows such a figure (e.g. "Win rate · trailing 365 days")."""

    key: str
    phrase: str
    on_card: bool


BASES: dict[str, Basis] = {b.key: b for b in (
    Basis("goal", "the period's goal", False),
    Basis("period", "in the period", False),
    Basis("cohort", "leads created in the period", False),
    Basis("created_in_period", "deals created in the period", False),
    Basis("closed_in_period", "deals closed in the period", False),
    Basis("clock_in_period", "SLA clocks started in the period", False),
    Basis("stage", "per cascade stage", False),
    Basis("plan", "the goal's cascade", False),
    Basis("open_as_of", "open as of", True),
    Basis("trailing_year", "trailing 365 days", True),
    Basis("policy", "policy in force", False),
    Basis("backtest", "back-test range", False),
    Basis("forecast", "projected to the period's end", False),
    Basis("window", "between the two dates", True),
)}

FORMATS = ("money", "percent", "ratio", "count", "decimal", "hours", "days", "money_per_day")


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    fmt: str          # one of FORMATS
    basis: str        # a key of BASES
    computed_by: str  # dotted path of the one function (or model) that computes it
    help: str         # the definition shown in the tooltip

    @property
    def card_label(self) -> str:
        """The label on a metric card: the basis is named when it is not the selected period."""
        basis = BASES[self.basis]
        return f"{self.label} · {basis.phrase}" if basis.on_card else self.label

    @property
    def tooltip(self) -> str:
        return f"{self.help} Basis: {BASES[self.basis].phrase}."


MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("goal", "Revenue goal", "money", "goal", "core.metrics.goals.goal_status",
            "The period's shared revenue goal (a month gets its quarter's goal pro-rated by days)."),
    Measure("won_revenue", "Won revenue", "money", "closed_in_period", "core.metrics.goals.goal_status",
            "Sum of amount over deals closed won with closed_at in the period, as of the as-of moment."),
    Measure("attainment", "Attainment", "percent", "closed_in_period", "core.metrics.goals.goal_status",
            "Won revenue ÷ revenue goal."),
    Measure("pacing", "Revenue pacing", "percent", "closed_in_period", "core.metrics.goals.goal_status",
            "Won revenue to date ÷ (goal × share of the period elapsed). 100% means on track."),
    Measure("quality_leads", "Quality leads", "count", "cohort", "core.metrics.funnel.funnel",
            "Leads created in the period that meet the quality-lead definition in force at their creation."),
    Measure("delivery", "Delivery vs commitment", "percent", "cohort", "core.metrics.sla.delivery",
            "Quality leads in the period ÷ marketing's committed quality leads for the period."),
    Measure("acceptance_rate", "Acceptance rate", "percent", "cohort", "core.metrics.sla.delivery",
            "Quality leads that sales accepted or converted (or that have a deal) ÷ quality leads."),
    Measure("compliance", "SLA compliance", "percent", "clock_in_period", "core.metrics.sla.response_sla",
            "Quality leads first touched within the response window ÷ (met + breached); pending leads are not counted."),
    Measure("median_hours", "Median speed to lead", "hours", "clock_in_period", "core.metrics.sla.response_sla",
            "Median hours from clock start (assignment, else creation) to first touch, over touched quality leads."),
    Measure("p90_hours", "p90 speed to lead", "hours", "clock_in_period", "core.metrics.sla.response_sla",
            "90th percentile of hours from clock start to first touch (linear interpolation)."),
    # issue 15: routing apart from the rep's response, and the response distribution (working hours when the
    # SLA policy sets them, calendar hours otherwise)
    Measure("routed_leads", "Leads routed", "count", "clock_in_period", "core.metrics.sla.response_sla",
            "Quality leads with an assignment time (assigned_at) by as-of, not before their creation: the leads "
            "routing delay is measured over."),
    Measure("median_routing_hours", "Median routing delay", "hours", "clock_in_period", "core.metrics.sla.response_sla",
            "Median hours from lead creation to assignment to sales (created_at → assigned_at): the system's and "
            "operations' delay, apart from the rep's response."),
    Measure("p90_routing_hours", "p90 routing delay", "hours", "clock_in_period", "core.metrics.sla.response_sla",
            "90th percentile of hours from lead creation to assignment to sales (linear interpolation)."),
    Measure("touched_leads", "Leads touched", "count", "clock_in_period", "core.metrics.sla.response_sla",
            "Quality leads first touched by as-of: the leads speed to lead and the response distribution are "
            "measured over."),
    Measure("within_5m_share", "Touched within 5 min", "percent", "clock_in_period", "core.metrics.sla.response_sla",
            "Share of touched quality leads first touched within 5 minutes of clock start (inclusive)."),
    Measure("within_1h_share", "Touched within 1 h", "percent", "clock_in_period", "core.metrics.sla.response_sla",
            "Share of touched quality leads first touched within 1 hour of clock start (inclusive)."),
    Measure("within_24h_share", "Touched within 24 h", "percent", "clock_in_period", "core.metrics.sla.response_sla",
            "Share of touched quality leads first touched within 24 hours of clock start (inclusive)."),
    Measure("coverage", "Coverage", "ratio", "open_as_of", "core.metrics.pipeline.pipeline",
            "Open pipeline expected to close in the period ÷ (goal − won revenue). Undefined when nothing remains."),
    Measure("open_amount", "Open pipeline", "money", "open_as_of", "core.metrics.pipeline.pipeline",
            "Amount of deals open as of, with expected close date inside the period."),
    Measure("stalled_deals", "Stalled deals", "count", "open_as_of", "core.metrics.pipeline.pipeline",
            "Deals open as of whose current stage was entered more than its stage's stall threshold (days) "
            "before, less those an editor snoozed for a known reason."),
    Measure("snoozed_deals", "Snoozed stalls (known reason)", "count", "open_as_of", "core.metrics.pipeline.pipeline",
            "Deals over their stage's stall threshold that an editor marked stalled for a known reason until a "
            "date: out of the stalled count until then, still open."),
    Measure("win_rate", "Win rate", "percent", "trailing_year", "core.metrics.pipeline.trailing_year_deals",
            "Won ÷ (won + lost) over deals closed in the trailing 365 days."),
    Measure("velocity", "Sales velocity", "money_per_day", "open_as_of", "core.metrics.pipeline.pipeline",
            "Open deals × win rate × average won deal size ÷ average sales cycle (days), trailing year."),
    Measure("leads", "Leads", "count", "cohort", "core.metrics.funnel.funnel",
            "Leads created in the period."),
    Measure("accepted", "Accepted leads", "count", "cohort", "core.metrics.funnel.funnel",
            "Quality leads with status accepted or converted, or with a deal."),
    Measure("opportunities", "Opportunities (lead cohort)", "count", "cohort", "core.metrics.funnel.funnel",
            "Quality leads with a deal whose lead_id is theirs."),
    Measure("won", "Won (lead cohort)", "count", "cohort", "core.metrics.funnel.funnel",
            "Quality leads with such a deal closed won."),
    Measure("avg_deal_size", "Average won deal size", "money", "trailing_year", "core.metrics.pipeline.trailing_year_deals",
            "Mean amount of the deals won in the trailing 365 days, sales-sourced included. The cascade divides the revenue goal by it."),
    Measure("accepted_to_opportunity", "Accepted → opportunity", "percent", "trailing_year", "core.metrics.goals.trailing_year_rates",
            "Trailing-year cohort: quality leads with a deal ÷ accepted quality leads."),
    Measure("quality_to_accepted", "Quality → accepted", "percent", "trailing_year", "core.metrics.goals.trailing_year_rates",
            "Trailing-year cohort: accepted quality leads ÷ quality leads."),
    Measure("lead_to_quality", "Lead → quality", "percent", "trailing_year", "core.metrics.goals.trailing_year_rates",
            "Trailing-year cohort: quality leads ÷ leads."),
    Measure("stage_target", "Target (period)", "count", "plan", "core.metrics.goals.goal_plan",
            "Volume this stage needs in the whole period for the revenue goal: the goal through the reverse waterfall (deal size, then each conversion rate). Rounded up: you cannot win part of a deal."),
    Measure("stage_target_to_date", "Target to date", "count", "plan", "core.metrics.goals.goal_plan",
            "Target × share of the period elapsed: where the stage should be by now to be on pace. Rounded up."),
    Measure("stage_actual", "Actual to date", "count", "stage", "core.metrics.goals.stage_actuals",
            "Leads, quality leads, accepted leads: the period's lead cohort so far. Deals created: deals created in the period. Deals won: deals closed won (closed_at) in the period. Sales-sourced deals count: these are not the lead cohort's opportunities and wins."),
    Measure("stage_pacing", "Stage pacing", "percent", "stage", "core.metrics.goals.goal_plan",
            "Actual to date ÷ target to date. 100% means on track; undefined before the period starts or without a target."),
    Measure("stage_gap", "Gap to date", "count", "stage", "core.metrics.goals.goal_plan",
            "Target to date − actual to date, rounded up: how many more the stage needed by now to be on pace. Negative: ahead of pace."),
    Measure("still_needed", "Still needed", "count", "stage", "core.metrics.goals.goal_plan",
            "Target for the whole period − actual to date (never below 0), rounded up: what remains to reach the goal."),
    Measure("segment_share", "Share of target", "percent", "trailing_year", "core.metrics.goals.goal_plan",
            "The segment's share of this stage in the trailing year; the period's target is split by it."),
    Measure("required_volume", "Required", "count", "plan", "core.metrics.goals.what_if",
            "Volume the what-if goal and rates need in the period (rounded up). Nothing is saved."),
    Measure("sla_quality_leads", "Quality leads measured", "count", "clock_in_period", "core.metrics.sla.response_sla",
            "Quality leads whose SLA clock (assignment, else creation) started in the period, by as-of."),
    Measure("sla_met", "Met", "count", "clock_in_period", "core.metrics.sla.response_sla",
            "Quality leads first touched within the response window: clock start + response hours, a touch exactly at the deadline included."),
    Measure("sla_breached", "Breached", "count", "clock_in_period", "core.metrics.sla.response_sla",
            "Quality leads whose response window passed (as of) without a touch in it, never-touched leads included."),
    Measure("sla_pending", "Pending", "count", "clock_in_period", "core.metrics.sla.response_sla",
            "Quality leads whose response window is still open at as-of and who have not been touched yet."),
    Measure("never_touched", "Never touched", "count", "clock_in_period", "core.metrics.sla.response_sla",
            "Breached quality leads with no activity at all since their clock started: quality leads nobody called."),
    Measure("under_worked", "Under-worked", "count", "clock_in_period", "core.metrics.sla.response_sla",
            "Quality leads with fewer than the minimum attempts within the attempt window, judged once that window has closed."),
    Measure("avg_attempts", "Follow-up attempts", "decimal", "clock_in_period", "core.metrics.sla.response_sla",
            "Average activities per quality lead within the attempt window (days from clock start), over leads whose window has closed."),
    Measure("hours_late", "Hours late", "hours", "clock_in_period", "core.metrics.sla.breach_list",
            "Breached leads: first touch − deadline, or as-of − deadline when never touched."),
    Measure("committed", "Committed quality leads", "count", "policy", "core.metrics.sla.committed_quality_leads",
            "Marketing's quality-lead commitment for the period: the sum of its months' commitments, each month on the policy in force at its first day."),
    Measure("rejected", "Rejected quality leads", "count", "cohort", "core.metrics.sla.rejected_quality_leads",
            "Quality leads of the period that sales rejected (status rejected, or recycled with a reason)."),
    Measure("rejection_rate", "Rejection rate", "percent", "cohort", "core.metrics.sla.acceptance_by",
            "Rejected quality leads ÷ quality leads."),
    Measure("response_hours", "Response window", "hours", "policy", "core.models.SlaPolicy",
            "Hours from clock start within which a quality lead must be first touched."),
    Measure("min_attempts", "Minimum attempts", "count", "policy", "core.models.SlaPolicy",
            "Activities a quality lead must get within the attempt window."),
    Measure("attempt_days", "Attempt window", "days", "policy", "core.models.SlaPolicy",
            "Days from clock start in which the minimum attempts must happen."),
    Measure("monthly_quality_commitment", "Monthly quality-lead commitment", "count", "policy", "core.models.SlaPolicy",
            "Quality leads marketing commits to deliver each month."),
    Measure("backtest_leads", "Leads in range", "count", "backtest", "core.metrics.backtest.backtest",
            "Leads created in the back-test range (by as-of) in this group."),
    Measure("backtest_share", "Share of all leads", "percent", "backtest", "core.metrics.backtest.backtest",
            "This group's leads ÷ all leads created in the range."),
    Measure("backtest_opportunities", "Reached an opportunity", "count", "backtest", "core.metrics.backtest.backtest",
            "Leads of this group with a deal on them created by as-of (a lead with two deals counts once)."),
    Measure("backtest_opportunity_rate", "Lead → opportunity", "percent", "backtest", "core.metrics.backtest.backtest",
            "Leads of this group that reached an opportunity ÷ leads of this group."),
    Measure("backtest_won_leads", "Leads won", "count", "backtest", "core.metrics.backtest.backtest",
            "Leads of this group with a deal on them closed won by as-of."),
    Measure("backtest_won_rate", "Lead → won", "percent", "backtest", "core.metrics.backtest.backtest",
            "Leads of this group with a won deal ÷ leads of this group."),
    Measure("backtest_won_deals", "Won deals on these leads", "count", "backtest", "core.metrics.backtest.backtest",
            "Deals closed won by as-of on leads of this group."),
    Measure("backtest_won_revenue", "Won revenue on these leads", "money", "backtest", "core.metrics.backtest.backtest",
            "Amount of the deals closed won by as-of on leads of this group."),
    Measure("backtest_missed_won_deals", "Won deals the draft would miss", "count", "backtest", "core.metrics.backtest.backtest",
            "Won deals on leads the version in force qualifies and the draft excludes."),
    Measure("backtest_missed_won_revenue", "Won revenue the draft would miss", "money", "backtest", "core.metrics.backtest.backtest",
            "Amount of the won deals on leads the version in force qualifies and the draft excludes."),
    Measure("backtest_newly_qualified", "Newly qualified", "count", "backtest", "core.metrics.backtest.backtest",
            "Leads the draft qualifies that the version in force does not."),
    Measure("backtest_newly_excluded", "Newly excluded", "count", "backtest", "core.metrics.backtest.backtest",
            "Leads the version in force qualifies that the draft does not."),
    Measure("backtest_draft_quality_leads", "Quality leads under the draft", "count", "backtest",
            "core.metrics.backtest.backtest",
            "Leads created in the back-test range (by as-of) that the draft qualifies; beside it, the version in force on the same leads."),
    Measure("backtest_draft_share", "Share qualifying under the draft", "percent", "backtest",
            "core.metrics.backtest.backtest",
            "Leads the draft qualifies ÷ all leads created in the back-test range; beside it, the version in force's share."),
    Measure("backtest_draft_won_rate", "Lead → won under the draft", "percent", "backtest",
            "core.metrics.backtest.backtest",
            "Leads the draft qualifies that have a deal closed won by as-of ÷ leads the draft qualifies; beside it, the version in force's."),
    Measure("coverage_needed", "Coverage needed", "ratio", "trailing_year", "core.metrics.pipeline.pipeline_by",
            "1 ÷ trailing-year win rate of the same deals: the pipeline each unit of remaining goal needs (a 25% win rate needs 4×). Undefined when nothing closed or nothing was won in the trailing year."),
    Measure("pipeline_shortfall", "Pipeline short of need", "money", "open_as_of", "core.metrics.pipeline.pipeline_by",
            "(Goal share − won revenue) × coverage needed − open pipeline in the period. Positive: more pipeline is needed."),
    Measure("segment_goal", "Share of goal", "money", "goal", "core.metrics.pipeline.pipeline_by",
            "The period's goal split by each segment's share of the trailing year's won revenue."),
    Measure("created_deals", "Deals created", "count", "created_in_period", "core.metrics.pipeline.pipeline_movement",
            "Deals created in the period (any source)."),
    Measure("advanced_deals", "Deals advanced", "count", "period", "core.metrics.pipeline.pipeline_movement",
            "Deals that entered, in the period, an open stage later than the one their previous stage-history row recorded."),
    Measure("period_won_deals", "Deals won", "count", "closed_in_period", "core.metrics.pipeline.pipeline_movement",
            "Deals closed won in the period."),
    Measure("lost_deals", "Deals lost", "count", "closed_in_period", "core.metrics.pipeline.pipeline_movement",
            "Deals closed lost in the period."),
    Measure("slipped_deals", "Deals slipped", "count", "period", "core.metrics.pipeline.pipeline_movement",
            "Deals expected to close in the period whose expected date has passed (before as-of's date) but that did not close in the period: still open, or closed after it."),
    Measure("at_risk_deals", "Deals at risk", "count", "open_as_of", "core.metrics.pipeline.deal_records",
            "Open deals expected to close in the period that are stalled (longer in their stage than its stall rule allows, and not snoozed for a known reason)."),
    # What changed between two dates (core.metrics.changes): the movements over a window, not the period, so
    # their cards carry the window in their label and never read as the Pipeline page's period figures.
    Measure("window_created", "Created", "count", "window", "core.metrics.changes.changes",
            "Deals created between the two dates."),
    Measure("window_advanced", "Advanced", "count", "window", "core.metrics.changes.changes",
            "Deals that entered, between the two dates, an open stage later than the one their previous stage-history row recorded."),
    Measure("window_regressed", "Moved back", "count", "window", "core.metrics.changes.changes",
            "Deals that entered, between the two dates, an open stage earlier than the one their previous stage-history row recorded (a reopened deal included)."),
    Measure("window_won", "Won", "count", "window", "core.metrics.changes.changes",
            "Deals closed won between the two dates."),
    Measure("window_lost", "Lost", "count", "window", "core.metrics.changes.changes",
            "Deals closed lost between the two dates."),
    Measure("window_slipped", "Slipped", "count", "window", "core.metrics.changes.changes",
            "Deals expected to close between the two dates whose expected date has passed without closing in the window."),
    # Team and rep targets (core.metrics.targets): the period's sales targets split by the trailing year
    Measure("rep_revenue_target", "Revenue target", "money", "plan", "core.metrics.targets.rep_targets",
            "The period's revenue goal × the team's share × the rep's share of the team (trailing-year won revenue unless a sales manager fixed the share)."),
    Measure("rep_won_target", "Deals won target", "decimal", "plan", "core.metrics.targets.rep_targets",
            "The cascade's deals-won target split like the revenue target, by trailing-year deals won."),
    Measure("rep_opportunities_target", "Deals created target", "decimal", "plan", "core.metrics.targets.rep_targets",
            "The cascade's deals-created target split by trailing-year deals created."),
    Measure("rep_won_revenue", "Won revenue (owner)", "money", "closed_in_period", "core.metrics.targets.rep_targets",
            "Deals the rep owns, closed won in the period, as of the as-of moment."),
    Measure("rep_attainment", "Attainment of target", "percent", "closed_in_period", "core.metrics.targets.rep_targets",
            "Won revenue ÷ revenue target."),
    Measure("rep_pacing", "Pacing vs target", "percent", "closed_in_period", "core.metrics.targets.rep_targets",
            "Won revenue ÷ (revenue target × share of the period elapsed). 100% means on track."),
    Measure("days_in_stage", "Days in stage", "days", "open_as_of", "core.metrics.pipeline.deal_records",
            "Days from entering the current stage (latest stage-history row, else deal creation) to as-of."),
    Measure("revenue_at_stake", "Revenue at stake", "money", "stage", "core.metrics.gaps.stage_gaps",
            "Gap to date × revenue one unit of the stage is worth in the plan (goal ÷ the stage's period target). Ranks gaps of different stages on one scale."),
    Measure("goal_to_date", "Goal to date", "money", "goal", "core.metrics.gaps.gap_decomposition",
            "Revenue goal × share of the period elapsed."),
    Measure("revenue_gap", "Revenue gap to date", "money", "closed_in_period", "core.metrics.gaps.gap_decomposition",
            "Goal to date − won revenue. Positive: behind."),
    Measure("gap_volume", "Gap from volume", "money", "period", "core.metrics.gaps.gap_decomposition",
            "Revenue lost (or gained) because the period has fewer (more) quality leads than the plan's target to date, at the plan's conversion and deal size."),
    Measure("gap_conversion", "Gap from conversion", "money", "period", "core.metrics.gaps.gap_decomposition",
            "The period's quality → opportunity and win rate against the cascade's, on the period's actual quality leads."),
    Measure("gap_deal_size", "Gap from deal size", "money", "period", "core.metrics.gaps.gap_decomposition",
            "The period's average won deal size against the cascade's, on the period's expected wins."),
    Measure("gap_cycle_time", "Gap from cycle time", "money", "period", "core.metrics.gaps.gap_decomposition",
            "What the period's opportunities would earn at its win rate and deal size, minus what quality-lead deals actually won in it: positive when they have not closed yet."),
    Measure("gap_other_sources", "Gap from other sources", "money", "period", "core.metrics.gaps.gap_decomposition",
            "Minus the revenue won in the period from sales-sourced, unqualified-sourced and unknown-lead deals: the cascade asks the quality-lead funnel for the whole goal."),
    Measure("sales_sourced_deals", "Sales-sourced deals", "count", "created_in_period", "core.metrics.funnel.funnel",
            "Deals created in the period with no lead: sourced by sales, reported beside the funnel."),
    Measure("unqualified_opportunities", "Unqualified-sourced opportunities", "count", "cohort", "core.metrics.funnel.funnel",
            "Leads of the period that reached a deal without meeting the quality-lead definition."),
    Measure("unqualified_won", "Unqualified-sourced wins", "count", "cohort", "core.metrics.funnel.funnel",
            "Of those, leads with a deal closed won."),
    Measure("sales_sourced_won", "Sales-sourced wins", "count", "created_in_period", "core.metrics.funnel.funnel",
            "Of the sales-sourced deals created in the period, those closed won by as-of."),
    Measure("cohort_lead_to_quality", "Lead → quality (lead cohort)", "percent", "cohort",
            "core.metrics.funnel.conversions", "Quality leads ÷ leads, over the leads created in the period."),
    Measure("cohort_quality_to_accepted", "Quality → accepted (lead cohort)", "percent", "cohort",
            "core.metrics.funnel.conversions", "Accepted leads ÷ quality leads, over the leads created in the period."),
    Measure("cohort_accepted_to_opportunity", "Accepted → opportunity (lead cohort)", "percent", "cohort",
            "core.metrics.funnel.conversions",
            "Opportunities ÷ accepted leads, over the leads created in the period (a lead with a deal counts once)."),
    Measure("cohort_opportunity_to_won", "Opportunity → won (lead cohort)", "percent", "cohort",
            "core.metrics.funnel.conversions", "Won ÷ opportunities, over the leads created in the period."),
    Measure("open_deals", "Open deals", "count", "open_as_of", "core.metrics.pipeline.pipeline",
            "Deals open as of, whatever their expected close date: the deals sales velocity counts."),
    Measure("attr_leads", "First-touch leads", "count", "cohort", "core.metrics.attribution.attribution",
            "Leads created in the period whose first touch (leads.campaign_id) is this campaign."),
    Measure("attr_quality_leads", "First-touch quality leads", "count", "cohort", "core.metrics.attribution.attribution",
            "Of those leads, the ones meeting the quality-lead definition."),
    Measure("attr_opportunities", "Credited opportunities", "decimal", "created_in_period", "core.metrics.attribution.attribution",
            "Deals created in the period, credited by the chosen model (fractions under multi-touch)."),
    Measure("attr_won_revenue", "Credited won revenue", "money", "closed_in_period", "core.metrics.attribution.attribution",
            "Amount of deals won in the period, credited by the chosen model."),
    Measure("attr_cost", "Cost in period", "money", "period", "core.metrics.attribution.attribution",
            "Campaign cost spread evenly over its days (to as-of while it has no end date); the period's days up to as-of."),
    Measure("cost_per_quality_lead", "Cost per quality lead", "money", "cohort", "core.metrics.attribution.attribution",
            "Cost in the period ÷ first-touch quality leads."),
    Measure("attr_return", "Return", "ratio", "closed_in_period", "core.metrics.attribution.attribution",
            "Won revenue credited by the model ÷ cost in the period."),
    # issue 14: will we make the number? (docs/metrics-notes.md, "Landing estimate")
    Measure("landing", "Landing estimate", "money", "forecast", "core.metrics.forecast.forecast",
            "Where won revenue is expected to land by the period's end: won revenue to date + every open deal × the "
            "share of deals in its stage and age in stage, at the same point of past periods, that were won before "
            "their period ended + what deals not created yet are expected to win in the days left."),
    Measure("landing_low", "Landing, low end", "money", "forecast", "core.metrics.forecast.forecast",
            "10th percentile of the landing: from the back-test's errors (actual ÷ estimate at the same point of "
            "past periods) when at least four periods were back-tested, else a normal approximation. Never below "
            "won revenue to date."),
    Measure("landing_high", "Landing, high end", "money", "forecast", "core.metrics.forecast.forecast",
            "90th percentile of the landing, made as the low end is."),
    Measure("landing_open", "Open deals, weighted", "money", "forecast", "core.metrics.forecast.forecast",
            "Every deal open as of × the share of deals that were open in its stage and age-in-stage bucket at "
            "the same point of past periods and were won before their period ended."),
    Measure("landing_new", "Deals not created yet", "money", "forecast", "core.metrics.forecast.forecast",
            "Deals created per day (trailing 90 days) × what a new deal earns within the days left, measured on "
            "the deals created in the 365 days before them (amount × days left after its sales cycle)."),
    Measure("forecast_estimate", "Estimate at the same point", "money", "forecast", "core.metrics.forecast.backtest_rows",
            "The landing estimate as it would have been made at the same day of that period, with stage-to-win "
            "rates measured on the periods before it only."),
    Measure("forecast_actual", "Landed", "money", "closed_in_period", "core.metrics.forecast.backtest_rows",
            "Won revenue that period actually won (deals closed won in it, by as-of)."),
    Measure("forecast_error", "Estimate error", "percent", "forecast", "core.metrics.forecast.backtest_rows",
            "(Estimate − landed) ÷ landed: positive when the estimate was too high."),
)}


def missing(value) -> bool:
    """None, NaN or NaT: a value the data does not have (NaN and NaT are the only values unequal to
    themselves, so this needs neither math nor pandas)."""
    return value is None or value != value


def fmt(value, kind: str) -> str:
    """Human formatting; None (cannot be computed) reads as an em dash, never as 0."""
    if missing(value):
        return "—"
    return _FORMATTERS.get(kind, str)(value)


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1_000_000:
        return f"{sign}${v / 1_000_000:,.2f}M"
    if v >= 10_000:
        return f"{sign}${v / 1_000:,.0f}k"
    return f"{sign}${v:,.0f}"


_FORMATTERS = {
    "money": lambda v: _money(v),
    "money_per_day": lambda v: f"{_money(v)}/day",
    "percent": lambda v: f"{v:.1%}",
    "ratio": lambda v: f"{v:.2f}×",
    "hours": lambda v: f"{v:.1f} h",
    "days": lambda v: f"{v:.1f} d",
    "count": lambda v: f"{v:,.0f}",
    "decimal": lambda v: f"{v:,.1f}",
}
assert set(_FORMATTERS) == set(FORMATS)


def money_column(values) -> list[str]:
    """Amounts of one table column in one style (#14: no "$7,500" beside "$37k"): the unit the largest needs
    — $M above a million, $k above ten thousand, else dollars — for every row; missing values read "—"."""
    present = [abs(v) for v in values if not missing(v)]
    top = max(present, default=0.0)
    if top >= 1_000_000:
        unit, scale, places = "M", 1_000_000, 2
    elif top >= 10_000:
        unit, scale = "k", 1_000
        places = 1 if any(0 < v < 10_000 for v in present) else 0  # $7.5k, not $8k, beside $37k
    else:
        unit, scale, places = "", 1, 0
    return ["—" if missing(v) else f"{'-' if v < 0 else ''}${abs(v) / scale:,.{places}f}{unit}" for v in values]


def show(name: str, value) -> str:
    """`value` formatted as the measure called `name` declares."""
    return fmt(value, MEASURES[name].fmt)


def label(name: str) -> str:
    return MEASURES[name].label
