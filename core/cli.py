"""`python -m core demo|report|import`: standard output carries only the result; progress and
problems go to standard error, as one line, never a traceback."""
from __future__ import annotations

import argparse
import json
import sys
import time

from core.errors import AccordError


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import build_demo
    from core.periods import parse_as_of

    as_of = parse_as_of(args.as_of) if args.as_of else None
    started = time.perf_counter()
    summary = build_demo(args.db, leads=args.leads, seed=args.seed, as_of=as_of, progress=_progress)
    print(
        f"Demo database written to {args.db} in {time.perf_counter() - started:.1f}s "
        f"({summary.get('counts', summary)})",
        file=sys.stderr,
    )
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from core.db import get_meta
    from core.periods import parse_as_of, parse_period
    from core.report import build_report
    from core.settings import get_settings
    from core.store import open_store

    period = parse_period(args.period)
    as_of_text = args.as_of
    con = open_store(args.db)
    try:
        as_of = parse_as_of(as_of_text or get_meta(con, "as_of"))
        report = build_report(con, period, as_of, stall_days=get_settings().stall_days)
    finally:
        con.close()
    json.dump(report, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from core.ingest import cli_import

    return cli_import(args.db, args.preset, args.paths, args.actor)


def build_parser() -> argparse.ArgumentParser:
    from core.settings import get_settings

    default_db = str(get_settings().db_path)
    parser = argparse.ArgumentParser(prog="python -m core", description="Accord command line.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="Build a seeded demo database.")
    demo.add_argument("--db", default=default_db)
    demo.add_argument("--leads", type=int, default=50_000)
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--as-of", dest="as_of", default=None, help="ISO date/time the data ends at (default: now).")
    demo.set_defaults(run=_cmd_demo)

    report = sub.add_parser("report", help="Print a period's headline figures as JSON.")
    report.add_argument("--db", default=default_db)
    report.add_argument("--period", required=True, help="A quarter (2026-Q3) or a month (2026-08).")
    report.add_argument("--as-of", dest="as_of", default=None, help="Default: the data's as-of, else now.")
    report.set_defaults(run=_cmd_report)

    imp = sub.add_parser("import", help="Import CRM exports into the database.")
    imp.add_argument("--db", default=default_db)
    imp.add_argument("--preset", required=True)
    imp.add_argument("--actor", default="cli")
    imp.add_argument("paths", nargs="+")
    imp.set_defaults(run=_cmd_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except AccordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug; still one line, and a hint where to look
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
