"""Attribution: what each campaign and channel brought in the period — leads, quality leads, opportunities,
won revenue, cost, cost per quality lead and return — under first-touch, linear and W-shaped credit."""
from __future__ import annotations

import streamlit as st

from ui import data, sidebar
from core.charts_pipeline import attribution_table, models_chart
from core.metrics.attribution import MODELS, attribution, attribution_records
from ui.widgets import csv_download, measure, notes

KEY = "attribution"
VIEW_LABELS = {"campaign": "Campaign", "channel": "Channel"}
scope = sidebar.scope()
period, as_of = scope.period, scope.as_of

st.title(f"Attribution · {period.label}")
st.caption(
    f"{period.start:%d %b %Y} – {period.end:%d %b %Y} (end exclusive) · as of {as_of:%Y-%m-%d %H:%M} UTC · "
    "leads of the period by first touch; deals created and won in the period credited by the model"
)

c1, c2 = st.columns(2)
model = c1.radio("Credit model", list(MODELS), format_func=MODELS.get, horizontal=True, key=f"{KEY}_model",
                 help="First touch: the lead's campaign. Linear: equal shares of every touch before the deal was "
                      "created. W-shaped: 30% first touch, 30% lead creation, 30% opportunity creation, 10% the rest.")
view = c2.radio("Per", list(VIEW_LABELS), format_func=VIEW_LABELS.get, horizontal=True, key=f"{KEY}_view")

result = data.cached(attribution, period, as_of, view)
if result.frame.empty:
    st.info(" ".join(result.notes) or "Nothing to attribute in this period.")
else:
    table = result.table(model)
    totals = result.totals(model)
    c = st.columns(6)
    for col, key, value in (
        (c[0], "attr_leads", totals["leads"]), (c[1], "attr_quality_leads", totals["quality_leads"]),
        (c[2], "attr_opportunities", totals["opportunities"]), (c[3], "attr_won_revenue", totals["won_revenue"]),
        (c[4], "attr_cost", totals["cost"]), (c[5], "attr_return", totals["return"]),
    ):
        measure(col, key, value)
    st.caption("Totals cover every deal of the period: the rows 'no campaign', 'sales-sourced' and 'unknown lead' "
               "hold the credit no campaign earned. Return = revenue credited to campaigns ÷ their cost.")

    st.subheader(f"Per {view} · {MODELS[model]}")
    st.dataframe(attribution_table(table, VIEW_LABELS[view]), hide_index=True, width="stretch")
    csv_download(table, f"attribution-{period.label}-{view}-{model}.csv", key=f"{KEY}_table_csv")

    chart = models_chart(result.frame)
    if chart is not None:
        st.subheader("Won revenue under each model")
        st.caption("Where the bars differ, the models disagree about which campaign earned the revenue.")
        st.altair_chart(chart, width="stretch")

    with st.expander("Deals behind a row", expanded=False):
        keys = list(table["key"])
        names = dict(zip(table["key"], table["name"]))
        pick = st.selectbox(VIEW_LABELS[view], keys, format_func=names.get, key=f"{KEY}_pick")
        records = data.cached(attribution_records, period, as_of, model, view, pick)
        if records.frame.empty:
            st.caption("No deal of the period is credited to this row under this model.")
        else:
            shown = len(records.frame)
            st.caption(f"{records.total:,} deal(s) credited" +
                       (f"; the first {shown:,} are listed and in the CSV." if records.total > shown else "."))
            st.dataframe(records.frame, hide_index=True, width="stretch", height=min(38 + 35 * shown, 420))
            csv_download(records.frame, f"attribution-{period.label}-{model}-{pick}.csv", key=f"{KEY}_records_csv")

with st.expander("How credit is assigned"):
    st.markdown(
        "- **Leads and quality leads** are the period's leads, credited to their first-touch campaign "
        "(`leads.campaign_id`) under every model.\n"
        "- **Opportunities** (deals created in the period) and **won revenue** (deals won in the period) are "
        "split across the campaigns that touched the lead up to the moment the deal was created.\n"
        "- **Linear**: equal shares. **W-shaped**: 30% first touch, 30% the touch that created the lead, 30% "
        "the last touch before the deal, 10% shared by the touches in between. A touch holding two of those "
        "roles gets both shares; with no touch in between, the roles share everything (one touch: 100%; "
        "two: ⅔ and ⅓). A deal's shares always add up to its amount.\n"
        "- **Cost** is spread evenly over the campaign's days (to as-of while it runs); the period gets its days."
    )
notes(result.notes)
