"""Wall time and peak memory of the demo generator (`python -m core demo`), one subprocess per size.

    python bench/generator.py [--sizes 50000,1000000,10000000] [--seed 7] [--as-of 2026-09-30T12:00]
                              [--dir /tmp] [--keep] [--root PATH]

Each size runs `python -m core demo` in a fresh subprocess, so its peak resident memory (ru_maxrss of
that child, from wait4) is the generator's own and nothing of an earlier size. Prints a markdown table:
leads, rows written, wall seconds, CPU seconds (user + system) and peak RSS in MiB. The database is
written under --dir and deleted afterwards unless --keep. --root runs another checkout's generator
(e.g. an export of the previous commit: `git archive HEAD | tar -x -C /tmp/before`) for a before/after
comparison. Machines here are shared: read CPU seconds beside wall seconds, and compare runs made at the
same time.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIZES = (50_000, 1_000_000, 10_000_000)


def run(leads: int, *, seed: int, as_of: str, folder: Path, keep: bool, root: Path = ROOT) -> dict:
    db = folder / f"generator-bench-{leads}.duckdb"
    command = [sys.executable, "-m", "core", "demo", "--db", str(db), "--leads", str(leads), "--seed", str(seed),
               "--as-of", as_of]
    with tempfile.TemporaryFile("w+") as log:  # progress goes to stderr: a file, so no pipe can fill up
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=root, stdout=subprocess.DEVNULL, stderr=log, text=True)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, peak RSS included
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        stderr = log.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    match = re.search(r"\((\{.*\})\)\s*$", stderr.strip().splitlines()[-1])
    rows = sum(int(n) for n in re.findall(r"'(?:activities|campaign_touches|deals|deal_stage_history|leads)': (\d+)",
                                           match.group(1))) if match else 0
    size = db.stat().st_size
    if not keep:
        db.unlink()
    return {"leads": leads, "rows": rows, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "peak_mib": usage.ru_maxrss / 1024, "file_mib": size / 2**20}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in SIZES),
                        help="comma-separated lead counts (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--as-of", default="2026-09-30T12:00")
    parser.add_argument("--dir", default=tempfile.gettempdir(), help="where the databases are written")
    parser.add_argument("--keep", action="store_true", help="keep the databases")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose generator runs (default: this one)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = float("nan")
    print(f"Demo generator of {args.root}, seed {args.seed}, as-of {args.as_of}, {os.cpu_count()} CPUs, "
          f"load average {load:.1f} at start\n")
    print("| leads | rows written | wall s | CPU s | peak RSS MiB | file MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for leads in sizes:
        r = run(leads, seed=args.seed, as_of=args.as_of, folder=folder, keep=args.keep, root=args.root)
        print(f"| {r['leads']:,} | {r['rows']:,} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['peak_mib']:,.0f} "
              f"| {r['file_mib']:,.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
