"""The cohort funnel of METRICS.md: leads created in a period → quality → accepted → opportunity → won.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- `status` is the lead's current status (records carry no status history), so "accepted" by status is not
  as-of; having a deal created by as-of also counts as accepted, and that part is as-of.
- A deal counts as the lead's opportunity once created by as-of; "won" needs closed_won by as-of.
- Deals whose lead_id is NULL are sales-sourced; deals pointing at a lead that is not loaded are counted
  separately (`deals_with_unknown_lead`), never dropped.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from core.db import reads
import pandas as pd

from core.semantic.blocks import run, DEAL_ASOF, MISSING_TABLE_NOTES, Figures, lead_q, ratio, scope_params, tables_with_rows
from core.periods import Period

STAGES = ("leads", "quality_leads", "accepted", "opportunities", "won")

# Segment name → SQL expression over the cohort (c), its owner (r) and first-touch campaign (cp).
SEGMENTS: dict[str, str] = {
    "source": "c.source",
    "campaign": "coalesce(cp.name, c.campaign_id)",
    "industry": "c.industry",
    "country": "c.country",
    "region": "r.region",
    "team": "r.team",
    "seniority": "c.seniority",
}


@dataclass
class Funnel(Figures):
    leads: int | None = None
    quality_leads: int | None = None
    accepted: int | None = None
    opportunities: int | None = None
    won: int | None = None
    unqualified_opportunities: int | None = None
    unqualified_won: int | None = None
    sales_sourced_deals: int | None = None
    sales_sourced_won: int | None = None
    deals_with_unknown_lead: int | None = None

    def conversions(self) -> dict[str, float | None]:
        """later / earlier for each adjacent pair, keyed 'quality_leads' for leads→quality_leads etc."""
        values = [getattr(self, s) for s in STAGES]
        return {STAGES[i]: ratio(values[i], values[i - 1]) for i in range(1, len(STAGES))}


# Each funnel figure's condition over the cohort (c) and its deals (ld), stated once: the counts here and
# the drill-down to the records behind them (core.metrics.gaps.LEAD_KINDS) use the same text.
STAGE_CONDITIONS: dict[str, str] = {
    "leads": "TRUE",
    "quality_leads": "c.is_quality",
    "accepted": "c.is_quality AND (c.status IN ('accepted', 'converted') OR ld.lead_id IS NOT NULL)",
    "opportunities": "c.is_quality AND ld.lead_id IS NOT NULL",
    "won": "c.is_quality AND ld.has_won",
    "unqualified_opportunities": "NOT c.is_quality AND ld.lead_id IS NOT NULL",
    "unqualified_won": "NOT c.is_quality AND ld.has_won",
}
_COUNTS = ",\n        ".join(f"count(*) FILTER ({cond}) AS {name}" for name, cond in STAGE_CONDITIONS.items())


def _funnel_sql(con: duckdb.DuckDBPyConnection, params: dict, segment: str | None, schedule=None) -> str:
    seg = SEGMENTS[segment] if segment else "'all'"
    return f"""
    WITH {lead_q(con, params, schedule)}, {DEAL_ASOF},
    cohort AS (SELECT * FROM lead_q WHERE created_at >= $start AND created_at < $end),
    lead_deals AS (
        SELECT lead_id, bool_or(state = 'won') AS has_won FROM deal_asof
        WHERE lead_id IS NOT NULL GROUP BY lead_id
    )
    SELECT {seg} AS segment,
        {_COUNTS}
    FROM cohort c
    LEFT JOIN lead_deals ld ON ld.lead_id = c.lead_id
    LEFT JOIN reps r ON r.rep_id = c.owner_id
    LEFT JOIN campaigns cp ON cp.campaign_id = c.campaign_id
    GROUP BY ALL
    ORDER BY leads DESC, segment
    """


@reads('records', 'quality_definition')
def funnel(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, schedule=None) -> Funnel:
    """The whole period's funnel with the deals beside it (sales-sourced, unqualified-sourced)."""
    present = tables_with_rows(con)
    result = Funnel()
    params = scope_params(period, as_of)
    if "leads" not in present:
        result.notes.append(MISSING_TABLE_NOTES["leads"])
    else:
        row = run(con, _funnel_sql(con, params, None, schedule), params).fetchone()
        if row is None:  # no lead in the period: a real zero, not a missing table
            row = ("all", 0, 0, 0, 0, 0, 0, 0)
        (_, result.leads, result.quality_leads, result.accepted, result.opportunities, result.won,
         result.unqualified_opportunities, result.unqualified_won) = row
        if "deals" not in present:
            result.notes.append(MISSING_TABLE_NOTES["deals"])
            result.opportunities = result.won = None
            result.unqualified_opportunities = result.unqualified_won = None
    if "deals" in present:
        dparams = scope_params(period, as_of)
        (result.sales_sourced_deals, result.sales_sourced_won, result.deals_with_unknown_lead) = run(con, 
            f"""WITH {DEAL_ASOF}
            SELECT count(*) FILTER (d.lead_id IS NULL),
                   count(*) FILTER (d.lead_id IS NULL AND d.state = 'won'),
                   count(*) FILTER (d.lead_id IS NOT NULL AND l.lead_id IS NULL)
            FROM deal_asof d LEFT JOIN leads l ON l.lead_id = d.lead_id
            WHERE d.created_at >= $start AND d.created_at < $end""",
            dparams,
        ).fetchone()
    return result


@reads('records', 'quality_definition')
def funnel_by(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, segment: str) -> pd.DataFrame:
    """One funnel row per segment value (segment name from SEGMENTS), biggest first."""
    if segment not in SEGMENTS:
        raise ValueError(f"unknown segment {segment!r}")
    params = scope_params(period, as_of)
    return run(con, _funnel_sql(con, params, segment), params).df()
