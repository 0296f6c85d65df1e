"""The headline figures of a period as the JSON document METRICS.md specifies ("The report").

Pages and the CLI both call build_report or the functions it calls, so a figure can only differ between
them if the inputs differ. A figure that cannot be computed is null, with the reason in its section's notes.
"""
from __future__ import annotations

from datetime import datetime

import duckdb

from core.metrics.base import tables_with_rows
from core.metrics.funnel import funnel
from core.metrics.goals import goal_status
from core.metrics.pipeline import pipeline
from core.metrics.sla import delivery, response_sla
from core.periods import Period


def _pick(figures, names: tuple[str, ...]) -> dict:
    out = {name: getattr(figures, name) for name in names}
    out["notes"] = list(dict.fromkeys(figures.notes))  # de-duplicated, order kept
    return out


def build_report(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, stall_days: int = 30) -> dict:
    has_deals = "deals" in tables_with_rows(con)
    goal = goal_status(con, period, as_of, has_deals=has_deals)
    return {
        "period": {"label": period.label, "start": period.start.date().isoformat(), "end": period.end.date().isoformat()},
        "as_of": as_of.isoformat(),
        "goal": _pick(goal, ("revenue", "won_revenue", "attainment")),
        "funnel": _pick(funnel(con, period, as_of), ("leads", "quality_leads", "accepted", "opportunities", "won")),
        "sla": _pick(
            response_sla(con, period, as_of),
            ("met", "breached", "pending", "compliance", "median_hours_to_first_touch", "p90_hours_to_first_touch"),
        ),
        "delivery": _pick(delivery(con, period, as_of), ("quality_leads", "committed", "delivery")),
        "pipeline": _pick(
            pipeline(con, period, as_of, goal.revenue, stall_days),
            ("open_amount", "coverage", "stalled_deals", "win_rate", "velocity_per_day"),
        ),
    }
