"""Unit tier: joint sign-off of the quality-lead definition through the one write path (core.edits) —
propose, approve, reject, withdraw, rights, stale proposals, approval in one transaction, concurrent
approvals and saves, and that nothing counts differently until the other team approves.

The tiny world (tests/fixtures/tiny.sql) as of 2026-08-15 12:00: 5 quality leads in 2026-Q3 under
version 1 (L1 80, L2 demo, L3 90, L4 70, L6 CRM flag), as derived in tests/test_metrics.py.
"""
from __future__ import annotations

import threading
from datetime import datetime

import pytest

from conftest import AS_OF
from core import edits, signoff
from core.db import data_version, domain_versions
from core.metrics.funnel import funnel
from core.models import Actor, QualityDefinition
from core.periods import parse_period

MARKETING = Actor(name="Mia Kent", team="marketing")
MARKETING_2 = Actor(name="Max Moor", team="marketing")
SALES = Actor(name="Sal Ortiz", team="sales")
LEAD = Actor(name="Lee Ader", team="leadership")
VIEWER = Actor(name="Vic Board", team="viewer")
Q3 = parse_period("2026-Q3")
STRICT = QualityDefinition(min_score=85, demo_fast_track=False, crm_qualified=False)
FROM_JULY_3 = datetime(2026, 7, 3)
KIND = "quality_definition"
# Under STRICT from 07-03: L1 (07-01) and L2 (07-02) keep version 1's verdict; from 07-03 only L3 (90)
# qualifies (L4 70, L6 CRM flag no longer) → 3 quality leads in Q3 instead of 5.


def propose(con, actor=MARKETING, body=STRICT, base_version=1, effective_from=FROM_JULY_3, reason="fewer, better leads"):
    return edits.propose(con, KIND, edits.POLICY_SUBJECT, body, actor=actor, reason=reason, base_version=base_version,
                         effective_from=effective_from, now=AS_OF)


def test_marketing_proposes_sales_approves(tiny):
    before = data_version(tiny)
    p = propose(tiny)
    assert data_version(tiny) == before + 1  # cached figures see the proposal at once
    assert [x.proposal_id for x in signoff.pending_proposals(tiny)] == [p.proposal_id]
    assert (p.status, p.proposed_by, p.proposed_team, p.base_version) == ("pending", "Mia Kent", "marketing", 1)
    # pending: nothing counts differently yet
    assert edits.latest(tiny, "quality_definition", edits.POLICY_SUBJECT).version == 1
    assert funnel(tiny, Q3, AS_OF).quality_leads == 5

    v = edits.approve(tiny, p.proposal_id, actor=SALES, note="agreed in the Monday meeting", now=AS_OF)
    assert (v.version, v.effective_from, v.body, v.saved_by) == (2, FROM_JULY_3, STRICT, "Mia Kent")
    assert v.reason == ("fewer, better leads — proposed by Mia Kent (marketing), approved by Sal Ortiz (sales) "
                        "on 2026-08-15: agreed in the Monday meeting")
    assert funnel(tiny, Q3, AS_OF).quality_leads == 3
    assert signoff.pending_proposals(tiny) == []
    decided = signoff.get(tiny, p.proposal_id)
    assert (decided.status, decided.decided_by, decided.decided_at, decided.decision_note) == (
        "approved", "Sal Ortiz (sales)", AS_OF, "agreed in the Monday meeting")
    assert [x.proposal_id for x in signoff.decided_proposals(tiny)] == [p.proposal_id]


def test_proposing_team_cannot_approve_its_own(tiny):
    p = propose(tiny)
    for actor in (MARKETING, MARKETING_2):
        with pytest.raises(edits.EditRefused, match="the team that proposed this change: sales or leadership must approve"):
            edits.approve(tiny, p.proposal_id, actor=actor)
    with pytest.raises(edits.EditRefused, match="may not approve"):
        edits.approve(tiny, p.proposal_id, actor=VIEWER)
    assert signoff.get(tiny, p.proposal_id).status == "pending"
    assert edits.latest(tiny, "quality_definition", edits.POLICY_SUBJECT).version == 1


def test_leadership_approves_either_and_needs_a_team_for_its_own(tiny):
    p = propose(tiny, actor=SALES)
    assert edits.APPROVERS["sales"] == ("marketing", "leadership")
    assert edits.approve(tiny, p.proposal_id, actor=LEAD, now=AS_OF).version == 2
    own = propose(tiny, actor=LEAD, base_version=2, body=QualityDefinition(min_score=80))
    assert edits.APPROVERS["leadership"] == ("sales", "marketing")
    with pytest.raises(edits.EditRefused, match="sales or marketing must approve"):
        edits.approve(tiny, own.proposal_id, actor=Actor(name="Other Boss", team="leadership"))
    assert edits.approve(tiny, own.proposal_id, actor=MARKETING, now=AS_OF).version == 3


