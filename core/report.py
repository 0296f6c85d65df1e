"""The headline figures of a period: the Overview page draws them and `python -m core report` prints
them as the JSON document METRICS.md specifies ("The report"), from the same `headline()` call.

A figure that cannot be computed is null, with the reason in its section's notes.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from core.db import reads
from core.metrics.forecast import COMPLIANCE_TARGET, Forecast, forecast, pace_status, previous_point
from core.metrics.funnel import Funnel, funnel_beside, funnel_stages, with_beside
from core.metrics.goals import Goal, goal_revenue, goal_status
from core.metrics.pipeline import Pipeline, pipeline
from core.metrics.sla import Delivery, ResponseSla, delivery, response_sla
from core.periods import Period
from core.semantic.blocks import section_caller
from core.semantic.measures import MEASURES, fmt


@dataclass
class Headline:
    goal: Goal
    funnel: Funnel
    sla: ResponseSla
    delivery: Delivery
    pipeline: Pipeline
    forecast: Forecast | None = None  # only when asked for (with_forecast): the report and the Overview


@reads('records', 'goal', 'sla_policy', 'quality_definition', 'stalls')
def headline(con: duckdb.DuckDBPyConnection | None, period: Period, as_of: datetime, stall_days: int = 30,
             call: Callable[..., Any] | None = None, with_forecast: bool = False,
             goal_only: bool = False, cards_only: bool = False) -> Headline:
    """Every section of the period's headline. `call(fn, *args)` computes one section (default: fn(con,
    *args)); the app passes its cache (ui.data.cached), so each section is kept on the data it reads and a
    goal save recomputes the goal and the pipeline's coverage only, not the funnel or the SLA. The landing
    estimate (core.metrics.forecast) is computed `with_forecast` only: the same point of the previous period,
    read for the change on each card, needs none. `cards_only` leaves out what no card reads: the deals beside
    the funnel (sales-sourced and the like: a query that probes every lead, 0.1 s at ten million leads) and the
    response SLA's and the pipeline's figures beyond their cards (SLA_CARDS, core.metrics.pipeline.CARD_SUMS)."""
    call = section_caller(con, call, "headline")

    # The pipeline's row holds won revenue too: the goal and the landing estimate take it from there instead of
    # querying it again each (24 ms each at ten million leads). Coverage needs the goal's revenue, read first.
    pipe = call(pipeline, period, as_of, call(goal_revenue, period), stall_days, cards_only)
    goal = call(goal_status, period, as_of, pipe.won)
    landing = call(forecast, period, as_of, pipe.won) if with_forecast else None
    if goal_only:  # Shared goals' header: the goal, its coverage and landing; no funnel or SLA to compute
        return Headline(goal=goal, funnel=Funnel(), sla=ResponseSla(), delivery=Delivery(), pipeline=pipe,
                        forecast=landing)
    stages = call(funnel_stages, period, as_of)  # the goal plan's actuals read the same section
    return Headline(
        goal=goal,
        funnel=stages if cards_only else with_beside(stages, call(funnel_beside, period, as_of)),
        sla=call(response_sla, period, as_of, cards_only),
        delivery=call(delivery, period, as_of, stages),
        pipeline=pipe,
        forecast=landing,
    )


def headline_cards(h: Headline) -> list[tuple[str, list[tuple[str, object, str | None]]]]:
    """The Overview's card rows: (section title, [(measure name, value, context delta)]), in reading order."""
    return [
        ("Shared goal", [("goal", h.goal.revenue, None), ("won_revenue", h.goal.won_revenue, h.goal.won_caveat),
                         ("attainment", h.goal.attainment, None), ("pacing", h.goal.pacing, None)]),
        ("Both teams' promises", [
            ("quality_leads", h.delivery.quality_leads, h.delivery.committed_note),
            ("delivery", h.delivery.delivery, None),
            ("compliance", h.sla.compliance, h.sla.breached_note),
            ("median_hours", h.sla.median_hours_to_first_touch, None)]),
        ("Pipeline", [("open_amount", h.pipeline.open_amount, h.pipeline.undated_note), ("coverage", h.pipeline.coverage, None),
                      ("stalled_deals", h.pipeline.stalled_deals, None), ("win_rate", h.pipeline.win_rate, None)]),
    ]


