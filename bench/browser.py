"""Each page's time to interactive in headless Chromium (issue 13: within 3 s at ten million leads). Measured,
never asserted.

    python bench/browser.py DB [--period 2026-Q3] [--pages overview,goals,...]

One `streamlit run` server on DB (as the browser tests start it); one visit of the admin page first starts
the process (imports, and the three runs a fresh process makes of its first request: the page, app.py, the
page again) without computing any figure. Then each page is opened in a new tab with `?period=...`, timed from
`goto` to the page's own heading drawn and its script run over: "first" is the page's first visit (its
figures not in the cache yet, unless an earlier page computed them), "again" the next visit (cached).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

PAGES = ("overview", "goals", "sla", "pipeline", "attribution", "quality", "changes", "targets", "digest")
MINUTES = 10 * 60_000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--period", default="2026-Q3")
    parser.add_argument("--pages", default=",".join(PAGES))
    args = parser.parse_args()

    from playwright.sync_api import expect, sync_playwright

    from browser_support import CHROMIUM, CHROMIUM_ARGS, Server, new_context, wait_idle
    from core.navigation import available_pages

    titles = {spec.url_path: spec.title for spec in available_pages()}

    def visit(context, slug: str) -> float:
        """Seconds from the address to the page's own heading drawn and no script run left (a fresh process
        reruns its first request twice: a heading or an idle moment between those runs is not the end)."""
        page = context.new_page()
        started = time.perf_counter()
        page.goto(f"{server.url}/{slug}?period={args.period}")
        expect(page.locator("h1").filter(has_text=titles[slug]).first).to_be_visible(timeout=MINUTES)
        wait_idle(page)
        elapsed = time.perf_counter() - started
        page.close()
        return elapsed

    # the idle close (issue 16) would reopen the file between visits: these runs time the pages, not a reopen
    server = Server(Path(args.db).resolve(), extra_env={"ACCORD_IDLE_CLOSE_SECONDS": "600"})
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = new_context(browser)
            print(f"start-up visit (process start, imports; no figure): {visit(context, 'admin'):.2f} s")
            for slug in args.pages.split(","):
                rows.append((slug, visit(context, slug), visit(context, slug)))
    finally:
        server.stop()
    print(f"| page | first s | again s |  ({args.db})")
    print("|---|---:|---:|")
    for slug, first, again in rows:
        print(f"| {slug} | {first:.2f} | {again:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
