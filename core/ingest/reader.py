"""Turning uploaded bytes into a table of strings, with the line each row started on.

Everything here is vectorised (pyarrow / pandas C parser): a million-row file is split, checked for
ragged rows and parsed without a Python loop per row. Only files whose quoting the fast path cannot
follow exactly (a stray quote inside an unquoted field) fall back to Python's csv module.

File-level problems (empty, binary, too big, undecodable, header only) are raised as FileProblem with a
plain one-line message; row-level problems (ragged rows, unbalanced quotes) are returned as rejects so
the engine can quarantine them while the good rows of the same file still load.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

BOM_UTF8 = b"\xef\xbb\xbf"
DELIMITERS = (",", ";", "\t", "|")
_QUOTED = r'"(?:[^"]|"")*"'

# Signatures of common non-CSV files people pick by mistake, for a helpful message.
_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive or an Excel/Office workbook (.xlsx); save the sheet as CSV and import that"),
    (b"\xd0\xcf\x11\xe0", "an old Excel/Office file (.xls); save the sheet as CSV and import that"),
    (b"\x1f\x8b", "a gzip-compressed file; unpack it first"),
    (b"%PDF", "a PDF document, not a CSV file"),
    (b"\x89PNG", "a PNG image, not a CSV file"),
    (b"\xff\xd8\xff", "a JPEG image, not a CSV file"),
    (b"PAR1", "a Parquet file; export it as CSV first"),
    (b"SQLite format 3", "a SQLite database, not a CSV file"),
)


class FileProblem(Exception):
    """A file that cannot be read at all; the message names the file and says what to do."""


class TooManyRows(Exception):
    """The rows of an import go past its cap: the whole import is refused, not just this file."""


@dataclass(frozen=True)
class Limits:
    """The bounds on one import's work, each checked before the work it bounds (see README, settings).

    None means unbounded; the engine fills them from the settings, so every caller is bounded by default."""

    max_bytes: int | None = None  # per file
    max_rows: int | None = None  # data rows over all the import's files
    max_columns: int | None = None  # per header
    max_cell_chars: int | None = None  # per value

    @classmethod
    def from_settings(cls) -> Limits:
        from core.settings import get_settings

        s = get_settings()
        return cls(max_bytes=s.max_upload_mb * 1024 * 1024, max_rows=s.max_import_rows,
                   max_columns=s.max_columns, max_cell_chars=s.max_cell_chars)


# The longest text of a quarantined over-long row kept in the quarantine: enough to find the row, while the
# whole value (up to the file-size limit) would only bloat the database.
RAW_KEEP_CHARS = 2_000
_NOT_SPACE = re.compile(rb"\S")
_QUOTED_RE = re.compile(r'"(?:[^"]|"")*"')


@dataclass
class RowReject:
    line: int
    raw: str
    reason: str


@dataclass
class ParsedFile:
    name: str
    sha256: str
    size: int
    encoding: str
    delimiter: str
    header: list[str]
    frame: pd.DataFrame  # all columns str (missing = ""), plus int64 column "_line"
    rejects: list[RowReject] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _lines: np.ndarray | None = None  # physical lines, for raw text of quarantined rows
    _starts: dict[int, int] | None = None  # multi-line records: first line -> last line (1-based)

    @property
    def rows(self) -> int:
        return len(self.frame)

    def raw_lines(self, lines: np.ndarray) -> list[str]:
        """The original text of the records starting on these 1-based lines."""
        if self._lines is None:
            return ["" for _ in lines]
        out = self._lines[np.asarray(lines, dtype=np.int64) - 1].tolist()
        if self._starts:
            for i, line in enumerate(lines):
                end = self._starts.get(int(line))
                if end:
                    out[i] = "\n".join(self._lines[int(line) - 1 : end].tolist())
        return out


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def human_size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def decode(name: str, data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (BOM stripped), UTF-16 with BOM, else Windows-1252."""
    if data.startswith(BOM_UTF8):
        data = data[len(BOM_UTF8):]
        try:
            return data.decode("utf-8"), "UTF-8 with BOM"
        except UnicodeDecodeError:
            pass
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "UTF-16"
        except UnicodeDecodeError:
            raise FileProblem(f"{name}: starts like UTF-16 text but does not decode as UTF-16; save it as UTF-8 CSV.") from None
    if b"\x00" in data:
        head = data[:64]
        for magic, what in _MAGIC:
            if head.startswith(magic):
                raise FileProblem(f"{name}: this is {what}.")
        raise FileProblem(
            f"{name}: looks like a binary file (it contains NUL bytes), not a CSV text file; "
            "if it is UTF-16 text, save it as UTF-8 CSV."
        )
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise FileProblem(f"{name}: this is {what}.")
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; Latin-1 maps every byte, so the text is still readable
        return data.decode("latin-1"), "Latin-1"


