"""The one write path for edited state and proposals: validate → rights → one transaction with a state
check → a history row → the changed data domains bumped (so exactly the caches that read them go stale).

Nothing is updated in place: every save appends a version (who, when, why, the whole body), so history,
diffs and restores are reads of consecutive versions. A proposal is a save waiting for the other team:
it is validated by the same function as a save (check), and approving it writes the version and the
decision in one transaction, all or nothing. core.signoff reads proposals; only this module writes them.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- Rights follow roles (core.models.Actor.role): sales and marketing editors and admins may save goals,
  the SLA policy and definitions, propose, decide and import — goals and the SLA policy hold both
  teams' promises, so both teams' editors edit them; only admins change the access map (who has which
  role); viewers only read. A refused write changes nothing and is logged (refused_writes) with who tried.
- A proposal is decided (approved or rejected) by another person of another team: sales decides
  marketing's and marketing sales'; admins (leadership) may decide either; an admin's proposal needs
  sales or marketing. Nobody decides their own team's proposal: that is what makes the definition joint.
- Only the proposing team withdraws a pending proposal. Rejecting needs a note saying why.
- A proposal is checked like a save when it is made (model, values present in the data, effective date
  not before the latest version's, base version still current), so the other team is never asked to
  approve something that cannot be saved; approving checks all of it again and saves against the base
  version, so a proposal overtaken by another save is refused as a Conflict and stays pending.
- The version an approval saves is authored by the proposer; its reason records who approved it.
"""
from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import duckdb
from pydantic import BaseModel, ValidationError

from core import quality, signoff
from core.db import reads, refresh_views, retry_races, transaction
from core.errors import AccordError
from core.models import (
    DEFAULT_QUALITY_DEFINITION,
    DEFAULT_SLA_POLICY,
    AccessMap,
    Actor,
    DealSnooze,
    Exclusion,
    GoalBody,
    QualityDefinition,
    RepTargets,
    SlaPolicy,
    StallRules,
)
from core.periods import parse_period, utc_now
from core.semantic.enums import ROLE_LABELS, ROLES
from core.signoff import Proposal

KIND_MODELS: dict[str, type[BaseModel]] = {
    "goal": GoalBody,
    "sla_policy": SlaPolicy,
    "quality_definition": QualityDefinition,
    "access": AccessMap,
    "exclusion": Exclusion,
    "stall_rules": StallRules,
    "deal_snooze": DealSnooze,
    "rep_targets": RepTargets,
}
# The data domains a save of each kind changes (default: its own). An exclusion changes what every
# record-reading figure counts, so it is a change to the records.
CHANGES: dict[str, tuple[str, ...]] = {"exclusion": ("records",), "stall_rules": ("stalls",),
                                       "deal_snooze": ("stalls",), "rep_targets": ("goal",)}
PROPOSABLE = frozenset({signoff.KIND})  # kinds that may change by proposal and approval
POLICY_SUBJECT = "default"  # the SLA policy and the quality definition are one per database
# Kinds whose versions apply from an effective date to the records stamped after it (a snooze: from the
# moment it was made, so a figure as of an earlier moment never sees it).
EFFECTIVE_DATED = frozenset({"sla_policy", "quality_definition", "deal_snooze"})
# The first version of an effective-dated kind applies to all history before it too.
BEGINNING = datetime(2000, 1, 1)
SYSTEM_ACTOR = Actor(name="Accord defaults", team="leadership")


class EditRefused(AccordError):
    pass


# --- rights -------------------------------------------------------------------------------------------

EDITORS = frozenset({"sales_editor", "marketing_editor", "admin"})
ADMINS = frozenset({"admin"})
SALES = frozenset({"sales_editor", "admin"})  # what counts as stalled is sales' call (leadership may overrule)


@dataclass(frozen=True)
class Right:
    """The roles that may do one action, and the words of a refusal ("<name> (<team>) may not <verb>.")."""

    roles: frozenset[str]
    verb: str

    def allows(self, actor: Actor) -> bool:
        return actor.role in self.roles


