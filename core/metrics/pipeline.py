"""Pipeline figures of METRICS.md: won revenue, open pipeline, coverage, win rate, stalls, velocity.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- Trailing year = closed_at in (as_of − 365 days, as_of].
- A deal's stage as of a moment is its latest stage-history row entered by then; a deal with no history
  rows is taken to have been in its recorded stage since created_at.
- Velocity counts every deal open as of, whatever its expected close date.
- Average won deal size and sales cycle are over deals won in the trailing year, sales-sourced included.
- Deal segments (DEAL_SEGMENTS): source, campaign and industry come from the deal's lead (its current
  attributes); a deal without a lead reads 'sales-sourced', one whose lead is not loaded 'unknown lead',
  a missing value '(not set)' (the Goals page's labels). Team and region are the deal owner's (the
  people who work the deal), not the lead owner's.
- Coverage needed = 1 / trailing-year win rate of the same deals (a segment that wins 25% of what it
  closes needs 4× its remaining goal in pipeline, not a fixed 3×). Undefined, and said so, when the
  segment closed nothing in the trailing year, or won nothing (no amount of pipeline covers a 0% rate).
- A segment's share of the goal = its share of the trailing year's won revenue; its coverage = its open
  pipeline in the period / (its share of the goal − its won revenue in the period).
- Pipeline movement in the period: created = deals created in it; advanced = deals that entered an open
  stage later than the stage of their previous history row in it (needs deal_stage_history); won and
  lost = closed in it; slipped = deals expected to close in the period whose expected date has passed
  (before as-of's date) but that did not close before the period ended — still open, or closed after
  it. The records keep only the current expected close date, so a date moved out of the period leaves
  no trace: "pushed" can only be seen as slipping past a date that is still in the period.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from core.db import reads
import pandas as pd

from core.semantic.blocks import run, DEAL_ASOF, MISSING_TABLE_NOTES, Figures, ratio, scope_params, tables_with_rows
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
    coverage_needed: float | None = None


@reads('records')
def trailing_year_deals(con: duckdb.DuckDBPyConnection, as_of: datetime) -> DealStats:
    result = DealStats()
    if "deals" not in tables_with_rows(con):
        result.notes.append(MISSING_TABLE_NOTES["deals"])
        return result
    params = scope_params(None, as_of)
    (result.won_deals, result.lost_deals, result.avg_won_deal_size, result.avg_sales_cycle_days) = run(con, 
        f"""WITH {DEAL_ASOF}
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


