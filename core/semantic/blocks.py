"""The shared SQL building blocks every figure is made of, each stated once and tested with given rows and
expected rows (tests/test_blocks.py):

- `lead_q(...)`       leads created by $as_of with `is_quality` (the definition in force at created_at)
                      and `clock_start` (the SLA clock: assigned_at if stamped by $as_of, else created_at);
- `DEAL_ASOF`         deals created by $as_of in the state they had then (a deal closed later was open);
- `lead_deals(...)`  the lead→deal link: per lead, its deals as of, whether one was won, won deals/amount;
- `CURRENT_STAGE`     a deal's current stage as of: its latest stage-history row entered by then;
- conditions over `deal_asof d` (+ `current_stage s`): open in the period, stalled, won/lost in the period.

Every value is a named parameter ($as_of, $start, …); every identifier comes from this module or from
core.semantic.dimensions. `run()` passes a query only the parameters it uses, so builders can share
one parameter dict.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

import duckdb

from core import edits
from core.models import QualityDefinition, SlaPolicy
from core.periods import Period
from core.quality import schedule_sql
from core.semantic.enums import OPEN_STAGES, TABLES

TRAILING_YEAR = timedelta(days=365)


@dataclass
class Figures:
    """Base of every metric result: figures that can't be computed are None with a reason in notes."""

    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Present(frozenset):
    """The canonical tables that hold rows figures can use (a frozenset of names), and, for leads and
    deals, how many records have a creation date an importer stamped (`undated`, see import_stamps):
    such a record cannot be placed in a period. Leads count as present only when one has a real date,
    since every lead figure is placed in time by it; deals stay present (open pipeline needs no date)."""

    undated: dict[str, int]
    totals: dict[str, int]

    def __new__(cls, tables, undated: dict[str, int] | None = None, totals: dict[str, int] | None = None):
        made = super().__new__(cls, tables)
        made.undated, made.totals = dict(undated or {}), dict(totals or {})
        return made

    def __reduce__(self):  # keep the counts through pickling (st.cache_data copies results that way)
        return (Present, (frozenset(self), self.undated, self.totals))

    def missing(self, table: str) -> str:
        """Why figures reading `table` cannot be computed, when it is not present."""
        n = self.undated.get(table, 0)
        if table == "leads" and n and n == self.totals.get(table):
            return (f"The {n:,} leads loaded have no creation date in the source, so no lead can be placed in a "
                    "period: lead counts, quality leads, the funnel, the SLA and lead attribution cannot be "
                    "computed. Import a file that has the leads' creation dates.")
        return MISSING_TABLE_NOTES[table]

    def undated_notes(self, *tables: str) -> list[str]:
        """What the figures of `tables` leave out because the source had no creation date for it."""
        notes = []
        for table in tables:
            n, total = self.undated.get(table, 0), self.totals.get(table, 0)
            if not n or (table == "leads" and n == total):  # all undated: `missing` says it
                continue
            notes.append(f"{n:,} of {total:,} {table} have no creation date in the source, so "
                         + ("no period's lead figures count them." if table == "leads" else
                            "deals created in a period, time in stage and sales cycles leave them out."))
        return notes


# Reads every section repeats (which tables have rows, the policy schedules: 26 small queries, 44 ms of the
# Overview's first visit at ten million leads) are made once per snapshot of what they read:
# - in a composite figure computed directly on one connection (section_caller without a cache: the report command,
#   tests), once per composite, where nothing writes between its sections (the report at a million leads: 21 -> 14
#   queries, 129 -> 120 ms);
# - in the app's cached sections (shared_reads), once per version of the domains the read depends on, the key the
#   app's cache already trusts (ui.data.cached): each section still runs on its own cursor and transaction.
@dataclass
class _Reads:
    store: dict
    versions: dict[str, int] | None  # the app's section: the versions of the domains it reads; None: a composite


_RUN_MEMO: ContextVar[_Reads | None] = ContextVar("accord_run_memo", default=None)
_ABSENT = object()
R = TypeVar("R")


