"""What a preset is: the file kinds it recognises (by header, helped by file name) and how it maps them
onto batches of canonical rows. Helpers here are vectorised pandas operations over whole columns."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd

from core.ingest.canonical import FUTURE_TOLERANCE, ident
from core.ingest.profile import Flag
from core.ingest.reader import ParsedFile
from core.ingest.validate import Batch, unregister


def norm(text: str) -> str:
    """Header or value key: lower case, letters and digits only, so case, spaces, underscores and other
    punctuation never matter ("Create Date" == "createdate" == "CREATE_DATE"). Every preset matches
    headers through this one function (FileKind.alias_map and _match)."""
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


@dataclass(frozen=True)
class FileKind:
    key: str
    label: str
    target: str  # the table its rows mainly feed (quarantine target of unreadable rows)
    columns: dict[str, tuple[str, ...]]  # staging name -> header spellings it accepts
    required: tuple[str, ...] = ()
    all_of: tuple[str, ...] = ()  # recognised only when all of these columns are present
    any_of: tuple[str, ...] = ()  # ... and at least one of these (if any listed)
    none_of: tuple[str, ...] = ()  # ... and none of these
    name_hints: tuple[str, ...] = ()  # file-name fragments that point at this kind
    dynamic: Callable[[str], str | None] | None = None  # normalised header -> staging name (patterned columns)
    ignore: str | None = None  # recognised but not imported (e.g. a data dictionary): says why

    def alias_map(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for staging, aliases in self.columns.items():
            for a in (staging, *aliases):
                out.setdefault(norm(a), staging)
        return out

    def shown(self, staging: str) -> str:
        aliases = self.columns.get(staging, ())
        return " / ".join(dict.fromkeys(aliases or (staging,)))


@dataclass
class Preset:
    name: str
    label: str
    kinds: tuple[FileKind, ...]
    build: Callable[[Ctx], list[Batch]]
    formats: tuple[str, ...] = ()  # strptime formats accepted besides ISO 8601 and epoch milliseconds
    strip_prefixes: tuple[str, ...] = ()  # normalised header prefixes dropped (ETL tools' property_ ...)
    summary: str = ""


@dataclass
class Recognised:
    src: int
    parsed: ParsedFile
    kind: FileKind
    frame: pd.DataFrame  # staging columns (str, missing = "") + _src + _line
    mapping: dict[str, str]  # staging -> header as in the file


class Unrecognised(Exception):
    pass


def _match(kind: FileKind, header: list[str], strip_prefixes: tuple[str, ...]) -> dict[str, str]:
    amap = kind.alias_map()
    found: dict[str, str] = {}
    for h in header:
        key = norm(h)
        staging = amap.get(key)
        if staging is None:
            for prefix in strip_prefixes:
                if key.startswith(prefix) and key[len(prefix):] in amap:
                    staging = amap[key[len(prefix):]]
                    break
        if staging is None and kind.dynamic is not None:
            staging = kind.dynamic(key)
        if staging is not None and staging not in found:
            found[staging] = h
    return found


def recognise(preset: Preset, name: str, parsed: ParsedFile) -> tuple[FileKind, dict[str, str]]:
    """The file kind this header belongs to, or Unrecognised with a plain message."""
    stem = norm(re.sub(r"\.[A-Za-z0-9]+$", "", name.rsplit("/", 1)[-1]))
    matches = {k.key: _match(k, parsed.header, preset.strip_prefixes) for k in preset.kinds}

    def fits(k: FileKind) -> bool:
        m = matches[k.key]
        return (all(c in m for c in k.all_of)
                and (not k.any_of or any(c in m for c in k.any_of))
                and not any(c in m for c in k.none_of))

    def hint_len(k: FileKind) -> int:
        return max((len(norm(h)) for h in k.name_hints if norm(h) and norm(h) in stem), default=0)

    candidates = [k for k in preset.kinds if fits(k)]
    hinted = sorted((k for k in preset.kinds if hint_len(k)), key=hint_len, reverse=True)
    chosen: FileKind | None = None
    for k in hinted:
        if k in candidates:
            chosen = k
            break
    if chosen is None and candidates:
        chosen = max(candidates, key=lambda k: (len(matches[k.key]), -preset.kinds.index(k)))
    if chosen is None and hinted:
        chosen = hinted[0]
    if chosen is None:
        best = max(preset.kinds, key=lambda k: len(matches[k.key]))
        if not matches[best.key]:
            expected = "; ".join(
                f"{k.label}: " + ", ".join(k.shown(c).split(" / ")[0] for c in (k.required or k.all_of)[:4])
                for k in preset.kinds if not k.ignore
            )
            raise Unrecognised(
                f"{name}: none of the expected columns for the {preset.label} preset were found "
                f"(its header starts {', '.join(parsed.header[:5])!s}). Expected, for example — {expected}."
            )
        lacking = [c for c in best.all_of if c not in matches[best.key]]
        raise Unrecognised(
            f"{name}: looks like a {best.label} file but lacks "
            + (", ".join(best.shown(c) for c in lacking) if lacking else "the columns that identify it")
            + "; it was not imported."
        )
    m = matches[chosen.key]
    lacking = [c for c in chosen.required if c not in m]
    if lacking:
        raise Unrecognised(
            f"{name}: read as a {chosen.label} file, but the required column(s) "
            f"{'; '.join(chosen.shown(c) for c in lacking)} are missing; it was not imported."
        )
    return chosen, m


def staging_frame(parsed: ParsedFile, src: int, mapping: dict[str, str]) -> pd.DataFrame:
    names = list(parsed.frame.columns)
    out = {}
    for staging, header in mapping.items():
        # the parsed frame's column names are the header made unique; find the first with this header
        idx = parsed.header.index(header)
        out[staging] = parsed.frame[names[idx]]
    frame = pd.DataFrame(out, index=parsed.frame.index)
    frame["_src"] = np.int64(src)
    frame["_line"] = parsed.frame["_line"].to_numpy()
    return frame.reset_index(drop=True)


@dataclass
class Ctx:
    """What a preset's build sees: the recognised files, the transaction's cursor (read-only use), the
    import's moment, and places to put messages and rows it refuses outside any canonical table."""

    cur: duckdb.DuckDBPyConnection
    files: list[Recognised]
    now: datetime
    messages: list[str] = field(default_factory=list)
    refused: list[pd.DataFrame] = field(default_factory=list)  # _src, _line, column_name, reason, target
    flags: list[Flag] = field(default_factory=list)  # findings about values no canonical column keeps
    stamps: list[tuple[str, str, datetime, str]] = field(default_factory=list)  # see stamped()

    def stamped(self, table: str, column: str, at: datetime, note: str) -> None:
        """Records whose source had no `column` were given `at` instead (the schema needs a value): the
        data-quality profile then says how many carry it, with `note` saying what it means."""
        self.stamps.append((table, column, at, note))

    def frame(self, kind: str) -> pd.DataFrame | None:
        parts = [f.frame for f in self.files if f.kind.key == kind]
        if not parts:
            return None
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].copy()
        for c in frame.columns:
            if c not in ("_src", "_line") and (frame[c].dtype != "str" or frame[c].hasnans):
                frame[c] = frame[c].fillna("").astype("str")
        return frame

    def file_names(self, kind: str) -> list[str]:
        return [f.parsed.name for f in self.files if f.kind.key == kind]

    def refuse(self, rows: pd.DataFrame, column: str, reason: str | pd.Series, target: str) -> None:
        if rows.empty:
            return
        part = pd.DataFrame({"_src": rows["_src"].to_numpy(), "_line": rows["_line"].to_numpy()})
        part["column_name"] = column
        part["reason"] = reason.to_numpy() if isinstance(reason, pd.Series) else reason
        part["target"] = target
        self.refused.append(part)

    def existing(self, table: str, key: str, columns: list[str], keys: pd.Series) -> pd.DataFrame:
        """Rows already in the database for these keys (before this import's writes)."""
        wanted = pd.DataFrame({"k": pd.Series(keys, dtype="str").dropna().unique()})
        cols = ", ".join(f"t.{ident(c)}" for c in [key, *columns])
        self.cur.register("_acc_keys", wanted)
        try:
            return self.cur.execute(
                f"SELECT {cols} FROM {ident(table)} t JOIN _acc_keys k ON t.{ident(key)} = k.k"
            ).df()
        finally:
            unregister(self.cur, "_acc_keys")


