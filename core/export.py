"""What leaves the app or meets a markup renderer as plain text: CSV downloads safe to open in a spreadsheet,
download file names, and text from the data escaped for Streamlit's Markdown.

CSV: a cell starting with =, +, -, @, tab or carriage return is read by Excel/Sheets as a formula (CSV
injection); such text cells (and column headers) get a leading apostrophe. Numbers stay numbers (a negative
amount is data).

Markdown: Streamlit draws most text (markdown, captions, alerts, toasts, headings, widget and expander labels,
tab labels, help tooltips, radio options) through its Markdown renderer, which turns a value such as
`![x](http://host/x.png)` into an image every viewer's browser fetches. `plain_markdown` makes a value read
as exactly its characters there; pages use it through ui.widgets.plain / ui.widgets.say.
"""
from __future__ import annotations

import re

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell as a spreadsheet reads it as text: a leading apostrophe when it starts like a formula, and
    carriage returns as line feeds (the CSV writer quotes a cell holding a line feed, but not one holding only
    a carriage return, which spreadsheets read as the end of the row: the rest would start a new row, formula
    and all)."""
    if not isinstance(value, str):
        return value
    if value.startswith(FORMULA_STARTS):
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")


def safe_csv(frame: pd.DataFrame) -> bytes:
    """`frame` as UTF-8 CSV without its index, every text cell and column header neutralised. Any column that
    is not a number, a boolean or a date-time may hold text (object, string, categorical)."""
    out = frame.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
                or pd.api.types.is_datetime64_any_dtype(dtype)):
            continue
        out[column] = out[column].astype(object).map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out.to_csv(index=False, lineterminator="\n").encode("utf-8")


def safe_file_name(name: str, default: str = "accord.csv") -> str:
    """A download's file name with only letters, digits, '.', '_' and '-' (names carry segment values from the
    data): anything else becomes '_', and it never starts with '.' or '-'."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".-")[:150]
    return cleaned or default


# --- Markdown -------------------------------------------------------------------------------------------
#
# A backslash before an ASCII punctuation character shows that character literally (CommonMark). Only the
# characters that can open or close markup get one, so ordinary prose in a message ("Saved version 2 (Lee Ader).",
# "back-test", "12:00 UTC") stays as it was written:
# - anywhere: \ ` * _ ~ $ [ ] < > & | { } # — emphasis, code, strikethrough, math (remark-math honours \$),
#   links, images, footnotes, autolinks, HTML, character references, tables, directive attributes, headings;
# - ':' before a letter or another ':' — Streamlit's directives (:red[…], :small[…], :help[…], ::leaf);
# - '(' right after ']' and '!' right before '[' — belt and braces: '[' and ']' are escaped already;
# - at the value's start (its first non-space character), the block markers - + = : and a number's '.' or ')' before a space
#   — a list, a setext underline, a directive, an ordered list when the value starts a line.
# Line breaks cannot reach the renderer: runs of white space become one space (as the rendered text shows them),
# so no heading, list, quote, table or code block can start inside a value.
#
# Streamlit's renderer also rewrites the *parsed text*, after escapes are undone, so a backslash cannot stop
# these; an invisible word joiner (U+2060, no word character, no line break) inside the pattern does:
# - GFM literal autolinks (remark-gfm: `http://…`, `https://…`, `www.…`, `name@host.tld` become links),
# - Streamlit's icons and emoji (`:material/home:` — rewritten to `:material_home:` before parsing —
#   `:streamlit:` (an image), `:smile:` with remark-emoji),
# - Streamlit's typography (` -> `, ` <- `, ` <-> `, ` -- `, ` >= `, ` <= `, ` ~= ` become arrows and signs).
# tests/test_browser_markup.py checks the result in Chromium against Streamlit's own renderer.
WORD_JOINER = "\u2060"
_BREAKS = (
    re.compile(r":(?=//)"),                  # scheme://
    re.compile(r"(?i)(?<=www)(?=\.)"),       # www.
    re.compile(r"@(?=[\w-])"),               # name@host
    re.compile(r":(?=[\w+-]+:)"),            # :name:
    re.compile(r":(?=material/)"),           # :material/… (rewritten before parsing, closing colon or not)
    re.compile(r"(?<=[-<>~])(?=[->=])"),     # -> <- -- >= <= ~=
)
_ALWAYS = re.compile(r"[\\`*_~$\[\]<>&|{}#]|:(?=[A-Za-z:])|(?<=\])\(|!(?=\[)")
_BLOCK_START = re.compile(r"\A(\s*)(?:([-+=:])|(\d{1,9})([.)])(?=\s|\Z))")


def plain_markdown(value: object) -> str:
    """`value` (a name, a reason, a message quoting the data) as Markdown that Streamlit shows character for
    character, never as markup. White space runs become one space."""
    text = re.sub(r"\s+", " ", str(value))
    for pattern in _BREAKS:
        text = pattern.sub(lambda m: m.group(0) + WORD_JOINER, text)
    text = _ALWAYS.sub(lambda m: "\\" + m.group(0), text)
    return _BLOCK_START.sub(_escape_block_start, text, count=1)


def _escape_block_start(m: re.Match) -> str:
    space, marker, number, dot = m.groups()
    return space + ("\\" + marker if marker else number + "\\" + dot)


def unescape_markdown(text: str) -> str:
    """What plain_markdown's output reads as once rendered (tests compare it with the original value)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text).replace(WORD_JOINER, "")
