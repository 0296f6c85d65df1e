"""Unit tier: joint sign-off of the quality-lead definition — propose, approve, reject, withdraw, rights,
stale proposals, and that nothing counts differently until the other team approves.

The tiny world (tests/fixtures/tiny.sql) as of 2026-08-15 12:00: 5 quality leads in 2026-Q3 under
version 1 (L1 80, L2 demo, L3 90, L4 70, L6 CRM flag), as derived in tests/test_metrics.py.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from conftest import AS_OF
from core import edits, signoff
from core.db import data_version
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
# Under STRICT from 07-03: L1 (07-01) and L2 (07-02) keep version 1's verdict; from 07-03 only L3 (90)
# qualifies (L4 70, L6 CRM flag no longer) → 3 quality leads in Q3 instead of 5.


def propose(con, actor=MARKETING, body=STRICT, base_version=1, effective_from=FROM_JULY_3, reason="fewer, better leads"):
    return signoff.propose(con, body, actor=actor, reason=reason, base_version=base_version,
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

    v = signoff.approve(tiny, p.proposal_id, actor=SALES, note="agreed in the Monday meeting", now=AS_OF)
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
            signoff.approve(tiny, p.proposal_id, actor=actor)
    with pytest.raises(edits.EditRefused, match="may not approve"):
        signoff.approve(tiny, p.proposal_id, actor=VIEWER)
    assert signoff.get(tiny, p.proposal_id).status == "pending"
    assert edits.latest(tiny, "quality_definition", edits.POLICY_SUBJECT).version == 1


def test_leadership_approves_either_and_needs_a_team_for_its_own(tiny):
    p = propose(tiny, actor=SALES)
    assert signoff.approver_teams("sales") == ("marketing", "leadership")
    assert signoff.approve(tiny, p.proposal_id, actor=LEAD, now=AS_OF).version == 2
    own = propose(tiny, actor=LEAD, base_version=2, body=QualityDefinition(min_score=80))
    assert signoff.approver_teams("leadership") == ("sales", "marketing")
    with pytest.raises(edits.EditRefused, match="sales or marketing must approve"):
        signoff.approve(tiny, own.proposal_id, actor=Actor(name="Other Boss", team="leadership"))
    assert signoff.approve(tiny, own.proposal_id, actor=MARKETING, now=AS_OF).version == 3


def test_stale_proposal_is_a_conflict_and_stays_pending(tiny):
    first = propose(tiny, reason="first")
    second = propose(tiny, body=QualityDefinition(min_score=75), reason="second")
    signoff.approve(tiny, first.proposal_id, actor=SALES, now=AS_OF)
    with pytest.raises(edits.Conflict) as err:
        signoff.approve(tiny, second.proposal_id, actor=SALES, now=AS_OF)
    assert (err.value.current.version, err.value.expected_version) == (2, 1)
    assert [x.proposal_id for x in signoff.pending_proposals(tiny)] == [second.proposal_id]
    assert edits.latest(tiny, "quality_definition", edits.POLICY_SUBJECT).body == STRICT  # not overwritten
    # the stale proposal can still be rejected
    signoff.reject(tiny, second.proposal_id, actor=SALES, note="overtaken by version 2", now=AS_OF)
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
        signoff.reject(tiny, p.proposal_id, actor=SALES, note="  ")
    with pytest.raises(edits.EditRefused, match="the team that proposed"):
        signoff.reject(tiny, p.proposal_id, actor=MARKETING, note="no")
    r = signoff.reject(tiny, p.proposal_id, actor=SALES, note="would drop the CRM's MQLs", now=AS_OF)
    assert (r.status, r.decided_by, r.decision_note) == ("rejected", "Sal Ortiz (sales)", "would drop the CRM's MQLs")
    with pytest.raises(edits.EditRefused, match="already rejected"):
        signoff.approve(tiny, p.proposal_id, actor=SALES)
    assert edits.latest(tiny, "quality_definition", edits.POLICY_SUBJECT).version == 1


def test_only_the_proposing_team_withdraws(tiny):
    p = propose(tiny)
    with pytest.raises(edits.EditRefused, match="Only marketing"):
        signoff.withdraw(tiny, p.proposal_id, actor=SALES)
    w = signoff.withdraw(tiny, p.proposal_id, actor=MARKETING_2, now=AS_OF)
    assert (w.status, w.decided_by) == ("withdrawn", "Max Moor (marketing)")
    with pytest.raises(edits.EditRefused, match="already withdrawn"):
        signoff.withdraw(tiny, p.proposal_id, actor=MARKETING)
    with pytest.raises(edits.EditRefused, match="does not exist"):
        signoff.approve(tiny, "nope", actor=SALES)


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
    signoff.approve(tiny, propose(tiny).proposal_id, actor=SALES, now=AS_OF)  # version 2 from 07-03
    with pytest.raises(edits.EditRefused, match="cannot take effect before 2026-07-03 00:00"):
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
