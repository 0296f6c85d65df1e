"""Both sides' promises (METRICS.md): sales' lead-response SLA and marketing's lead-delivery SLA, their
breakdowns and the breach list.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- The policy applied to a lead is the version in force at its clock start.
- The response window is closed at both ends: a first touch exactly `response_hours` after clock start
  is met; a lead with no touch is breached once as-of reaches the deadline (as-of >= deadline).
- Under-worked is judged only once the attempt window has closed by as-of (otherwise it is still open).
- A quarter's commitment is the sum of its months' commitments, each month taking the policy in force
  at its start.
- By team / by rep: a lead is sales' responsibility through its current owner (`owner_id`), whoever
  logged the touch; team and rep are the owner dimensions of core.semantic.dimensions ('unassigned',
  'rep not loaded'), one rep row per owner id. Follow-up attempts are averaged over the leads whose
  attempt window has closed by as-of (the same leads under-worked is judged on).
- The weekly trend groups leads by the ISO week (Monday 00:00 UTC) of their clock start; the period's
  first and last weeks may be partial. Weeks after as-of are not listed; weeks with no lead show zeros.
- Breach list: breached or under-worked quality leads of the period. Hours late is filled for breached
  leads only (first touch − deadline, or as-of − deadline when never touched); the page shows the first
  `BREACH_LIST_LIMIT` rows with the total, and the CSV is the whole filtered list.
- Rejections count quality leads only (marketing's promise is about quality leads; rejecting a lead that
  never qualified is the definition working). A quality lead of the period is rejected when its status
  is `rejected`, or `recycled` with a `rejected_reason` (sent back to marketing with a reason); a
  rejection without a reason is counted as '(no reason given)', the feedback sales still owes. Status is
  the current snapshot, like the funnel's "accepted".
- Working hours, routing delay and the response distribution (issue 15): see docs/metrics-notes.md. In short,
  durations count working time of the lead's calendar when the policy in force at its clock start sets
  working hours (core.workhours); the lead still belongs to the period of its recorded clock start; the
  deadline is the latest moment its window's working time is spent (an end at a closing is the next opening).
- Delivery per month shows every month of the period with its elapsed share at as-of, so a month in
  progress reads as "to date" and a month not started as zero of its commitment.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from core import edits, workhours
from core.db import reads
from core.metrics.funnel import Funnel, funnel, funnel_by
from core.periods import Period
from core.semantic.blocks import (
    CLOCK_BRANCHES,
    CLOCK_WINDOW,
    CREATED_WINDOW,
    Figures,
    counted_sql,
    lead_q,
    one_row,
    ratio,
    run,
    schedule_value_sql,
    scope_params,
    sla_schedule,
    tables_with_rows,
)
from core.semantic.dimensions import DIMENSIONS, LEAD_JOINS, dimension
from core.semantic.enums import NO_REASON, REP_NOT_LOADED, SLA_STATUSES
from core.semantic.measures import MEASURES, show

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use: the report command builds no DataFrame (core.lazy)
    from core.lazy import pandas as pd

MET, BREACHED, PENDING = SLA_STATUSES
BREACH_LIST_LIMIT = 200


@dataclass(frozen=True)
class Option:
    """A choice a page offers, with the SQL it stands for (allow-listed: pages pass the key, never SQL)."""

    label: str
    sql: str


# The issues a quality lead can have. Each condition is the one its card counts, so the breach list
# filtered on an issue holds exactly the leads that card counted.
_BREACHED = f"sla_status = '{BREACHED}'"
_NEVER_TOUCHED = f"(sla_status = '{BREACHED}' AND first_touch_at IS NULL)"
_UNDER_WORKED = "under_worked"
ISSUE_FILTERS: dict[str, Option] = {
    "any": Option("Breached or under-worked", f"({_BREACHED} OR {_UNDER_WORKED})"),
    "breached": Option(MEASURES["sla_breached"].label, _BREACHED),
    "never_touched": Option(MEASURES["never_touched"].label, _NEVER_TOUCHED),
    "under_worked": Option(MEASURES["under_worked"].label, _UNDER_WORKED),
}
BREACH_SORTS: dict[str, Option] = {
    "hours_late": Option("Hours late (most first)", "hours_late DESC NULLS LAST, clock_start, lead_id"),
    "clock_start": Option("Clock start (newest first)", "clock_start DESC, lead_id"),
    "attempts": Option("Attempts (fewest first)", "attempts, clock_start, lead_id"),
    "rep": Option("Team and rep", "team, rep, clock_start, lead_id"),
}
ALL = "__all__"  # the breach list's "no filter" choice for team and rep (no team or owner id is this)

# Every response-SLA figure over per-lead rows (sla_leads_sql), stated once: the headline is the
# no-grouping case and the team, rep and week tables group this same list, so they add up by construction.
_COUNT = {s: f"count(*) FILTER (sla_status = '{s}')" for s in SLA_STATUSES}
SALES_AGGREGATES: dict[str, str] = {
    "quality_leads": "count(*)",
    "met": _COUNT[MET],
    "breached": _COUNT[BREACHED],
    "pending": _COUNT[PENDING],
    "compliance": f"{_COUNT[MET]} / nullif({_COUNT[MET]} + {_COUNT[BREACHED]}, 0)",
    # both quantiles from one aggregate (DuckDB computes an expression used twice once): one sort of the values
    # instead of two, 15-30 ms of the headline at ten million leads
    "median_hours_to_first_touch": "quantile_cont(hours_to_first_touch, [0.5, 0.9])[1]",
    "p90_hours_to_first_touch": "quantile_cont(hours_to_first_touch, [0.5, 0.9])[2]",
    "never_touched": f"count(*) FILTER ({_NEVER_TOUCHED})",
    "attempt_windows_closed": "count(*) FILTER (attempt_window_closed)",
    "avg_attempts": "avg(attempts) FILTER (attempt_window_closed)",
    "under_worked": f"count(*) FILTER ({_UNDER_WORKED})",
    # issue 15: routing (created → assigned, ops' delay) apart from the rep's response, and the response
    # distribution; limits in seconds so "within 5 minutes" is an exact, inclusive comparison
    "routed_leads": "count(routing_hours)",
    "median_routing_hours": "quantile_cont(routing_hours, [0.5, 0.9])[1]",
    "p90_routing_hours": "quantile_cont(routing_hours, [0.5, 0.9])[2]",
    "touched_leads": "count(seconds_to_first_touch)",
    **{f"within_{name}_share": f"count(*) FILTER (seconds_to_first_touch <= {seconds}) "
                               "/ nullif(count(seconds_to_first_touch), 0)"
       for name, seconds in (("5m", 300), ("1h", 3600), ("24h", 86400))},
}
# The counts among them: a week in which no clock started reads 0 for these (and undefined for the rest).
SALES_COUNTS = ("quality_leads", "met", "breached", "pending", "never_touched", "attempt_windows_closed",
                "under_worked", "routed_leads", "touched_leads")
# Grouping name → the per-lead columns it groups by (an allow-list).
_GROUPINGS: dict[str, tuple[str, ...]] = {"team": ("team",), "rep": ("team", "rep", "rep_key"), "source": ("source",)}
# The speed-to-lead breakdowns the page offers (routing apart from response, with the distribution).
SPEED_BY = ("source", "team", "rep")
SPEED_COLUMNS = ("routed_leads", "median_routing_hours", "p90_routing_hours", "touched_leads",
                 "median_hours_to_first_touch", "p90_hours_to_first_touch", "within_5m_share", "within_1h_share",
                 "within_24h_share")

# The declared measure each column of the sales tables shows: they count quality leads by clock start
# (sla_quality_leads), where marketing's tables count the funnel's cohort (quality_leads, by creation).
SALES_MEASURES: dict[str, str] = {
    "quality_leads": "sla_quality_leads", "met": "sla_met", "breached": "sla_breached", "pending": "sla_pending",
    "median_hours_to_first_touch": "median_hours", "p90_hours_to_first_touch": "p90_hours",
    **{name: name for name in SPEED_COLUMNS if name not in ("median_hours_to_first_touch", "p90_hours_to_first_touch")},
}
# Labels and display formats of the columns of this module's tables that are not measures.
COLUMN_LABELS: dict[str, str] = {
    **{d: DIMENSIONS[d].label for d in ("team", "rep", "source", "campaign")},
    "week": "ISO week", "week_start": "Week starts", "month": "Month", "segment": "Segment", "reason": "Reason",
    "lead_id": "Lead", "company": "Company", "issue": "Issue", "attempts": "Attempts",
    "elapsed_share": "Month elapsed", "clock_start": "Clock start", "deadline": "Deadline",
    "first_touch_at": "First touch",
}
COLUMN_FORMATS: dict[str, str] = {"week_start": "YYYY-MM-DD", "elapsed_share": "percent"}

BREACH_COLUMNS = ("lead_id", "company", "issue", "rep", "team", "hours_late", "clock_start", "deadline",
                  "first_touch_at", "attempts", "min_attempts", "source", "campaign")

# Marketing's breakdowns (an allow-list of dimension names).
MARKETING_BY = ("campaign", "source")
_REJECTED = "(l.status = 'rejected' OR (l.status = 'recycled' AND nullif(trim(l.rejected_reason), '') IS NOT NULL))"


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
    routed_leads: int | None = None  # quality leads with an assignment time by as-of, not before creation
    median_routing_hours: float | None = None
    p90_routing_hours: float | None = None
    touched_leads: int | None = None  # quality leads first touched by as-of
    within_5m_share: float | None = None
    within_1h_share: float | None = None
    within_24h_share: float | None = None
    routing_note: str | None = None  # why routing delay is undefined (also in notes), for the page to say there

    @property
    def breached_note(self) -> str | None:
        """Context for the compliance card: how many leads breached."""
        return None if self.breached is None else f"{self.breached:,} breached"

    @property
    def judged(self) -> int | None:
        """met + breached: the leads compliance is computed over (pending ones are not judged yet)."""
        return None if self.met is None or self.breached is None else self.met + self.breached

    @property
    def met_note(self) -> str | None:
        return None if self.met is None else f"{self.met:,} of {self.judged:,} met"

    @property
    def p90_note(self) -> str:
        return f"p90 {show('p90_hours', self.p90_hours_to_first_touch)}"

    @property
    def attempts_note(self) -> str:
        return f"avg {show('avg_attempts', self.avg_attempts)} attempts per lead"

    @property
    def status_line(self) -> str | None:
        """How the measured leads split, pending ones included."""
        if self.quality_leads is None:
            return None
        return (f"{self.quality_leads:,} quality leads measured: {self.met:,} met, {self.breached:,} breached, "
                f"{self.pending:,} pending (window still open at as-of).")

    @property
    def never_touched_warning(self) -> str | None:
        """A call to action when quality leads were never touched at all."""
        n = self.never_touched
        if not n:
            return None
        return (f"{n:,} quality lead{'s' if n != 1 else ''} never touched in this period: see the breach list "
                f"(issue '{ISSUE_FILTERS['never_touched'].label}').")


@dataclass
class Delivery(Figures):
    quality_leads: int | None = None
    committed: int | None = None
    delivery: float | None = None
    accepted: int | None = None
    acceptance_rate: float | None = None

    @property
    def committed_note(self) -> str | None:
        """Context for the quality-leads card: the commitment it is measured against (none when the count
        itself cannot be computed: the card's reason is then elsewhere)."""
        if self.quality_leads is None:
            return None
        return "no commitment set" if self.committed is None else f"committed {self.committed:,}"

    @property
    def accepted_note(self) -> str | None:
        return None if self.accepted is None else f"{self.accepted:,} accepted"


@dataclass
class SlaHeadline:
    """The SLA page's cards: both sides' headline figures for a period."""

    response: ResponseSla
    delivery: Delivery
    rejected: int | None
    elapsed_share: float
    sales_notes: list[str] = field(default_factory=list)  # why the response SLA cannot be measured
    rejected_note: str | None = None  # why rejections cannot be counted, when leads exist
    by: dict[str, pd.DataFrame] = field(default_factory=dict)  # sla_by's frames and 'week', one query

    @property
    def sales_cards(self) -> list[tuple[str, object, str | None]]:
        """Sales' cards in reading order: (measure name, value, the context under it)."""
        r = self.response
        return [("compliance", r.compliance, r.met_note),
                ("median_hours", r.median_hours_to_first_touch, r.p90_note),
                ("never_touched", r.never_touched, "quality leads nobody called"),
                ("under_worked", r.under_worked, r.attempts_note)]

    @property
    def marketing_cards(self) -> list[tuple[str, object, str | None]]:
        """Marketing's cards in reading order: (measure name, value, the context under it)."""
        d = self.delivery
        return [("quality_leads", d.quality_leads, d.committed_note),
                ("delivery", d.delivery, f"{self.elapsed_share:.0%} of the period elapsed"),
                ("acceptance_rate", d.acceptance_rate, d.accepted_note),
                ("rejected", self.rejected,
                 None if self.rejected is None or d.quality_leads is None else f"of {d.quality_leads:,} quality leads")]

    @property
    def notes(self) -> list[str]:
        """Why figures cannot be computed, beyond the sales side's missing tables (said on their own)."""
        notes = [*self.response.notes, *self.delivery.notes, *([self.rejected_note] if self.rejected_note else [])]
        return [n for n in dict.fromkeys(notes) if n not in self.sales_notes]


# ---------------------------------------------------------------------------------------------------
# Sales' side: per-lead rows, then SALES_AGGREGATES over them
# ---------------------------------------------------------------------------------------------------


def sla_leads_sql(con: duckdb.DuckDBPyConnection, params: dict, described: bool = True, attempts: bool = True) -> str:
    """Per quality lead whose clock started in the period (by as-of): its owner's team and rep (and
    `rep_key`, the owner id, '' when unassigned), source and campaign, the policy in force at its clock
    start, first touch, attempts and status (met / breached / pending), seconds to first touch and hours
    of routing delay. The base of every response-SLA figure and of the breach list.

    Not `described`: without what names the lead (its id, company, owner, team, rep, source, campaign) and
    the joins to reps and campaigns that name them, for aggregates over every lead (the headline). The
    materialised windows then carry no text: 0.43 -> 0.35 s at ten million leads. Without `attempts`, the
    follow-up attempts are not counted (attempts and under_worked are NULL): for figures that read the first touch
    only (SLA_CARDS).

    Durations are calendar time unless the policy in force at the lead's clock start sets working hours
    (core.workhours): then they count the working seconds of the lead's calendar (`cal_id`, NULL for a
    lead no calendar covers, which stays in calendar time)."""
    schedule = sla_schedule(con)
    policy = ",\n               ".join(
        f"{schedule_value_sql(schedule, name, 'q.clock_start', params, 's')} AS {name}"
        for name in ("response_hours", "min_attempts", "attempt_days")
    )
    names = "q.lead_id, q.company, q.owner_id, q.source, q.campaign_id, " if described else ""
    leads = f"""{lead_q(con, params, window=CLOCK_BRANCHES)},
    sla_leads AS (
        SELECT {names}q.lead_key, q.created_at, q.assigned_at, q.clock_start,
               {policy}{{calendar}}
        FROM lead_q q{{calendar_join}}
        WHERE q.is_quality AND q.clock_start >= $start AND q.clock_start < $end AND q.clock_start <= $as_of
    )"""
    counted = "count(*) FILTER (a.occurred_at <= w.attempts_until)" if attempts else "NULL::BIGINT"
    touched = f"""touched AS (
        SELECT w.lead_key, min(a.occurred_at) AS first_touch_at,
               {counted} AS attempts
        FROM windows w
        JOIN activities a ON a.lead_key = w.lead_key AND a.occurred_at >= w.clock_start AND a.occurred_at <= $as_of
            -- implied by the line above (every clock starts in the period) but a constant: the scan skips the
            -- row groups of earlier activities (148 -> 124 ms at a million leads) instead of joining them
            AND a.occurred_at >= $start
        GROUP BY w.lead_key
    )"""
    judged = f"""judged AS (
        SELECT w.*, t.first_touch_at, {"coalesce(t.attempts, 0)" if attempts else "NULL::BIGINT"} AS attempts,
               CASE WHEN t.first_touch_at <= w.deadline THEN '{MET}'
                    WHEN w.deadline <= $as_of THEN '{BREACHED}'
                    ELSE '{PENDING}' END AS sla_status
        FROM windows w LEFT JOIN touched t ON t.lead_key = w.lead_key
    )"""
    routed = "l.assigned_at IS NOT NULL AND l.assigned_at <= $as_of AND l.assigned_at >= l.created_at"
    calendar_touch = "epoch(l.first_touch_at - l.clock_start)"
    calendar_routing = "epoch(l.assigned_at - l.created_at)"
    calendar_late = "epoch(coalesce(l.first_touch_at, $as_of) - l.deadline)"
    if not workhours.uses_working_hours(schedule):
        ctes = f"""{leads.format(calendar="", calendar_join="")},
    windows AS (
        SELECT *, clock_start + to_seconds(response_hours * 3600) AS deadline,
               clock_start + to_seconds(attempt_days * 86400) AS attempts_until
        FROM sla_leads
    ),
    {touched},
    {judged}"""
        base, touch_s, routing_s, late_s = "judged", calendar_touch, calendar_routing, calendar_late
    else:
        calendar = workhours.calendar_case(schedule, "q.clock_start", "wr.team", "wr.region", params)
        # the earliest moment a duration of the period's leads starts at (an assignment stamped before creation
        # is a clock start too): the working intervals are listed from there
        first = one_row(run(con, "SELECT min(least(l.created_at, coalesce(l.assigned_at, l.created_at))) "
                                 f"FROM counted_leads l WHERE l.created_at <= $as_of AND l.created_known AND {CLOCK_WINDOW}",
                            params))[0]
        work = workhours.work_ctes(schedule, first or params["as_of"], params["as_of"], params)
        before, moment_at = workhours.before, workhours.moment_at
        ctes = f"""{leads.format(calendar=f", {calendar} AS cal_id",
                                 calendar_join=" LEFT JOIN reps wr ON wr.rep_id = q.owner_id")},
    {work},
    clocked AS (
        SELECT s.*, {before("c", "s.clock_start")} AS w_clock, {before("k", "s.created_at")} AS w_created,
               {before("c", "s.clock_start")} + s.response_hours * 3600 AS response_target,
               {before("c", "s.clock_start")} + s.attempt_days * wd.day_s AS attempt_target
        FROM sla_leads s
        LEFT JOIN work_days wd ON wd.cal_id = s.cal_id
        ASOF LEFT JOIN work c ON c.cal_id = s.cal_id AND s.clock_start >= c.start_at
        ASOF LEFT JOIN work k ON k.cal_id = s.cal_id AND s.created_at >= k.start_at
    ),
    windows AS (
        SELECT t.*,
               CASE WHEN t.cal_id IS NULL THEN t.clock_start + to_seconds(t.response_hours * 3600)
                    ELSE {moment_at("d", "t.response_target")} END AS deadline,
               CASE WHEN t.cal_id IS NULL THEN t.clock_start + to_seconds(t.attempt_days * 86400)
                    ELSE {moment_at("u", "t.attempt_target")} END AS attempts_until
        FROM clocked t
        ASOF LEFT JOIN work d ON d.cal_id = t.cal_id AND t.response_target >= d.cum_s
        ASOF LEFT JOIN work u ON u.cal_id = t.cal_id AND t.attempt_target >= u.cum_s
    ),
    {touched},
    {judged},
    judged_at AS (SELECT *, coalesce(first_touch_at, $as_of) AS touch_or_now FROM judged),
    timed AS (
        SELECT j.*, {before("e", "j.touch_or_now")} AS w_touch_or_now
        FROM judged_at j ASOF LEFT JOIN work e ON e.cal_id = j.cal_id AND j.touch_or_now >= e.start_at
    )"""
        base = "timed"
        touch_s = (f"CASE WHEN l.cal_id IS NULL THEN {calendar_touch} "
                   "WHEN l.first_touch_at IS NOT NULL THEN l.w_touch_or_now - l.w_clock END")
        routing_s = f"CASE WHEN l.cal_id IS NULL THEN {calendar_routing} ELSE l.w_clock - l.w_created END"
        late_s = f"CASE WHEN l.cal_id IS NULL THEN {calendar_late} ELSE l.w_touch_or_now - l.response_target END"
    described_columns = f"""l.lead_id, l.company, l.owner_id,
           {DIMENSIONS["team"].lead_sql()} AS team,
           {DIMENSIONS["rep"].lead_sql()} AS rep,
           coalesce(l.owner_id, '') AS rep_key,
           {DIMENSIONS["source"].lead_sql()} AS source,
           l.campaign_id,
           {DIMENSIONS["campaign"].lead_sql()} AS campaign,
           """ if described else ""
    return f"""
    WITH {ctes}
    SELECT {described_columns}l.created_at, l.clock_start, l.deadline, l.response_hours, l.min_attempts, l.attempt_days,
           l.first_touch_at,
           {touch_s} / 3600.0 AS hours_to_first_touch,
           CASE WHEN l.first_touch_at IS NOT NULL THEN {touch_s} END AS seconds_to_first_touch,
           l.assigned_at,
           CASE WHEN {routed} THEN {routing_s} / 3600.0 END AS routing_hours,
           l.attempts, l.sla_status, l.attempts_until,
           (l.attempts_until <= $as_of) AS attempt_window_closed,
           (l.attempts_until <= $as_of AND l.attempts < l.min_attempts) AS under_worked,
           CASE WHEN l.sla_status = '{BREACHED}' THEN {late_s} / 3600.0 END AS hours_late
    FROM {base} l {LEAD_JOINS if described else ""}
    """


def _sales_sql(con: duckdb.DuckDBPyConnection, params: dict, keys: dict[str, str],
               names: tuple[str, ...] = tuple(SALES_AGGREGATES)) -> str:
    """The SALES_AGGREGATES called `names` over the period's per-lead rows, grouped by `keys` (output name →
    SQL over those rows, from this module); no keys: one row, the headline."""
    figures = {name: SALES_AGGREGATES[name] for name in names}
    select = ", ".join(f"{sql} AS {name}" for name, sql in {**keys, **figures}.items())
    group = f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}" if keys else ""
    attempts = not set(names).isdisjoint(("attempt_windows_closed", "avg_attempts", "under_worked"))
    return f"SELECT {select} FROM ({sla_leads_sql(con, params, described=bool(keys), attempts=attempts)}){group}"


