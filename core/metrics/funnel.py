"""The cohort funnel of METRICS.md: leads created in a period → quality → accepted → opportunity → won.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- `status` is the lead's current status (records carry no status history), so "accepted" by status is not
  as-of; having a deal created by as-of also counts as accepted, and that part is as-of.
- A deal counts as the lead's opportunity once created by as-of; "won" needs closed_won by as-of.
- Deals whose lead_id is NULL are sales-sourced; deals pointing at a lead that is not loaded are counted
  separately (`deals_with_unknown_lead`), never dropped.
- A lead's deals are core.semantic.blocks.lead_deals (the one lead→deal link); segments are
  core.semantic.dimensions at the lead grain (team, region and rep of the lead's owner).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from itertools import pairwise
from typing import TYPE_CHECKING

import duckdb

from core.db import reads
from core.periods import Period
from core.semantic.blocks import (
    CREATED_IN_PERIOD,
    DEAL_ASOF,
    Figures,
    lead_deals,
    lead_q,
    ratio,
    run,
    scope_params,
    tables_with_rows,
)
from core.semantic.dimensions import Dimension, dimension
from core.semantic.enums import ACCEPTED_STATUSES, FUNNEL_STAGES

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use: the report command builds no DataFrame (core.lazy)
    from core.lazy import pandas as pd

# The conversion into each stage from the one before, as the measure it is.
CONVERSION_MEASURES: dict[str, str] = {
    "quality_leads": "cohort_lead_to_quality",
    "accepted": "cohort_quality_to_accepted",
    "opportunities": "cohort_accepted_to_opportunity",
    "won": "cohort_opportunity_to_won",
}


def conversions(counts: Mapping[str, int | None]) -> dict[str, float | None]:
    """later ÷ earlier for each adjacent pair of funnel stages, keyed by the later stage ('quality_leads'
    for leads → quality leads); undefined over zero or unknown."""
    return {later: ratio(counts[later], counts[earlier]) for earlier, later in pairwise(FUNNEL_STAGES)}


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
        return conversions({s: getattr(self, s) for s in FUNNEL_STAGES})


_ACCEPTED = ", ".join(f"'{s}'" for s in ACCEPTED_STATUSES)  # our own constants
# Each funnel figure's condition over the cohort (c) and its deals (ld = lead_deals), stated once: the counts
# here and the drill-down to the records behind them (core.metrics.gaps.LEAD_KINDS) use the same text.
STAGE_CONDITIONS: dict[str, str] = {
    "leads": "TRUE",
    "quality_leads": "c.is_quality",
    "accepted": f"c.is_quality AND (c.status IN ({_ACCEPTED}) OR ld.lead_key IS NOT NULL)",
    "opportunities": "c.is_quality AND ld.lead_key IS NOT NULL",
    "won": "c.is_quality AND ld.has_won",
    "unqualified_opportunities": "NOT c.is_quality AND ld.lead_key IS NOT NULL",
    "unqualified_won": "NOT c.is_quality AND ld.has_won",
}
_COUNTS = ",\n        ".join(f"count(*) FILTER ({cond}) AS {name}" for name, cond in STAGE_CONDITIONS.items())


def _windows(params: dict, periods: Sequence[Period]) -> str:
    """CTE `wins(w, ws, we)`: window number and bounds, bound as parameters (w0_start, …); sets $lo and $hi,
    the bounds of them all, for lead_q's scan."""
    rows = []
    for i, p in enumerate(periods):
        params[f"w{i}_start"], params[f"w{i}_end"] = p.start, p.end
        rows.append(f"({i}, CAST($w{i}_start AS TIMESTAMP), CAST($w{i}_end AS TIMESTAMP))")
    params["lo"], params["hi"] = min(p.start for p in periods), max(p.end for p in periods)
    return f"wins(w, ws, we) AS (VALUES {', '.join(rows)})"


# The leads of every window _windows binds (lead_q's window and lead_deals' range).
_WINDOW = "l.created_at >= $lo AND l.created_at < $hi"


def _funnel_sql(con: duckdb.DuckDBPyConnection, params: dict, dim: Dimension | None, periods: Sequence[Period],
                schedule=None) -> str:
    """The cohort funnel of each of `periods` (column `w`, its position) in one pass over their leads: each
    lead carries a flag per window it falls in and is counted once per combination of flags; the windows'
    rows are sums over the combinations that include them. A comparison of a period, the one before and
    the trailing year reads the leads and their deals once, without a row per lead and window."""
    _windows(params, periods)  # binds $w<i>_start/_end, $lo, $hi
    flags = [f"in{i}" for i in range(len(periods))]
    flagged = ", ".join(f"(q.created_at >= $w{i}_start AND q.created_at < $w{i}_end) AS in{i}"
                        for i in range(len(periods)))
    sums = ", ".join(f"CAST(sum({name}) AS BIGINT) AS {name}" for name in STAGE_CONDITIONS)
    windows = "\n    UNION ALL ".join(f"SELECT {i} AS w, segment, {sums} FROM grouped WHERE {flag} GROUP BY segment"
                                      for i, flag in enumerate(flags))
    # the owner and campaign joins only when a dimension needs them: the headline funnel does without
    return f"""
    WITH {lead_q(con, params, schedule, _WINDOW)}, {DEAL_ASOF}, {lead_deals(_WINDOW)},
    cohort AS (SELECT q.*, {flagged} FROM lead_q q),
    grouped AS (
        SELECT {", ".join(flags)}, {dim.lead_sql("c") if dim else "'all'"} AS segment,
            {_COUNTS}
        FROM cohort c
        LEFT JOIN lead_deals ld ON ld.lead_key = c.lead_key {dim.lead_joins("c") if dim else ""}
        GROUP BY ALL
    )
    {windows}
    ORDER BY w, leads DESC, segment
    """


