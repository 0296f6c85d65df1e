"""The shared revenue goal, attainment, pacing and the reverse waterfall (cascade) of METRICS.md.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- Goals are set per quarter; a month's goal is the quarter's pro-rated by days.
- Trailing-year conversion rates use the cohort of leads created in (as_of − 365 days, as_of].
- Targets are kept fractional; pages round them up for display (you cannot win 0.3 of a deal).
- Actuals to date per stage: leads, quality leads and accepted come from the period's cohort funnel;
  the two deal stages are the measures "Deals created" and "Deals won" (deals created / closed won in the
  period, sales-sourced included) — the same deals the win rate, the deal size and won revenue are
  measured on, so the sales targets are judged on the population they were derived from. They are not
  the cohort funnel's opportunities and wins, and are never labelled like them.
- Target to date = target × elapsed share of the period; gap to date = target to date − actual (positive:
  behind pace); still needed = the full period's target − actual, never below 0.
- By segment (source, team, region), each stage's period target is split by the segment value's share of
  that stage in the trailing year (lead stages: the trailing-year cohort; deals created; deals won).
  Values are core.semantic.dimensions' at each stage's grain: lead stages read the lead's source and its
  owner's team/region, deal stages the deal's (its lead's source, 'sales-sourced' without one; the deal
  owner's team/region). A value with no trailing-year history gets a target of 0. At most MAX_SEGMENTS
  rows are listed; the rest are summed into one row, so the split still adds up.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import duckdb

from core import edits
from core.db import reads
from core.metrics.funnel import Funnel, funnel_by, funnel_stages, funnels
from core.metrics.pipeline import NO_LOST_DEALS, Won, trailing_year_deals, won_revenue
from core.models import GoalBody
from core.periods import Period
from core.semantic.blocks import (
    CREATED_IN_PERIOD,
    DEAL_ASOF,
    MISSING_TABLE_NOTES,
    TRAILING_YEAR,
    WON_IN_PERIOD,
    Figures,
    Present,
    one_row,
    ratio,
    run,
    scope_params,
    section_caller,
    tables_with_rows,
)
from core.semantic.dimensions import dimension, labels
from core.semantic.enums import OTHER_VALUES, RATE_NAMES
from core.semantic.measures import BASES, MEASURES

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use: the report command builds no DataFrame (core.lazy)
    from core.lazy import pandas as pd


@dataclass(frozen=True)
class CascadeStage:
    """One stage of the reverse waterfall: what its actual counts is the measure `measure` (label, basis
    and definition from core.semantic.measures), its target is derived with `input`, `owner` answers for it."""

    key: str
    owner: str
    measure: str
    input: str   # the rate (or, for the first stage, the deal size) the target is derived with
    grain: str   # 'lead' or 'deal': which records the actual counts, and so how a segment is read

    @property
    def label(self) -> str:
        return MEASURES[self.measure].label

    @property
    def counts(self) -> str:
        """Which records the actual counts, e.g. 'deals closed in the period'."""
        return BASES[MEASURES[self.measure].basis].phrase


# The cascade, declared once: from revenue down to leads (the waterfall's order).
CASCADE: tuple[CascadeStage, ...] = (
    CascadeStage("won", "sales", "period_won_deals", "avg_deal_size", "deal"),
    CascadeStage("opportunities", "sales", "created_deals", "win_rate", "deal"),
    CascadeStage("accepted", "sales", "accepted", "accepted_to_opportunity", "lead"),
    CascadeStage("quality_leads", "marketing", "quality_leads", "quality_to_accepted", "lead"),
    CascadeStage("leads", "marketing", "leads", "lead_to_quality", "lead"),
)
STAGES: dict[str, CascadeStage] = {s.key: s for s in CASCADE}
STAGE_KEYS: tuple[str, ...] = tuple(STAGES)
STAGE_LABELS: dict[str, str] = {s.key: s.label for s in CASCADE}
LEAD_STAGES: tuple[str, ...] = tuple(s.key for s in CASCADE if s.grain == "lead")
DEAL_STAGES: tuple[str, ...] = tuple(s.key for s in CASCADE if s.grain == "deal")
# The cascade's inputs, in cascade order: the deal size, then the rates a goal may override.
RATE_FIELDS: tuple[str, ...] = ("avg_deal_size", *RATE_NAMES)


def input_words(name: str) -> str:
    """A cascade input in a sentence: 'average won deal size', 'win rate', 'lead → quality rate'."""
    words = MEASURES[name].label.lower()
    return words if name == "avg_deal_size" or words.endswith("rate") else f"{words} rate"


def _derived_as(stage: CascadeStage) -> str:
    rate = MEASURES[stage.input].label.lower()
    if stage.key == CASCADE[0].key:
        return f"{MEASURES['goal'].label.lower()} ÷ {rate}"
    above = CASCADE[CASCADE.index(stage) - 1]
    return f"{above.label.lower()} ÷ " + (f"({rate})" if "→" in rate else rate)


STAGE_COLUMNS: tuple[str, ...] = (
    "stage", "label", "owner", "counts", "rate_name", "rate", "rate_trailing", "overridden", "by_construction",
    "derived_as",
    "share", "target", "target_to_date", "actual", "progress", "pacing", "gap_to_date", "still_needed",
)
SEGMENT_COLUMNS: tuple[str, ...] = ("segment", *STAGE_COLUMNS)

# Segments a goal can be split by (an allow-list: the page passes one of these names, nothing else).
GOAL_SEGMENTS: dict[str, str] = labels(("source", "team", "region"))
MAX_SEGMENTS = 25  # values listed per segment; the rest are summed into one row so nothing is dropped
OTHER_SEGMENTS = OTHER_VALUES  # the summed row's name (pages/pipeline.py imports it from here)


@reads('goal')
def goal_version(con: duckdb.DuckDBPyConnection, period: Period) -> edits.Version | None:
    return edits.latest(con, "goal", period.quarter().label)


@reads('goal')
def goal_revenue(con: duckdb.DuckDBPyConnection, period: Period) -> float | None:
    """The saved goal of the period: the quarter's, or for a month the quarter's pro-rated by days."""
    version = goal_version(con, period)
    if version is None:
        return None
    quarter = period.quarter()
    return version.body.revenue * period.days / quarter.days


def quarter_revenue(period: Period, period_revenue: float | None) -> float | None:
    """The quarter's goal whose pro-rated share for `period` is `period_revenue` (goal_revenue's inverse)."""
    if period_revenue is None:
        return None
    return period_revenue * period.quarter().days / period.days


@dataclass
class Goal(Figures):
    revenue: float | None = None
    won_revenue: float | None = None
    attainment: float | None = None
    elapsed_share: float | None = None
    pacing: float | None = None
    won_caveat: str | None = None  # the won-revenue caveat in a few words, for its card (the notes say it all)


@reads('records', 'goal')
def goal_status(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime,
                won_figures: Won | None = None) -> Goal:
    """The period's goal, won revenue, attainment and pacing. `won_figures`: won_revenue(con, period, as_of) when the
    caller has it (the headline computes it once for the goal and the landing estimate)."""
    has_deals = "deals" in tables_with_rows(con)
    elapsed_share = period.elapsed_share(as_of)
    result = Goal(revenue=goal_revenue(con, period), elapsed_share=elapsed_share)
    if result.revenue is None:
        result.notes.append(f"No revenue goal is set for {period.quarter().label}.")
    if not has_deals:
        result.notes.append("No deals are loaded, so won revenue cannot be computed.")
        return result
    result.won_revenue, _, won_notes, result.won_caveat = (won_figures if won_figures is not None
                                                                 else won_revenue(con, period, as_of))
    result.notes.extend(won_notes)
    result.attainment = ratio(result.won_revenue, result.revenue)
    result.pacing = pacing(result.won_revenue, result.revenue, elapsed_share)
    if result.revenue is not None and result.pacing is None:
        result.notes.append(f"{period.label} has not started by as-of, so pacing is undefined.")
    return result


def pacing(actual: float | None, target: float | None, elapsed_share: float) -> float | None:
    """actual to date / (target × elapsed share of the period)."""
    if actual is None or target is None or elapsed_share <= 0 or target <= 0:
        return None
    return actual / (target * elapsed_share)


@dataclass
class CascadeRates(Figures):
    avg_deal_size: float | None = None
    win_rate: float | None = None
    accepted_to_opportunity: float | None = None
    quality_to_accepted: float | None = None
    lead_to_quality: float | None = None
    overridden: list[str] = field(default_factory=list)
    # rates that hold by construction, not by measurement (said as their basis, never shown as measured)
    by_construction: dict[str, str] = field(default_factory=dict)


@reads('records', 'quality_definition')
def trailing_year_rates(con: duckdb.DuckDBPyConnection, as_of: datetime) -> CascadeRates:
    deals = trailing_year_deals(con, as_of)
    f = funnels(con, [trailing_year(as_of)], as_of, beside=False)[0]  # the stages' conversions only
    conv = f.conversions()
    rates = CascadeRates(
        avg_deal_size=deals.avg_won_deal_size,
        win_rate=deals.win_rate,
        accepted_to_opportunity=conv["opportunities"],
        quality_to_accepted=conv["accepted"],
        lead_to_quality=conv["quality_leads"],
    )
    rates.notes.extend(deals.notes + f.notes)
    if f.accepted and not acceptance_recorded(con):
        # accepted then means "has a deal" (funnel.STAGE_CONDITIONS): accepted → opportunity is 100% by definition
        rates.by_construction["accepted_to_opportunity"] = "no acceptance decision in the data: accepted = has a deal"
        rates.notes.append("The data records no sales acceptance decision (no lead is marked accepted, rejected or "
                           "recycled), so an accepted lead is one that got a deal and accepted → opportunity is 100% "
                           "by construction, not measured. Override it on the goal if sales accepts leads that never "
                           "become deals.")
    return rates


def acceptance_recorded(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether any lead carries a sales decision (accepted, rejected or recycled): without one, "accepted" can
    only mean "has a deal"."""
    return bool(one_row(con.execute("SELECT EXISTS (SELECT 1 FROM counted_leads WHERE list_contains($s, status))",
                                    {"s": ["accepted", "rejected", "recycled"]}))[0])


