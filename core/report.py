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
from core.metrics.funnel import Funnel, funnel
from core.metrics.goals import Goal, goal_status
from core.metrics.pipeline import Pipeline, pipeline
from core.metrics.sla import Delivery, ResponseSla, delivery, response_sla
from core.periods import Period


@dataclass
class Headline:
    goal: Goal
    funnel: Funnel
    sla: ResponseSla
    delivery: Delivery
    pipeline: Pipeline


@reads('records', 'goal', 'sla_policy', 'quality_definition')
def headline(con: duckdb.DuckDBPyConnection | None, period: Period, as_of: datetime, stall_days: int = 30,
             call: Callable[..., Any] | None = None) -> Headline:
    """Every section of the period's headline. `call(fn, *args)` computes one section (default: fn(con,
    *args)); the app passes its cache (ui.data.cached), so each section is kept on the data it reads and a
    goal save recomputes the goal and the pipeline's coverage only, not the funnel or the SLA."""
    if call is None:
        if con is None:
            raise ValueError("headline needs a connection or a call")

        def call(fn: Callable[..., Any], *args: Any) -> Any:
            return fn(con, *args)

    goal = call(goal_status, period, as_of)
    cohort = call(funnel, period, as_of)
    return Headline(
        goal=goal,
        funnel=cohort,
        sla=call(response_sla, period, as_of),
        delivery=call(delivery, period, as_of, cohort),
        pipeline=call(pipeline, period, as_of, goal.revenue, stall_days),
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


def goal_cards(h: Headline) -> list[tuple[str, object, str | None]]:
    """Shared goals' header: the Overview's goal row (with its caveats) and coverage."""
    return [*headline_cards(h)[0][1], ("coverage", h.pipeline.coverage, None)]


def headline_notes(h: Headline) -> list[str]:
    """Every reason a headline figure cannot be computed, once each, in section order."""
    return list(dict.fromkeys(n for part in (h.goal, h.funnel, h.sla, h.delivery, h.pipeline) for n in part.notes))


REPORT_FIELDS: dict[str, tuple[str, ...]] = {
    "goal": ("revenue", "won_revenue", "attainment"),
    "funnel": ("leads", "quality_leads", "accepted", "opportunities", "won"),
    "sla": ("met", "breached", "pending", "compliance", "median_hours_to_first_touch", "p90_hours_to_first_touch",
            "median_routing_hours", "p90_routing_hours", "within_5m_share", "within_1h_share", "within_24h_share"),
    "delivery": ("quality_leads", "committed", "delivery"),
    "pipeline": ("open_amount", "coverage", "stalled_deals", "win_rate", "velocity_per_day"),
}


# Figures computed from deal amounts: when one is not finite, the cause is an amount too large to add up.
MONEY_FIGURES: frozenset[tuple[str, str]] = frozenset({
    ("goal", "revenue"), ("goal", "won_revenue"), ("goal", "attainment"),
    ("pipeline", "open_amount"), ("pipeline", "coverage"), ("pipeline", "velocity_per_day"),
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
        notes = list(figures.notes)
        out[section] = {}
        for name in names:
            out[section][name], reason = _finite(section, name, getattr(figures, name))
            if reason:
                notes.append(reason)
        out[section]["notes"] = list(dict.fromkeys(notes))  # de-duplicated, order kept
    return out


@reads('records', 'goal', 'sla_policy', 'quality_definition')
def build_report(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, stall_days: int = 30) -> dict:
    return report_dict(headline(con, period, as_of, stall_days), period, as_of)
