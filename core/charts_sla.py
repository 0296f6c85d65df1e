"""DataFrame → Altair charts for the SLA page. No queries: they draw what core.metrics.sla returns."""
from __future__ import annotations

import altair as alt
import pandas as pd

from core.charts import INK, text_tooltip, written
from core.semantic.dimensions import DIMENSIONS
from core.semantic.enums import SLA_STATUSES
from core.semantic.measures import MEASURES

STATUS_ORDER = list(SLA_STATUSES)
STATUS_COLOURS = ["#2e9e5b", "#d6453d", "#b9c0cc"]
COMMITMENT_COLOUR = INK  # the commitment's tick and the labels: readable in the light and the dark theme
DELIVERED_COLOUR = "#4a70e8"


def weekly_trend_chart(weekly: pd.DataFrame) -> alt.LayerChart:
    """Met / breached / pending per ISO week of clock start (stacked bars) and compliance (line)."""
    compliance, median = MEASURES["compliance"].label, MEASURES["median_hours"].label
    counts = weekly.melt(id_vars=["week", "week_start"], value_vars=STATUS_ORDER, var_name="status",
                         value_name="leads")
    counts["order"] = counts["status"].map({s: i for i, s in enumerate(STATUS_ORDER)})
    x = alt.X("week:N", sort=None, title="ISO week of clock start", axis=alt.Axis(labelAngle=0))
    bars = alt.Chart(counts).mark_bar().encode(
        x=x,
        y=alt.Y("leads:Q", title=MEASURES["sla_quality_leads"].label, axis=alt.Axis(format=",d", tickMinStep=1)),
        color=alt.Color("status:N", sort=STATUS_ORDER,
                        scale=alt.Scale(domain=STATUS_ORDER, range=STATUS_COLOURS),
                        legend=alt.Legend(title=None, orient="top")),
        order=alt.Order("order:Q"),
        tooltip=[alt.Tooltip("week:N", title="Week"), alt.Tooltip("week_start:T", title="Starts", format="%d %b %Y"),
                 alt.Tooltip("status:N", title="Status"), alt.Tooltip("leads:Q", title="Leads", format=",d")],
    )
    line = alt.Chart(weekly).mark_line(point=True, color=COMMITMENT_COLOUR).encode(
        x=x,
        y=alt.Y("compliance:Q", title=compliance, scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        tooltip=[alt.Tooltip("week:N", title="Week"), alt.Tooltip("compliance:Q", title=compliance, format=".1%"),
                 alt.Tooltip("median_hours_to_first_touch:Q", title=median + " (h)", format=".1f")],
    )
    return alt.layer(bars, line).resolve_scale(y="independent").properties(height=260)


def compliance_by_chart(frame: pd.DataFrame, label_column: str) -> alt.LayerChart:
    """Horizontal compliance bars per team (or rep), labelled with met of judged (met + breached)."""
    title = {name: MEASURES[name].label for name in ("compliance", "sla_met", "sla_breached", "sla_pending")}
    data = frame.assign(
        label=[
            (f"{c:.0%}  ({m:,.0f} of {m + b:,.0f})" if pd.notna(c) else "— (nothing measured yet)")
            for c, m, b in zip(frame["compliance"], frame["met"], frame["breached"])
        ],
        bar=frame["compliance"].fillna(0),
    ).pipe(written, {"compliance": "percent"})
    base = alt.Chart(data).encode(
        y=alt.Y(f"{label_column}:N", sort=None, title=None, axis=alt.Axis(labelFontSize=12, labelLimit=220)),
        x=alt.X("bar:Q", title=title["compliance"], scale=alt.Scale(domain=[0, 1.3], nice=False),
                axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1])),
        tooltip=[alt.Tooltip(f"{label_column}:N", title=DIMENSIONS[label_column].label),
                 text_tooltip("compliance", title["compliance"]),
                 alt.Tooltip("met:Q", title=title["sla_met"], format=",d"),
                 alt.Tooltip("breached:Q", title=title["sla_breached"], format=",d"),
                 alt.Tooltip("pending:Q", title=title["sla_pending"], format=",d")],
    )
    bars = base.mark_bar(cornerRadiusEnd=3, color=STATUS_COLOURS[0])
    text = base.mark_text(align="left", dx=4, fontSize=12, color=COMMITMENT_COLOUR).encode(text="label:N")
    return (bars + text).properties(height=alt.Step(30))


