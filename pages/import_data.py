"""Import data: CRM exports onto the canonical tables, with a summary, the import log and the quarantine."""
from __future__ import annotations

import streamlit as st

from core import edits, exclusions
from core.db import check_free_space
from core.errors import AccordError
from core.ingest import PRESETS, SourceFile, import_as, import_runs, quarantine_rows
from core.settings import get_settings
from ui import data, sidebar
from ui.widgets import csv_download, measure_table, plain, say

scope = sidebar.scope()
# One limit for the label, the uploader, the engine and the command line: ACCORD_MAX_UPLOAD_MB. The web
# server refuses any upload above server.maxUploadSize before this page sees it, so the page never promises
# more than that, and says so when the setting asks for more.
setting_mb = get_settings().max_upload_mb
server_mb = int(st.get_option("server.maxUploadSize"))
limit_mb = min(setting_mb, server_mb)

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
    type=["csv", "txt"], accept_multiple_files=True, key="import_files", max_upload_size=limit_mb,
)
if setting_mb > server_mb:
    st.caption(
        f"ACCORD_MAX_UPLOAD_MB asks for {setting_mb} MiB, but the web server accepts uploads of at most {server_mb} "
        f"MiB (server.maxUploadSize), so {limit_mb} MiB is the limit here; `python -m core import` takes files up "
        f"to {setting_mb} MiB. Set both to the same value to make them agree."
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
        # refused before anything is written when the disk may not hold the import (DiskFull is an AccordError)
        check_free_space(data.db_path(), sum(len(f.data) for f in files))
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

st.subheader("Flagged records")
st.caption(
    f"Deals whose amount is more than {exclusions.OUTLIER_FACTOR}× the median of deals in the same state, or "
    f"under 1/{exclusions.OUTLIER_FACTOR} of it, and every record an editor excluded. Flagging changes no "
    "figure; excluding a record takes it out of every figure (it stays in the data) until someone restores it."
)
flagged = data.cached(exclusions.flagged_records)
if flagged.empty:
    st.caption("No record is flagged or excluded.")
else:
    measure_table(flagged, list(flagged.columns), key="import_flagged", max_height=420,
                  labels={"record_id": "id", "created_at": "created", "why": "why flagged", "counted": "counted"},
                  formats={"amount": "localized"})
    csv_download(flagged, "accord-flagged-records.csv", label="Download the flagged records (CSV)",
                 key="import_flagged_csv")

may_decide = edits.may(scope.actor, exclusions.KIND)
if not may_decide:
    say("caption", "{} ({}) can read this list; {} exclude or restore records.", scope.actor.name,
        scope.actor.team, edits.who_may(exclusions.KIND))
left, right = st.columns([1, 3])
table = left.selectbox("Record", list(exclusions.TABLE_NOUNS), format_func=exclusions.TABLE_NOUNS.get,
                       key="import_exclude_table")
choices = flagged.loc[flagged["record"] == exclusions.TABLE_NOUNS[table], "record_id"].tolist()
record_id = right.selectbox(
    "Id (a flagged one, or type any id)", choices, index=0 if choices else None, accept_new_options=True,
    key="import_exclude_id", placeholder="Type a deal or lead id",
)
if record_id:
    state = data.cached(exclusions.record_state, table, str(record_id).strip())
    if not state.exists and not state.excluded:
        say("warning", "There is no {} {} in the data.", exclusions.TABLE_NOUNS[table], state.record_id)
    else:
        say("caption", "{} {} is " + ("**excluded** from the figures." if state.excluded else "counted in the figures."),
            exclusions.TABLE_NOUNS[table].capitalize(), state.record_id)
        with st.form("import_exclude_form", clear_on_submit=True):
            reason = st.text_input("Why (kept in the history)", key="import_exclude_reason",
                                   placeholder="e.g. 600M is a typo for 600k; confirmed with the account owner")
            verb = "Restore it" if state.excluded else "Exclude it from the figures"
            if st.form_submit_button(verb, type="primary", disabled=not may_decide):
                try:
                    exclusions.decide(data.connection(), state, actor=scope.actor, reason=reason)
                except edits.Conflict:
                    st.error("Not saved: someone decided about this record a moment ago. Its state above is "
                             "now current; decide again if you still mean to.")
                except edits.EditRefused as refused:
                    st.error(plain(refused))  # quotes ids
                else:
                    st.session_state["import_exclude_flash"] = (
                        f"{'Restored' if state.excluded else 'Excluded'} {exclusions.TABLE_NOUNS[table]} "
                        f"{state.record_id}.")
                    st.rerun()
flash = st.session_state.pop("import_exclude_flash", None)
if flash:
    st.success(plain(flash))

history = data.cached(exclusions.decisions)
if not history.empty:
    with st.expander(f"Decisions ({len(history):,})"):
        st.dataframe(history, hide_index=True, width="stretch")
        csv_download(history, "accord-exclusions.csv", label="Download the decisions (CSV)",
                     key="import_exclusions_csv")
