"""The quality-lead definition page's rules as plain functions, tested without Streamlit: the draft's
widgets ↔ a definition, the back-test's range, the earliest effective date, the sentences the page shows,
and each button's write through core.edits turned into what the page says next."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import duckdb

from core import edits, quality
from core.metrics.backtest import Backtest, Rejudged
from core.models import Actor, QualityDefinition
from core.semantic.measures import show
from core.signoff import Proposal

KIND, SUBJECT = "quality_definition", edits.POLICY_SUBJECT
TRAILING_DAYS = 364  # the back-test's default range: a year of creation days up to as-of, inclusive
SECTIONS = {"fit": "Fit — every criterion set must hold", "fast_track": "Fast tracks",
            "exclude": "Never a quality lead"}


def when(moment: datetime) -> str:
    """An effective moment in words; the first version's start reads as what it means."""
    return "the beginning of the data" if moment <= edits.BEGINNING else f"{moment:%Y-%m-%d %H:%M} UTC"


# --- the draft ----------------------------------------------------------------------------------------


def draft_state(body: QualityDefinition, reason: str = "") -> dict[str, Any]:
    """Every draft widget's value showing `body` (by key, without the page's prefix). The reason and the
    effective date are set too: a widget whose state was only deleted keeps its old value in the browser."""
    return {**quality.draft_inputs(body), "reason": reason, "when": "as_of"}


def body_of(versions: Sequence[edits.Version], number: int) -> QualityDefinition | None:
    """The definition saved as version `number` (None: no such version, e.g. 0 before the first)."""
    return next((v.body for v in versions if v.version == number), None)


def restore_state(versions: Sequence[edits.Version], number: int) -> dict[str, Any]:
    """The draft widgets showing an earlier version, to save (or propose) again as a new version."""
    body = body_of(versions, number)
    assert body is not None
    return draft_state(body, f"Restore version {number}")


def options(inp: quality.Input, choices: quality.LeadChoices, current: Sequence[str] = ()) -> list[str]:
    """A choices input's options: fixed ones, or the data's values; values already in the draft stay
    selectable even when the data lacks them (the draft's check says so)."""
    offered = inp.options or (choices.of(inp.column) if inp.column else ())
    return list(dict.fromkeys([*offered, *current]))


def unchanged(draft: QualityDefinition | None, opened: QualityDefinition | None) -> bool:
    """The draft holds the criteria of the version it was opened on: nothing to save."""
    return draft is not None and opened is not None and draft == opened


# --- the version in force and proposals -------------------------------------------------------------------


@dataclass(frozen=True)
class InForce:
    headline: str
    detail: str
    scheduled: list[str]


def in_force(schedule: list[edits.Version], as_of: datetime) -> InForce | None:
    """The version in force at as-of and those scheduled after it, in words; None before any version."""
    v = edits.in_force_at(schedule, as_of)
    if v is None:
        return None
    return InForce(
        headline=f"In force as of {as_of:%Y-%m-%d %H:%M} UTC — version {v.version}: {quality.describe(v.body)}",
        detail=(f"Applies to leads created from {when(v.effective_from)} · saved by {v.saved_by} on "
                f"{v.saved_at:%Y-%m-%d} · {v.reason}"),
        scheduled=[f"Scheduled: version {x.version} applies to leads created from {when(x.effective_from)}: "
                   f"{quality.describe(x.body)}" for x in schedule if x.effective_from > as_of],
    )


@dataclass(frozen=True)
class ProposalView:
    proposal: Proposal
    summary: str
    why: str
    base: QualityDefinition | None  # the body of the version it was made on
    overtaken: str | None  # why it can no longer be approved as it is
    may_decide: bool
    may_withdraw: bool
    note: str | None  # why this person may do neither


