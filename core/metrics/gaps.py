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
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from core.db import reads
from core.metrics.funnel import STAGE_CONDITIONS, Funnel, conversions, funnel_stages, funnels, funnels_by
from core.metrics.goals import CASCADE, goal_plan, trailing_year
from core.metrics.pipeline import (
    RECORDS_LIMIT,
    Records,
    bounded,
    trailing_year_deals,
    win_rate,
    won_revenue,
)
from core.periods import Period
from core.semantic.blocks import (
    COHORT,
    CREATED_WINDOW,
    DEAL_ASOF,
    LOST_IN_PERIOD,
    SALES_CYCLE_DAYS,
    WON_IN_PERIOD,
    Figures,
    lead_deals,
    lead_q,
    one_row,
    ratio,
    run,
    scope_params,
    section_caller,
    tables_with_rows,
)
from core.semantic.dimensions import DIMENSIONS, dimension, labels, lead_joins
from core.semantic.enums import FUNNEL_STAGES
from core.semantic.measures import MEASURES

# Segments the funnel can be broken down by on the Pipeline page (an allow-list over the dimensions).
FUNNEL_SEGMENTS: dict[str, str] = labels(("source", "campaign", "industry", "region", "team"))


# --- 1. The cohort funnel against the previous period and the trailing year --------------------------

@dataclass
class FunnelComparison(Figures):
    """`frame`: one row per funnel stage and per figure reported beside it, with this period's, the
    previous period's and the trailing year's count and conversion from the previous stage."""

    period_label: str = ""
    previous_label: str = ""
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    this: Funnel = field(default_factory=Funnel)  # the period's own funnel, as funnel() gives it


# Figures reported beside the cohort funnel (measures of core.semantic.measures).
SIDE_FIGURES = ("unqualified_opportunities", "unqualified_won", "sales_sourced_deals", "sales_sourced_won")


