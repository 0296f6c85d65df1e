"""Unit tier: the one write path — validation, rights, optimistic concurrency, history, atomicity."""
from __future__ import annotations

from datetime import datetime

import pytest

from conftest import AS_OF
from core import edits
from core.db import data_version
from core.models import Actor, GoalBody, QualityDefinition

MARKETING = Actor(name="Mia Kent", team="marketing")
SALES = Actor(name="Sal Ortiz", team="sales")
VIEWER = Actor(name="Vic Board", team="viewer")


def test_goal_versions_and_history(empty):
    v1 = edits.save(empty, "goal", "2027-Q1", {"revenue": 100_000}, actor=MARKETING, reason="plan",
                    expected_version=0, now=AS_OF)
    v2 = edits.save(empty, "goal", "2027-Q1", GoalBody(revenue=120_000), actor=SALES, reason="board ask",
                    expected_version=1, now=AS_OF)
    assert (v1.version, v2.version) == (1, 2)
    hist = edits.history(empty, "goal", "2027-Q1")
    assert [h.version for h in hist] == [2, 1]
    assert [(h.saved_by, h.reason) for h in hist] == [("Sal Ortiz", "board ask"), ("Mia Kent", "plan")]
    assert edits.diff(hist[1].body, hist[0].body) == [("revenue", 100_000, 120_000)]


def test_two_sessions_editing_the_same_goal(empty):
    edits.save(empty, "goal", "2027-Q1", {"revenue": 100_000}, actor=MARKETING, reason="plan", expected_version=0)
    # both opened version 1; sales saves first
    edits.save(empty, "goal", "2027-Q1", {"revenue": 110_000}, actor=SALES, reason="mine", expected_version=1)
    with pytest.raises(edits.Conflict) as err:
        edits.save(empty, "goal", "2027-Q1", {"revenue": 90_000}, actor=MARKETING, reason="theirs",
                   expected_version=1)
    assert err.value.current.body.revenue == 110_000 and err.value.current.saved_by == "Sal Ortiz"
    assert "Sal Ortiz" in str(err.value)
    assert [h.body.revenue for h in edits.history(empty, "goal", "2027-Q1")] == [110_000, 100_000]


def test_creating_twice_is_a_conflict(empty):
    edits.save(empty, "goal", "2027-Q2", {"revenue": 1}, actor=SALES, reason="a", expected_version=0)
    with pytest.raises(edits.Conflict):
        edits.save(empty, "goal", "2027-Q2", {"revenue": 2}, actor=MARKETING, reason="b", expected_version=0)


@pytest.mark.parametrize(
    "body, message",
    [
        ({"revenue": -5}, "greater than 0"),
        ({"revenue": 0}, "greater than 0"),
        ({"revenue": 10, "rate_overrides": {"win_rate": 1.5}}, "win rate must be above 0 and at most 1"),
        ({"revenue": 10, "rate_overrides": {"win_rate": 0}}, "win rate must be above 0"),
        ({"revenue": 10, "surprise": 1}, "Extra inputs"),
    ],
)
def test_validation_refuses_with_plain_message_and_writes_nothing(empty, body, message):
    before = data_version(empty)
    with pytest.raises(edits.EditRefused) as err:
        edits.save(empty, "goal", "2027-Q1", body, actor=SALES, reason="x", expected_version=0)
    assert message in str(err.value)
    assert data_version(empty) == before
    assert edits.latest(empty, "goal", "2027-Q1") is None


def test_rights_are_checked_on_every_write(empty):
    with pytest.raises(edits.EditRefused, match="may not change"):
        edits.save(empty, "goal", "2027-Q1", {"revenue": 1}, actor=VIEWER, reason="x", expected_version=0)


def test_reason_is_required(empty):
    with pytest.raises(edits.EditRefused, match="why"):
        edits.save(empty, "goal", "2027-Q1", {"revenue": 1}, actor=SALES, reason="  ", expected_version=0)


