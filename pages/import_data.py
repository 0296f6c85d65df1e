"""Import data: CRM exports onto the canonical tables, with a summary, the import log and the quarantine."""
from __future__ import annotations

import streamlit as st

from core.errors import AccordError
from core.ingest import PRESETS, SourceFile, import_as, import_runs, quarantine_rows
from core.settings import get_settings
from ui import data, sidebar
from ui.widgets import csv_download, plain

scope = sidebar.scope()
limit_mb = get_settings().max_upload_mb

st.title("Import data")
st.caption(
    "Load your own CRM exports. Each import is one transaction: all of its good rows or none. Bad rows are "
    "quarantined with file, line, column and reason; re-importing the same file changes nothing."
)

summary = st.session_state.pop("import_flash", None)  # the last import's result, shown once
if summary is not None:
    (st.success if summary.imported_anything else st.warning)(plain(summary.headline))
    if summary.by_table:
        st.dataframe(summary.frame(), hide_index=True, width="stretch")
    for message in summary.messages:
        st.text(f"• {message}")  # messages quote file contents: never rendered as markdown

presets = list(PRESETS)
name = st.selectbox(
    "Preset (the shape of your files)", presets,
    format_func=lambda key: f"{PRESETS[key].label} ({key})", key="import_preset",
)
if PRESETS[name].summary:
    st.caption(PRESETS[name].summary)
uploads = st.file_uploader(
    f"CSV files (up to {limit_mb} MiB each; UTF-8, UTF-8 with BOM or Windows-1252; comma or semicolon)",
    type=["csv", "txt"], accept_multiple_files=True, key="import_files",
)
replace = False
if scope.is_demo:
    replace = st.checkbox(
        "Replace the demo data with these files", value=True, key="import_replace",
        help="Empties the canonical tables in the same transaction as the import; if the import fails, "
             "the demo data stays. Goals and policies are kept.",
    )

if st.button("Import", type="primary", disabled=not uploads, key="import_go"):
    bar = st.progress(0.0, text="Starting the import…")
    files = [SourceFile(u.name, u.getvalue()) for u in uploads]
    try:
        result = import_as(
            data.connection(), scope.actor, name, files,
            progress=lambda fraction, text: bar.progress(min(max(fraction, 0.0), 1.0), text=plain(text)),  # names files
            max_bytes=limit_mb * 1024 * 1024, replace_existing=replace,
        )
    except AccordError as exc:
        bar.empty()
        st.error(plain(exc))  # quotes file names and contents
    else:
        st.session_state["import_flash"] = result
        st.rerun()

st.subheader("Import log")
log = data.cached(import_runs, 50)
if log.empty:
    st.caption("No imports yet.")
else:
    st.dataframe(log, hide_index=True, width="stretch")
    csv_download(log, "accord-import-log.csv", label="Download the import log (CSV)", key="import_log_csv")

st.subheader("Quarantine")
bad = data.cached(quarantine_rows)
if bad.empty:
    st.caption("No quarantined rows.")
else:
    st.caption(f"{len(bad):,} quarantined rows; fix them in the source and import the file again.")
    st.dataframe(bad.head(1000), hide_index=True, width="stretch")
    csv_download(bad, "accord-quarantine.csv", label="Download the quarantine (CSV)", key="import_quarantine_csv")
