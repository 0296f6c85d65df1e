"""Unit tier: sessions at the same moment on the app's ONE shared DuckDB connection (issue 11).

Streamlit runs every browser session in its own thread and the app keeps one connection per process
(ui/data.py); a DuckDB connection is not thread-safe, so every unit of work must take its own cursor.
Here threads released together by a barrier go through the real write path (core.edits) and the real
read paths (ui.data.cached, and a cursor per call) on one connection opened by core.store.open_store:

- races on one pending proposal, 200 trials each: approve vs approve, approve vs withdraw, approve vs
  reject. Exactly one call succeeds and the other is told (EditRefused or Conflict); the proposal's status
  is the winner's; the definition in force is the proposal's body iff the approval won, one version per
  approval. Every trial proposes a body of its own, so a mix-up between proposals would show. Half the
  trials run free; in the other half both calls have read the proposal as pending and passed their rights
  check before either transaction starts ("lockstep"), so the state check inside the transaction decides.
- concurrent reads of two different proposals while writes happen: every read returns what it asked for.
- concurrent saves of the same goal against the same expected version: one wins, the others conflict.
- every place the app hands its shared connection to core (ui.widgets.submit_edit, the Quality page's
  submit/approve/reject/withdraw, the Import page's import_as), refusals included, runs no statement on
  that connection itself: each unit of work takes a cursor of its own (the audit of issue 11, as a test).

Each test prints its counts (run with -s to see them); the assertion messages carry them too.
"""
from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from conftest import AS_OF
from core import edits, quality_editor, signoff
from core.ingest import SourceFile, import_as
from core.models import Actor, GoalBody, QualityDefinition, SlaPolicy

MARKETING = Actor(name="Mia Kent", team="marketing")
SALES = Actor(name="Sal Ortiz", team="sales")
LEAD = Actor(name="Lee Ader", team="leadership")
VIEWER = Actor(name="Vic Board", team="viewer")
KIND = "quality_definition"
SUBJECT = edits.POLICY_SUBJECT
FROM_JULY_3 = datetime(2026, 7, 3)
TRIALS = 200  # per race
DEADLINE = 60.0  # seconds any barrier or join may wait before the test fails instead of hanging
TOLD = (edits.EditRefused, edits.Conflict)


# --- running calls at the same moment ----------------------------------------------------------------------

_lockstep = threading.local()  # the barrier a racing thread waits at once its rights check has passed


@pytest.fixture
def lockstep(monkeypatch):
    """Let a race hold each call right after its pre-transaction reads (the proposal, read as pending, and
    the rights check on it) until every other call of the race got there too."""
    check_right = edits.check_right

    def checked_then_wait(*args, **kwargs):
        try:
            return check_right(*args, **kwargs)
        finally:
            barrier = getattr(_lockstep, "barrier", None)
            if barrier is not None:
                barrier.wait()

    monkeypatch.setattr(edits, "check_right", checked_then_wait)


@dataclass
class Outcome:
    ok: bool
    value: Any  # what the call returned, or the exception it raised


def race(calls: list[Callable[[], Any]], *, lockstep: bool = False) -> list[Outcome]:
    """Run the calls in threads released together. Told (EditRefused, Conflict) is an outcome; any other
    exception is re-raised here, after every thread ended."""
    start = threading.Barrier(len(calls), timeout=DEADLINE)
    checked = threading.Barrier(len(calls), timeout=DEADLINE) if lockstep else None
    outcomes: list[Outcome | None] = [None] * len(calls)
    crashed: list[BaseException] = []

    def run(i: int, call: Callable[[], Any]) -> None:
        _lockstep.barrier = checked
        try:
            start.wait()
            outcomes[i] = Outcome(True, call())
        except TOLD as exc:
            outcomes[i] = Outcome(False, exc)
        except BaseException as exc:  # noqa: BLE001 - re-raised below, in the test's thread
            crashed.append(exc)
        finally:
            _lockstep.barrier = None

    threads = [threading.Thread(target=run, args=(i, c), daemon=True) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=DEADLINE)
    assert not any(t.is_alive() for t in threads), "a racing call did not finish within the deadline"
    if crashed:
        raise crashed[0]
    return [o for o in outcomes if o is not None]


# --- the three races on a pending proposal -----------------------------------------------------------------


