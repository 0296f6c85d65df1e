"""Joint sign-off of the quality-lead definition: one team proposes, the other approves, and only the
approval saves a new version — through core.edits.save, against the version the proposal was made on.

Rights are checked here, on every call, whatever the page showed (ACCORD_JOINT_SIGNOFF turns the whole
flow off for small teams; the page then saves directly through core.edits).

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- Sales and marketing may propose; so may leadership. Viewers may do neither.
- A proposal is approved (or rejected) by someone of another team: sales approves marketing's and
  marketing sales'; leadership may approve or reject either; a leadership proposal needs sales or
  marketing. Nobody decides their own team's proposal — that is what makes the definition joint.
- Only the proposer's team may withdraw a pending proposal. Rejecting needs a note saying why.
- A proposal is checked like a save before it is stored (model, values present in the data, effective
  date not before the latest version's, base version still current), so the other team is never asked
  to approve something that cannot be saved. Approving saves with expected_version = base_version: a
  proposal overtaken by another save is refused as a Conflict and stays pending (stale) until it is
  rejected or withdrawn and proposed again on the new version.
- The version an approval saves is authored by the proposer; its reason records who approved it.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import duckdb
from pydantic import BaseModel, ValidationError

from core import edits
from core.db import reads, transaction
from core.models import Actor, QualityDefinition
from core.periods import utc_now
from core.quality import validate_draft
from core.settings import get_settings

KIND = "quality_definition"
PROPOSERS = frozenset({"sales", "marketing", "leadership"})
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


def joint_signoff_required() -> bool:
    """Whether a change must be proposed and approved (setting ACCORD_JOINT_SIGNOFF, default on)."""
    return get_settings().joint_signoff


def approver_teams(proposed_team: str) -> tuple[str, ...]:
    """Teams whose members may approve or reject a proposal of `proposed_team`."""
    if proposed_team == "leadership":
        return ("sales", "marketing")
    other = {"sales": "marketing", "marketing": "sales"}[proposed_team]
    return (other, "leadership")


def may_decide(actor: Actor, proposal: Proposal) -> str | None:
    """None when `actor` may approve or reject `proposal`, else why not (one plain sentence)."""
    if proposal.status != "pending":
        return f"This proposal was already {proposal.status}."
    if actor.team == proposal.proposed_team:
        return (f"{actor.name} is in {actor.team}, the team that proposed this change: "
                f"{' or '.join(approver_teams(proposal.proposed_team))} must approve it.")
    if actor.team not in approver_teams(proposal.proposed_team):
        return f"{actor.name} ({actor.team}) may not approve or reject changes to the quality-lead definition."
    return None


def may_withdraw(actor: Actor, proposal: Proposal) -> str | None:
    if proposal.status != "pending":
        return f"This proposal was already {proposal.status}."
    if actor.team != proposal.proposed_team:
        return f"Only {proposal.proposed_team} (the proposing team) may withdraw this proposal."
    return None


_COLUMNS = ("proposal_id, kind, subject, base_version, effective_from, body, proposed_by, proposed_team, "
            "proposed_at, reason, status, decided_by, decided_at, decision_note")


def _row(row: tuple) -> Proposal:
    values = list(row)
    values[5] = QualityDefinition.model_validate(json.loads(values[5]))
    return Proposal(*values)


def get(con: duckdb.DuckDBPyConnection, proposal_id: str) -> Proposal:
    row = con.execute(f"SELECT {_COLUMNS} FROM proposals WHERE proposal_id = ?", [proposal_id]).fetchone()
    if row is None:
        raise edits.EditRefused("That proposal does not exist (it may belong to another database).")
    return _row(row)


@reads('proposals', 'quality_definition')
def pending_proposals(con: duckdb.DuckDBPyConnection) -> list[Proposal]:
    """Pending proposals, oldest first (the order they were made in); bounded."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM proposals WHERE kind = ? AND status = 'pending' "
        "ORDER BY proposed_at, proposal_id LIMIT ?",
        [KIND, MAX_LISTED],
    ).fetchall()
    return [_row(r) for r in rows]


