"""Plan ahead (issue 14, item 3): the cascade of a quarter's goal placed in time with lags measured on history,
so each stage's target lands in the period in which it must happen — next quarter's revenue needs
opportunities created this quarter and leads created before that.

Choices (also in docs/metrics-notes.md, "Plan ahead"):
- Lags are medians over the trailing year (as of): deal created → closed won over deals won in it (the sales
  cycle), and lead created → its deal created over deals created in it that came from a lead (a deal dated
  before its lead counts as 0 days). Medians, not means: one deal that took two years would pull a mean
  into another quarter.
- Won deals land in the goal's quarter. Opportunities (deals created) must happen one sales cycle earlier;
  accepted leads, quality leads and leads one lead→deal lag earlier still (records keep no date for
  acceptance or qualification, so they share the lead's creation date).
- A stage's target is spread over the calendar quarters its shifted window [start − lag, end − lag)
  overlaps, in proportion to the days in each: a 40-day cycle puts 40/92 of a Q4 goal's opportunities in
  Q3. Volumes are targets (not rounded): the table shows them rounded up.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb

from core.db import reads
from core.metrics.goals import CASCADE, goal_plan, goal_revenue
from core.periods import Period, period_containing
from core.semantic.blocks import (
    CLOSED_IN_TRAILING_YEAR,
    DEAL_ASOF,
    SALES_CYCLE_DAYS,
    Figures,
    one_row,
    run,
    scope_params,
    section_caller,
    tables_with_rows,
)

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use (core.lazy)
    from core.lazy import pandas as pd

# Which measured lag (days before the goal's quarter) each cascade stage must happen by.
STAGE_LAGS: dict[str, tuple[str, ...]] = {
    "won": (),
    "opportunities": ("deal_to_won_days",),
    "accepted": ("deal_to_won_days", "lead_to_deal_days"),
    "quality_leads": ("deal_to_won_days", "lead_to_deal_days"),
    "leads": ("deal_to_won_days", "lead_to_deal_days"),
}


@dataclass
class Lags(Figures):
    lead_to_deal_days: float | None = None
    lead_to_deal_deals: int = 0  # the deals measured
    deal_to_won_days: float | None = None
    deal_to_won_deals: int = 0


@reads('records')
def measured_lags(con: duckdb.DuckDBPyConnection, as_of: datetime) -> Lags:
    """Median days lead → deal (deals created in the trailing year from a dated lead) and deal → won (deals won
    in the trailing year), as of `as_of`."""
    result = Lags()
    present = tables_with_rows(con)
    if "deals" not in present:
        result.notes.append(present.missing("deals"))
        return result
    # the lead's creation only for the deals created in the trailing year: joining every deal to its lead built
    # the join on all deals (0.30 -> 0.19 s at ten million leads)
    row = one_row(run(con, f"""WITH {DEAL_ASOF},
        lead_lag AS (
            SELECT median(greatest(epoch(d.created_at - l.created_at), 0) / 86400.0) AS days, count(*) AS deals
            FROM deal_asof d JOIN counted_leads l ON l.lead_key = d.lead_key
            WHERE l.created_known AND d.created_known AND d.created_at > $year_start
        ),
        cycle AS (
            SELECT median({SALES_CYCLE_DAYS}) AS days, count({SALES_CYCLE_DAYS}) AS deals
            FROM deal_asof d WHERE d.state = 'won' AND {CLOSED_IN_TRAILING_YEAR}
        )
        SELECT lead_lag.days, lead_lag.deals, cycle.days, cycle.deals FROM lead_lag, cycle""",
                          scope_params(None, as_of)))
    result.lead_to_deal_days, result.lead_to_deal_deals = row[0], int(row[1])
    result.deal_to_won_days, result.deal_to_won_deals = row[2], int(row[3])
    if result.deal_to_won_days is None:
        result.notes.append("No dated deal was won in the trailing year, so the sales cycle — and when deals must "
                            "be created for a later quarter — cannot be measured.")
    if result.lead_to_deal_days is None:
        result.notes.append("No deal created in the trailing year comes from a dated lead, so how long a lead takes "
                            "to become an opportunity cannot be measured; lead-stage targets cannot be placed in time.")
    return result


def stage_lag(lags: Lags, stage: str) -> float | None:
    """Days before the goal's quarter `stage` must happen; None when a lag it needs is unknown."""
    total = 0.0
    for name in STAGE_LAGS[stage]:
        value = getattr(lags, name)
        if value is None:
            return None
        total += value
    return total


