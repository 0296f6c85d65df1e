"""Back-test of a draft quality-lead definition: what if it had been in force, beside the version in force.

One DuckDB aggregate query computes both definitions' verdicts for every lead of the chosen range side by
side and returns only aggregates (a total row and one row per month), so the preview stays interactive
while criteria change, whatever the number of leads.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- "The version in force" is the version in force at as-of, applied to every lead of the range, like the
  draft: the comparison is definition against definition over the same leads ("what if each had been in
  force throughout"), not against the mix of versions the leads were actually counted under.
- The range is over `created_at` (start inclusive, end exclusive, nothing after as-of). Outcomes are
  followed up to as-of, whenever they happened: an opportunity is a deal on the lead created by as-of, a
  win a deal on the lead closed won by as-of. Recent leads have had less time to convert.
- Opportunity and win *rates* are per lead (a lead with two deals is one opportunity), as in the funnel;
  won deals and won revenue count every won deal of those leads.
- "Won deals the draft would have missed" = won deals on leads the version in force qualifies and the
  draft excludes (revenue the draft would have called junk); "caught" is the reverse.
- A draft that qualifies no lead, or every lead, of the range is allowed but warned about.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import pandas as pd

from core import edits
from core.db import reads
from core.models import QualityDefinition
from core.quality import definition_sql, schedule_sql
from core.semantic.blocks import (
    DEAL_ASOF,
    Figures,
    lead_deals,
    one_row,
    ratio,
    run,
    tables_with_rows,
)

# The four groups of leads compared: (name, SQL condition over the two verdicts). Fixed, never input.
GROUPS: tuple[tuple[str, str], ...] = (
    ("in_force", "q_cur"),
    ("in_force_excluded", "NOT q_cur"),
    ("draft", "q_draft"),
    ("draft_excluded", "NOT q_draft"),
)
_SWITCHES: tuple[tuple[str, str], ...] = (("missed", "q_cur AND NOT q_draft"), ("caught", "q_draft AND NOT q_cur"))


@dataclass(frozen=True)
class Side:
    """One group of the range's leads and how they went on (None: no deals loaded)."""

    leads: int
    share: float | None = None  # of all leads of the range
    opportunities: int | None = None  # leads with a deal
    opportunity_rate: float | None = None
    won_leads: int | None = None  # leads with a deal closed won
    won_rate: float | None = None
    won_deals: int | None = None
    won_revenue: float | None = None


@dataclass
class Backtest(Figures):
    start: datetime | None = None
    end: datetime | None = None
    as_of: datetime | None = None
    in_force_version: int | None = None
    leads: int | None = None  # all leads created in the range by as-of
    in_force: Side | None = None  # leads the version in force qualifies
    in_force_excluded: Side | None = None
    draft: Side | None = None  # leads the draft qualifies
    draft_excluded: Side | None = None
    newly_qualified: int | None = None  # draft yes, in force no
    newly_excluded: int | None = None  # in force yes, draft no
    missed_won_deals: int | None = None  # won deals on leads the draft newly excludes
    missed_won_revenue: float | None = None
    caught_won_deals: int | None = None  # won deals on leads the draft newly qualifies
    caught_won_revenue: float | None = None
    monthly: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["month", "leads", "in_force", "draft"]))
    warnings: list[str] = field(default_factory=list)

    @property
    def in_force_name(self) -> str:
        """What the compared version is called on screen."""
        return f"version {self.in_force_version}" if self.in_force_version else "the version in force"


