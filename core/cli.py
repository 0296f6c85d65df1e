"""`python -m core demo|report|digest|import|backup|restore`: standard output carries only the result; progress and
problems go to standard error, as one line, never a traceback. A bad argument exits 2."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import NoReturn

from core.errors import AccordError
from core.lake import describe, is_lake

# The bytes every DuckDB database file carries at offset 8 (after its checksum).
_DUCKDB_MAGIC = b"DUCK"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on standard error (exit 2), like every other problem."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def _whole_number(least: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"must be at least {least:,} (got {value:,})")
        return value

    return parse


def _progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)


def _cmd_demo(args: argparse.Namespace) -> int:
    from core.demo import build_demo
    from core.periods import parse_as_of

    as_of = parse_as_of(args.as_of) if args.as_of else None
    if not is_lake(args.db):  # a lake is a catalog, not a path: nothing there to mistake for a database file
        path = Path(args.db)
        if path.is_dir():
            raise AccordError(f"{path} is a folder, not a DuckDB database file.")
        if path.is_file() and path.stat().st_size and not _looks_like_duckdb(path):
            raise AccordError(f"{path} exists and is not a DuckDB database: refusing to overwrite it with the demo.")
    started = time.perf_counter()
    summary = build_demo(args.db, leads=args.leads, seed=args.seed, as_of=as_of, progress=_progress)
    print(
        f"Demo database written to {describe(args.db)} in {time.perf_counter() - started:.1f}s "
        f"({summary.get('counts', summary)})",
        file=sys.stderr,
    )
    return 0


def _looks_like_duckdb(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(12)[8:12] == _DUCKDB_MAGIC
    except OSError:
        return False


def _open_period(args: argparse.Namespace):
    """(connection, period, as-of) for a command about one period: --as-of, else the data's, else now."""
    from core.db import get_meta
    from core.periods import BadAsOf, parse_as_of, parse_period

    period = parse_period(args.period)
    as_of = parse_as_of(args.as_of) if args.as_of else None  # checked before the database is opened
    con = _open_for_reading(args.db)
    if as_of is None:
        stored = get_meta(con, "as_of")
        try:
            as_of = parse_as_of(stored)  # None: now
        except BadAsOf as exc:
            _close(con)
            raise BadAsOf(f"The as-of stored with the data is unusable ({exc}); pass --as-of.") from None
    return con, period, as_of


def _open_for_reading(db: str):
    """A report needs no write: a file on a read-only or full disk is read as it is (open_store would first
    apply the schema and the defaults, which writes)."""
    from core.db import DatabaseReadOnly, DiskFull
    from core.store import open_store

    try:
        return open_store(db, on_wait=_waiting)
    except (DatabaseReadOnly, DiskFull):  # a full disk still lets the figures be read
        return open_store(db, read_only=True, on_wait=_waiting)


def _close(con) -> None:
    """Close through core.db.close, so no other process opens the file while this one is still closing it."""
    from core.db import close

    close(con)


def _waiting(sentence: str) -> None:
    """Said once when the file is held (the app mid-page, another import): progress, not a problem."""
    print(sentence, file=sys.stderr, flush=True)


def _cmd_report(args: argparse.Namespace) -> int:
    from core.report import build_report
    from core.settings import get_settings

    con, period, as_of = _open_period(args)
    try:
        report = build_report(con, period, as_of, stall_days=get_settings().stall_days)
    finally:
        _close(con)
    # report_dict turns non-finite figures into null with a note: allow_nan=False keeps it that way
    sys.stdout.write(json.dumps(report, indent=2, allow_nan=False) + "\n")
    return 0