def once_per_run(*domains: str) -> Callable[[Callable[[duckdb.DuckDBPyConnection], R]],
                                             Callable[[duckdb.DuckDBPyConnection], R]]:
    """A read of `domains` only, made once per snapshot of them (see above); a section whose versions lack one
    of them (it did not declare it) reads afresh."""
    def wrap(fn: Callable[[duckdb.DuckDBPyConnection], R]) -> Callable[[duckdb.DuckDBPyConnection], R]:
        @wraps(fn)
        def read(con: duckdb.DuckDBPyConnection) -> R:
            reads = _RUN_MEMO.get()
            if reads is None:
                return fn(con)
            if reads.versions is None:
                key: tuple = (fn.__qualname__, id(con))
            elif all(d in reads.versions for d in domains):
                key = (fn.__qualname__, *(reads.versions[d] for d in domains))
            else:
                return fn(con)
            found = reads.store.get(key, _ABSENT)
            if found is _ABSENT:  # kept in a local: another session's thread may clear the app's store meanwhile
                found = reads.store[key] = fn(con)
            return found
        return read
    return wrap


@contextmanager
def shared_reads(store: dict, versions: dict[str, int]) -> Iterator[None]:
    """For a caching layer: while a section computes, the once_per_run reads are kept in `store` (the caller's,
    one per database) under `versions`, the versions of the domains the section reads."""
    token = _RUN_MEMO.set(_Reads(store, versions))
    try:
        yield
    finally:
        _RUN_MEMO.reset(token)


@once_per_run('records')
def tables_with_rows(con: duckdb.DuckDBPyConnection) -> Present:
    """Canonical tables that hold at least one row figures can use (an import may lack whole tables),
    with the stamped creation dates of leads and deals (Present)."""
    # One query (each figure asks, ten times a page): the tables, stamps and exclusions that have a row, each a
    # WHERE EXISTS branch (the same EXISTS as columns of one SELECT took 14 ms at a million leads, this 0.7 ms);
    # names are allow-listed
    found = {r[0] for r in con.execute(" UNION ALL ".join(
        f"SELECT '{t}' AS t WHERE EXISTS (SELECT 1 FROM {t})" for t in (*TABLES, "import_stamps", "exclusions")
    )).fetchall()}
    if not found & {"import_stamps", "exclusions"}:  # the usual case, in a few milliseconds at ten million leads
        return Present(found)
    found -= {"leads", "deals", "import_stamps", "exclusions"}
    undated, totals = {}, {}
    for table in ("leads", "deals"):
        # EXISTS stops at the first row; the counts are of the raw table (fast), the stamps a tiny join
        dated = "WHERE created_known" if table == "leads" else ""
        row = one_row(con.execute(
            f"""SELECT EXISTS (SELECT 1 FROM counted_{table} {dated}), (SELECT count(*) FROM {table}),
                       (SELECT count(*) FROM {table} t JOIN import_stamps s ON s.table_name = $t
                          AND s.column_name = 'created_at' AND s.stamped_at = t.created_at)""", {"t": table},
        ))
        totals[table], undated[table] = int(row[1]), int(row[2])
        if row[0]:
            found.add(table)
    return Present(found, undated, totals)


MISSING_TABLE_NOTES = {
    "leads": "No leads are loaded, so lead, quality-lead and funnel figures cannot be computed.",
    "activities": "No activities are loaded, so the response SLA (speed to lead, attempts) cannot be measured.",
    "deals": "No deals are loaded, so revenue, pipeline and win-rate figures cannot be computed.",
    "deal_stage_history": "No deal stage history is loaded, so stalled deals cannot be identified.",
    "campaign_touches": "No campaign touches are loaded, so multi-touch attribution cannot be computed.",
    "campaigns": "No campaigns are loaded, so campaign cost and return cannot be computed.",
}


@once_per_run('quality_definition')
def quality_schedule(con: duckdb.DuckDBPyConnection) -> tuple[tuple[datetime, QualityDefinition], ...]:
    return tuple((v.effective_from, v.body) for v in edits.in_force_schedule(con, "quality_definition"))


