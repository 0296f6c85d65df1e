"""Opening an Accord database ready for use: schema applied and the default policy versions present."""
from __future__ import annotations

from pathlib import Path

import duckdb

from core.db import connect
from core.edits import ensure_defaults


def open_store(path: str | Path, *, create: bool = False, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    con = connect(path, create=create, read_only=read_only)
    if not read_only:
        try:
            ensure_defaults(con)
        except BaseException:
            con.close()
            raise
    return con