# The one rights table: every write checks it here, server-side, whatever a page showed. Actions: a kind
# of edit (saving it), "import", and the proposal actions "propose", "decide" (approve or reject) and
# "withdraw", which also depend on the proposal (see refusal).
RIGHTS: dict[str, Right] = {
    "goal": Right(EDITORS, "change the goal"),
    "sla_policy": Right(EDITORS, "change the sla policy"),
    "quality_definition": Right(EDITORS, "change the quality definition"),
    "import": Right(EDITORS, "import data"),
    "propose": Right(EDITORS, "propose changes to the quality-lead definition"),
    "decide": Right(EDITORS, "approve or reject changes to the quality-lead definition"),
    "withdraw": Right(EDITORS, "withdraw a proposal"),
    "access": Right(ADMINS, "change who may do what (the access map)"),
    "exclusion": Right(EDITORS, "exclude records from the figures or restore them"),
    "stall_rules": Right(SALES, "change the stall rules"),
    "deal_snooze": Right(SALES, "mark a deal stalled for a known reason"),
    "rep_targets": Right(SALES, "split the sales targets between teams and reps"),
}
# Who decides a team's proposals: never that team itself.
APPROVERS: dict[str, tuple[str, ...]] = {
    "sales": ("marketing", "leadership"),
    "marketing": ("sales", "leadership"),
    "leadership": ("sales", "marketing"),
}


def refusal(actor: Actor, action: str, proposal: Proposal | None = None) -> str | None:
    """Why `actor` may not do `action` (one plain sentence), or None when they may. The proposal actions
    ("decide", "withdraw") take the proposal: it must be pending, decided by another team than the one
    that proposed it, withdrawn only by that team."""
    if proposal is not None and proposal.status != "pending":
        return f"This proposal was already {proposal.status}."
    right = RIGHTS.get(action)
    if right is None or not right.allows(actor):
        return f"{actor.name} ({actor.team}) may not {right.verb if right else action}."
    if action == "decide" and proposal is not None and actor.team not in APPROVERS[proposal.proposed_team]:
        return (f"{actor.name} is in {actor.team}, the team that proposed this change: "
                f"{' or '.join(APPROVERS[proposal.proposed_team])} must approve it.")
    if action == "decide" and proposal is not None and actor.label == proposal.proposed_by:
        return "You proposed this change: another person, of another team, must decide it."
    if action == "withdraw" and proposal is not None and actor.team != proposal.proposed_team:
        return f"Only {proposal.proposed_team} (the proposing team) may withdraw this proposal."
    return None


def who_may(action: str) -> str:
    """The roles allowed `action`, in words ("sales editors, marketing editors or admins")."""
    names = [ROLE_LABELS[r].lower() + "s" for r in ROLES if r in RIGHTS[action].roles]
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


def may(actor: Actor, action: str) -> bool:
    """Whether `actor`'s role allows `action` at all (what a page offers; the write path still checks)."""
    return refusal(actor, action) is None


def check_right(con: duckdb.DuckDBPyConnection | None, actor: Actor, action: str,
                proposal: Proposal | None = None) -> None:
    """Refuse (EditRefused) an actor who may not do `action` (see refusal), logging the attempt in
    refused_writes when a connection is given: the refusal itself changes nothing else."""
    why = refusal(actor, action, proposal)
    if why is None:
        return
    if con is not None:
        with transaction(con, ()) as cur:
            cur.execute("INSERT INTO refused_writes VALUES (?, ?, ?, ?, ?)",
                        [utc_now(), actor.label, actor.team, action, why])
    raise EditRefused(why)


# --- versions -----------------------------------------------------------------------------------------


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


# --- validation: the one check of every write ------------------------------------------------------------


@dataclass
class Check:
    """A body's verdict before any write: the validated model, or the errors; warnings never block."""

    model: BaseModel | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.model is not None and not self.errors


