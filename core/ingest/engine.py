"""The import engine: parse files, recognise them, map them through a preset, validate, and write
everything in one transaction, with a record per file and the refused rows in quarantine."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from core.db import get_meta, reads, retry_races, set_meta, transaction
from core.errors import AccordError
from core.ingest.canonical import STAMPS, TABLE_ORDER, ident
from core.ingest.presets import PRESETS
from core.ingest.presets.base import Ctx, Preset, Recognised, Unrecognised, recognise, staging_frame
from core.ingest.profile import Flag, clear_stamps, profile, prune_stamps, record_stamp
from core.ingest.reader import FileProblem, Limits, TooManyRows, parse, sha256, size_problem
from core.ingest.validate import BatchResult, apply_batch, unregister
from core.periods import utc_now
from core.semantic.enums import TABLES

Progress = Callable[[float, str], None]


class UnknownPreset(AccordError):
    pass


class ImportFailed(AccordError):
    pass


@dataclass
class SourceFile:
    name: str
    data: bytes


@dataclass
class TableCounts:
    read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0

    def add(self, other: TableCounts | BatchResult) -> None:
        self.read += other.read
        self.loaded += other.loaded
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.quarantined += other.quarantined


WRITE_RACE_RETRIES = 10  # DuckLake write races an import is written again after (core.lake)

@dataclass
class FileRun:
    import_id: str
    file_name: str
    kind: str | None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_updated: int = 0
    rows_quarantined: int = 0


@dataclass
class ImportSummary:
    import_ids: list[str]
    by_table: dict[str, TableCounts]
    messages: list[str] = field(default_factory=list)
    files: list[FileRun] = field(default_factory=list)
    preset: str = ""
    # the data-quality profile of the database after the import (core.ingest.profile); each flag's
    # sentence is also in messages, after the import's own
    profile: list[Flag] = field(default_factory=list)

    @property
    def imported_anything(self) -> bool:
        return any(f.kind for f in self.files) and any(
            c.loaded + c.updated + c.unchanged for c in self.by_table.values()
        )

    def frame(self) -> pd.DataFrame:
        """One row per table: read, loaded, updated, unchanged, quarantined (the import page's summary)."""
        return pd.DataFrame([{"table": t, **asdict(c)} for t, c in self.by_table.items()],
                            columns=["table", "read", "loaded", "updated", "unchanged", "quarantined"])

    @property
    def headline(self) -> str:
        """The summary in one sentence."""
        if not self.imported_anything:
            return "Nothing was imported from these files."
        t = self.totals()
        return (f"Imported with the {self.preset} preset: {t.loaded:,} rows loaded, {t.updated:,} updated, "
                f"{t.unchanged:,} unchanged, {t.quarantined:,} quarantined.")

    def totals(self) -> TableCounts:
        total = TableCounts()
        for c in self.by_table.values():
            total.add(c)
        return total

    def as_dict(self) -> dict:
        return {
            "preset": self.preset,
            "import_ids": self.import_ids,
            "by_table": {t: asdict(c) for t, c in self.by_table.items()},
            "files": [asdict(f) for f in self.files],
            "messages": self.messages,
            "profile": [f.as_dict() for f in self.profile],
        }


def _preset(name: str):
    preset = PRESETS.get(str(name).strip().lower())
    if preset is None:
        raise UnknownPreset(f"Unknown import preset {name!r}: choose one of {', '.join(PRESETS)}.")
    return preset


def _new_import_id(now: datetime, i: int) -> str:
    return f"imp-{now:%Y%m%d-%H%M%S}-{i + 1}-{uuid.uuid4().hex[:6]}"


def import_files(
    con: duckdb.DuckDBPyConnection,
    preset: str,
    files: list[SourceFile],
    *,
    actor: str,
    progress: Progress | None = None,
    max_bytes: int | None = None,
    now: datetime | None = None,
    replace_existing: bool = False,
    limits: Limits | None = None,
) -> ImportSummary:
    """Import `files` with `preset` in one transaction: all their good rows, or nothing.

    File-level problems (empty, binary, too big, unrecognised columns) become messages and the file is
    skipped; bad rows go to quarantine while the rest of their file loads. Anything unexpected rolls the
    whole import back and raises AccordError.

    replace_existing empties every canonical table first, in the same transaction (used to swap the
    demo records for real ones: if the import fails, the demo data is still there).

    limits (default: the settings) bound the work: a file above max_bytes, a header above max_columns and a
    header name above max_cell_chars are file problems; a row with a longer value is quarantined; rows past
    max_rows over all the files refuse the whole import (ImportFailed) before anything is written.
    max_bytes, when given, overrides limits.max_bytes.
    """
    p = _preset(preset)
    if not str(actor or "").strip():
        raise ImportFailed("An import needs to say who is importing (actor).")
    now = (now or utc_now()).replace(microsecond=0)
    report = progress or (lambda fraction, text: None)
    messages: list[str] = []
    runs: list[FileRun] = []
    hashes: list[str] = []
    recognised: list[Recognised] = []
    if not files:
        raise ImportFailed("No files to import: choose one or more CSV files.")
    files = [SourceFile(str(f.name), f.data.encode("utf-8") if isinstance(f.data, str) else bytes(f.data)) for f in files]
    total_bytes = sum(len(f.data) for f in files) or 1
    done_bytes = 0
    limits = limits or Limits.from_settings()
    if max_bytes is not None:
        limits = Limits(max_bytes, limits.max_rows, limits.max_columns, limits.max_cell_chars)
    rows_so_far = 0

    for i, f in enumerate(files):
        report(0.4 * done_bytes / total_bytes, f"Reading {f.name}")
        done_bytes += len(f.data)
        hashes.append(sha256(f.data))
        run = FileRun(_new_import_id(now, i), f.name, None)
        runs.append(run)
        try:
            budget = None if limits.max_rows is None else limits.max_rows - rows_so_far
            parsed = parse(f.name, f.data, limits=Limits(limits.max_bytes, budget, limits.max_columns,
                                                         limits.max_cell_chars))
            messages.extend(parsed.notes)
            run.rows_read = parsed.rows + len(parsed.rejects)
            rows_so_far += run.rows_read
            kind, mapping = recognise(p, f.name, parsed)
            run.kind = kind.key
            if kind.ignore:
                messages.append(f"{f.name}: {kind.ignore}")
                continue
            if parsed.rows == 0 and not parsed.rejects:
                messages.append(f"{f.name}: has a header but no data rows; nothing to import from it.")
            recognised.append(Recognised(i, parsed, kind, staging_frame(parsed, i, mapping), mapping))
        except TooManyRows:
            # refused before the transaction opens, so nothing of any file is written
            raise ImportFailed(
                f"{f.name}: takes the import past the {limits.max_rows:,} rows one import may hold "
                "(ACCORD_MAX_IMPORT_ROWS, over all its files); nothing was imported. Import the rows in parts, "
                "or raise the limit."
            ) from None
        except (FileProblem, Unrecognised) as exc:
            messages.append(str(exc))
        except Exception as exc:  # a file we cannot make sense of must not stop the others
            run.kind = None
            detail = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            messages.append(f"{f.name}: could not be read as CSV ({detail}); it was not imported.")

    report(0.4, "Checking and writing rows")
    read_counts = [run.rows_read for run in runs]
    noted = len(messages)

    def write() -> tuple[dict[str, TableCounts], list[Flag]]:
        # after a DuckLake write race rolled the whole import back it is written again from the same parsed
        # files, with every count started afresh
        del messages[noted:]
        for run, read in zip(runs, read_counts):
            run.rows_read, run.rows_loaded, run.rows_updated, run.rows_quarantined = read, 0, 0, 0
        return _write(con, p, recognised, runs, hashes, messages, now, actor, replace_existing, report)

    try:
        # an import is long beside a save, so it loses every race to a burst of saves: it waits longer each
        # time (0.2 s growing to 3 s; about 20 s over all tries) for the burst to pass
        by_table, flags = retry_races(
            write, tries=WRITE_RACE_RETRIES, pause=lambda attempt: min(0.2 * 1.5 ** attempt, 3.0),
            again=lambda n: report(0.4, f"Another process wrote at the same moment; writing again (try {n + 1})"))
    except AccordError:
        raise
    except Exception as exc:  # roll back (done by transaction) and say so in one line
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ImportFailed(
            f"The import failed and nothing was saved ({type(exc).__name__}: {detail[:300]})."
        ) from exc
    ordered = {t: by_table[t] for t in TABLE_ORDER if t in by_table}
    for run in runs:
        if run.rows_quarantined:
            messages.append(f"{run.file_name}: {run.rows_quarantined:,} row(s) quarantined; see the quarantine list for line and reason.")
    messages.extend(f"Data quality: {f.text}" for f in flags)
    report(1.0, "Done")
    return ImportSummary(
        import_ids=[r.import_id for r in runs], by_table=ordered, messages=messages, files=runs, preset=p.name,
        profile=flags,
    )



def _write(con: duckdb.DuckDBPyConnection, p: Preset, recognised: list[Recognised], runs: list[FileRun],
           hashes: list[str], messages: list[str], now: datetime, actor: str, replace_existing: bool,
           report: Callable[[float, str], None]) -> tuple[dict[str, TableCounts], list[Flag]]:
    """import_files' one write transaction: every batch, the quarantine, the runs, stamps and meta. Returns
    (counts per table, data-quality flags)."""
    by_table: dict[str, TableCounts] = {}
    flags: list[Flag] = []
    with transaction(con, ("records",)) as cur:
        replacing = replace_existing and any(r.parsed.rows for r in recognised)  # never for nothing
        if replacing:
            for table in TABLES:  # allow-listed names
                cur.execute(f"DELETE FROM {table}")
            messages.append("The records that were in the database before this import were removed first.")
        ctx = Ctx(cur=cur, files=recognised, now=now)
        batches = p.build(ctx) if recognised else []
        messages.extend(ctx.messages)
        bad_parts: list[pd.DataFrame] = []
        for b_i, batch in enumerate(batches):
            report(0.45 + 0.45 * b_i / max(len(batches), 1), f"Writing {batch.table}")
            result = apply_batch(cur, batch, p.formats, now)
            by_table.setdefault(batch.table, TableCounts()).add(result)
            if result.missing:
                by_table[batch.table].read -= result.missing
            if result.bad_rows is not None and len(result.bad_rows):
                part = result.bad_rows.copy()
                part["target"] = batch.target or batch.table
                bad_parts.append(part)
            if batch.primary:
                for src, n in result.loaded_by_src.items():
                    runs[src].rows_loaded += n
                for src, n in result.updated_by_src.items():
                    runs[src].rows_updated += n
        # rows the reader could not split properly (ragged, unbalanced quotes)
        for rec in recognised:
            if rec.parsed.rejects:
                target = rec.kind.target
                counts = by_table.setdefault(target, TableCounts())
                counts.read += len(rec.parsed.rejects)
                counts.quarantined += len(rec.parsed.rejects)
        bad_parts.extend(ctx.refused)
        _write_quarantine(cur, bad_parts, recognised, runs)
        for run, digest in zip(runs, hashes):
            cur.execute(
                "INSERT INTO import_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [run.import_id, p.name, run.file_name, digest, now, actor, run.rows_read,
                 run.rows_loaded, run.rows_updated, run.rows_quarantined],
            )
        used = [r for r in recognised if r.parsed.rows]
        if replacing:
            clear_stamps(cur)  # the records they described are gone
        for table, column, at, note in ctx.stamps:
            record_stamp(cur, table, column, at, note)
        prune_stamps(cur)
        if used:
            source = f"imported: {p.name} ({len(used)} file{'s' if len(used) != 1 else ''})"
            if get_meta(cur, "is_demo") == "1" and not replacing:
                # appended beside demo records: the demo banner stays, and the source says both
                set_meta(cur, "source", f"{get_meta(cur, 'source')} + {source}")
            else:
                set_meta(cur, "source", source)
                set_meta(cur, "is_demo", "0")
            latest = latest_stamp(cur)
            if latest is not None:  # never past the import's moment: the future is not data
                set_meta(cur, "as_of", min(latest, now).isoformat(timespec="seconds"))
        if recognised:
            flags = [*profile(cur, import_ids=[r.import_id for r in runs]), *ctx.flags]
    return by_table, flags