@once_per_run('sla_policy')
def sla_schedule(con: duckdb.DuckDBPyConnection) -> tuple[tuple[datetime, SlaPolicy], ...]:
    return tuple((v.effective_from, v.body) for v in edits.in_force_schedule(con, "sla_policy"))


def scope_params(period: Period | None, as_of: datetime) -> dict:
    params: dict = {"as_of": as_of, "year_start": as_of - TRAILING_YEAR}
    if period is not None:
        params.update(start=period.start, end=period.end)
    return params


# --- leads ---------------------------------------------------------------------------------------------

# The SLA clock of METRICS.md: assignment (once stamped, as of) else creation.
SLA_CLOCK = "CASE WHEN l.assigned_at IS NOT NULL AND l.assigned_at <= $as_of THEN l.assigned_at ELSE l.created_at END"


# Raw-column bounds a caller may give lead_q (`window`), so the scan skips what the query would drop anyway
# before the quality verdict and the clock are computed for every lead (issue 13: filter before computing).
CREATED_WINDOW = "l.created_at >= $start AND l.created_at < $end"  # the cohort's leads
# A lead whose SLA clock starts in the period: the clock is created_at or assigned_at, so one of them is in
# the period (whatever their order); SLA code still tests the clock itself. Plain ranges on each column let
# the scan skip row groups (least/greatest of the two made it read every lead: 0.15 s against 0.014 s at 10M).
CLOCK_WINDOW = ("((l.created_at >= $start AND l.created_at < $end) "
                "OR (l.assigned_at >= $start AND l.assigned_at < $end))")
# The same leads as CLOCK_WINDOW, as two disjoint branches lead_q reads as a UNION ALL: DuckDB 1.5.5 prunes row
# groups on each plain range but not on their OR, which read every lead (0.45 s of the SLA headline's 0.70 s at
# ten million leads; the headline query 0.78-0.97 -> 0.48 s).
CLOCK_BRANCHES = ("l.created_at >= $start AND l.created_at < $end",
                  "l.assigned_at >= $start AND l.assigned_at < $end "
                  "AND NOT (l.created_at >= $start AND l.created_at < $end)")


def lead_q(
    con: duckdb.DuckDBPyConnection,
    params: dict,
    schedule: Sequence[tuple[datetime, QualityDefinition]] | None = None,
    window: str | tuple[str, ...] | None = None,
) -> str:
    """CTE `lead_q`: leads created by $as_of with every lead column, `is_quality` (the definition in
    force at created_at, or `schedule` when given) and `clock_start` (SLA_CLOCK). Leads whose creation date
    is an importer's stamp are left out: every lead figure is placed in time by it (see Present). `window`
    (CREATED_WINDOW, CLOCK_WINDOW) narrows the leads on raw columns first; it never changes a result that
    then filters on the same period. A tuple of disjoint conditions (CLOCK_BRANCHES) is read as one scan
    each, joined by UNION ALL."""
    quality = schedule_sql(quality_schedule(con) if schedule is None else schedule, params, alias="l")
    known = "l.created_at <= $as_of AND l.created_known"
    if isinstance(window, tuple):
        source = ("(" + " UNION ALL ".join(f"SELECT * FROM counted_leads l WHERE {known} AND {w}" for w in window)
                  + ") l")
        where = ""
    else:
        source = "counted_leads l"
        where = f"\n        WHERE {known}{f' AND {window}' if window else ''}"
    return f"""lead_q AS (
        SELECT l.*, {quality} AS is_quality, {SLA_CLOCK} AS clock_start
        FROM {source}{where}
    )"""


# The period's lead cohort (needs lead_q): the leads created in the period, as the funnel counts them.
COHORT = "cohort AS (SELECT * FROM lead_q WHERE created_at >= $start AND created_at < $end)"

# --- deals ---------------------------------------------------------------------------------------------

