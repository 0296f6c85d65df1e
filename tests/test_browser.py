"""Browser tier: every page in Debian's Chromium through Playwright, on the tiny world."""
from __future__ import annotations

import pytest

from browser_support import assert_clean, main_text, open_page
from core.navigation import available_pages


@pytest.mark.parametrize("spec", available_pages(), ids=lambda s: s.url_path)
def test_every_page_opens_without_exception(browser, tiny_server, spec):
    page = open_page(browser, tiny_server, spec.url_path)
    assert_clean(page, f"tiny-{spec.url_path}")
    assert spec.title in main_text(page)
    page.close()


def test_overview_key_figures_are_visible(browser, tiny_server):
    page = open_page(browser, tiny_server, "overview")
    body = main_text(page)
    for label, value in [("Revenue goal", "$100k"), ("Won revenue", "$35k"), ("Attainment", "35.0%"),
                         ("SLA compliance", "50.0%"), ("Coverage", "0.65×"), ("Stalled deals", "2")]:
        assert label in body and value in body, (label, value)
    assert page.locator("[data-testid='stVegaLiteChart'], .vega-embed").count() >= 1
    page.close()
