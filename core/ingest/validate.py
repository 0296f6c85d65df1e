"""Typing, validating and writing one batch of rows for one canonical table, all in DuckDB.

A batch is a pandas frame whose columns are canonical column names (an allow-list: nothing from a file
ever becomes an identifier) plus `_src` (which file) and `_line` (its line there). It is registered with
DuckDB, typed and checked by one generated query, and the good rows are upserted by natural key:
new keys are inserted, changed rows updated in place, identical rows left alone. Values only ever reach
SQL as registered frames or bound parameters.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa

from core.db import RECORD_KEYS
from core.ingest.canonical import (
    CLOSED_BEFORE_CREATED_WORDS,
    CLOSED_STAGES,
    FUTURE_TOLERANCE,
    FUTURE_WORDS,
    KEYS,
    NON_FINITE_WORDS,
    OUT_OF_RANGE_WORDS,
    STAMPS,
    TABLES,
    TOO_LARGE_WORDS,
    Col,
    ident,
)

# An explicit zone or offset after a time of day: converted to UTC; everything else is taken as UTC.
TZ_RE = r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|UTC|GMT|[+-]\d{2}(:?\d{2})?)$"
DATE_EXAMPLE = "e.g. 2024-03-01, 2024-03-01 14:30:00 or 2024-03-01T14:30:00Z"
MAX_SHOWN = 60  # characters of a bad value quoted in a reason
INT_LIMIT = 2_147_483_648  # DuckDB INTEGER holds -2**31 .. 2**31 - 1


@dataclass
class Batch:
    """Rows for one table from one or more files of an import (see module docstring).

    mode: upsert (insert new keys, update changed rows), ensure (insert new keys only, e.g. reps derived
    from owner ids, which must not overwrite a fuller reps file) or patch (update existing rows only).
    insert_only: columns written when a row is inserted but never changed by a later import.
    hints: extra words appended to a column's error message (e.g. the preset's accepted values).
    Optional `_pcol`/`_preason` columns carry problems the preset found while mapping.
    """

    table: str
    frame: pd.DataFrame
    mode: str = "upsert"
    primary: bool = True
    insert_only: tuple[str, ...] = ()
    hints: dict[str, str] = field(default_factory=dict)
    target: str | None = None  # quarantine target name; defaults to table
    # (table, column): rows derived from a record of `table` load only if that record is in it by now,
    # e.g. stage history derived from a deals row that was itself quarantined is refused with it
    parent: tuple[str, str] | None = None


@dataclass
class BatchResult:
    table: str
    read: int = 0
    loaded: int = 0
    updated: int = 0
    unchanged: int = 0
    quarantined: int = 0
    missing: int = 0  # patch rows whose key is not in the table
    loaded_by_src: dict[int, int] = field(default_factory=dict)
    updated_by_src: dict[int, int] = field(default_factory=dict)
    bad_rows: pd.DataFrame | None = None  # _src, _line, column_name, reason


def _num(r: str) -> str:
    """SQL turning number text into something TRY_CAST(... AS DOUBLE) reads: currency sign and spaces
    dropped; 1,234.5 and 1.234,5 thousands separators and a decimal comma (1234,5) understood."""
    s = f"regexp_replace({r}, '^[$€£¥]|\\s', '', 'g')"
    return (
        f"CASE WHEN regexp_full_match({s}, '-?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?') THEN replace({s}, ',', '') "
        f"WHEN regexp_full_match({s}, '-?\\d{{1,3}}(\\.\\d{{3}})+,\\d+') THEN replace(replace({s}, '.', ''), ',', '.') "
        f"WHEN regexp_full_match({s}, '-?\\d+,\\d+') THEN replace({s}, ',', '.') ELSE {s} END"
    )


def _ts(r: str, fmt_param: str | None) -> str:
    extra = f", try_strptime({r}, ${fmt_param})" if fmt_param else ""
    return (
        f"CASE WHEN {r} IS NULL THEN NULL "
        f"WHEN regexp_full_match({r}, '\\d{{12,13}}') THEN make_timestamp(CAST({r} AS BIGINT) * 1000) "
        f"WHEN regexp_matches({r}, '{TZ_RE}') THEN timezone('UTC', TRY_CAST({r} AS TIMESTAMPTZ)) "
        f"ELSE coalesce(TRY_CAST({r} AS TIMESTAMP){extra}) END"
    )


def _quote(expr: str) -> str:
    return f"'''' || left({expr}, {MAX_SHOWN}) || ''''"


def _dtype_kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series.dtype):
        return "bool"
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series.dtype):
        return "number"
    return "text"


class _Sql:
    def __init__(self) -> None:
        self.params: dict[str, object] = {}

    def bind(self, value) -> str:
        key = f"p{len(self.params)}"
        self.params[key] = value
        return key


def _build_typed(
    batch: Batch, cols: list[Col], formats: tuple[str, ...], now: datetime | None = None,
) -> tuple[str, list[str], dict]:
    """SQL creating _acc_v (typed columns + one problem column per check) and the problem columns' names.

    With `now` (the import's moment), stamped events (canonical.STAMPS) dated more than FUTURE_TOLERANCE
    after it are refused: a row from the future would move the dashboard's as-of past today."""
    sql = _Sql()
    needs_formats = formats and any(
        c.kind in ("timestamp", "date") and _dtype_kind(batch.frame[c.name]) == "text" for c in cols
    )
    fmt = sql.bind(list(formats)) if needs_formats else None
    clean, numbers, typed, problems, problem_cols = [], [], [], [], []
    stamped = set(STAMPS.get(batch.table, ()))
    for i, col in enumerate(cols):
        q = ident(col.name)
        kind = _dtype_kind(batch.frame[col.name])
        r = f"r{i}"
        if kind == "number":
            clean.append(f"CASE WHEN isnan(CAST({q} AS DOUBLE)) THEN NULL ELSE CAST({q} AS VARCHAR) END AS {r}")
        elif kind == "datetime":
            clean.append(f"strftime(CAST({q} AS TIMESTAMP), '%Y-%m-%d %H:%M:%S') AS {r}")
        else:
            clean.append(f"NULLIF(trim(CAST({q} AS VARCHAR)), '') AS {r}")
        if col.kind == "text":
            t = r
        elif col.kind in ("timestamp", "date"):
            t = f"TRY_CAST({r} AS TIMESTAMP)" if kind == "datetime" else _ts(r, fmt)
            if col.kind == "date":
                t = f"CAST({t} AS DATE)"
        elif col.kind in ("int", "money"):
            d = (f"TRY_CAST({r} AS DOUBLE)" if kind == "number" else
                 f"coalesce(TRY_CAST({r} AS DOUBLE), TRY_CAST({_num(r)} AS DOUBLE))")
            numbers.append(f"CASE WHEN {r} IS NULL THEN NULL ELSE {d} END AS d{i}")
            d = f"d{i}"
            if col.kind == "int":
                t = (f"CASE WHEN isfinite({d}) AND {d} = round({d}) AND abs({d}) < {INT_LIMIT} "
                     f"THEN CAST({d} AS INTEGER) END")
            else:
                t = f"CASE WHEN isfinite({d}) THEN {d} END"
        elif col.kind == "bool":
            t = (f"CASE WHEN lower({r}) IN ('true', 't', 'yes', 'y', '1', '1.0') THEN true "
                 f"WHEN lower({r}) IN ('false', 'f', 'no', 'n', '0', '0.0') THEN false END")
        else:  # pragma: no cover - canonical kinds are fixed
            raise ValueError(col.kind)
        typed.append(f"{t} AS {q}")
        hint = batch.hints.get(col.name)
        hint_sql = ""
        if hint:
            hint_sql = f" || ${sql.bind(' (' + hint + ')')}"

        def add(cond: str, reason: str, _col=col.name) -> None:
            problems.append(f"CASE WHEN {cond} THEN {reason} END")
            problem_cols.append(_col)

        name = col.name.replace("_", " ")
        if col.required:
            add(f"{r} IS NULL", f"'{name} is required but empty'{hint_sql}")
        if col.kind in ("int", "money"):
            d = f"d{i}"
            unreadable = "' is not a whole number'" if col.kind == "int" else "' is not a number'"
            add(f"{r} IS NOT NULL AND {d} IS NULL", f"'{name} ' || {_quote(r)} || {unreadable}{hint_sql}")
            add(f"{d} IS NOT NULL AND NOT isfinite({d})", f"'{name} ' || {_quote(r)} || ' {NON_FINITE_WORDS}'{hint_sql}")
            if col.kind == "int":
                add(f"isfinite({d}) AND {d} <> round({d})", f"'{name} ' || {_quote(r)} || ' is not a whole number'")
                add(f"isfinite({d}) AND {d} = round({d}) AND abs({d}) >= {INT_LIMIT}",
                    f"'{name} ' || {_quote(r)} || ' {OUT_OF_RANGE_WORDS} (whole numbers up to {INT_LIMIT - 1:,})'")
        elif col.kind != "text":
            what = {
                "timestamp": f"' is not a date/time ({DATE_EXAMPLE})'",
                "date": f"' is not a date ({DATE_EXAMPLE})'",
                "bool": "' is not true/false (or yes/no, 1/0)'",
            }[col.kind]
            add(f"{r} IS NOT NULL AND {q} IS NULL", f"'{name} ' || {_quote(r)} || {what}{hint_sql}")
        if col.kind in ("timestamp", "date"):
            add(f"{q} IS NOT NULL AND (year({q}) < 1900 OR year({q}) > 2100)",
                f"'{name} ' || {_quote(r)} || ' is outside the years 1900-2100'")
        if now is not None and col.kind == "timestamp" and col.name in stamped:
            limit = sql.bind(now + FUTURE_TOLERANCE)
            shown_now = sql.bind(f"{now:%Y-%m-%d %H:%M:%S} UTC)")
            add(f"{q} IS NOT NULL AND year({q}) <= 2100 AND {q} > ${limit}",
                f"'{name} is dated ' || strftime({q}, '%Y-%m-%d %H:%M:%S') || ', {FUTURE_WORDS}' || ${shown_now}")
        if col.allowed:
            allowed = sql.bind(list(col.allowed))
            add(f"{r} IS NOT NULL AND NOT list_contains(${allowed}, {r})",
                f"'unknown {name} ' || {_quote(r)} || '; expected one of {', '.join(col.allowed)}'{hint_sql}")
        if col.minimum is not None:
            word = "negative" if col.minimum == 0 else f"below {col.minimum:g}"
            add(f"{q} < {col.minimum!r}", f"'{name} ' || {_quote(r)} || ' is {word}'")
        if col.maximum is not None:
            bound = f"{TOO_LARGE_WORDS} of {col.maximum:,.0f}" if col.maximum >= 1000 else f"is above {col.maximum:g}"
            add(f"{q} > {col.maximum!r}", f"'{name} ' || {_quote(r)} || ' {bound}'")
    names = {c.name for c in cols}
    if batch.table == "deals" and "stage" in names:
        closed = sql.bind(list(CLOSED_STAGES))
        if "closed_at" in names:
            problems.append(
                f"CASE WHEN list_contains(${closed}, \"stage\") AND \"closed_at\" IS NULL AND r_closed_raw IS NULL "
                f"THEN 'a closed deal (stage ' || \"stage\" || ') needs a close date' "
                f"WHEN \"stage\" IS NOT NULL AND NOT list_contains(${closed}, \"stage\") AND \"closed_at\" IS NOT NULL "
                f"THEN 'an open deal (stage ' || \"stage\" || ') cannot have a close date' END"
            )
            problem_cols.append("closed_at")
        else:
            problems.append(
                f"CASE WHEN list_contains(${closed}, \"stage\") THEN 'a closed deal needs a close date (closed_at)' END"
            )
            problem_cols.append("closed_at")
    if batch.table == "deals" and {"created_at", "closed_at"} <= names:
        # compared by date: a CRM's close date is a day (midnight) while creation is a moment of that day
        problems.append(
            "CASE WHEN CAST(\"closed_at\" AS DATE) < CAST(\"created_at\" AS DATE) THEN 'closed on ' || "
            "strftime(\"closed_at\", '%Y-%m-%d') || ', " + CLOSED_BEFORE_CREATED_WORDS + " (' || "
            "strftime(\"created_at\", '%Y-%m-%d') || ')' END"
        )
        problem_cols.append("closed_at")
    if batch.table == "campaigns" and {"started_on", "ended_on"} <= names:
        problems.append("CASE WHEN \"ended_on\" < \"started_on\" THEN 'the campaign ends before it starts' END")
        problem_cols.append("ended_on")
    if "_preason" in batch.frame.columns:
        problems.append("_preason")
        problem_cols.append("")  # column name comes from _pcol
    closed_raw = ""
    if batch.table == "deals" and "closed_at" in names:
        idx = [c.name for c in cols].index("closed_at")
        closed_raw = f", r{idx} AS r_closed_raw"
    extra_in = ", _pcol, _preason" if "_preason" in batch.frame.columns else ""
    inner = f"SELECT _src, _line{extra_in}, {', '.join(clean)} FROM _acc_in"
    if numbers:  # numbers read once, then typed and checked
        inner = f"SELECT *, {', '.join(numbers)} FROM ({inner})"
    dcols = "".join(f", d{i}" for i, c in enumerate(cols) if c.kind in ("int", "money"))
    middle = (f"SELECT _src, _line{extra_in}{closed_raw}{dcols}, "
              f"{', '.join([f'r{i}' for i in range(len(cols))] + typed)} FROM ({inner})")
    plist = ", ".join(f"{p} AS _p{j}" for j, p in enumerate(problems))
    outer = (
        f"CREATE OR REPLACE TEMP TABLE _acc_v AS SELECT _src, _line{extra_in}, "
        f"{', '.join(ident(c.name) for c in cols)}{', ' + plist if plist else ''} FROM ({middle})"
    )
    return outer, problem_cols, sql.params


def apply_batch(
    cur: duckdb.DuckDBPyConnection, batch: Batch, formats: tuple[str, ...] = (), now: datetime | None = None,
) -> BatchResult:
    table = batch.table
    if table == "deals" and "stage" in batch.frame.columns and "closed_at" not in batch.frame.columns:
        # a stage without a close date: an open deal has none (even if it had one before); a closed one is refused
        batch.frame = batch.frame.assign(closed_at="")
    spec = {c.name: c for c in TABLES[table]}
    names = [c for c in batch.frame.columns if c in spec]
    unknown = [c for c in batch.frame.columns if c not in spec and c not in ("_src", "_line", "_pcol", "_preason")]
    if unknown:
        raise ValueError(f"batch for {table} has non-canonical columns {unknown}")
    keys = KEYS[table]
    missing_keys = [k for k in keys if k not in names]
    if missing_keys:
        raise ValueError(f"batch for {table} lacks key columns {missing_keys}")
    cols = [spec[n] for n in names]
    result = BatchResult(table=table, read=len(batch.frame))
    if batch.frame.empty:
        result.bad_rows = pd.DataFrame(columns=["_src", "_line", "column_name", "reason"])
        return result
    cur.register("_acc_in", pa.Table.from_pandas(batch.frame, preserve_index=False))
    try:
        create, problem_cols, params = _build_typed(batch, cols, formats, now)
        cur.execute(create, params)
    finally:
        unregister(cur, "_acc_in")
    nprob = len(problem_cols)
    all_ok = " AND ".join(f"_p{j} IS NULL" for j in range(nprob)) or "true"
    keyq = ", ".join(ident(k) for k in keys)
    several_files = cur.execute("SELECT count(DISTINCT _src) FROM _acc_v").fetchone()[0] > 1  # type: ignore[index]  # an aggregate: always one row
    repeated = several_files or cur.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM _acc_v WHERE {all_ok} GROUP BY {keyq} HAVING count(*) > 1)"
    ).fetchone()[0]  # type: ignore[index]  # an aggregate: always one row
    if repeated:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE _acc_ok AS SELECT *, "
            f"row_number() OVER (PARTITION BY _src, {keyq} ORDER BY _line) AS _rn, "
            f"min(_line) OVER (PARTITION BY _src, {keyq}) AS _first, "
            f"max(_src) OVER (PARTITION BY {keyq}) AS _last_src FROM _acc_v WHERE {all_ok}"
        )
    else:  # the common case: every key once, one file — no window needed
        cur.execute(
            f"CREATE OR REPLACE TEMP VIEW _acc_ok AS SELECT *, 1 AS _rn, _line AS _first, _src AS _last_src "
            f"FROM _acc_v WHERE {all_ok}"
        )
    # problems → one quarantine entry per (row, problem)
    parts, qparams = [], {}
    for j, col in enumerate(problem_cols):
        if col:
            qparams[f"c{j}"] = col
            parts.append(f"SELECT _src, _line, $c{j} AS column_name, _p{j} AS reason FROM _acc_v WHERE _p{j} IS NOT NULL")
        else:
            parts.append(f"SELECT _src, _line, _pcol AS column_name, _p{j} AS reason FROM _acc_v WHERE _p{j} IS NOT NULL")
    key_label = " / ".join(k.replace("_", " ") for k in keys)
    key_text = " || ' / ' || ".join(f"CAST({ident(k)} AS VARCHAR)" for k in keys)
    qparams["dupcol"] = keys[0]
    parts.append(
        f"SELECT _src, _line, $dupcol AS column_name, "
        f"'duplicate {key_label} ' || {_quote(key_text)} || ' (first on line ' || _first || ' of the same file)' AS reason "
        f"FROM _acc_ok WHERE _rn > 1"
    )
    if batch.parent is not None:
        ptable, pcol = batch.parent
        qparams["parentcol"] = pcol
        parts.append(
            f"SELECT _src, _line, $parentcol AS column_name, "
            f"'{pcol.replace('_', ' ')} ' || {_quote(f'CAST({ident(pcol)} AS VARCHAR)')} || ' was not loaded into "
            f"{ptable}, so this {table.replace('_', ' ')} row was not either' AS reason "
            f"FROM _acc_ok o WHERE _rn = 1 AND NOT EXISTS "
            f"(SELECT 1 FROM {ident(ptable)} p WHERE p.{ident(pcol)} = o.{ident(pcol)})"
        )
    bad = cur.execute(" UNION ALL ".join(parts) + " ORDER BY _src, _line", qparams).df()
    has_parent = "true"
    if batch.parent is not None:
        ptable, pcol = batch.parent
        has_parent = f"EXISTS (SELECT 1 FROM {ident(ptable)} p WHERE p.{ident(pcol)} = o.{ident(pcol)})"
    result.bad_rows = bad

    cur.execute("CREATE OR REPLACE TEMP VIEW _acc_good AS SELECT * EXCLUDE (_rn, _first, _last_src) FROM _acc_ok o "
                f"WHERE _rn = 1 AND _src = _last_src AND {has_parent}")
    superseded = cur.execute(
        "SELECT count(*) FROM _acc_ok WHERE _rn = 1 AND _src <> _last_src").fetchone()[0]  # type: ignore[index]  # an aggregate: always one row
    tq = ident(table)
    on = " AND ".join(f"t.{ident(k)} = g.{ident(k)}" for k in keys)
    updatable = [c.name for c in cols if c.name not in keys and c.name not in batch.insert_only]
    colq = ", ".join(ident(c.name) for c in cols)
    cur.execute(
        f"CREATE OR REPLACE TEMP TABLE _acc_new AS SELECT g.* FROM _acc_good g "
        f"WHERE NOT EXISTS (SELECT 1 FROM {tq} t WHERE {on})"
    )
    if updatable:
        differs = " OR ".join(f"t.{ident(c)} IS DISTINCT FROM g.{ident(c)}" for c in updatable)
        cur.execute(f"CREATE OR REPLACE TEMP TABLE _acc_chg AS SELECT g.* FROM _acc_good g JOIN {tq} t ON {on} WHERE {differs}")
    else:
        cur.execute("CREATE OR REPLACE TEMP TABLE _acc_chg AS SELECT * FROM _acc_good WHERE false")
    good = cur.execute("SELECT count(*) FROM _acc_good").fetchone()[0]  # type: ignore[index]  # an aggregate: always one row
    new = cur.execute("SELECT count(*) FROM _acc_new").fetchone()[0]  # type: ignore[index]  # an aggregate: always one row
    chg = cur.execute("SELECT count(*) FROM _acc_chg").fetchone()[0]  # type: ignore[index]  # an aggregate: always one row
    if batch.mode in ("upsert", "ensure") and new:
        cur.execute(f"INSERT INTO {tq} ({colq}) SELECT {colq} FROM _acc_new")
        result.loaded = int(new)
        result.loaded_by_src = _by_src(cur, "_acc_new")
    if batch.mode == "patch":
        result.missing = int(new)
    if batch.mode in ("upsert", "patch") and chg:
        sets = ", ".join(f"{ident(c)} = g.{ident(c)}" for c in updatable)
        for k in RECORD_KEYS:  # the id may change: its key is linked again (LINK_KEYS)
            if table in k.holders and k.id in updatable:
                sets += f", {k.key} = NULL"  # names from RECORD_KEYS
        cur.execute(f"UPDATE {tq} AS t SET {sets} FROM _acc_chg g WHERE {on}")
        result.updated = int(chg)
        result.updated_by_src = _by_src(cur, "_acc_chg")
    if batch.mode == "ensure":
        chg = 0
    result.updated += int(superseded)
    result.unchanged = int(good - new - chg)
    # rows refused (bad values, duplicates, missing parent); one source line may yield several rows
    result.quarantined = int(result.read - good - superseded)
    cur.execute("DROP VIEW IF EXISTS _acc_good")
    cur.execute(f"DROP {'TABLE' if repeated else 'VIEW'} IF EXISTS _acc_ok")
    for t in ("_acc_new", "_acc_chg", "_acc_v"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    return result


def _by_src(cur, temp: str) -> dict[int, int]:
    return {int(s): int(n) for s, n in cur.execute(f"SELECT _src, count(*) FROM {temp} GROUP BY _src").fetchall()}


def unregister(cur, name: str) -> None:
    try:
        cur.unregister(name)
    except duckdb.Error:  # an aborted transaction refuses even this; the rollback cleans up
        pass
