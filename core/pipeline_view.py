"""What each section of the Pipeline gaps and Attribution pages shows, as plain functions of core results:
metric cards (measure, value, context), the pickers' choices and the records behind a picked row. The pages
only read widgets, call these and draw."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import duckdb
import pandas as pd

from core.db import reads
from core.metrics.attribution import MEASURE_COLUMNS, Attribution
from core.metrics.funnel import Funnel
from core.metrics.gaps import GAP_RECORD_KINDS, FunnelComparison, StageGaps, lead_records
from core.metrics.pipeline import DEAL_KINDS, MOVEMENTS, Movement, Pipeline, Records, deal_records
from core.periods import Period
from core.semantic.enums import OTHER_VALUES
from core.semantic.measures import fmt, show

ALL_VALUES = "(all)"  # the records picker's choice for every value of the dimension


class Card(NamedTuple):
    """One metric card: the measure it shows (label, format and tooltip come from it), its value, and
    context under it (never coloured as good or bad)."""

    measure: str
    value: object
    delta: str | None = None


# --- Funnel tab --------------------------------------------------------------------------------------

BESIDE_FUNNEL = ("sales_sourced_deals", "unqualified_opportunities", "unqualified_won")


def beside_funnel_cards(cohort: Funnel, comparison: FunnelComparison) -> list[Card]:
    """The deals the funnel does not count, with the previous period's figure as context."""
    previous = dict(zip(comparison.frame["key"], comparison.frame["previous"])) if not comparison.frame.empty else {}
    return [Card(name, getattr(cohort, name), f"{comparison.previous_label}: {show(name, previous.get(name))}")
            for name in BESIDE_FUNNEL]


def value_choices(frame: pd.DataFrame) -> list[str]:
    """The records picker's values: every value of a breakdown (its `segment` column), after ALL_VALUES."""
    return [ALL_VALUES, *frame["segment"]] if "segment" in frame else [ALL_VALUES]


def narrowed(segment: str, value: str) -> tuple[str | None, str | None]:
    """The (dimension, value) to list records of; (None, None) for every value."""
    return (None, None) if value == ALL_VALUES else (segment, value)


# --- Gap-to-goal tab ---------------------------------------------------------------------------------

class GapChoice(NamedTuple):
    label: str
    stage: str
    segment_value: str | None


def gap_choices(gaps: StageGaps) -> list[GapChoice]:
    """One choice per gap row, biggest first: '<value> · <stage>' when split by a dimension."""
    return [GapChoice((f"{r['segment']} · " if gaps.segment else "") + r["label"], r["stage"],
                      r["segment"] if gaps.segment else None) for r in gaps.frame.to_dict("records")]


@reads('records', 'quality_definition')
def gap_records(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    split: str | None,
    stage: str,
    value: str | None,
    stall_days: int = 30,
) -> Records:
    """The records behind one gap row: the cohort's leads for a lead stage, the deals created or won for a
    deal stage (core.metrics.gaps.GAP_RECORD_KINDS), of one value when the gaps are split."""
    if split and value == OTHER_VALUES:
        return Records(frame=pd.DataFrame(), total=0, limit=0,
                       note="This row sums the smaller segment values; pick one of the listed values to see records.")
    grain, kind = GAP_RECORD_KINDS[stage]
    if grain == "lead":
        return lead_records(con, period, as_of, kind, split, value)
    return deal_records(con, period, as_of, kind, split, value, stall_days)


# --- Pipeline-health tab -----------------------------------------------------------------------------

def health_cards(p: Pipeline) -> list[Card]:
    """Two rows of three: the pipeline against the goal, then win rate, velocity and stalls."""
    return [
        Card("open_amount", p.open_amount, p.undated_note),
        Card("coverage", p.coverage, f"needs {show('coverage_needed', p.coverage_needed)}"),
        Card("coverage_needed", p.coverage_needed),
        Card("win_rate", p.win_rate),
        Card("velocity", p.velocity_per_day),
        Card("stalled_deals", p.stalled_deals,
             f"+{p.snoozed_deals:,} snoozed, known reason" if p.snoozed_deals else None),
    ]


def movement_cards(m: Movement) -> list[Card]:
    """Deals per movement of the period, their amount as context."""
    cards = []
    for kind in MOVEMENTS:
        amount = getattr(m, f"{kind}_amount")
        cards.append(Card(DEAL_KINDS[kind][0], getattr(m, f"{kind}_deals"),
                          None if amount is None else fmt(amount, "money")))
    return cards


def stalled_caption(records: Records, threshold: str) -> str:
    """`threshold`: core.stall_rules.threshold_words ("more than 30 days")."""
    return records.caption(f"deal(s) open in one stage for {threshold}, longest first",
                           empty=f"No open deal has been in one stage for {threshold}, or every one that has is "
                                 "snoozed for a known reason.")


def snoozed_caption(records: Records) -> str:
    return records.caption("deal(s) over their stage's threshold, out of the stalled count for a known reason "
                           "until the date shown (still open, not lost)",
                           empty="No stalled deal is snoozed.")


# --- Attribution -------------------------------------------------------------------------------------

ATTRIBUTION_CARDS = ("attr_leads", "attr_quality_leads", "attr_opportunities", "attr_won_revenue", "attr_cost",
                     "attr_return")


def attribution_cards(result: Attribution, model: str) -> list[Card]:
    """The period's totals under one model (Attribution.totals)."""
    totals = result.totals(model)
    caveats = {"attr_won_revenue": result.won_caveat}
    return [Card(name, totals[MEASURE_COLUMNS[name]], caveats.get(name)) for name in ATTRIBUTION_CARDS]


def attribution_choices(table: pd.DataFrame) -> dict[str, str]:
    """Row key → shown name, for the picker of the deals behind a row (Attribution.table's order)."""
    return dict(zip(table["key"], table["name"]))
