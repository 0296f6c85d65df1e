"""Pipeline figures of METRICS.md: won revenue, open pipeline, coverage, win rate, stalls, velocity — for the
whole pipeline and per segment from one query — plus the period's movement and the deals behind a figure.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- Trailing year = closed_at in (as_of − 365 days, as_of].
- A deal's stage as of a moment is its latest stage-history row entered by then; a deal with no history
  rows is taken to have been in its recorded stage since created_at (core.semantic.blocks).
- Velocity counts every deal open as of, whatever its expected close date.
- Average won deal size and sales cycle are over deals won in the trailing year, sales-sourced included.
- Segments are core.semantic.dimensions at the deal grain: source, campaign and industry of the deal's
  lead ('sales-sourced' without one), team, region and rep of the deal owner (the people who work it).
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
from typing import TYPE_CHECKING

import duckdb

from core.db import reads
from core.periods import Period
from core.semantic.blocks import (
    CLOSED_IN_TRAILING_YEAR,
    CREATED_IN_PERIOD,
    DAYS_IN_STAGE,
    DEAL_ASOF,
    EXPECTED_IN_PERIOD,
    LOST_IN_PERIOD,
    OPEN_CURRENT_STAGE,
    OPEN_IN_PERIOD,
    SALES_CYCLE_DAYS,
    STAGE_NOW,
    STAGE_RANK,
    WON_IN_PERIOD,
    Figures,
    counted_sql,
    one_row,
    ratio,
    run,
    scope_params,
    tables_with_rows,
)
from core.semantic.dimensions import DEAL_JOINS, DIMENSIONS, Dimension, dimension
from core.semantic.enums import OPEN_STAGES, OUTLIER_FACTOR, OUTLIER_SHARE
from core.semantic.measures import MEASURES, fmt, label
from core.stall_rules import SNOOZE_JOIN, SNOOZED, SNOOZES, STALLED, THRESHOLD_DAYS, stall_params

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use: the report command builds no DataFrame (core.lazy)
    from core.lazy import pandas as pd

# Dimensions a pipeline figure can be broken down by (an allow-list; the page offers these).
PIPELINE_DIMENSIONS: tuple[str, ...] = ("source", "campaign", "industry", "country", "region", "team", "rep")

WON_IN_TRAILING_YEAR = f"d.state = 'won' AND {CLOSED_IN_TRAILING_YEAR}"
LOST_IN_TRAILING_YEAR = f"d.state = 'lost' AND {CLOSED_IN_TRAILING_YEAR}"
SLIPPED = (f"d.created_at < $end AND {EXPECTED_IN_PERIOD} AND d.expected_close_on < CAST($as_of AS DATE) "
           "AND (d.state = 'open' OR d.closed_at >= $end)")
SALES_SOURCED_CREATED = f"d.lead_id IS NULL AND {CREATED_IN_PERIOD}"

# Every sum a pipeline row is made of, over deal_asof d (LEFT JOIN current_stage s). Grouped by a dimension
# they are the segment rows; ungrouped, the headline: one formula for both.
SUMS: dict[str, str] = {
    "open_deals": f"count(*) FILTER ({OPEN_IN_PERIOD})",
    "open_amount": f"coalesce(sum(d.amount) FILTER ({OPEN_IN_PERIOD}), 0)",
    "won_deals": f"count(*) FILTER ({WON_IN_PERIOD})",
    "won_revenue": f"coalesce(sum(d.amount) FILTER ({WON_IN_PERIOD}), 0)",
    "open_deals_all": "count(*) FILTER (d.state = 'open')",
    "stalled_deals": f"count(*) FILTER ({STALLED})",
    "snoozed_deals": f"count(*) FILTER ({SNOOZED})",  # over their threshold, out of the count for a known reason
    "year_won_deals": f"count(*) FILTER ({WON_IN_TRAILING_YEAR})",
    "year_lost_deals": f"count(*) FILTER ({LOST_IN_TRAILING_YEAR})",
    "year_won_revenue": f"coalesce(sum(d.amount) FILTER ({WON_IN_TRAILING_YEAR}), 0)",
    # a won deal without an amount (0: undeclared) is left out of the average, as out of won revenue
    "avg_won_deal_size": f"avg(d.amount) FILTER ({WON_IN_TRAILING_YEAR} AND d.amount > 0)",
    "year_won_undeclared": f"count(*) FILTER ({WON_IN_TRAILING_YEAR} AND coalesce(d.amount, 0) = 0)",
    "year_won_top_amount": f"max(d.amount) FILTER ({WON_IN_TRAILING_YEAR})",
    "year_won_median_amount": f"quantile_cont(d.amount, 0.5) FILTER ({WON_IN_TRAILING_YEAR} AND d.amount > 0)",
    "avg_sales_cycle_days": f"avg({SALES_CYCLE_DAYS}) FILTER ({WON_IN_TRAILING_YEAR})",
    # what the data leaves out, so a figure can say so instead of reading $0 or 100% (issue 12)
    "won_undeclared": f"count(*) FILTER ({WON_IN_PERIOD} AND coalesce(d.amount, 0) = 0)",
    "won_top_amount": f"max(d.amount) FILTER ({WON_IN_PERIOD})",
    "won_median_amount": f"quantile_cont(d.amount, 0.5) FILTER ({WON_IN_PERIOD} AND d.amount > 0)",
    "open_undated_deals": "count(*) FILTER (d.state = 'open' AND d.expected_close_on IS NULL)",
    "open_undated_amount": "coalesce(sum(d.amount) FILTER (d.state = 'open' AND d.expected_close_on IS NULL), 0)",
}
WON_CAVEAT_SUMS = ("won_deals", "won_revenue", "won_undeclared", "won_top_amount", "won_median_amount")

YEAR_SUMS = ("year_won_deals", "year_lost_deals", "year_won_revenue", "avg_won_deal_size", "avg_sales_cycle_days",
             "year_won_undeclared", "year_won_top_amount", "year_won_median_amount")


def _sums(
    con: duckdb.DuckDBPyConnection, params: dict, names: tuple[str, ...], dim: Dimension | None = None
) -> list[dict]:
    """The SUMS called `names`, one row per value of `dim` (a `segment` column), or one row without it."""
    stage = bool({"stalled_deals", "snoozed_deals"} & set(names))  # only stalls need the stage and the snoozes
    ctes = f"{DEAL_ASOF}, {OPEN_CURRENT_STAGE}, {SNOOZES}" if stage else DEAL_ASOF
    joins = (dim.deal_joins() if dim else "") + (f"\n    LEFT JOIN current_stage s ON s.deal_key = d.deal_key {SNOOZE_JOIN}"
                                                  if stage else "")
    select = ",\n           ".join(f"{SUMS[n]} AS {n}" for n in names)
    segment = dim.deal_sql() if dim else "'all'"
    cur = run(con, f"""WITH {ctes}
    SELECT {segment} AS segment,
           {select}
    FROM deal_asof d {joins}
    {"GROUP BY ALL" if dim else ""}""", params)
    columns = [c[0] for c in cur.description]
    return [dict(zip(columns, row)) for row in cur.fetchall()]


# --- The figures, each one function used by the headline and the segment rows alike --------------------

def win_rate(won_deals: int, lost_deals: int) -> float | None:
    """Won ÷ (won + lost) over deals closed in the trailing year; undefined when none closed."""
    return ratio(won_deals, won_deals + lost_deals)


def coverage(open_amount: float | None, goal: float | None, won: float) -> float | None:
    """Open pipeline ÷ (goal − won revenue); undefined without a goal, without a known open pipeline, or
    when nothing remains."""
    if open_amount is None or goal is None or goal - won <= 0:
        return None
    return open_amount / (goal - won)


def coverage_needed(rate: float | None) -> float | None:
    """Pipeline needed per unit of remaining goal: 1 / win rate; undefined without closed deals or wins."""
    if rate is None or rate <= 0:
        return None
    return 1 / rate


def velocity(open_deals: int, rate: float | None, deal_size: float | None, cycle_days: float | None) -> float | None:
    """Deals open × win rate × average won deal size ÷ average sales cycle days, in revenue per day."""
    if rate is None or deal_size is None or cycle_days is None or cycle_days <= 0:
        return None
    return open_deals * rate * deal_size / cycle_days


@dataclass
class DealStats(Figures):
    """Trailing-year deal statistics that the cascade, velocity and coverage need."""

    won_deals: int | None = None
    lost_deals: int | None = None
    win_rate: float | None = None
    avg_won_deal_size: float | None = None
    avg_sales_cycle_days: float | None = None


def lost_deals_recorded(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the data records any lost deal at all: without one, every win rate would read 100%."""
    return bool(one_row(con.execute("SELECT EXISTS (SELECT 1 FROM counted_deals WHERE stage = 'closed_lost')"))[0])


