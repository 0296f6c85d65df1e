"""The one write path for edited state: validate → rights → transaction with conflict check → new version.

Nothing is updated in place: every save appends a version (who, when, why, the whole body), so history,
diffs and restores are reads of consecutive versions. Caches key on data_version, which the transaction
bumps, so every figure that depends on an edit changes as soon as the save commits.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
from pydantic import BaseModel, ValidationError

from core.db import reads, transaction
from core.errors import AccordError
from core.models import (
    DEFAULT_QUALITY_DEFINITION,
    DEFAULT_SLA_POLICY,
    Actor,
    GoalBody,
    QualityDefinition,
    SlaPolicy,
)
from core.periods import utc_now

KIND_MODELS: dict[str, type[BaseModel]] = {
    "goal": GoalBody,
    "sla_policy": SlaPolicy,
    "quality_definition": QualityDefinition,
}
# Server-side rights: checked here, on every write, whatever the page showed.
MAY_EDIT: dict[str, frozenset[str]] = {
    "goal": frozenset({"sales", "marketing", "leadership"}),
    "sla_policy": frozenset({"sales", "marketing", "leadership"}),
    "quality_definition": frozenset({"sales", "marketing", "leadership"}),
    "import": frozenset({"sales", "marketing", "leadership"}),
}


def check_right(actor: Actor, action: str) -> None:
    """Refuse an actor whose team may not do `action` (a kind of edit, or 'import')."""
    if actor.team not in MAY_EDIT.get(action, frozenset()):
        raise EditRefused(f"{actor.name} ({actor.team}) may not {'import data' if action == 'import' else 'change the ' + action.replace('_', ' ')}.")
POLICY_SUBJECT = "default"  # the SLA policy and the quality definition are one per database
# Kinds whose versions apply from an effective date to the records stamped after it.
EFFECTIVE_DATED = frozenset({"sla_policy", "quality_definition"})
# The first version of an effective-dated kind applies to all history before it too.
BEGINNING = datetime(2000, 1, 1)
SYSTEM_ACTOR = Actor(name="Accord defaults", team="leadership")


class EditRefused(AccordError):
    pass


@dataclass(frozen=True)
class Version:
    kind: str
    subject: str
    version: int
    effective_from: datetime
    body: Any
    saved_by: str
    saved_at: datetime
    reason: str


class Conflict(AccordError):
    """Someone saved since the editor opened: nothing was written; `current` is what they saved."""

    def __init__(self, current: Version | None, expected_version: int):
        self.current = current
        self.expected_version = expected_version
        who = f"{current.saved_by} at {current.saved_at:%Y-%m-%d %H:%M} UTC" if current else "someone"
        super().__init__(
            f"Not saved: {who} saved version {current.version if current else '?'} after you opened "
            f"version {expected_version}. Review their values beside yours and save again."
        )


def validation_message(exc: ValidationError) -> str:
    """Pydantic's errors as one plain sentence per problem, without its internals."""
    parts = []
    for err in exc.errors():
        field = ".".join(str(x) for x in err.get("loc", ()) if x != "__root__")
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{field.replace('_', ' ')}: {msg}" if field else msg)
    return "; ".join(parts)


def _row_to_version(row: tuple) -> Version:
    kind, subject, version, effective_from, body, saved_by, saved_at, reason = row
    model = KIND_MODELS[kind].model_validate(json.loads(body))
    return Version(kind, subject, version, effective_from, model, saved_by, saved_at, reason)


_COLUMNS = "kind, subject, version, effective_from, body, saved_by, saved_at, reason"


@reads('goal', 'sla_policy', 'quality_definition')
def latest(con: duckdb.DuckDBPyConnection, kind: str, subject: str) -> Version | None:
    row = con.execute(
        f"SELECT {_COLUMNS} FROM edit_versions WHERE kind = ? AND subject = ? ORDER BY version DESC LIMIT 1",
        [kind, subject],
    ).fetchone()
    return _row_to_version(row) if row else None


@reads('goal', 'sla_policy', 'quality_definition')
def history(con: duckdb.DuckDBPyConnection, kind: str, subject: str) -> list[Version]:
    """All versions, newest first."""
    rows = con.execute(
        f"SELECT {_COLUMNS} FROM edit_versions WHERE kind = ? AND subject = ? ORDER BY version DESC",
        [kind, subject],
    ).fetchall()
    return [_row_to_version(r) for r in rows]


@reads('goal', 'sla_policy', 'quality_definition')
def in_force_schedule(con: duckdb.DuckDBPyConnection, kind: str, subject: str = POLICY_SUBJECT) -> list[Version]:
    """Effective-dated versions, oldest first: for each effective_from, the latest version saved for it.

    A later save with the same effective_from supersedes an earlier one (a correction); versions never
    reach back before the effective_from of versions saved earlier (the write path refuses that).
    """
    rows = con.execute(
        f"""SELECT {_COLUMNS} FROM edit_versions WHERE kind = ? AND subject = ?
            QUALIFY row_number() OVER (PARTITION BY effective_from ORDER BY version DESC) = 1
            ORDER BY effective_from""",
        [kind, subject],
    ).fetchall()
    return [_row_to_version(r) for r in rows]


