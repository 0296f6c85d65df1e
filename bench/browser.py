"""Each page's time to interactive in headless Chromium (issue 13: within 3 s at ten million leads). Measured,
never asserted.

    python bench/browser.py DB [--period 2026-Q3] [--pages overview,goals,...]

One `streamlit run` server on DB (as the browser tests start it); one visit of the Overview first starts the
process and its imports. Then each page is opened in a new tab with `?period=...`, timed from `goto` to the
page's first heading drawn and its script run over: "first" is the page's first visit (its figures not in the
cache yet, unless an earlier page computed them), "again" the next visit (cached).
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

    from playwright.sync_api import sync_playwright

    from browser_support import CHROMIUM, CHROMIUM_ARGS, SETTLED, Server, new_context

    # the idle close (issue 16) would reopen the file between visits: these runs time the pages, not a reopen
    server = Server(Path(args.db).resolve(), extra_env={"ACCORD_IDLE_CLOSE_SECONDS": "600"})
    rows = []
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = new_context(browser)
            start = context.new_page()
            started = time.perf_counter()
            start.goto(f"{server.url}/overview?period={args.period}")
            start.wait_for_function(SETTLED, polling=100, timeout=MINUTES)
            print(f"start-up visit (process, imports, the Overview's figures): {time.perf_counter() - started:.2f} s")
            for slug in args.pages.split(","):
                times = []
                for _ in ("first", "again"):
                    page = context.new_page()
                    started = time.perf_counter()
                    page.goto(f"{server.url}/{slug}?period={args.period}")
                    page.locator("h1").first.wait_for(timeout=MINUTES)
                    page.wait_for_function(SETTLED, polling=100, timeout=MINUTES)
                    times.append(time.perf_counter() - started)
                    page.close()
                rows.append((slug, *times))
    finally:
        server.stop()
    print(f"| page | first s | again s |  ({args.db})")
    print("|---|---:|---:|")
    for slug, first, again in rows:
        print(f"| {slug} | {first:.2f} | {again:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
