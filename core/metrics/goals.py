"""The shared revenue goal, attainment, pacing and the reverse waterfall (cascade) of METRICS.md.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- Goals are set per quarter; a month's goal is the quarter's pro-rated by days.
- Trailing-year conversion rates use the cohort of leads created in (as_of − 365 days, as_of].
- Targets are kept fractional; pages round them up for display (you cannot win 0.3 of a deal).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb

from core import edits
from core.metrics.base import TRAILING_YEAR, Figures, ratio
from core.metrics.funnel import funnel
from core.metrics.pipeline import trailing_year_deals, won_revenue
from core.models import GoalBody
from core.periods import Period

# Cascade stages, top of the funnel last (the waterfall runs from revenue down to leads), with owners.
CASCADE_STAGES: tuple[tuple[str, str, str], ...] = (
    ("won", "sales", "Won deals"),
    ("opportunities", "sales", "Opportunities"),
    ("accepted", "sales", "Accepted leads"),
    ("quality_leads", "marketing", "Quality leads"),
    ("leads", "marketing", "Leads"),
)


def goal_version(con: duckdb.DuckDBPyConnection, period: Period) -> edits.Version | None:
    return edits.latest(con, "goal", period.quarter().label)


def goal_revenue(con: duckdb.DuckDBPyConnection, period: Period) -> float | None:
    """The saved goal of the period: the quarter's, or for a month the quarter's pro-rated by days."""
    version = goal_version(con, period)
    if version is None:
        return None
    quarter = period.quarter()
    return version.body.revenue * period.days / quarter.days


@dataclass
class Goal(Figures):
    revenue: float | None = None
    won_revenue: float | None = None
    attainment: float | None = None
    elapsed_share: float | None = None
    pacing: float | None = None


def goal_status(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, has_deals: bool = True) -> Goal:
    result = Goal(revenue=goal_revenue(con, period), elapsed_share=period.elapsed_share(as_of))
    if result.revenue is None:
        result.notes.append(f"No revenue goal is set for {period.quarter().label}.")
    if not has_deals:
        result.notes.append("No deals are loaded, so won revenue cannot be computed.")
        return result
    result.won_revenue, _ = won_revenue(con, period, as_of)
    result.attainment = ratio(result.won_revenue, result.revenue)
    result.pacing = pacing(result.won_revenue, result.revenue, result.elapsed_share)
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


def trailing_year_rates(con: duckdb.DuckDBPyConnection, as_of: datetime) -> CascadeRates:
    deals = trailing_year_deals(con, as_of)
    year = Period("trailing year", as_of - TRAILING_YEAR, as_of + timedelta(microseconds=1))
    f = funnel(con, year, as_of)
    conv = f.conversions()
    rates = CascadeRates(
        avg_deal_size=deals.avg_won_deal_size,
        win_rate=deals.win_rate,
        accepted_to_opportunity=conv["opportunities"],
        quality_to_accepted=conv["accepted"],
        lead_to_quality=conv["quality_leads"],
    )
    rates.notes.extend(deals.notes + f.notes)
    return rates


def effective_rates(base: CascadeRates, goal: GoalBody | None) -> CascadeRates:
    """Trailing-year rates with the goal's recorded overrides applied."""
    if goal is None:
        return base
    values = {k: getattr(base, k) for k in ("avg_deal_size", "win_rate", "accepted_to_opportunity",
                                             "quality_to_accepted", "lead_to_quality")}
    overridden = []
    if goal.avg_deal_size is not None:
        values["avg_deal_size"] = goal.avg_deal_size
        overridden.append("avg_deal_size")
    for name, value in goal.rate_overrides.items():
        values[name] = value
        overridden.append(name)
    return CascadeRates(notes=list(base.notes), overridden=overridden, **values)


def cascade(goal_revenue_amount: float | None, rates: CascadeRates) -> dict[str, float | None]:
    """Reverse waterfall: won = goal / deal size; opportunities = won / win rate; accepted =
    opportunities / (accepted→opportunity); quality = accepted / (quality→accepted); leads = quality /
    (lead→quality). A missing or zero input leaves that stage and those above it undefined."""
    targets: dict[str, float | None] = {}
    value = ratio(goal_revenue_amount, rates.avg_deal_size)
    targets["won"] = value
    for stage, rate in (
        ("opportunities", rates.win_rate),
        ("accepted", rates.accepted_to_opportunity),
        ("quality_leads", rates.quality_to_accepted),
        ("leads", rates.lead_to_quality),
    ):
        value = ratio(value, rate)
        targets[stage] = value
    return targets
