"""Attribution: what each campaign and channel brought in the period — leads, quality leads, opportunities,
won revenue, cost, cost per quality lead and return — under first-touch, linear, W-shaped, U-shaped and
time-decay credit, within a lookback window when one is chosen."""
from __future__ import annotations

import streamlit as st

from core import pipeline_view as view
from core.charts_pipeline import attribution_table, models_chart
from core.metrics.attribution import (
    DEFAULT_HALF_LIFE_DAYS,
    LOOKBACK_CHOICES,
    MODELS,
    VIEWS,
    attribution,
    attribution_records,
)
from core.semantic.dimensions import labels
from ui import data, sidebar
from ui.widgets import csv_download, drill_down, measure_row, notes, period_caption, plain, records_list

KEY = "attribution"
scope = sidebar.scope()
period, as_of = scope.period, scope.as_of

st.title(f"Attribution · {period.label}")
period_caption(scope, "leads of the period by first touch; deals created and won in the period credited by the model")

# the model, the view and the window live in the URL: a link is the view
c1, c2 = st.columns([3, 1])
model = c1.radio("Credit model", list(MODELS), format_func=MODELS.get, horizontal=True, key=f"{KEY}_model", bind="query-params",
                 help="First touch: the lead's campaign. Linear: equal shares of every touch before the deal was "
                      "created. W-shaped: 30% first touch, 30% lead creation, 30% opportunity creation, 10% the rest. "
                      "U-shaped: 40% first touch, 40% lead creation, 20% the rest. Time decay: a touch counts half "
                      "as much for every half-life it came before the deal.")
views = labels(VIEWS)
per = c2.radio("Per", list(views), format_func=views.get, horizontal=True, key=f"{KEY}_view",
               bind="query-params")
c3, c4, _ = st.columns([1, 1, 2])
lookback = c3.selectbox("Lookback", LOOKBACK_CHOICES, key=f"{KEY}_lookback", bind="query-params",
                        format_func=lambda d: "No window" if d is None else f"{d} days",
                        help="Touches more than this many days before the deal was created do not count (under first "
                             "touch: a lead created that long before). A deal touched only earlier is 'unattributed'.")
half_life = c4.number_input("Time-decay half-life (days)", min_value=1, max_value=365, step=1,
                            value=int(DEFAULT_HALF_LIFE_DAYS), key=f"{KEY}_half_life", bind="query-params",
                            help="Time decay only: a touch this many days older than another counts half as much.")

result = data.cached(attribution, period, as_of, per, lookback, float(half_life))
if result.frame.empty:
    st.info(plain(" ".join(result.notes)) or "Nothing to attribute in this period.")  # notes may quote the data
else:
    cards = view.attribution_cards(result, model)
    measure_row(cards)
    st.caption("Totals cover every deal of the period: the rows '(no campaign)', 'sales-sourced', 'unknown lead' and, "
               "with a lookback, 'unattributed' hold the credit no campaign earned. Return = revenue credited to "
               "campaigns ÷ their cost.")

    table = result.table(model)
    window = "" if lookback is None else f" · {lookback}-day lookback"
    st.subheader(f"Per {per} · {MODELS[model]}{window}")
    st.dataframe(attribution_table(table, per), hide_index=True, width="stretch")
    csv_download(table, f"attribution-{period.label}-{per}-{model}{'' if lookback is None else f'-{lookback}d'}.csv",
                 key=f"{KEY}_table_csv")

    chart = models_chart(result.frame)
    if chart is not None:
        st.subheader("Won revenue under each model")
        st.caption("Where the bars differ, the models disagree about which campaign earned the revenue.")
        st.altair_chart(chart, width="stretch")

    box = drill_down("Deals behind a row", f"{KEY}_records")
    with box:
        if box.open:
            choices = view.attribution_choices(table)
            pick = st.selectbox(views[per], list(choices), format_func=choices.get, key=f"{KEY}_pick")
            records = data.cached(attribution_records, period, as_of, model, per, pick, lookback_days=lookback,
                                  half_life_days=float(half_life))
            records_list(records.frame, records.caption("deal(s) credited",
                                                        empty="No deal of the period is credited to this row under this model."),
                         f"attribution-{period.label}-{model}-{pick}.csv", f"{KEY}_records_csv")

with st.expander("How credit is assigned"):
    st.markdown(
        "- **Leads and quality leads** are the period's leads, credited to their first-touch campaign "
        "(`leads.campaign_id`) under every model.\n"
        "- **Opportunities** (deals created in the period) and **won revenue** (deals won in the period) are "
        "split across the campaigns that touched the lead up to the moment the deal was created.\n"
        "- **Linear**: equal shares. **W-shaped**: 30% first touch, 30% the touch that created the lead, 30% "
        "the last touch before the deal, 10% shared by the touches in between. A touch holding two of those "
        "roles gets both shares; with no touch in between, the roles share everything (one touch: 100%; "
        "two: ⅔ and ⅓).\n"
        "- **U-shaped**: 40% first touch, 40% the lead-creation touch, 20% shared by the others (the same role "
        "rules: one touch 100%; two touches 80/20 when the first created the lead, else 50/50).\n"
        "- **Time decay**: each touch weighs 2^(−days before the deal ÷ half-life), shares in proportion.\n"
        "- **Lookback**: touches more than N days before the deal do not count; a deal with no touch left is "
        "credited to 'unattributed', never dropped. A deal's shares always add up to its amount under every "
        "model and window.\n"
        "- **Cost** is spread evenly over the campaign's days (to as-of while it runs); the period gets its days."
    )
notes(result.notes)