NO_LOST_DEALS = ("No lost deal is recorded in the data, so the win rate cannot be computed: it would read 100%. "
                 "Import lost deals (closed_lost) to measure it.")


def _deal_stats(row: dict, lost_recorded: bool = True) -> DealStats:
    won_deals, lost_deals = row["year_won_deals"], row["year_lost_deals"]
    result = DealStats(won_deals=won_deals, lost_deals=lost_deals,
                       avg_won_deal_size=row["avg_won_deal_size"], avg_sales_cycle_days=row["avg_sales_cycle_days"])
    result.win_rate = win_rate(won_deals, lost_deals) if lost_recorded else None
    if not lost_recorded:
        result.notes.append(NO_LOST_DEALS)
    elif result.win_rate is None:
        result.notes.append("No deal closed in the trailing year, so the win rate is undefined.")
    undeclared = row["year_won_undeclared"]
    if not result.won_deals:
        result.notes.append("No deal was won in the trailing year, so deal size and sales cycle are undefined.")
    elif undeclared == won_deals:
        result.notes.append(f"{won_deals:,} of {won_deals:,} deals won in the trailing year have no amount, so the "
                            "average won deal size cannot be computed.")
    elif undeclared:
        result.notes.append(f"{undeclared:,} of {won_deals:,} deals won in the trailing year have no amount; the "
                            "average won deal size counts the others only.")
    top, median, total = row["year_won_top_amount"], row["year_won_median_amount"], float(row["year_won_revenue"])
    if won_deals and won_deals > 1 and carries_most(top, median, total):
        result.notes.append(f"One deal won in the trailing year is {top / total:.0%} of its won revenue "
                            f"({fmt(top, 'money')}, {top / median:,.0f}× the median): the average won deal size "
                            f"({fmt(result.avg_won_deal_size, 'money')}) and what depends on it lean on that one "
                            "amount. Import data › Flagged records can exclude it.")
    return result