def _unquoted(text: str) -> str:
    out, inside = [], False
    for ch in text:
        if ch == '"':
            inside = not inside
        elif not inside:
            out.append(ch)
    return "".join(out)


def sniff_delimiter(header_line: str) -> str:
    bare = _unquoted(header_line)
    counts = {d: bare.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], -DELIMITERS.index(d)))
    return best if counts[best] > 0 else ","


def _clean_header(cells: list[str]) -> list[str]:
    out = []
    for cell in cells:
        cell = cell.replace("\ufeff", "").strip().strip('"').strip()
        out.append(cell)
    return out


def size_problem(name: str, size: int, max_bytes: int) -> str:
    """The one sentence for a file above the size limit, the same from the page, the engine and the CLI."""
    return (f"{name}: is {human_size(size)}, above the {human_size(max_bytes)} upload limit (ACCORD_MAX_UPLOAD_MB); "
            "split it into smaller files, or raise the limit.")


def _check_header(name: str, data: bytes, limits: Limits) -> None:
    """Refuse a header with too many columns or too long a name from the file's first line alone, so a
    one-million-column file costs a scan of its first line, not a parse of every column of every row."""
    if limits.max_columns is None and limits.max_cell_chars is None:
        return
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return  # UTF-16: its bytes are not ASCII delimiters; checked on the decoded header instead
    first = _NOT_SPACE.search(data)
    if first is None:
        return
    end = data.find(b"\n", first.start())
    raw = data[first.start(): len(data) if end < 0 else end].removeprefix(BOM_UTF8)
    try:  # the first line alone, decoded as decode() would: lengths are counted in characters
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        # latin-1 maps each byte to one character and never fails: the ASCII delimiters and quotes count
        # exactly in any of the 8-bit encodings the reader accepts
        line = raw.decode("latin-1")
    check_header_line(name, line.rstrip("\r"), limits)


def check_header_line(name: str, line: str, limits: Limits) -> None:
    bare = _QUOTED_RE.sub("", line) if '"' in line else line
    columns = max(bare.count(d) for d in DELIMITERS) + 1
    if limits.max_columns is not None and columns > limits.max_columns:
        raise FileProblem(
            f"{name}: its header names {columns:,} columns, above the {limits.max_columns:,}-column limit "
            "(ACCORD_MAX_COLUMNS); export only the columns the preset uses."
        )
    if limits.max_cell_chars is not None and len(line) > limits.max_cell_chars:
        longest = max(len(c) for c in re.split("[,;\t|]", bare))  # at most max_columns names by now
        if longest > limits.max_cell_chars:
            raise FileProblem(
                f"{name}: its header holds a column name of {longest:,} characters, above the "
                f"{limits.max_cell_chars:,}-character cell limit (ACCORD_MAX_CELL_CHARS); is the first line a header?"
            )


def _too_many_rows(name: str, max_rows: int) -> TooManyRows:
    return TooManyRows(
        f"{name}: takes the import past the {max_rows:,} rows one import may hold (ACCORD_MAX_IMPORT_ROWS, "
        "over all its files); nothing was imported. Import the rows in parts, or raise the limit."
    )


def parse(name: str, data: bytes, *, max_bytes: int | None = None, limits: Limits | None = None) -> ParsedFile:
    """The file's rows; FileProblem for a file that cannot be read, TooManyRows past limits.max_rows."""
    limits = limits or Limits()
    max_bytes = max_bytes if max_bytes is not None else limits.max_bytes
    size = len(data)
    if max_bytes is not None and size > max_bytes:
        raise FileProblem(size_problem(name, size, max_bytes))
    # a search, not data.strip(): strip would copy the whole file first (1 GiB of NULs is not whitespace)
    if _NOT_SPACE.search(data) is None:
        raise FileProblem(f"{name}: is empty (no header row and no data).")
    if b"\x00" in data[:65536] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        decode(name, data[:65536])  # names the kind of binary file from its first bytes, and raises
    _check_header(name, data, limits)
    text, encoding = decode(name, data)
    if "\x00" in text:
        raise FileProblem(f"{name}: looks like a binary file (it contains NUL characters), not a CSV text file.")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not any(line.strip() for line in lines[:1000]) and not text.strip():
        raise FileProblem(f"{name}: is empty (no header row and no data).")
    parsed = _fast(name, lines, encoding, limits)
    if parsed is None:
        parsed = _slow(name, text, encoding, limits)
    parsed.sha256 = sha256(data)
    parsed.size = size
    if encoding not in ("UTF-8", "UTF-8 with BOM"):
        parsed.notes.append(f"{name}: read as {encoding} (it is not valid UTF-8).")
    return parsed