def test_effective_date_cannot_reach_back(empty):
    edits.save(empty, "quality_definition", edits.POLICY_SUBJECT, QualityDefinition(min_score=70),
               actor=MARKETING, reason="v2", expected_version=1, effective_from=datetime(2026, 7, 1))
    with pytest.raises(edits.EditRefused, match="before a version already saved"):
        edits.save(empty, "quality_definition", edits.POLICY_SUBJECT, QualityDefinition(min_score=50),
                   actor=SALES, reason="v3", expected_version=2, effective_from=datetime(2026, 6, 1))
    schedule = edits.in_force_schedule(empty, "quality_definition")
    assert [v.version for v in schedule] == [1, 2]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"demo_fast_track": False, "crm_qualified": False}, "empty"),
        ({"employees_min": 500, "employees_max": 50}, "contradictory"),
        ({"industries": ["retail"], "exclude_industries": ["retail"]}, "both required and excluded"),
        ({"min_score": 150}, "less than or equal to 100"),
        ({"seniorities": ["intern"]}, "seniorities"),
    ],
)
def test_quality_definition_validation(body, message):
    with pytest.raises(ValueError, match=message):
        QualityDefinition.model_validate(body)


def test_failed_write_leaves_database_as_it_was(empty, monkeypatch):
    edits.save(empty, "goal", "2027-Q1", {"revenue": 1}, actor=SALES, reason="a", expected_version=0)
    before = empty.execute("SELECT count(*), max(version) FROM edit_versions").fetchone()
    version_before = data_version(empty)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(edits, "_max_effective", boom)
    with pytest.raises(RuntimeError):
        edits.save(empty, "quality_definition", edits.POLICY_SUBJECT, {"min_score": 70}, actor=SALES,
                   reason="b", expected_version=1)
    assert empty.execute("SELECT count(*), max(version) FROM edit_versions").fetchone() == before
    assert data_version(empty) == version_before


def test_new_database_starts_on_version_1_and_default_policy(empty):
    q = edits.latest(empty, "quality_definition", edits.POLICY_SUBJECT)
    p = edits.latest(empty, "sla_policy", edits.POLICY_SUBJECT)
    assert q.version == 1 and q.body.min_score == 60 and q.body.demo_fast_track and q.body.crm_qualified
    assert (p.body.response_hours, p.body.min_attempts, p.body.attempt_days) == (24, 3, 7)


def test_goal_for_an_ended_period_needs_the_correction_flag(empty):
    with pytest.raises(edits.EditRefused, match="ended on 2026-10-01"):
        edits.save(empty, "goal", "2026-Q3", {"revenue": 5}, actor=SALES, reason="late", expected_version=0,
                   as_of=datetime(2026, 10, 2))
    v = edits.save(empty, "goal", "2026-Q3", {"revenue": 5, "correction": True}, actor=SALES, reason="fix",
                   expected_version=0, as_of=datetime(2026, 10, 2))
    assert v.version == 1
    # judged against the data's as-of, not the wall clock: Q3 is still running on 2026-09-30
    edits.save(empty, "goal", "2026-Q3", {"revenue": 6}, actor=SALES, reason="ok", expected_version=1,
               as_of=datetime(2026, 9, 30))


def test_goals_are_per_quarter(empty):
    with pytest.raises(edits.EditRefused, match="per quarter"):
        edits.save(empty, "goal", "2027-01", {"revenue": 5}, actor=SALES, reason="x", expected_version=0)


