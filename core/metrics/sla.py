"""Both sides' promises (METRICS.md): sales' lead-response SLA and marketing's lead-delivery SLA.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- The policy applied to a lead is the version in force at its clock start.
- The response window is closed at both ends: a first touch exactly `response_hours` after clock start
  is met; a lead with no touch is breached once as-of reaches the deadline (as-of >= deadline).
- Under-worked is judged only once the attempt window has closed by as-of (otherwise it is still open).
- A quarter's commitment is the sum of its months' commitments, each month taking the policy in force
  at its start.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from core.metrics.base import (
    run,
    MISSING_TABLE_NOTES,
    Figures,
    lead_cte,
    ratio,
    schedule_value_sql,
    scope_params,
    sla_schedule,
    tables_with_rows,
)
from core.metrics.funnel import Funnel, funnel
from core.periods import Period


@dataclass
class ResponseSla(Figures):
    met: int | None = None
    breached: int | None = None
    pending: int | None = None
    compliance: float | None = None
    median_hours_to_first_touch: float | None = None
    p90_hours_to_first_touch: float | None = None
    never_touched: int | None = None
    under_worked: int | None = None


@dataclass
class Delivery(Figures):
    quality_leads: int | None = None
    committed: int | None = None
    delivery: float | None = None
    accepted: int | None = None
    acceptance_rate: float | None = None


def sla_leads_sql(con: duckdb.DuckDBPyConnection, params: dict) -> str:
    """Per quality lead whose clock started in the period (by as-of): its policy, first touch, attempts
    and status (met / breached / pending). The base of every response-SLA figure and breach list."""
    schedule = sla_schedule(con)
    rh = schedule_value_sql(schedule, "response_hours", "q.clock_start", params, "s")
    ma = schedule_value_sql(schedule, "min_attempts", "q.clock_start", params, "s")
    ad = schedule_value_sql(schedule, "attempt_days", "q.clock_start", params, "s")
    return f"""
    WITH {lead_cte(con, params)},
    sla_leads AS (
        SELECT q.lead_id, q.owner_id, q.source, q.campaign_id, q.created_at, q.clock_start,
               {rh} AS response_hours, {ma} AS min_attempts, {ad} AS attempt_days
        FROM lead_q q
        WHERE q.is_quality AND q.clock_start >= $start AND q.clock_start < $end AND q.clock_start <= $as_of
    ),
    windows AS (
        SELECT *, clock_start + to_seconds(response_hours * 3600) AS deadline,
               clock_start + to_seconds(attempt_days * 86400) AS attempts_until
        FROM sla_leads
    ),
    touched AS (
        SELECT w.lead_id, min(a.occurred_at) AS first_touch_at,
               count(*) FILTER (a.occurred_at <= w.attempts_until) AS attempts
        FROM windows w
        JOIN activities a ON a.lead_id = w.lead_id AND a.occurred_at >= w.clock_start AND a.occurred_at <= $as_of
        GROUP BY w.lead_id
    )
    SELECT w.lead_id, w.owner_id, w.source, w.campaign_id, w.created_at, w.clock_start, w.deadline,
           w.response_hours, w.min_attempts, w.attempt_days,
           t.first_touch_at,
           epoch(t.first_touch_at - w.clock_start) / 3600.0 AS hours_to_first_touch,
           coalesce(t.attempts, 0) AS attempts,
           CASE WHEN t.first_touch_at <= w.deadline THEN 'met'
                WHEN w.deadline <= $as_of THEN 'breached'
                ELSE 'pending' END AS sla_status,
           (w.attempts_until <= $as_of AND coalesce(t.attempts, 0) < w.min_attempts) AS under_worked,
           CASE WHEN t.first_touch_at IS NULL THEN epoch($as_of - w.deadline) / 3600.0
                ELSE epoch(t.first_touch_at - w.deadline) / 3600.0 END AS hours_late
    FROM windows w LEFT JOIN touched t ON t.lead_id = w.lead_id
    """


def response_sla(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> ResponseSla:
    present = tables_with_rows(con)
    result = ResponseSla()
    for table in ("leads", "activities"):
        if table not in present:
            result.notes.append(MISSING_TABLE_NOTES[table])
    if result.notes:
        return result
    params = scope_params(period, as_of)
    row = run(con, 
        f"""SELECT count(*) FILTER (sla_status = 'met'),
                   count(*) FILTER (sla_status = 'breached'),
                   count(*) FILTER (sla_status = 'pending'),
                   quantile_cont(hours_to_first_touch, 0.5),
                   quantile_cont(hours_to_first_touch, 0.9),
                   count(*) FILTER (first_touch_at IS NULL AND sla_status = 'breached'),
                   count(*) FILTER (under_worked)
            FROM ({sla_leads_sql(con, params)})""",
        params,
    ).fetchone()
    (result.met, result.breached, result.pending, result.median_hours_to_first_touch,
     result.p90_hours_to_first_touch, result.never_touched, result.under_worked) = row
    result.compliance = ratio(result.met, result.met + result.breached)
    if result.compliance is None:
        result.notes.append("No quality lead's response window has closed in this period yet.")
    if result.median_hours_to_first_touch is None:
        result.notes.append("No quality lead of this period has been touched yet, so speed to lead is undefined.")
    return result


def sla_lead_rows(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> pd.DataFrame:
    """Per-lead SLA rows for the period (breach lists, drill-down)."""
    params = scope_params(period, as_of)
    return run(con, sla_leads_sql(con, params) + " ORDER BY w.clock_start", params).df()


def committed_quality_leads(con: duckdb.DuckDBPyConnection, period: Period) -> int | None:
    """Sum of the monthly commitments of the period's months (policy in force at each month's start)."""
    schedule = sla_schedule(con)
    total = 0
    for month in period.months():
        in_force = [p for frm, p in schedule if frm <= month.start] or [schedule[0][1]]
        commitment = in_force[-1].monthly_quality_commitment
        if commitment is None:
            return None
        total += commitment
    return total


def delivery(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, cohort: Funnel | None = None) -> Delivery:
    """Marketing's side. `cohort` may pass the period's funnel when the caller already has it."""
    f = cohort if cohort is not None else funnel(con, period, as_of)
    result = Delivery(notes=[n for n in f.notes if "lead" in n.lower()])
    result.quality_leads = f.quality_leads
    result.accepted = f.accepted
    result.acceptance_rate = ratio(f.accepted, f.quality_leads)
    result.committed = committed_quality_leads(con, period)
    if result.committed is None:
        result.notes.append("No quality-lead commitment is set in the SLA policy for this period.")
    else:
        result.delivery = ratio(result.quality_leads, result.committed)
        if result.committed == 0:
            result.notes.append("The commitment for this period is zero, so delivery is undefined.")
    return result
