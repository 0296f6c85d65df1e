"""`accord`: the canonical tables as CSV, one file per table (named like the table, or recognised by its
header). Column names are the canonical ones (case, spaces and underscores ignored)."""
from __future__ import annotations

from core.ingest.canonical import TABLE_ORDER, TABLES
from core.ingest.presets.base import Ctx, FileKind, Preset
from core.ingest.validate import Batch


def _kind(table: str) -> FileKind:
    cols = TABLES[table]
    required = tuple(c.name for c in cols if c.required)
    return FileKind(
        key=table,
        label=f"Accord {table}",
        target=table,
        columns={c.name: (c.name,) for c in cols},
        required=required,
        all_of=required,
        name_hints=(table,),
    )


KINDS = tuple(_kind(t) for t in TABLE_ORDER)


def build(ctx: Ctx) -> list[Batch]:
    batches = []
    for table in TABLE_ORDER:
        frame = ctx.frame(table)
        if frame is not None:
            batches.append(Batch(table, frame))
    return batches


PRESET = Preset(
    name="accord",
    label="Accord (canonical CSV)",
    kinds=KINDS,
    build=build,
    summary="The canonical tables as CSV, one file per table.",
)