@reads('records')
def won_revenue(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> tuple[float, int]:
    """Sum of amount and count of deals closed_won with closed_at in the period (by as-of)."""
    params = scope_params(period, as_of)
    amount, count = run(con, 
        f"""WITH {DEAL_ASOF}
        SELECT coalesce(sum(amount), 0), count(*) FROM deal_asof
        WHERE state = 'won' AND closed_at >= $start AND closed_at < $end""",
        params,
    ).fetchone()
    return float(amount), int(count)


STALLED_SQL = f"""
    WITH {DEAL_ASOF},
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


@reads('records')
def stalled_deals(
    con: duckdb.DuckDBPyConnection, as_of: datetime, stall_days: int, limit: int | None = None
) -> pd.DataFrame:
    """Deals open as of whose current stage was entered more than stall_days before as of, oldest first
    (the first `limit` of them when given: lists shown in the app are bounded)."""
    params = scope_params(None, as_of) | {"stall_days": stall_days}
    sql = STALLED_SQL + " ORDER BY days_in_stage DESC, d.deal_id"
    if limit is not None:
        params["limit"] = int(limit)
        sql += " LIMIT $limit"
    return run(con, sql, params).df()


@reads('records')
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
        f"""WITH {DEAL_ASOF}
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
    result.coverage_needed = coverage_needed(stats.win_rate)
    if stats.win_rate == 0:
        result.notes.append("No deal was won in the trailing year, so the coverage needed (1 / win rate) is undefined.")
    if None not in (stats.win_rate, stats.avg_won_deal_size, stats.avg_sales_cycle_days):
        if stats.avg_sales_cycle_days > 0:
            result.velocity_per_day = (
                result.open_deals_all * stats.win_rate * stats.avg_won_deal_size / stats.avg_sales_cycle_days
            )
        else:
            result.notes.append("Won deals closed the moment they were created, so velocity is undefined.")
    return result


def coverage_needed(win_rate: float | None) -> float | None:
    """Pipeline needed per unit of remaining goal: 1 / win rate; undefined without closed deals or wins."""
    if win_rate is None or win_rate <= 0:
        return None
    return 1 / win_rate


# --- Segments, movement and the records behind a figure --------------------------------------------------

NOT_SET = "(not set)"  # the label of a missing segment value, as on the Goals page
OPEN_STAGES = ("discovery", "qualification", "proposal", "negotiation")
_STAGE_RANK = "list_position(['discovery', 'qualification', 'proposal', 'negotiation', 'closed_won', 'closed_lost'], {})"


def _lead_attr(expr: str) -> str:
    return (f"CASE WHEN d.lead_id IS NULL THEN 'sales-sourced' WHEN l.lead_id IS NULL THEN 'unknown lead' "
            f"ELSE coalesce({expr}, '{NOT_SET}') END")


# Segment name → SQL over a deal (d), its lead (l), the lead's first-touch campaign (cp), its owner (r).
DEAL_SEGMENTS: dict[str, str] = {
    "source": _lead_attr("l.source"),
    "campaign": _lead_attr("coalesce(cp.name, l.campaign_id)"),
    "industry": _lead_attr("l.industry"),
    "country": _lead_attr("l.country"),
    "region": f"coalesce(r.region, '{NOT_SET}')",
    "team": f"coalesce(r.team, '{NOT_SET}')",
    "owner": f"coalesce(r.name, d.owner_id, '{NOT_SET}')",
}

DEAL_JOINS = """
    LEFT JOIN leads l ON l.lead_id = d.lead_id
    LEFT JOIN campaigns cp ON cp.campaign_id = l.campaign_id
    LEFT JOIN reps r ON r.rep_id = d.owner_id"""

CURRENT_STAGE = """current_stage AS (
        SELECT deal_id, arg_max(stage, entered_at) AS stage, max(entered_at) AS entered_at
        FROM deal_stage_history WHERE entered_at <= $as_of GROUP BY deal_id
    )"""

ADVANCED_CTE = f"""hist AS (
        SELECT deal_id, stage, entered_at,
               lag(stage) OVER (PARTITION BY deal_id ORDER BY entered_at, {_STAGE_RANK.format('stage')}) AS prev_stage
        FROM deal_stage_history WHERE entered_at <= $as_of
    ),
    advanced AS (
        SELECT DISTINCT deal_id FROM hist
        WHERE entered_at >= $start AND entered_at < $end
          AND stage IN ('discovery', 'qualification', 'proposal', 'negotiation')
          AND prev_stage IS NOT NULL
          AND {_STAGE_RANK.format('stage')} > {_STAGE_RANK.format('prev_stage')}
    )"""

# Conditions over deal_asof (d) for each kind of deal a figure counts: the same text the counts use.
IN_PERIOD_EXPECTED = "d.expected_close_on >= CAST($start AS DATE) AND d.expected_close_on < CAST($end AS DATE)"
DEAL_KINDS: dict[str, tuple[str, str]] = {
    "open_pipeline": ("Open pipeline in the period", f"d.state = 'open' AND {IN_PERIOD_EXPECTED}"),
    "created": ("Created in the period", "d.created_at >= $start AND d.created_at < $end"),
    "advanced": ("Advanced a stage in the period", "a.deal_id IS NOT NULL"),
    "won": ("Won in the period", "d.state = 'won' AND d.closed_at >= $start AND d.closed_at < $end"),
    "lost": ("Lost in the period", "d.state = 'lost' AND d.closed_at >= $start AND d.closed_at < $end"),
    "slipped": ("Slipped: expected in the period, date passed, not closed in it",
                f"d.created_at < $end AND {IN_PERIOD_EXPECTED} AND d.expected_close_on < CAST($as_of AS DATE) "
                "AND (d.state = 'open' OR d.closed_at >= $end)"),
    "stalled": ("Stalled (open, too long in one stage)",
                "d.state = 'open' AND coalesce(s.entered_at, d.created_at) < $as_of - to_days(CAST($stall_days AS INTEGER))"),
    "open_all": ("Open as of (any expected close)", "d.state = 'open'"),
    "sales_sourced": ("Sales-sourced, created in the period",
                      "d.lead_id IS NULL AND d.created_at >= $start AND d.created_at < $end"),
}


@dataclass
class Movement(Figures):
    """What happened to the pipeline in the period: deals (count) and amount per movement."""

    created_deals: int | None = None
    created_amount: float | None = None
    advanced_deals: int | None = None
    advanced_amount: float | None = None
    won_deals: int | None = None
    won_amount: float | None = None
    lost_deals: int | None = None
    lost_amount: float | None = None
    slipped_deals: int | None = None
    slipped_amount: float | None = None

    def frame(self) -> pd.DataFrame:
        rows = []
        for kind in ("created", "advanced", "won", "lost", "slipped"):
            rows.append({"movement": kind, "label": DEAL_KINDS[kind][0],
                         "deals": getattr(self, f"{kind}_deals"), "amount": getattr(self, f"{kind}_amount")})
        return pd.DataFrame(rows)


@reads('records')
def pipeline_movement(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> Movement:
    """Created, advanced, won, lost and slipped deals of the period (see the module docstring)."""
    result = Movement()
    present = tables_with_rows(con)
    if "deals" not in present:
        result.notes.append(MISSING_TABLE_NOTES["deals"])
        return result
    params = scope_params(period, as_of)
    select = []
    for kind in ("created", "advanced", "won", "lost", "slipped"):
        cond = DEAL_KINDS[kind][1]
        select.append(f"count(*) FILTER ({cond}), coalesce(sum(d.amount) FILTER ({cond}), 0)")
    row = run(con, f"""WITH {DEAL_ASOF}, {ADVANCED_CTE}
        SELECT {", ".join(select)}
        FROM deal_asof d LEFT JOIN advanced a ON a.deal_id = d.deal_id""", params).fetchone()
    (result.created_deals, result.created_amount, result.advanced_deals, result.advanced_amount,
     result.won_deals, result.won_amount, result.lost_deals, result.lost_amount,
     result.slipped_deals, result.slipped_amount) = (
        int(v) if i % 2 == 0 else float(v) for i, v in enumerate(row)
    )
    if "deal_stage_history" not in present:
        result.notes.append("No deal stage history is loaded, so deals that advanced a stage cannot be counted.")
        result.advanced_deals = result.advanced_amount = None
    return result


PIPELINE_BY_COLUMNS = (
    "segment", "open_deals", "open_amount", "won_revenue", "year_won_deals", "year_lost_deals", "win_rate",
    "coverage_needed", "goal_share", "segment_goal", "remaining_goal", "coverage", "pipeline_needed",
    "pipeline_shortfall", "stalled_deals", "status",
)


@reads('records')
def pipeline_by(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    segment: str,
    goal_revenue: float | None,
    stall_days: int = 30,
) -> pd.DataFrame:
    """Pipeline health per segment value: open pipeline in the period, won revenue, trailing-year win rate,
    the coverage it needs (1 / win rate) beside the coverage it has against its share of the goal, and
    the pipeline it is short of that need. Biggest shortfall first; undefined figures are None with the
    reason in `status`."""
    if segment not in DEAL_SEGMENTS:
        raise ValueError(f"unknown segment {segment!r}")
    if "deals" not in tables_with_rows(con):
        return pd.DataFrame(columns=PIPELINE_BY_COLUMNS)
    params = scope_params(period, as_of) | {"stall_days": stall_days}
    frame = run(con, f"""WITH {DEAL_ASOF}, {CURRENT_STAGE}
        SELECT {DEAL_SEGMENTS[segment]} AS segment,
               count(*) FILTER ({DEAL_KINDS["open_pipeline"][1]}) AS open_deals,
               coalesce(sum(d.amount) FILTER ({DEAL_KINDS["open_pipeline"][1]}), 0) AS open_amount,
               coalesce(sum(d.amount) FILTER ({DEAL_KINDS["won"][1]}), 0) AS won_revenue,
               count(*) FILTER (d.state = 'won' AND d.closed_at > $year_start) AS year_won_deals,
               count(*) FILTER (d.state = 'lost' AND d.closed_at > $year_start) AS year_lost_deals,
               coalesce(sum(d.amount) FILTER (d.state = 'won' AND d.closed_at > $year_start), 0) AS year_won_revenue,
               count(*) FILTER ({DEAL_KINDS["stalled"][1]}) AS stalled_deals
        FROM deal_asof d {DEAL_JOINS}
        LEFT JOIN current_stage s ON s.deal_id = d.deal_id
        GROUP BY ALL""", params).df()
    total_year_revenue = float(frame["year_won_revenue"].sum())
    rows = []
    for rec in frame.to_dict("records"):
        closed = rec["year_won_deals"] + rec["year_lost_deals"]
        win_rate = rec["year_won_deals"] / closed if closed else None
        needed = coverage_needed(win_rate)
        share = rec["year_won_revenue"] / total_year_revenue if total_year_revenue else None
        seg_goal = goal_revenue * share if goal_revenue is not None and share is not None else None
        remaining = seg_goal - rec["won_revenue"] if seg_goal is not None else None
        left = remaining is not None and remaining > 0  # a share already won needs no pipeline at all
        coverage = rec["open_amount"] / remaining if left else None
        pipeline_needed = remaining * needed if left and needed is not None else None
        shortfall = pipeline_needed - rec["open_amount"] if pipeline_needed is not None else None
        if closed == 0:
            status = "need undefined: nothing closed in the trailing year"
        elif not rec["year_won_deals"]:
            status = "need undefined: no deal won in the trailing year"
        elif goal_revenue is None:
            status = "no goal set"
        elif remaining is not None and remaining <= 0:
            status = "goal share met"
        elif shortfall is not None and shortfall > 0:
            status = "short"
        else:
            status = "covered"
        rows.append({**rec, "win_rate": win_rate, "coverage_needed": needed, "goal_share": share,
                     "segment_goal": seg_goal, "remaining_goal": remaining, "coverage": coverage,
                     "pipeline_needed": pipeline_needed, "pipeline_shortfall": shortfall})
        rows[-1]["status"] = status
    out = pd.DataFrame(rows, columns=PIPELINE_BY_COLUMNS)
    # undefined figures are NaN whatever the mix of rows (None would survive only in all-None columns)
    out = out.astype({c: "float64" for c in ("win_rate", "coverage_needed", "goal_share", "segment_goal",
                                             "remaining_goal", "coverage", "pipeline_needed", "pipeline_shortfall")})
    out["_short"] = out["pipeline_shortfall"].astype(float).fillna(float("-inf"))
    out = out.sort_values(["_short", "open_amount", "segment"], ascending=[False, False, True])
    return out.drop(columns="_short").reset_index(drop=True)


@dataclass
class Records:
    """A bounded list of the records behind a figure: the first `limit` rows and how many there are."""

    frame: pd.DataFrame
    total: int
    limit: int


RECORDS_LIMIT = 200


@reads('records')
def deal_records(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    kind: str,
    segment: str | None = None,
    value: str | None = None,
    stall_days: int = 30,
    limit: int = RECORDS_LIMIT,
) -> Records:
    """The deals behind a pipeline figure (a DEAL_KINDS key), optionally of one segment value: the first
    `limit` by amount, with the total count. The conditions are the ones the figures count with."""
    if kind not in DEAL_KINDS:
        raise ValueError(f"unknown kind of deal {kind!r}")
    if segment is not None and segment not in DEAL_SEGMENTS:
        raise ValueError(f"unknown segment {segment!r}")
    params = scope_params(period, as_of) | {"stall_days": stall_days, "limit": int(limit), "value": value}
    seg = DEAL_SEGMENTS[segment] if segment else "NULL"
    where = DEAL_KINDS[kind][1] + (f" AND ({seg}) IS NOT DISTINCT FROM $value" if segment else "")
    base = f"""WITH {DEAL_ASOF}, {CURRENT_STAGE}, {ADVANCED_CTE}
        SELECT d.deal_id, d.account, d.amount,
               CASE d.state WHEN 'won' THEN 'closed_won' WHEN 'lost' THEN 'closed_lost'
                    ELSE coalesce(s.stage, x.stage) END AS stage,
               CASE WHEN d.state = 'open'
                    THEN epoch($as_of - coalesce(s.entered_at, d.created_at)) / 86400.0 END AS days_in_stage,
               coalesce(r.name, d.owner_id) AS owner, r.team AS owner_team,
               {DEAL_SEGMENTS["source"]} AS source, d.lead_id,
               d.created_at, d.expected_close_on, d.closed_at
        FROM deal_asof d
        JOIN deals x ON x.deal_id = d.deal_id {DEAL_JOINS}
        LEFT JOIN current_stage s ON s.deal_id = d.deal_id
        LEFT JOIN advanced a ON a.deal_id = d.deal_id
        WHERE {where}"""
    total = run(con, f"SELECT count(*) FROM ({base})", params).fetchone()[0]
    frame = run(con, base + " ORDER BY d.amount DESC, d.deal_id LIMIT $limit", params).df()
    return Records(frame=frame, total=int(total), limit=int(limit))
