"""Pipeline-gaps and attribution display: metric frames → formatted tables and Altair charts. No queries.

Numbers are formatted and labelled with core.semantic.measures (None reads as an em dash, never as 0); the
gap table is the Goals page's stage table, so both pages read the same.
"""
from __future__ import annotations

import altair as alt
import pandas as pd

from core.charts import INK
from core.charts_goals import OWNER_COLOURS
from core.metrics.attribution import MEASURE_COLUMNS, MODELS
from core.metrics.funnel import CONVERSION_MEASURES
from core.semantic.dimensions import DIMENSIONS
from core.semantic.enums import DEAL_STAGE_LABELS
from core.semantic.measures import MEASURES, fmt, missing, money_column, show

WIDENED, NARROWED, TOTAL = "#d6453d", "#2e9e5b", "#4a70e8"


def _cells(row: dict, columns: dict[str, str]) -> dict[str, str]:
    """measure name → the row's column holding it, as the measure's label → its formatted value."""
    return {MEASURES[m].label: show(m, row[c]) for m, c in columns.items()}


# --- Funnel -------------------------------------------------------------------------------------------

def comparison_table(frame: pd.DataFrame, period_label: str, previous_label: str) -> pd.DataFrame:
    """The funnel (and the figures beside it) this period, the previous period and the trailing year, each
    figure under its measure's label."""
    out = []
    for row in frame.to_dict("records"):
        line = {"Figure": ("beside: " if row["beside"] else "") + MEASURES[row["key"]].label}
        for key, title in (("this", period_label), ("previous", previous_label), ("year", "Trailing year")):
            line[title] = fmt(row[key], "count")
            line[f"{title} step %"] = "" if row["beside"] else fmt(row[f"{key}_conversion"], "percent")
        out.append(line)
    return pd.DataFrame(out)


def _with_delta(value, other) -> str:
    if missing(value):
        return "—"
    if missing(other):
        return f"{value:.0%}"
    return f"{value:.0%} ({(value - other) * 100:+.0f})"


SEGMENT_COUNTS = ("leads", "quality_leads", "accepted", "opportunities", "won", "unqualified_opportunities",
                  "unqualified_won")


def segment_funnel_table(frame: pd.DataFrame, segment: str, compare: str) -> pd.DataFrame:
    """One line per value of the dimension `segment`: counts, then each step's conversion with its change in
    percentage points against `compare` ('prev' or 'year') in brackets; every column a measure's label."""
    out = []
    for row in frame.to_dict("records"):
        line = {DIMENSIONS[segment].label: row["segment"]}
        for key in SEGMENT_COUNTS:
            line[MEASURES[key].label] = fmt(row[key], "count")
        for stage, name in CONVERSION_MEASURES.items():
            line[MEASURES[name].label] = _with_delta(row[f"conv_{stage}"], row[f"{compare}_conv_{stage}"])
        out.append(line)
    return pd.DataFrame(out)


# --- Gap to goal --------------------------------------------------------------------------------------

# The gap table is the Goals page's stage table (core.charts_goals.stage_table) with these figures.
GAP_TABLE = ("stage_target", "stage_target_to_date", "stage_actual", "stage_gap", "stage_pacing", "revenue_at_stake")


def gap_chart(frame: pd.DataFrame, segmented: bool, top: int = 12) -> alt.Chart | None:
    """Revenue at stake of the biggest gaps (positive: behind), coloured by the stage's owner."""
    data = frame.dropna(subset=["revenue_at_stake"])
    data = data[data["revenue_at_stake"] > 0].head(top)
    if data.empty:
        return None
    data = data.assign(
        what=[f"{seg} · {label}" if segmented else label
              for seg, label in zip(data.get("segment", data["label"]), data["label"])],
        text=[show("revenue_at_stake", v) for v in data["revenue_at_stake"]],
    )
    top_value = float(data["revenue_at_stake"].max()) * 1.25
    base = alt.Chart(data).encode(
        y=alt.Y("what:N", sort=list(data["what"]), title=None, axis=alt.Axis(labelFontSize=12, labelLimit=260)),
        x=alt.X("revenue_at_stake:Q", title="Revenue at stake", axis=alt.Axis(format="$~s"),
                scale=alt.Scale(domain=[0, top_value], nice=False)),
        tooltip=[alt.Tooltip("what:N", title="Gap"), alt.Tooltip("owner:N", title="Owner"),
                 alt.Tooltip("revenue_at_stake:Q", title="Revenue at stake", format="$,.0f")],
    )
    bars = base.mark_bar(cornerRadiusEnd=3).encode(
        color=alt.Color("owner:N", title="Owner", legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(OWNER_COLOURS), range=list(OWNER_COLOURS.values()))))
    text = base.mark_text(align="left", dx=4, fontSize=12, color=INK).encode(text="text:N")
    # Streamlit fits the whole chart (legend and axis included) into the height
    return (bars + text).properties(height=40 * len(data) + 120)