def forecast_cards(h: Headline) -> list[tuple[str, object, str | None]]:
    """The Overview's landing row: the estimate, its range, and its two parts beyond won revenue to date (how
    the range was made is said under the cards: forecast_sentence)."""
    f = h.forecast or Forecast()
    return [("landing", f.landing, None), ("landing_low", f.low, None), ("landing_high", f.high, None),
            ("landing_open", f.open_weighted, None), ("landing_new", f.new_revenue, None)]


def card_statuses(h: Headline) -> dict[str, str]:
    """Measure name → status (core.metrics.forecast.pace_status) for each headline card that has a target:
    won revenue, attainment and pacing against the goal to date; quality leads and delivery against the
    commitment to date; compliance against COMPLIANCE_TARGET; coverage against the coverage needed (1 ÷ win
    rate); the landing estimate against the whole goal. A card without a target, or whose figure or target
    is unknown, has none."""
    elapsed = h.goal.elapsed_share or 0.0
    goal_to_date = h.goal.revenue * elapsed if h.goal.revenue is not None else None
    committed_to_date = h.delivery.committed * elapsed if h.delivery.committed is not None else None
    revenue = pace_status(h.goal.won_revenue, goal_to_date)
    quality = pace_status(h.delivery.quality_leads, committed_to_date)
    found = {
        "won_revenue": revenue, "attainment": revenue, "pacing": revenue,
        "quality_leads": quality, "delivery": quality,
        "compliance": pace_status(h.sla.compliance, COMPLIANCE_TARGET),
        "coverage": pace_status(h.pipeline.coverage, h.pipeline.coverage_needed),
        "landing": pace_status(h.forecast.landing, h.goal.revenue) if h.forecast else None,
    }
    return {name: status for name, status in found.items() if status is not None}


def change_text(name: str, now: object, before: object, where: str) -> str | None:
    """The change of measure `name` from `before` to `now`, in its unit (percentages in points), and where
    `before` was read ('vs 2026-Q2'); None when either is unknown."""
    if not (isinstance(now, numbers.Real) and isinstance(before, numbers.Real)) or isinstance(now, bool):
        return None
    if now != now or before != before:  # NaN
        return None
    diff, kind = float(now) - float(before), MEASURES[name].fmt
    if diff == 0:
        return f"no change {where}"
    sign = "+" if diff > 0 else "−"
    size = {"percent": f"{abs(diff) * 100:.1f} pts", "count": f"{abs(diff):,.0f}"}.get(kind) or fmt(abs(diff), kind)
    return f"{sign}{size} {where}"


@dataclass(frozen=True)
class ComparisonPoint:
    """The same point of the previous period: the period, the moment, the words on a card ('vs 2026-Q2', short
    enough for a narrow card) and the point in full, for the line under the cards ('day 46 of 2026-Q2')."""

    period: Period
    moment: datetime
    words: str
    point: str