def carries_most(top: float | None, median: float | None, total: float) -> bool:
    """One amount OUTLIER_FACTOR× the median that carries more than OUTLIER_SHARE of the total: the outlier
    rule of a won-revenue figure (core.semantic.enums; the import profile applies the same constants)."""
    if not (top and median and total):
        return False
    return top > OUTLIER_FACTOR * median and top > total * OUTLIER_SHARE


@reads('records')
def trailing_year_deals(con: duckdb.DuckDBPyConnection, as_of: datetime) -> DealStats:
    present = tables_with_rows(con)
    if "deals" not in present:
        result = DealStats()
        result.notes.append(present.missing("deals"))
        return result
    return _deal_stats(_sums(con, scope_params(None, as_of), YEAR_SUMS)[0], lost_deals_recorded(con))


def declared_total(deals: int, total: float, undeclared: int) -> float | None:
    """The amount of `deals` deals, of which `undeclared` have none (0): unknown when none of them declared
    one, never $0. The one statement of the rule for won revenue and every movement's amount."""
    return None if deals and undeclared == deals else total


def open_pipeline_unknown(open_deals_all: int, open_undated_deals: int, any_open: bool) -> bool:
    """Whether an open pipeline in the period cannot be computed: no deal of the whole data is open (an export
    of closed deals only), or none of these open deals has an expected close date. The headline's and every
    segment row's rule."""
    return not any_open or (bool(open_deals_all) and open_undated_deals == open_deals_all)


def won_caveats(row: dict) -> tuple[float | None, list[str], str | None]:
    """Won revenue from a row of WON_CAVEAT_SUMS, and what the reader must know about it: None when every
    won deal of the period lacks an amount (never $0); a note when some do, or when one deal carries most
    of it (a record OUTLIER_FACTOR× the median won deal: often a typo or a placeholder amount). The third
    item is the first caveat in a few words, for the won-revenue card."""
    won, undeclared, total = row["won_deals"], row["won_undeclared"], float(row["won_revenue"])
    notes: list[str] = []
    short: str | None = None
    if declared_total(won, total, undeclared) is None:
        return None, [f"{won:,} of {won:,} won deals in the period have no amount, so won revenue cannot be "
                      "computed."], None
    if undeclared:
        notes.append(f"{undeclared:,} of {won:,} won deals in the period have no amount; won revenue counts the "
                     "others only.")
        short = f"caution: {undeclared:,} of {won:,} won deals have no amount"
    top, median = row["won_top_amount"], row["won_median_amount"]
    if won > 1 and carries_most(top, median, total):
        notes.append(f"One won deal is {top / total:.0%} of won revenue ({fmt(top, 'money')} of "
                     f"{fmt(total, 'money')}, {top / median:,.0f}× the median won deal): check its amount; "
                     "Import data › Flagged records can exclude it.")
        short = f"caution: one deal is {top / total:.0%} of it"
    return total, notes, short