def _long_cell(record: str, delim: str, header: list[str], max_cell_chars: int) -> str | None:
    """The reason a record is quarantined for an over-long value, or None. Only records longer than the cap
    get here (a record cannot hold a value longer than itself), so this Python split runs on few rows."""
    try:
        cells = next(csv.reader([record], delimiter=delim, quotechar='"', doublequote=True, strict=False))
    except (csv.Error, StopIteration):
        return None
    for i, cell in enumerate(cells):
        if len(cell) > max_cell_chars:
            column = header[i] if i < len(header) and header[i] else f"column {i + 1}"
            return (f"the value in column {column!r} is {len(cell):,} characters, above the "
                    f"{max_cell_chars:,}-character cell limit (ACCORD_MAX_CELL_CHARS)")
    return None


def _kept_raw(text: str) -> str:
    return text if len(text) <= RAW_KEEP_CHARS else f"{text[:RAW_KEEP_CHARS]}… ({len(text):,} characters in all)"


def _fast(name: str, lines: list[str], encoding: str, limits: Limits) -> ParsedFile | None:
    """Record boundaries from quote parity, ragged rows from delimiter counts, then the C parser."""
    arr = pa.array(lines, type=pa.large_string())
    n = len(lines)
    blank = pc.equal(pc.utf8_trim_whitespace(arr), "").to_numpy(zero_copy_only=False)
    quotes = pc.count_substring(arr, '"').to_numpy(zero_copy_only=False).astype(np.int64)
    rejects: list[RowReject] = []
    multi: dict[int, int] = {}
    if quotes.any():
        for _ in range(50):
            before = np.cumsum(quotes) - quotes
            if (before[-1] + quotes[-1]) % 2 == 0:
                break
            # an unbalanced quote swallows everything after it: cut off the last record start
            starts = np.flatnonzero((before % 2 == 0) & ~blank)
            culprit = int(starts[-1])
            rejects.append(RowReject(culprit + 1, lines[culprit], "unbalanced quote: a quoted value never closes"))
            quotes[culprit] = 0
            blank[culprit] = True
        else:
            return None
        before = np.cumsum(quotes) - quotes
        is_start = (before % 2 == 0)
    else:
        is_start = np.ones(n, dtype=bool)
    start_mask = is_start & ~blank
    starts = np.flatnonzero(start_mask)
    if len(starts) == 0:
        raise FileProblem(f"{name}: is empty (no header row and no data).")
    # continuation lines (inside a quoted value) belong to the record before them
    cont = ~is_start
    record_text: pa.Array
    if cont.any():
        # the record each continuation line belongs to = the latest start line at or before it
        last_start = np.maximum.accumulate(np.where(is_start, np.arange(n), -1))
        idx = np.flatnonzero(cont)
        owners = last_start[idx]
        uniq, first_pos = np.unique(owners, return_index=True)
        last_pos = np.r_[first_pos[1:], len(idx)] - 1
        texts = np.array(lines, dtype=object)[starts]
        positions = np.searchsorted(starts, uniq)
        for s, e, pos in zip(uniq.tolist(), idx[last_pos].tolist(), positions.tolist()):
            # one iteration per record that spans lines (quoted line breaks), not per row
            if pos < len(starts) and starts[pos] == s:
                texts[pos] = "\n".join(lines[s : e + 1])
                multi[s + 1] = e + 1
        record_text = pa.array(texts.tolist(), type=pa.large_string())
    else:
        record_text = pc.take(arr, pa.array(starts))
    header_line = record_text[0].as_py()
    if encoding == "UTF-16":  # not checked on the raw bytes (see _check_header)
        check_header_line(name, header_line, limits)
    if limits.max_rows is not None and len(starts) - 1 > limits.max_rows:
        raise _too_many_rows(name, limits.max_rows)  # before the C parser reads them
    delim = sniff_delimiter(header_line)
    header = _clean_header(next(csv.reader([header_line], delimiter=delim)))
    if not any(header):
        raise FileProblem(f"{name}: the first row is blank, so there is no header naming the columns.")
    stripped = pc.replace_substring_regex(record_text, _QUOTED, "") if quotes.any() else record_text
    fields = pc.count_substring(stripped, delim).to_numpy(zero_copy_only=False).astype(np.int64) + 1
    width = len(header)
    keep = np.ones(len(starts), dtype=bool)
    # rows with nothing but delimiters (spreadsheets leave them at the end) are not rows
    hollow = pc.match_substring_regex(record_text, r'^[\s",;\t|]*$').to_numpy(zero_copy_only=False)
    hollow[0] = False
    notes: list[str] = []
    if hollow.any():
        keep &= ~hollow
        fields = np.where(hollow, width, fields)
        notes.append(f"{name}: {int(hollow.sum()):,} empty row(s) (only delimiters) were skipped.")
    ragged = np.flatnonzero(fields != width)
    for r in ragged:
        if r == 0:
            continue
        keep[r] = False
        rejects.append(
            RowReject(int(starts[r]) + 1, record_text[int(r)].as_py(),
                      f"{fields[r]} values where the header has {width} columns (ragged row)")
        )
    if limits.max_cell_chars is not None:
        lengths = pc.utf8_length(record_text).to_numpy(zero_copy_only=False)
        for at in np.flatnonzero((lengths > limits.max_cell_chars) & keep).tolist():
            if at == 0:
                continue
            record = record_text[at].as_py()
            reason = _long_cell(record, delim, header, limits.max_cell_chars)
            if reason:  # the parser never sees the value: the row goes to quarantine with a short excerpt
                keep[at] = False
                rejects.append(RowReject(int(starts[at]) + 1, _kept_raw(record), reason))
    if keep.all() and not rejects and not blank.any():
        body = "\n".join(lines)  # nothing to drop: the parser reads the lines as they are
    else:
        good = record_text.filter(pa.array(keep))
        body = "\n".join(good.to_pylist()) if len(good) else ""
    good_starts = starts[keep]
    if len(good_starts) <= 1:
        frame = pd.DataFrame({h or f"column {i + 1}": pd.Series([], dtype="str") for i, h in enumerate(header)})
    else:
        try:
            frame = pd.read_csv(
                io.StringIO(body), sep=delim, dtype=str, keep_default_na=False, na_filter=False,
                skip_blank_lines=True, header=0, names=_unique(header), quotechar='"', doublequote=True,
                engine="c", skipinitialspace=False,
            )
        except (pd.errors.ParserError, ValueError):
            return None
        if len(frame) != len(good_starts) - 1:
            return None
    frame["_line"] = (good_starts[1:] + 1).astype(np.int64) if len(good_starts) > 1 else np.array([], dtype=np.int64)
    rejects.sort(key=lambda r: r.line)
    return ParsedFile(
        name=name, sha256="", size=0, encoding=encoding, delimiter=delim, header=header, frame=frame,
        rejects=rejects, notes=notes, _lines=np.array(lines, dtype=object), _starts=multi or None,
    )