@reads('records')
def check(
    con: duckdb.DuckDBPyConnection, kind: str, subject: str, body: BaseModel | dict, *, as_of: datetime | None = None
) -> Check:
    """Validate a body the way every write does (save, propose, approve): the model's rules, then what only
    its context can tell (a goal's period against `as_of`, the data's present; the values a quality
    definition names, against the loaded leads). Editors show these messages before any write."""
    model_cls = KIND_MODELS.get(kind)
    if model_cls is None:
        return Check(None, [f"Unknown kind of edit: {kind!r}."])
    try:
        model = body if isinstance(body, model_cls) else model_cls.model_validate(
            body.model_dump() if isinstance(body, BaseModel) else body
        )
    except ValidationError as exc:
        return Check(None, [validation_message(exc)])
    result = Check(model)
    if isinstance(model, GoalBody):
        result.errors = _goal_period_problems(subject, model, as_of or utc_now())
    elif isinstance(model, QualityDefinition):
        result.errors, result.warnings = quality.check_values(con, model)
    elif isinstance(model, Exclusion):
        result.errors = _exclusion_problems(con, subject, model)
    elif isinstance(model, DealSnooze):
        result.errors = _snooze_problems(con, subject, model, as_of or utc_now())
    elif isinstance(model, RepTargets):
        result.errors = _rep_target_problems(con, subject, model)
    if result.errors:
        result.model = None
    return result


def _rep_target_problems(con: duckdb.DuckDBPyConnection, subject: str, split: RepTargets) -> list[str]:
    """The quarter must be one; teams and reps must be known; no team's (or the whole's) shares above 100%."""
    period = parse_period(subject)
    if not period.is_quarter:
        return ["Sales targets are split per quarter (e.g. 2026-Q4)."]
    reps = dict(con.execute("SELECT rep_id, team FROM reps").fetchall())
    teams = set(reps.values())
    problems = [f"Unknown team {t!r}." for t in split.team_shares if t not in teams]
    problems += [f"Unknown rep {r!r}." for r in split.rep_shares if r not in reps]
    if sum(split.team_shares.values()) > 1 + 1e-9:
        problems.append(f"The teams' shares add up to {sum(split.team_shares.values()):.0%}: at most 100%.")
    for team in sorted(teams):
        total = sum(v for r, v in split.rep_shares.items() if reps.get(r) == team)
        if total > 1 + 1e-9:
            problems.append(f"The shares of {team}'s reps add up to {total:.0%}: at most 100% of the team's target.")
    return problems


def _goal_period_problems(subject: str, goal: GoalBody, as_of: datetime) -> list[str]:
    period = parse_period(subject)
    if not period.is_quarter:
        return ["Goals are set per quarter (e.g. 2026-Q3); months get a pro-rated share."]
    if period.end <= as_of and not goal.correction:
        return [(f"{subject} ended on {period.end:%Y-%m-%d}. Changing its goal rewrites history: tick "
                 "'correction' if that is what you mean.")]
    return []


def _exclusion_problems(con: duckdb.DuckDBPyConnection, subject: str, exclusion: Exclusion) -> list[str]:
    if subject != Exclusion.subject(exclusion.table, exclusion.record_id):
        return [f"An exclusion of {exclusion.table} {exclusion.record_id} is saved under "
                f"{Exclusion.subject(exclusion.table, exclusion.record_id)!r}, not {subject!r}."]
    key = "lead_id" if exclusion.table == "leads" else "deal_id"  # from the model's two-value Literal
    row = con.execute(f"SELECT count(*) FROM {exclusion.table} WHERE {key} = ?", [exclusion.record_id]).fetchone()
    if exclusion.excluded and not (row and row[0]):
        noun = exclusion.table.rstrip("s")
        return [f"There is no {noun} {exclusion.record_id} in the data: check the id."]
    return []


