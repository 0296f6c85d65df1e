"""Browser tier: every page in Debian's Chromium through Playwright, on the tiny world."""
from __future__ import annotations

import pytest

from browser_support import assert_clean, expect, expect_charts, expect_text, open_page
from core.navigation import available_pages


@pytest.mark.parametrize("spec", available_pages(), ids=lambda s: s.url_path)
def test_every_page_opens_without_exception(browser, tiny_server, spec):
    page = open_page(browser, tiny_server, spec.url_path)  # waits for the page's title and the run's end
    assert_clean(page, f"tiny-{spec.url_path}")


def test_overview_key_figures_are_visible(browser, tiny_server):
    page = open_page(browser, tiny_server, "overview")
    for label, value in [("Revenue goal", "$100k"), ("Won revenue", "$35k"), ("Attainment", "35.0%"),
                         ("SLA compliance", "50.0%"), ("Coverage", "0.65×"), ("Stalled deals", "2")]:
        expect_text(page, label, value)
    expect_charts(page, at_least=1)


def test_deep_link_as_first_request_runs_through_the_app_shell(browser, server_for, tiny_db_copy):
    # Streamlit runs a pages/ folder in legacy mode until app.py has called st.navigation once; the very
    # first request of a fresh server being a deep link must still get the sidebar, titles and the page.
    spec = available_pages()[-1]
    server = server_for(tiny_db_copy)
    page = open_page(browser, server, spec.url_path)
    assert page.url == f"{server.url}/{spec.url_path}?period=2026-Q3"  # the address, with the period in it
    expect(page.locator("[data-testid='stSidebarNav']")).to_contain_text("Overview")
    nav = page.locator("[data-testid='stSidebarNav']").inner_text()
    assert "Overview" in nav and "overview" not in nav.split()  # titles, not file names
    assert_clean(page, "deep-link")