def _unique(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        h = h or f"column {i + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h} ({seen[h]})"
        else:
            seen[h] = 1
        out.append(h)
    return out


def _slow(name: str, text: str, encoding: str, limits: Limits) -> ParsedFile:
    """Python's csv module, for files whose quoting the fast path cannot follow exactly."""
    first = next((line for line in text.split("\n") if line.strip()), "")
    if encoding == "UTF-16":  # not checked on the raw bytes (see _check_header)
        check_header_line(name, first, limits)
    delim = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text), delimiter=delim, quotechar='"', doublequote=True, strict=False)
    lines = text.split("\n")
    header: list[str] | None = None
    rows: list[list[str]] = []
    row_lines: list[int] = []
    rejects: list[RowReject] = []
    multi: dict[int, int] = {}
    prev_end = 0
    hollow = 0
    try:
        for record in reader:
            start, end = prev_end + 1, reader.line_num
            prev_end = end
            if not record or all(not c.strip() for c in record):
                if header is not None and len(record) > 1:
                    hollow += 1
                continue
            if header is None:
                header = _clean_header(record)
                continue
            if limits.max_rows is not None and len(rows) + len(rejects) >= limits.max_rows:
                raise _too_many_rows(name, limits.max_rows)
            if end > start:
                multi[start] = end
            if len(record) != len(header):
                rejects.append(RowReject(start, "\n".join(lines[start - 1 : end]),
                                         f"{len(record)} values where the header has {len(header)} columns (ragged row)"))
                continue
            if limits.max_cell_chars is not None and any(len(c) > limits.max_cell_chars for c in record):
                reason = _long_cell("\n".join(lines[start - 1 : end]), delim, header, limits.max_cell_chars)
                rejects.append(RowReject(start, _kept_raw("\n".join(lines[start - 1 : end])),
                                         reason or f"a value above the {limits.max_cell_chars:,}-character cell limit"))
                continue
            rows.append(record)
            row_lines.append(start)
    except csv.Error as exc:
        raise FileProblem(f"{name}: cannot be read as CSV ({exc}).") from None
    if header is None:
        raise FileProblem(f"{name}: is empty (no header row and no data).")
    names = _unique(header)
    frame = pd.DataFrame(rows, columns=names, dtype="str") if rows else pd.DataFrame(
        {h: pd.Series([], dtype="str") for h in names})
    frame["_line"] = np.array(row_lines, dtype=np.int64)
    notes = [f"{name}: {hollow:,} empty row(s) (only delimiters) were skipped."] if hollow else []
    return ParsedFile(
        name=name, sha256="", size=0, encoding=encoding, delimiter=delim, header=header, frame=frame,
        rejects=rejects, notes=notes, _lines=np.array(lines, dtype=object), _starts=multi or None,
    )