def body_for(race_no: int, trial: int) -> QualityDefinition:
    """A definition of its own for every trial of every race (never version 1's), so bodies tell proposals apart."""
    return QualityDefinition(min_score=(trial * 7 + race_no) % 101, employees_min=race_no * 1000 + trial + 1,
                             demo_fast_track=trial % 2 == 0)


def approve(actor: Actor) -> Callable[[Any, str], Any]:
    return lambda con, pid: edits.approve(con, pid, actor=actor, note="race", now=AS_OF)


def withdraw(actor: Actor) -> Callable[[Any, str], Any]:
    return lambda con, pid: edits.withdraw(con, pid, actor=actor, now=AS_OF)


def reject(actor: Actor) -> Callable[[Any, str], Any]:
    return lambda con, pid: edits.reject(con, pid, actor=actor, note="race", now=AS_OF)


# name: the two sides, each (call(con, proposal_id), its actor, the status it leaves when it wins)
RACES: dict[str, tuple[tuple[Callable, Actor, str], tuple[Callable, Actor, str]]] = {
    "approve-vs-approve": ((approve(SALES), SALES, "approved"), (approve(LEAD), LEAD, "approved")),
    "approve-vs-withdraw": ((approve(SALES), SALES, "approved"), (withdraw(MARKETING), MARKETING, "withdrawn")),
    "approve-vs-reject": ((approve(SALES), SALES, "approved"), (reject(LEAD), LEAD, "rejected")),
}


@pytest.mark.parametrize("name", list(RACES))
def test_racing_decisions_exactly_one_wins_and_the_approved_body_is_in_force(tiny, lockstep, name):
    race_no = list(RACES).index(name)
    sides = RACES[name]
    counts: Counter[str] = Counter()
    mismatches: list[str] = []
    approved_bodies: list[QualityDefinition] = []  # in the order the approvals won
    in_force = edits.latest(tiny, KIND, SUBJECT)
    assert in_force is not None and in_force.version == 1

    for trial in range(TRIALS):
        body = body_for(race_no, trial)
        p = edits.propose(tiny, KIND, SUBJECT, body, actor=MARKETING, reason=f"{name} trial {trial}",
                          base_version=in_force.version, effective_from=FROM_JULY_3, now=AS_OF)
        order = (0, 1) if trial % 2 == 0 else (1, 0)  # which side's thread starts first
        held = (trial // 2) % 2 == 1
        outcomes = race([lambda call=sides[i][0], pid=p.proposal_id: call(tiny, pid) for i in order], lockstep=held)
        by_side = {order[k]: outcomes[k] for k in range(2)}
        counts["lockstep" if held else "free"] += 1
        cur = tiny.cursor()
        try:
            stored = signoff.get(cur, p.proposal_id)
            latest = edits.latest(cur, KIND, SUBJECT)
        finally:
            cur.close()
        assert stored is not None and latest is not None

        won = [i for i, o in by_side.items() if o.ok]
        if len(won) == 2:
            counts["double successes"] += 1
        elif not won:
            counts["no success"] += 1
        else:
            winner = won[0]
            counts[f"won by side {winner} ({sides[winner][2]}, {sides[winner][1].name})"] += 1
            loser = by_side[1 - winner].value  # what they were told, by its first words
            counts[f"told: {type(loser).__name__} '{' '.join(str(loser).split()[:5])}…'"] += 1
        # whoever was told "success" must be what the database says
        problems = [] if len(won) == 1 else [f"{len(won)} calls succeeded"]
        approved = False
        for i in won:
            _, actor, status = sides[i]
            if stored.status != status or actor.name not in (stored.decided_by or ""):
                problems.append(f"{actor.name} was told {status} but the proposal is {stored.status} "
                                f"by {stored.decided_by}")
            if status == "approved":
                approved = True
                version = by_side[i].value
                if (version.version, version.body) != (in_force.version + 1, body):
                    problems.append(f"approve returned version {version.version} with another body")
        expected = (in_force.version + 1, body) if approved else (in_force.version, in_force.body)
        if (latest.version, latest.body) != expected:
            problems.append(f"in force: version {latest.version} "
                            f"{'with the trial body' if latest.body == body else 'with another body'}, "
                            f"expected version {expected[0]}")
        if problems:
            mismatches.append(f"trial {trial} ({'lockstep' if held else 'free'}): " + "; ".join(problems))
        if approved and len(won) == 1:
            approved_bodies.append(body)
        in_force = latest

    history = edits.history(tiny, KIND, SUBJECT)  # newest first
    summary = (f"{name}: {TRIALS} trials ({counts['free']} free, {counts['lockstep']} lockstep); "
               + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k not in ("free", "lockstep", "double successes"))
               + f"; double successes {counts['double successes']}, mismatches {len(mismatches)}; "
               f"versions {len(history)} (1 + {len(approved_bodies)} approvals)")
    print(summary)
    assert counts["double successes"] == 0 and counts["no success"] == 0, summary
    assert mismatches == [], summary + "\n" + "\n".join(mismatches[:10])
    # one version per approval, holding exactly the approved bodies in the order they won
    assert [v.version for v in history] == list(range(len(approved_bodies) + 1, 0, -1)), summary
    assert [v.body for v in reversed(history[:-1])] == approved_bodies, summary
    assert signoff.pending_proposals(tiny) == [], summary
    # and the one in force at as-of (all trials take effect from 07-03) is the last approved body
    in_force_now = edits.in_force_at(edits.in_force_schedule(tiny, KIND, SUBJECT), AS_OF)
    assert in_force_now is not None and in_force_now.body == (approved_bodies or [history[-1].body])[-1], summary


