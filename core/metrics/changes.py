"""What changed between two dates (issue 14, item 4): the deals created, advanced, moved back, won, lost and
slipped between `since` and `until`, with amounts; the largest movements in funnel conversion by segment;
and both written as plain sentences generated from the figures.

Choices (also in docs/metrics-notes.md, "What changed"):
- The window is [since, until) and every state is read as of `until`: the movement figures are
  core.metrics.pipeline.pipeline_movement over the window, so "advanced", "won" or "slipped" here means what
  it means on the Pipeline page for a period.
- Moved back = entered, in the window, an open stage earlier than the stage of its previous history row
  (a reopened deal — closed, then open again — counts as moved back).
- Conversion movements compare the cohort funnel of the window (as of `until`) with that of the window of
  the same length just before it, read as of its own end (`since`): each cohort is judged after the same
  time, so the earlier one does not look better only because its leads had longer to convert. A stage is
  compared only where both cohorts have at least MIN_BASE leads at the earlier stage; the largest
  absolute changes come first.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING

import duckdb

from core.db import reads
from core.errors import AccordError
from core.metrics.funnel import CONVERSION_MEASURES, conversions, funnels_by
from core.metrics.pipeline import ADVANCED_CTE, DEAL_KINDS, MOVEMENTS, Movement, pipeline_movement
from core.periods import Period
from core.semantic.blocks import (
    CURRENT_STAGE,
    DEAL_ASOF,
    STAGE_NOW,
    STAGE_RANK,
    Figures,
    counted_sql,
    one_row,
    run,
    scope_params,
    tables_with_rows,
)
from core.semantic.dimensions import DIMENSIONS, dimension
from core.semantic.enums import DEAL_STAGE_LABELS, FUNNEL_STAGES, OPEN_STAGES
from core.semantic.measures import MEASURES, fmt, label

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use (core.lazy)
    from core.lazy import pandas as pd

MIN_BASE = 20  # leads at the earlier stage, in both cohorts, before a conversion change is worth a sentence
TOP_MOVES = 5
LIST_LIMIT = 500
CHANGE_SEGMENTS: tuple[str, ...] = ("source", "campaign", "industry", "region", "team")

_OPEN = ", ".join(f"'{s}'" for s in OPEN_STAGES)  # our own constants
# After ADVANCED_CTE (its `hist`): the deals that stepped back to an earlier open stage in the window.
REGRESSED_CTE = f"""regressed AS (
        SELECT DISTINCT deal_key FROM hist
        WHERE entered_at >= $start AND entered_at < $end
          AND stage IN ({_OPEN}) AND prev_stage IS NOT NULL
          AND {STAGE_RANK.format('stage')} < {STAGE_RANK.format('prev_stage')}
    )"""
# Each movement a deal can make in the window, in the order the sentences and the list name them.
KINDS: dict[str, str] = {
    "created": DEAL_KINDS["created"][1],
    "advanced": DEAL_KINDS["advanced"][1],
    "regressed": "r.deal_key IS NOT NULL",
    "won": DEAL_KINDS["won"][1],
    "lost": DEAL_KINDS["lost"][1],
    "slipped": DEAL_KINDS["slipped"][1],
}
LIST_WORDS: dict[str, str] = {"created": "created", "advanced": "advanced", "regressed": "moved back", "won": "won",
                               "lost": "lost", "slipped": "slipped"}
KIND_WORDS: dict[str, str] = {
    "created": "created", "advanced": "advanced a stage", "regressed": "moved back a stage",
    "won": "won", "lost": "lost", "slipped": "slipped past their expected close date",
}


@dataclass
class Changes(Figures):
    since: datetime | None = None
    until: datetime | None = None
    movement: Movement = field(default_factory=Movement)
    regressed_deals: int | None = None
    regressed_amount: float | None = None
    deals: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["deal_id", "account", "amount", "stage", "what_happened"]))
    deals_total: int = 0
    segment: str = "source"
    conversion_moves: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["segment", "stage", "step", "before", "after", "change", "base_before", "base_after"]))
    sentences: list[str] = field(default_factory=list)

    def count(self, kind: str) -> tuple[int | None, float | None]:
        if kind == "regressed":
            return self.regressed_deals, self.regressed_amount
        return getattr(self.movement, f"{kind}_deals"), getattr(self.movement, f"{kind}_amount")


def window(since: datetime, until: datetime) -> Period:
    if until <= since:
        raise ValueError("The end of the window must come after its start.")
    return Period(f"{since:%Y-%m-%d} to {until:%Y-%m-%d %H:%M}", since, until)


def window_of_days(first: date, last: date, as_of: datetime) -> tuple[datetime, datetime]:
    """[first day 00:00, the day after the last 00:00), cut at as-of: the page's two dates, the last included."""
    start = datetime.combine(first, time.min)
    end = min(datetime.combine(last + timedelta(days=1), time.min), as_of)
    if end <= start:
        raise AccordError("The end date comes before the start date: choose a window that runs forward.")
    return start, end