def comparison_point(period: Period, as_of: datetime) -> ComparisonPoint | None:
    """Day N of the previous period when as-of is on day N of this one; the whole previous period once this
    one has ended; None before this one starts (nothing to compare yet)."""
    if as_of < period.start:
        return None
    before, moment = previous_point(period, as_of)
    words = f"vs {before.label}"
    if as_of >= period.end:
        return ComparisonPoint(before, before.end, words, f"all of {before.label}")
    day = int((as_of - period.start).total_seconds() // 86400) + 1
    return ComparisonPoint(before, moment, words, f"day {day} of {before.label}")


def forecast_sentence(h: Headline) -> str | None:
    """The landing estimate as a sum, in words (our numbers only), for the line under its cards."""
    f = h.forecast
    if f is None or f.landing is None or f.won_to_date is None:
        return None
    if f.open_weighted is None or f.new_revenue is None:
        return None
    parts = (f"won to date {fmt(f.won_to_date, 'money')} + open deals weighted by stage-to-win rates "
             f"{fmt(f.open_weighted, 'money')} + deals not created yet {fmt(f.new_revenue, 'money')} = "
             f"{fmt(f.landing, 'money')}")
    if f.range_method is None:
        return f"Landing: {parts}."
    basis = (f"the back-test's errors at the same point of {len(f.backtest)} earlier periods"
             if f.range_method == "back-test" else "a normal approximation (too few periods to back-test)")
    return (f"Landing: {parts}. Range {fmt(f.low, 'money')} – {fmt(f.high, 'money')}: 10th–90th percentile from "
            f"{basis}. Rates measured at day {f.day} of {f.history_periods} earlier periods.")


def card_changes(h: Headline, before: Headline, where: str) -> dict[str, str]:
    """Measure name → change of each headline card (the goal itself aside) from `before`, the headline at
    the same point of the previous period; `where` says which ('vs 2026-Q2')."""
    earlier = {name: value for _, row in headline_cards(before) for name, value, _ in row}
    out = {}
    for _, row in headline_cards(h):
        for name, value, _ in row:
            text = change_text(name, value, earlier.get(name), where) if name != "goal" else None
            if text:
                out[name] = text
    return out


def goal_cards(h: Headline) -> list[tuple[str, object, str | None]]:
    """Shared goals' header: the Overview's goal row (with its caveats) and coverage."""
    return [*headline_cards(h)[0][1], ("coverage", h.pipeline.coverage, None)]


def headline_notes(h: Headline) -> list[str]:
    """Every reason a headline figure cannot be computed, once each, in section order."""
    parts = (h.goal, h.funnel, h.sla, h.delivery, h.pipeline, *([h.forecast] if h.forecast else []))
    return list(dict.fromkeys(n for part in parts for n in part.notes))


REPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "goal": ("revenue", "won_revenue", "attainment"),
    "funnel": ("leads", "quality_leads", "accepted", "opportunities", "won"),
    "sla": ("met", "breached", "pending", "compliance", "median_hours_to_first_touch", "p90_hours_to_first_touch",
            "median_routing_hours", "p90_routing_hours", "within_5m_share", "within_1h_share", "within_24h_share"),
    "delivery": ("quality_leads", "committed", "delivery"),
    "pipeline": ("open_amount", "coverage", "stalled_deals", "win_rate", "velocity_per_day"),
    "forecast": ("landing", "low", "high"),
}


# Figures computed from deal amounts: when one is not finite, the cause is an amount too large to add up.
MONEY_FIGURES: frozenset[tuple[str, str]] = frozenset({
    ("goal", "revenue"), ("goal", "won_revenue"), ("goal", "attainment"),
    ("pipeline", "open_amount"), ("pipeline", "coverage"), ("pipeline", "velocity_per_day"),
    ("forecast", "landing"), ("forecast", "low"), ("forecast", "high"),
})


def _finite(section: str, name: str, value: object) -> tuple[object, str | None]:
    """(value, None), or (None, the reason) for a number JSON cannot hold (infinite or not a number)."""
    if isinstance(value, numbers.Number) and hasattr(value, "item"):  # a NumPy scalar: a plain Python number
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, float | int) or math.isfinite(value):
        return value, None
    cause = ("an amount in the data is too large" if (section, name) in MONEY_FIGURES
             else "a value in the data is too large to compute with")
    return None, f"{name.replace('_', ' ').capitalize()} is not a finite number: {cause}."


def report_dict(h: Headline, period: Period, as_of: datetime) -> dict:
    """The report document of METRICS.md: plain JSON values only (a non-finite figure becomes null, with
    the reason in its section's notes), so `json.dumps(..., allow_nan=False)` always succeeds."""
    out: dict = {
        "period": {"label": period.label, "start": period.start.date().isoformat(), "end": period.end.date().isoformat()},
        "as_of": as_of.isoformat(),
    }
    for section, names in REPORT_FIELDS.items():
        figures = getattr(h, section)
        if figures is None:  # a headline made without its forecast (build_report always asks for it)
            figures = Forecast(notes=["The landing estimate was not computed for this report."])
        notes = list(figures.notes)
        out[section] = {}
        for name in names:
            out[section][name], reason = _finite(section, name, getattr(figures, name))
            if reason:
                notes.append(reason)
        out[section]["notes"] = list(dict.fromkeys(notes))  # de-duplicated, order kept
    return out


@reads('records', 'goal', 'sla_policy', 'quality_definition', 'stalls')
def build_report(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, stall_days: int = 30) -> dict:
    return report_dict(headline(con, period, as_of, stall_days, with_forecast=True), period, as_of)