def effective_rates(base: CascadeRates, goal: GoalBody | None) -> CascadeRates:
    """Trailing-year rates with the goal's recorded overrides applied."""
    if goal is None:
        return base
    values = {k: getattr(base, k) for k in RATE_FIELDS}
    overridden = []
    if goal.avg_deal_size is not None:
        values["avg_deal_size"] = goal.avg_deal_size
        overridden.append("avg_deal_size")
    for name, value in goal.rate_overrides.items():
        values[name] = value
        overridden.append(name)
    # an overridden win rate needs no measured one: the data's lack of lost deals no longer matters here
    notes = [n for n in base.notes if not ("win_rate" in overridden and n == NO_LOST_DEALS)]
    constructed = {k: v for k, v in base.by_construction.items() if k not in overridden}
    return CascadeRates(notes=notes, overridden=overridden, by_construction=constructed, **values)


def cascade(goal_revenue_amount: float | None, rates: CascadeRates) -> dict[str, float | None]:
    """Reverse waterfall: won = goal / deal size; opportunities = won / win rate; accepted =
    opportunities / (accepted→opportunity); quality = accepted / (quality→accepted); leads = quality /
    (lead→quality). A missing or zero input leaves that stage and those above it undefined."""
    targets: dict[str, float | None] = {}
    value = goal_revenue_amount
    for stage in CASCADE:
        value = ratio(value, getattr(rates, stage.input))
        targets[stage.key] = value
    return targets