# --- concurrent reads of two proposals while writes happen -------------------------------------------------

BODY_A = QualityDefinition(min_score=85, demo_fast_track=False, crm_qualified=False)
BODY_B = QualityDefinition(min_score=40, industries=["software"])
READERS = 12
READS = 600  # per way of reading: 200 get(A), 200 get(B), 200 pending_proposals


def writer_body(k: int) -> QualityDefinition:
    return QualityDefinition(min_score=k % 101, employees_min=5000 + k)


def _read_with_cursor(con, fn, *args):
    cur = con.cursor()
    try:
        return fn(cur, *args)
    finally:
        cur.close()


@pytest.fixture
def app_cache(monkeypatch, tiny, tmp_path):
    """ui.data's cached reads pointed at the test's one shared connection (the app's _connection)."""
    from ui import data

    monkeypatch.setattr(data, "_connection", lambda path: tiny)
    monkeypatch.setattr(data, "db_path", lambda: tmp_path / "tiny.duckdb")
    data._call.clear()
    yield data
    data._call.clear()


@pytest.mark.parametrize("way", ["ui.data.cached", "cursor per call"])
def test_concurrent_reads_of_two_proposals_never_cross(tiny, app_cache, way):
    a = edits.propose(tiny, KIND, SUBJECT, BODY_A, actor=MARKETING, reason="A: fewer, better leads",
                      base_version=1, effective_from=FROM_JULY_3, now=AS_OF)
    b = edits.propose(tiny, KIND, SUBJECT, BODY_B, actor=SALES, reason="B: software counts",
                      base_version=1, effective_from=FROM_JULY_3, now=AS_OF)
    known = {a.proposal_id: (a.reason, BODY_A), b.proposal_id: (b.reason, BODY_B)}

    def expected(p: signoff.Proposal) -> tuple[str, QualityDefinition] | None:
        if p.proposal_id in known:
            return known[p.proposal_id]
        if p.reason.startswith("writer "):  # the writer's own proposals: body follows from the reason
            return p.reason, writer_body(int(p.reason.split()[1]))
        return None

    if way == "ui.data.cached":
        def read(fn, *args):
            return app_cache.cached(fn, *args)
    else:
        def read(fn, *args):
            return _read_with_cursor(tiny, fn, *args)

    tasks = [("get", a.proposal_id), ("get", b.proposal_id), ("pending", None)] * (READS // 3)
    start = threading.Barrier(READERS + 1, timeout=DEADLINE)
    writing, stop = threading.Event(), threading.Event()
    writes = Counter()
    cross: list[str] = []
    errors: list[BaseException] = []
    done: Counter[str] = Counter()
    lock = threading.Lock()

    def writer() -> None:
        k = 0
        try:
            start.wait()
            while not stop.is_set():  # propose and withdraw, so 'proposals' changes and caches go stale
                p = edits.propose(tiny, KIND, SUBJECT, writer_body(k), actor=MARKETING, reason=f"writer {k}",
                                  base_version=1, effective_from=FROM_JULY_3, now=AS_OF)
                writes["proposed"] += 1
                writing.set()
                edits.withdraw(tiny, p.proposal_id, actor=MARKETING, now=AS_OF)
                writes["withdrawn"] += 1
                k += 1
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)
        finally:
            writing.set()

    def reader(mine: list[tuple[str, str | None]]) -> None:
        try:
            start.wait()
            assert writing.wait(DEADLINE), "the writer never wrote"
            for what, pid in mine:
                if what == "get":
                    got = read(signoff.get, pid)
                    ok = got is not None and got.proposal_id == pid and (got.reason, got.body) == known[pid]
                    wrong = None if ok else f"get({known[pid][0]!r}) returned {got and got.reason!r}"
                else:
                    got = read(signoff.pending_proposals)
                    ids = [p.proposal_id for p in got]
                    off = [p.reason for p in got if p.status != "pending" or (p.reason, p.body) != expected(p)]
                    wrong = None if (a.proposal_id in ids and b.proposal_id in ids and not off) else (
                        f"pending_proposals returned {[p.reason for p in got]}")
                with lock:
                    done[what] += 1
                    if wrong:
                        cross.append(wrong)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=writer, daemon=True)] + [
        threading.Thread(target=reader, args=(tasks[r::READERS],), daemon=True) for r in range(READERS)]
    for t in threads:
        t.start()
    for t in threads[1:]:
        t.join(timeout=DEADLINE)
    stop.set()
    threads[0].join(timeout=DEADLINE)
    assert not any(t.is_alive() for t in threads), "a thread did not finish within the deadline"

    summary = (f"reads via {way}: {sum(done.values())} reads from {READERS} threads ({done['get']} get of two "
               f"proposals, {done['pending']} pending_proposals) during {writes['proposed']} proposals and "
               f"{writes['withdrawn']} withdrawals; cross-talk {len(cross)}, errors {len(errors)}")
    print(summary)
    assert errors == [], summary + f": {errors[0]!r}"
    assert cross == [], summary + "\n" + "\n".join(cross[:10])
    assert sum(done.values()) == READS and writes["proposed"] > 0, summary


