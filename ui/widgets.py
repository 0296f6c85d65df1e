"""Streamlit pieces the pages share: text from the data shown as plain text (plain, say), metric cards labelled
from the semantic layer, notes, formula-safe CSV downloads, and the editor pieces (submit through the one write
path with conflict handling, the version history with diffs and restore). Session-state keys are prefixed with
the page's key.

Most Streamlit elements render Markdown (markdown, caption, info/warning/error/success, toast, title and
subheader, expander and tab labels, widget labels and help, radio options, progress text): a value from the
data or from a person goes into them only through `plain` or `say`, or is shown with st.text or in a table."""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import streamlit as st
from pydantic import BaseModel

from core import edits
from core.export import plain_markdown, safe_csv, safe_file_name
from core.metrics.forecast import AT_RISK, BEHIND, ON_TRACK, STATUS_WORDS
from core.models import Actor
from core.semantic.measures import MEASURES, show
from ui import data


def _k(key: str, name: str) -> str:
    return f"{key}_{name}"


def plain(value: object) -> str:
    """`value` (a name, a reason, a message quoting the data…) as Markdown that shows exactly its characters:
    no link, image, HTML, emphasis, math, icon or colour (core.export.plain_markdown)."""
    return plain_markdown(value)


def say(where: str | Callable[..., Any], template: str, *values: object, **kwargs: Any) -> None:
    """Our words with values from the data or a person in them: `template` is ours (Markdown allowed) and each
    `{}` takes the next value as plain text. `where` names a Markdown element of st ("caption", "info",
    "warning", "error", "success", "markdown", "toast") or is one of a column (`col.info`); `kwargs` go to it.

        say("caption", "Their reason: {}", version.reason)
    """
    draw = getattr(st, where) if isinstance(where, str) else where
    draw(template.format(*(plain(v) for v in values)), **kwargs)


def opened_version(key: str, current: edits.Version | None) -> int:
    """The version this editor was opened on; kept until a save lands or the user starts again."""
    state = _k(key, "opened_version")
    if state not in st.session_state:
        st.session_state[state] = current.version if current else 0
    return st.session_state[state]


def restart_editor(key: str, current: edits.Version | None, widget_prefix: str | None = None) -> None:
    """Forget what this editor had open (and its widgets' values) so it reloads the latest version."""
    st.session_state[_k(key, "opened_version")] = current.version if current else 0
    st.session_state.pop(_k(key, "conflict"), None)
    prefix = widget_prefix or f"{key}_form_"
    for name in [n for n in st.session_state if str(n).startswith(prefix)]:
        del st.session_state[name]


def set_widgets(prefix: str, values: dict[str, Any]) -> None:
    """Give the widgets keyed `prefix + name` these values; call before they are drawn (e.g. as on_click)."""
    for name, value in values.items():
        st.session_state[prefix + name] = value


def seed_widgets(prefix: str, values: dict[str, Any], basis: Any = None) -> None:
    """Start the widgets keyed `prefix + name` from `values`: when first shown, after restart_editor cleared
    the prefix, and whenever `basis` (e.g. the period and the saved version they start from) changes.

    Call it before drawing them. What the person typed outlives a visit to another page: Streamlit forgets
    the state of every widget a run does not draw, so each run keeps the values under `prefix + "kept"`
    (not a widget key) and puts them back when the person returns — a draft is never silently replaced."""
    marker, kept = prefix + "seeded_for", prefix + "kept"
    if marker in st.session_state and st.session_state[marker] == basis:
        saved = dict(st.session_state.get(kept, {}))
        for name in values:
            if prefix + name in st.session_state:
                saved[name] = st.session_state[prefix + name]
            elif name in saved:
                st.session_state[prefix + name] = saved[name]
        st.session_state[kept] = saved
        return
    st.session_state[marker] = basis
    st.session_state[kept] = dict(values)
    set_widgets(prefix, values)


def after_submit(key: str, saved: edits.Version | None, widget_prefix: str | None = None,
                 conflict_toast: str | None = None) -> None:
    """After submit_edit: a save reloads the editor from what was saved and reruns (every figure above was
    drawn before it); a conflict reruns to show both versions, announced once by `conflict_toast` (see
    announce); a refusal stays as it is: its error is on screen and the typing is kept."""
    if saved is not None:
        restart_editor(key, saved, widget_prefix)
        st.rerun()
    if st.session_state.get(_k(key, "conflict")):
        if conflict_toast:
            st.session_state[_k(key, "toast")] = conflict_toast
        st.rerun()


