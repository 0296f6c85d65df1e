"""Shared goals' tables and charts: GoalPlan frames → display tables and Altair charts. No queries here.

Targets stay fractional in core.metrics.goals; this is where they are rounded up for people (you cannot
win 0.3 of a deal). Actuals are whole numbers, so ceil(target) − actual = ceil(target − actual): the
rounded target, actual and gap always agree in the table.
"""
from __future__ import annotations

import math

import altair as alt
import pandas as pd

from core.charts import INK, text_tooltip, written
from core.semantic.measures import MEASURES, fmt, missing, show

OWNER_COLOURS = {"sales": "#2f5bea", "marketing": "#d9730d"}


def whole_up(value) -> int | None:
    """A target or gap rounded up to whole units (a hair of float noise is not a unit)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return math.ceil(value - 1e-9)


def _count(value) -> str:
    return fmt(whole_up(value), "count")


def _rate(name: str, value) -> str:
    """A cascade input (deal size or a rate) as its measure is formatted."""
    return show(name, value)


def _basis(row) -> str:
    if row["overridden"]:
        return f"override (trailing year: {_rate(row['rate_name'], row['rate_trailing'])})"
    if row.get("by_construction"):
        return f"by construction ({row['by_construction']})"
    if missing(row["rate_trailing"]):
        return "no trailing-year data"
    return "trailing year"


def rates_table(rows: pd.DataFrame) -> pd.DataFrame:
    """How each stage's target is derived: the rate (or deal size) used and whether it is an override."""
    return pd.DataFrame([{
        "Stage": row["label"],
        "Owner": row["owner"],
        "Target derived as": row["derived_as"],
        "Rate or size used": _rate(row["rate_name"], row["rate"]),
        "Basis": _basis(row),
    } for row in rows.to_dict("records")])


COUNTS = "Counts"  # the column saying which records a stage's actual counts (deals closed in the period, …)
# A stage table's figures: measure → the column of a goal plan's (or stage gaps') frame holding it.
STAGE_FIGURES: dict[str, str] = {
    "segment_share": "share", "stage_target": "target", "stage_target_to_date": "target_to_date",
    "stage_actual": "actual", "stage_pacing": "pacing", "stage_gap": "gap_to_date", "still_needed": "still_needed",
    "revenue_at_stake": "revenue_at_stake",
}
_WHOLE_UNITS = frozenset({"stage_target", "stage_target_to_date", "stage_gap", "still_needed"})
GOAL_TABLE = ("stage_target", "stage_target_to_date", "stage_actual", "stage_pacing", "stage_gap", "still_needed")


def stage_table(rows: pd.DataFrame, measures: tuple[str, ...] = GOAL_TABLE, with_share: bool = False,
                segment_label: str | None = None) -> pd.DataFrame:
    """One line per stage (per segment value and stage with `segment_label`): the stage, its owner, what its
    actual counts, then each of `measures` (STAGE_FIGURES) labelled and formatted as declared — targets and
    gaps in whole units, rounded up — and, split, the segment's share first."""
    out = []
    for row in rows.to_dict("records"):
        line = {segment_label: row["segment"]} if segment_label else {}
        line.update({"Stage": row["label"], "Owner": row["owner"], COUNTS: row["counts"]})
        for name in (("segment_share",) if with_share else ()) + tuple(measures):
            value = row[STAGE_FIGURES[name]]
            line[MEASURES[name].label] = show(name, whole_up(value) if name in _WHOLE_UNITS else value)
        out.append(line)
    return pd.DataFrame(out)


def whatif_table(rows: pd.DataFrame) -> pd.DataFrame:
    """What-if volumes beside the saved plan's targets."""
    out = []
    for row in rows.to_dict("records"):
        required, saved = whole_up(row["required"]), whole_up(row["saved_target"])  # None when missing
        change = None if required is None or saved is None else required - saved
        out.append({
            "Stage": row["label"],
            "Owner": row["owner"],
            "Derived as": row["derived_as"],
            "Rate or size": _rate(row["rate_name"], row["rate"]) + (" (changed)" if row["rate_changed"] else ""),
            MEASURES["required_volume"].label: _count(row["required"]),
            "Saved plan": _count(row["saved_target"]),
            "Change": "—" if change is None else (f"{change:+,d}" if change else "0"),
        })
    return pd.DataFrame(out)