# --- Pipeline health ----------------------------------------------------------------------------------

HEALTH_MEASURES = ("won_revenue", "win_rate", "segment_goal", "coverage", "coverage_needed", "pipeline_shortfall",
                   "stalled_deals")


def health_table(frame: pd.DataFrame, segment: str) -> pd.DataFrame:
    out = []
    for row in frame.to_dict("records"):
        out.append({
            DIMENSIONS[segment].label: row["segment"],
            MEASURES["open_amount"].label: ("—" if missing(row["open_amount"]) else
                                            f"{show('open_amount', row['open_amount'])} ({fmt(row['open_deals'], 'count')})"),
            **_cells(row, {m: m for m in HEALTH_MEASURES}),
            "Status": row["status"],
        })
    return pd.DataFrame(out)


def stalled_table(frame: pd.DataFrame) -> pd.DataFrame:
    """core.metrics.pipeline.deal_records' stalled (or snoozed) deals, formatted: the stage's threshold when
    the list has it, and who snoozed a deal, why and until when."""
    def line(i: int, row: dict) -> dict:
        out = {
            "Deal": row["deal_id"],
            "Account": "—" if missing(row["account"]) else row["account"],
            "Stage": DEAL_STAGE_LABELS[row["stage"]],
            MEASURES["days_in_stage"].label: show("days_in_stage", row["days_in_stage"]),
        }
        if "stall_after_days" in row:
            out["Stalls after"] = f"{fmt(row['stall_after_days'], 'count')} d"
        if "snoozed_until" in row:
            out.update({"Snoozed until": str(row["snoozed_until"])[:10], "Snoozed by": row["snoozed_by"],
                        "Why": row["snooze_reason"]})
        out.update({DIMENSIONS["rep"].label: row["owner"], "Amount": amounts[i],
                    "Expected close": "—" if missing(row["expected_close_on"]) else str(row["expected_close_on"])[:10]})
        return out
    amounts = money_column(frame["amount"].tolist()) if "amount" in frame else []
    return pd.DataFrame([line(i, row) for i, row in enumerate(frame.to_dict("records"))])


# --- Gap decomposition --------------------------------------------------------------------------------

def _step_text(amount: float, kind: str) -> str:
    if kind == "total":
        return fmt(amount, "money")
    # a component that widened the gap took revenue away from the goal: shown as a step down
    return ("−" if amount > 0 else "+") + fmt(abs(amount), "money")


def waterfall_chart(frame: pd.DataFrame) -> alt.LayerChart | alt.FacetChart | None:
    """Goal to date, each component as a step (red: widened the gap, green: narrowed it), won to date."""
    if frame.empty:
        return None
    data = frame.assign(
        low=[min(a, b) for a, b in zip(frame["start"], frame["end"])],
        high=[max(a, b) for a, b in zip(frame["start"], frame["end"])],
        text=[_step_text(a, k) for a, k in zip(frame["amount"], frame["kind"])],
    )
    top = max(float(data["high"].max()), 1.0) * 1.12
    bottom = min(float(data["low"].min()), 0.0)
    x = alt.X("label:N", sort=list(data["label"]), title=None,
              axis=alt.Axis(labelAngle=0, labelLimit=150, labelFontSize=12, labelExpr="split(datum.label, ' (')[0]"))
    tooltip = [alt.Tooltip("label:N", title="Step"), alt.Tooltip("amount:Q", title="Amount", format="$,.0f"),
               alt.Tooltip("kind:N", title="Effect")]
    base = alt.Chart(data)
    bars = base.mark_bar(size=46).encode(
        x=x,
        y=alt.Y("low:Q", title="Revenue", axis=alt.Axis(format="$~s"), scale=alt.Scale(domain=[bottom, top], nice=False)),
        y2="high:Q",
        color=alt.Color("kind:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=["total", "widened the gap", "narrowed the gap"],
                                        range=[TOTAL, WIDENED, NARROWED])),
        tooltip=tooltip,
    )
    text = base.mark_text(dy=-8, fontSize=12, color=INK).encode(x=x, y="high:Q", text="text:N")
    return alt.layer(bars, text).properties(height=340)


