"""DataFrame → Altair chart. No queries here: charts draw what the metric functions return."""
from __future__ import annotations

import altair as alt
import pandas as pd

from core.metrics.funnel import Funnel
from core.semantic.enums import FUNNEL_STAGES
from core.semantic.measures import MEASURES, fmt

STAGE_COLOURS = ["#9db4f5", "#6f8ff0", "#4a70e8", "#2f5bea", "#1b3fb8"]
# Labels, rules and ticks drawn on the chart's background: a mid-tone that reads on white, on Streamlit's dark
# theme and on paper (Streamlit themes the axes, not the marks; near-black labels vanish in the dark theme).
INK = "#6b7386"


def written(frame: pd.DataFrame, fields: dict[str, str]) -> pd.DataFrame:
    """`frame` with a `<field>_text` column for each of `fields` (field → core.semantic.measures format), the value
    as the app writes it: a tooltip then reads "—" for a figure that cannot be computed, never "null", and
    counts never "631.0"."""
    return frame.assign(**{f"{field}_text": [fmt(v, kind) for v in frame[field]] for field, kind in fields.items()})


def text_tooltip(field: str, title: str) -> alt.Tooltip:
    """The tooltip of a column `written` made."""
    return alt.Tooltip(f"{field}_text:N", title=title)


def funnel_frame(f: Funnel) -> pd.DataFrame:
    """The funnel as rows (stage labelled as its measure, count, conversion from the previous stage)."""
    conv = f.conversions()
    rows = []
    for i, stage in enumerate(FUNNEL_STAGES):
        rows.append({
            "order": i,
            "stage": MEASURES[stage].label,
            "count": getattr(f, stage),
            "conversion": conv.get(stage),
        })
    return pd.DataFrame(rows)


def funnel_chart(frame: pd.DataFrame) -> alt.Chart:
    data = frame.assign(
        label=[
            f"{c:,.0f}" + (f"  ({v:.0%} of previous)" if v is not None and pd.notna(v) else "")
            if c is not None and pd.notna(c) else "—"
            for c, v in zip(frame["count"], frame["conversion"])
        ]
    )
    base = alt.Chart(data).encode(
        y=alt.Y("stage:N", sort=alt.SortField("order"), title=None, axis=alt.Axis(labelFontSize=13)),
        # headroom on the right so the label of the widest bar is not cut off
        x=alt.X("count:Q", title=None, axis=alt.Axis(format=",d", tickMinStep=1),
                scale=alt.Scale(domain=[0, max(float(frame["count"].max() or 0), 1.0) * 1.3], nice=False)),
        tooltip=[alt.Tooltip("stage:N", title="Stage"), alt.Tooltip("count:Q", title="Count", format=",d"),
                 alt.Tooltip("conversion:Q", title="From previous stage", format=".1%")],
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        color=alt.Color("stage:N", sort=alt.SortField("order"), scale=alt.Scale(range=STAGE_COLOURS), legend=None)
    )
    text = base.mark_text(align="left", dx=4, fontSize=12, color=INK).encode(text="label:N")
    return (bars + text).properties(height=230)