def test_stale_proposal_is_a_conflict_and_stays_pending(tiny):
    first = propose(tiny, reason="first")
    second = propose(tiny, body=QualityDefinition(min_score=75), reason="second")
    edits.approve(tiny, first.proposal_id, actor=SALES, now=AS_OF)
    with pytest.raises(edits.Conflict) as err:
        edits.approve(tiny, second.proposal_id, actor=SALES, now=AS_OF)
    assert (err.value.current.version, err.value.expected_version) == (2, 1)
    assert [x.proposal_id for x in signoff.pending_proposals(tiny)] == [second.proposal_id]
    assert edits.latest(tiny, "quality_definition", edits.POLICY_SUBJECT).body == STRICT  # not overwritten
    # the stale proposal can still be rejected
    edits.reject(tiny, second.proposal_id, actor=SALES, note="overtaken by version 2", now=AS_OF)
    assert signoff.pending_proposals(tiny) == []


def test_proposing_on_a_stale_version_is_a_conflict(tiny):
    edits.save(tiny, "quality_definition", edits.POLICY_SUBJECT, QualityDefinition(min_score=70), actor=SALES,
               reason="direct", expected_version=1, effective_from=FROM_JULY_3, now=AS_OF)
    with pytest.raises(edits.Conflict):
        propose(tiny, base_version=1)
    assert signoff.pending_proposals(tiny) == []


def test_reject_needs_a_reason_and_ends_the_proposal(tiny):
    p = propose(tiny)
    with pytest.raises(edits.EditRefused, match="Say why you reject"):
        edits.reject(tiny, p.proposal_id, actor=SALES, note="  ")
    with pytest.raises(edits.EditRefused, match="the team that proposed"):
        edits.reject(tiny, p.proposal_id, actor=MARKETING, note="no")
    r = edits.reject(tiny, p.proposal_id, actor=SALES, note="would drop the CRM's MQLs", now=AS_OF)
    assert (r.status, r.decided_by, r.decision_note) == ("rejected", "Sal Ortiz (sales)", "would drop the CRM's MQLs")
    with pytest.raises(edits.EditRefused, match="already rejected"):
        edits.approve(tiny, p.proposal_id, actor=SALES)
    assert edits.latest(tiny, "quality_definition", edits.POLICY_SUBJECT).version == 1


def test_only_the_proposing_team_withdraws(tiny):
    p = propose(tiny)
    with pytest.raises(edits.EditRefused, match="Only marketing"):
        edits.withdraw(tiny, p.proposal_id, actor=SALES)
    w = edits.withdraw(tiny, p.proposal_id, actor=MARKETING_2, now=AS_OF)
    assert (w.status, w.decided_by) == ("withdrawn", "Max Moor (marketing)")
    with pytest.raises(edits.EditRefused, match="already withdrawn"):
        edits.withdraw(tiny, p.proposal_id, actor=MARKETING)
    with pytest.raises(edits.EditRefused, match="does not exist"):
        edits.approve(tiny, "nope", actor=SALES)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"actor": VIEWER}, "may not propose"),
        ({"reason": " "}, "Say why you propose"),
        ({"body": {"industries": ["Softwear"]}}, "no lead has industry 'Softwear' \\(did you mean 'software'\\?\\)"),
        ({"body": {"employees_min": 9, "employees_max": 1}}, "contradictory"),
        ({"body": {"demo_fast_track": False, "crm_qualified": False}}, "empty"),
    ],
)
def test_bad_proposals_are_refused_and_nothing_is_stored(tiny, kwargs, message):
    before = data_version(tiny)
    with pytest.raises(edits.EditRefused, match=message):
        propose(tiny, **kwargs)
    assert signoff.pending_proposals(tiny) == [] and data_version(tiny) == before


def test_effective_date_cannot_reach_before_the_latest_version(tiny):
    edits.approve(tiny, propose(tiny).proposal_id, actor=SALES, now=AS_OF)  # version 2 from 07-03
    with pytest.raises(edits.EditRefused, match=r"before a version already saved \(the latest takes effect from 2026-07-03 00:00\)"):
        propose(tiny, base_version=2, body=QualityDefinition(min_score=50), effective_from=datetime(2026, 7, 2))
    assert propose(tiny, base_version=2, body=QualityDefinition(min_score=50), effective_from=FROM_JULY_3).status == "pending"