def spread(volume: float, start: datetime, end: datetime) -> list[tuple[Period, float, float]]:
    """(calendar quarter, share, volume) for each quarter [start, end) overlaps, in proportion to its days."""
    out = []
    total = (end - start).total_seconds()
    moment = start
    while moment < end:
        quarter = period_containing(moment)
        upto = min(quarter.end, end)
        share = (upto - moment).total_seconds() / total
        out.append((quarter, share, volume * share))
        moment = upto
    return out


@dataclass
class PlanAhead(Figures):
    lags: Lags = field(default_factory=Lags)
    goals: list[tuple[str, float]] = field(default_factory=list)  # (quarter, revenue goal) placed
    # one row per (goal quarter, stage, quarter in which it lands)
    detail: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["for_quarter", "stage", "target", "lag_days", "lands_in", "share", "volume"]))
    # stage × quarter in which the work lands: the volume every goal set needs there
    matrix: pd.DataFrame = field(default_factory=pd.DataFrame)


def plan_ahead(con: duckdb.DuckDBPyConnection | None, quarters: Sequence[Period], as_of: datetime,
               call: Callable[..., Any] | None = None) -> PlanAhead:
    """Every goal set for `quarters`, cascaded (core.metrics.goals.goal_plan, overrides included) and placed in
    time with measured lags. `call` as goal_plan's (the app passes its cache)."""
    call = section_caller(con, call, "plan_ahead")

    result = PlanAhead(lags=call(measured_lags, as_of))
    result.notes.extend(result.lags.notes)
    rows = []
    for quarter in quarters:
        if call(goal_revenue, quarter) is None:  # no goal, nothing to place: skip its plan's queries
            continue
        plan = goal_plan(None, quarter, as_of, call=call)
        result.goals.append((quarter.label, plan.goal_revenue))
        for stage in CASCADE:
            target, lag = plan.targets.get(stage.key), stage_lag(result.lags, stage.key)
            if target is None or lag is None:
                continue
            shift = timedelta(days=lag)
            for lands, share, volume in spread(target, quarter.start - shift, quarter.end - shift):
                rows.append({"for_quarter": quarter.label, "stage": stage.key, "target": target, "lag_days": lag,
                             "lands_in": lands.label, "share": share, "volume": volume})
        result.notes.extend(n for n in plan.notes if n not in result.notes)
    if rows:
        result.detail = pd.DataFrame(rows)
        matrix = result.detail.pivot_table(index="stage", columns="lands_in", values="volume", aggfunc="sum")
        result.matrix = matrix.reindex([s.key for s in CASCADE if s.key in matrix.index])
    return result


def next_quarters(quarter: Period, count: int) -> list[Period]:
    """`quarter` and the ones after it, `count` in all."""
    out = [quarter]
    while len(out) < count:
        out.append(period_containing(out[-1].end))
    return out


def plan_table(ahead: PlanAhead) -> pd.DataFrame:
    """The matrix as a table: one row per stage (its label), one column per quarter, volumes rounded up."""
    import math

    from core.metrics.goals import STAGES as GOAL_STAGES

    # NaN: nothing of the goals set lands in that quarter, so 0 is needed there (not a blank cell reading "None")
    frame = ahead.matrix.map(lambda v: 0 if v != v else math.ceil(v - 1e-9))
    frame.insert(0, "Stage", [GOAL_STAGES[k].label for k in frame.index])
    frame.columns.name = None
    return frame.reset_index(drop=True)