# won_revenue's result: the value (None when no won deal has an amount), deals won, caveats in full and short.
Won = tuple[float | None, int, list[str], str | None]


@reads('records')
def won_revenue(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> Won:
    """Won revenue of the period (None when no won deal has an amount), the count of deals won in it, and
    the caveats the reader needs, in full and in a few words (won_caveats)."""
    return _won(_sums(con, scope_params(period, as_of), WON_CAVEAT_SUMS)[0])


def _won(row: dict) -> Won:
    """won_revenue's figures from a row holding WON_CAVEAT_SUMS (the pipeline's row holds them too)."""
    value, notes, short = won_caveats(row)
    return value, int(row["won_deals"]), notes, short


@dataclass
class Pipeline(Figures):
    won_revenue: float | None = None
    won_deals: int | None = None
    open_amount: float | None = None
    open_deals: int | None = None
    coverage: float | None = None
    stalled_deals: int | None = None
    snoozed_deals: int | None = None  # over their stage's threshold but snoozed for a known reason
    win_rate: float | None = None
    open_deals_all: int | None = None
    avg_won_deal_size: float | None = None
    avg_sales_cycle_days: float | None = None
    velocity_per_day: float | None = None
    coverage_needed: float | None = None
    open_undated_deals: int | None = None  # open deals (any) with no expected close date: not in any period
    open_undated_amount: float | None = None
    won: Won | None = None  # won_revenue's figures, from the same row: the headline's goal and landing use them

    @property
    def undated_note(self) -> str | None:
        """Context for the open-pipeline card: open deals no period can hold."""
        if not self.open_undated_deals:
            return None
        return f"+{self.open_undated_deals:,} deals, {fmt(self.open_undated_amount, 'money')}, no expected close date"


HEADLINE_SUMS = ("open_deals", "open_amount", "open_deals_all", "stalled_deals", "snoozed_deals", "open_undated_deals",
                 "open_undated_amount", *WON_CAVEAT_SUMS, *YEAR_SUMS)
# What the Overview's pipeline cards need (open pipeline, coverage, stalled deals, win rate): the headline sums
# less the averages and the outlier caveats' top and median amounts (two quantiles), for the comparison with the
# previous period: 0.105 -> 0.076 s at ten million leads.
CARD_SUMS = tuple(n for n in HEADLINE_SUMS if n not in ("won_top_amount", "won_median_amount", "year_won_top_amount",
                                                       "year_won_median_amount", "avg_won_deal_size",
                                                       "avg_sales_cycle_days"))


@reads('records', 'stalls')
def pipeline(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    goal_revenue: float | None,
    stall_days: int = 30,
    cards_only: bool = False,
) -> Pipeline:
    """The whole pipeline: the segment query without a segment. `stall_days` is the default stall threshold;
    the saved stall rules (core.stall_rules) override it per stage. `cards_only`: CARD_SUMS only (average deal
    size, sales cycle and velocity None, no outlier caveat), for the Overview's comparison."""
    result = Pipeline()
    present = tables_with_rows(con)
    if "deals" not in present:
        result.notes.append(present.missing("deals"))
        return result
    row = dict.fromkeys(HEADLINE_SUMS) | _sums(con, scope_params(period, as_of) | stall_params(con, stall_days),
                                               CARD_SUMS if cards_only else HEADLINE_SUMS)[0]
    result.won = _won(row)
    result.won_revenue, result.won_deals, won_notes, _ = result.won
    result.notes.extend(won_notes)
    result.open_amount, result.open_deals = float(row["open_amount"]), row["open_deals"]
    result.open_deals_all = row["open_deals_all"]
    result.open_undated_deals, result.open_undated_amount = row["open_undated_deals"], float(row["open_undated_amount"])
    if open_pipeline_unknown(result.open_deals_all, result.open_undated_deals, bool(result.open_deals_all)):
        result.open_amount = result.open_deals = None
        result.notes.append(
            f"No deal is open as of {as_of:%Y-%m-%d}: every deal in the data had closed by then, so the export "
            "seems to hold closed deals only, and the open pipeline cannot be computed." if not result.open_deals_all
            else f"None of the {result.open_deals_all:,} open deals has an expected close date, so the open "
                 "pipeline of the period cannot be computed (see 'no expected close date').")
    elif result.open_undated_deals:
        result.notes.append(f"{result.open_undated_deals:,} open deals ({fmt(result.open_undated_amount, 'money')}) "
                            "have no expected close date and are not counted in the period's open pipeline.")

    if period.end <= as_of:
        result.notes.append(f"{period.label} has ended: there is no pipeline left to cover it, so coverage is "
                            "undefined.")
    elif result.open_amount is None or result.won_revenue is None:
        pass  # said above: the inputs are missing
    elif goal_revenue is None:
        result.notes.append(f"No revenue goal is set for {period.label}, so coverage is undefined.")
    else:
        result.coverage = coverage(result.open_amount, goal_revenue, result.won_revenue)
        if result.coverage is None:
            result.notes.append("The goal is already met: nothing remains to cover, so coverage is undefined.")

    if "deal_stage_history" in present:
        result.stalled_deals, result.snoozed_deals = row["stalled_deals"], row["snoozed_deals"]
    else:
        result.notes.append(present.missing("deal_stage_history"))
    result.notes.extend(present.undated_notes("deals"))

    stats = _deal_stats(row, lost_deals_recorded(con))
    result.notes.extend(stats.notes)
    result.win_rate = stats.win_rate
    result.avg_won_deal_size = stats.avg_won_deal_size
    result.avg_sales_cycle_days = stats.avg_sales_cycle_days
    result.coverage_needed = coverage_needed(stats.win_rate)
    if stats.win_rate == 0:
        result.notes.append("No deal was won in the trailing year, so the coverage needed (1 / win rate) is undefined.")
    result.velocity_per_day = velocity(result.open_deals_all, stats.win_rate, stats.avg_won_deal_size,
                                       stats.avg_sales_cycle_days)
    if stats.avg_sales_cycle_days is not None and stats.avg_sales_cycle_days <= 0:
        result.notes.append("Won deals closed the moment they were created, so velocity is undefined.")
    return result


# --- Per segment -------------------------------------------------------------------------------------------

PIPELINE_BY_COLUMNS = (
    "segment", "open_deals", "open_amount", "won_revenue", "year_won_deals", "year_lost_deals", "win_rate",
    "coverage_needed", "goal_share", "segment_goal", "remaining_goal", "coverage", "pipeline_needed",
    "pipeline_shortfall", "stalled_deals", "status",
)
SEGMENT_SUMS = ("open_deals", "open_amount", "won_revenue", "stalled_deals", "open_deals_all", "open_undated_deals",
                *YEAR_SUMS)
_UNDEFINED_AS_NAN = ("win_rate", "coverage_needed", "goal_share", "segment_goal", "remaining_goal", "coverage",
                     "pipeline_needed", "pipeline_shortfall", "stalled_deals", "open_amount", "open_deals")


def _segment_row(row: dict, goal: float | None, year_revenue: float, lost_recorded: bool, any_open: bool) -> dict:
    """One segment's coverage against what it needs (module docstring); undefined figures are None, by the
    headline's rules: no open deal in the whole data, or none of the segment's with an expected close date,
    leaves its open pipeline unknown; no lost deal in the data leaves win rates unknown."""
    if open_pipeline_unknown(row["open_deals_all"], row["open_undated_deals"], any_open):
        row = {**row, "open_amount": None, "open_deals": None}
    stats = _deal_stats(row, lost_recorded)
    needed = coverage_needed(stats.win_rate)
    share = ratio(row["year_won_revenue"], year_revenue)
    seg_goal = goal * share if goal is not None and share is not None else None
    remaining = seg_goal - row["won_revenue"] if seg_goal is not None else None
    # a share already won (nothing remaining) needs no pipeline at all
    pipeline_needed = remaining * needed if remaining is not None and remaining > 0 and needed is not None else None
    shortfall = (pipeline_needed - row["open_amount"]
                 if pipeline_needed is not None and row["open_amount"] is not None else None)
    if not lost_recorded:
        status = "need undefined: no lost deal recorded"
    elif stats.win_rate is None:
        status = "need undefined: nothing closed in the trailing year"
    elif not stats.won_deals:
        status = "need undefined: no deal won in the trailing year"
    elif goal is None:
        status = "no goal set"
    elif remaining is not None and remaining <= 0:
        status = "goal share met"
    elif row["open_amount"] is None:
        status = "open pipeline unknown"
    elif shortfall is not None and shortfall > 0:
        status = "short"
    else:
        status = "covered"
    return {**row, "win_rate": stats.win_rate, "coverage_needed": needed, "goal_share": share,
            "segment_goal": seg_goal, "remaining_goal": remaining,
            "coverage": coverage(row["open_amount"], seg_goal, row["won_revenue"]),
            "pipeline_needed": pipeline_needed, "pipeline_shortfall": shortfall, "status": status}


@reads('records', 'stalls')
def pipeline_by(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    segment: str,
    goal_revenue: float | None,
    stall_days: int = 30,
) -> pd.DataFrame:
    """Pipeline health per value of a dimension (PIPELINE_DIMENSIONS): open pipeline in the period, won
    revenue, trailing-year win rate, the coverage it needs (1 / win rate) beside the coverage it has against
    its share of the goal, and the pipeline it is short of that need. Biggest shortfall first, then the
    biggest open pipeline; undefined figures are NaN with the reason in `status`."""
    dim = dimension(segment, PIPELINE_DIMENSIONS)
    present = tables_with_rows(con)
    if "deals" not in present:
        return pd.DataFrame(columns=PIPELINE_BY_COLUMNS)
    sums = _sums(con, scope_params(period, as_of) | stall_params(con, stall_days), SEGMENT_SUMS, dim)
    year_revenue = sum(r["year_won_revenue"] for r in sums)
    lost, any_open = lost_deals_recorded(con), any(r["open_deals_all"] for r in sums)
    rows = [_segment_row(r, goal_revenue, year_revenue, lost, any_open) for r in sums]
    if "deal_stage_history" not in present:  # as on the headline: stalls cannot be told without history
        for r in rows:
            r["stalled_deals"] = None
    rows.sort(key=lambda r: r["segment"])
    rows.sort(key=lambda r: (r["pipeline_shortfall"] is None, -(r["pipeline_shortfall"] or 0), -(r["open_amount"] or 0)))
    out = pd.DataFrame(rows, columns=PIPELINE_BY_COLUMNS)
    # undefined figures are NaN whatever the mix of rows (None would survive only in all-None columns)
    return out.astype({c: "float64" for c in _UNDEFINED_AS_NAN})


# --- Movement and the deals behind a figure ----------------------------------------------------------------

# A deal's step up to a later open stage, entered in the period (needs deal_stage_history).
_OPEN_STAGE_LIST = ", ".join(f"'{s}'" for s in OPEN_STAGES)  # our own constants
ADVANCED_CTE = f"""hist AS (
        SELECT deal_key, stage, entered_at,
               lag(stage) OVER (PARTITION BY deal_key ORDER BY entered_at, {STAGE_RANK.format('stage')}) AS prev_stage
        FROM deal_stage_history
        WHERE entered_at <= $as_of
          -- only deals that entered a stage in the period need their previous row: the window then sorts
          -- their histories, not every deal's (1.20 s -> 0.86 s for the movement at ten million leads)
          AND deal_key IN (SELECT deal_key FROM deal_stage_history WHERE entered_at >= $start AND entered_at < $end)
    ),
    advanced AS (
        SELECT DISTINCT deal_key FROM hist
        WHERE entered_at >= $start AND entered_at < $end
          AND stage IN ({_OPEN_STAGE_LIST})
          AND prev_stage IS NOT NULL
          AND {STAGE_RANK.format('stage')} > {STAGE_RANK.format('prev_stage')}
    )"""

# Each kind of deal a figure counts: the measure it is (its label names it) and its condition over
# deal_asof d (current_stage s, advanced a). Counts and the records behind them use the same text.
DEAL_KINDS: dict[str, tuple[str, str]] = {
    "open_pipeline": ("open_amount", OPEN_IN_PERIOD),
    "created": ("created_deals", CREATED_IN_PERIOD),
    "advanced": ("advanced_deals", "a.deal_key IS NOT NULL"),
    "won": ("period_won_deals", WON_IN_PERIOD),
    "lost": ("lost_deals", LOST_IN_PERIOD),
    "slipped": ("slipped_deals", SLIPPED),
    "stalled": ("stalled_deals", STALLED),
    "snoozed": ("snoozed_deals", SNOOZED),
    # expected to close in the period and stalled (snoozed ones are stalled for a known reason: not at risk)
    "at_risk": ("at_risk_deals", f"{OPEN_IN_PERIOD} AND {STALLED}"),
    "open_all": ("open_deals", "d.state = 'open'"),
    "sales_sourced": ("sales_sourced_deals", SALES_SOURCED_CREATED),
}
MOVEMENTS = ("created", "advanced", "won", "lost", "slipped")


def deal_kind_label(kind: str) -> str:
    """The label of the figure a kind of deal makes (for the drill-down's picker)."""
    return MEASURES[DEAL_KINDS[kind][0]].label


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


def _open_moves_recorded(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any deal's history holds two different open stages: without one, "advanced" is unknowable."""
    return bool(one_row(con.execute(
        "SELECT EXISTS (SELECT 1 FROM deal_stage_history WHERE list_contains($open, stage) "
        "GROUP BY deal_id HAVING count(DISTINCT stage) > 1)", {"open": list(OPEN_STAGES)}))[0])


@reads('records')
def pipeline_movement(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> Movement:
    """Created, advanced, won, lost and slipped deals of the period (see the module docstring)."""
    result = Movement()
    present = tables_with_rows(con)
    if "deals" not in present:
        result.notes.append(present.missing("deals"))
        return result
    select = ", ".join(f"count(*) FILTER ({DEAL_KINDS[k][1]}), coalesce(sum(d.amount) FILTER ({DEAL_KINDS[k][1]}), 0), "
                       f"count(*) FILTER ({DEAL_KINDS[k][1]} AND coalesce(d.amount, 0) = 0)" for k in MOVEMENTS)
    row = one_row(run(con, f"""WITH {DEAL_ASOF}, {ADVANCED_CTE}
        SELECT {select}, bool_or(d.expected_close_on IS NOT NULL)
        FROM deal_asof d LEFT JOIN advanced a ON a.deal_key = d.deal_key""", scope_params(period, as_of)))
    for i, kind in enumerate(MOVEMENTS):
        deals, amount, undeclared = int(row[3 * i]), float(row[3 * i + 1]), int(row[3 * i + 2])
        setattr(result, f"{kind}_deals", deals)
        # as won revenue: no declared amount at all is an unknown amount, some missing a note
        setattr(result, f"{kind}_amount", declared_total(deals, amount, undeclared))
        if undeclared:
            words = label(DEAL_KINDS[kind][0]).lower()
            result.notes.append(f"{words.capitalize()}: {undeclared:,} of {deals:,} have no amount"
                                + (", so their amount is unknown." if undeclared == deals else
                                   "; the amount counts the others only."))
    if not lost_deals_recorded(con):
        result.notes.append("No lost deal is recorded in the data, so lost deals cannot be counted.")
        result.lost_deals = result.lost_amount = None
    if "deal_stage_history" in present and not result.advanced_deals and not _open_moves_recorded(con):
        result.notes.append("The stage history records no move from one open stage to another (each deal has one "
                            "open stage at most), so deals that advanced cannot be counted.")
        result.advanced_deals = result.advanced_amount = None
    if not row[-1]:  # slipping is judged against expected close dates
        result.notes.append("No deal has an expected close date, so slipped deals cannot be counted.")
        result.slipped_deals = result.slipped_amount = None
    if "deal_stage_history" not in present:
        result.notes.append("No deal stage history is loaded, so deals that advanced a stage cannot be counted.")
        result.advanced_deals = result.advanced_amount = None
    return result


@dataclass
class Records:
    """A bounded list of the records behind a figure: the first `limit` rows and how many there are; `note`
    says why there is no list when there cannot be one."""

    frame: pd.DataFrame
    total: int
    limit: int
    note: str = ""

    def caption(self, noun: str = "record(s)", empty: str = "No records behind this figure.") -> str:
        """How many records there are, and whether the list (and its CSV) holds only the first of them."""
        shown = len(self.frame)
        if not shown:
            return self.note or empty
        more = f"; the first {shown:,} are listed and in the CSV." if self.total > shown else "."
        return f"{self.total:,} {noun}{more}"


RECORDS_LIMIT = 200
# longest in one stage first; snoozed: the soonest back in the count; otherwise biggest first
_ORDER = {"stalled": "days_in_stage DESC, deal_id", "snoozed": "snoozed_until, deal_id", "at_risk": "amount DESC, deal_id"}
# What a list of stalls shows beyond every deal list's columns: the threshold it was judged on, the snooze.
_STALL_COLUMNS = {"stalled": {"stall_after_days": THRESHOLD_DAYS}, "at_risk": {"stall_after_days": THRESHOLD_DAYS},
                  "snoozed": {"stall_after_days": THRESHOLD_DAYS, "snoozed_until": "z.until",
                              "snoozed_by": "z.snoozed_by", "snooze_reason": "z.snooze_reason"}}


def bounded(con: duckdb.DuckDBPyConnection, base: str, order: str, params: dict) -> Records:
    """The first $limit rows of the query `base` in `order` (its output columns) and how many rows it has,
    from one run of it (counted_sql; counting in a query of its own ran the whole base twice)."""
    return _counted(run(con, counted_sql(base, order, " LIMIT $limit"), params).df(), params)


def _counted(frame: pd.DataFrame, params: dict) -> Records:
    """Records from rows that carry the count of them all before the limit (`_total`)."""
    total = int(frame["_total"].iloc[0]) if len(frame) else 0
    return Records(frame=frame.drop(columns="_total"), total=total, limit=int(params["limit"]))


def _deal_list_sql(kind: str, dim: Dimension | None, order: str, limited: bool) -> str:
    """The deals of `kind` (of one value of `dim`) in `order` (output columns), the first $limit when `limited`,
    each with the count of them all (`_total`). The owner, team and source are joined to the rows kept, after
    the limit: the source's join probes every lead (0.26 s at ten million leads) for a list that shows 200."""
    advanced = kind == "advanced"  # the only condition over `advanced`, which needs the period
    where = DEAL_KINDS[kind][1] + (f" AND ({dim.deal_sql()}) = $value" if dim else "")
    stall = _STALL_COLUMNS.get(kind, {})
    rows = f"""WITH {DEAL_ASOF}, {OPEN_CURRENT_STAGE}, {SNOOZES}{", " + ADVANCED_CTE if advanced else ""}
        SELECT d.deal_id, d.account, d.amount, {STAGE_NOW} AS stage,
               CASE WHEN d.state = 'open' THEN {DAYS_IN_STAGE} END AS days_in_stage,
               d.lead_id, d.lead_key, d.owner_id, d.created_at, d.expected_close_on,
               d.closed_at{"".join(f", {sql} AS {name}" for name, sql in stall.items())}
        FROM deal_asof d {dim.deal_joins() if dim else ""}
        LEFT JOIN current_stage s ON s.deal_key = d.deal_key {SNOOZE_JOIN}
        {"LEFT JOIN advanced a ON a.deal_key = d.deal_key" if advanced else ""}
        WHERE {where}"""
    kept = counted_sql(rows, order, " LIMIT $limit" if limited else "")
    return f"""SELECT d.deal_id, d.account, d.amount, d.stage, d.days_in_stage,
               {DIMENSIONS["rep"].deal_sql()} AS owner, {DIMENSIONS["team"].deal_sql()} AS owner_team,
               {DIMENSIONS["source"].deal_sql()} AS source, d.lead_id,
               d.created_at, d.expected_close_on, d.closed_at{"".join(f", d.{name}" for name in stall)}, d._total
        FROM ({kept}) d {DEAL_JOINS}
        ORDER BY {order}"""


@reads('records', 'stalls')
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
    """The deals behind a pipeline figure (a DEAL_KINDS key), optionally of one value of a dimension
    (PIPELINE_DIMENSIONS): the first `limit` (biggest first; stalled: longest in stage first) and the total."""
    if kind not in DEAL_KINDS:
        raise ValueError(f"unknown kind of deal {kind!r}")
    dim = dimension(segment, PIPELINE_DIMENSIONS) if segment is not None else None
    params = scope_params(period, as_of) | stall_params(con, stall_days) | {"limit": int(limit), "value": value}
    return _counted(run(con, _deal_list_sql(kind, dim, _ORDER.get(kind, "amount DESC, deal_id"), True), params).df(),
                    params)


@reads('records', 'stalls')
def stalled_deals(
    con: duckdb.DuckDBPyConnection, as_of: datetime, stall_days: int, limit: int | None = None
) -> pd.DataFrame:
    """Deals open as of whose current stage was entered more than their stage's stall threshold before as of
    (the rules, else stall_days) and that no snooze holds out, longest in stage first (the first `limit` of
    them when given): deal_records' list, for any period."""
    params = scope_params(None, as_of) | stall_params(con, stall_days) | {"limit": limit}
    sql = _deal_list_sql("stalled", None, _ORDER["stalled"], limit is not None)
    return run(con, sql, params).df().drop(columns="_total")