def _factor(value, kind: str) -> str:
    if kind == "money" and not missing(value):
        return f"${value:,.0f}"  # to the dollar: deal sizes a few percent apart must not read the same
    if kind == "count" and not missing(value):
        return f"{value:,.1f}" if value != int(value) else f"{value:,.0f}"
    return fmt(value, kind)


def factors_table(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame([{
        "Factor": row["factor"],
        "Cascade assumption": _factor(row["plan"], row["fmt"]),
        "Actual in the period": _factor(row["actual"], row["fmt"]),
    } for row in frame.to_dict("records")])


def components_markdown(frame: pd.DataFrame) -> str:
    """One line per component (Decomposition.component_frame): what it did to the gap, and what it means
    (its measure's label and definition, and numbers: nothing from the data)."""
    lines = []
    for row in frame.to_dict("records"):
        amount = row["amount"]
        did = ("left the gap as it was" if not amount else
               f"widened the gap by **{fmt(amount, 'money')}**" if amount > 0 else
               f"narrowed the gap by **{fmt(-amount, 'money')}**")
        m = MEASURES[row["measure"]]
        lines.append(f"- **{m.label}** {did}. {m.help}")
    return "\n".join(lines)


# --- Attribution --------------------------------------------------------------------------------------

def attribution_table(frame: pd.DataFrame, view: str) -> pd.DataFrame:
    """One attribution view (core.metrics.attribution.VIEWS) under one model, formatted."""
    out = []
    for row in frame.to_dict("records"):
        line = {DIMENSIONS[view].label: row["name"]}
        if view == "campaign":
            line[DIMENSIONS["channel"].label] = row["channel"] if row["bucket"] == "campaign" else "—"
        line.update(_cells(row, MEASURE_COLUMNS))
        out.append(line)
    return pd.DataFrame(out)


def models_chart(frame: pd.DataFrame, top: int = 12) -> alt.Chart | None:
    """Won revenue of the biggest rows under each model, side by side: where the models disagree."""
    cols = [f"won_revenue_{m}" for m in MODELS]
    if frame.empty or frame[cols].fillna(0).to_numpy().sum() == 0:
        return None
    data = frame.assign(_max=frame[cols].max(axis=1)).sort_values("_max", ascending=False).head(top)
    data = data[data["_max"] > 0]
    long = data.melt(id_vars=["name"], value_vars=cols, var_name="model", value_name="won_revenue").dropna()
    long["model"] = long["model"].str.removeprefix("won_revenue_").map(MODELS)
    names = list(data["name"])
    return alt.Chart(long).mark_bar().encode(
        y=alt.Y("name:N", sort=names, title=None, axis=alt.Axis(labelLimit=240, labelFontSize=12)),
        yOffset=alt.YOffset("model:N", sort=list(MODELS.values())),
        x=alt.X("won_revenue:Q", title="Won revenue credited", axis=alt.Axis(format="$~s")),
        color=alt.Color("model:N", title="Model", sort=list(MODELS.values()), legend=alt.Legend(orient="top"),
                        scale=alt.Scale(range=["#c9d6fa", "#9db4f5", "#4a70e8", "#1b3fb8", "#0b1f66"][:len(MODELS)])),
        tooltip=[alt.Tooltip("name:N", title="Row"), alt.Tooltip("model:N", title="Model"),
                 alt.Tooltip("won_revenue:Q", title="Won revenue", format="$,.0f")],
    ).properties(height=54 * len(names) + 110)