def announce(key: str) -> None:
    """Toasts where the person is: the last save (show_flash_and_conflict shows it in full) and a refused
    save queued by after_submit, once."""
    flash = st.session_state.get(_k(key, "flash"))
    if flash:
        st.toast(plain(flash), icon="✅")
    refused = st.session_state.pop(_k(key, "toast"), None)
    if refused:
        st.toast(plain(refused), icon="⚠️")


def flash(key: str, message: str) -> None:
    """Say `message` as a success at the top of the page's next run (show_flash_and_conflict draws it, as plain
    text: messages name people and quote reasons)."""
    st.session_state[_k(key, "flash")] = message


def hold_conflict(key: str, current: edits.Version | None, mine: BaseModel | dict) -> None:
    """Keep a write refused as a Conflict for show_flash_and_conflict to draw: their values beside mine."""
    st.session_state[_k(key, "conflict")] = (current, mine.model_dump() if isinstance(mine, BaseModel) else dict(mine))


def submit_edit(
    key: str,
    kind: str,
    subject: str,
    body: BaseModel | dict,
    *,
    actor: Actor,
    reason: str,
    effective_from: datetime | None = None,
    now: datetime | None = None,
    as_of: datetime | None = None,
) -> edits.Version | None:
    """Save through core.edits against the version the editor opened; show why when refused.

    `as_of` is the data's present (scope().as_of), against which "a period that has ended" is judged."""
    expected = st.session_state.get(_k(key, "opened_version"), 0)
    try:
        version = edits.save(
            data.connection(), kind, subject, body, actor=actor, reason=reason,
            expected_version=expected, effective_from=effective_from, now=now, as_of=as_of,
        )
    except edits.Conflict as conflict:
        mine = body.model_dump() if isinstance(body, BaseModel) else dict(body)
        st.session_state[_k(key, "conflict")] = (conflict.current, mine)
        return None
    except edits.EditRefused as refused:
        st.error(plain(refused))  # refusals quote names and values
        return None
    st.session_state[_k(key, "opened_version")] = version.version
    st.session_state.pop(_k(key, "conflict"), None)
    st.session_state[_k(key, "flash")] = f"Saved version {version.version} ({actor.name})."
    return version


def show_flash_and_conflict(key: str, labels: dict[str, str] | None = None) -> None:
    """Call near the top of an editing page: the last save's confirmation, or a refused save's conflict."""
    flash = st.session_state.pop(_k(key, "flash"), None)
    if flash:
        st.success(plain(flash))
    found = st.session_state.get(_k(key, "conflict"))
    if not found:
        return
    current, mine = found
    st.error(
        f"Not saved: {plain(current.saved_by)} saved version {current.version} at "
        f"{current.saved_at:%Y-%m-%d %H:%M} UTC after you opened the editor. Nothing was overwritten."
    )
    theirs = current.body.model_dump()
    rows = [
        {"field": (labels or {}).get(f, f.replace("_", " ")), "their value (saved)": _cell(theirs.get(f)),
         "your value (not saved)": _cell(mine.get(f))}
        for f in dict.fromkeys([*theirs, *mine])
        if theirs.get(f) != mine.get(f)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    say("caption", "Their reason: {}", current.reason)
    if st.button(f"Start again from version {current.version}", key=_k(key, "restart")):
        restart_editor(key, current)
        st.rerun()


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, dict)):
        return json.dumps(value) if value else "—"
    return str(value)