# --- Stage targets vs actuals to date, pacing and gap, by segment -------------------------------------


def trailing_year(as_of: datetime) -> Period:
    """The 365 days up to and including as_of, as a period (end exclusive just after as_of)."""
    return Period("trailing year", as_of - TRAILING_YEAR, as_of + timedelta(microseconds=1))


@dataclass
class StageActuals(Figures):
    """Actual volume of each cascade stage in the period, to date (as of)."""

    leads: int | None = None
    quality_leads: int | None = None
    accepted: int | None = None
    opportunities: int | None = None
    won: int | None = None


def _deal_counts_sql(segment: str | None) -> str:
    """Deals created and deals won in the period, per value of `segment` (an allow-listed dimension)."""
    dim = dimension(segment, tuple(GOAL_SEGMENTS)) if segment else None
    # only the joins the segment reads: the whole period's counts need no lead (a 1M-lead scan at 1M)
    return f"""
    WITH {DEAL_ASOF}
    SELECT {dim.deal_sql() if dim else "'all'"} AS segment,
           count(*) FILTER ({CREATED_IN_PERIOD}) AS opportunities,
           count(*) FILTER ({WON_IN_PERIOD}) AS won
    FROM deal_asof d {dim.deal_joins() if dim else ""}
    WHERE ({CREATED_IN_PERIOD}) OR ({WON_IN_PERIOD})
    GROUP BY ALL
    """


