"""Every page's server time under AppTest on one database: cold (caches cleared), warm (a rerun), and after an
edit (a goal save). Measured, never asserted; read ratios from one run.

    python bench/pages.py DB [--period 2026-Q3] [--repeats 3] [--cold-repeats 3] [--pages overview,pipeline]

Cold: the page's first run in a fresh session with every st.cache_data entry cleared (the DuckDB file is
already open and its pages in the OS cache: "cold" is Accord's cold, not the disk's), the median of
`cold-repeats` such runs, with their range (one run on this shared machine varies by up to 10%). Warm: the median of
`repeats` reruns of the same session. After an edit: a goal saved through the write path, then the same
session's next run (the caches of figures that do not read goals stay warm).
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

PAGES = ("overview", "goals", "sla", "pipeline", "attribution", "quality")


def _run(at) -> float:
    started = time.perf_counter()
    at.run()
    elapsed = time.perf_counter() - started
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    return elapsed


def _session(page: str, period: str | None, clear: bool):
    """A fresh session about to run `page`, its first run done: under AppTest only the first run goes through
    app.py, which shows the Overview, and it also scans every installed package for custom components (0.25 s
    here, once per AppTest; a server does it once when it starts), so no page's time includes it. The caches
    are cleared again after it when `clear`."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    if period:
        at.session_state["period"] = period
    at.run()
    if page != "overview":
        at.switch_page(f"pages/{page}.py")
    if clear:
        st.cache_data.clear()
    return at


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--period", default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold-repeats", type=int, default=3)
    parser.add_argument("--pages", default=",".join(PAGES))
    args = parser.parse_args()
    os.environ["ACCORD_DB_PATH"] = str(Path(args.db).resolve())

    import streamlit as st

    from core import edits
    from core.models import Actor, GoalBody
    from core.periods import parse_period
    from ui import data

    # one throwaway run of every page first: Python imports and Streamlit's first-run set-up are the
    # process's start-up, not a page's cold time
    for page in args.pages.split(","):
        _run(_session(page, args.period, clear=False))
    rows = []
    con = data.connection()
    label = parse_period(args.period or "2026-Q3").label  # the demo's default period at --as-of 2026-09-30
    for i, page in enumerate(args.pages.split(",")):
        colds = []
        for _ in range(args.cold_repeats):
            st.cache_data.clear()
            at = _session(page, args.period, clear=True)
            colds.append(_run(at))
        warm = statistics.median(_run(at) for _ in range(args.repeats))
        # a goal saved through the write path, then the same session's next run (what the person sees)
        current = data.uncached(edits.latest, "goal", label)  # the app's own cursor: the file is shared
        edits.save(con, "goal", label, GoalBody(revenue=1_000_000 + i), actor=Actor(name="Bench", team="leadership"),
                   reason="bench", expected_version=current.version if current else 0,
                   as_of=datetime(2000, 1, 1))  # judged against an early as-of: the quarter is not over
        after = _run(at)
        rows.append((page, colds, warm, after))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| page | cold s (median of {args.cold_repeats}) | cold range s | warm ms | after a goal save s |  "
          f"(db {args.db}, peak RSS {peak:,.0f} MiB)")
    print("|---|---:|---:|---:|---:|")
    for page, colds, warm, after in rows:
        print(f"| {page} | {statistics.median(colds):.2f} | {min(colds):.2f}–{max(colds):.2f} | {warm * 1000:.0f} "
              f"| {after:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
