"""Back-test results and definition changes → tables and Altair charts for the quality page. No queries."""
from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd
from pydantic import BaseModel

from core import edits
from core.metrics.backtest import Backtest
from core.semantic.measures import MEASURES, show

# Figure rows of the side-by-side table: Side attribute → measure key.
BACKTEST_ROWS: tuple[tuple[str, str], ...] = (
    ("leads", "backtest_leads"),
    ("share", "backtest_share"),
    ("opportunities", "backtest_opportunities"),
    ("opportunity_rate", "backtest_opportunity_rate"),
    ("won_leads", "backtest_won_leads"),
    ("won_rate", "backtest_won_rate"),
    ("won_deals", "backtest_won_deals"),
    ("won_revenue", "backtest_won_revenue"),
)
DRAFT_COLOUR, IN_FORCE_COLOUR = "#e8702a", "#4a70e8"


def backtest_frame(bt: Backtest) -> pd.DataFrame:
    """One row per figure; columns: the leads each definition qualifies and excludes, formatted."""
    name = bt.in_force_name
    groups = (
        (f"Qualify under {name}", bt.in_force),
        (f"Excluded by {name}", bt.in_force_excluded),
        ("Qualify under the draft", bt.draft),
        ("Excluded by the draft", bt.draft_excluded),
    )
    rows = []
    for attr, key in BACKTEST_ROWS:
        row = {"figure": MEASURES[key].label}
        for title, side in groups:
            row[title] = show(key, getattr(side, attr) if side is not None else None)
        rows.append(row)
    return pd.DataFrame(rows)


def monthly_frame(bt: Backtest) -> pd.DataFrame:
    """Long form (month, definition, quality_leads, leads) of the monthly volume under both definitions."""
    name = bt.in_force_name.capitalize() + " (in force)"
    m = bt.monthly
    if m.empty:
        return pd.DataFrame(columns=["month", "definition", "quality_leads", "leads"])
    return pd.concat([
        pd.DataFrame({"month": m["month"], "definition": name, "quality_leads": m["in_force"], "leads": m["leads"]}),
        pd.DataFrame({"month": m["month"], "definition": "Draft", "quality_leads": m["draft"], "leads": m["leads"]}),
    ], ignore_index=True)


def monthly_chart(frame: pd.DataFrame) -> alt.Chart:
    names = list(dict.fromkeys(frame["definition"]))
    colours = [IN_FORCE_COLOUR, DRAFT_COLOUR][: len(names)]
    base = alt.Chart(frame).encode(
        x=alt.X("yearmonth(month):T", title=None, axis=alt.Axis(format="%b %Y", labelAngle=0, tickCount="month")),
        y=alt.Y("quality_leads:Q", title="Quality leads per month", axis=alt.Axis(format=",d", tickMinStep=1)),
        color=alt.Color("definition:N", title=None, sort=names, scale=alt.Scale(domain=names, range=colours),
                        legend=alt.Legend(orient="top")),
        tooltip=[alt.Tooltip("yearmonth(month):T", title="Month", format="%B %Y"),
                 alt.Tooltip("definition:N", title="Definition"),
                 alt.Tooltip("quality_leads:Q", title="Quality leads", format=",d"),
                 alt.Tooltip("leads:Q", title="All leads", format=",d")],
    )
    # the version in force is drawn wide and pale under the draft, so both stay visible where they agree
    opacity = alt.Opacity("definition:N", sort=names, scale=alt.Scale(domain=names, range=[0.45, 1][: len(names)]),
                          legend=None)
    widths = alt.StrokeWidth("definition:N", sort=names, scale=alt.Scale(domain=names, range=[6, 2.5][: len(names)]),
                             legend=None)
    lines = base.mark_line().encode(strokeWidth=widths, opacity=opacity)
    points = base.mark_point(filled=True, size=45).encode(opacity=opacity)
    return (lines + points).properties(height=260)


def _cell(value) -> str:
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def diff_frame(before: BaseModel | None, after: BaseModel, labels: dict[str, str],
               before_title: str = "before", after_title: str = "after") -> pd.DataFrame:
    """The fields that differ between two definitions, readable."""
    return pd.DataFrame(
        [{"criterion": labels.get(f, f), before_title: _cell(a), after_title: _cell(b)}
         for f, a, b in edits.diff(before, after)],
        columns=["criterion", before_title, after_title],
    )


def proposals_frame(proposals: Sequence) -> pd.DataFrame:
    """Decided proposals for the record: who proposed what, why, and who decided."""
    return pd.DataFrame(
        [{"proposed at (UTC)": p.proposed_at, "proposed by": f"{p.proposed_by} ({p.proposed_team})",
          "on version": p.base_version, "reason": p.reason, "decision": p.status, "decided by": p.decided_by,
          "decided at (UTC)": p.decided_at, "note": p.decision_note or ""} for p in proposals],
        columns=["proposed at (UTC)", "proposed by", "on version", "reason", "decision", "decided by",
                 "decided at (UTC)", "note"],
    )