@reads('records', 'quality_definition')
def stage_actuals(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime,
                  cohort: Funnel | None = None) -> StageActuals:
    """Leads, quality leads and accepted from the period's cohort funnel; deals created and deals won in
    the period (sales-sourced included) — the same deals whose amounts make won revenue, so the won-deal
    target and won revenue are judged on one set."""
    result = StageActuals()
    present = tables_with_rows(con)
    cohort = funnel_stages(con, period, as_of) if cohort is None else cohort  # the caller's, when it has it
    result.leads, result.quality_leads, result.accepted = cohort.leads, cohort.quality_leads, cohort.accepted
    if "leads" not in present:
        result.notes.append(present.missing("leads"))
    if "deals" not in present:
        result.notes.append(present.missing("deals"))
        return result
    result.notes.extend(present.undated_notes("deals"))
    row = run(con, _deal_counts_sql(None), scope_params(period, as_of)).fetchone()
    result.opportunities, result.won = (int(row[1]), int(row[2])) if row else (0, 0)
    return result


@reads('records', 'quality_definition')
def _counts_by(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, segment: str,
               present: Present) -> pd.DataFrame:
    """segment value → count of every stage in `period` (lead stages: its cohort funnel; deal stages:
    deals created / won in it). A stage whose table is missing counts 0 here; callers say it is unknown."""
    frames = []  # the dimensions never read NULL, so every value is kept and the split adds up
    if "leads" in present:
        frames.append(funnel_by(con, period, as_of, segment)[["segment", *LEAD_STAGES]])
    if "deals" in present:
        frames.append(run(con, _deal_counts_sql(segment), scope_params(period, as_of)).df())
    if not frames:
        return pd.DataFrame({"segment": pd.Series(dtype=str), **{s: pd.Series(dtype=int) for s in STAGE_KEYS}})
    out = pd.concat(frames, ignore_index=True)
    out = out.groupby("segment", as_index=False).sum(numeric_only=True)
    for stage in STAGE_KEYS:
        out[stage] = out[stage].fillna(0).astype(int) if stage in out else 0
    return out[["segment", *STAGE_KEYS]]


@dataclass
class GoalPlan(Figures):
    """The period's goal cascaded to every stage, with actuals to date, pacing and gaps.

    `stages` has one row per cascade stage (CASCADE order) with STAGE_COLUMNS. For a segment, `stages`
    holds every (segment, stage) pair instead, with `segment` first and the period's targets split by the
    segment's trailing-year share of each stage."""

    period_label: str = ""
    quarter_label: str = ""
    goal_revenue: float | None = None
    goal_version: int | None = None
    elapsed_share: float = 0.0
    trailing: CascadeRates | None = None
    rates: CascadeRates | None = None
    targets: dict[str, float | None] = field(default_factory=dict)
    segment: str | None = None
    segments_listed: int = 0
    segments_total: int = 0
    stages: pd.DataFrame = field(default_factory=lambda: pd.DataFrame())  # pandas on first use

    @property
    def table_notes(self) -> list[str]:
        """Notes that whole tables are absent (said in plain sight, not only among the notes)."""
        return [n for n in self.notes if n in MISSING_TABLE_NOTES.values()]

    @property
    def other_notes(self) -> list[str]:
        return [n for n in self.notes if n not in MISSING_TABLE_NOTES.values()]

    @property
    def listing_note(self) -> str | None:
        """How many segment values there are when not all are listed."""
        if self.segments_total <= self.segments_listed:
            return None
        return (f"{self.segments_total:,} values: the largest {self.segments_listed - 1} are listed, the rest "
                "are summed in one row.")