def test_setting_turns_joint_signoff_off(monkeypatch):
    from core.settings import get_settings

    monkeypatch.setenv("ACCORD_JOINT_SIGNOFF", "false")
    get_settings.cache_clear()
    try:
        assert signoff.joint_signoff_required() is False
    finally:
        monkeypatch.delenv("ACCORD_JOINT_SIGNOFF")
        get_settings.cache_clear()
    assert signoff.joint_signoff_required() is True


DOMAINS = ("records", "goal", "sla_policy", "quality_definition", "proposals")


def _bumped(before: tuple[int, ...], after: tuple[int, ...]) -> set[str]:
    return {name for name, a, b in zip(DOMAINS, before, after) if a != b}


def test_writes_bump_only_the_domains_they_change(tiny):
    before = domain_versions(tiny, DOMAINS)
    p = propose(tiny)
    assert _bumped(before, after := domain_versions(tiny, DOMAINS)) == {"proposals"}
    edits.approve(tiny, p.proposal_id, actor=SALES, now=AS_OF)
    assert _bumped(after, domain_versions(tiny, DOMAINS)) == {"proposals", "quality_definition"}


def _state(con) -> tuple:
    return (con.execute("SELECT count(*), max(version) FROM edit_versions WHERE kind = ?", [KIND]).fetchone(),
            con.execute("SELECT proposal_id, status, decided_by FROM proposals ORDER BY proposal_id").fetchall(),
            domain_versions(con, DOMAINS))


def test_a_failure_in_the_middle_of_approve_changes_nothing(tiny, monkeypatch):
    p = propose(tiny)
    before = _state(tiny)
    append = edits._append

    def fail_after_writing(cur, *args, **kwargs):
        append(cur, *args, **kwargs)
        # both rows are written inside the transaction when it fails
        assert cur.execute("SELECT status FROM proposals WHERE proposal_id = ?", [p.proposal_id]).fetchone() == (
            "approved",)
        assert cur.execute("SELECT max(version) FROM edit_versions WHERE kind = ?", [KIND]).fetchone() == (2,)
        raise RuntimeError("disk full")

    monkeypatch.setattr(edits, "_append", fail_after_writing)
    with pytest.raises(RuntimeError, match="disk full"):
        edits.approve(tiny, p.proposal_id, actor=SALES, now=AS_OF)
    assert _state(tiny) == before  # no version 2, the proposal still pending, no cache invalidated
    monkeypatch.undo()
    assert edits.approve(tiny, p.proposal_id, actor=SALES, now=AS_OF).version == 2


def _at_once(*writes) -> list:
    """Run the writes in threads released together; each result is a Version, a Proposal or the exception."""
    barrier = threading.Barrier(len(writes))
    results: list = [None] * len(writes)

    def run(i, write):
        barrier.wait()
        try:
            results[i] = write()
        except (edits.Conflict, edits.EditRefused) as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(writes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return results


def test_approving_and_saving_at_once_exactly_one_wins(tiny):
    p = propose(tiny)
    direct = QualityDefinition(min_score=70)
    approved, saved = _at_once(
        lambda: edits.approve(tiny, p.proposal_id, actor=SALES, now=AS_OF),
        lambda: edits.save(tiny, KIND, edits.POLICY_SUBJECT, direct, actor=LEAD, reason="direct", expected_version=1,
                           effective_from=FROM_JULY_3, now=AS_OF),
    )
    assert sorted(type(r).__name__ for r in (approved, saved)) == ["Conflict", "Version"]
    history = edits.history(tiny, KIND, edits.POLICY_SUBJECT)
    assert [v.version for v in history] == [2, 1]
    if isinstance(approved, edits.Version):  # the approval won: its body is version 2, the save changed nothing
        assert (history[0].body, signoff.get(tiny, p.proposal_id).status) == (STRICT, "approved")
    else:  # the save won: the proposal is overtaken and still pending
        assert (history[0].body, signoff.get(tiny, p.proposal_id).status) == (direct, "pending")


def test_two_approvers_at_once_exactly_one_decides(tiny):
    p = propose(tiny)
    results = _at_once(lambda: edits.approve(tiny, p.proposal_id, actor=SALES, now=AS_OF),
                       lambda: edits.approve(tiny, p.proposal_id, actor=LEAD, now=AS_OF))
    [won] = [r for r in results if isinstance(r, edits.Version)]
    [lost] = [r for r in results if not isinstance(r, edits.Version)]
    # refused before its transaction (already approved) or inside it (decided a moment ago)
    assert isinstance(lost, edits.EditRefused) and ("already approved" in str(lost) or "decided" in str(lost))
    assert [v.version for v in edits.history(tiny, KIND, edits.POLICY_SUBJECT)] == [2, 1] and won.version == 2
    decided = signoff.get(tiny, p.proposal_id)
    assert decided.status == "approved" and decided.decided_by in ("Sal Ortiz (sales)", "Lee Ader (leadership)")

