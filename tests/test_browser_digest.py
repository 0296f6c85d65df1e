"""Browser tier: the digest's HTML file opens in Chromium with the network off and draws its charts; the
page fetches nothing (its Content-Security-Policy forbids it, and nothing tries)."""
from __future__ import annotations

from datetime import datetime

from browser_support import expect
from core.digest import build_digest, render
from core.periods import parse_period


def test_the_html_digest_opens_offline_with_its_charts(chromium, tiny, tmp_path):
    path = tmp_path / "digest.html"
    path.write_bytes(render(build_digest(tiny, parse_period("2026-Q3"), datetime(2026, 8, 15, 12)), "html"))
    context = chromium.new_context(offline=True)
    try:
        page = context.new_page()
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url))
        page.goto(path.as_uri())
        expect(page.locator("h1")).to_have_text("Accord digest · 2026-Q3")
        charts = page.locator("figure svg")
        expect(charts.first).to_be_visible()
        assert charts.count() >= 2
        expect(page.get_by_text("Revenue goal")).to_be_visible()
        assert asked == [path.as_uri()]  # the file itself, nothing else
        page.screenshot(path=str(tmp_path / "digest.png"), full_page=True)
    finally:
        context.close()
