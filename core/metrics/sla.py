"""Both sides' promises (METRICS.md): sales' lead-response SLA and marketing's lead-delivery SLA.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- The policy applied to a lead is the version in force at its clock start.
- The response window is closed at both ends: a first touch exactly `response_hours` after clock start
  is met; a lead with no touch is breached once as-of reaches the deadline (as-of >= deadline).
- Under-worked is judged only once the attempt window has closed by as-of (otherwise it is still open).
- A quarter's commitment is the sum of its months' commitments, each month taking the policy in force
  at its start.
- By team / by rep: a lead is sales' responsibility through its current owner (`owner_id`), whoever
  logged the touch; leads without an owner are grouped as 'unassigned', owners missing from `reps` as
  team 'rep not loaded' under their rep id. Follow-up attempts are averaged over the leads whose attempt
  window has closed by as-of (the same leads under-worked is judged on).
- The weekly trend groups leads by the ISO week (Monday 00:00 UTC) of their clock start; the period's
  first and last weeks may be partial. Weeks after as-of are not listed; weeks with no lead show zeros.
- Breach list: breached or under-worked quality leads of the period. Hours late is shown for breached
  leads only (first touch − deadline, or as-of − deadline when never touched); the page shows the top
  `BREACH_LIST_LIMIT` rows with the total, and the CSV is the whole filtered list.
- Rejections count quality leads only (marketing's promise is about quality leads; rejecting a lead that
  never qualified is the definition working). A quality lead of the period is rejected when its status
  is `rejected`, or `recycled` with a `rejected_reason` (sent back to marketing with a reason); a
  rejection without a reason is counted as '(no reason given)', the feedback sales still owes. Status is
  the current snapshot, like the funnel's "accepted".
- Delivery per month shows every month of the period with its elapsed share at as-of, so a month in
  progress reads as "to date" and a month not started as zero of its commitment.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from core.db import reads
import pandas as pd

from core import edits
from core.semantic.blocks import (
    run,
    MISSING_TABLE_NOTES,
    Figures,
    lead_q,
    ratio,
    schedule_value_sql,
    scope_params,
    sla_schedule,
    tables_with_rows,
)
from core.metrics.funnel import Funnel, funnel, funnel_by
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
    quality_leads: int | None = None  # quality leads whose clock started in the period (by as-of)
    attempt_windows_closed: int | None = None
    avg_attempts: float | None = None  # over leads whose attempt window has closed

    @property
    def breached_note(self) -> str | None:
        """Context for the compliance card: how many leads breached."""
        return None if self.breached is None else f"{self.breached:,} breached"

    @property
    def judged(self) -> int | None:
        """met + breached: the leads compliance is computed over (pending ones are not judged yet)."""
        return None if self.met is None else self.met + self.breached


@dataclass
class Delivery(Figures):
    quality_leads: int | None = None
    committed: int | None = None
    delivery: float | None = None
    accepted: int | None = None
    acceptance_rate: float | None = None

    @property
    def committed_note(self) -> str:
        """Context for the quality-leads card: the commitment it is measured against."""
        return "no commitment set" if self.committed is None else f"committed {self.committed:,}"


def sla_leads_sql(con: duckdb.DuckDBPyConnection, params: dict) -> str:
    """Per quality lead whose clock started in the period (by as-of): its policy, first touch, attempts
    and status (met / breached / pending). The base of every response-SLA figure and breach list."""
    schedule = sla_schedule(con)
    rh = schedule_value_sql(schedule, "response_hours", "q.clock_start", params, "s")
    ma = schedule_value_sql(schedule, "min_attempts", "q.clock_start", params, "s")
    ad = schedule_value_sql(schedule, "attempt_days", "q.clock_start", params, "s")
    return f"""
    WITH {lead_q(con, params)},
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
           w.attempts_until,
           (w.attempts_until <= $as_of) AS attempt_window_closed,
           (w.attempts_until <= $as_of AND coalesce(t.attempts, 0) < w.min_attempts) AS under_worked,
           CASE WHEN t.first_touch_at IS NULL THEN epoch($as_of - w.deadline) / 3600.0
                ELSE epoch(t.first_touch_at - w.deadline) / 3600.0 END AS hours_late
    FROM windows w LEFT JOIN touched t ON t.lead_id = w.lead_id
    """


@reads('records', 'sla_policy', 'quality_definition')
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
                   count(*) FILTER (under_worked),
                   count(*),
                   count(*) FILTER (attempt_window_closed),
                   avg(attempts) FILTER (attempt_window_closed)
            FROM ({sla_leads_sql(con, params)})""",
        params,
    ).fetchone()
    (result.met, result.breached, result.pending, result.median_hours_to_first_touch,
     result.p90_hours_to_first_touch, result.never_touched, result.under_worked,
     result.quality_leads, result.attempt_windows_closed, result.avg_attempts) = row
    result.compliance = ratio(result.met, result.met + result.breached)
    if result.compliance is None:
        result.notes.append("No quality lead's response window has closed in this period yet.")
    if result.median_hours_to_first_touch is None:
        result.notes.append("No quality lead of this period has been touched yet, so speed to lead is undefined.")
    return result