# --- concurrent saves of the same goal ---------------------------------------------------------------------

SAVERS = 8
ROUNDS = 25
EDITORS = [Actor(name=f"Editor {i}", team=("sales", "marketing")[i % 2]) for i in range(SAVERS)]


def test_concurrent_saves_of_one_goal_exactly_one_wins(tiny):
    counts: Counter[str] = Counter()
    problems: list[str] = []
    current = edits.latest(tiny, "goal", "2026-Q3")
    assert current is not None and current.version == 1
    for r in range(ROUNDS):
        bodies = [GoalBody(revenue=200_000 + r * 100 + i) for i in range(SAVERS)]
        outcomes = race([
            lambda body=body, actor=actor, expected=current.version, r=r: edits.save(
                tiny, "goal", "2026-Q3", body, actor=actor, reason=f"round {r}", expected_version=expected,
                as_of=AS_OF, now=AS_OF)
            for body, actor in zip(bodies, EDITORS)])
        won = [i for i, o in enumerate(outcomes) if o.ok]
        told = Counter(type(o.value).__name__ for o in outcomes if not o.ok)
        counts["saves"] += SAVERS
        counts["won"] += len(won)
        counts.update({f"told: {k}": v for k, v in told.items()})
        latest = edits.latest(tiny, "goal", "2026-Q3")
        if len(won) != 1 or told != Counter({"Conflict": SAVERS - 1}):
            problems.append(f"round {r}: {len(won)} won, told {dict(told)}")
        elif latest is None or (latest.version, latest.body, latest.saved_by) != (
                current.version + 1, bodies[won[0]], outcomes[won[0]].value.saved_by):
            problems.append(f"round {r}: latest is not the winner's save")
        elif any(o.value.current is None or o.value.current.version != current.version + 1
                 for o in outcomes if not o.ok):
            problems.append(f"round {r}: a conflict did not show the winner's version")
        if latest is not None:
            current = latest

    history = edits.history(tiny, "goal", "2026-Q3")
    summary = (f"goal saves: {ROUNDS} rounds of {SAVERS} threads with one expected version ({counts['saves']} saves): "
               + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()) if k != "saves")
               + f"; problems {len(problems)}; history {len(history)} versions")
    print(summary)
    assert problems == [], summary + "\n" + "\n".join(problems[:10])
    assert counts["won"] == ROUNDS and [v.version for v in history] == list(range(ROUNDS + 1, 0, -1)), summary


# --- the audit as a test: core runs nothing on the shared connection itself --------------------------------