# What the Overview's cards show of the response SLA (compliance with its counts, median speed to lead): all the
# comparison with the previous period needs. Without attempts and the distribution the query is 0.38 -> 0.32 s at
# ten million leads.
SLA_CARDS = ("quality_leads", "met", "breached", "pending", "compliance", "median_hours_to_first_touch")


@reads('records')
def sales_side_notes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Why the response SLA cannot be measured here (missing tables), or [] when it can."""
    present = tables_with_rows(con)
    return [present.missing(t) for t in ("leads", "activities") if t not in present]


@reads('records', 'sla_policy', 'quality_definition')
def response_sla(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime,
                 cards_only: bool = False) -> ResponseSla:
    """The response-SLA headline; `cards_only`: SLA_CARDS only (the rest None, with no note about it), for the
    Overview's comparison with the previous period."""
    notes = sales_side_notes(con)
    if notes:
        return ResponseSla(notes=notes)
    params = scope_params(period, as_of)
    names = SLA_CARDS if cards_only else tuple(SALES_AGGREGATES)
    values = dict(zip(names, one_row(run(con, _sales_sql(con, params, {}, names), params))))
    return _response(con, values, cards_only)


def _response(con: duckdb.DuckDBPyConnection, values: dict[str, Any], cards_only: bool = False) -> ResponseSla:
    """The headline from SALES_AGGREGATES' values (None where undefined), with why a figure is undefined
    (of SLA_CARDS only, `cards_only`)."""
    result = ResponseSla(**values)
    result.notes.extend(tables_with_rows(con).undated_notes("leads"))
    if result.compliance is None:
        result.notes.append("No quality lead's response window has closed in this period yet.")
    if result.median_hours_to_first_touch is None:
        result.notes.append("No quality lead of this period has been touched yet, so speed to lead and the "
                            "response distribution are undefined.")
    if cards_only:
        return result
    if result.median_routing_hours is None:
        result.routing_note = routing_note(con)
        result.notes.append(result.routing_note)
    return result