def version_history(key: str, versions: list[edits.Version], labels: dict[str, str] | None = None) -> None:
    """Every version, newest first, with who/when/why and what changed from the one before."""
    if not versions:
        st.caption("No versions saved yet.")
        return
    chronological = list(reversed(versions))
    rows = []
    for i, v in enumerate(chronological):
        before = chronological[i - 1].body if i else None
        changes = edits.diff(before, v.body)
        rows.append({
            "version": v.version,
            # the first version of an effective-dated kind applies to all history: say so, not "1 Jan 2000"
            "effective from": ("all earlier records" if v.effective_from <= edits.BEGINNING
                               else f"{v.effective_from:%Y-%m-%d %H:%M} UTC"),
            "saved by": v.saved_by,
            "saved at (UTC)": v.saved_at,
            "reason": v.reason,
            "changes": "; ".join(
                f"{(labels or {}).get(f, f.replace('_', ' '))}: {_cell(a)} → {_cell(b)}" for f, a, b in changes
            ) if before is not None else "first version",
        })
    table = pd.DataFrame(rows[::-1])
    st.dataframe(table, hide_index=True, width="stretch")
    csv_download(table, f"{key}-history.csv", label="Download the history (CSV)", key=_k(key, "history_csv"))
    numbers = [v.version for v in versions]
    if len(numbers) >= 2:
        c1, c2 = st.columns(2)
        a = c1.selectbox("Compare version", numbers, index=1, key=_k(key, "diff_a"))
        b = c2.selectbox("with version", numbers, index=0, key=_k(key, "diff_b"))
        va = next(v for v in versions if v.version == a)
        vb = next(v for v in versions if v.version == b)
        diff = edits.diff(va.body, vb.body)
        if diff:
            st.dataframe(
                pd.DataFrame([{"field": (labels or {}).get(f, f.replace("_", " ")), f"v{a}": _cell(x), f"v{b}": _cell(y)}
                              for f, x, y in diff]),
                hide_index=True, width="stretch",
            )
        else:
            st.caption(f"Versions {a} and {b} hold the same values.")


def notes(items: list[str], title: str = "Figures that cannot be computed", expanded: bool = False) -> None:
    """Reasons figures cannot be computed, once each, as plain text (never rendered as markdown: notes
    may quote values from the data)."""
    items = list(dict.fromkeys(items))
    if items:
        with st.expander(f"{title} ({len(items)})", expanded=expanded):
            for note in items:
                st.text(f"• {note}")


def period_caption(scope, extra: str = "") -> None:
    """The line under a page title: the period's bounds, the as-of moment and how much has elapsed."""
    p, as_of = scope.period, scope.as_of
    st.caption(f"{p.start:%d %b %Y} – {p.end:%d %b %Y} (end exclusive) · as of {as_of:%Y-%m-%d %H:%M} UTC · "
               f"{p.elapsed_share(as_of):.0%} of the period elapsed" + (f" · {extra}" if extra else ""))


def csv_download(frame: pd.DataFrame | Callable[[], pd.DataFrame], file_name: str, label: str = "Download CSV",
                 key: str | None = None) -> None:
    """A download of `frame` with spreadsheet-formula cells neutralised (core.export.safe_csv). `frame` may
    be a function returning it: it then runs only when the button is clicked, so a long list is not built
    on every rerun. A frame already built is written at once: Streamlit 1.67 can drop a deferred download's
    callable when another session's run cleans up ("Deferred file … not found" under load, a click that
    downloads nothing), so deferral is kept for lists too long to build on every run.
    The file name keeps letters, digits, '.', '_' and '-' only (names carry segment values).

    Every table of records has one: the dataframe toolbar's own CSV export, which would write formula cells
    as they are, is switched off (client.disableDataExport in .streamlit/config.toml)."""
    file_name = safe_file_name(file_name)
    if callable(frame):
        st.download_button(label, data=lambda: safe_csv(frame()), file_name=file_name, mime="text/csv", key=key)
    else:
        st.download_button(label, data=safe_csv(frame), file_name=file_name, mime="text/csv", key=key,
                           disabled=frame.empty)


# A status's colour (core.metrics.forecast.STATUS_WORDS gives its words, always shown with it).
_STATUS_COLOURS = {ON_TRACK: "green", AT_RISK: "orange", BEHIND: "red"}