def delivery_chart(months: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    """Quality leads delivered per month (bars) against the month's commitment (tick)."""
    x = alt.X("month:N", sort=None, title=None, axis=alt.Axis(labelAngle=0))
    # a month to come has no delivery and a month may have no commitment: tooltips read "—", not "null"
    months = written(months, {"quality_leads": "count", "committed": "count", "delivery": "percent"})
    tooltip = [alt.Tooltip("month:N", title="Month"),
               text_tooltip("quality_leads", MEASURES["quality_leads"].label),
               text_tooltip("committed", MEASURES["committed"].label),
               text_tooltip("delivery", MEASURES["delivery"].label),
               alt.Tooltip("elapsed_share:Q", title="Month elapsed", format=".0%")]
    top = max(float(months["quality_leads"].max() or 0), float(months["committed"].max() or 0), 1.0) * 1.15
    bars = alt.Chart(months).mark_bar(color=DELIVERED_COLOUR, size=48).encode(
        x=x, y=alt.Y("quality_leads:Q", title=MEASURES["quality_leads"].label, scale=alt.Scale(domain=[0, top], nice=False),
                     axis=alt.Axis(format=",d", tickMinStep=1)),
        tooltip=tooltip,
    )
    layers = [bars]
    if months["committed"].notna().any():
        layers.append(alt.Chart(months).mark_tick(color=COMMITMENT_COLOUR, thickness=3, size=70).encode(
            x=x, y="committed:Q", tooltip=tooltip))
    return alt.layer(*layers).properties(height=240)


def rejections_chart(reasons: pd.DataFrame) -> alt.Chart:
    """Rejected quality leads per segment (campaign or source), stacked by reason."""
    return alt.Chart(reasons).mark_bar().encode(
        y=alt.Y("segment:N", sort=None, title=None, axis=alt.Axis(labelLimit=220)),
        x=alt.X("rejected:Q", title=MEASURES["rejected"].label, axis=alt.Axis(format=",d", tickMinStep=1)),
        color=alt.Color("reason:N", title="Reason", legend=alt.Legend(orient="right", labelLimit=260)),
        tooltip=[alt.Tooltip("segment:N", title="Segment"), alt.Tooltip("reason:N", title="Reason"),
                 alt.Tooltip("rejected:Q", title=MEASURES["rejected"].label, format=",d")],
    ).properties(height=alt.Step(24))


DISTRIBUTION_SHARES = ("within_5m_share", "within_1h_share", "within_24h_share")
DISTRIBUTION_COLOURS = ["#1b6e3f", "#2e9e5b", "#9fd4b0"]


def response_distribution_chart(frame: pd.DataFrame, label_column: str) -> alt.Chart:
    """Per segment, the share of touched quality leads first touched within 5 minutes, 1 hour and 24 hours
    of clock start: three bars side by side (the shares nest, so they are not stacked)."""
    labels = {name: MEASURES[name].label for name in DISTRIBUTION_SHARES}
    long = frame.melt(id_vars=[label_column, "touched_leads"], value_vars=list(DISTRIBUTION_SHARES),
                      var_name="window", value_name="share")
    long["window"] = long["window"].map(labels)
    order = [labels[n] for n in DISTRIBUTION_SHARES]
    return alt.Chart(long.dropna(subset=["share"])).mark_bar().encode(
        y=alt.Y(f"{label_column}:N", sort=None, title=None, axis=alt.Axis(labelLimit=220)),
        yOffset=alt.YOffset("window:N", sort=order),
        x=alt.X("share:Q", title="Share of touched quality leads", scale=alt.Scale(domain=[0, 1]),
                axis=alt.Axis(format="%")),
        color=alt.Color("window:N", sort=order, scale=alt.Scale(domain=order, range=DISTRIBUTION_COLOURS),
                        legend=alt.Legend(title=None, orient="top")),
        tooltip=[alt.Tooltip(f"{label_column}:N", title=DIMENSIONS[label_column].label),
                 alt.Tooltip("window:N", title="Window"), alt.Tooltip("share:Q", title="Share", format=".1%"),
                 alt.Tooltip("touched_leads:Q", title=MEASURES["touched_leads"].label, format=",d")],
    ).properties(height=alt.Step(14))