def in_force_at(schedule: list[Version], moment: datetime) -> Version | None:
    """The version of an effective-dated schedule (in_force_schedule, oldest first) that applies at
    `moment`: the latest one effective by then; the oldest also covers everything before it. None for an
    empty schedule. The one Python statement of "the version in force"; SQL uses core.quality.effective_case."""
    found = schedule[0] if schedule else None
    for version in schedule:
        if version.effective_from <= moment:
            found = version
    return found


def save(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    subject: str,
    body: BaseModel | dict,
    *,
    actor: Actor,
    reason: str,
    expected_version: int,
    effective_from: datetime | None = None,
    now: datetime | None = None,
    as_of: datetime | None = None,
) -> Version:
    """Append a version if nobody saved since `expected_version` (0 when creating). Raises EditRefused
    (rights, validation) or Conflict; in every failure the database is left as it was.

    `now` stamps saved_at (default: the clock); `as_of` is the data's present, against which "a period
    that has ended" is judged (default: now) — the demo's data ends before the wall clock does."""
    if kind not in KIND_MODELS:
        raise EditRefused(f"Unknown kind of edit: {kind!r}.")
    check_right(actor, kind)
    model_cls = KIND_MODELS[kind]
    try:
        model = body if isinstance(body, model_cls) else model_cls.model_validate(
            body.model_dump() if isinstance(body, BaseModel) else body
        )
    except ValidationError as exc:
        raise EditRefused(validation_message(exc)) from None
    if kind == "goal":
        _check_goal_period(subject, model, as_of or now or utc_now())
    reason = (reason or "").strip()
    if not reason:
        raise EditRefused("Say why you are making this change (the reason is kept in the history).")
    saved_at = now or utc_now()
    effective_from = effective_from or saved_at
    try:
        with transaction(con, (kind,)) as cur:
            current = latest(cur, kind, subject)
            current_version = current.version if current else 0
            if current_version != expected_version:
                raise Conflict(current, expected_version)
            if (
                kind in EFFECTIVE_DATED
                and current is not None
                and effective_from < _max_effective(cur, kind, subject)
            ):
                raise EditRefused(
                    "A new version cannot take effect before a version already saved: that would change "
                    "how past records were counted. Pick a later effective date."
                )
            cur.execute(
                "INSERT INTO edit_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [kind, subject, current_version + 1, effective_from, model.model_dump_json(),
                 actor.name, saved_at, reason],
            )
    except duckdb.ConstraintException:
        # Another session inserted the same version between our read and our insert.
        raise Conflict(latest(con.cursor(), kind, subject), expected_version) from None
    return Version(kind, subject, current_version + 1, effective_from, model, actor.name, saved_at, reason)


def _check_goal_period(subject: str, goal: GoalBody, as_of: datetime) -> None:
    from core.periods import parse_period  # local: periods is a leaf module, kept free of edits

    period = parse_period(subject)
    if not period.is_quarter:
        raise EditRefused("Goals are set per quarter (e.g. 2026-Q3); months get a pro-rated share.")
    if period.end <= as_of and not goal.correction:
        raise EditRefused(
            f"{subject} ended on {period.end:%Y-%m-%d}. Changing its goal rewrites history: tick "
            "'correction' if that is what you mean."
        )


def _max_effective(con: duckdb.DuckDBPyConnection, kind: str, subject: str) -> datetime:
    return con.execute(
        "SELECT max(effective_from) FROM edit_versions WHERE kind = ? AND subject = ?", [kind, subject]
    ).fetchone()[0]


def diff(before: BaseModel | None, after: BaseModel) -> list[tuple[str, Any, Any]]:
    """Fields that differ between two versions of one kind, as (field, before, after)."""
    old = before.model_dump() if before is not None else {}
    new = after.model_dump()
    return [(k, old.get(k), v) for k, v in new.items() if old.get(k) != v]


def ensure_defaults(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> None:
    """A new database starts on quality definition version 1 and the default SLA policy (METRICS.md).
    `now` stamps the saves (the demo passes its as-of so the same seed gives identical bytes)."""
    if latest(con, "quality_definition", POLICY_SUBJECT) is None:
        save(con, "quality_definition", POLICY_SUBJECT, DEFAULT_QUALITY_DEFINITION, actor=SYSTEM_ACTOR,
             reason="Version 1: score >= 60, or a demo request, or qualified by the source CRM.",
             expected_version=0, effective_from=BEGINNING, now=now)
    if latest(con, "sla_policy", POLICY_SUBJECT) is None:
        save(con, "sla_policy", POLICY_SUBJECT, DEFAULT_SLA_POLICY, actor=SYSTEM_ACTOR,
             reason="Default policy: first touch within 24 hours, 3 attempts within 7 days.",
             expected_version=0, effective_from=BEGINNING, now=now)