class CursorOnly:
    """The app's shared connection as core may use it from a session thread: it may take cursors (each
    unit of work its own); anything else run on it directly fails the test."""

    def __init__(self, con):
        self._con = con
        self.cursors = 0

    def cursor(self):
        self.cursors += 1
        return self._con.cursor()

    def __getattr__(self, name: str):
        raise AssertionError(f"core called .{name} on the shared connection itself, not on a cursor of its own")


LEADS_CSV = b"lead_id,created_at,source,status,score,company\nZ1,2026-08-01 10:00:00,email,open,75,Zeta\n"


def _pending(con) -> signoff.Proposal:
    return edits.propose(con, KIND, SUBJECT, BODY_A, actor=MARKETING, reason="audit", base_version=1,
                         effective_from=FROM_JULY_3, now=AS_OF)


# Each app call site that passes ui.data.connection() to core: (what the page calls, the expected result).
CALL_SITES: dict[str, Callable[[Any, Any], Any]] = {
    "ui.widgets.submit_edit -> edits.save (goal)": lambda shared, con: edits.save(
        shared, "goal", "2026-Q3", GoalBody(revenue=150_000), actor=SALES, reason="audit", expected_version=1,
        as_of=AS_OF, now=AS_OF).version == 2,
    "ui.widgets.submit_edit -> edits.save (sla policy)": lambda shared, con: edits.save(
        shared, "sla_policy", SUBJECT, SlaPolicy(response_hours=12), actor=MARKETING, reason="audit",
        expected_version=2, effective_from=FROM_JULY_3, now=AS_OF).version == 3,
    "ui.widgets.submit_edit -> edits.save, stale (Conflict)": lambda shared, con: _told(
        lambda: edits.save(shared, "goal", "2026-Q3", GoalBody(revenue=150_000), actor=SALES, reason="audit",
                           expected_version=0, as_of=AS_OF, now=AS_OF), edits.Conflict),
    "ui.widgets.submit_edit -> edits.save, by a viewer (refused)": lambda shared, con: _told(
        lambda: edits.save(shared, "goal", "2026-Q3", GoalBody(revenue=150_000), actor=VIEWER, reason="audit",
                           expected_version=1, as_of=AS_OF, now=AS_OF), edits.EditRefused),
    "pages/quality -> quality_editor.submit (propose)": lambda shared, con: quality_editor.submit(
        shared, BODY_A, joint=True, actor=MARKETING, reason="audit", opened=1,
        current=edits.latest(con, KIND, SUBJECT), start=FROM_JULY_3).ok,
    "pages/quality -> quality_editor.submit (save)": lambda shared, con: quality_editor.submit(
        shared, BODY_A, joint=False, actor=MARKETING, reason="audit", opened=1,
        current=edits.latest(con, KIND, SUBJECT), start=FROM_JULY_3).ok,
    "pages/quality -> quality_editor.approve": lambda shared, con: quality_editor.approve(
        shared, _pending(con), actor=SALES, note="audit").ok,
    "pages/quality -> quality_editor.approve, own team (refused)": lambda shared, con: not quality_editor.approve(
        shared, _pending(con), actor=Actor(name="Max Moor", team="marketing"), note="audit").ok,
    "pages/quality -> quality_editor.reject": lambda shared, con: quality_editor.reject(
        shared, _pending(con), actor=SALES, note="audit").ok,
    "pages/quality -> quality_editor.withdraw": lambda shared, con: quality_editor.withdraw(
        shared, _pending(con), actor=MARKETING).ok,
    "pages/import_data -> core.ingest.import_as": lambda shared, con: import_as(
        shared, SALES, "accord", [SourceFile("leads.csv", LEADS_CSV)], now=AS_OF).by_table["leads"].loaded == 1,
    "pages/import_data -> core.ingest.import_as, by a viewer (refused)": lambda shared, con: _told(
        lambda: import_as(shared, VIEWER, "accord", [SourceFile("leads.csv", LEADS_CSV)], now=AS_OF),
        edits.EditRefused),
}


def _told(call: Callable[[], Any], told: type[Exception]) -> bool:
    with pytest.raises(told):
        call()
    return True


@pytest.mark.parametrize("site", list(CALL_SITES))
def test_every_write_takes_its_own_cursor(tiny, site):
    shared = CursorOnly(tiny)
    assert CALL_SITES[site](shared, tiny) is True
    assert shared.cursors > 0, "the write path took no cursor"
