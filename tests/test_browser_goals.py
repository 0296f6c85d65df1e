"""Browser tier for Shared goals: the page in Chromium, and a saved goal reaching the Overview at once."""
from __future__ import annotations

import shutil

from browser_support import assert_clean, main_text, open_page, wait_idle

CHARTS = "[data-testid='stVegaLiteChart'], .vega-embed"


def chart_count(page, at_least: int) -> int:
    """Vega draws after the script run ends: wait for the charts before counting them."""
    page.locator(CHARTS).nth(at_least - 1).wait_for(timeout=30_000)
    return page.locator(CHARTS).count()


def test_goals_page_shows_the_cascade(browser, tiny_server):
    page = open_page(browser, tiny_server, "goals")
    assert_clean(page, "goals-tiny")
    body = main_text(page)
    # the tiny world's Q3 (tables are drawn on a canvas, so their cells are checked in the AppTest tier)
    for text in ("Shared goals · 2026-Q3", "Revenue goal", "$100k", "Attainment", "35.0%", "Coverage", "0.65×",
                 "From the revenue goal to every stage's target", "Target vs actual to date", "What-if"):
        assert text in body, text
    assert chart_count(page, 1) >= 1
    page.locator("[data-testid='stDataFrame']").nth(2).wait_for(timeout=30_000)  # rates, progress, what-if
    page.get_by_text("Split by").first.wait_for()
    page.close()


def test_goals_split_by_source_draws_the_heatmap(browser, tiny_server):
    page = open_page(browser, tiny_server, "goals")
    page.get_by_role("combobox", name="Split by").click()
    page.get_by_role("option", name="Source").click()
    wait_idle(page)
    assert_clean(page, "goals-tiny-by-source")
    body = main_text(page)
    assert "Pacing by source" in body and "Source" in body
    assert chart_count(page, 2) >= 2  # progress bullets and the pacing heatmap
    page.close()


def test_saving_a_goal_changes_the_overview_attainment(browser, server_for, tiny_db_file, tmp_path):
    path = tmp_path / "goals-browser.duckdb"
    shutil.copy(tiny_db_file, path)  # our own copy: the shared tiny_server's data stays as it was
    server = server_for(path)
    page = open_page(browser, server, "")  # the Overview is the default page, served at the root
    assert "35.0%" in main_text(page)  # won 35,000 of the 100,000 goal

    page.locator("[data-testid='stSidebarNav'] a", has_text="Shared goals").click()
    wait_idle(page)
    page.get_by_role("tab", name="Set the goal").click()
    page.get_by_role("spinbutton", name="Revenue goal for 2026-Q3").fill("50000")
    page.get_by_role("textbox", name="Why (kept in the history)").fill("Halved after the board review")
    page.get_by_role("button", name="Save goal").click()
    wait_idle(page)
    page.get_by_text("Saved version 2").first.wait_for()
    assert_clean(page, "goals-after-save")
    assert "$50k" in main_text(page)

    # same session, as a person would go: through the menu; the save bumped the data version, so the
    # Overview's cached figures are recomputed, not served from before the save
    page.locator("[data-testid='stSidebarNav'] a", has_text="Overview").click()
    wait_idle(page)
    page.get_by_text("Overview · 2026-Q3").first.wait_for()
    body = main_text(page)
    assert_clean(page, "overview-after-goal-save")
    # attainment = 35,000 / 50,000; coverage = 42,000 open / (50,000 − 35,000) = 2.80
    assert "70.0%" in body and "$50k" in body and "2.80×" in body
    assert "35.0%" not in body
    page.close()