def measure(col, name: str, value, delta: str | None = None, status: str | None = None,
            change: str | None = None) -> None:
    """A figure as a bordered metric card: label (with its basis when that is not the selected period),
    format and tooltip from core.semantic.measures; the delta is context (e.g. 'committed 2,919'), never
    coloured as good or bad. Label and delta render as Markdown: both are our words and numbers.

    With `status` (core.metrics.forecast.pace_status) the delta line is the status in words and in its colour,
    and the context moves to the muted line under it; `change` (versus the same point of the previous period)
    goes to that muted line too. Without either, the card is drawn as it always was."""
    m = MEASURES[name]
    # two amounts on one Markdown line ("$5k … +$12k") would read as a formula between the dollar signs
    delta, change = (t.replace("$", "\\$") if t and (status or change) else t for t in (delta, change))
    if status is None and change is None:
        col.metric(m.card_label, show(name, value), delta=delta, delta_color="off", delta_arrow="off",
                   help=m.tooltip, border=True)
        return
    if status is not None:
        muted = " · ".join(part for part in (delta, change) if part) or None
        col.metric(m.card_label, show(name, value), delta=STATUS_WORDS[status], delta_color=_STATUS_COLOURS[status],
                   delta_arrow="off", delta_description=muted, help=m.tooltip, border=True)
        return
    col.metric(m.card_label, show(name, value), delta=delta or change, delta_color="off", delta_arrow="off",
               delta_description=change if delta else None, help=m.tooltip, border=True)


def measure_row(cards: Sequence[Sequence[Any]]) -> None:
    """Cards (each `measure`'s arguments after the column: name, value[, delta[, status[, change]]]) side by
    side in a row that wraps: at 800 px a card moves to the next line instead of truncating "$7.42M" to "$7…"
    (fixed columns squeeze every card to a fifth of the width)."""
    row = st.container(horizontal=True, gap="small")
    for card in cards:
        measure(row, *card)


# Streamlit column formats for core.semantic.measures.FORMATS.
_COLUMN_FORMATS = {"money": "dollar", "money_per_day": "dollar", "percent": "percent", "ratio": "%.2f×",
                   "count": "localized", "decimal": "%.1f", "hours": "%.1f h", "days": "%.1f d"}


def measure_table(frame: pd.DataFrame, columns: Sequence[str], key: str, *, measures: Mapping[str, str] | None = None,
                  labels: Mapping[str, str] | None = None, formats: Mapping[str, str] | None = None,
                  max_height: int | None = None) -> None:
    """A sortable table of `columns`. A column that is a measure (its name, or mapped to one by `measures`)
    takes that measure's label, format and definition (as tooltip) from core.semantic.measures; any other
    column takes `labels[column]` and shows as a date-time, a number (format `formats[column]`, else
    localized) or text. `max_height` caps the height (pixels) of a table that grows with its rows."""
    config = {}
    for column in columns:
        m = MEASURES.get((measures or {}).get(column, column))
        if m is not None:
            label, help_text, number_format = m.label, m.tooltip, _COLUMN_FORMATS[m.fmt]
        else:
            label, help_text, number_format = (labels or {}).get(column, column), None, (formats or {}).get(column)
            dtype = frame[column].dtype
            if pd.api.types.is_datetime64_any_dtype(dtype):
                config[column] = st.column_config.DatetimeColumn(label, format=number_format or "YYYY-MM-DD HH:mm")
                continue
            if not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
                config[column] = st.column_config.TextColumn(label)
                continue
        # a step of 0.001 makes "percent" show one decimal on every row (80.8%, 0.0%)
        config[column] = st.column_config.NumberColumn(label, help=help_text, format=number_format or "localized",
                                                       step=0.001 if number_format == "percent" else None)
    height = "auto" if max_height is None else min(38 + 35 * len(frame), max_height)
    st.dataframe(frame[list(columns)], column_config=config, hide_index=True, width="stretch", key=key, height=height)


def drill_down(label: str, key: str):
    """A collapsed expander whose content runs only while it is open (`.open`): the records behind a figure
    are a query of their own (0.56-0.58 s at ten million leads on Pipeline and Attribution), and a plain
    expander runs its content on every load, hidden or not. Opening it reruns the page to draw them."""
    return st.expander(label, key=key, on_change="rerun")


def records_list(frame: pd.DataFrame, caption: str, file_name: str, key: str,
                 shown: pd.DataFrame | None = None) -> None:
    """The records behind a figure: `caption` (how many, in our words and numbers: core's Records.caption), the
    list (or `shown`, the same rows formatted) and its formula-safe CSV. Nothing but the caption when there is
    no record."""
    st.caption(caption)
    if frame.empty:
        return
    view = frame if shown is None else shown
    st.dataframe(view, hide_index=True, width="stretch", height=min(38 + 35 * len(view), 420))
    csv_download(frame, file_name, key=key)
