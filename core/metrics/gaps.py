"""Where revenue leaks: the cohort funnel against the previous period and the trailing year, the gap to
goal per stage (biggest first), the decomposition of the revenue gap, and the leads behind a figure.

Targets, actuals to date and gaps per stage come from core.metrics.goals.goal_plan (one definition for
the Goals page and this one); this module ranks them and explains the revenue gap.

Choices where METRICS.md is silent (also in docs/metrics-notes.md, "Pipeline gaps"):
- Comparisons: the previous period is the calendar period before (quarter or month), its cohort counted
  as of the same as-of (so it has had longer to convert; later stages favour it). The trailing year is
  the cohort of leads created in the 365 days up to as-of, as the cascade's rates use.
- Biggest gap first: stages are counted in different units (leads, deals), so gaps are ranked by the
  revenue at stake = gap to date × revenue one unit of that stage is worth in the plan (goal ÷ the
  stage's whole-period target; for won deals that is the average deal size). For a stage of the whole
  funnel this equals goal to date × (1 − pacing).
- Gap decomposition (sequential substitution, in funnel order). Expected revenue to date =
  quality leads × quality→won conversion × average won deal size. Plan: the quality-lead target × the
  elapsed share, the cascade's quality→accepted × accepted→opportunity × win rate, and its deal size,
  which by construction gives goal × elapsed share. Actual: the period's quality leads, its cohort's
  quality→opportunity (quality leads with a deal ÷ quality leads) × the win rate of deals closed in the
  period, and the average amount of deals won in the period — each the same definition as its
  assumption, over the period instead of the trailing year. Replace each assumption by its actual in
  turn: volume = R0 − R1, conversion = R1 − R2, deal size = R2 − R3, where R3 is what the period's
  volume would earn at its own conversion and deal size; cycle time = R3 − revenue actually won in the
  period from quality-lead deals (positive: the period's opportunities have not closed yet; negative:
  earlier pipeline closed in it); other sources = − revenue won from sales-sourced, unqualified-sourced
  and unknown-lead deals (the cascade asks the quality-lead funnel for the whole goal, so these close
  part of the gap). The components sum to goal to date − won revenue exactly (telescoping; asserted).
  A positive component widened the gap, a negative one narrowed it. The order matters (interactions
  fall to the later factor) and is fixed: volume, conversion, deal size, cycle time.
  Where the period gives no evidence for an actual (no deal closed: no win rate; no deal won: no deal
  size), the plan's value is used, so that factor contributes 0 and the rest moves on; the notes say so.
  The cohort's own quality→opportunity is measured to date, so leads created in the last days of the
  period have had less time; that early lag lands in conversion.
- Records behind a figure: at most RECORDS_LIMIT rows (the page says how many there are in all), chosen
  with exactly the conditions the counts use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from core.db import reads
import pandas as pd

from core.semantic.blocks import (
    DEAL_ASOF,
    MISSING_TABLE_NOTES,
    Figures,
    lead_q,
    ratio,
    run,
    scope_params,
    tables_with_rows,
)
from core.metrics.funnel import SEGMENTS, STAGE_CONDITIONS, STAGES, funnel, funnel_by
from core.metrics.goals import CASCADE_STAGES, NOT_SET, goal_plan, trailing_year
from core.metrics.pipeline import RECORDS_LIMIT, Records, trailing_year_deals
from core.periods import Period

STAGE_LABELS = {"leads": "Leads", "quality_leads": "Quality leads", "accepted": "Accepted",
                "opportunities": "Opportunities", "won": "Won"}
# Segments the funnel can be broken down by on the Pipeline page (an allow-list over funnel.SEGMENTS).
FUNNEL_SEGMENTS: dict[str, str] = {"source": "Source", "campaign": "Campaign", "industry": "Industry",
                                   "region": "Region", "team": "Team"}


# --- 1. The cohort funnel against the previous period and the trailing year --------------------------

@dataclass
class FunnelComparison(Figures):
    """`frame`: one row per funnel stage and per figure reported beside it, with this period's, the
    previous period's and the trailing year's count and conversion from the previous stage."""

    period_label: str = ""
    previous_label: str = ""
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)


SIDE_FIGURES = (
    ("unqualified_opportunities", "Unqualified-sourced opportunities"),
    ("unqualified_won", "Unqualified-sourced wins"),
    ("sales_sourced_deals", "Sales-sourced deals"),
    ("sales_sourced_won", "Sales-sourced wins"),
)


@reads('records', 'quality_definition')
def funnel_comparison(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> FunnelComparison:
    previous = period.previous()
    windows = {"this": funnel(con, period, as_of), "previous": funnel(con, previous, as_of),
               "year": funnel(con, trailing_year(as_of), as_of)}
    result = FunnelComparison(period_label=period.label, previous_label=previous.label)
    result.notes.extend(windows["this"].notes)
    conversions = {k: f.conversions() for k, f in windows.items()}
    rows = []
    for stage in STAGES:
        row = {"key": stage, "figure": STAGE_LABELS[stage], "beside": False}
        for k, f in windows.items():
            row[k] = getattr(f, stage)
            row[f"{k}_conversion"] = conversions[k].get(stage)
        rows.append(row)
    for key, label in SIDE_FIGURES:
        row = {"key": key, "figure": label, "beside": True}
        for k, f in windows.items():
            row[k] = getattr(f, key)
            row[f"{k}_conversion"] = None
        rows.append(row)
    result.frame = pd.DataFrame(rows)
    return result


FUNNEL_SEGMENT_COUNTS = ("leads", "quality_leads", "accepted", "opportunities", "won",
                         "unqualified_opportunities", "unqualified_won")


@reads('records', 'quality_definition')
def funnel_segments(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, segment: str) -> pd.DataFrame:
    """One row per segment value: this period's funnel counts (with the unqualified-sourced beside), the
    conversion at each step (conv_<stage> = stage / the one before) and the same conversions for the
    previous period (prev_conv_…) and the trailing year (year_conv_…). Most leads first."""
    if segment not in FUNNEL_SEGMENTS:
        raise ValueError(f"unknown segment {segment!r}")
    if "leads" not in tables_with_rows(con):
        return pd.DataFrame(columns=["segment", *FUNNEL_SEGMENT_COUNTS])
    frames = {}
    for prefix, window in (("", period), ("prev_", period.previous()), ("year_", trailing_year(as_of))):
        f = funnel_by(con, window, as_of, segment)
        f["segment"] = f["segment"].fillna(NOT_SET).astype(str)
        f = f.groupby("segment", as_index=False).sum(numeric_only=True)
        for i in range(1, len(STAGES)):
            f[f"conv_{STAGES[i]}"] = [ratio(a, b) for a, b in zip(f[STAGES[i]], f[STAGES[i - 1]])]
        frames[prefix] = f
    out = frames[""][["segment", *FUNNEL_SEGMENT_COUNTS, *[f"conv_{s}" for s in STAGES[1:]]]]
    for prefix in ("prev_", "year_"):
        conv = frames[prefix][["segment", *[f"conv_{s}" for s in STAGES[1:]]]]
        out = out.merge(conv.rename(columns={f"conv_{s}": f"{prefix}conv_{s}" for s in STAGES[1:]}),
                        on="segment", how="left")
    out = out.astype({c: "float64" for c in out.columns if "conv_" in c})
    return out.sort_values(["leads", "segment"], ascending=[False, True]).reset_index(drop=True)


# --- 2. Gap to goal per stage, biggest first --------------------------------------------------------

@dataclass
class StageGaps(Figures):
    """`frame`: (segment,) stage, label, owner, target, target_to_date, actual, gap_to_date, pacing,
    unit_value, revenue_at_stake — biggest revenue at stake first."""

    goal_revenue: float | None = None
    elapsed_share: float = 0.0
    segment: str | None = None
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def has_targets(self) -> bool:
        """Whether any stage has a target (no goal, or cascade rates unknown: none has)."""
        return not self.frame.empty and bool(self.frame["target"].notna().any())


GAP_COLUMNS = ("stage", "label", "owner", "target", "target_to_date", "actual", "gap_to_date", "pacing",
               "unit_value", "revenue_at_stake")


@reads('records', 'goal', 'quality_definition')
def stage_gaps(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, segment: str | None = None) -> StageGaps:
    """The Goals page's targets vs actuals to date (goal_plan), ranked by revenue at stake."""
    plan = goal_plan(con, period, as_of, segment)
    result = StageGaps(goal_revenue=plan.goal_revenue, elapsed_share=plan.elapsed_share, segment=segment)
    result.notes.extend(plan.notes)
    columns = (("segment",) if segment else ()) + GAP_COLUMNS
    if plan.stages.empty:
        result.frame = pd.DataFrame(columns=columns)
        return result
    frame = plan.stages.copy()
    unit = {s: ratio(plan.goal_revenue, plan.targets.get(s)) for s, _, _ in CASCADE_STAGES}
    frame["unit_value"] = frame["stage"].map(unit)
    frame["revenue_at_stake"] = [
        g * u if g is not None and u is not None and not pd.isna(g) and not pd.isna(u) else None
        for g, u in zip(frame["gap_to_date"], frame["unit_value"])
    ]
    if segment:  # a value with neither a target nor an actual at a stage has nothing to say there
        idle = (frame["target"].fillna(0) == 0) & (frame["actual"].fillna(0) == 0)
        frame = frame[~idle]
    frame = frame.astype({"revenue_at_stake": "float64", "unit_value": "float64"})
    frame["_rank"] = frame["revenue_at_stake"].fillna(float("-inf"))
    frame = frame.sort_values(["_rank", "stage"], ascending=[False, True])
    result.frame = frame[list(columns)].reset_index(drop=True)
    return result