NO_ASSIGNMENT_TIMES = ("Routing delay cannot be computed because no lead in the data records when it was handed to "
                       "sales (assigned_at is empty everywhere), so the system's and operations' delay cannot be "
                       "told apart from the rep's.")


def routing_note(con: duckdb.DuckDBPyConnection) -> str:
    """Why routing delay is undefined for a period: the data never records assignment, or no quality lead
    of the period was assigned (by as-of, not before its creation)."""
    if not one_row(con.execute("SELECT EXISTS (SELECT 1 FROM counted_leads WHERE assigned_at IS NOT NULL)"))[0]:
        return NO_ASSIGNMENT_TIMES
    return ("Routing delay cannot be computed for this period because none of its quality leads was assigned to "
            "sales by as-of (an assignment time before the lead's creation is not counted).")


@reads('records', 'sla_policy', 'quality_definition')
def sla_lead_rows(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> pd.DataFrame:
    """Per-lead SLA rows for the period (drill-down), by clock start."""
    params = scope_params(period, as_of)
    return run(con, f"SELECT * FROM ({sla_leads_sql(con, params)}) ORDER BY clock_start, lead_id", params).df()


@reads('records', 'sla_policy', 'quality_definition')
def sla_by(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, by: str) -> pd.DataFrame:
    """Response-SLA figures per team, rep or source (`by` in _GROUPINGS). For reps, `rep_key` is the
    owner id ('' for unassigned) that `breach_list(rep=...)` filters on. Empty when the sales side
    cannot be measured (see `sales_side_notes`)."""
    if by not in _GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}")
    return sla_breakdowns(con, period, as_of)[by]


