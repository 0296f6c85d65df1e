"""Excluding a flagged record from the figures, and restoring it, through the one write path (issue 12,
item 2): hand-made deals whose answers can be worked out by hand, exact values."""
from __future__ import annotations

from datetime import datetime

import pytest

from core import edits, exclusions
from core.db import domain_versions, transaction
from core.ingest.profile import profile
from core.metrics import funnel, pipeline
from core.models import Actor
from core.periods import parse_period

Q3 = parse_period("2026-Q3")
AS_OF = datetime(2026, 8, 15, 12, 0)
EDITOR = Actor(name="Sam Seller", team="sales")
VIEWER = Actor(name="Vi Ewer", team="viewer", role="viewer")


@pytest.fixture
def world(empty):
    with transaction(empty, ("records",)) as cur:
        cur.execute("""INSERT INTO deals (deal_id, lead_id, created_at, amount, stage, expected_close_on, closed_at)
            VALUES ('X', NULL, '2025-12-01', 10, 'closed_lost', NULL, '2025-12-10'),
                   ('A', 'L1', '2026-07-01', 100, 'closed_won', NULL, '2026-07-10'),
                   ('B', NULL, '2026-07-01', 200, 'closed_won', NULL, '2026-07-11'),
                   ('C', NULL, '2026-07-01', 150, 'closed_won', NULL, '2026-07-12'),
                   ('BIG', NULL, '2026-07-01', 600000, 'closed_won', NULL, '2026-07-13'),
                   ('ONE', NULL, '2026-07-01', 1, 'closed_won', NULL, '2026-07-14')""")
        cur.execute("""INSERT INTO leads (lead_id, created_at, source, status) VALUES
            ('L1', '2026-07-02', 'web', 'converted'), ('L2', '2026-07-03', 'web', 'open')""")
    return empty


def test_flagged_deals_are_listed_with_why_and_nothing_is_excluded_by_default(world):
    flagged = exclusions.flagged_records(world)
    # won amounts 100, 200, 150, 600,000, 1: median 150; 600,000 is 4,000× it, 1 is 150× below it
    assert flagged[["record_id", "why", "counted"]].to_dict("records") == [
        {"record_id": "BIG", "why": "amount 4,000× above the median won deal (150)", "counted": "yes"},
        {"record_id": "ONE", "why": "amount 150× below the median won deal (150)", "counted": "yes"},
    ]
    assert pipeline.won_revenue(world, Q3, AS_OF)[0] == 600_451.0


def test_excluding_takes_a_deal_out_of_every_figure_and_restoring_brings_it_back(world):
    before = domain_versions(world, ("records", "goal"))
    v1 = exclusions.decide(world, exclusions.record_state(world, "deals", "BIG"), actor=EDITOR,
                           reason="600M is a typo for 600k")
    assert (v1.kind, v1.subject, v1.version, v1.saved_by) == ("exclusion", "deals:BIG", 1, "Sam Seller")
    assert domain_versions(world, ("records", "goal")) == (before[0] + 1, before[1])  # records' caches only
    value, won, notes, _ = pipeline.won_revenue(world, Q3, AS_OF)
    assert (value, won) == (451.0, 4)  # 100 + 200 + 150 + 1
    codes = {f.code: f for f in profile(world)}
    assert "won_revenue_outlier" not in codes
    assert codes["excluded_deals"].text == ("1 deal is excluded from the figures by an editor (BIG); Import data › "
                                            "Flagged records has who and why.")
    assert exclusions.flagged_records(world).iloc[0][["record_id", "counted"]].tolist() == ["BIG", "no: excluded"]

    state = exclusions.record_state(world, "deals", "BIG")
    assert (state.excluded, state.version) == (True, 1)
    exclusions.decide(world, state, actor=EDITOR, reason="checked with the owner: it is real")
    assert pipeline.won_revenue(world, Q3, AS_OF)[0] == 600_451.0
    assert exclusions.decisions(world)[["record_id", "decision", "version", "by", "reason"]].to_dict("records") == [
        {"record_id": "BIG", "decision": "restored", "version": 2, "by": "Sam Seller",
         "reason": "checked with the owner: it is real"},
        {"record_id": "BIG", "decision": "excluded", "version": 1, "by": "Sam Seller",
         "reason": "600M is a typo for 600k"},
    ]


def test_an_excluded_lead_leaves_the_lead_figures(world):
    assert funnel.funnel(world, Q3, AS_OF).leads == 2
    exclusions.decide(world, exclusions.record_state(world, "leads", "L2"), actor=EDITOR, reason="a test lead")
    assert funnel.funnel(world, Q3, AS_OF).leads == 1


def test_a_stale_decision_is_a_conflict_and_changes_nothing(world):
    seen = exclusions.record_state(world, "deals", "BIG")
    exclusions.decide(world, seen, actor=EDITOR, reason="typo")
    with pytest.raises(edits.Conflict):
        exclusions.decide(world, seen, actor=Actor(name="Mo", team="marketing"), reason="also a typo")
    assert len(exclusions.decisions(world)) == 1


@pytest.mark.parametrize("table, record_id, actor, reason, message", [
    ("deals", "BIG", VIEWER, "typo", "Vi Ewer (viewer) may not exclude records from the figures or restore them."),
    ("deals", "BIG", EDITOR, "  ", "Say why you are making this change"),
    ("deals", "NOPE", EDITOR, "typo", "There is no deal NOPE in the data: check the id."),
])
def test_refused_decisions_change_nothing(world, table, record_id, actor, reason, message):
    with pytest.raises(edits.EditRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        exclusions.decide(world, exclusions.record_state(world, table, record_id), actor=actor, reason=reason)
    assert world.execute("SELECT count(*) FROM exclusions").fetchone() == (0,)
    assert exclusions.decisions(world).empty
    assert pipeline.won_revenue(world, Q3, AS_OF)[0] == 600_451.0


def test_an_excluded_record_stays_listed_for_restoring_when_no_longer_flagged(world):
    exclusions.decide(world, exclusions.record_state(world, "deals", "B"), actor=EDITOR, reason="a duplicate of A")
    rows = exclusions.flagged_records(world)[["record_id", "why", "counted"]].to_dict("records")
    assert rows[0] == {"record_id": "B", "why": "excluded by an editor (not flagged)", "counted": "no: excluded"}