def _write_quarantine(cur, parts: list[pd.DataFrame], recognised: list[Recognised], runs: list[FileRun]) -> None:
    by_src = {r.src: r for r in recognised}
    frames = []
    for rec in recognised:
        if rec.parsed.rejects:
            frames.append(pd.DataFrame({
                "_src": rec.src,
                "_line": [r.line for r in rec.parsed.rejects],
                "column_name": None,
                "reason": [r.reason for r in rec.parsed.rejects],
                "target": rec.kind.target,
                "raw": [r.raw for r in rec.parsed.rejects],
            }))
    for part in parts:
        if part is None or part.empty:
            continue
        part = part.copy()
        part["raw"] = ""
        for src, idx in part.groupby("_src").groups.items():
            rec = by_src[int(src)]
            part.loc[idx, "raw"] = rec.parsed.raw_lines(part.loc[idx, "_line"].to_numpy())
        frames.append(part[["_src", "_line", "column_name", "reason", "target", "raw"]])
    if not frames:
        return
    q = pd.concat(frames, ignore_index=True)
    q["column_name"] = q["column_name"].where(q["column_name"].astype("object").notna() & (q["column_name"] != ""), None)
    q["import_id"] = q["_src"].map(lambda s: runs[int(s)].import_id)
    q["file_name"] = q["_src"].map(lambda s: runs[int(s)].file_name)
    for src, n in q.groupby("_src")["_line"].nunique().items():
        runs[int(src)].rows_quarantined = int(n)
    q = q.sort_values(["_src", "_line"], kind="stable")
    out = pd.DataFrame({
        "import_id": q["import_id"].astype("str"),
        "file_name": q["file_name"].astype("str"),
        "line": q["_line"].astype("int64"),
        "target": q["target"].astype("str"),
        "column_name": q["column_name"].astype("object"),
        "reason": q["reason"].astype("str"),
        "raw": q["raw"].fillna("").astype("str"),
    })
    cur.register("_acc_q", out)
    try:
        cur.execute(
            "INSERT INTO quarantine (import_id, file_name, line, target, column_name, reason, raw) "
            "SELECT import_id, file_name, line, target, CAST(column_name AS VARCHAR), reason, raw FROM _acc_q"
        )
    finally:
        unregister(cur, "_acc_q")