def proposal_view(p: Proposal, versions: list[edits.Version], actor: Actor) -> ProposalView:
    """A pending proposal as the page shows it to `actor`."""
    current = versions[0] if versions else None
    overtaken = None
    if current is not None and p.base_version != current.version:
        overtaken = (f"Overtaken: version {current.version} was saved after this proposal was made on version "
                     f"{p.base_version}, so it can no longer be approved as it is. Reject it, or withdraw it "
                     "and propose again from the current version.")
    cannot_decide, cannot_withdraw = edits.refusal(actor, "decide", p), edits.refusal(actor, "withdraw", p)
    return ProposalView(
        proposal=p,
        summary=(f"{p.proposed_by} ({p.proposed_team}) proposes, for leads created from {when(p.effective_from)}: "
                 f"{quality.describe(p.body)}"),
        why=f"Why: {p.reason} · proposed {p.proposed_at:%Y-%m-%d %H:%M} UTC on version {p.base_version}",
        base=body_of(versions, p.base_version),
        overtaken=overtaken,
        may_decide=cannot_decide is None,
        may_withdraw=cannot_decide is not None and cannot_withdraw is None,
        note=cannot_decide,
    )


# --- back-test ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayRange:
    first: date  # the earliest day that may be picked
    last: date
    default: tuple[date, date]


def backtest_days(first_created: datetime | None, as_of: datetime) -> DayRange:
    """Creation days the back-test may cover: from the first lead to as-of; by default the trailing year."""
    last = as_of.date()
    first = min((first_created or as_of).date(), last)
    return DayRange(first, last, (max(first, last - timedelta(days=TRAILING_DAYS)), last))


def backtest_bounds(picked: Any) -> tuple[datetime, datetime] | None:
    """The picked days as [start, end) moments; None while only the first day is picked."""
    if not isinstance(picked, tuple) or len(picked) != 2:
        return None
    return datetime.combine(picked[0], time()), datetime.combine(picked[1] + timedelta(days=1), time())


def backtest_cards(bt: Backtest) -> list[tuple[str, Any, str]]:
    """(measure, the draft's value, the version in force's value in words) for each card."""
    assert bt.draft is not None and bt.in_force is not None
    name = bt.in_force_name
    cards: list[tuple[str, Any, str]] = [
        (measure, getattr(bt.draft, attr), f"{name}: {show(measure, getattr(bt.in_force, attr))}")
        for measure, attr in (("backtest_draft_quality_leads", "leads"), ("backtest_draft_share", "share"),
                              ("backtest_draft_won_rate", "won_rate"))
    ]
    cards.append(("backtest_missed_won_deals", bt.missed_won_deals,
                  f"{show('backtest_missed_won_revenue', bt.missed_won_revenue)} won revenue"))
    return cards


def backtest_caption(bt: Backtest, first: date, last: date) -> str:
    return (
        f"{bt.leads:,} leads created {first:%Y-%m-%d} – {last:%Y-%m-%d}, both definitions applied to all of "
        f"them. The draft newly qualifies {bt.newly_qualified:,} and newly excludes {bt.newly_excluded:,}; it "
        f"would catch {show('backtest_won_deals', bt.caught_won_deals)} won deals "
        f"({show('backtest_won_revenue', bt.caught_won_revenue)}) the version in force misses. "
        "Recent leads have had less time to convert."
    )


# --- saving or proposing --------------------------------------------------------------------------------


def read_only_note(actor: Actor, joint: bool) -> str | None:
    """Why `actor` can only read and back-test, or None when they may change the definition."""
    action = "propose" if joint else KIND
    if edits.may(actor, action):
        return None
    return f"{actor.name} ({actor.team}) can read and back-test the definition; {edits.who_may(action)} change it."


def effective_days(versions: Sequence[edits.Version], first_created: datetime | None,
                   as_of: datetime) -> tuple[date, date]:
    """(earliest, default) day a version may be dated from: no earlier than the latest version's start (the
    write path refuses that) or, while only the first version exists (it starts at the beginning), the
    first lead's day; by default as-of's day."""
    latest_from = max((v.effective_from for v in versions), default=edits.BEGINNING)
    earliest = latest_from.date() if latest_from > edits.BEGINNING else (first_created or as_of).date()
    return earliest, max(as_of.date(), earliest)


def effective_from(mode: str, day: date | None, as_of: datetime) -> datetime:
    """"as_of": from the data's present; "date": from 00:00 UTC of `day`."""
    return as_of if mode != "date" or day is None else datetime.combine(day, time())