# --- 4. The revenue gap, decomposed ------------------------------------------------------------------

COMPONENTS = (
    ("volume", "Volume (quality leads)"),
    ("conversion", "Conversion (quality → won)"),
    ("deal_size", "Deal size"),
    ("cycle_time", "Cycle time (timing)"),
    ("other_sources", "Other sources (sales-sourced, unqualified)"),
)


@dataclass
class Decomposition(Figures):
    """The revenue gap to date split into components that sum to it exactly (module docstring)."""

    goal_revenue: float | None = None
    elapsed_share: float = 0.0
    goal_to_date: float | None = None
    won_revenue: float | None = None
    gap: float | None = None
    # plan and actual of each factor; None = unknown
    quality_leads_plan: float | None = None
    quality_leads_actual: int | None = None
    quality_to_opportunity_plan: float | None = None
    quality_to_opportunity_actual: float | None = None
    win_rate_plan: float | None = None
    win_rate_actual: float | None = None
    conversion_plan: float | None = None
    conversion_actual: float | None = None
    deal_size_plan: float | None = None
    deal_size_actual: float | None = None
    cycle_days_plan: float | None = None
    cycle_days_actual: float | None = None
    quality_won_revenue: float | None = None
    other_won_revenue: float | None = None
    opportunities_actual: int | None = None
    won_deals: int | None = None
    lost_deals: int | None = None
    # R0 … R3 of the substitution, then the components
    steps: dict[str, float] = field(default_factory=dict)
    components: dict[str, float] = field(default_factory=dict)

    def factors(self) -> pd.DataFrame:
        rows = [
            ("Quality leads to date", "count", self.quality_leads_plan, self.quality_leads_actual),
            ("Quality → opportunity", "percent", self.quality_to_opportunity_plan, self.quality_to_opportunity_actual),
            ("Win rate", "percent", self.win_rate_plan, self.win_rate_actual),
            ("Quality → won", "percent", self.conversion_plan, self.conversion_actual),
            ("Average won deal size", "money", self.deal_size_plan, self.deal_size_actual),
            ("Sales cycle (days, context)", "days", self.cycle_days_plan, self.cycle_days_actual),
        ]
        return pd.DataFrame(rows, columns=["factor", "fmt", "plan", "actual"])

    def component_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"component": k, "label": label, "amount": self.components.get(k)}
                             for k, label in COMPONENTS])


