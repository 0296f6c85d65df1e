"""Pipeline figures of METRICS.md: won revenue, open pipeline, coverage, win rate, stalls, velocity.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- Trailing year = closed_at in (as_of − 365 days, as_of].
- A deal's stage as of a moment is its latest stage-history row entered by then; a deal with no history
  rows is taken to have been in its recorded stage since created_at.
- Velocity counts every deal open as of, whatever its expected close date.
- Average won deal size and sales cycle are over deals won in the trailing year, sales-sourced included.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from core.metrics.base import run, DEAL_ASOF_CTE, MISSING_TABLE_NOTES, Figures, ratio, scope_params, tables_with_rows
from core.periods import Period


@dataclass
class DealStats(Figures):
    """Trailing-year deal statistics that the cascade, velocity and coverage need."""

    won_deals: int | None = None
    lost_deals: int | None = None
    win_rate: float | None = None
    avg_won_deal_size: float | None = None
    avg_sales_cycle_days: float | None = None


@dataclass
class Pipeline(Figures):
    won_revenue: float | None = None
    won_deals: int | None = None
    open_amount: float | None = None
    open_deals: int | None = None
    coverage: float | None = None
    stalled_deals: int | None = None
    win_rate: float | None = None
    open_deals_all: int | None = None
    avg_won_deal_size: float | None = None
    avg_sales_cycle_days: float | None = None
    velocity_per_day: float | None = None


def trailing_year_deals(con: duckdb.DuckDBPyConnection, as_of: datetime) -> DealStats:
    result = DealStats()
    if "deals" not in tables_with_rows(con):
        result.notes.append(MISSING_TABLE_NOTES["deals"])
        return result
    params = scope_params(None, as_of)
    (result.won_deals, result.lost_deals, result.avg_won_deal_size, result.avg_sales_cycle_days) = run(con, 
        f"""WITH {DEAL_ASOF_CTE}
        SELECT count(*) FILTER (state = 'won'), count(*) FILTER (state = 'lost'),
               avg(amount) FILTER (state = 'won'),
               avg(epoch(closed_at - created_at) / 86400.0) FILTER (state = 'won')
        FROM deal_asof WHERE closed_at > $year_start AND closed_at <= $as_of""",
        params,
    ).fetchone()
    result.win_rate = ratio(result.won_deals, result.won_deals + result.lost_deals)
    if result.win_rate is None:
        result.notes.append("No deal closed in the trailing year, so the win rate is undefined.")
    if not result.won_deals:
        result.notes.append("No deal was won in the trailing year, so deal size and sales cycle are undefined.")
    return result


def won_revenue(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> tuple[float, int]:
    """Sum of amount and count of deals closed_won with closed_at in the period (by as-of)."""
    params = scope_params(period, as_of)
    amount, count = run(con, 
        f"""WITH {DEAL_ASOF_CTE}
        SELECT coalesce(sum(amount), 0), count(*) FROM deal_asof
        WHERE state = 'won' AND closed_at >= $start AND closed_at < $end""",
        params,
    ).fetchone()
    return float(amount), int(count)


STALLED_SQL = f"""
    WITH {DEAL_ASOF_CTE},
    current_stage AS (
        SELECT deal_id, arg_max(stage, entered_at) AS stage, max(entered_at) AS entered_at
        FROM deal_stage_history WHERE entered_at <= $as_of GROUP BY deal_id
    )
    SELECT d.deal_id, d.account, d.owner_id, r.name AS owner_name, d.amount,
           coalesce(s.stage, x.stage) AS stage,
           coalesce(s.entered_at, d.created_at) AS stage_entered_at,
           epoch($as_of - coalesce(s.entered_at, d.created_at)) / 86400.0 AS days_in_stage,
           d.expected_close_on
    FROM deal_asof d
    JOIN deals x ON x.deal_id = d.deal_id
    LEFT JOIN current_stage s ON s.deal_id = d.deal_id
    LEFT JOIN reps r ON r.rep_id = d.owner_id
    WHERE d.state = 'open'
      AND coalesce(s.entered_at, d.created_at) < $as_of - to_days(CAST($stall_days AS INTEGER))
"""


def stalled_deals(con: duckdb.DuckDBPyConnection, as_of: datetime, stall_days: int) -> pd.DataFrame:
    """Deals open as of whose current stage was entered more than stall_days before as of, oldest first."""
    params = scope_params(None, as_of) | {"stall_days": stall_days}
    return run(con, STALLED_SQL + " ORDER BY days_in_stage DESC, d.deal_id", params).df()


def pipeline(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    goal_revenue: float | None,
    stall_days: int = 30,
) -> Pipeline:
    result = Pipeline()
    present = tables_with_rows(con)
    if "deals" not in present:
        result.notes.append(MISSING_TABLE_NOTES["deals"])
        return result
    result.won_revenue, result.won_deals = won_revenue(con, period, as_of)
    params = scope_params(period, as_of)
    result.open_amount, result.open_deals, result.open_deals_all = run(con, 
        f"""WITH {DEAL_ASOF_CTE}
        SELECT coalesce(sum(amount) FILTER (expected_close_on >= CAST($start AS DATE)
                                            AND expected_close_on < CAST($end AS DATE)), 0),
               count(*) FILTER (expected_close_on >= CAST($start AS DATE) AND expected_close_on < CAST($end AS DATE)),
               count(*)
        FROM deal_asof WHERE state = 'open'""",
        params,
    ).fetchone()
    result.open_amount = float(result.open_amount)

    if goal_revenue is None:
        result.notes.append(f"No revenue goal is set for {period.label}, so coverage is undefined.")
    elif goal_revenue - result.won_revenue <= 0:
        result.notes.append("The goal is already met: nothing remains to cover, so coverage is undefined.")
    else:
        result.coverage = result.open_amount / (goal_revenue - result.won_revenue)

    if "deal_stage_history" in present:
        params_s = scope_params(None, as_of) | {"stall_days": stall_days}
        result.stalled_deals = run(con, f"SELECT count(*) FROM ({STALLED_SQL})", params_s).fetchone()[0]
    else:
        result.notes.append(MISSING_TABLE_NOTES["deal_stage_history"])

    stats = trailing_year_deals(con, as_of)
    result.notes.extend(stats.notes)
    result.win_rate = stats.win_rate
    result.avg_won_deal_size = stats.avg_won_deal_size
    result.avg_sales_cycle_days = stats.avg_sales_cycle_days
    if None not in (stats.win_rate, stats.avg_won_deal_size, stats.avg_sales_cycle_days):
        if stats.avg_sales_cycle_days > 0:
            result.velocity_per_day = (
                result.open_deals_all * stats.win_rate * stats.avg_won_deal_size / stats.avg_sales_cycle_days
            )
        else:
            result.notes.append("Won deals closed the moment they were created, so velocity is undefined.")
    return result
