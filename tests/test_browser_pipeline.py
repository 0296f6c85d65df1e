"""Browser tier for Pipeline gaps and Attribution: both pages in Chromium on the tiny world (2026-Q3 as of
2026-08-15 12:00), every tab opened, a model and a lookback switched, a drill-down's CSV downloaded."""
from __future__ import annotations

from browser_support import assert_clean, download_text, expect_charts, expect_text, open_page, open_tab, reruns
from core.semantic.measures import MEASURES


def test_pipeline_tabs(browser, tiny_server):
    page = open_page(browser, tiny_server, "pipeline")
    assert_clean(page, "pipeline-funnel")
    expect_text(page, "Pipeline gaps · 2026-Q3", "Sales-sourced deals", "2026-Q2: 1", "By segment")
    expect_charts(page, at_least=1)

    open_tab(page, "Gap to goal", "ranked by the revenue they put at stake")
    assert_clean(page, "pipeline-gap")

    open_tab(page, "Pipeline health", "Movement in the period")
    assert_clean(page, "pipeline-health")
    for name, value in (("open_amount", "$42k"), ("coverage", "0.65×"), ("coverage_needed", "1.67×"),
                        ("win_rate", "60.0%"), ("stalled_deals", "2"), ("created_deals", "$89k"),
                        ("slipped_deals", "0")):
        expect_text(page, MEASURES[name].card_label, value)
    # the stall rule per stage and the snooze action, beside the stalled list
    expect_text(page, "2 deal(s) open in one stage for more than 30 days, longest first.", "Stall rule per stage",
                "Stalled for a known reason")

    open_tab(page, "Gap decomposition", "What each step means")
    assert_clean(page, "pipeline-decomposition")
    expect_text(page, *(MEASURES[n].card_label for n in ("goal_to_date", "won_revenue", "revenue_gap")),
                "$49k", "$35k", "$14k")
    expect_charts(page, at_least=1)  # the waterfall (the funnel is on the first tab)


def test_pipeline_drill_down_downloads_csv(browser, tiny_server):
    page = open_page(browser, tiny_server, "pipeline")
    open_tab(page, "Pipeline health", "Movement in the period")
    with reruns(page):  # the records run only once the expander is open
        page.get_by_text("Records behind a figure").last.click()
    page.get_by_role("combobox", name="Figure").last.click()
    with reruns(page):
        page.get_by_role("option", name=MEASURES["stalled_deals"].label).click()
    expect_text(page, "2 record(s).")
    assert_clean(page, "pipeline-drill-down")
    text = download_text(page, page.locator("[data-testid='stDownloadButton'] button").last)
    assert text.splitlines()[0].startswith("deal_id,") and "D4" in text and "D6" in text


def test_attribution_models(browser, tiny_server):
    page = open_page(browser, tiny_server, "attribution")
    assert_clean(page, "attribution-first-touch")
    for name, value in (("attr_leads", "8"), ("attr_quality_leads", "5"), ("attr_won_revenue", "$35k"),
                        ("attr_cost", "$913")):
        expect_text(page, MEASURES[name].card_label, value)
    expect_charts(page, at_least=1)  # won revenue under each model
    with reruns(page):
        page.get_by_role("radiogroup", name="Credit model").get_by_text("W-shaped").click()
    expect_text(page, "Per campaign · W-shaped")
    assert_clean(page, "attribution-w-shaped")
    with reruns(page):
        page.get_by_role("radiogroup", name="Per").get_by_text("Channel").click()
    expect_text(page, "Per channel · W-shaped")
    assert_clean(page, "attribution-channel")
    with reruns(page):
        page.get_by_role("radiogroup", name="Credit model").get_by_text("U-shaped").click()
    page.get_by_role("combobox", name="Lookback").click()
    with reruns(page):
        page.get_by_role("option", name="7 days").click()
    # with a 7-day lookback D2's and D4's leads are too old to credit: their opportunities are unattributed
    expect_text(page, "Per channel · U-shaped · 7-day lookback", "unattributed")
    assert_clean(page, "attribution-lookback")