@reads('records', 'quality_definition')
def funnel_comparison(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> FunnelComparison:
    previous = period.previous()
    windows = dict(zip(("this", "previous", "year"), funnels(con, [period, previous, trailing_year(as_of)], as_of)))
    result = FunnelComparison(period_label=period.label, previous_label=previous.label, this=windows["this"])
    result.notes.extend(windows["this"].notes)
    conversions = {k: f.conversions() for k, f in windows.items()}
    rows = []
    for stage in FUNNEL_STAGES:
        row = {"key": stage, "figure": MEASURES[stage].label, "beside": False}
        for k, f in windows.items():
            row[k] = getattr(f, stage)
            row[f"{k}_conversion"] = conversions[k].get(stage)
        rows.append(row)
    for key in SIDE_FIGURES:
        row = {"key": key, "figure": MEASURES[key].label, "beside": True}
        for k, f in windows.items():
            row[k] = getattr(f, key)
            row[f"{k}_conversion"] = None
        rows.append(row)
    result.frame = pd.DataFrame(rows)
    return result


FUNNEL_SEGMENT_COUNTS = (*FUNNEL_STAGES, "unqualified_opportunities", "unqualified_won")
_CONVERSIONS = tuple(f"conv_{s}" for s in FUNNEL_STAGES[1:])


@reads('records', 'quality_definition')
def funnel_segments(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, segment: str) -> pd.DataFrame:
    """One row per segment value: this period's funnel counts (with the unqualified-sourced beside), the
    conversion at each step (conv_<stage> = stage / the one before) and the same conversions for the
    previous period (prev_conv_…) and the trailing year (year_conv_…). Most leads first."""
    dimension(segment, tuple(FUNNEL_SEGMENTS))
    if "leads" not in tables_with_rows(con):
        return pd.DataFrame(columns=["segment", *FUNNEL_SEGMENT_COUNTS])
    frames = {}
    by_window = funnels_by(con, [period, period.previous(), trailing_year(as_of)], as_of, segment)
    for prefix, f in zip(("", "prev_", "year_"), by_window):
        steps = [conversions(row) for row in f.to_dict("records")]
        for later in FUNNEL_STAGES[1:]:
            f[f"conv_{later}"] = [step[later] for step in steps]
        frames[prefix] = f
    out = frames[""][["segment", *FUNNEL_SEGMENT_COUNTS, *_CONVERSIONS]]
    for prefix in ("prev_", "year_"):
        conv = frames[prefix][["segment", *_CONVERSIONS]]
        out = out.merge(conv.rename(columns={c: f"{prefix}{c}" for c in _CONVERSIONS}), on="segment", how="left")
    out = out.astype({c: "float64" for c in out.columns if "conv_" in c})
    return out.sort_values(["leads", "segment"], ascending=[False, True]).reset_index(drop=True)


# --- 2. Gap to goal per stage, biggest first --------------------------------------------------------

@dataclass
class StageGaps(Figures):
    """`frame`: (segment,) GAP_COLUMNS — biggest revenue at stake first. `counts` says which records the
    stage's actual counts (the goal plan's)."""

    goal_revenue: float | None = None
    elapsed_share: float = 0.0
    segment: str | None = None
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def has_targets(self) -> bool:
        """Whether any stage has a target (no goal, or cascade rates unknown: none has)."""
        return not self.frame.empty and bool(self.frame["target"].notna().any())


GAP_COLUMNS = ("stage", "label", "owner", "counts", "target", "target_to_date", "actual", "gap_to_date", "pacing",
               "unit_value", "revenue_at_stake")


@reads('records', 'goal', 'quality_definition')
def stage_gaps(con: duckdb.DuckDBPyConnection | None, period: Period, as_of: datetime, segment: str | None = None,
               call: Callable[..., Any] | None = None) -> StageGaps:
    """The Goals page's targets vs actuals to date (goal_plan), ranked by revenue at stake. `call` as goal_plan's:
    the app passes its cache, so the plan's sections (the trailing year's rates, 0.4 s at ten million leads, and
    the period's funnel) are the ones Shared goals and the Overview computed."""
    plan = goal_plan(con, period, as_of, segment, call=call)
    result = StageGaps(goal_revenue=plan.goal_revenue, elapsed_share=plan.elapsed_share, segment=segment)
    result.notes.extend(plan.notes)
    columns = (("segment",) if segment else ()) + GAP_COLUMNS
    if plan.stages.empty:
        result.frame = pd.DataFrame(columns=columns)
        return result
    frame = plan.stages.copy()
    unit = {s.key: ratio(plan.goal_revenue, plan.targets.get(s.key)) for s in CASCADE}
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

# The decomposition's components in their fixed order, each the measure it is (label and definition).
COMPONENTS: dict[str, str] = {"volume": "gap_volume", "conversion": "gap_conversion", "deal_size": "gap_deal_size",
                              "cycle_time": "gap_cycle_time", "other_sources": "gap_other_sources"}


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
        return pd.DataFrame([{"component": k, "measure": m, "label": MEASURES[m].label, "amount": self.components.get(k)}
                             for k, m in COMPONENTS.items()])


@reads('records', 'quality_definition')
def _closed_in_period(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> tuple[int, float, float | None]:
    """The period's lost deals, the revenue won from quality leads, and the average sales cycle of its wins."""
    params = scope_params(period, as_of)
    lost, quality_won, cycle_days = one_row(run(con, f"""
        WITH {lead_q(con, params)}, {DEAL_ASOF}
        SELECT count(*) FILTER ({LOST_IN_PERIOD}),
               coalesce(sum(d.amount) FILTER ({WON_IN_PERIOD} AND q.is_quality), 0),
               avg({SALES_CYCLE_DAYS}) FILTER ({WON_IN_PERIOD})
        FROM deal_asof d LEFT JOIN lead_q q ON q.lead_key = d.lead_key""", params))
    return int(lost), float(quality_won), cycle_days


@reads('records', 'goal', 'quality_definition')
def gap_decomposition(con: duckdb.DuckDBPyConnection | None, period: Period, as_of: datetime,
                      call: Callable[..., Any] | None = None) -> Decomposition:
    """The gap to date decomposed (module docstring). `call` as goal_plan's: the app passes its cache, so the
    plan, the period's funnel and won revenue are the sections Shared goals and the Overview computed."""
    call = section_caller(con, call, "gap_decomposition")
    present = call(tables_with_rows)
    plan = goal_plan(None, period, as_of, call=call)
    rates = plan.rates
    result = Decomposition(goal_revenue=plan.goal_revenue, elapsed_share=plan.elapsed_share)
    for table in ("leads", "deals"):
        if table not in present:
            result.notes.append(present.missing(table) + " The revenue gap cannot be decomposed.")
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
    result.cycle_days_plan = call(trailing_year_deals, as_of).avg_sales_cycle_days

    cohort = call(funnel_stages, period, as_of)
    result.quality_leads_actual = cohort.quality_leads
    result.opportunities_actual = cohort.opportunities
    result.quality_to_opportunity_actual = ratio(cohort.opportunities, cohort.quality_leads)
    won_amount, result.won_deals, won_notes, _ = call(won_revenue, period, as_of)
    result.notes.extend(won_notes)
    if won_amount is None:
        result.notes.append("Without won revenue, the gap to the goal cannot be split into its causes.")
        return result
    result.lost_deals, quality_won, result.cycle_days_actual = call(_closed_in_period, period, as_of)
    result.won_revenue, result.quality_won_revenue = won_amount, quality_won
    result.other_won_revenue = result.won_revenue - result.quality_won_revenue
    result.gap = result.goal_to_date - result.won_revenue

    result.win_rate_actual = win_rate(result.won_deals, result.lost_deals)
    period_win_rate = result.win_rate_actual
    if period_win_rate is None:
        period_win_rate = rates.win_rate
        result.notes.append("No deal closed in the period, so its win rate is taken as planned (no conversion effect from it).")
    result.deal_size_actual = ratio(result.won_revenue, result.won_deals)
    deal_size = result.deal_size_actual
    if deal_size is None:
        deal_size = rates.avg_deal_size
        result.notes.append("No deal was won in the period, so its deal size is taken as planned (no deal-size effect).")
    if result.quality_to_opportunity_actual is not None:
        result.conversion_actual = result.quality_to_opportunity_actual * period_win_rate

    # R2 and R3 as opportunities × win rate: the same product as quality leads × (opportunities ÷ quality
    # leads) × win rate, and still defined (0) when the period has no quality lead yet.
    r0 = result.goal_to_date
    r1 = result.quality_leads_actual * result.conversion_plan * rates.avg_deal_size
    r2 = result.opportunities_actual * period_win_rate * rates.avg_deal_size
    r3 = result.opportunities_actual * period_win_rate * deal_size
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
    goal_to_date, won_revenue = d.goal_to_date, d.won_revenue
    assert goal_to_date is not None and won_revenue is not None  # both known before any component is computed
    rows = [{"order": 0, "label": MEASURES["goal_to_date"].label, "start": 0.0, "end": goal_to_date,
             "amount": goal_to_date, "kind": "total"}]
    level = goal_to_date
    for i, (key, measure) in enumerate(COMPONENTS.items(), start=1):
        amount = d.components[key]
        rows.append({"order": i, "label": MEASURES[measure].label, "start": level, "end": level - amount,
                     "amount": amount, "kind": "widened the gap" if amount > 0 else "narrowed the gap"})
        level -= amount
    rows.append({"order": len(COMPONENTS) + 1, "label": "Won to date", "start": 0.0, "end": won_revenue,
                 "amount": won_revenue, "kind": "total"})
    return pd.DataFrame(rows)


# --- 6. The leads behind a funnel figure ----------------------------------------------------------------

# kind → (label, condition): the funnel's figures, labelled as their measures and selected with the funnel's
# own conditions, so records and counts cannot disagree.
LEAD_KINDS: dict[str, tuple[str, str]] = {
    kind: (MEASURES[kind].label, STAGE_CONDITIONS[kind])
    for kind in (*FUNNEL_STAGES, "unqualified_opportunities", "unqualified_won")
}
# The lead's values shown beside it: the dimensions' own expressions, so a listed value is the one filtered on.
_RECORD_COLUMNS = ", ".join(f"{DIMENSIONS[name].lead_sql('c')} AS {column}" for name, column in (
    ("source", "source"), ("campaign", "campaign"), ("industry", "industry"), ("country", "country"),
    ("rep", "owner"), ("team", "owner_team")))


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
    """The period's cohort leads behind a funnel figure (a LEAD_KINDS key), optionally of one value of a
    dimension (one of FUNNEL_SEGMENTS, read at the lead grain as funnel_by reads it): the first `limit`
    by creation, and the total."""
    if kind not in LEAD_KINDS:
        raise ValueError(f"unknown funnel figure {kind!r}")
    dim = dimension(segment, tuple(FUNNEL_SEGMENTS)) if segment is not None else None
    if "leads" not in tables_with_rows(con):
        return Records(frame=pd.DataFrame(), total=0, limit=limit)
    params = scope_params(period, as_of) | {"limit": int(limit), "value": value}
    where = LEAD_KINDS[kind][1] + (f" AND {dim.lead_sql('c')} = $value" if dim else "")
    base = f"""WITH {lead_q(con, params, window=CREATED_WINDOW)}, {DEAL_ASOF}, {lead_deals(CREATED_WINDOW)}, {COHORT}
        SELECT c.lead_id, c.created_at, {_RECORD_COLUMNS}, c.is_quality, c.status,
               coalesce(ld.deals, 0) AS deals, coalesce(ld.has_won, false) AS won, ld.won_revenue
        FROM cohort c
        LEFT JOIN lead_deals ld ON ld.lead_key = c.lead_key {lead_joins("c")}
        WHERE {where}"""
    return bounded(con, base, "created_at, lead_id", params)


# Gap rows → records: lead stages list the cohort's leads, deal stages the deals (created / won).
GAP_RECORD_KINDS = {"leads": ("lead", "leads"), "quality_leads": ("lead", "quality_leads"),
                    "accepted": ("lead", "accepted"), "opportunities": ("deal", "created"), "won": ("deal", "won")}