def progress_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Chart rows: progress = actual ÷ full-period target, with labels; stages without a target dropped."""
    data = []
    for order, row in enumerate(rows.to_dict("records")):
        if missing(row["target"]) or not row["target"] or missing(row["actual"]):
            continue
        data.append({
            "order": order,
            "stage": row["label"],
            "owner": row["owner"],
            "progress": row["progress"],
            "target": whole_up(row["target"]),
            "target_to_date": whole_up(row["target_to_date"]),
            "actual": int(row["actual"]),
            "pacing": None if missing(row["pacing"]) else row["pacing"],
            "label": f"{int(row['actual']):,} of {whole_up(row['target']):,}"
                     + ("" if missing(row["pacing"]) else f" · pacing {row['pacing']:.0%}"),
        })
    return pd.DataFrame(data)


def progress_chart(rows: pd.DataFrame, elapsed_share: float) -> alt.LayerChart | alt.FacetChart | None:
    """Bullet chart on one scale: grey bar = the whole period's target (100%), coloured bar = actual to
    date as a share of it, dashed line = where the stage should be today (the elapsed share)."""
    data = progress_frame(rows)
    if data.empty:
        return None
    top = max(1.0, float(data["progress"].max())) * 1.35  # room for the labels right of the bars
    y = alt.Y("stage:N", sort=list(data["stage"]), title=None, axis=alt.Axis(labelFontSize=13))
    tooltip = [
        alt.Tooltip("stage:N", title="Stage"), alt.Tooltip("owner:N", title="Owner"),
        alt.Tooltip("target:Q", title=MEASURES["stage_target"].label, format=",d"),
        alt.Tooltip("target_to_date:Q", title=MEASURES["stage_target_to_date"].label, format=",d"),
        alt.Tooltip("actual:Q", title=MEASURES["stage_actual"].label, format=",d"),
        text_tooltip("pacing", MEASURES["stage_pacing"].label),  # "—" before the period starts, not "null"
    ]
    data = written(data, {"pacing": "percent"}).assign(full=1.0, label_at=[max(p, 1.0) for p in data["progress"]])
    base = alt.Chart(data)

    def x(field: str) -> alt.X:
        return alt.X(f"{field}:Q", title="share of the period's target", axis=alt.Axis(format="%"),
                     scale=alt.Scale(domain=[0, top], nice=False))

    full = base.mark_bar(color=INK, opacity=0.2, size=24)  # a tint: light on white, dark in the dark theme
    full = full.encode(y=y, x=x("full"), tooltip=tooltip)
    actual = base.mark_bar(size=12, cornerRadiusEnd=3).encode(
        y=y, x=x("progress"), tooltip=tooltip,
        color=alt.Color("owner:N", title="Owner", legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(OWNER_COLOURS), range=list(OWNER_COLOURS.values()))),
    )
    today = alt.Chart(pd.DataFrame({"value": [elapsed_share], "what": ["where every stage should be today"]})).mark_rule(
        color=INK, strokeDash=[4, 3], size=1.5).encode(x=x("value"), tooltip=alt.Tooltip("what:N", title="Pace line"))
    text = base.mark_text(align="left", dx=6, fontSize=12, color=INK).encode(
        y=y, x=x("label_at"), text="label:N")
    return alt.layer(full, actual, today, text).properties(height=48 * len(data) + 40)


def pacing_heatmap(stages: pd.DataFrame) -> alt.Chart | None:
    """Pacing of every (segment value, stage): red behind, green ahead; blank where there is no target."""
    if stages.empty:
        return None
    order = list(dict.fromkeys(stages["label"]))
    data = stages.assign(
        pacing_value=[None if missing(p) else float(p) for p in stages["pacing"]],
        text=[("—" if missing(p) else f"{p:.0%}") for p in stages["pacing"]],
        target_whole=[whole_up(t) for t in stages["target"]],
        actual_whole=[None if missing(a) else int(a) for a in stages["actual"]],
    )[["segment", "label", "pacing_value", "text", "target_whole", "actual_whole"]]
    segments = list(dict.fromkeys(data["segment"]))
    base = alt.Chart(data).encode(
        x=alt.X("label:N", sort=order, title=None, axis=alt.Axis(orient="top", labelAngle=0, labelFontSize=12)),
        y=alt.Y("segment:N", sort=segments, title=None, axis=alt.Axis(labelFontSize=12, labelLimit=220)),
        tooltip=[alt.Tooltip("segment:N", title="Segment"), alt.Tooltip("label:N", title="Stage"),
                 alt.Tooltip("target_whole:Q", title=MEASURES["stage_target"].label, format=",d"),
                 alt.Tooltip("actual_whole:Q", title=MEASURES["stage_actual"].label, format=",d"),
                 alt.Tooltip("pacing_value:Q", title=MEASURES["stage_pacing"].label, format=".0%")],
    )
    cells = base.mark_rect(stroke="white", strokeWidth=2).encode(
        color=alt.condition(
            "isValid(datum.pacing_value)",
            alt.Color("pacing_value:Q", title="Pacing: red behind, green ahead of pace",
                      legend=alt.Legend(format="%", orient="top", direction="horizontal", gradientLength=220,
                                        titleLimit=400),
                      scale=alt.Scale(domain=[0, 1, 2], range=["#d64541", "#f5f0c8", "#2e9e5b"], clamp=True)),
            alt.value("#f1f2f5"),
        )
    )
    text = base.mark_text(fontSize=12, color="#1b2333").encode(text="text:N")
    return (cells + text).properties(height=max(34 * len(segments), 80))