def stage_progress(target: float | None, actual: float | None, elapsed_share: float) -> dict:
    """One stage's figures to date: target to date = target × elapsed share; progress = actual ÷ target;
    pacing = actual ÷ target to date; gap to date = target to date − actual (positive: behind);
    still needed = what remains of the full period's target (never below 0)."""
    progress = gap_to_date = still_needed = None
    if target is not None and actual is not None:
        progress = ratio(actual, target)
        gap_to_date = target * elapsed_share - actual
        still_needed = max(target - actual, 0.0)
    return {
        "target": target,
        "target_to_date": target * elapsed_share if target is not None else None,
        "actual": actual,
        "progress": progress,
        "pacing": pacing(actual, target, elapsed_share),
        "gap_to_date": gap_to_date,
        "still_needed": still_needed,
    }


def _stage_columns(stage: CascadeStage, rates: CascadeRates | None, trailing: CascadeRates | None) -> dict:
    return {
        "stage": stage.key, "label": stage.label, "owner": stage.owner, "counts": stage.counts,
        "rate_name": stage.input,
        "rate": getattr(rates, stage.input) if rates else None,
        "rate_trailing": getattr(trailing, stage.input) if trailing else None,
        "overridden": bool(rates and stage.input in rates.overridden),
        "by_construction": rates.by_construction.get(stage.input) if rates else None,
        "derived_as": _derived_as(stage),
    }


@reads('records', 'goal', 'quality_definition')
def goal_plan(con: duckdb.DuckDBPyConnection | None, period: Period, as_of: datetime, segment: str | None = None,
              call: Callable[..., Any] | None = None) -> GoalPlan:
    """Targets (the saved goal through the cascade, with the goal's overrides) against actuals to date.

    With `segment` (a key of GOAL_SEGMENTS), each stage's period target is split across the segment's
    values by their trailing-year share of that stage; actuals are counted the same way per value.
    `call(fn, *args)` reads each input (default fn(con, *args)); the app passes its cache, so a goal save
    recomputes the goal and the cascade, not the trailing year's rates or the actuals."""
    call = section_caller(con, call, "goal_plan")

    if segment is not None:
        dimension(segment, tuple(GOAL_SEGMENTS))
    version = call(goal_version, period)
    plan = GoalPlan(
        period_label=period.label,
        quarter_label=period.quarter().label,
        goal_revenue=call(goal_revenue, period),
        goal_version=version.version if version else None,
        elapsed_share=period.elapsed_share(as_of),
        segment=segment,
    )
    if plan.goal_revenue is None:
        plan.notes.append(f"No revenue goal is set for {plan.quarter_label}, so no stage has a target.")
    plan.trailing = call(trailing_year_rates, as_of)
    plan.rates = effective_rates(plan.trailing, version.body if version else None)
    plan.notes.extend(plan.rates.notes)
    plan.targets = cascade(plan.goal_revenue, plan.rates)
    if plan.goal_revenue is not None:
        for stage in CASCADE:
            if plan.targets[stage.key] is None:
                state = "unknown" if getattr(plan.rates, stage.input) is None else "zero"
                plan.notes.append(
                    f"The {input_words(stage.input)} is {state} in the trailing year and not overridden, so the "
                    f"{stage.label.lower()} target and those below it cannot be computed."
                )
                break
    if segment is None:
        # the period's funnel stages as their own call: the Overview's headline asks for the same section
        actuals = call(stage_actuals, period, as_of, call(funnel_stages, period, as_of))
        plan.notes.extend(actuals.notes)
        plan.stages = pd.DataFrame([
            {**_stage_columns(stage, plan.rates, plan.trailing), "share": 1.0,
             **stage_progress(plan.targets[stage.key], getattr(actuals, stage.key), plan.elapsed_share)}
            for stage in CASCADE
        ], columns=STAGE_COLUMNS)
        plan.notes = list(dict.fromkeys(plan.notes))
        return plan

    present = call(tables_with_rows)
    for table in ("leads", "deals"):
        if table not in present:
            plan.notes.append(present.missing(table))
    now = call(_counts_by, period, as_of, segment, present)
    year = call(_counts_by, trailing_year(as_of), as_of, segment, present)
    totals = {s: int(year[s].sum()) if s in year else 0 for s in STAGE_KEYS}
    both = now.merge(year, on="segment", how="outer", suffixes=("", "_trailing")).fillna(0)
    both["_volume"] = both[[c for c in both.columns if c != "segment"]].sum(axis=1)
    both = both.sort_values(["_volume", "segment"], ascending=[False, True])
    plan.segments_total = len(both)
    if len(both) > MAX_SEGMENTS:
        head, tail = both.iloc[: MAX_SEGMENTS - 1], both.iloc[MAX_SEGMENTS - 1:]
        rest = tail.drop(columns="segment").sum().to_frame().T.assign(segment=OTHER_SEGMENTS)
        both = pd.concat([head, rest], ignore_index=True)
    plan.segments_listed = len(both)
    has_table = {s.key: ("leads" if s.grain == "lead" else "deals") in present for s in CASCADE}
    for stage in CASCADE:
        if plan.targets.get(stage.key) is not None and has_table[stage.key] and totals[stage.key] == 0:
            plan.notes.append(
                f"No {stage.label.lower()} in the trailing year, so that target cannot be split by {segment}."
            )
    rows = []
    for rec in both.to_dict("records"):
        for stage in CASCADE:
            key = stage.key
            share = ratio(rec[f"{key}_trailing"], totals[key]) if totals[key] else None
            target = plan.targets.get(key)
            seg_target = target * share if target is not None and share is not None else None
            actual = int(rec[key]) if has_table[key] else None
            rows.append({"segment": rec["segment"], **_stage_columns(stage, plan.rates, plan.trailing),
                         "share": share, **stage_progress(seg_target, actual, plan.elapsed_share)})
    plan.stages = pd.DataFrame(rows, columns=SEGMENT_COLUMNS)
    plan.notes = list(dict.fromkeys(plan.notes))
    return plan