@reads('records', 'sla_policy', 'quality_definition')
def sla_lead_rows(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> pd.DataFrame:
    """Per-lead SLA rows for the period (breach lists, drill-down)."""
    params = scope_params(period, as_of)
    return run(con, sla_leads_sql(con, params) + " ORDER BY w.clock_start", params).df()


@reads('sla_policy')
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


@reads('records', 'sla_policy', 'quality_definition')
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


# ---------------------------------------------------------------------------------------------------
# Sales' side in detail: by team, by rep, by week, and the breach list
# ---------------------------------------------------------------------------------------------------

UNASSIGNED = "unassigned"
REP_NOT_LOADED = "rep not loaded"
BREACH_LIST_LIMIT = 200

# The same aggregates for every grouping (team, rep, week), so the tables add up to the headline.
_SALES_AGGREGATES = """
    count(*) AS quality_leads,
    count(*) FILTER (sla_status = 'met') AS met,
    count(*) FILTER (sla_status = 'breached') AS breached,
    count(*) FILTER (sla_status = 'pending') AS pending,
    count(*) FILTER (sla_status = 'met') / nullif(count(*) FILTER (sla_status IN ('met', 'breached')), 0)
        AS compliance,
    quantile_cont(hours_to_first_touch, 0.5) AS median_hours_to_first_touch,
    quantile_cont(hours_to_first_touch, 0.9) AS p90_hours_to_first_touch,
    count(*) FILTER (first_touch_at IS NULL AND sla_status = 'breached') AS never_touched,
    count(*) FILTER (attempt_window_closed) AS attempt_windows_closed,
    avg(attempts) FILTER (attempt_window_closed) AS avg_attempts,
    count(*) FILTER (under_worked) AS under_worked"""
SALES_COUNT_COLUMNS = ("quality_leads", "met", "breached", "pending", "never_touched", "attempt_windows_closed",
                       "under_worked")
_SALES_COLUMNS = (*SALES_COUNT_COLUMNS[:4], "compliance", "median_hours_to_first_touch", "p90_hours_to_first_touch",
                  "never_touched", "attempt_windows_closed", "avg_attempts", "under_worked")

# Grouping name → (key columns selected, GROUP BY / ORDER BY), over the enriched per-lead rows.
_GROUPINGS: dict[str, tuple[str, str]] = {
    "team": ("team", "team"),
    "rep": ("team, rep, rep_key", "team, rep, rep_key"),
}

ISSUE_FILTERS: dict[str, str] = {
    "any": "(sla_status = 'breached' OR under_worked)",
    "breached": "sla_status = 'breached'",
    "never_touched": "(sla_status = 'breached' AND first_touch_at IS NULL)",
    "under_worked": "under_worked",
}
BREACH_SORTS: dict[str, str] = {
    "hours_late": "hours_late DESC NULLS LAST, clock_start, lead_id",
    "clock_start": "clock_start DESC, lead_id",
    "attempts": "attempts, clock_start, lead_id",
    "rep": "team, rep, clock_start, lead_id",
}
BREACH_COLUMNS = ("lead_id", "company", "issue", "rep", "team", "hours_late", "clock_start", "deadline",
                  "first_touch_at", "attempts", "min_attempts", "source", "campaign")


@reads('records')
def sales_side_notes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Why the response SLA cannot be measured here (missing tables), or [] when it can."""
    present = tables_with_rows(con)
    return [MISSING_TABLE_NOTES[t] for t in ("leads", "activities") if t not in present]


def _enriched_sql(con: duckdb.DuckDBPyConnection, params: dict) -> str:
    """sla_leads_sql with the owner's team and name (or 'unassigned') and the campaign's name."""
    return f"""
        SELECT s.*,
               CASE WHEN s.owner_id IS NULL THEN '{UNASSIGNED}' ELSE coalesce(r.team, '{REP_NOT_LOADED}') END AS team,
               CASE WHEN s.owner_id IS NULL THEN '{UNASSIGNED}' ELSE coalesce(r.name, s.owner_id) END AS rep,
               coalesce(s.owner_id, '') AS rep_key,
               coalesce(cp.name, s.campaign_id, '(no campaign)') AS campaign
        FROM ({sla_leads_sql(con, params)}) s
        LEFT JOIN reps r ON r.rep_id = s.owner_id
        LEFT JOIN campaigns cp ON cp.campaign_id = s.campaign_id"""


@reads('records', 'sla_policy', 'quality_definition')
def sla_by(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, by: str) -> pd.DataFrame:
    """Response-SLA figures per team or per rep (`by` in 'team', 'rep'). For reps, `rep_key` is the
    owner id ('' for unassigned) that `breach_list(rep=...)` filters on. Empty when the sales side
    cannot be measured (see `sales_side_notes`)."""
    if by not in _GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    keys, group = _GROUPINGS[by]
    if sales_side_notes(con):
        return pd.DataFrame(columns=[*[k.strip() for k in keys.split(",")], *_SALES_COLUMNS])
    params = scope_params(period, as_of)
    sql = f"SELECT {keys}, {_SALES_AGGREGATES} FROM ({_enriched_sql(con, params)}) GROUP BY {group} ORDER BY {group}"
    return run(con, sql, params).df()


@reads('records', 'sla_policy', 'quality_definition')
def sla_weekly(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> pd.DataFrame:
    """Response-SLA figures per ISO week of clock start, every week of the period up to as-of."""
    columns = ["week", "week_start", *_SALES_COLUMNS]
    if sales_side_notes(con):
        return pd.DataFrame(columns=columns)
    params = scope_params(period, as_of)
    counts = ", ".join(f"coalesce(p.{c}, 0) AS {c}" for c in SALES_COUNT_COLUMNS)
    sql = f"""
        WITH per_week AS (
            SELECT date_trunc('week', clock_start) AS week_start, {_SALES_AGGREGATES}
            FROM ({sla_leads_sql(con, params)}) GROUP BY 1
        ),
        weeks AS (
            SELECT unnest(generate_series(date_trunc('week', $start), date_trunc('week', least($end - INTERVAL 1 MICROSECOND, $as_of)),
                                          INTERVAL 1 WEEK)) AS week_start
        )
        SELECT printf('%d-W%02d', isoyear(w.week_start), week(w.week_start)) AS week, w.week_start,
               {counts}, p.compliance, p.median_hours_to_first_touch, p.p90_hours_to_first_touch, p.avg_attempts
        FROM weeks w LEFT JOIN per_week p ON p.week_start = w.week_start
        ORDER BY w.week_start"""
    return run(con, sql, params).df()[columns]


@dataclass
class BreachList(Figures):
    """The first `limit` breached or under-worked leads in the chosen order, and how many there are."""

    rows: pd.DataFrame | None = None
    total: int | None = None
    limit: int | None = None


@reads('records', 'sla_policy', 'quality_definition')
def breach_list(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    *,
    team: str | None = None,
    rep: str | None = None,
    issue: str = "any",
    sort: str = "hours_late",
    limit: int | None = BREACH_LIST_LIMIT,
) -> BreachList:
    """Breached or under-worked quality leads of the period with rep, team, hours late, source and
    campaign. Filters: `team` (as in sla_by), `rep` (a rep_key from sla_by: owner id, '' = unassigned),
    `issue` (ISSUE_FILTERS); `sort` from BREACH_SORTS; `limit=None` returns the whole filtered list."""
    if issue not in ISSUE_FILTERS:
        raise ValueError(f"unknown issue filter {issue!r}")
    if sort not in BREACH_SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    notes = sales_side_notes(con)
    if notes:
        return BreachList(notes=notes, rows=pd.DataFrame(columns=list(BREACH_COLUMNS)))
    params = scope_params(period, as_of)
    params.update(team=team, rep=rep, limit=limit)
    order = BREACH_SORTS[sort]
    sql = f"""
        WITH picked AS (
            SELECT lead_id, rep, team, sla_status, first_touch_at, under_worked, clock_start, deadline,
                   CASE WHEN sla_status = 'breached' THEN hours_late END AS hours_late,
                   attempts, min_attempts, source, campaign, count(*) OVER () AS total
            FROM ({_enriched_sql(con, params)})
            WHERE {ISSUE_FILTERS[issue]} AND ($team IS NULL OR team = $team) AND ($rep IS NULL OR rep_key = $rep)
            ORDER BY {order}
            LIMIT $limit
        )
        SELECT p.lead_id, l.company,
               concat_ws(', ',
                   CASE WHEN p.sla_status = 'breached' AND p.first_touch_at IS NULL THEN 'never touched'
                        WHEN p.sla_status = 'breached' THEN 'breached' END,
                   CASE WHEN p.under_worked THEN 'under-worked' END) AS issue,
               p.rep, p.team, p.hours_late, p.clock_start, p.deadline, p.first_touch_at, p.attempts,
               p.min_attempts, p.source, p.campaign, p.total
        FROM picked p LEFT JOIN leads l ON l.lead_id = p.lead_id
        ORDER BY {", ".join("p." + part.strip() for part in order.split(","))}"""
    frame = run(con, sql, params).df()
    total = int(frame["total"].iloc[0]) if len(frame) else 0
    return BreachList(rows=frame[list(BREACH_COLUMNS)], total=total, limit=limit)


# ---------------------------------------------------------------------------------------------------
# Marketing's side in detail: delivery per month, acceptance and rejection reasons by campaign/source
# ---------------------------------------------------------------------------------------------------

MARKETING_SEGMENTS: dict[str, str] = {
    "campaign": "coalesce(cp.name, c.campaign_id, '(no campaign)')",
    "source": "c.source",
}
NO_REASON = "(no reason given)"
_REJECTED = "(c.status = 'rejected' OR (c.status = 'recycled' AND nullif(trim(c.rejected_reason), '') IS NOT NULL))"


@reads('records', 'sla_policy', 'quality_definition')
def delivery_by_month(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> pd.DataFrame:
    """`delivery()` for each month of the period (the same function, so months add up to the period),
    with the share of the month elapsed at as-of."""
    rows = []
    for month in period.months():
        d = delivery(con, month, as_of)
        rows.append({
            "month": month.label, "month_start": month.start, "quality_leads": d.quality_leads,
            "committed": d.committed, "delivery": d.delivery, "accepted": d.accepted,
            "acceptance_rate": d.acceptance_rate, "elapsed_share": month.elapsed_share(as_of),
        })
    return pd.DataFrame(rows)


def _rejections_sql(con: duckdb.DuckDBPyConnection, params: dict, by: str) -> str:
    return f"""
        WITH {lead_q(con, params)}
        SELECT {MARKETING_SEGMENTS[by]} AS segment,
               coalesce(nullif(trim(c.rejected_reason), ''), '{NO_REASON}') AS reason,
               count(*) AS rejected
        FROM lead_q c LEFT JOIN campaigns cp ON cp.campaign_id = c.campaign_id
        WHERE c.is_quality AND c.created_at >= $start AND c.created_at < $end AND {_REJECTED}
        GROUP BY ALL"""


@reads('records', 'sla_policy', 'quality_definition')
def rejection_reasons(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, by: str) -> pd.DataFrame:
    """Rejected quality leads of the period per segment ('campaign' or 'source') and reason, biggest
    segment first, then biggest reason."""
    if by not in MARKETING_SEGMENTS:
        raise ValueError(f"unknown segment {by!r}")
    if "leads" not in tables_with_rows(con):
        return pd.DataFrame(columns=["segment", "reason", "rejected"])
    params = scope_params(period, as_of)
    sql = f"""SELECT segment, reason, rejected FROM ({_rejections_sql(con, params, by)})
              ORDER BY sum(rejected) OVER (PARTITION BY segment) DESC, segment, rejected DESC, reason"""
    return run(con, sql, params).df()


@reads('records', 'sla_policy', 'quality_definition')
def acceptance_by(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, by: str) -> pd.DataFrame:
    """Per segment ('campaign' or 'source') with quality leads in the period: quality leads, accepted
    (the funnel's definition, via funnel_by), acceptance rate, rejected and rejection rate."""
    if by not in MARKETING_SEGMENTS:
        raise ValueError(f"unknown segment {by!r}")
    columns = ["segment", "quality_leads", "accepted", "acceptance_rate", "rejected", "rejection_rate"]
    if "leads" not in tables_with_rows(con):
        return pd.DataFrame(columns=columns)
    cohort = funnel_by(con, period, as_of, by)
    cohort["segment"] = cohort["segment"].fillna("(no campaign)")
    cohort = cohort[cohort["quality_leads"] > 0]
    params = scope_params(period, as_of)
    rejected = run(con, f"SELECT segment, sum(rejected) AS rejected FROM ({_rejections_sql(con, params, by)}) GROUP BY segment",
                   params).df()
    out = cohort.merge(rejected, on="segment", how="left")
    out["rejected"] = out["rejected"].fillna(0).astype("int64")
    out["acceptance_rate"] = out["accepted"] / out["quality_leads"]
    out["rejection_rate"] = out["rejected"] / out["quality_leads"]
    return out.sort_values(["quality_leads", "segment"], ascending=[False, True])[columns].reset_index(drop=True)


@reads('records', 'sla_policy', 'quality_definition')
def rejected_quality_leads(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> int | None:
    """Rejected quality leads of the period (the total of rejection_reasons); None without leads."""
    if "leads" not in tables_with_rows(con):
        return None
    params = scope_params(period, as_of)
    return run(con, f"SELECT coalesce(sum(rejected), 0) FROM ({_rejections_sql(con, params, 'source')})",
               params).fetchone()[0]


@reads('sla_policy')
def policy_in_force(con: duckdb.DuckDBPyConnection, moment: datetime) -> edits.Version | None:
    """The SLA policy version that applies to a clock started at `moment` (the first covers all before)."""
    schedule = edits.in_force_schedule(con, "sla_policy")
    started = [v for v in schedule if v.effective_from <= moment] or schedule[:1]
    return started[-1] if started else None


@reads('sla_policy')
def policy_changes_within(con: duckdb.DuckDBPyConnection, period: Period) -> list[edits.Version]:
    """Policy versions taking effect inside the period: its leads are measured under more than one."""
    return [v for v in edits.in_force_schedule(con, "sla_policy") if period.start < v.effective_from < period.end]