def _aggregates() -> str:
    """Over `cells` (one row per month and combination of verdicts and outcomes, `n` leads each)."""
    leads = "CAST(coalesce(sum(n){}, 0) AS BIGINT)"
    cols = [f"{leads.format('')} AS leads"]
    for name, cond in GROUPS:
        cols += [
            f"{leads.format(f' FILTER ({cond})')} AS {name}_leads",
            f"{leads.format(f' FILTER ({cond} AND has_opp)')} AS {name}_opps",
            f"{leads.format(f' FILTER ({cond} AND has_won)')} AS {name}_won_leads",
            f"CAST(coalesce(sum(won_deals) FILTER ({cond}), 0) AS BIGINT) AS {name}_won_deals",
            f"coalesce(sum(won_revenue) FILTER ({cond}), 0) AS {name}_won_revenue",
        ]
    for name, cond in _SWITCHES:
        cols += [
            f"{leads.format(f' FILTER ({cond})')} AS {name}_leads",
            f"CAST(coalesce(sum(won_deals) FILTER ({cond}), 0) AS BIGINT) AS {name}_won_deals",
            f"coalesce(sum(won_revenue) FILTER ({cond}), 0) AS {name}_won_revenue",
        ]
    return ",\n           ".join(cols)


# The leads a back-test judges (by creation), over counted_leads l.
_RANGE = "l.created_at >= $start AND l.created_at < $end"


def backtest_sql(draft: QualityDefinition, in_force: QualityDefinition, params: dict) -> str:
    """The one aggregate query: both verdicts per lead of [$start, $end) by $as_of, joined to its deals,
    grouped into a total row (month NULL) and one row per month of creation."""
    current = definition_sql(in_force, "cur", params, alias="l")
    proposed = definition_sql(draft, "draft", params, alias="l")
    return f"""
    WITH {DEAL_ASOF},
    scored AS (
        SELECT l.lead_id, l.lead_key, date_trunc('month', l.created_at) AS month,
               coalesce({current}, false) AS q_cur, coalesce({proposed}, false) AS q_draft
        FROM counted_leads l
        WHERE {_RANGE} AND l.created_at <= $as_of AND l.created_known
    ),
    {lead_deals(_RANGE)},
    judged AS (
        SELECT s.month, s.q_cur, s.q_draft, d.lead_key IS NOT NULL AS has_opp,
               coalesce(d.won_deals, 0) AS won_deals, coalesce(d.won_revenue, 0) AS won_revenue
        FROM scored s LEFT JOIN lead_deals d ON d.lead_key = s.lead_key
    ),
    -- a few dozen cells (month x verdicts x outcome) before the many filtered sums: the sums then run over
    -- cells, not over every lead of the year (76 ms -> 45 ms at 1M leads)
    cells AS (
        SELECT month, q_cur, q_draft, has_opp, won_deals > 0 AS has_won, count(*) AS n,
               sum(won_deals) AS won_deals, sum(won_revenue) AS won_revenue
        FROM judged GROUP BY ALL
    )
    SELECT grouping(month) = 1 AS is_total, month,
           {_aggregates()}
    FROM cells
    GROUP BY GROUPING SETS ((month), ())
    ORDER BY is_total, month
    """