def _regressed(con: duckdb.DuckDBPyConnection, params: dict) -> tuple[int, float, int]:
    row = one_row(run(con, f"""WITH {DEAL_ASOF}, {ADVANCED_CTE}, {REGRESSED_CTE}
        SELECT count(*), coalesce(sum(d.amount), 0), count(*) FILTER (coalesce(d.amount, 0) = 0)
        FROM deal_asof d JOIN regressed r ON r.deal_key = d.deal_key""", params))
    return int(row[0]), float(row[1]), int(row[2])


def _deal_list(con: duckdb.DuckDBPyConnection, params: dict) -> tuple[pd.DataFrame, int]:
    """Every deal that moved in the window, the largest first (LIST_LIMIT of them), with what it did."""
    flags = ", ".join(f"({cond}) AS is_{kind}" for kind, cond in KINDS.items())
    words = ", ".join(f"CASE WHEN is_{kind} THEN '{LIST_WORDS[kind]}' END" for kind in KINDS)
    rows = f"""WITH {DEAL_ASOF}, {ADVANCED_CTE}, {REGRESSED_CTE}, {CURRENT_STAGE},
        flagged AS (
            SELECT d.deal_id, d.account, d.amount, {STAGE_NOW} AS stage, {flags}
            FROM deal_asof d LEFT JOIN current_stage s ON s.deal_key = d.deal_key
            LEFT JOIN advanced a ON a.deal_key = d.deal_key LEFT JOIN regressed r ON r.deal_key = d.deal_key
        ),
        moved AS (
            SELECT deal_id, account, amount, stage, concat_ws(', ', {words}) AS what_happened
            FROM flagged WHERE {" OR ".join(f"is_{kind}" for kind in KINDS)}
        )
        SELECT * FROM moved"""
    frame = run(con, counted_sql(rows, "amount DESC NULLS LAST, deal_id", f" LIMIT {LIST_LIMIT}"), params).df()
    total = int(frame["_total"].iloc[0]) if len(frame) else 0
    frame["stage"] = frame["stage"].map(DEAL_STAGE_LABELS).fillna(frame["stage"])
    frame["account"] = frame["account"].fillna("—")  # a deal without an account: a dash, never "None"
    return frame.drop(columns="_total"), total


def _conversion_moves(con: duckdb.DuckDBPyConnection, since: datetime, until: datetime,
                      segment: str) -> pd.DataFrame:
    """Per segment value and funnel stage: conversion before and after, largest absolute change first."""
    this = window(since, until)
    before = window(since - (until - since), since)
    after_frame = funnels_by(con, [this], until, segment)[0]
    before_frame = funnels_by(con, [before], since, segment)[0]
    merged = after_frame.merge(before_frame, on="segment", how="inner", suffixes=("_after", "_before"))
    rows = []
    for rec in merged.to_dict("records"):
        conv_after = conversions({s: rec[f"{s}_after"] for s in FUNNEL_STAGES})
        conv_before = conversions({s: rec[f"{s}_before"] for s in FUNNEL_STAGES})
        for earlier, later in pairwise(FUNNEL_STAGES):
            base_after, base_before = int(rec[f"{earlier}_after"]), int(rec[f"{earlier}_before"])
            if min(base_after, base_before) < MIN_BASE:
                continue
            a, b = conv_after[later], conv_before[later]
            if a is None or b is None:
                continue
            rows.append({"segment": rec["segment"], "stage": later, "step": step_words(later), "before": b, "after": a, "change": a - b,
                         "base_before": base_before, "base_after": base_after})
    frame = pd.DataFrame(rows, columns=["segment", "stage", "step", "before", "after", "change", "base_before", "base_after"])
    if frame.empty:
        return frame
    order = frame["change"].abs().sort_values(ascending=False, kind="stable").index
    return frame.loc[order].head(TOP_MOVES).reset_index(drop=True)