# ---- vectorised value helpers --------------------------------------------------------------------

def col(frame: pd.DataFrame, name: str) -> pd.Series:
    """A staging column as stripped text ("" when the file lacks it)."""
    if name in frame.columns:
        return frame[name].fillna("").astype("str").str.strip()
    return pd.Series([""] * len(frame), index=frame.index, dtype="str")


def has(frame: pd.DataFrame, name: str) -> bool:
    return name in frame.columns


def keys_of(series: pd.Series) -> pd.Series:
    return series.fillna("").astype("str").str.lower().str.replace(r"[^a-z0-9]", "", regex=True)


def map_values(series: pd.Series, mapping: dict[str, str], default: str | None = None) -> pd.Series:
    """Map values through `mapping` (keys compared normalised). Unknown non-blank values stay as they are
    (so validation reports them by name) unless a default is given; blanks become ""."""
    keyed = keys_of(series)
    table = {norm(k): v for k, v in mapping.items()}
    mapped = keyed.map(table)
    if default is not None:
        mapped = mapped.where(mapped.notna() | (keyed == ""), default)
    else:
        mapped = mapped.where(mapped.notna(), series.fillna("").astype("str").str.strip())
    return mapped.where(keyed != "", "").astype("str")


def truthy(series: pd.Series) -> pd.Series:
    return keys_of(series).isin(["true", "t", "yes", "y", "1", "10"])


def blank_to(series: pd.Series, value: str) -> pd.Series:
    s = series.fillna("").astype("str").str.strip()
    return s.where(s != "", value)


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype="str") for c in columns})