DEAL_ASOF = """deal_asof AS (
        SELECT d.deal_id, d.deal_key, d.lead_id, d.lead_key, d.account, d.created_at, d.created_known, d.amount, d.expected_close_on,
               d.owner_id, d.stage AS recorded_stage,
               CASE WHEN d.stage = 'closed_won' AND d.closed_at <= $as_of THEN 'won'
                    WHEN d.stage = 'closed_lost' AND d.closed_at <= $as_of THEN 'lost'
                    ELSE 'open' END AS state,
               CASE WHEN d.closed_at <= $as_of THEN d.closed_at END AS closed_at
        FROM counted_deals d
        WHERE d.created_at <= $as_of
    )"""


def lead_deals(within: str | None = None) -> str:
    """The lead→deal link (needs DEAL_ASOF): one row per lead with a deal created by $as_of. `within`, a
    condition over `counted_leads l` that every lead joined to it meets (its window): only the deals whose
    lead_key lies within those leads' key range are grouped. Exact (no other deal can meet one of them), and
    most deals are left out when keys follow creation, as they do (the lead_keys table numbers ids as they
    arrive): a quarter's funnel at ten million leads 0.13 -> 0.08 s, grouping 60k deals instead of 750k. The
    range is read from the leads themselves, not from the CTE the query builds over them: reading that CTE
    three times made DuckDB materialise it (the segment funnel of a trailing year 0.40 -> 0.46 s)."""
    keys = f"FROM counted_leads l WHERE {within}"
    bound = (f" AND lead_key BETWEEN (SELECT min(l.lead_key) {keys}) AND (SELECT max(l.lead_key) {keys})"
             if within else "")
    return f"""lead_deals AS (
        SELECT lead_key, count(*) AS deals, bool_or(state = 'won') AS has_won,
               count(*) FILTER (state = 'won') AS won_deals,
               coalesce(sum(amount) FILTER (state = 'won'), 0) AS won_revenue
        FROM deal_asof WHERE lead_key IS NOT NULL{bound} GROUP BY lead_key
    )"""


# A deal's stage as of $as_of: its latest stage-history row entered by then. Deals meet their history on
# deal_key, deal_id's integer (core.db.RECORD_KEYS): the open pipeline 0.14 -> 0.11 s at ten million leads.
CURRENT_STAGE = """current_stage AS (
        SELECT deal_key, arg_max(stage, entered_at) AS stage, max(entered_at) AS entered_at
        FROM deal_stage_history WHERE entered_at <= $as_of GROUP BY deal_key
    )"""

# CURRENT_STAGE for the deals open as of only (needs DEAL_ASOF): the pipeline reads a deal's current stage only
# when it is open (stalls, days in stage; a closed deal's stage is its outcome, STAGE_NOW), and the semi-join
# keeps the grouping to their history (72k of 888k deals at ten million leads: 0.28 -> 0.19 s for the headline).
OPEN_CURRENT_STAGE = """current_stage AS (
        SELECT deal_key, arg_max(stage, entered_at) AS stage, max(entered_at) AS entered_at
        FROM deal_stage_history
        WHERE entered_at <= $as_of AND deal_key IN (SELECT deal_key FROM deal_asof WHERE state = 'open')
        GROUP BY deal_key
    )"""

# Over deal_asof d LEFT JOIN current_stage s: when the deal entered its current stage (creation when the
# deal has no history row), and the stage itself (the recorded one when there is no history).
# (a deal whose creation date is an importer's stamp and that has no history: unknown, so never stalled)
STAGE_ENTERED = "coalesce(s.entered_at, CASE WHEN d.created_known THEN d.created_at END)"
STAGE_NOW = ("CASE d.state WHEN 'won' THEN 'closed_won' WHEN 'lost' THEN 'closed_lost' "
             "ELSE coalesce(s.stage, d.recorded_stage) END")
DAYS_IN_STAGE = f"epoch($as_of - {STAGE_ENTERED}) / 86400.0"
STAGE_RANK = "list_position([" + ", ".join(f"'{s}'" for s in (*OPEN_STAGES, "closed_won", "closed_lost")) + "], {})"