def _snooze_problems(con: duckdb.DuckDBPyConnection, subject: str, snooze: DealSnooze, as_of: datetime) -> list[str]:
    if subject != DealSnooze.subject(snooze.deal_id):
        return [f"A snooze of deal {snooze.deal_id} is saved under {DealSnooze.subject(snooze.deal_id)!r}, "
                f"not {subject!r}."]
    if snooze.until is None:  # ending a snooze is always allowed, even of a deal since removed
        return []
    if snooze.until <= as_of.date():
        return [f"A snooze must end after {as_of:%Y-%m-%d} (the data's present): the deal would count as "
                "stalled again at once."]
    row = con.execute("SELECT count(*) FROM deals WHERE deal_id = ?", [snooze.deal_id]).fetchone()
    if not (row and row[0]):
        return [f"There is no deal {snooze.deal_id} in the data: check the id."]
    return []


def _validated(con: duckdb.DuckDBPyConnection, kind: str, subject: str, body: BaseModel | dict,
               as_of: datetime | None = None) -> BaseModel:
    with _cursor(con) as cur:
        result = check(cur, kind, subject, body, as_of=as_of)
    if not result.ok:
        raise EditRefused(" ".join(result.errors))
    assert result.model is not None
    return result.model


def _required(text: str | None, ask: str) -> str:
    """A reason or note, stripped; refused when blank (history without a why is no history)."""
    text = (text or "").strip()
    if not text:
        raise EditRefused(ask)
    return text