def seniority_from_title(title: pd.Series) -> pd.Series:
    """Job title → canonical seniority by keywords (documented in docs/importing.md); blank stays blank."""
    t = " " + title.fillna("").astype("str").str.lower().str.replace(r"[^a-z0-9]+", " ", regex=True) + " "
    out = pd.Series([""] * len(t), index=t.index, dtype="str")
    rules = (
        ("individual", r"."),
        ("manager", r" (?:manager|mgr|lead|supervisor|team lead) "),
        ("director", r" (?:director|head|dir) "),
        ("c_level", r" (?:ceo|cfo|cto|coo|cmo|cio|cro|chief|founder|co founder|cofounder|owner|president|partner) "),
        ("vp", r" (?:vp|svp|evp|vice president) "),  # after c_level so "Vice President" is vp
    )
    for value, pattern in rules:  # later rules win: the most senior keyword decides
        out = out.where(~t.str.contains(pattern, regex=True), value)
    return out.where(t.str.strip() != "", "")


def owner_reps(frames: list[tuple[pd.DataFrame | None, str]], name_prefix: str, skip_prefix: str | None = None) -> Batch | None:
    """Placeholder reps (team "unknown") for owner ids the data references, inserted only if missing."""
    parts = []
    for frame, column in frames:
        if frame is not None and has(frame, column):
            ids = col(frame, column)
            keep = ids != ""
            if skip_prefix:
                keep &= ~ids.str.startswith(skip_prefix)
            parts.append(pd.DataFrame({"rep_id": ids[keep], "_src": frame["_src"][keep], "_line": frame["_line"][keep]}))
    if not parts:
        return None
    reps = pd.concat(parts, ignore_index=True).drop_duplicates("rep_id")
    if reps.empty:
        return None
    reps["name"] = name_prefix + " " + reps["rep_id"]
    reps["team"] = "unknown"
    return Batch("reps", reps[["rep_id", "name", "team", "_src", "_line"]].reset_index(drop=True), mode="ensure", primary=False)


def parse_times(series: pd.Series) -> pd.Series:
    """Best-effort UTC-naive timestamps for a preset's own decisions (e.g. skipping meetings still to come);
    validation reads the values again strictly. Unreadable values are NaT."""
    text = series.fillna("").astype("str").str.strip()
    out = pd.to_datetime(text.where(text != "", None), errors="coerce", utc=True, format="mixed")
    epoch = text.str.fullmatch(r"\d{12,13}")  # HubSpot's legacy epoch milliseconds
    if epoch.any():
        ms = pd.to_datetime(pd.to_numeric(text.where(epoch, None), errors="coerce"), unit="ms", utc=True)
        out = out.where(~epoch, ms)
    return out.dt.tz_localize(None)


def after(ctx: Ctx, series: pd.Series) -> pd.Series:
    """True where the time is later than the import's moment (beyond the tolerance)."""
    return (parse_times(series) > pd.Timestamp(ctx.now + FUTURE_TOLERANCE)).fillna(False).astype(bool)


def flag_probability(ctx: Ctx, frame: pd.DataFrame, column: str, noun: tuple[str, str], scale: float = 100.0) -> None:
    """A probability outside 0-100% (e.g. 1000) says the record was typed carelessly; Accord's figures do not
    use probability, so the rows load and the profile flags them (with a few record ids)."""
    if not has(frame, column):
        return
    text = col(frame, column).str.rstrip("%").str.strip()
    value = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = (value > scale) | (value < 0)
    n = int(bad.sum())
    if not n:
        return
    ids = col(frame, "id") if has(frame, "id") else col(frame, "deal_id")
    shown = ", ".join(f"{v:g}" for v in value[bad].drop_duplicates().head(3))
    ctx.flags.append(Flag(
        "probability_out_of_range", (),
        f"{n:,} {noun[0] if n == 1 else noun[1]} {'has' if n == 1 else 'have'} a probability outside 0-{scale:g} "
        f"(e.g. {shown}); Accord's figures do not use probability, so {'it loads as it is' if n == 1 else 'they load as they are'}, "
        "but the source needs correcting.",
        n, len(frame), tuple(ids[bad].head(5)),
    ))


def first_id(series: pd.Series) -> pd.Series:
    """The first id of an association list ("101;102", "101, 102" or "101 102"); blank stays blank."""
    return col(pd.DataFrame({"v": series}), "v").str.split(r"[;,|\s]+", n=1, regex=True).str[0].fillna("").astype("str")


class Skips:
    """Rows a preset leaves out on purpose (deleted, not done yet, not a touch ...), counted per reason and
    said in one message per file kind: "Salesforce Task: skipped 3 open task(s), not done yet, and 1 ..."."""

    def __init__(self, ctx: Ctx, what: str) -> None:
        self.ctx, self.what = ctx, what
        self.parts: list[str] = []

    def drop(self, frame: pd.DataFrame, mask: pd.Series, words: str) -> pd.DataFrame:
        n = int(mask.sum())
        if n:
            self.parts.append(f"{n:,} {words}")
            return frame[~mask.to_numpy()].reset_index(drop=True)
        return frame

    def say(self) -> None:
        if self.parts:
            listed = "; ".join(self.parts)
            self.ctx.messages.append(f"{self.what}: skipped {listed}.")