# Deals beside the funnel, per window: sales-sourced deals created in it (and won by as-of), and deals whose
# lead is not loaded. CREATED_IN_PERIOD with the window's bounds in place of the period's.
_WINDOW_CREATED = CREATED_IN_PERIOD.replace("$start", "wins.ws").replace("$end", "wins.we")


def _beside_sql(params: dict, periods: Sequence[Period]) -> str:
    return f"""
    WITH {DEAL_ASOF}, {_windows(params, periods)}
    SELECT wins.w,
           count(d.deal_id) FILTER (d.lead_id IS NULL),
           count(d.deal_id) FILTER (d.lead_id IS NULL AND d.state = 'won'),
           count(d.deal_id) FILTER (d.lead_id IS NOT NULL AND l.lead_key IS NULL)
    FROM wins
    LEFT JOIN deal_asof d ON {_WINDOW_CREATED}
    LEFT JOIN leads l ON l.lead_key = d.lead_key
    GROUP BY wins.w ORDER BY wins.w"""


def funnels(con: duckdb.DuckDBPyConnection, periods: Sequence[Period], as_of: datetime,
            schedule=None, beside: bool = True) -> list[Funnel]:
    """The funnel of each of `periods` (as `funnel`), from one query for the cohorts and one for the deals
    beside them (sales-sourced, lead not loaded; left None without `beside`, for callers that read only the
    stages: that query probes every lead, 0.2 s at ten million leads for a trailing year)."""
    present = tables_with_rows(con)
    results = [Funnel() for _ in periods]
    params = scope_params(None, as_of)
    if "leads" not in present:
        for result in results:
            result.notes.append(present.missing("leads"))
    else:
        found = {row[0]: row[2:] for row in run(con, _funnel_sql(con, params, None, periods, schedule), params).fetchall()}
        for i, result in enumerate(results):
            result.notes.extend(present.undated_notes("leads"))
            # no lead in the window: a real zero, not a missing table
            (result.leads, result.quality_leads, result.accepted, result.opportunities, result.won,
             result.unqualified_opportunities, result.unqualified_won) = found.get(i, (0,) * 7)
            if "deals" not in present:
                result.notes.append(present.missing("deals"))
                result.opportunities = result.won = None
                result.unqualified_opportunities = result.unqualified_won = None
    if "deals" in present and beside:
        for counts, result in zip(_beside_counts(con, params, periods), results):
            for name, n in counts.items():
                setattr(result, name, n)
    return results


# The Funnel fields the deals beside it fill (_beside_sql's counts, in order).
BESIDE_FIELDS = ("sales_sourced_deals", "sales_sourced_won", "deals_with_unknown_lead")


def _beside_counts(con: duckdb.DuckDBPyConnection, params: dict, periods: Sequence[Period]) -> list[dict[str, int]]:
    """BESIDE_FIELDS → count for each of `periods`, from one query."""
    return [dict(zip(BESIDE_FIELDS, counts)) for _, *counts in run(con, _beside_sql(params, periods), params).fetchall()]


@reads('records', 'quality_definition')
def funnel(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, schedule=None) -> Funnel:
    """The whole period's funnel with the deals beside it (sales-sourced, unqualified-sourced)."""
    return funnels(con, [period], as_of, schedule)[0]


@reads('records', 'quality_definition')
def funnel_stages(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> Funnel:
    """`funnel` without the deals beside it (BESIDE_FIELDS None): the stages, for readers of nothing else
    (the goal plan's actuals, the Overview's comparison); `with_beside` adds them."""
    return funnels(con, [period], as_of, beside=False)[0]


@reads('records')
def funnel_beside(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> dict[str, int]:
    """The deals beside the period's funnel, BESIDE_FIELDS → count ({} without deals): `funnel`'s own query,
    a cached section of its own so that pages reading only the stages skip it (it probes every lead)."""
    if "deals" not in tables_with_rows(con):
        return {}
    return _beside_counts(con, scope_params(None, as_of), [period])[0]


def with_beside(stages: Funnel, beside: dict[str, int]) -> Funnel:
    """funnel_stages' result with funnel_beside's counts: what `funnel` gives."""
    return replace(stages, notes=list(stages.notes), **beside)


@reads('records', 'quality_definition')
def funnel_by(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, segment: str) -> pd.DataFrame:
    """One funnel row per value of a dimension (core.semantic.dimensions, at the lead grain), most leads
    first. A missing value reads as the dimension says ('(not set)', '(no campaign)', 'unassigned')."""
    return funnels_by(con, [period], as_of, segment)[0]


def funnels_by(con: duckdb.DuckDBPyConnection, periods: Sequence[Period], as_of: datetime,
               segment: str) -> list[pd.DataFrame]:
    """funnel_by for each of `periods`, from one query."""
    dim = dimension(segment)
    params = scope_params(None, as_of)
    frame = run(con, _funnel_sql(con, params, dim, periods), params).df()
    return [frame[frame["w"] == i].drop(columns="w").reset_index(drop=True) for i in range(len(periods))]