def latest_stamp(con) -> datetime | None:
    parts = [f"SELECT max({ident(c)}) AS m FROM {ident(t)}" for t, cols in STAMPS.items() for c in cols]
    row = con.execute(f"SELECT max(m) FROM ({' UNION ALL '.join(parts)})").fetchone()
    value = row[0] if row else None
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = pd.Timestamp(value).to_pydatetime()
    return value.replace(microsecond=0)


@reads("records")
def quarantine_rows(con: duckdb.DuckDBPyConnection, import_id: str | None = None) -> pd.DataFrame:
    """Quarantined rows (newest import first, then file order), optionally of one import."""
    where, params = "", []
    if import_id:
        where, params = "WHERE q.import_id = ?", [import_id]
    return con.execute(
        "SELECT q.import_id, r.imported_at, q.file_name, q.line, q.target, q.column_name, q.reason, q.raw "
        "FROM quarantine q LEFT JOIN import_runs r USING (import_id) "
        f"{where} ORDER BY r.imported_at DESC NULLS LAST, q.import_id, q.line, q.column_name",
        params,
    ).df()


@reads("records")
def import_runs(con: duckdb.DuckDBPyConnection, limit: int = 200) -> pd.DataFrame:
    return con.execute(
        "SELECT * FROM import_runs ORDER BY imported_at DESC, import_id LIMIT ?", [int(limit)]
    ).df()


