"""Will we make the number? The period's landing estimate with a range and its back-test on past periods,
and the red/amber/green status of a figure against the pace of its target.

Choices where METRICS.md is silent (also in docs/metrics-notes.md, "Landing estimate"):
- Landing = won revenue to date (core.metrics.pipeline.won_revenue: same rules and caveats) + every deal open
  as of, each weighted by the share of deals that were open at the same point of past periods, in the same
  stage and age-in-stage bucket, and were won before their period ended + the revenue expected from deals
  not created yet (the trailing 90 days' deal creation rate × how much of a deal's amount a new deal earns
  within the days left, measured on the deals created in the 365 days before the days left).
- The expected close date is not used: the records keep only its latest value, so measuring or back-testing
  with it would read dates set after the fact. Deals not created yet include every source (a lead not created
  yet reaches revenue only through a deal not created yet; sales-sourced deals too), so the three parts never
  count one deal twice.
- A deal's stage at a past moment is its latest stage-history row entered by then; a deal without one is in
  the group "stage not recorded" (at that moment and now alike), so the rates measured match the deals they
  are applied to. Age in stage counts from that row, else from the deal's creation.
- Back-test: the same estimate at the same day offset of each of the past FORECAST_HISTORY periods, with
  rates measured only on the periods before it, against the revenue that period actually won.
- Range: the 10th–90th percentile of actual ÷ estimate over the back-tested periods, applied to the landing,
  when at least MIN_BACKTEST periods were back-tested; otherwise the 10th–90th percentile of a normal
  approximation of the outcomes (each open deal wins with its rate; new deals arrive as a Poisson stream).
  The low end is never below the revenue already won.
- Status: actual ÷ target to date; at least 100% on track, at least 90% at risk, below that behind.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import duckdb

from core.db import reads
from core.metrics.pipeline import Won, declared_total, won_revenue
from core.periods import Period
from core.semantic.blocks import Figures, run, tables_with_rows

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use: the report command builds no DataFrame (core.lazy)
    from core.lazy import pandas as pd

FORECAST_HISTORY = 8     # past periods whose same point is measured (two years of quarters)
MIN_BACKTEST = 4         # back-tested periods needed for a range from their errors
RUN_RATE_DAYS = 90       # deal creation rate: the deals created in the 90 days up to the moment
CYCLE_WINDOW_DAYS = 365  # how soon new deals win: the deals created in the 365 days before the days left
Z_90 = 1.2815515655446004  # the 90th percentile of the standard normal distribution

NO_STAGE = "stage not recorded"
NO_AGE = "age unknown"
# Age in stage at the moment (days), lower bound inclusive: (lower bound, words).
AGE_BUCKETS: tuple[tuple[float, str], ...] = ((0, "under 30 days"), (30, "30–90 days"), (90, "90 days or more"))

# A figure's status against its target to date (METRICS.md "pacing"), its words and colour. A status is
# always shown with its words, never by colour alone.
ON_TRACK, AT_RISK, BEHIND = "on_track", "at_risk", "behind"
STATUS_WORDS: dict[str, str] = {ON_TRACK: "On track", AT_RISK: "At risk", BEHIND: "Behind"}
AT_RISK_FROM = 0.9       # at risk from 90% of the target to date; behind below it
# The policy names no compliance target; the response SLA promises every quality lead a touch in time, and
# 90% is the share Accord calls on track (docs/metrics-notes.md).
COMPLIANCE_TARGET = 0.9


def pace_status(actual: float | None, target_to_date: float | None) -> str | None:
    """ON_TRACK when actual ≥ target to date, AT_RISK from AT_RISK_FROM of it, else BEHIND; None without
    an actual or a positive target (no status is shown rather than a guess)."""
    if actual is None or target_to_date is None or target_to_date <= 0:
        return None
    share = actual / target_to_date
    if share >= 1:
        return ON_TRACK
    return AT_RISK if share >= AT_RISK_FROM else BEHIND


def same_point(period: Period, as_of: datetime, earlier: Period) -> datetime:
    """The moment as far into `earlier` as `as_of` is into `period` (day 40 of this quarter → day 40 of
    that one), at most `earlier`'s end (a 31-day month's last day in a 30-day month)."""
    offset = min(max(as_of, period.start), period.end) - period.start
    return min(earlier.start + offset, earlier.end)


def previous_point(period: Period, as_of: datetime) -> tuple[Period, datetime]:
    """The previous period and the same point of it (for the change versus last period)."""
    before = period.previous()
    return before, same_point(period, as_of, before)


def quantile(values: Sequence[float], p: float) -> float:
    """The p-quantile with linear interpolation between ranks (DuckDB's quantile_cont)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("quantile of no values")
    position = (len(ordered) - 1) * p
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass(frozen=True)
class Cell:
    """Deals open at one moment in one stage and age bucket: how many, how many were won before their
    period ended (past moments only), and their amounts."""

    stage: str
    bucket: str
    deals: int
    won: int
    amount: float
    amount_sq: float
    undeclared: int


@dataclass(frozen=True)
class Snapshot:
    """One moment the estimate is made at: this period's as-of (k = 0) or the same point of the k-th
    period before it."""

    k: int
    period: Period
    moment: datetime
    days_left: float
    cells: tuple[Cell, ...] = ()
    won_to_date: float | None = None  # won in the period by the moment
    won_final: float | None = None    # won in the period by as-of (past periods: what landed)
    created_recent: int = 0           # deals created in the RUN_RATE_DAYS up to the moment
    cohort_deals: int = 0             # deals created in the cycle window (before the days left)
    money_days: float = 0.0           # Σ over its deals won by the moment: amount × max(days left − cycle, 0)
    money_sq_days: float = 0.0        # the same with amount²


@dataclass
class StageRate:
    """A stage-to-win rate measured on past periods: of `deals` open at the same point, `won` were won
    before their period ended."""

    stage: str
    bucket: str
    deals: int
    won: int

    @property
    def rate(self) -> float | None:
        return self.won / self.deals if self.deals else None


@dataclass
class Estimate:
    """The landing estimate made at one moment, and its parts; None where a part cannot be computed."""

    won_to_date: float | None = None
    open_weighted: float | None = None
    new_revenue: float | None = None
    variance: float = 0.0
    reason: str | None = None  # why it cannot be computed

    @property
    def landing(self) -> float | None:
        if self.won_to_date is None or self.open_weighted is None or self.new_revenue is None:
            return None
        return self.won_to_date + self.open_weighted + self.new_revenue


@dataclass
class BacktestRow:
    period: str
    moment: datetime
    estimate: float
    actual: float | None
    error: float | None  # (estimate − actual) ÷ actual; None when nothing was won


@dataclass
class Forecast(Figures):
    landing: float | None = None
    low: float | None = None
    high: float | None = None
    won_to_date: float | None = None
    open_weighted: float | None = None
    new_revenue: float | None = None
    open_deals: int | None = None
    day: int | None = None           # the day of the period as-of falls on (1 = its first day)
    days: int | None = None
    range_method: str | None = None  # 'back-test' or 'normal approximation'
    history_periods: int = 0         # past periods whose same point measured the stage-to-win rates
    rates: list[StageRate] = field(default_factory=list)
    backtest: list[BacktestRow] = field(default_factory=list)


def _bucket_sql(params: dict) -> str:
    """The age bucket of `age_days` (our constants, bound as parameters)."""
    params["no_age"] = NO_AGE
    parts = []
    for i, (lower, words) in reversed(list(enumerate(AGE_BUCKETS))):
        params[f"age{i}"], params[f"age{i}_words"] = float(lower), words
        parts.append(f"WHEN age_days >= $age{i} THEN $age{i}_words")
    return f"CASE WHEN age_days IS NULL THEN $no_age {' '.join(parts)} ELSE $age0_words END"


def _bind_moments(params: dict, snaps: Sequence[Snapshot]) -> None:
    """Every moment's bounds as parameters ($s<k>_snap, …): the run-rate window (rate_lo, snap] and the cycle
    window (cohort_lo, cohort_hi]."""
    for s in snaps:
        cohort_hi = s.moment - timedelta(days=s.days_left)
        params.update({f"s{s.k}_snap": s.moment, f"s{s.k}_start": s.period.start, f"s{s.k}_end": s.period.end,
                       f"s{s.k}_left": s.days_left, f"s{s.k}_rate_lo": s.moment - timedelta(days=RUN_RATE_DAYS),
                       f"s{s.k}_cohort_lo": cohort_hi - timedelta(days=CYCLE_WINDOW_DAYS),
                       f"s{s.k}_cohort_hi": cohort_hi})


def _per_moment(snaps: Sequence[Snapshot], branch: str) -> str:
    """`branch` (a SELECT over counted_deals d with {k} for the moment) once per moment, UNION ALL: for the
    open deals, a scan with constant bounds per moment is faster than joining the moments to the deals on a
    condition that is no range (a nested loop: 24 → 9 ms at a million leads; 0.42 → 0.19 s at ten million).
    The totals too under DuckDB 1.5.5: their range joins sorted every deal for each of three windows (0.22 s at
    ten million leads), where nine scans with constant bounds skip the row groups outside them (0.08 s)."""
    return "\n        UNION ALL ".join(branch.replace("{k}", str(s.k)) for s in snaps)


def _cells_sql(params: dict, snaps: Sequence[Snapshot]) -> str:
    """Per moment, stage then and age bucket: the deals open then (DEAL_ASOF's rule at that moment: created
    by it and not closed by it), how many were won after it and before their period's end (by as-of), their
    amounts."""
    _bind_moments(params, snaps)
    params["no_stage"] = NO_STAGE
    open_at = _per_moment(snaps, """
        SELECT {k} AS k, CAST($s{k}_snap AS TIMESTAMP) AS snap, CAST($s{k}_end AS TIMESTAMP) AS pend, d.deal_key,
               coalesce(d.amount, 0) AS amount, d.stage, d.closed_at,
               CASE WHEN d.created_known THEN d.created_at END AS created_at
        FROM counted_deals d
        WHERE d.created_at <= $s{k}_snap AND d.created_at <= $as_of
          AND NOT (d.stage IN ('closed_won', 'closed_lost') AND coalesce(d.closed_at <= $s{k}_snap, FALSE))""")
    return f"""
    WITH open_at AS ({open_at}),
    stage_at AS (
        SELECT o.k, o.deal_key, arg_max(h.stage, h.entered_at) AS stage, max(h.entered_at) AS entered_at
        FROM open_at o JOIN deal_stage_history h ON h.deal_key = o.deal_key AND h.entered_at <= o.snap
        GROUP BY o.k, o.deal_key
    ),
    aged AS (
        SELECT o.*, coalesce(a.stage, $no_stage) AS stage_then,
               epoch(o.snap - coalesce(a.entered_at, o.created_at)) / 86400.0 AS age_days
        FROM open_at o LEFT JOIN stage_at a ON a.k = o.k AND a.deal_key = o.deal_key
    )
    SELECT k, stage_then, {_bucket_sql(params)} AS bucket, count(*),
           count(*) FILTER (stage = 'closed_won' AND closed_at > snap AND closed_at < pend AND closed_at <= $as_of),
           coalesce(sum(amount), 0), coalesce(sum(amount * amount), 0), count(*) FILTER (amount = 0)
    FROM aged GROUP BY ALL ORDER BY ALL"""


def _totals_sql(params: dict, snaps: Sequence[Snapshot]) -> str:
    """Per moment: won revenue of its period to that moment and by as-of (with the deals lacking an amount,
    for declared_total), deals created in the run-rate window, and the cycle window's deals with Σ amount ×
    max(days left − sales cycle, 0) over those won by the moment (and with amount²). A moment with no deal in
    a window has no row there (GROUP BY the moment), as a join of the moments to the deals would have."""
    _bind_moments(params, snaps)
    cycle = "epoch(d.closed_at - d.created_at) / 86400.0"
    won_then = "d.stage = 'closed_won' AND d.closed_at <= $s{k}_snap"
    won = _per_moment(snaps, """
        SELECT {k} AS k,
               count(*) FILTER (d.closed_at <= $s{k}_snap) AS to_date_deals,
               coalesce(sum(d.amount) FILTER (d.closed_at <= $s{k}_snap), 0) AS to_date,
               count(*) FILTER (d.closed_at <= $s{k}_snap AND coalesce(d.amount, 0) = 0) AS to_date_undeclared,
               count(*) AS final_deals, coalesce(sum(d.amount), 0) AS final,
               count(*) FILTER (coalesce(d.amount, 0) = 0) AS final_undeclared
        FROM counted_deals d
        WHERE d.stage = 'closed_won' AND d.closed_at >= $s{k}_start AND d.closed_at < $s{k}_end
          AND d.closed_at <= $as_of AND d.created_at <= $as_of
        GROUP BY 1""")
    created = _per_moment(snaps, """
        SELECT {k} AS k, count(*) AS deals
        FROM counted_deals d WHERE d.created_known AND d.created_at > $s{k}_rate_lo AND d.created_at <= $s{k}_snap
        GROUP BY 1""")
    cohort = _per_moment(snaps, f"""
        SELECT {{k}} AS k, count(*) AS deals,
               coalesce(sum(coalesce(d.amount, 0) * greatest($s{{k}}_left - {cycle}, 0)) FILTER ({won_then}), 0),
               coalesce(sum(coalesce(d.amount, 0) * coalesce(d.amount, 0) * greatest($s{{k}}_left - {cycle}, 0))
                        FILTER ({won_then}), 0)
        FROM counted_deals d
        WHERE d.created_known AND d.created_at > $s{{k}}_cohort_lo AND d.created_at <= $s{{k}}_cohort_hi
        GROUP BY 1""")
    moments = ", ".join(f"({s.k})" for s in snaps)
    return f"""
    WITH snaps(k) AS (VALUES {moments}), won AS ({won}), created AS ({created}), cohort AS ({cohort})
    SELECT s.k, won.to_date_deals, won.to_date, won.to_date_undeclared, won.final_deals, won.final,
           won.final_undeclared, created.deals, cohort.* EXCLUDE (k)
    FROM snaps s LEFT JOIN won USING (k) LEFT JOIN created USING (k) LEFT JOIN cohort USING (k)
    ORDER BY s.k"""


def _declared(deals: int | None, total: float | None, undeclared: int | None) -> float | None:
    if not deals:
        return 0.0
    return declared_total(int(deals), float(total or 0), int(undeclared or 0))


def measure_snapshots(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime,
                      history: int = FORECAST_HISTORY) -> list[Snapshot]:
    """This period's as-of (k = 0) and the same point of each of the `history` periods before it, with
    everything the estimate needs, from two queries."""
    offset = min(as_of, period.end) - period.start
    bare = []
    for k in range(history + 1):
        p = period.shifted(-k)
        moment = as_of if k == 0 else min(p.start + offset, p.end)
        bare.append(Snapshot(k, p, moment, max((p.end - moment).total_seconds(), 0) / 86400))
    params: dict = {"as_of": as_of}
    cells: dict[int, list[Cell]] = {s.k: [] for s in bare}
    for k, stage, bucket, deals, won, amount, amount_sq, undeclared in run(
            con, _cells_sql(params, bare), params).fetchall():
        cells[k].append(Cell(stage, bucket, int(deals), int(won), float(amount), float(amount_sq), int(undeclared)))
    params = {"as_of": as_of}
    out = []
    for s, row in zip(bare, run(con, _totals_sql(params, bare), params).fetchall()):
        (_, td_deals, td, td_und, fin_deals, fin, fin_und, created, cohort, money, money_sq) = row
        out.append(Snapshot(
            s.k, s.period, s.moment, s.days_left, tuple(cells[s.k]),
            won_to_date=_declared(td_deals, td, td_und), won_final=_declared(fin_deals, fin, fin_und),
            created_recent=int(created or 0), cohort_deals=int(cohort or 0),
            money_days=float(money or 0), money_sq_days=float(money_sq or 0)))
    return out


def pooled_rates(snaps: Iterable[Snapshot]) -> dict[tuple[str, str], StageRate]:
    """Stage-to-win rates pooled over past moments, per (stage, bucket), per (stage, '') and overall ('', '')."""
    pool: dict[tuple[str, str], StageRate] = {}
    for s in snaps:
        for c in s.cells:
            for key in ((c.stage, c.bucket), (c.stage, ""), ("", "")):
                r = pool.setdefault(key, StageRate(*key, 0, 0))
                r.deals += c.deals
                r.won += c.won
    return pool


def rate_for(pool: dict[tuple[str, str], StageRate], stage: str, bucket: str) -> float | None:
    """The cell's rate; without history for it, its stage's over every age; then every open deal's."""
    for key in ((stage, bucket), (stage, ""), ("", "")):
        found = pool.get(key)
        if found is not None and found.deals:
            return found.rate
    return None


def estimate(snap: Snapshot, history: Sequence[Snapshot], kind: str) -> Estimate:
    """The landing estimate at `snap`, with stage-to-win rates measured on `history` (earlier moments)."""
    out = Estimate(won_to_date=snap.won_to_date)
    if snap.won_to_date is None:
        out.reason = "every deal won in the period so far has no amount"
        return out
    pool = pooled_rates(history)
    weighted = variance = 0.0
    for c in snap.cells:
        rate = rate_for(pool, c.stage, c.bucket)
        if rate is None:
            out.reason = (f"no earlier {kind} had deals open at the same point to measure stage-to-win rates on")
            return out
        weighted += c.amount * rate
        variance += c.amount_sq * rate * (1 - rate)
    out.open_weighted = weighted
    if snap.days_left <= 0:
        out.new_revenue = 0.0
    elif not snap.cohort_deals:
        out.reason = (f"no deal was created in the {CYCLE_WINDOW_DAYS} days before the last "
                      f"{snap.days_left:.0f} days of the {kind} to measure how soon new deals are won")
        return out
    else:
        per_day = snap.created_recent / RUN_RATE_DAYS
        out.new_revenue = per_day * snap.money_days / snap.cohort_deals
        variance += per_day * snap.money_sq_days / snap.cohort_deals
    out.variance = variance
    return out


def backtest_rows(snaps: Sequence[Snapshot], kind: str) -> list[BacktestRow]:
    """The estimate at the same point of each past period, its rates measured on the periods before it
    only, against what that period won by as-of. Periods it cannot be made for are left out, and so are
    periods with nothing won and nothing estimated (before the data begins: no test at all)."""
    rows = []
    for i, snap in enumerate(snaps):
        if snap.k == 0:
            continue
        made = estimate(snap, snaps[i + 1:], kind)
        if made.landing is None or (not made.landing and not snap.won_final):
            continue
        error = (made.landing - snap.won_final) / snap.won_final if snap.won_final else None
        rows.append(BacktestRow(snap.period.label, snap.moment, made.landing, snap.won_final, error))
    return rows


def landing_range(landing: float, won_to_date: float, rows: Sequence[BacktestRow],
                  variance: float) -> tuple[float, float, str]:
    """(low, high, method): the 10th–90th percentile of actual ÷ estimate over the back-tested periods, times
    the landing, with at least MIN_BACKTEST of them; else landing ∓ Z_90 × √variance. Never below won."""
    ratios = [r.actual / r.estimate for r in rows if r.actual is not None and r.estimate > 0]
    if len(ratios) >= MIN_BACKTEST:
        low, high, method = landing * quantile(ratios, 0.1), landing * quantile(ratios, 0.9), "back-test"
    else:
        spread = Z_90 * math.sqrt(variance)
        low, high, method = landing - spread, landing + spread, "normal approximation"
    low = max(low, won_to_date)
    return low, max(high, low), method


BACKTEST_COLUMNS = ("period", "moment", "forecast_estimate", "forecast_actual", "forecast_error")


def backtest_frame(result: Forecast) -> pd.DataFrame:
    """The back-test as a table (BACKTEST_COLUMNS), newest period first; undefined errors are NaN."""
    frame = pd.DataFrame([(r.period, r.moment, r.estimate, r.actual, r.error) for r in result.backtest],
                         columns=list(BACKTEST_COLUMNS))
    return frame.astype({"forecast_estimate": "float64", "forecast_actual": "float64", "forecast_error": "float64"})


def _count(n: int, noun: str) -> str:
    return f"{'No' if n == 0 else 'Only ' + str(n)} {noun}{'' if n == 1 else 's'}"


def _kind(period: Period) -> str:
    return "quarter" if period.is_quarter else "month"


@reads('records')
def forecast(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime,
             won_figures: Won | None = None) -> Forecast:
    """Where the period's won revenue is expected to land, with its range and back-test (module docstring).
    `won_figures` as goal_status's."""
    result = Forecast(days=period.days)
    kind = _kind(period)
    present = tables_with_rows(con)
    if "deals" not in present:
        result.notes.append(present.missing("deals").replace("revenue, pipeline", "the landing estimate, revenue, "
                                                             "pipeline"))
        return result
    if as_of < period.start:
        result.notes.append(f"{period.label} has not started by as-of, so there is no landing estimate yet.")
        return result
    won, _, won_notes, _ = won_figures if won_figures is not None else won_revenue(con, period, as_of)
    result.notes.extend(won_notes)
    result.won_to_date = won
    if as_of >= period.end:
        result.day = period.days
        result.landing = result.low = result.high = won
        result.open_weighted = result.new_revenue = 0.0 if won is not None else None
        if won is None:
            result.notes.append(f"Cannot compute the landing estimate because {period.label}'s won deals have no amount.")
        else:
            result.notes.append(f"{period.label} has ended by as-of: its landing is the revenue it won.")
        return result
    result.day = int((as_of - period.start).total_seconds() // 86400) + 1
    snaps = measure_snapshots(con, period, as_of)
    now, past = snaps[0], snaps[1:]
    result.open_deals = sum(c.deals for c in now.cells)
    result.history_periods = sum(1 for s in past if s.cells)
    pool = pooled_rates(past)
    result.rates = sorted((r for (stage, bucket), r in pool.items() if stage and bucket),
                          key=lambda r: (r.stage, r.bucket))
    if not result.open_deals and not any(s.cells for s in past):
        result.notes.append(f"No deal is open as of {as_of:%Y-%m-%d} or at the same point of an earlier {kind}: the "
                            "export seems to hold closed deals only, so the landing estimate cannot be computed.")
        return result
    if not result.open_deals:
        result.notes.append(f"No deal is open as of {as_of:%Y-%m-%d}: the export seems to hold closed deals only, "
                            "so the landing estimate cannot weigh the open pipeline and is not computed.")
        return result
    undeclared = sum(c.undeclared for c in now.cells)
    if undeclared:
        result.notes.append(f"{undeclared:,} of {result.open_deals:,} open deals have no amount; the landing "
                            "estimate counts the others only.")
    result.notes.extend(present.undated_notes("deals"))
    made = estimate(now, past, kind)
    result.open_weighted, result.new_revenue = made.open_weighted, made.new_revenue
    if made.landing is None:
        result.notes.append(f"Cannot compute the landing estimate because {made.reason}.")
        return result
    result.landing = made.landing
    result.backtest = backtest_rows(snaps, kind)
    result.low, result.high, result.range_method = landing_range(made.landing, now.won_to_date or 0.0,
                                                                 result.backtest, made.variance)
    if result.range_method != "back-test":
        result.notes.append(
            f"{_count(len(result.backtest), f'earlier {kind}')} could be back-tested (at least {MIN_BACKTEST} are "
            "needed), so the range is the 10th–90th percentile of a normal approximation: each open deal wins "
            "with its stage's rate and new deals arrive at the recent rate.")
    return result
