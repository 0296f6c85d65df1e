"""Browser tier for Pipeline gaps and Attribution: both pages in Chromium on the tiny world (2026-Q3 as of
2026-08-15 12:00), every tab opened, a model switched, a drill-down's CSV downloaded."""
from __future__ import annotations

from browser_support import assert_clean, main_text, open_page, wait_idle

from core.semantic.measures import MEASURES

CHARTS = "[data-testid='stVegaLiteChart'], .vega-embed"


def test_pipeline_tabs(browser, tiny_server):
    page = open_page(browser, tiny_server, "pipeline")
    assert_clean(page, "pipeline-funnel")
    body = main_text(page)
    for text in ("Pipeline gaps · 2026-Q3", "Sales-sourced deals", "2026-Q2: 1", "By segment"):
        assert text in body, text
    assert page.locator(CHARTS).count() >= 1

    page.get_by_role("tab", name="Gap to goal").click()
    wait_idle(page)
    assert_clean(page, "pipeline-gap")
    assert "ranked by the revenue they put at stake" in main_text(page)

    page.get_by_role("tab", name="Pipeline health").click()
    wait_idle(page)
    assert_clean(page, "pipeline-health")
    body = main_text(page)
    for name, value in (("open_amount", "$42k"), ("coverage", "0.65×"), ("coverage_needed", "1.67×"),
                        ("win_rate", "60.0%"), ("stalled_deals", "2"), ("created_deals", "$89k"),
                        ("slipped_deals", "0")):
        assert MEASURES[name].card_label in body and value in body, (name, value)

    page.get_by_role("tab", name="Gap decomposition").click()
    wait_idle(page)
    assert_clean(page, "pipeline-decomposition")
    body = main_text(page)
    for text in (*(MEASURES[n].card_label for n in ("goal_to_date", "won_revenue", "revenue_gap")),
                 "$49k", "$35k", "$14k"):
        assert text in body, text
    assert page.locator(CHARTS).count() >= 2  # the funnel and the waterfall
    page.close()


def test_pipeline_drill_down_downloads_csv(browser, tiny_server):
    page = open_page(browser, tiny_server, "pipeline")
    page.get_by_role("tab", name="Pipeline health").click()
    wait_idle(page)
    page.get_by_text("Records behind a figure").last.click()
    page.get_by_role("combobox", name="Figure").last.click()
    page.get_by_role("option", name=MEASURES["stalled_deals"].label).click()
    wait_idle(page)
    assert "2 record(s)." in main_text(page)
    assert_clean(page, "pipeline-drill-down")
    with page.expect_download() as download:
        page.locator("[data-testid='stDownloadButton'] button").last.click()
    text = open(download.value.path(), encoding="utf-8").read()
    assert text.splitlines()[0].startswith("deal_id,") and "D4" in text and "D6" in text
    page.close()


def test_attribution_models(browser, tiny_server):
    page = open_page(browser, tiny_server, "attribution")
    assert_clean(page, "attribution-first-touch")
    body = main_text(page)
    for name, value in (("attr_leads", "8"), ("attr_quality_leads", "5"), ("attr_won_revenue", "$35k"),
                        ("attr_cost", "$913")):
        assert MEASURES[name].card_label in body and value in body, (name, value)
    assert page.locator(CHARTS).count() >= 1  # won revenue under each model
    page.get_by_role("radiogroup", name="Credit model").get_by_text("W-shaped").click()
    wait_idle(page)
    assert_clean(page, "attribution-w-shaped")
    assert "Per campaign · W-shaped" in main_text(page)
    page.get_by_role("radiogroup", name="Per").get_by_text("Channel").click()
    wait_idle(page)
    assert_clean(page, "attribution-channel")
    assert "Per channel · W-shaped" in main_text(page)
    page.close()