def test_one_rights_table_for_every_action():
    assert set(edits.RIGHTS) == {"goal", "sla_policy", "quality_definition", "import", "propose", "decide", "withdraw",
                                 "access", "exclusion", "stall_rules", "deal_snooze", "rep_targets"}
    for action in edits.RIGHTS:
        assert edits.refusal(VIEWER, action) == f"Vic Board (viewer) may not {edits.RIGHTS[action].verb}."
        assert edits.refusal(SALES, action) is None or action == "access"
    assert edits.refusal(SALES, "access") == "Sal Ortiz (sales) may not change who may do what (the access map)."
    assert edits.refusal(Actor(name="Ada", team="leadership"), "access") is None  # leadership acts as admin
    assert edits.who_may("goal") == "marketing editors, sales editors or admins"
    assert edits.who_may("access") == "admins"
    assert edits.who_may("stall_rules") == edits.who_may("deal_snooze") == "sales editors or admins"


def test_a_save_is_validated_like_a_proposal(tiny):
    # one validation for every write: a value no lead holds refuses a direct save too, with the same words
    body = {"industries": ["Softwear"]}
    check = edits.check(tiny, "quality_definition", edits.POLICY_SUBJECT, body)
    assert (check.ok, check.errors) == (False, [
        "Industries: no lead has industry 'Softwear' (did you mean 'software'?). Pick values present in the data."])
    with pytest.raises(edits.EditRefused) as err:
        edits.save(tiny, "quality_definition", edits.POLICY_SUBJECT, body, actor=SALES, reason="x", expected_version=1)
    assert str(err.value) == check.errors[0]
    assert edits.latest(tiny, "quality_definition", edits.POLICY_SUBJECT).version == 1


def test_a_refused_write_is_logged_with_who_tried_and_changes_nothing(tiny):
    from core.db import data_version, domain_versions

    before = (data_version(tiny), domain_versions(tiny))
    with pytest.raises(edits.EditRefused, match="may not change the goal"):
        edits.save(tiny, "goal", "2026-Q3", GoalBody(revenue=1), actor=VIEWER, reason="forged", expected_version=1,
                   as_of=datetime(2026, 8, 15))
    assert (data_version(tiny), domain_versions(tiny)) == before
    assert edits.latest(tiny, "goal", "2026-Q3").body.revenue == 100_000
    assert tiny.execute("SELECT actor, team, action, reason FROM refused_writes").fetchall() == [
        ("Vic Board", "viewer", "goal", "Vic Board (viewer) may not change the goal.")]


def test_only_admins_change_the_access_map_and_it_is_versioned(tiny):
    from core.models import AccessMap

    body = AccessMap(rules=[{"match": "@acme.com", "role": "sales_editor"}])
    with pytest.raises(edits.EditRefused, match="may not change who may do what"):
        edits.save(tiny, "access", edits.POLICY_SUBJECT, body, actor=SALES, reason="me", expected_version=0)
    admin = Actor.signed_in("Ada Min", "ada@acme.com", "admin")
    saved = edits.save(tiny, "access", edits.POLICY_SUBJECT, body, actor=admin, reason="sales team", expected_version=0)
    assert (saved.version, saved.saved_by) == (1, "Ada Min <ada@acme.com>")
    assert edits.latest(tiny, "access", edits.POLICY_SUBJECT).body.role_of("joe@ACME.com") == "sales_editor"


def test_nobody_decides_their_own_proposal_even_after_changing_team(tiny):
    ann_marketing = Actor.signed_in("Ann", "ann@acme.com", "marketing_editor")
    proposal = edits.propose(tiny, "quality_definition", edits.POLICY_SUBJECT, QualityDefinition(min_score=70),
                             actor=ann_marketing, reason="tighter", base_version=1,
                             effective_from=datetime(2026, 8, 15))
    assert proposal.proposed_by == "Ann <ann@acme.com>"
    ann_sales = Actor.signed_in("Ann", "ann@acme.com", "sales_editor")  # an admin moved her to sales since
    with pytest.raises(edits.EditRefused, match="another person"):
        edits.approve(tiny, proposal.proposal_id, actor=ann_sales)
    assert edits.latest(tiny, "quality_definition", edits.POLICY_SUBJECT).version == 1
