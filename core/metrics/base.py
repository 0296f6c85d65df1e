"""Shared SQL building blocks for the metric modules: leads with quality as of a moment, deals as of a
moment, effective-dated policy values, and which tables hold data.

Every value is a named parameter ($as_of, $start, …); every identifier comes from an allow-list here.
"""
from __future__ import annotations

import re

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from core import edits
from core.models import QualityDefinition, SlaPolicy
from core.periods import Period
from core.quality import effective_case, schedule_sql

CANONICAL_TABLES = ("reps", "campaigns", "leads", "activities", "deals", "deal_stage_history", "campaign_touches")
TRAILING_YEAR = timedelta(days=365)


@dataclass
class Figures:
    """Base of every metric result: figures that can't be computed are None with a reason in notes."""

    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


def tables_with_rows(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Canonical tables that hold at least one row (an import may lack whole tables)."""
    parts = " UNION ALL ".join(
        f"SELECT '{t}' AS t WHERE EXISTS (SELECT 1 FROM {t})" for t in CANONICAL_TABLES  # allow-listed
    )
    return frozenset(r[0] for r in con.execute(parts).fetchall())


MISSING_TABLE_NOTES = {
    "leads": "No leads are loaded, so lead, quality-lead and funnel figures cannot be computed.",
    "activities": "No activities are loaded, so the response SLA (speed to lead, attempts) cannot be measured.",
    "deals": "No deals are loaded, so revenue, pipeline and win-rate figures cannot be computed.",
    "deal_stage_history": "No deal stage history is loaded, so stalled deals cannot be identified.",
    "campaign_touches": "No campaign touches are loaded, so multi-touch attribution cannot be computed.",
    "campaigns": "No campaigns are loaded, so campaign cost and return cannot be computed.",
}


def quality_schedule(con: duckdb.DuckDBPyConnection) -> list[tuple[datetime, QualityDefinition]]:
    return [(v.effective_from, v.body) for v in edits.in_force_schedule(con, "quality_definition")]


def sla_schedule(con: duckdb.DuckDBPyConnection) -> list[tuple[datetime, SlaPolicy]]:
    return [(v.effective_from, v.body) for v in edits.in_force_schedule(con, "sla_policy")]


def scope_params(period: Period | None, as_of: datetime) -> dict:
    params: dict = {"as_of": as_of, "year_start": as_of - TRAILING_YEAR}
    if period is not None:
        params.update(start=period.start, end=period.end)
    return params


def lead_cte(
    con: duckdb.DuckDBPyConnection,
    params: dict,
    schedule: Sequence[tuple[datetime, QualityDefinition]] | None = None,
) -> str:
    """`lead_q`: leads created by $as_of with is_quality (definition in force at created_at) and
    clock_start (assigned_at if it was stamped by $as_of, else created_at)."""
    quality = schedule_sql(quality_schedule(con) if schedule is None else schedule, params, alias="l")
    return f"""lead_q AS (
        SELECT l.lead_id, l.created_at, l.source, l.campaign_id, l.industry, l.country, l.employees,
               l.seniority, l.owner_id, l.status, l.rejected_reason,
               {quality} AS is_quality,
               CASE WHEN l.assigned_at IS NOT NULL AND l.assigned_at <= $as_of
                    THEN l.assigned_at ELSE l.created_at END AS clock_start
        FROM leads l
        WHERE l.created_at <= $as_of
    )"""


DEAL_ASOF_CTE = """deal_asof AS (
        SELECT d.deal_id, d.lead_id, d.account, d.created_at, d.amount, d.expected_close_on, d.owner_id,
               CASE WHEN d.stage = 'closed_won' AND d.closed_at <= $as_of THEN 'won'
                    WHEN d.stage = 'closed_lost' AND d.closed_at <= $as_of THEN 'lost'
                    ELSE 'open' END AS state,
               CASE WHEN d.closed_at <= $as_of THEN d.closed_at END AS closed_at
        FROM deals d
        WHERE d.created_at <= $as_of
    )"""
"""`deal_asof`: deals created by $as_of in the state they had then — a deal closed after $as_of was open."""


def schedule_value_sql(
    schedule: Sequence[tuple[datetime, object]], attr: str, moment_sql: str, params: dict, prefix: str
) -> str:
    """The value of one policy field in force at `moment_sql` (an allow-listed column expression)."""

    def value(i: int, body: object) -> str:
        params[f"{prefix}{i}_{attr}"] = getattr(body, attr)
        return f"${prefix}{i}_{attr}"

    return effective_case(schedule, moment_sql, params, prefix, value)


_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute with only the named parameters the SQL uses (DuckDB refuses unused ones), so CTE
    builders can share one parameter dict."""
    used = set(_PARAM.findall(sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used})


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