@reads('records', 'goal', 'quality_definition')
def gap_decomposition(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> Decomposition:
    present = tables_with_rows(con)
    plan = goal_plan(con, period, as_of)
    rates = plan.rates
    result = Decomposition(goal_revenue=plan.goal_revenue, elapsed_share=plan.elapsed_share)
    for table in ("leads", "deals"):
        if table not in present:
            result.notes.append(MISSING_TABLE_NOTES[table] + " The revenue gap cannot be decomposed.")
    if plan.goal_revenue is None:
        result.notes.append(f"No revenue goal is set for {plan.quarter_label}, so there is no gap to decompose.")
    if result.notes:
        return result
    result.goal_to_date = plan.goal_revenue * plan.elapsed_share
    if plan.targets.get("quality_leads") is None:  # a rate unknown or zero: no quality-lead target
        result.notes.append("The cascade's rates are not all known (see the Goals page), so the plan's expected "
                            "revenue, and the gap's decomposition, cannot be computed.")
        result.notes.extend(rates.notes)
        return result
    result.quality_leads_plan = plan.targets["quality_leads"] * plan.elapsed_share
    result.quality_to_opportunity_plan = rates.quality_to_accepted * rates.accepted_to_opportunity
    result.win_rate_plan = rates.win_rate
    result.conversion_plan = result.quality_to_opportunity_plan * rates.win_rate
    result.deal_size_plan = rates.avg_deal_size
    result.cycle_days_plan = trailing_year_deals(con, as_of).avg_sales_cycle_days

    cohort = funnel(con, period, as_of)
    result.quality_leads_actual = cohort.quality_leads
    result.opportunities_actual = cohort.opportunities
    result.quality_to_opportunity_actual = ratio(cohort.opportunities, cohort.quality_leads)
    params = scope_params(period, as_of)
    won_in = "d.state = 'won' AND d.closed_at >= $start AND d.closed_at < $end"
    (result.won_deals, result.lost_deals, won, quality_won, result.cycle_days_actual) = run(con, f"""
        WITH {lead_q(con, params)}, {DEAL_ASOF}
        SELECT count(*) FILTER ({won_in}),
               count(*) FILTER (d.state = 'lost' AND d.closed_at >= $start AND d.closed_at < $end),
               coalesce(sum(d.amount) FILTER ({won_in}), 0),
               coalesce(sum(d.amount) FILTER ({won_in} AND q.is_quality), 0),
               avg(epoch(d.closed_at - d.created_at) / 86400.0) FILTER ({won_in})
        FROM deal_asof d LEFT JOIN lead_q q ON q.lead_id = d.lead_id""", params).fetchone()
    result.won_revenue, result.quality_won_revenue = float(won), float(quality_won)
    result.other_won_revenue = result.won_revenue - result.quality_won_revenue
    result.gap = result.goal_to_date - result.won_revenue

    result.win_rate_actual = ratio(result.won_deals, result.won_deals + result.lost_deals)
    win_rate = result.win_rate_actual
    if win_rate is None:
        win_rate = rates.win_rate
        result.notes.append("No deal closed in the period, so its win rate is taken as planned (no conversion effect from it).")
    result.deal_size_actual = ratio(result.won_revenue, result.won_deals)
    deal_size = result.deal_size_actual
    if deal_size is None:
        deal_size = rates.avg_deal_size
        result.notes.append("No deal was won in the period, so its deal size is taken as planned (no deal-size effect).")
    if result.quality_to_opportunity_actual is not None:
        result.conversion_actual = result.quality_to_opportunity_actual * win_rate

    # R2 and R3 as opportunities × win rate: the same product as quality leads × (opportunities ÷ quality
    # leads) × win rate, and still defined (0) when the period has no quality lead yet.
    r0 = result.goal_to_date
    r1 = result.quality_leads_actual * result.conversion_plan * rates.avg_deal_size
    r2 = result.opportunities_actual * win_rate * rates.avg_deal_size
    r3 = result.opportunities_actual * win_rate * deal_size
    result.steps = {"goal_to_date": r0, "after_volume": r1, "after_conversion": r2, "after_deal_size": r3}
    result.components = {
        "volume": r0 - r1,
        "conversion": r1 - r2,
        "deal_size": r2 - r3,
        "cycle_time": r3 - result.quality_won_revenue,
        "other_sources": -result.other_won_revenue,
    }
    total = sum(result.components.values())
    assert math.isclose(total, result.gap, rel_tol=1e-9, abs_tol=1e-6), (total, result.gap)
    return result


def waterfall_frame(d: Decomposition) -> pd.DataFrame:
    """Bars of the waterfall: goal to date, each component as a step down (widened the gap) or up, won
    revenue. `start`/`end` are the bar's ends in revenue; `kind` is total, widened or narrowed."""
    if not d.components:
        return pd.DataFrame(columns=["order", "label", "start", "end", "amount", "kind"])
    rows = [{"order": 0, "label": "Goal to date", "start": 0.0, "end": d.goal_to_date, "amount": d.goal_to_date,
             "kind": "total"}]
    level = d.goal_to_date
    for i, (key, label) in enumerate(COMPONENTS, start=1):
        amount = d.components[key]
        rows.append({"order": i, "label": label, "start": level, "end": level - amount, "amount": amount,
                     "kind": "widened the gap" if amount > 0 else "narrowed the gap"})
        level -= amount
    rows.append({"order": len(COMPONENTS) + 1, "label": "Won to date", "start": 0.0, "end": d.won_revenue,
                 "amount": d.won_revenue, "kind": "total"})
    return pd.DataFrame(rows)


# --- 6. The leads behind a funnel figure ----------------------------------------------------------------

_LEAD_KIND_LABELS = {
    "leads": "Leads", "quality_leads": "Quality leads", "accepted": "Accepted", "opportunities": "Opportunities",
    "won": "Won", "unqualified_opportunities": "Unqualified-sourced opportunities",
    "unqualified_won": "Unqualified-sourced wins",
}
# (label, condition): the conditions are the funnel's own, so records and counts cannot disagree
LEAD_KINDS: dict[str, tuple[str, str]] = {
    kind: (label, STAGE_CONDITIONS[kind]) for kind, label in _LEAD_KIND_LABELS.items()
}


@reads('records', 'quality_definition')
def lead_records(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    kind: str,
    segment: str | None = None,
    value: str | None = None,
    limit: int = RECORDS_LIMIT,
) -> Records:
    """The period's cohort leads behind a funnel figure (a LEAD_KINDS key), optionally of one segment value
    (funnel.SEGMENTS; a missing value is NOT_SET): the first `limit` by creation, and the total."""
    if kind not in LEAD_KINDS:
        raise ValueError(f"unknown funnel figure {kind!r}")
    if segment is not None and segment not in SEGMENTS:
        raise ValueError(f"unknown segment {segment!r}")
    if "leads" not in tables_with_rows(con):
        return Records(frame=pd.DataFrame(), total=0, limit=limit)
    params = scope_params(period, as_of) | {"limit": int(limit), "value": value, "not_set": NOT_SET}
    where = LEAD_KINDS[kind][1]
    if segment:
        where += f" AND coalesce({SEGMENTS[segment]}, $not_set) = $value"
    base = f"""WITH {lead_q(con, params)}, {DEAL_ASOF},
        cohort AS (SELECT * FROM lead_q WHERE created_at >= $start AND created_at < $end),
        lead_deals AS (
            SELECT lead_id, count(*) AS deals, bool_or(state = 'won') AS has_won,
                   sum(amount) FILTER (state = 'won') AS won_amount
            FROM deal_asof WHERE lead_id IS NOT NULL GROUP BY lead_id
        )
        SELECT c.lead_id, c.created_at, c.source, coalesce(cp.name, c.campaign_id) AS campaign, c.industry,
               c.country, coalesce(r.name, c.owner_id) AS owner, r.team AS owner_team, c.is_quality, c.status,
               coalesce(ld.deals, 0) AS deals, coalesce(ld.has_won, false) AS won, ld.won_amount
        FROM cohort c
        LEFT JOIN lead_deals ld ON ld.lead_id = c.lead_id
        LEFT JOIN reps r ON r.rep_id = c.owner_id
        LEFT JOIN campaigns cp ON cp.campaign_id = c.campaign_id
        WHERE {where}"""
    total = run(con, f"SELECT count(*) FROM ({base})", params).fetchone()[0]
    frame = run(con, base + " ORDER BY c.created_at, c.lead_id LIMIT $limit", params).df()
    return Records(frame=frame, total=int(total), limit=int(limit))


# Gap rows → records: lead stages list the cohort's leads, deal stages the deals (created / won).
GAP_RECORD_KINDS = {"leads": ("lead", "leads"), "quality_leads": ("lead", "quality_leads"),
                    "accepted": ("lead", "accepted"), "opportunities": ("deal", "created"), "won": ("deal", "won")}
