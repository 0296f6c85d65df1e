"""Browser tier for Shared goals: the page in Chromium, and a saved goal reaching the Overview at once."""
from __future__ import annotations

import shutil

from browser_support import assert_clean, expect, expect_charts, expect_text, open_page, open_tab, reruns


def test_goals_page_shows_the_cascade(browser, tiny_server):
    page = open_page(browser, tiny_server, "goals")
    assert_clean(page, "goals-tiny")
    # the tiny world's Q3 (tables are drawn on a canvas, so their cells are checked in the AppTest tier)
    expect_text(page, "Shared goals · 2026-Q3", "Revenue goal", "$100k", "Attainment", "35.0%", "Coverage", "0.65×",
                "From the revenue goal to every stage's target", "Target vs actual to date", "What-if")
    expect_charts(page, at_least=1)
    expect(page.locator("[data-testid='stDataFrame']").nth(2)).to_be_attached()  # rates, progress, what-if
    expect(page.get_by_text("Split by").first).to_be_visible()


def test_goals_split_by_source_draws_the_heatmap(browser, tiny_server):
    page = open_page(browser, tiny_server, "goals")
    page.get_by_role("combobox", name="Split by").click()
    with reruns(page):
        page.get_by_role("option", name="Source").click()
    expect_text(page, "Pacing by source", "Source")
    expect_charts(page, at_least=2)  # progress bullets and the pacing heatmap
    assert_clean(page, "goals-tiny-by-source")


def test_saving_a_goal_changes_the_overview_attainment(browser, server_for, tiny_db_file, tmp_path):
    path = tmp_path / "goals-browser.duckdb"
    shutil.copy(tiny_db_file, path)  # our own copy: the shared tiny_server's data stays as it was
    server = server_for(path)
    page = open_page(browser, server, "")  # the Overview is the default page, served at the root
    expect_text(page, "35.0%")  # won 35,000 of the 100,000 goal

    page.locator("[data-testid='stSidebarNav'] a", has_text="Shared goals").click()
    expect(page.locator("h1").filter(has_text="Shared goals · 2026-Q3")).to_be_visible()
    open_tab(page, "Set the goal", "Save goal")
    page.get_by_role("spinbutton", name="Revenue goal for 2026-Q3").fill("50000")
    page.get_by_role("textbox", name="Why (kept in the history)").fill("Halved after the board review")
    page.get_by_role("button", name="Save goal").click()
    expect_text(page, "Saved version 2")
    assert_clean(page, "goals-after-save")
    expect_text(page, "$50k")

    # same session, as a person would go: through the menu; the save bumped the data version, so the
    # Overview's cached figures are recomputed, not served from before the save
    page.locator("[data-testid='stSidebarNav'] a", has_text="Overview").click()
    expect(page.locator("h1").filter(has_text="Overview · 2026-Q3")).to_be_visible()
    assert_clean(page, "overview-after-goal-save")
    # attainment = 35,000 / 50,000; coverage = 42,000 open / (50,000 − 35,000) = 2.80
    expect_text(page, "70.0%", "$50k", "2.80×", absent=("35.0%",))