def quarantine_csv(con: duckdb.DuckDBPyConnection, import_id: str | None = None) -> bytes:
    """The quarantine as a download, formula cells neutralised (raw rows are untrusted text)."""
    from core.export import safe_csv

    return safe_csv(quarantine_rows(con, import_id))


def files_from_paths(paths: Sequence[str | Path], *, max_bytes: int | None = None) -> list[SourceFile]:
    """Files as given; a folder contributes its *.csv files (sorted by name). Missing paths: AccordError.

    Every size is checked before any file is read (a 1 GiB file is refused by its size, not read whole into
    memory first), so a refusal reads nothing; max_bytes defaults to the settings' limit, the Import page's."""
    if max_bytes is None:
        max_bytes = Limits.from_settings().max_bytes
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".csv")
            if not inside:
                raise ImportFailed(f"{path}: the folder holds no .csv files.")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        elif path.exists():
            raise ImportFailed(f"{path}: is neither a file nor a folder.")
        else:
            raise ImportFailed(f"{path}: no such file or folder.")
    for path in found:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise ImportFailed(f"{size_problem(str(path), size, max_bytes)} Nothing was imported.")
    return [SourceFile(p.name, p.read_bytes()) for p in found]


def format_summary(summary: ImportSummary) -> str:
    lines = [f"Import with preset {summary.preset}:"]
    if summary.by_table:
        lines.append(f"  {'table':<20}{'read':>10}{'loaded':>10}{'updated':>10}{'unchanged':>11}{'quarantined':>13}")
        for t, c in summary.by_table.items():
            lines.append(f"  {t:<20}{c.read:>10,}{c.loaded:>10,}{c.updated:>10,}{c.unchanged:>11,}{c.quarantined:>13,}")
    else:
        lines.append("  nothing was imported.")
    for m in summary.messages:
        lines.append(f"  - {m}")
    return "\n".join(lines)
