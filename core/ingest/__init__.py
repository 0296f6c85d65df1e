"""Importing CRM data: presets map source shapes onto the canonical tables (see docs/importing.md).

Public interface: PRESETS, SourceFile, TableCounts, ImportSummary, import_files, files_from_paths,
import_as, quarantine_rows, quarantine_csv, import_runs, and the data-quality profile
(profile, Flag: core/ingest/profile.py).
"""
from core.ingest.engine import (
    ImportFailed,
    ImportSummary,
    SourceFile,
    TableCounts,
    UnknownPreset,
    files_from_paths,
    format_summary,
    import_files,
    import_runs,
    quarantine_csv,
    quarantine_rows,
)
from core.ingest.presets import PRESETS
from core.ingest.presets.base import Preset
from core.ingest.profile import Flag, profile


def import_as(con, actor, preset: str, files: list[SourceFile], **options) -> ImportSummary:
    """import_files for a person in the app: their right to import is checked here, server-side."""
    from core.edits import check_right

    check_right(con, actor, "import")
    return import_files(con, preset, files, actor=f"{actor.label} ({actor.team})", **options)


__all__ = [
    "PRESETS", "Preset", "SourceFile", "TableCounts", "ImportSummary", "ImportFailed", "UnknownPreset",
    "import_files", "files_from_paths", "format_summary", "quarantine_rows", "quarantine_csv",
    "import_runs", "import_as", "profile", "Flag",
]