# Conditions over deal_asof d (and current_stage s for STALLED): the same text counts, breakdowns and the
# drill-down to records use, so a list always holds what its figure counted.
EXPECTED_IN_PERIOD = "d.expected_close_on >= CAST($start AS DATE) AND d.expected_close_on < CAST($end AS DATE)"
OPEN_IN_PERIOD = f"d.state = 'open' AND {EXPECTED_IN_PERIOD}"
STALLED = f"d.state = 'open' AND {STAGE_ENTERED} < $as_of - to_days(CAST($stall_days AS INTEGER))"
CREATED_IN_PERIOD = "d.created_known AND d.created_at >= $start AND d.created_at < $end"
WON_IN_PERIOD = "d.state = 'won' AND d.closed_at >= $start AND d.closed_at < $end"
LOST_IN_PERIOD = "d.state = 'lost' AND d.closed_at >= $start AND d.closed_at < $end"
CLOSED_IN_TRAILING_YEAR = "d.closed_at > $year_start AND d.closed_at <= $as_of"
# A closed deal's sales cycle in fractional days (created_at → closed_at), over deal_asof d.
SALES_CYCLE_DAYS = "CASE WHEN d.created_known THEN epoch(d.closed_at - d.created_at) / 86400.0 END"


# --- effective-dated policy values ---------------------------------------------------------------------


def schedule_value_sql(
    schedule: Sequence[tuple[datetime, object]], attr: str, moment_sql: str, params: dict, prefix: str
) -> str:
    """The value of one policy field in force at `moment_sql` (an allow-listed column expression)."""
    from core.quality import effective_case

    def value(i: int, body: object) -> str:
        params[f"{prefix}{i}_{attr}"] = getattr(body, attr)
        return f"${prefix}{i}_{attr}"

    return effective_case(schedule, moment_sql, params, prefix, value)


# --- running -------------------------------------------------------------------------------------------

_PARAM = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def section_caller(con: duckdb.DuckDBPyConnection | None, call: Callable[..., Any] | None,
                   what: str) -> Callable[..., Any]:
    """How a figure made of sections computes each (`call(fn, *args)`): the `call` given (the app passes its
    cache, ui.data.cached, so each section is kept on the data it reads and shared between pages), else
    fn(con, *args) directly."""
    if call is not None:
        return call
    if con is None:
        raise ValueError(f"{what} needs a connection or a call")
    outer = _RUN_MEMO.get()  # a composite inside another shares the outer one's reads
    reads = outer if outer is not None and outer.versions is None else _Reads({}, None)

    def direct(fn: Callable[..., Any], *args: Any) -> Any:
        token = _RUN_MEMO.set(reads)  # see once_per_run
        try:
            return fn(con, *args)
        finally:
            _RUN_MEMO.reset(token)

    return direct


def counted_sql(rows: str, order: str, limit: str = "") -> str:
    """The query `rows` in `order` (its output columns), cut by `limit` (" LIMIT $limit" or ""), each row with
    `_total`, how many rows `rows` has before the cut: from one run of it (the rows materialised once). The count
    is a scalar over the rows, not a count window over every row (count(*) with an empty OVER): that fails in
    DuckDB 1.5.5 now and then, an internal error in its window operator ("Attempted to access index 0 within
    vector of size 0", about 1 run in 200 of a lead list filtered to one source on the tiny world), and an
    internal error invalidates the whole database. Faster too at ten million leads: the lead list 0.39 -> 0.19 s,
    the breach list 0.38 -> 0.33 s."""
    return f"WITH listed AS MATERIALIZED ({rows}) SELECT *, (SELECT count(*) FROM listed) AS _total FROM listed ORDER BY {order}{limit}"


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> duckdb.DuckDBPyConnection:
    """Execute with only the named parameters the SQL uses (DuckDB refuses unused ones)."""
    used = set(_PARAM.findall(sql))
    return con.execute(sql, {k: v for k, v in params.items() if k in used})


def one_row(cur: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The one row of an aggregate query without GROUP BY (e.g. `SELECT count(*) …`), which always
    returns exactly one row, even over no rows: `one_row(run(con, sql, params))[0]`."""
    row = cur.fetchone()
    if row is None:  # cannot happen for such a query: a caller passed one that can return no row
        raise RuntimeError("an aggregate query returned no row")
    return row


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
