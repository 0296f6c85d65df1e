"""Every figure Accord shows, declared once: label, unit/format and the definition shown in tooltips.

Definitions paraphrase ../shared/METRICS.md; docs/metrics-notes.md records the choices made where it is
silent. Pages take labels and help text from here so a figure reads the same everywhere.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    label: str
    fmt: str  # money | percent | ratio | count | hours | days | money_per_day
    help: str


MEASURES: dict[str, Measure] = {
    "goal": Measure("Revenue goal", "money", "The period's shared revenue goal (a month gets its quarter's goal pro-rated by days)."),
    "won_revenue": Measure("Won revenue", "money", "Sum of amount over deals closed won with closed_at in the period, as of the as-of moment."),
    "attainment": Measure("Attainment", "percent", "Won revenue ÷ revenue goal."),
    "pacing": Measure("Pacing", "percent", "Won revenue to date ÷ (goal × share of the period elapsed). 100% means on track."),
    "quality_leads": Measure("Quality leads", "count", "Leads created in the period that meet the quality-lead definition in force at their creation."),
    "delivery": Measure("Delivery vs commitment", "percent", "Quality leads in the period ÷ marketing's committed quality leads for the period."),
    "acceptance_rate": Measure("Acceptance rate", "percent", "Quality leads that sales accepted or converted (or that have a deal) ÷ quality leads."),
    "compliance": Measure("SLA compliance", "percent", "Quality leads first touched within the response window ÷ (met + breached); pending leads are not counted."),
    "median_hours": Measure("Median speed to lead", "hours", "Median hours from clock start (assignment, else creation) to first touch, over touched quality leads."),
    "p90_hours": Measure("p90 speed to lead", "hours", "90th percentile of hours from clock start to first touch (linear interpolation)."),
    "coverage": Measure("Coverage", "ratio", "Open pipeline expected to close in the period ÷ (goal − won revenue). Undefined when nothing remains."),
    "open_amount": Measure("Open pipeline", "money", "Amount of deals open as of, with expected close date inside the period."),
    "stalled_deals": Measure("Stalled deals", "count", "Deals open as of whose current stage was entered more than the stall threshold (days) before."),
    "win_rate": Measure("Win rate", "percent", "Won ÷ (won + lost) over deals closed in the trailing 365 days."),
    "velocity": Measure("Sales velocity", "money_per_day", "Open deals × win rate × average won deal size ÷ average sales cycle (days), trailing year."),
    "leads": Measure("Leads", "count", "Leads created in the period."),
    "accepted": Measure("Accepted", "count", "Quality leads with status accepted or converted, or with a deal."),
    "opportunities": Measure("Opportunities", "count", "Quality leads with a deal whose lead_id is theirs."),
    "won": Measure("Won", "count", "Quality leads with such a deal closed won."),
}


def fmt(value, kind: str) -> str:
    """Human formatting; None (cannot be computed) reads as an em dash, never as 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if kind == "money":
        return _money(value)
    if kind == "money_per_day":
        return f"{_money(value)}/day"
    if kind == "percent":
        return f"{value:.1%}"
    if kind == "ratio":
        return f"{value:.2f}×"
    if kind == "hours":
        return f"{value:.1f} h"
    if kind == "days":
        return f"{value:.1f} d"
    if kind == "count":
        return f"{value:,.0f}"
    return str(value)


def _money(value: float) -> str:
    sign = "-" if value < 0 else ""
    v = abs(value)
    if v >= 1_000_000:
        return f"{sign}${v / 1_000_000:,.2f}M"
    if v >= 10_000:
        return f"{sign}${v / 1_000:,.0f}k"
    return f"{sign}${v:,.0f}"


def show(key: str, value) -> str:
    return fmt(value, MEASURES[key].fmt)