def is_backdated(draft: QualityDefinition | None, start: datetime, as_of: datetime) -> bool:
    """A valid draft dated before as-of would re-judge leads already created: the page says how many."""
    return draft is not None and start < as_of


def backdated_warning(r: Rejudged, start: datetime) -> str:
    return (f"Back-dated: the {r.leads:,} leads already created since {start:%Y-%m-%d %H:%M} UTC would be judged "
            f"by this version — {r.gained:,} become quality leads and {r.lost:,} stop being ones. Leads created "
            "before keep their verdict.")


def approval_caption(actor: Actor) -> str:
    return (f"Takes effect when someone from {' or '.join(edits.APPROVERS[actor.team])} approves it. "
            "The version in force stays until then.")


def submit_label(joint: bool, current: edits.Version | None) -> str:
    return "Propose for sign-off" if joint else f"Save as version {(current.version if current else 0) + 1}"


# --- writes, as the page reports them ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What the page says after a write. ok: `message` is the next run's flash, and with `restart` the draft
    starts again from `restart_from`; not ok: `message` is an error, or `conflict` shows their values."""

    ok: bool
    message: str
    restart: bool = False
    restart_from: edits.Version | None = None
    conflict: edits.Conflict | None = None


def submit(con: duckdb.DuckDBPyConnection, draft: QualityDefinition, *, joint: bool, actor: Actor, reason: str,
           opened: int, current: edits.Version | None, start: datetime) -> Outcome:
    """Propose the draft (joint sign-off) or save it, against the version the draft was opened on."""
    try:
        if joint:
            edits.propose(con, KIND, SUBJECT, draft, actor=actor, reason=reason, base_version=opened,
                          effective_from=start)
            return Outcome(True, f"Proposed: waiting for {' or '.join(edits.APPROVERS[actor.team])} to approve. "
                                 "The version in force is unchanged until then.", restart=True, restart_from=current)
        saved = edits.save(con, KIND, SUBJECT, draft, actor=actor, reason=reason, expected_version=opened,
                           effective_from=start)
    except edits.Conflict as conflict:
        return Outcome(False, str(conflict), conflict=conflict)
    except edits.EditRefused as refused:
        return Outcome(False, str(refused))
    return Outcome(True, f"Saved version {saved.version}: it applies to leads created from {when(saved.effective_from)}.",
                   restart=True, restart_from=saved)


def approve(con: duckdb.DuckDBPyConnection, p: Proposal, *, actor: Actor, note: str) -> Outcome:
    try:
        saved = edits.approve(con, p.proposal_id, actor=actor, note=note)
    except edits.Conflict as conflict:
        who = (f"{conflict.current.saved_by} saved version {conflict.current.version}" if conflict.current
               else "someone saved another version")
        return Outcome(False, f"Not approved: {who} after this proposal was made on version {p.base_version}. "
                              "Nothing was changed.")
    except edits.EditRefused as refused:
        return Outcome(False, str(refused))
    return Outcome(True, f"Approved: version {saved.version} is saved and applies to leads created from "
                         f"{when(saved.effective_from)}. The draft now starts from it.", restart=True, restart_from=saved)


def reject(con: duckdb.DuckDBPyConnection, p: Proposal, *, actor: Actor, note: str) -> Outcome:
    try:
        edits.reject(con, p.proposal_id, actor=actor, note=note)
    except edits.EditRefused as refused:
        return Outcome(False, str(refused))
    return Outcome(True, f"Rejected {p.proposed_by}'s proposal.")


def withdraw(con: duckdb.DuckDBPyConnection, p: Proposal, *, actor: Actor) -> Outcome:
    try:
        edits.withdraw(con, p.proposal_id, actor=actor)
    except edits.EditRefused as refused:
        return Outcome(False, str(refused))
    return Outcome(True, "Proposal withdrawn.")


def draft_values(state: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The definition's fields from the draft widgets' state (keys `prefix + input key`)."""
    return quality.draft_body({inp.key: state[prefix + inp.key] for c in quality.CRITERIA for inp in c.inputs})