@reads('records', 'quality_definition')
def backtest(
    con: duckdb.DuckDBPyConnection,
    draft: QualityDefinition,
    start: datetime,
    end: datetime,
    as_of: datetime,
    in_force: QualityDefinition | None = None,
) -> Backtest:
    """The draft against the version in force at as-of (or `in_force` when given), over leads created in
    [start, end) by as-of."""
    result = Backtest(start=start, end=end, as_of=as_of)
    if in_force is None:
        schedule = edits.in_force_schedule(con, "quality_definition")
        version = edits.in_force_at(schedule, as_of)
        if version is None:
            result.notes.append("No quality-lead definition is saved yet, so there is nothing to compare with.")
            return result
        in_force, result.in_force_version = version.body, version.version
    present = tables_with_rows(con)
    if "leads" not in present:
        result.notes.append(present.missing("leads"))
        return result
    result.notes.extend(present.undated_notes("leads"))
    has_deals = "deals" in present
    if not has_deals:
        result.notes.append(
            "No deals are loaded, so conversion to opportunities and won revenue cannot be back-tested; "
            "lead counts still can."
        )
    if end <= start:
        result.notes.append("The range is empty: its end must come after its start.")
        return result
    params: dict = {"start": start, "end": end, "as_of": as_of}
    frame = run(con, backtest_sql(draft, in_force, params), params).df()
    total = frame[frame["is_total"]]
    row = total.iloc[0] if len(total) else None
    result.leads = int(row["leads"]) if row is not None else 0

    def side(name: str) -> Side:
        if row is None:
            return Side(0)
        n = int(row[f"{name}_leads"])
        if not has_deals:
            return Side(n, ratio(n, result.leads))
        opps, won_leads = int(row[f"{name}_opps"]), int(row[f"{name}_won_leads"])
        return Side(n, ratio(n, result.leads), opps, ratio(opps, n), won_leads, ratio(won_leads, n),
                    int(row[f"{name}_won_deals"]), float(row[f"{name}_won_revenue"]))

    sides = {name: side(name) for name, _ in GROUPS}
    for name, value in sides.items():
        setattr(result, name, value)
    draft_side = sides["draft"]
    if row is not None:
        result.newly_excluded, result.newly_qualified = int(row["missed_leads"]), int(row["caught_leads"])
        if has_deals:
            result.missed_won_deals, result.missed_won_revenue = int(row["missed_won_deals"]), float(row["missed_won_revenue"])
            result.caught_won_deals, result.caught_won_revenue = int(row["caught_won_deals"]), float(row["caught_won_revenue"])
    else:
        result.newly_excluded = result.newly_qualified = 0
        if has_deals:
            result.missed_won_deals = result.caught_won_deals = 0
            result.missed_won_revenue = result.caught_won_revenue = 0.0
    result.monthly = _monthly(frame[~frame["is_total"]], start, min(end - timedelta(microseconds=1), as_of))
    if result.leads == 0:
        result.notes.append("No lead was created in this range, so the back-test has nothing to count.")
    elif draft_side.leads == 0:
        result.warnings.append(
            "The draft qualifies none of the leads created in this range: every quality figure would be zero."
        )
    elif draft_side.leads == result.leads:
        result.warnings.append(
            "The draft qualifies every lead created in this range: it would not tell good leads from the rest."
        )
    return result


def _monthly(rows: pd.DataFrame, start: datetime, last: datetime) -> pd.DataFrame:
    """Quality-lead volume per month of creation under both definitions, months without leads as zero."""
    months = pd.date_range(pd.Timestamp(start).to_period("M").to_timestamp(),
                           pd.Timestamp(max(last, start)).to_period("M").to_timestamp(), freq="MS")
    counts = rows.set_index(pd.to_datetime(rows["month"]))[["leads", "in_force_leads", "draft_leads"]]
    out = counts.reindex(months, fill_value=0).astype("int64").rename_axis("month").reset_index()
    return out.rename(columns={"in_force_leads": "in_force", "draft_leads": "draft"})


@dataclass(frozen=True)
class Rejudged:
    """Leads created between a back-dated effective date and as-of whose verdict a save would change."""

    leads: int  # created in [effective_from, as_of]
    gained: int  # not quality now, quality under the draft
    lost: int  # quality now, not under the draft


@reads('records', 'quality_definition')
def rejudged(
    con: duckdb.DuckDBPyConnection, draft: QualityDefinition, effective_from: datetime, as_of: datetime
) -> Rejudged:
    """What saving `draft` from `effective_from` would change for leads already created by as-of.

    "Now" is each lead's verdict under the versions saved so far (as every figure counts it); leads
    created before `effective_from` are untouched by the save."""
    schedule = edits.in_force_schedule(con, "quality_definition")
    if not schedule or effective_from > as_of:
        return Rejudged(0, 0, 0)
    params: dict = {"from": effective_from, "as_of": as_of}
    now_sql = schedule_sql([(v.effective_from, v.body) for v in schedule], params, prefix="cur")
    draft_sql = definition_sql(draft, "draft", params)
    leads, gained, lost = one_row(run(
        con,
        f"""SELECT count(*),
                   count(*) FILTER (q_draft AND NOT q_now),
                   count(*) FILTER (q_now AND NOT q_draft)
            FROM (SELECT coalesce({now_sql}, false) AS q_now, coalesce({draft_sql}, false) AS q_draft
                  FROM counted_leads l WHERE l.created_at >= $from AND l.created_at <= $as_of AND l.created_known)""",
        params,
    ))
    return Rejudged(leads, gained, lost)
