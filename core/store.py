"""Opening an Accord database ready for use: schema applied and the default policy versions present."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb

from core.db import close, connect, fault
from core.edits import ensure_defaults


def open_store(path: str | Path, *, create: bool = False, read_only: bool = False,
               lock_wait_seconds: float | None = None,
               on_wait: Callable[[str], None] | None = None) -> duckdb.DuckDBPyConnection:
    """connect() (schema applied; a file another process holds is waited for, up to `lock_wait_seconds`, default
    ACCORD_LOCK_WAIT_SECONDS), then the default quality definition and SLA policy when missing."""
    con = connect(path, create=create, read_only=read_only, lock_wait_seconds=lock_wait_seconds, on_wait=on_wait)
    if not read_only:
        try:
            ensure_defaults(con)
        except duckdb.Error as exc:  # a read-only or full disk shows here first, at the defaults' save
            close(con)
            raise fault(exc, path) from exc
        except BaseException:
            close(con)
            raise
    return con
