"""Speed and memory of Accord at growing data sizes, measured in one run (never asserted in tests).

    python bench/benchmark.py [--sizes 50000,500000] [--as-of 2026-09-30T12:00] [--out bench/results.md]

For each size: build the demo database, then time every page's core calls cold (first call) and warm
(median of 3), and record peak memory. Ratios between sizes are what to read: machines here are noisy.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.demo import build_demo  # noqa: E402
from core.metrics import funnel as fn  # noqa: E402
from core.metrics import goals, sla
from core.metrics import pipeline as pl
from core.periods import parse_as_of, period_containing  # noqa: E402
from core.report import headline  # noqa: E402
from core.store import open_store  # noqa: E402


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time(fn, repeats: int = 3) -> tuple[float, float]:
    started = time.perf_counter()
    fn()
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        warm.append(time.perf_counter() - started)
    return cold, statistics.median(warm)


def workloads(con, as_of: datetime) -> dict:
    period = period_containing(as_of)
    return {
        "overview headline": lambda: headline(con, period, as_of),
        "funnel by source": lambda: fn.funnel_by(con, period, as_of, "source"),
        "SLA lead rows": lambda: sla.sla_lead_rows(con, period, as_of),
        "stalled deals": lambda: pl.stalled_deals(con, as_of, 30),
        "trailing-year rates": lambda: goals.trailing_year_rates(con, as_of),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,500000")
    parser.add_argument("--as-of", default="2026-09-30T12:00")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    as_of = parse_as_of(args.as_of)
    sizes = [int(s) for s in args.sizes.split(",")]
    lines = ["| leads | step | cold s | warm s | peak MiB |", "|---:|---|---:|---:|---:|"]
    results: dict[tuple[int, str], float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"bench-{n}.duckdb"
            started = time.perf_counter()
            build_demo(path, leads=n, seed=7, as_of=as_of)
            build_s = time.perf_counter() - started
            lines.append(f"| {n:,} | build demo | {build_s:.2f} | | {_peak_mib():.0f} |")
            results[(n, "build demo")] = build_s
            con = open_store(path)
            for name, work in workloads(con, as_of).items():
                cold, warm = _time(work)
                results[(n, name)] = warm
                lines.append(f"| {n:,} | {name} | {cold:.3f} | {warm:.3f} | {_peak_mib():.0f} |")
            con.close()
            print(f"done {n:,} leads", file=sys.stderr)
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        lines += ["", f"Ratios {large:,} / {small:,} leads (×{large / small:.0f} data), same run:", ""]
        for (n, name), value in results.items():
            if n == small and results.get((large, name)):
                lines.append(f"- {name}: ×{results[(large, name)] / max(value, 1e-9):.1f}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