def _cmd_digest(args: argparse.Namespace) -> int:
    from core.digest import build_digest, format_of, period_is_empty, render
    from core.settings import get_settings

    out = Path(args.out)
    kind = format_of(out)  # before any work: a wrong suffix is a usage problem
    con, period, as_of = _open_period(args)
    try:
        empty = period_is_empty(con, period, as_of)
        if empty:
            raise AccordError(empty)
        digest = build_digest(con, period, as_of, stall_days=get_settings().stall_days)
    finally:
        _close(con)
    data = render(digest, kind)
    out.write_bytes(data)
    print(f"Digest of {period.label} (as of {as_of:%Y-%m-%d %H:%M} UTC) written to {out} ({len(data):,} bytes)",
          file=sys.stderr)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    """Summary to standard error, the summary's JSON to standard output; 0 if anything was imported.

    A database holding the demo (meta is_demo = 1) is never silently mixed with real records:
    --replace-demo swaps the demo records for the imported ones in the import's own transaction,
    --append keeps both (and the database stays marked as demo); without either the import is refused."""
    from core.db import check_free_space, get_meta
    from core.ingest import PRESETS, files_from_paths, format_summary, import_files
    from core.ingest.engine import UnknownPreset
    from core.store import open_store

    db = args.db
    demo_line: str | None = None
    demo_outcome: str | None = None
    try:
        if str(args.preset).strip().lower() not in PRESETS:
            raise UnknownPreset(f"Unknown import preset {args.preset!r}: choose one of {', '.join(PRESETS)}.")
        files = files_from_paths(args.paths)
        fresh = str(db) != ":memory:" and not is_lake(db) and not Path(db).exists()
        con = open_store(db, create=True, on_wait=_waiting)
        if fresh:  # a first import makes its database; a mistyped --db in a cron line must show in its log
            print(f"{db} did not exist: created a new, empty database there for this import.", file=sys.stderr)
        try:
            # before the import writes: a disk that fills half-way through wastes the space the import took
            # (after the open, so a read-only or damaged file is told as such, not as a lack of space)
            check_free_space(db, sum(len(f.data) for f in files))
            is_demo = get_meta(con, "is_demo") == "1"
            if args.replace_demo and not is_demo:
                raise AccordError(f"--replace-demo: {db} holds no demo data, so nothing would be replaced; "
                                  "import without --replace-demo to add these records.")
            if is_demo and not (args.replace_demo or args.append):
                raise AccordError(f"{db} holds demo data: importing would mix the demo's records with real ones. "
                                  "Add --replace-demo to replace the demo records, or --append to keep both.")
            demo_leads = con.execute("SELECT count(*) FROM leads").fetchone()[0] if is_demo else 0  # type: ignore[index]
            demo_source = get_meta(con, "source") if is_demo else None
            summary = import_files(con, args.preset, files, actor=args.actor or "command line",
                                   replace_existing=bool(args.replace_demo))
            if is_demo:
                demo_outcome, demo_line = _after_demo_import(
                    con, db, summary, replaced=bool(args.replace_demo), demo_leads=demo_leads, demo_source=demo_source)
        finally:
            _close(con)
    except AccordError as exc:
        print(f"Import failed: {exc}", file=sys.stderr)
        print(json.dumps({"ok": False, "error": str(exc)}))
        return 2
    except Exception as exc:  # never a traceback on the command line
        detail = _os_problem(exc) if isinstance(exc, OSError) else _first_line(exc, named=True)
        told = _db_fault(exc, db)
        if told:  # the file failed under the import: disk full, read-only, damaged
            detail = told
        print(f"Import failed: {detail}", file=sys.stderr)
        print(json.dumps({"ok": False, "error": detail}))
        return 2
    print(format_summary(summary), file=sys.stderr)
    if demo_line:
        print(demo_line, file=sys.stderr)
    out = summary.as_dict()
    out["ok"] = summary.imported_anything
    out["demo_data"] = demo_outcome  # "replaced", "kept" or null (the database held no demo)
    print(json.dumps(out, default=str))
    return 0 if summary.imported_anything else 2


def _after_demo_import(con, db: str, summary, *, replaced: bool, demo_leads: int,
                       demo_source: str | None) -> tuple[str, str]:
    """Say in one line what an import into a demo database did (the engine keeps the is_demo flag, the app's
    demo banner, following the data in the import's own transaction)."""
    removed = any("were removed first" in m for m in summary.messages)  # the engine's note when it emptied the tables
    if replaced and removed:
        return "replaced", (f"Replaced the demo data in {db}: its {demo_leads:,} leads and every other demo record "
                            "were removed in the import's transaction; it is no longer marked as demo.")
    if replaced:  # nothing had rows: the import wrote no record and the demo is untouched
        return "kept", f"Nothing was imported, so the demo data in {db} was left as it was."
    return "kept", (f"Appended to the demo data in {db}: its {demo_leads:,} demo leads stay beside the imported "
                    "records, and it stays marked as demo.")


def _cmd_backup(args: argparse.Namespace) -> int:
    """The backup folder's summary as JSON on standard output, one line on standard error."""
    from core.backup import backup

    result = backup(args.db, args.to)
    print(f"Backed up {args.db} to {result.folder}: {len(result.tables)} tables, {result.rows:,} rows, "
          f"{result.bytes / 1024 / 1024:,.1f} MiB in {result.seconds:.1f}s", file=sys.stderr)
    print(json.dumps({"ok": True, "folder": str(result.folder), "tables": result.tables, "bytes": result.bytes}))
    return 0


def _cmd_restore(args: argparse.Namespace) -> int:
    from core.backup import restore

    result = restore(args.source, args.db, replace=bool(args.replace))
    kept = f"; the database that was there is kept as {result.kept_as}" if result.kept_as else ""
    print(f"Restored {args.db} from {args.source}: {len(result.tables)} tables, {sum(result.tables.values()):,} "
          f"rows in {result.seconds:.1f}s{kept}", file=sys.stderr)
    print(json.dumps({"ok": True, "db": str(result.db), "tables": result.tables,
                      "kept_as": str(result.kept_as) if result.kept_as else None}))
    return 0