def step_words(stage: str) -> str:
    """The conversion into `stage` as a sentence says it ('quality → accepted'): its measure's own label, without
    the basis the card label carries."""
    return MEASURES[CONVERSION_MEASURES[stage]].label.split(" (")[0].lower()


def movement_sentence(ch: Changes) -> str:
    """One sentence over the deal movements, each with its amount; a movement that cannot be counted says so."""
    parts, unknown = [], []
    for kind in ("created", "advanced", "regressed", "won", "lost", "slipped"):
        deals, amount = ch.count(kind)
        if deals is None:
            unknown.append(KIND_WORDS[kind])
        else:
            money = f" ({fmt(amount, 'money')})" if deals and amount is not None else ""
            parts.append(f"{deals:,} {KIND_WORDS[kind]}{money}")
    span = f"From {ch.since:%d %b %Y} to {ch.until:%d %b %Y %H:%M}"
    if not parts:
        return f"{span}, no deal movement can be counted from this data (see the notes)."
    if not any(ch.count(k)[0] for k in KINDS):
        text = f"{span}, no deal was {_either(p.split(' ', 1)[1] for p in parts)}."
    else:
        text = f"{span}, deals: " + "; ".join(parts) + "."
    if unknown:
        text += f" Deals that {_either(unknown)} cannot be counted from this data (see the notes)."
    return text


def _either(words: Iterable[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    items = list(words)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def conversion_sentences(ch: Changes) -> list[str]:
    dim_label = DIMENSIONS[ch.segment].label.lower() if ch.segment in DIMENSIONS else ch.segment
    out = []
    for rec in ch.conversion_moves.to_dict("records"):
        bases = f"{rec['base_before']:,} then {rec['base_after']:,} {label(_earlier(rec['stage'])).lower()}"
        what = f"Conversion {step_words(rec['stage'])} for {dim_label} “{rec['segment']}”"
        if round(rec["change"] * 1000) == 0:  # the same at the precision shown
            out.append(f"{what} held at {fmt(rec['after'], 'percent')} ({bases}).")
            continue
        way = "rose" if rec["change"] > 0 else "fell"
        out.append(f"{what} {way} from {fmt(rec['before'], 'percent')} to {fmt(rec['after'], 'percent')} "
                   f"({_signed(rec['change'] * 100)} points; {bases}).")
    return out


def _signed(points: float) -> str:
    return f"{points:+.1f}".replace("-", "−")  # a minus sign, not a hyphen


def _earlier(stage: str) -> str:
    return FUNNEL_STAGES[FUNNEL_STAGES.index(stage) - 1]


@reads('records', 'quality_definition')
def changes(con: duckdb.DuckDBPyConnection, since: datetime, until: datetime, segment: str = "source") -> Changes:
    """What changed in [since, until), every state as of `until`."""
    dimension(segment, CHANGE_SEGMENTS)  # an allow-listed dimension, or ValueError
    span = window(since, until)
    result = Changes(since=since, until=until, segment=segment)
    result.movement = pipeline_movement(con, span, until)
    result.notes.extend(result.movement.notes)
    present = tables_with_rows(con)
    params = scope_params(span, until)
    if "deals" in present:
        if "deal_stage_history" in present and result.movement.advanced_deals is not None:
            deals, amount, undeclared = _regressed(con, params)
            result.regressed_deals = deals
            result.regressed_amount = None if deals and undeclared == deals else amount
        result.deals, result.deals_total = _deal_list(con, params)
    if "leads" in present:
        result.conversion_moves = _conversion_moves(con, since, until, segment)
    else:
        result.notes.append(present.missing("leads"))
    result.sentences = [movement_sentence(result), *conversion_sentences(result)]
    if "leads" in present and result.conversion_moves.empty:
        result.sentences.append(
            f"No funnel conversion can be compared by {DIMENSIONS[segment].label.lower()}: no value has "
            f"{MIN_BASE} or more leads at a stage in both this window and the one before it.")
    return result


__all__ = ["CHANGE_SEGMENTS", "Changes", "MOVEMENTS", "changes", "window"]
