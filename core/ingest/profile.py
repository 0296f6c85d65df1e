"""The data-quality profile: what in the loaded records makes a figure misleading, in plain sentences.

`profile(con)` reads the database (after an import, or at any time) and returns a list of `Flag`s. Each
flag has a stable `code`, the `figures` it affects (measure names of core.semantic.measures, so a page
can put the sentence on the right cards), a plain sentence with its counts, and the counts themselves.
The import summary lists the flags of the whole database after the import; a page can ask for one
period (`period` with `.start`, `.end`, `.label`, e.g. core.periods.Period) and an as-of moment.

Rules (docs/importing.md, "The data-quality profile"):
- won deals without an amount (amount 0: the CRM had none, or Olist's "not declared");
- open deals without an expected close date;
- closed deals but no lost ones (a win rate of 100% by default);
- no activities, no leads or no deals at all;
- records whose creation date the source did not have (the importer stamped one; see `record_stamp`);
- an outlier: one deal more than OUTLIER_FACTOR × the median amount that carries most of the total
  (won revenue, open pipeline); amounts below the median ÷ OUTLIER_FACTOR (e.g. 1 beside 24,120,000);
- rows the import quarantined for being dated after the import, for numbers that are not finite or
  too large, and for deals closed before they were created.

Every value is a bound parameter; identifiers come from core.ingest.canonical's allow-list.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from core.db import reads, refresh_views
from core.ingest.canonical import (
    CLOSED_BEFORE_CREATED_WORDS,
    FUTURE_WORDS,
    NON_FINITE_WORDS,
    OUT_OF_RANGE_WORDS,
    TOO_LARGE_WORDS,
    ident,
)
from core.semantic.enums import OPEN_STAGES, OUTLIER_FACTOR, OUTLIER_SHARE

MIN_AMOUNTS = 3  # the median means something only over a few amounts
TRAILING_YEAR = timedelta(days=365)

# Which figures each flag affects (names of core.semantic.measures.MEASURES; a test checks they exist).
WON_AMOUNT_FIGURES = (
    "won_revenue", "attainment", "pacing", "coverage", "avg_deal_size", "velocity", "revenue_gap", "gap_deal_size",
    "stage_target", "attr_won_revenue", "attr_return",
)
OPEN_AMOUNT_FIGURES = ("open_amount", "coverage", "pipeline_shortfall")
WIN_RATE_FIGURES = ("win_rate", "velocity", "stage_target", "cohort_opportunity_to_won")
SLA_FIGURES = (
    "compliance", "median_hours", "p90_hours", "sla_met", "sla_breached", "sla_pending", "never_touched",
    "under_worked", "avg_attempts", "hours_late",
)
LEAD_FIGURES = (
    "leads", "quality_leads", "accepted", "opportunities", "won", "delivery", "acceptance_rate",
    "lead_to_quality", "quality_to_accepted", "accepted_to_opportunity", "attr_leads", "attr_quality_leads",
)
DEAL_FIGURES = (
    "won_revenue", "open_amount", "win_rate", "avg_deal_size", "velocity", "stalled_deals", "coverage",
    "attr_won_revenue",
)
CREATED_DEAL_FIGURES = ("created_deals", "velocity", "gap_cycle_time", "stalled_deals", "days_in_stage")
# figures placed in time by a lead's or a deal's creation date
CREATED_FIGURES = {"leads": (*LEAD_FIGURES, *SLA_FIGURES), "deals": CREATED_DEAL_FIGURES}


@dataclass(frozen=True)
class Flag:
    """One data-quality finding. `count` records concern it, out of `total` where that means something;
    `records` names a few of them (e.g. the outlier deal's id); `share` is the part of a total it carries."""

    code: str
    figures: tuple[str, ...]
    text: str
    count: int
    total: int | None = None
    records: tuple[str, ...] = ()
    share: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["figures"] = list(self.figures)
        out["records"] = list(self.records)
        return out


def _n(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() or abs(value) >= 100 else f"{value:,.2f}"


def _deals(n: int) -> str:
    return f"{n:,} deal" + ("" if n == 1 else "s")


def record_stamp(con: duckdb.DuckDBPyConnection, table: str, column: str, at: datetime, note: str) -> None:
    """Remember that an importer stamped `table.column` with `at` for records whose source had no value
    (the table import_stamps; prune_stamps drops stamps no record carries any more)."""
    ident(table), ident(column)  # allow-listed, or ValueError
    # replace without a primary key to lean on (DuckLake has none): inside the import's transaction
    con.execute("DELETE FROM import_stamps WHERE table_name = ? AND column_name = ? AND stamped_at = ?",
                [table, column, at])
    con.execute("INSERT INTO import_stamps VALUES (?, ?, ?, ?)", [table, column, at, note])
    refresh_views(con)  # the figures' views follow the stamps


def clear_stamps(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM import_stamps")
    refresh_views(con)


def prune_stamps(con: duckdb.DuckDBPyConnection) -> None:
    for entry in _stamps(con):
        if not _stamped_count(con, entry):
            con.execute("DELETE FROM import_stamps WHERE table_name = ? AND column_name = ? AND stamped_at = ?",
                        [entry["table"], entry["column"], entry["at"]])
    refresh_views(con)


def _stamps(con) -> list[dict]:
    rows = con.execute("SELECT table_name, column_name, stamped_at, note FROM import_stamps "
                       "ORDER BY stamped_at, table_name, column_name").fetchall()
    return [{"table": t, "column": c, "at": at, "note": note} for t, c, at, note in rows]


def _stamped_count(con, entry: dict) -> int:
    try:
        table, column = ident(entry["table"]), ident(entry["column"])
    except ValueError:
        return 0
    return _one(con, f"SELECT count(*) FROM {table} WHERE {column} = ?", [entry["at"]])


def _one(con, sql: str, params: Sequence | dict | None = None) -> Any:
    row = con.execute(sql, params or []).fetchone()
    return row[0] if row else None


def _row(con, sql: str, params: Sequence | dict) -> tuple:
    """The one row of an aggregate query."""
    row = con.execute(sql, params).fetchone()
    assert row is not None  # an aggregate always returns a row
    return row


def _scope(period, as_of: datetime | None) -> tuple[str, dict, str]:
    """SQL condition on deals d for "won in scope", its parameters, and words naming the scope."""
    cond, words = ["d.stage = 'closed_won'"], ""
    params: dict[str, Any] = {}
    if period is not None:
        cond.append("d.closed_at >= $start AND d.closed_at < $end")
        params.update(start=period.start, end=period.end)
        words = f" closed in {period.label}"
    if as_of is not None:
        cond.append("d.closed_at <= $as_of")
        params["as_of"] = as_of
    return " AND ".join(cond), params, words


def _amounts(con, where: str, params: dict, what: str, figures: tuple[str, ...], code: str) -> list[Flag]:
    """Outlier rules over the positive amounts of the deals matching `where`."""
    row = con.execute(
        f"SELECT count(*), sum(d.amount), quantile_cont(d.amount, 0.5), max(d.amount), arg_max(d.deal_id, d.amount) "
        f"FROM counted_deals d WHERE {where} AND d.amount > 0", params,
    ).fetchone()
    if not row or not row[0] or row[0] < MIN_AMOUNTS:
        return []
    n, total, median, top, top_id = int(row[0]), float(row[1]), float(row[2]), float(row[3]), str(row[4])
    flags = []
    share = top / total if total else 0.0
    if top > OUTLIER_FACTOR * median and share > OUTLIER_SHARE:
        flags.append(Flag(
            code, figures,
            f"Deal {top_id} is {share:.0%} of {what} ({_n(top)} of {_n(total)}): more than {OUTLIER_FACTOR}× the "
            f"median amount ({_n(median)}). Check the amount before reading {what} as a trend.",
            1, n, (top_id,), share,
        ))
    tiny = con.execute(
        f"SELECT count(*), min(d.amount), arg_min(d.deal_id, d.amount) FROM counted_deals d "
        f"WHERE {where} AND d.amount > 0 AND d.amount < $tiny", {**params, "tiny": median / OUTLIER_FACTOR},
    ).fetchone()
    if tiny and tiny[0]:
        k = int(tiny[0])
        flags.append(Flag(
            f"{code}_tiny", figures,
            f"{_deals(k)} counted in {what} {'has' if k == 1 else 'have'} an amount under 1/{OUTLIER_FACTOR} of the "
            f"median amount ({_n(median)}), e.g. {_n(float(tiny[1]))} on deal {tiny[2]}: a placeholder or an amount "
            "in the wrong unit?",
            k, n, (str(tiny[2]),),
        ))
    return flags


def _quarantined(con, import_ids: Sequence[str] | None) -> list[Flag]:
    if import_ids is None:  # the latest import (every file of it shares its moment)
        latest = _one(con, "SELECT max(imported_at) FROM import_runs")
        if latest is None:
            return []
        import_ids = [r[0] for r in con.execute(
            "SELECT import_id FROM import_runs WHERE imported_at = ?", [latest]).fetchall()]
    if not import_ids:
        return []
    rules = (
        ("quarantined_future", "row{s} dated after the import {was} quarantined, so {it} cannot move the "
         "dashboard's as-of past today; see the quarantine list for the dates", [FUTURE_WORDS]),
        ("quarantined_bad_numbers", "row{s} with a number that is not finite (inf, nan) or is too large "
         "{was} quarantined", [NON_FINITE_WORDS, TOO_LARGE_WORDS, OUT_OF_RANGE_WORDS]),
        ("quarantined_closed_before_created", "deal{s} closed before {it_was} created {was} quarantined",
         [CLOSED_BEFORE_CREATED_WORDS]),
    )
    flags = []
    for code, words, patterns in rules:
        like = " OR ".join("contains(reason, ?)" for _ in patterns)
        n = _one(con, f"SELECT count(*) FROM (SELECT DISTINCT import_id, file_name, line FROM quarantine "
                      f"WHERE list_contains(?, import_id) AND ({like}))", [list(import_ids), *patterns])
        if n:
            one = n == 1
            text = words.format(s="" if one else "s", was="was" if one else "were", it="it" if one else "they",
                                it_was="it was" if one else "they were")
            flags.append(Flag(code, (), f"{n:,} {text}.", int(n)))
    return flags


@reads("records")
def profile(
    con: duckdb.DuckDBPyConnection,
    period=None,
    as_of: datetime | None = None,
    import_ids: Sequence[str] | None = None,
) -> list[Flag]:
    """The data-quality flags of the loaded records (see the module docstring).

    period: anything with .start, .end and .label (core.periods.Period): won deals closed in it; None
    means all of them. as_of: only what is stamped by then counts (open deals as of it; the win rate's
    trailing year ends there). import_ids: whose quarantine to count (default: the latest import's).
    """
    flags: list[Flag] = []
    counts = dict(con.execute(
        "SELECT 'leads', count(*) FROM counted_leads UNION ALL SELECT 'deals', count(*) FROM counted_deals "
        "UNION ALL SELECT 'activities', count(*) FROM activities").fetchall())
    leads, deals, activities = int(counts["leads"]), int(counts["deals"]), int(counts["activities"])

    # creation dates the source did not have
    for entry in _stamps(con):
        n = _stamped_count(con, entry)
        if n and entry["column"] == "created_at" and entry["table"] in CREATED_FIGURES:
            noun = entry["table"] if n != 1 else entry["table"].rstrip("s")
            flags.append(Flag(
                f"{entry['table']}_no_creation_date", CREATED_FIGURES[entry["table"]],
                f"{n:,} {noun} {'has' if n == 1 else 'have'} no creation date in the source: {entry['note']}",
                n, _one(con, f"SELECT count(*) FROM {ident(entry['table'])}"),
            ))

    # whole tables missing
    if activities == 0 and (leads or deals):
        flags.append(Flag("no_activities", SLA_FIGURES,
                          "No activities are loaded (calls, emails, meetings), so speed to lead and SLA compliance "
                          "cannot be measured.", 0))
    if leads == 0 and deals:
        flags.append(Flag("no_leads", LEAD_FIGURES,
                          "No leads are loaded, so lead, quality-lead and funnel figures cannot be computed.", 0))
    if deals == 0 and leads:
        flags.append(Flag("no_deals", DEAL_FIGURES,
                          "No deals are loaded, so revenue, pipeline and win-rate figures cannot be computed.", 0))

    if deals:
        won_where, params, scope_words = _scope(period, as_of)
        won, no_amount = _row(
            con, f"SELECT count(*), count(*) FILTER (WHERE d.amount IS NULL OR d.amount = 0) FROM counted_deals d WHERE {won_where}",
            params,
        )
        if no_amount:
            flags.append(Flag(
                "won_without_amount", WON_AMOUNT_FIGURES,
                f"{no_amount:,} of {won:,} won deals{scope_words} have no amount (0): won revenue and the "
                "average deal size count only the deals with one, and cannot be computed when none has.",
                int(no_amount), int(won),
            ))
        # open deals as of, and those without an expected close date
        open_where = "list_contains($open_stages, d.stage)"
        open_params: dict[str, Any] = {"open_stages": list(OPEN_STAGES)}
        if as_of is not None:  # a deal closed later was open then
            open_where = "d.created_at <= $as_of AND (d.closed_at IS NULL OR d.closed_at > $as_of)"
            open_params = {"as_of": as_of}
        n_open, no_close = _row(
            con, f"SELECT count(*), count(*) FILTER (WHERE d.expected_close_on IS NULL AND d.closed_at IS NULL) "
            f"FROM counted_deals d WHERE {open_where}", open_params,
        )
        if no_close:
            flags.append(Flag(
                "open_without_expected_close", OPEN_AMOUNT_FIGURES,
                f"{no_close:,} of {n_open:,} open deals have no expected close date, so the open pipeline of a "
                "period (deals expected to close in it) cannot count them.",
                int(no_close), int(n_open),
            ))
        # won and lost: the win rate's basis (trailing year to as-of; else the period; else everything)
        closed_where, closed_words = "d.closed_at IS NOT NULL", ""
        closed_params: dict[str, Any] = {}
        if as_of is not None:
            closed_where += " AND d.closed_at > $from AND d.closed_at <= $to"
            closed_params = {"from": as_of - TRAILING_YEAR, "to": as_of}
            closed_words = " in the 365 days to the as-of"
        elif period is not None:
            closed_where += " AND d.closed_at >= $from AND d.closed_at < $to"
            closed_params = {"from": period.start, "to": period.end}
            closed_words = f" in {period.label}"
        n_won, n_lost = _row(
            con, f"SELECT count(*) FILTER (WHERE d.stage = 'closed_won'), count(*) FILTER (WHERE d.stage = 'closed_lost') "
            f"FROM counted_deals d WHERE {closed_where}", closed_params,
        )
        if n_won and not n_lost:
            flags.append(Flag(
                "no_lost_deals", WIN_RATE_FIGURES,
                f"No lost deals are recorded{closed_words} ({n_won:,} won, 0 lost), so a win rate would be 100% "
                "by default: the data does not say how many deals were lost.",
                0, int(n_won),
            ))
        what = f"won revenue in {period.label}" if period is not None else "won revenue"
        flags.extend(_amounts(con, won_where, params, what, WON_AMOUNT_FIGURES, "won_revenue_outlier"))
        flags.extend(_amounts(con, open_where, open_params, "the open pipeline", OPEN_AMOUNT_FIGURES,
                              "open_amount_outlier"))

    flags.extend(_excluded(con))
    flags.extend(_quarantined(con, import_ids))
    return flags


def _excluded(con) -> list[Flag]:
    """Records editors took out of the figures (core.edits, kind 'exclusion'): said wherever they count."""
    rows = con.execute("SELECT table_name, count(*), list(record_id ORDER BY record_id)[:5] FROM exclusions "
                       "GROUP BY table_name ORDER BY table_name").fetchall()
    flags = []
    for table, n, ids in rows:
        noun = table if n != 1 else table.rstrip("s")
        flags.append(Flag(
            f"excluded_{table}", DEAL_FIGURES if table == "deals" else LEAD_FIGURES,
            f"{n:,} {noun} {'is' if n == 1 else 'are'} excluded from the figures by an editor "
            f"({', '.join(ids)}{', …' if n > len(ids) else ''}); Import data › Flagged records has who and why.",
            int(n), records=tuple(ids),
        ))
    return flags
