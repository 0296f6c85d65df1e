"""Proposals of quality-definition changes as read models: the Proposal record, the pending and decided
lists, and whether joint sign-off is on. Every write (propose, approve, reject, withdraw) and every right
is core.edits', the one write path."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import duckdb

from core.db import reads
from core.models import QualityDefinition
from core.settings import get_settings

KIND = "quality_definition"  # the one kind changed by proposal
MAX_LISTED = 50  # proposals shown per list: the page stays bounded however long the history


@dataclass(frozen=True)
class Proposal:
    proposal_id: str
    kind: str
    subject: str
    base_version: int
    effective_from: datetime
    body: QualityDefinition
    proposed_by: str
    proposed_team: str
    proposed_at: datetime
    reason: str
    status: str
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None


COLUMNS = ("proposal_id, kind, subject, base_version, effective_from, body, proposed_by, proposed_team, "
           "proposed_at, reason, status, decided_by, decided_at, decision_note")


def joint_signoff_required() -> bool:
    """Whether a change must be proposed and approved (setting ACCORD_JOINT_SIGNOFF, default on)."""
    return get_settings().joint_signoff


def _row(row: tuple) -> Proposal:
    values = list(row)
    values[5] = QualityDefinition.model_validate(json.loads(values[5]))
    return Proposal(*values)


@reads('proposals')
def get(con: duckdb.DuckDBPyConnection, proposal_id: str) -> Proposal | None:
    row = con.execute(f"SELECT {COLUMNS} FROM proposals WHERE proposal_id = ?", [proposal_id]).fetchone()
    return _row(row) if row else None


@reads('proposals')
def pending_proposals(con: duckdb.DuckDBPyConnection) -> list[Proposal]:
    """Pending proposals, oldest first (the order they were made in); bounded."""
    rows = con.execute(
        f"SELECT {COLUMNS} FROM proposals WHERE kind = ? AND status = 'pending' "
        "ORDER BY proposed_at, proposal_id LIMIT ?",
        [KIND, MAX_LISTED],
    ).fetchall()
    return [_row(r) for r in rows]


@reads('proposals')
def decided_proposals(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[Proposal]:
    """The latest decided (approved, rejected, withdrawn) proposals, newest first."""
    rows = con.execute(
        f"SELECT {COLUMNS} FROM proposals WHERE kind = ? AND status <> 'pending' "
        "ORDER BY decided_at DESC, proposal_id LIMIT ?",
        [KIND, min(limit, MAX_LISTED)],
    ).fetchall()
    return [_row(r) for r in rows]