@reads('proposals')
def decided_proposals(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[Proposal]:
    """The latest decided (approved, rejected, withdrawn) proposals, newest first."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM proposals WHERE kind = ? AND status <> 'pending' "
        "ORDER BY decided_at DESC, proposal_id LIMIT ?",
        [KIND, min(limit, MAX_LISTED)],
    ).fetchall()
    return [_row(r) for r in rows]


def propose(
    con: duckdb.DuckDBPyConnection,
    body: QualityDefinition | dict,
    *,
    actor: Actor,
    reason: str,
    base_version: int,
    effective_from: datetime,
    now: datetime | None = None,
) -> Proposal:
    """Store a pending proposal to change the definition. Raises EditRefused (rights, validation, reason,
    effective date) or Conflict (someone saved since `base_version` was opened); nothing is stored then."""
    if actor.team not in PROPOSERS:
        raise edits.EditRefused(f"{actor.name} ({actor.team}) may not propose changes to the quality-lead definition.")
    try:
        model = body if isinstance(body, QualityDefinition) else QualityDefinition.model_validate(
            body.model_dump() if isinstance(body, BaseModel) else body
        )
    except ValidationError as exc:
        raise edits.EditRefused(edits.validation_message(exc)) from None
    check = validate_draft(con, model)
    if check.errors:
        raise edits.EditRefused(" ".join(check.errors))
    reason = (reason or "").strip()
    if not reason:
        raise edits.EditRefused("Say why you propose this change (the other team reads it before approving).")
    proposed_at = now or utc_now()
    with transaction(con, ("proposals",)) as cur:
        current = edits.latest(cur, KIND, edits.POLICY_SUBJECT)
        if (current.version if current else 0) != base_version:
            raise edits.Conflict(current, base_version)
        latest_from = cur.execute(
            "SELECT max(effective_from) FROM edit_versions WHERE kind = ? AND subject = ?",
            [KIND, edits.POLICY_SUBJECT],
        ).fetchone()[0]
        if latest_from is not None and effective_from < latest_from:
            raise edits.EditRefused(
                f"A new version cannot take effect before {latest_from:%Y-%m-%d %H:%M}, when the latest "
                "version took effect: that would change how past leads were counted. Pick a later date."
            )
        proposal = Proposal(
            proposal_id=uuid.uuid4().hex[:12], kind=KIND, subject=edits.POLICY_SUBJECT, base_version=base_version,
            effective_from=effective_from, body=model, proposed_by=actor.name, proposed_team=actor.team,
            proposed_at=proposed_at, reason=reason, status="pending",
        )
        cur.execute(
            f"INSERT INTO proposals ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
            [proposal.proposal_id, KIND, proposal.subject, base_version, effective_from, model.model_dump_json(),
             actor.name, actor.team, proposed_at, reason, "pending"],
        )
    return proposal


def approve(
    con: duckdb.DuckDBPyConnection, proposal_id: str, *, actor: Actor, note: str = "", now: datetime | None = None
) -> edits.Version:
    """Save the proposal as a new version (Conflict if it is stale) and mark it approved."""
    proposal = get(con, proposal_id)
    refusal = may_decide(actor, proposal)
    if refusal:
        raise edits.EditRefused(refusal)
    decided_at = now or utc_now()
    approval = f"approved by {actor.name} ({actor.team}) on {decided_at:%Y-%m-%d}"
    version = edits.save(
        con, KIND, proposal.subject, proposal.body,
        actor=Actor(name=proposal.proposed_by, team=proposal.proposed_team),
        reason=f"{proposal.reason} — proposed by {proposal.proposed_by} ({proposal.proposed_team}), {approval}"
               + (f": {note.strip()}" if note.strip() else "."),
        expected_version=proposal.base_version, effective_from=proposal.effective_from, now=decided_at,
    )
    # The save is what took effect: record the approval even if someone else decided the proposal in
    # the moment between our read and the save (their decision came too late to stop it).
    _decide(con, proposal_id, "approved", actor, note.strip() or None, decided_at, only_pending=False)
    return version


def reject(
    con: duckdb.DuckDBPyConnection, proposal_id: str, *, actor: Actor, note: str, now: datetime | None = None
) -> Proposal:
    proposal = get(con, proposal_id)
    refusal = may_decide(actor, proposal)
    if refusal:
        raise edits.EditRefused(refusal)
    if not (note or "").strip():
        raise edits.EditRefused("Say why you reject this proposal (the proposing team reads it).")
    return _decide(con, proposal_id, "rejected", actor, note.strip(), now or utc_now())


def withdraw(
    con: duckdb.DuckDBPyConnection, proposal_id: str, *, actor: Actor, note: str = "", now: datetime | None = None
) -> Proposal:
    proposal = get(con, proposal_id)
    refusal = may_withdraw(actor, proposal)
    if refusal:
        raise edits.EditRefused(refusal)
    return _decide(con, proposal_id, "withdrawn", actor, (note or "").strip() or None, now or utc_now())


def _decide(con, proposal_id: str, status: str, actor: Actor, note: str | None, decided_at: datetime,
            only_pending: bool = True) -> Proposal:
    with transaction(con, ("proposals",)) as cur:
        changed = cur.execute(
            "UPDATE proposals SET status = ?, decided_by = ?, decided_at = ?, decision_note = ? "
            "WHERE proposal_id = ? AND (status = 'pending' OR NOT ?) RETURNING proposal_id",
            [status, f"{actor.name} ({actor.team})", decided_at, note, proposal_id, only_pending],
        ).fetchall()
        if not changed:
            raise edits.EditRefused("Someone decided this proposal a moment ago; reload to see what they decided.")
    return get(con, proposal_id)