DATA_PATH_HELP = ("With --db ducklake:postgres:<connection string>: where the lake keeps its data files "
                  "(default: ACCORD_DATA_PATH).")


def build_parser() -> argparse.ArgumentParser:
    from core.settings import get_settings

    default_db = str(get_settings().db_path)
    parser = _Parser(prog="python -m core", description="Accord command line.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    demo = sub.add_parser("demo", help="Build a seeded demo database.")
    demo.add_argument("--db", default=default_db)
    demo.add_argument("--data-path", dest="data_path", default=None, help=DATA_PATH_HELP)
    demo.add_argument("--leads", type=_whole_number(1), default=50_000)
    demo.add_argument("--seed", type=_whole_number(0), default=7)
    demo.add_argument("--as-of", dest="as_of", default=None, help="ISO date/time the data ends at (default: now).")
    demo.set_defaults(run=_cmd_demo)

    report = sub.add_parser("report", help="Print a period's headline figures as JSON.")
    report.add_argument("--db", default=default_db)
    report.add_argument("--data-path", dest="data_path", default=None, help=DATA_PATH_HELP)
    report.add_argument("--period", required=True, help="A quarter (2026-Q3) or a month (2026-08).")
    report.add_argument("--as-of", dest="as_of", default=None, help="Default: the data's as-of, else now.")
    report.set_defaults(run=_cmd_report)

    digest = sub.add_parser("digest", help="Write a period's one-page digest as HTML, PDF or PNG.")
    digest.add_argument("--db", default=default_db)
    digest.add_argument("--data-path", dest="data_path", default=None, help=DATA_PATH_HELP)
    digest.add_argument("--period", required=True, help="A quarter (2026-Q3) or a month (2026-08).")
    digest.add_argument("--as-of", dest="as_of", default=None, help="Default: the data's as-of, else now.")
    digest.add_argument("--out", required=True, help="The file to write: .html, .pdf or .png.")
    digest.set_defaults(run=_cmd_digest)

    imp = sub.add_parser("import", help="Import CRM exports into the database.")
    imp.add_argument("--db", default=default_db)
    imp.add_argument("--data-path", dest="data_path", default=None, help=DATA_PATH_HELP)
    imp.add_argument("--preset", required=True)
    imp.add_argument("--actor", default="cli")
    into_demo = imp.add_mutually_exclusive_group()
    into_demo.add_argument("--replace-demo", dest="replace_demo", action="store_true",
                           help="The database holds the demo: replace its records with these (one transaction).")
    into_demo.add_argument("--append", action="store_true",
                           help="The database holds the demo: keep its records beside these (it stays a demo).")
    imp.add_argument("paths", nargs="+")
    imp.set_defaults(run=_cmd_import)

    back = sub.add_parser("backup", help="Export the database to a new folder (safe while the app serves).")
    back.add_argument("--db", default=default_db)
    back.add_argument("--to", required=True, help="A new (or empty) folder for the backup.")
    back.set_defaults(run=_cmd_backup)

    rest = sub.add_parser("restore", help="Rebuild the database from a backup folder (stop the app first).")
    rest.add_argument("--from", dest="source", required=True, help="A folder written by `backup`.")
    rest.add_argument("--db", default=default_db)
    rest.add_argument("--replace", action="store_true",
                      help="A database is already at --db: keep it beside, renamed, and restore in its place.")
    rest.set_defaults(run=_cmd_restore)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "data_path", None):
        import os

        from core.settings import get_settings

        os.environ["ACCORD_DATA_PATH"] = args.data_path  # read through the settings, as the app reads it
        get_settings.cache_clear()
    try:
        return args.run(args)
    except AccordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a path that cannot be written or read: the person can act on it
        print(f"error: {_os_problem(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        told = _db_fault(exc, getattr(args, "db", None))
        if told:  # the database file failed under the command: say how, plainly
            print(f"error: {told}", file=sys.stderr)
            return 2
        print(f"error: unexpected {_first_line(exc, named=True)}", file=sys.stderr)
        return 1


def _db_fault(exc: BaseException, db: str | None) -> str | None:
    """A DuckDB failure the person can act on (held, read-only, full, damaged), as core.db words it; None for
    anything else, which stays an unexpected error (exit 1) rather than being dressed up as a file problem."""
    import duckdb

    from core.db import DatabaseUnreadable, fault

    if not isinstance(exc, duckdb.Error):
        return None
    told = fault(exc, db)
    return None if type(told) is DatabaseUnreadable else str(told)


def _first_line(exc: BaseException, *, named: bool = False) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if named else text


def _os_problem(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.filename}: {exc.strerror}."
    return _first_line(exc, named=True)