@contextmanager
def _cursor(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    # reads before a write take their own cursor: the app shares one connection across session threads
    cur = con.cursor()
    try:
        yield cur
    finally:
        cur.close()


# --- writing: versions ------------------------------------------------------------------------------------

RACE_RETRIES = 8  # DuckLake write races a save runs again before it says "try again" (core.lake)


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
    (validation, reason, rights) or Conflict; in every failure the database is left as it was.

    `now` stamps saved_at (default: the clock); `as_of` is the data's present, against which "a period
    that has ended" is judged (default: now) — the demo's data ends before the wall clock does."""
    model = _validated(con, kind, subject, body, as_of or now or utc_now())
    reason = _required(reason, "Say why you are making this change (the reason is kept in the history).")
    check_right(con, actor, kind)
    saved_at = now or utc_now()

    def write() -> Version:
        with _unit(con, kind, subject, expected_version, CHANGES.get(kind, (kind,))) as cur:
            version = _append(cur, kind, subject, model, author=actor.label, saved_at=saved_at, reason=reason,
                              expected_version=expected_version, effective_from=effective_from or saved_at)
            if isinstance(model, Exclusion):
                _apply_exclusion(cur, model)
            return version

    # DuckLake: another process's write overlapped ours and ours was rolled back whole. It runs again from the
    # state check: a save of the same subject is now a Conflict, any other write is no obstacle. Apart at
    # random, so the same two do not meet again.
    return retry_races(write, tries=RACE_RETRIES, pause=lambda attempt: random.uniform(0.01, 0.05) * (attempt + 1))


def _apply_exclusion(cur: duckdb.DuckDBPyConnection, exclusion: Exclusion) -> None:
    """Inside the save's transaction: the exclusions table follows the version just written."""
    cur.execute("DELETE FROM exclusions WHERE table_name = ? AND record_id = ?", [exclusion.table, exclusion.record_id])
    if exclusion.excluded:
        cur.execute("INSERT INTO exclusions VALUES (?, ?)", [exclusion.table, exclusion.record_id])
    refresh_views(cur)


@contextmanager
def _unit(con: duckdb.DuckDBPyConnection, kind: str, subject: str, expected_version: int,
          changes: tuple[str, ...]) -> Iterator[duckdb.DuckDBPyConnection]:
    """One write transaction bumping `changes`; a version inserted by another session between our state
    check and our insert (the primary key refuses it) is a Conflict like any other."""
    try:
        with transaction(con, changes) as cur:
            yield cur
    except duckdb.ConstraintException:
        with _cursor(con) as cur:
            raise Conflict(latest(cur, kind, subject), expected_version) from None


def _expect(cur: duckdb.DuckDBPyConnection, kind: str, subject: str, expected_version: int) -> Version | None:
    """The state check: the latest version must still be the one the editor (or proposal) started from."""
    current = latest(cur, kind, subject)
    if (current.version if current else 0) != expected_version:
        raise Conflict(current, expected_version)
    return current


def _check_effective(cur: duckdb.DuckDBPyConnection, kind: str, subject: str, effective_from: datetime) -> None:
    if kind not in EFFECTIVE_DATED:
        return
    latest_from = _max_effective(cur, kind, subject)
    if latest_from is not None and effective_from < latest_from:
        raise EditRefused(
            f"A new version cannot take effect before a version already saved (the latest takes effect from "
            f"{latest_from:%Y-%m-%d %H:%M}): that would change how past records were counted. Pick a later date."
        )


def _max_effective(cur: duckdb.DuckDBPyConnection, kind: str, subject: str) -> datetime | None:
    row = cur.execute(
        "SELECT max(effective_from) FROM edit_versions WHERE kind = ? AND subject = ?", [kind, subject]
    ).fetchone()
    assert row is not None  # an aggregate: always one row (core.semantic.blocks.one_row would import this module)
    return row[0]


def _append(cur: duckdb.DuckDBPyConnection, kind: str, subject: str, model: BaseModel, *, author: str,
            saved_at: datetime, reason: str, expected_version: int, effective_from: datetime) -> Version:
    """Inside a transaction: the state checks, then the new version row (the history is the versions)."""
    _expect(cur, kind, subject, expected_version)
    _check_effective(cur, kind, subject, effective_from)
    version = Version(kind, subject, expected_version + 1, effective_from, model, author, saved_at, reason)
    cur.execute(
        "INSERT INTO edit_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [kind, subject, version.version, effective_from, model.model_dump_json(), author, saved_at, reason],
    )
    return version


# --- writing: proposals -----------------------------------------------------------------------------------


def propose(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    subject: str,
    body: BaseModel | dict,
    *,
    actor: Actor,
    reason: str,
    base_version: int,
    effective_from: datetime,
    now: datetime | None = None,
) -> Proposal:
    """Store a pending proposal to change `kind` from `base_version`. Raises EditRefused (validation,
    reason, rights, effective date) or Conflict (someone saved since `base_version`); nothing is stored then."""
    if kind not in PROPOSABLE:
        raise EditRefused(f"Changes to {kind.replace('_', ' ')} are saved, not proposed.")
    # the one proposable kind is the quality definition (PROPOSABLE), so its model is a QualityDefinition
    model = cast(QualityDefinition, _validated(con, kind, subject, body))
    reason = _required(reason, "Say why you propose this change (the other team reads it before approving).")
    check_right(con, actor, "propose")
    proposal = Proposal(
        proposal_id=uuid.uuid4().hex[:12], kind=kind, subject=subject, base_version=base_version,
        effective_from=effective_from, body=model, proposed_by=actor.label, proposed_team=actor.team,
        proposed_at=now or utc_now(), reason=reason, status="pending",
    )
    with transaction(con, ("proposals",)) as cur:
        _expect(cur, kind, subject, base_version)
        _check_effective(cur, kind, subject, effective_from)
        cur.execute(
            f"INSERT INTO proposals ({signoff.COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)",
            [proposal.proposal_id, kind, subject, base_version, effective_from, model.model_dump_json(),
             actor.label, actor.team, proposal.proposed_at, reason, "pending"],
        )
    return proposal


def approve(
    con: duckdb.DuckDBPyConnection, proposal_id: str, *, actor: Actor, note: str = "", now: datetime | None = None
) -> Version:
    """Save the proposal as a new version and mark it approved, in one transaction: all or nothing.
    Conflict when it is stale (someone saved since its base version); it then stays pending."""
    proposal = _proposal(con, proposal_id)
    model = _validated(con, proposal.kind, proposal.subject, proposal.body)
    check_right(con, actor, "decide", proposal)
    decided_at, note = now or utc_now(), (note or "").strip()
    approval = f"approved by {actor.name} ({actor.team}) on {decided_at:%Y-%m-%d}"
    reason = (f"{proposal.reason} — proposed by {proposal.proposed_by} ({proposal.proposed_team}), {approval}"
              + (f": {note}" if note else "."))
    with _unit(con, proposal.kind, proposal.subject, proposal.base_version, ("proposals", proposal.kind)) as cur:
        # decided first, so of two people approving at once the second hears that it was decided
        _decide(cur, proposal_id, "approved", actor, note or None, decided_at)
        return _append(cur, proposal.kind, proposal.subject, model, author=proposal.proposed_by,
                       saved_at=decided_at, reason=reason, expected_version=proposal.base_version,
                       effective_from=proposal.effective_from)


def reject(
    con: duckdb.DuckDBPyConnection, proposal_id: str, *, actor: Actor, note: str, now: datetime | None = None
) -> Proposal:
    """End a pending proposal without saving it; the note says why (the proposing team reads it)."""
    proposal = _proposal(con, proposal_id)
    note = _required(note, "Say why you reject this proposal (the proposing team reads it).")
    check_right(con, actor, "decide", proposal)
    with transaction(con, ("proposals",)) as cur:
        _decide(cur, proposal_id, "rejected", actor, note, now or utc_now())
    return _proposal(con, proposal_id)


def withdraw(
    con: duckdb.DuckDBPyConnection, proposal_id: str, *, actor: Actor, note: str = "", now: datetime | None = None
) -> Proposal:
    """The proposing team takes its pending proposal back."""
    proposal = _proposal(con, proposal_id)
    check_right(con, actor, "withdraw", proposal)
    with transaction(con, ("proposals",)) as cur:
        _decide(cur, proposal_id, "withdrawn", actor, (note or "").strip() or None, now or utc_now())
    return _proposal(con, proposal_id)


def _proposal(con: duckdb.DuckDBPyConnection, proposal_id: str) -> Proposal:
    with _cursor(con) as cur:
        found = signoff.get(cur, proposal_id)
    if found is None:
        raise EditRefused("That proposal does not exist (it may belong to another database).")
    return found


def _decide(cur: duckdb.DuckDBPyConnection, proposal_id: str, status: str, actor: Actor, note: str | None,
            decided_at: datetime) -> None:
    """Inside a transaction: the state check (still pending) and the decision, in one statement."""
    changed = cur.execute(
        "UPDATE proposals SET status = ?, decided_by = ?, decided_at = ?, decision_note = ? "
        "WHERE proposal_id = ? AND status = 'pending' RETURNING proposal_id",
        [status, f"{actor.label} ({actor.team})", decided_at, note, proposal_id],
    ).fetchall()
    if not changed:
        raise EditRefused("Someone decided this proposal a moment ago; reload to see what they decided.")


def diff(before: BaseModel | None, after: BaseModel) -> list[tuple[str, Any, Any]]:
    """Fields that differ between two versions of one kind, as (field, before, after)."""
    old = before.model_dump() if before is not None else {}
    new = after.model_dump()
    return [(k, old.get(k), v) for k, v in new.items() if old.get(k) != v]


def ensure_defaults(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> None:
    """A new database starts on quality definition version 1 and the default SLA policy (METRICS.md).
    `now` stamps the saves (the demo passes its as-of so the same seed gives identical bytes). Another
    process opening a new shared database (DuckLake) at the same moment may save them first: that is a
    Conflict here, and the defaults are there either way."""
    for kind, body, reason in (
        ("quality_definition", DEFAULT_QUALITY_DEFINITION,
         "Version 1: score >= 60, or a demo request, or qualified by the source CRM."),
        ("sla_policy", DEFAULT_SLA_POLICY, "Default policy: first touch within 24 hours, 3 attempts within 7 days."),
    ):
        if latest(con, kind, POLICY_SUBJECT) is None:
            try:
                save(con, kind, POLICY_SUBJECT, body, actor=SYSTEM_ACTOR, reason=reason, expected_version=0,
                     effective_from=BEGINNING, now=now)
            except Conflict:
                pass  # saved by the other process meanwhile