# The columns the groupings group by, in GROUPING()'s bit order (the first is the highest bit).
_GROUP_COLUMNS = tuple(dict.fromkeys(c for keys in _GROUPINGS.values() for c in keys))


# The weekly trend groups by the ISO week of clock start (after the other groupings' columns in GROUPING()).
_WEEK_COLUMNS = (*_GROUP_COLUMNS, "week_start")
_WEEKLY = ("week", "week_start", *SALES_AGGREGATES)


def _grouping_id(keys: tuple[str, ...]) -> int:
    """GROUPING(*_WEEK_COLUMNS) of the rows grouped by `keys`: a bit set for every column not grouped by."""
    return sum(1 << i for i, c in enumerate(reversed(_WEEK_COLUMNS)) if c not in keys)


@reads('records', 'sla_policy', 'quality_definition')
def sla_breakdowns(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> dict[str, pd.DataFrame]:
    """The headline ('', one row), every grouping of _GROUPINGS and the weekly trend ('week': every ISO week of
    the period up to as-of, its counts 0 where no clock started) from one pass over the per-lead rows (GROUPING
    SETS): the per-lead SLA is most of the cost, and a query per table computed it again each time (headline,
    team, rep and source: 1.8 s -> 0.6 s at ten million leads; the weekly trend's own query took 0.48 s more)."""
    if sales_side_notes(con):
        return {"": pd.DataFrame(columns=list(SALES_AGGREGATES)), "week": pd.DataFrame(columns=list(_WEEKLY)),
                **{by: pd.DataFrame(columns=[*keys, *SALES_AGGREGATES]) for by, keys in _GROUPINGS.items()}}
    params = scope_params(period, as_of)
    columns = ", ".join(_WEEK_COLUMNS)
    names = ", ".join(SALES_AGGREGATES)
    aggregates = ", ".join(f"{sql} AS {name}" for name, sql in SALES_AGGREGATES.items())
    sets = ", ".join(f"({', '.join(keys)})" for keys in ((), *_GROUPINGS.values(), ("week_start",)))
    week = _grouping_id(("week_start",))  # an int of our own
    # a week in which no clock started reads 0 for the counts (and undefined for the rest)
    figures = ", ".join(f"coalesce(p.{c}, 0)" if c in SALES_COUNTS else f"p.{c}" for c in SALES_AGGREGATES)
    others = ", ".join("NULL" for _ in _GROUP_COLUMNS)
    # within one grouping the other key columns are all NULL, so ordering by every key orders each by its own
    frame = run(con, f"""
        WITH grouped AS (
            SELECT GROUPING({columns}) AS grouping_id, {columns}, {aggregates}
            FROM (SELECT *, date_trunc('week', clock_start) AS week_start FROM ({sla_leads_sql(con, params)}))
            GROUP BY GROUPING SETS ({sets})
        ),
        weeks AS (
            SELECT unnest(generate_series(date_trunc('week', $start),
                                          date_trunc('week', least($end - INTERVAL 1 MICROSECOND, $as_of)),
                                          INTERVAL 1 WEEK)) AS week_start
        )
        SELECT grouping_id, {columns}, NULL AS week, {names} FROM grouped WHERE grouping_id <> {week}
        UNION ALL
        SELECT {week}, {others}, w.week_start, printf('%d-W%02d', isoyear(w.week_start), week(w.week_start)), {figures}
        FROM weeks w LEFT JOIN (SELECT * FROM grouped WHERE grouping_id = {week}) p ON p.week_start = w.week_start
        ORDER BY grouping_id, {columns}""", params).df()
    out = {}
    for by, keys in {"": (), **_GROUPINGS}.items():
        part = frame[frame["grouping_id"] == _grouping_id(keys)]
        out[by] = part[[*keys, *SALES_AGGREGATES]].reset_index(drop=True)
    out["week"] = frame[frame["grouping_id"] == week][list(_WEEKLY)].reset_index(drop=True)
    return out


@reads('records', 'sla_policy', 'quality_definition')
def sla_weekly(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> pd.DataFrame:
    """Response-SLA figures per ISO week of clock start, every week of the period up to as-of (a part of the SLA
    page's one query, sla_breakdowns: the page and the digest read it from sla_headline(...).by['week'])."""
    return sla_breakdowns(con, period, as_of)["week"]


@dataclass
class BreachList(Figures):
    """The first `limit` breached or under-worked leads in the chosen order, and how many there are."""

    rows: pd.DataFrame | None = None
    total: int | None = None
    sort: str = "hours_late"

    @property
    def complete(self) -> bool:
        """Every matching lead is in `rows` (so a download needs no further query)."""
        return self.rows is not None and len(self.rows) == (self.total or 0)

    @property
    def summary(self) -> str:
        """How many leads match and which of them are shown."""
        total, shown = self.total or 0, 0 if self.rows is None else len(self.rows)
        which = ("all shown." if shown >= total
                 else f"showing the first {shown:,} by {BREACH_SORTS[self.sort].label.lower()}.")
        return f"{total:,} lead{'s' if total != 1 else ''} match; {which} Hours late is filled for breached leads only."


@reads('records', 'sla_policy', 'quality_definition')
def breach_list(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    *,
    team: str = ALL,
    rep: str = ALL,
    issue: str = "any",
    sort: str = "hours_late",
    limit: int | None = BREACH_LIST_LIMIT,
) -> BreachList:
    """Breached or under-worked quality leads of the period with rep, team, hours late, source and
    campaign. Filters: `team` (as in sla_by), `rep` (a rep_key from sla_by: owner id, '' = unassigned),
    ALL for either means no filter; `issue` from ISSUE_FILTERS; `sort` from BREACH_SORTS; `limit=None`
    returns the whole filtered list."""
    if issue not in ISSUE_FILTERS:
        raise ValueError(f"unknown issue filter {issue!r}")
    if sort not in BREACH_SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    notes = sales_side_notes(con)
    if notes:
        return BreachList(notes=notes, rows=pd.DataFrame(columns=list(BREACH_COLUMNS)), sort=sort)
    params = scope_params(period, as_of)
    params.update(team=None if team == ALL else team, rep=None if rep == ALL else rep, limit=limit,
                  **{f"issue_{k}": ISSUE_FILTERS[k].label.lower() for k in ("never_touched", "breached", "under_worked")})
    issue_words = (f"concat_ws(', ', CASE WHEN {_NEVER_TOUCHED} THEN $issue_never_touched "
                   f"WHEN {_BREACHED} THEN $issue_breached END, CASE WHEN {_UNDER_WORKED} THEN $issue_under_worked END)")
    columns = ", ".join(issue_words + " AS issue" if c == "issue" else c for c in BREACH_COLUMNS)
    rows = f"""
        SELECT {columns}
        FROM ({sla_leads_sql(con, params)})
        WHERE {ISSUE_FILTERS[issue].sql} AND ($team IS NULL OR team = $team) AND ($rep IS NULL OR rep_key = $rep)"""
    frame = run(con, counted_sql(rows, BREACH_SORTS[sort].sql, " LIMIT $limit"), params).df()
    total = int(frame["_total"].iloc[0]) if len(frame) else 0
    return BreachList(rows=frame[list(BREACH_COLUMNS)], total=total, sort=sort)


def breach_filter_choices(by_rep: pd.DataFrame) -> tuple[dict[str, str], dict[str, str]]:
    """The breach list's team and rep choices (key → label, ALL first) from `sla_by(..., 'rep')`. A rep's
    key is its owner id; an owner missing from reps is named by that id."""
    teams = {ALL: "All teams", **{t: t for t in by_rep["team"]}}
    reps = {ALL: "All reps"}
    for key, rep, team in zip(by_rep["rep_key"], by_rep["rep"], by_rep["team"]):
        reps[key] = f"{key if rep == REP_NOT_LOADED else rep} · {team}"
    return teams, reps


# ---------------------------------------------------------------------------------------------------
# Marketing's side: delivery against the commitment, acceptance and rejection reasons
# ---------------------------------------------------------------------------------------------------


@reads('sla_policy')
def committed_quality_leads(con: duckdb.DuckDBPyConnection, period: Period) -> int | None:
    """Sum of the monthly commitments of the period's months (policy in force at each month's start)."""
    schedule = edits.in_force_schedule(con, "sla_policy")
    total = 0
    for month in period.months():
        version = edits.in_force_at(schedule, month.start)
        if version is None or version.body.monthly_quality_commitment is None:
            return None
        total += version.body.monthly_quality_commitment
    return total


@reads('records', 'sla_policy', 'quality_definition')
def delivery(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, cohort: Funnel | None = None) -> Delivery:
    """Marketing's side. `cohort` may pass the period's funnel when the caller already has it."""
    f = cohort if cohort is not None else funnel(con, period, as_of)
    result = Delivery(quality_leads=f.quality_leads, accepted=f.accepted,
                      acceptance_rate=ratio(f.accepted, f.quality_leads))
    if f.quality_leads is None:  # delivery needs leads only; the funnel's note on deals is not ours
        result.notes.append(tables_with_rows(con).missing("leads"))
    elif f.quality_leads == 0:
        result.notes.append("No quality lead was created in this period, so the acceptance rate is undefined.")
    result.committed = committed_quality_leads(con, period)
    if result.committed is None:
        result.notes.append("No quality-lead commitment is set in the SLA policy for this period.")
    elif period.start > as_of:  # a month to come delivered nothing yet: "—", not 0% of its commitment
        result.notes.append(f"{period.label} has not started by as-of, so its delivery is not measured yet.")
    else:
        result.delivery = ratio(result.quality_leads, result.committed)
        if result.committed == 0:
            result.notes.append("The commitment for this period is zero, so delivery is undefined.")
    return result


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
    """Rejected quality leads of the period per segment of dimension `by` and reason."""
    dim = dimension(by, MARKETING_BY)
    return f"""
        WITH {lead_q(con, params, window=CREATED_WINDOW)}
        SELECT {dim.lead_sql()} AS segment,
               coalesce(nullif(trim(l.rejected_reason), ''), '{NO_REASON}') AS reason,
               count(*) AS rejected
        FROM lead_q l {dim.lead_joins()}
        WHERE l.is_quality AND l.created_at >= $start AND l.created_at < $end AND {_REJECTED}
        GROUP BY ALL"""


@reads('records', 'sla_policy', 'quality_definition')
def rejection_reasons(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, by: str) -> pd.DataFrame:
    """Rejected quality leads of the period per segment (MARKETING_BY) and reason, biggest segment
    first, then biggest reason."""
    dimension(by, MARKETING_BY)
    if "leads" not in tables_with_rows(con):
        return pd.DataFrame(columns=["segment", "reason", "rejected"])
    params = scope_params(period, as_of)
    sql = f"""SELECT segment, reason, rejected FROM ({_rejections_sql(con, params, by)})
              ORDER BY sum(rejected) OVER (PARTITION BY segment) DESC, segment, rejected DESC, reason"""
    return run(con, sql, params).df()


@reads('records', 'sla_policy', 'quality_definition')
def acceptance_by(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, by: str) -> pd.DataFrame:
    """Per segment (MARKETING_BY) with quality leads in the period: quality leads and accepted (the
    funnel's own figures per segment, via funnel_by, so they add up to delivery's), acceptance rate,
    rejected and rejection rate."""
    dimension(by, MARKETING_BY)
    columns = ["segment", "quality_leads", "accepted", "acceptance_rate", "rejected", "rejection_rate"]
    if "leads" not in tables_with_rows(con):
        return pd.DataFrame(columns=columns)
    cohort = funnel_by(con, period, as_of, by)  # segments named by the same dimension as the rejections
    cohort = cohort[cohort["quality_leads"] > 0]
    params = scope_params(period, as_of)
    rejected = run(con, f"SELECT segment, sum(rejected) AS rejected FROM ({_rejections_sql(con, params, by)}) "
                        "GROUP BY segment", params).df()
    out = cohort.merge(rejected, on="segment", how="left")
    out["rejected"] = out["rejected"].fillna(0).astype("int64")
    out["acceptance_rate"] = [ratio(a, q) for a, q in zip(out["accepted"], out["quality_leads"])]
    out["rejection_rate"] = [ratio(r, q) for r, q in zip(out["rejected"], out["quality_leads"])]
    return out.sort_values(["quality_leads", "segment"], ascending=[False, True])[columns].reset_index(drop=True)


NO_REJECTIONS = ("No lead in the data is marked rejected, so rejected quality leads cannot be counted: the source "
                 "does not seem to record rejections.")


def rejections_recorded(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any lead is marked rejected: without one, a count of 0 would only mean "not recorded"."""
    return bool(one_row(con.execute("SELECT EXISTS (SELECT 1 FROM counted_leads WHERE status = 'rejected')"))[0])


@reads('records', 'sla_policy', 'quality_definition')
def rejected_quality_leads(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> int | None:
    """Rejected quality leads of the period (the total of rejection_reasons); None without leads, or when
    no lead of the data is marked rejected (NO_REJECTIONS)."""
    if "leads" not in tables_with_rows(con) or not rejections_recorded(con):
        return None
    params = scope_params(period, as_of)
    return one_row(run(con, f"SELECT coalesce(sum(rejected), 0) FROM ({_rejections_sql(con, params, 'source')})",
                       params))[0]


def _only_row(frame: pd.DataFrame) -> dict[str, Any]:
    """A one-row frame's values as Python values, None where undefined; read column by column, because a row
    of mixed columns comes out as floats (8 met would read "8.0")."""
    values = {c: frame[c].iloc[0] for c in frame.columns}
    return {c: None if pd.isna(v) else v.item() if hasattr(v, "item") else v for c, v in values.items()}


@reads('records', 'sla_policy', 'quality_definition')
def sla_headline(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> SlaHeadline:
    """Both sides' cards for the SLA page and its team, rep and source tables (`by`), from one SLA query; the
    sales side's headline equals response_sla's (the Overview's and the report's: asserted in tests)."""
    rejected = rejected_quality_leads(con, period, as_of)
    by = sla_breakdowns(con, period, as_of)
    sales_notes = sales_side_notes(con)
    return SlaHeadline(
        response=ResponseSla(notes=sales_notes) if sales_notes else _response(con, _only_row(by[""])),
        by={k: v for k, v in by.items() if k},
        delivery=delivery(con, period, as_of),
        rejected=rejected,
        elapsed_share=period.elapsed_share(as_of),
        sales_notes=sales_notes,
        rejected_note=NO_REJECTIONS if rejected is None and "leads" in tables_with_rows(con) else None,
    )


# ---------------------------------------------------------------------------------------------------
# The policy in force
# ---------------------------------------------------------------------------------------------------


@reads('sla_policy')
def policy_in_force(con: duckdb.DuckDBPyConnection, moment: datetime) -> edits.Version | None:
    """The SLA policy version that applies to a clock started at `moment` (the first covers all before)."""
    return edits.in_force_at(edits.in_force_schedule(con, "sla_policy"), moment)


@reads('sla_policy')
def policy_changes_within(con: duckdb.DuckDBPyConnection, period: Period) -> list[edits.Version]:
    """Policy versions taking effect inside the period: its leads are measured under more than one."""
    return [v for v in edits.in_force_schedule(con, "sla_policy") if period.start < v.effective_from < period.end]