def segment_values(plan: GoalPlan) -> list[str]:
    """The segment values of a segmented plan, biggest first (as listed)."""
    if plan.segment is None or plan.stages.empty:
        return []
    return list(dict.fromkeys(plan.stages["segment"]))


def one_segment(plan: GoalPlan, value: str) -> pd.DataFrame:
    """The stage rows of one segment value of a segmented plan."""
    return plan.stages[plan.stages["segment"] == value].reset_index(drop=True)


def stage_rows(plan: GoalPlan, value: str | None = None) -> pd.DataFrame:
    """The rows a page shows: the whole period's stages, or those of one value of a segmented plan (none
    when the segmented plan has no value to show)."""
    if plan.segment is None:
        return plan.stages
    if value is None:
        return plan.stages.iloc[0:0]
    return one_segment(plan, value)


def what_if(plan: GoalPlan, revenue: float | None, **inputs: float | None) -> pd.DataFrame:
    """Required volumes for a hypothetical goal and rates (nothing saved), beside the saved plan's.

    `inputs` are any of RATE_FIELDS; one left out keeps the plan's value; zero or None leaves that stage
    and those above it undefined (cascade's rule)."""
    unknown = set(inputs) - set(RATE_FIELDS)
    if unknown:
        raise ValueError(f"unknown cascade inputs {sorted(unknown)}")
    base = plan.rates or CascadeRates()
    values = {k: inputs.get(k, getattr(base, k)) for k in RATE_FIELDS}
    changed = [k for k in RATE_FIELDS if values[k] != getattr(base, k)]
    required = cascade(revenue, CascadeRates(overridden=changed, **values))
    rows = []
    for stage in CASCADE:
        saved = plan.targets.get(stage.key)
        need = required[stage.key]
        rows.append({
            "stage": stage.key, "label": stage.label, "owner": stage.owner, "rate_name": stage.input,
            "rate": values[stage.input], "rate_changed": stage.input in changed, "derived_as": _derived_as(stage),
            "required": need, "saved_target": saved,
            "change": need - saved if need is not None and saved is not None else None,
        })
    return pd.DataFrame(rows)
