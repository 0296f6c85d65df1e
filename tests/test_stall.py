"""Unit tier for stall rules per stage and deals snoozed "stalled for a known reason" (issue 15, item 5):
thresholds on hand-made deals either side of each boundary, a snooze before, at and after its end, the
rights and conflicts of the write path, and every figure that counts stalls agreeing on the one rule."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from conftest import AS_OF, LEADERSHIP
from core import edits, stall_rules
from core.db import link_keys
from core.metrics import pipeline as pl
from core.models import Actor, StallRules
from core.periods import parse_period
from core.report import build_report

Q3 = parse_period("2026-Q3")
SALES = Actor(name="Sal Ortiz", team="sales")
MARKETING = Actor(name="Mia Kent", team="marketing")
VIEWER = Actor(name="Vic Board", team="viewer")

# As of 2026-08-15 12:00. Days in the current stage:
#   S1 discovery since 08-01 12:00 → 14.00 d exactly     S2 discovery since 08-01 11:00 → 14.04 d
#   S3 negotiation since 07-16 12:00 → 30.00 d exactly   S4 negotiation since 07-16 11:00 → 30.04 d
#   S5 proposal since 06-01 00:00 → 75.5 d               S6 qualification, no history: since created 07-01 → 45.5 d
#   S7 won on 08-10: not open, never stalled
WORLD = """
INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
  ('S1', NULL, 'One',   '2026-07-20 00:00', 1000, 'discovery',     '2026-09-30', NULL, NULL, NULL),
  ('S2', NULL, 'Two',   '2026-07-20 00:00', 2000, 'discovery',     '2026-09-30', NULL, NULL, NULL),
  ('S3', NULL, 'Three', '2026-07-01 00:00', 3000, 'negotiation',   '2026-09-30', NULL, NULL, NULL),
  ('S4', NULL, 'Four',  '2026-07-01 00:00', 4000, 'negotiation',   '2026-09-30', NULL, NULL, NULL),
  ('S5', NULL, 'Five',  '2026-05-01 00:00', 5000, 'proposal',      '2026-09-30', NULL, NULL, NULL),
  ('S6', NULL, 'Six',   '2026-07-01 00:00', 6000, 'qualification', '2026-09-30', NULL, NULL, NULL),
  ('S7', NULL, 'Seven', '2026-05-01 00:00', 7000, 'closed_won',    '2026-08-10', '2026-08-10 00:00', NULL, NULL);
INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES
  ('S1', 'discovery', '2026-08-01 12:00'), ('S2', 'discovery', '2026-08-01 11:00'),
  ('S3', 'discovery', '2026-07-01 00:00'), ('S3', 'negotiation', '2026-07-16 12:00'),
  ('S4', 'discovery', '2026-07-01 00:00'), ('S4', 'negotiation', '2026-07-16 11:00'),
  ('S5', 'discovery', '2026-05-01 00:00'), ('S5', 'proposal', '2026-06-01 00:00'),
  ('S7', 'discovery', '2026-05-01 00:00'), ('S7', 'closed_won', '2026-08-10 00:00');
"""


@pytest.fixture
def world(empty):
    empty.execute(WORLD)
    link_keys(empty)  # raw rows: their keys, as every write path gives them
    return empty


def stalled_ids(con, as_of=AS_OF) -> list[str]:
    return sorted(pl.stalled_deals(con, as_of, 30)["deal_id"])


def set_rules(con, days: dict[str, int], expected: int = 0, actor: Actor = SALES) -> edits.Version:
    return edits.save(con, "stall_rules", stall_rules.SUBJECT, StallRules(days=days), actor=actor,
                      reason="discovery moves fast", expected_version=expected, now=AS_OF)


def test_without_rules_every_stage_stalls_after_the_default(world):
    # more than 30 days: S4 (30.04), S5, S6; S3 at exactly 30 days is not stalled yet
    assert stalled_ids(world) == ["S4", "S5", "S6"]
    p = pl.pipeline(world, Q3, AS_OF, None, stall_days=30)
    assert (p.stalled_deals, p.snoozed_deals) == (3, 0)
    # the default moves every stage: more than 14 days → S2, S3, S4, S5, S6 (S1 at exactly 14 is not)
    assert sorted(pl.stalled_deals(world, AS_OF, 14)["deal_id"]) == ["S2", "S3", "S4", "S5", "S6"]


def test_a_rule_per_stage_and_the_default_for_the_rest(world):
    set_rules(world, {"discovery": 14, "negotiation": 60, "qualification": 50})
    # discovery > 14: S2 (14.04) yes, S1 (14.00) no; negotiation > 60: neither S3 nor S4;
    # qualification > 50: S6 (45.5) no; proposal on the default 30: S5 (75.5) yes
    assert stalled_ids(world) == ["S2", "S5"]
    p = pl.pipeline(world, Q3, AS_OF, None, stall_days=30)
    assert p.stalled_deals == 2
    records = pl.deal_records(world, Q3, AS_OF, "stalled")
    assert records.frame.set_index("deal_id")["stall_after_days"].to_dict() == {"S5": 30, "S2": 14}
    # the default (a setting) still reaches the stages without a rule: proposal at 80 lets S5 go
    assert pl.pipeline(world, Q3, AS_OF, None, stall_days=80).stalled_deals == 1  # S2 only


def test_rules_table_says_which_stage_has_a_rule():
    version = edits.Version("stall_rules", "default", 2, AS_OF, StallRules(days={"discovery": 14}), "Sal", AS_OF, "x")
    table = stall_rules.rules_table(version, 30)
    assert table.to_dict("records") == [
        {"Stage": "Discovery", "Stalled after (days)": 14, "Set by": "rule v2"},
        {"Stage": "Qualification", "Stalled after (days)": 30, "Set by": "default (30 days)"},
        {"Stage": "Proposal", "Stalled after (days)": 30, "Set by": "default (30 days)"},
        {"Stage": "Negotiation", "Stalled after (days)": 30, "Set by": "default (30 days)"}]
    # a stage left on the default is saved without a rule, so it follows the default when that changes
    assert stall_rules.rules_from_form({"discovery": 14, "proposal": 30}, 30) == StallRules(days={"discovery": 14})
    assert stall_rules.threshold_words(None, 30) == "more than 30 days"
    assert stall_rules.threshold_words(version, 30) == ("longer than its stage allows (discovery 14, qualification 30, "
                                                        "proposal 30, negotiation 30 days)")


def snooze(con, deal: str, until: date | None, *, made: datetime = datetime(2026, 8, 10), expected: int = 0,
           actor: Actor = SALES):
    return stall_rules.snooze(con, deal, until, actor=actor, reason="legal review until September",
                              expected_version=expected, as_of=made, now=made)


def test_a_snooze_holds_a_deal_out_of_the_count_until_its_date(world):
    snooze(world, "S5", date(2026, 9, 1))  # made as of 08-10, until 09-01 00:00
    p = pl.pipeline(world, Q3, AS_OF, None, stall_days=30)
    assert (p.stalled_deals, p.snoozed_deals) == (2, 1)  # S4, S6 stalled; S5 snoozed, not lost: still open
    assert p.open_deals_all == 6
    assert stalled_ids(world) == ["S4", "S6"]
    snoozed = pl.deal_records(world, Q3, AS_OF, "snoozed").frame
    assert snoozed[["deal_id", "snoozed_by", "snooze_reason"]].values.tolist() == [
        ["S5", "Sal Ortiz", "legal review until September"]]
    assert str(snoozed["snoozed_until"].iloc[0])[:10] == "2026-09-01"
    # the last minute before the end date (S1-S4 are past 30 days by then too): S5 still snoozed;
    # at 00:00 of the end date it counts again
    assert stalled_ids(world, datetime(2026, 8, 31, 23, 59)) == ["S1", "S2", "S3", "S4", "S6"]
    assert stalled_ids(world, datetime(2026, 9, 1, 0, 0)) == ["S1", "S2", "S3", "S4", "S5", "S6"]
    assert pl.pipeline(world, Q3, datetime(2026, 9, 1), None, 30).snoozed_deals == 0
    # as of 08-09, before the snooze was made (08-10), history is as it was then: S5 (69 d), S6 (39 d) and
    # S7, open in discovery since 05-01 until it was won on 08-10
    assert stalled_ids(world, datetime(2026, 8, 9)) == ["S5", "S6", "S7"]


def test_ending_a_snooze_early_counts_the_deal_again_from_then(world):
    snooze(world, "S5", date(2026, 9, 1))
    snooze(world, "S5", None, made=datetime(2026, 8, 14), expected=1)
    assert stalled_ids(world) == ["S4", "S5", "S6"]                     # as of 08-15: ended on 08-14
    assert stalled_ids(world, datetime(2026, 8, 12)) == ["S6"]  # as of 08-12: S5 still snoozed (S4: 26.5 d)
    # a snooze cannot be back-dated before one already made: it would change what an earlier as-of saw
    with pytest.raises(edits.EditRefused, match="cannot take effect before"):
        snooze(world, "S5", date(2026, 9, 1), made=datetime(2026, 8, 11), expected=2)


def test_a_snoozed_deal_under_its_threshold_is_neither_stalled_nor_snoozed(world):
    snooze(world, "S1", date(2026, 9, 1))  # S1: 14 days in discovery, under 30
    p = pl.pipeline(world, Q3, AS_OF, None, stall_days=30)
    assert (p.stalled_deals, p.snoozed_deals) == (3, 0)
    assert stall_rules.active_snoozes(world, AS_OF)["deal_id"].tolist() == ["S1"]


def test_every_stall_figure_uses_the_one_rule(world):
    set_rules(world, {"discovery": 14})
    snooze(world, "S4", date(2026, 9, 1))
    # discovery > 14: S2; S4 over 30 in negotiation but snoozed; S5, S6 over 30 → stalled S2, S5, S6
    p = pl.pipeline(world, Q3, AS_OF, None, stall_days=30)
    assert (p.stalled_deals, p.snoozed_deals) == (3, 1)
    for segment in pl.PIPELINE_DIMENSIONS:
        assert pl.pipeline_by(world, Q3, AS_OF, segment, None, 30)["stalled_deals"].sum() == 3, segment
    records = pl.deal_records(world, Q3, AS_OF, "stalled")
    assert (records.total, sorted(records.frame["deal_id"])) == (3, ["S2", "S5", "S6"])
    assert build_report(world, Q3, AS_OF, stall_days=30)["pipeline"]["stalled_deals"] == 3


def test_rights(world):
    for actor in (VIEWER, MARKETING):
        with pytest.raises(edits.EditRefused, match="may not change the stall rules"):
            set_rules(world, {"discovery": 14}, actor=actor)
        with pytest.raises(edits.EditRefused, match="may not mark a deal stalled for a known reason"):
            snooze(world, "S5", date(2026, 9, 1), actor=actor)
    assert world.execute("SELECT count(*) FROM edit_versions WHERE kind IN ('stall_rules', 'deal_snooze')"
                         ).fetchone() == (0,)
    refused = world.execute("SELECT actor, action FROM refused_writes ORDER BY actor, action").fetchall()
    assert refused == [("Mia Kent", "deal_snooze"), ("Mia Kent", "stall_rules"),
                       ("Vic Board", "deal_snooze"), ("Vic Board", "stall_rules")]
    assert set_rules(world, {"discovery": 14}, actor=LEADERSHIP).version == 1  # admins may
    assert snooze(world, "S5", date(2026, 9, 1)).saved_by == "Sal Ortiz"      # sales editors may


def test_a_stale_save_is_a_conflict_and_writes_nothing(world):
    set_rules(world, {"discovery": 14})
    with pytest.raises(edits.Conflict):
        set_rules(world, {"discovery": 10}, expected=0)
    assert stall_rules.current_rules(world).body == StallRules(days={"discovery": 14})
    snooze(world, "S5", date(2026, 9, 1))
    with pytest.raises(edits.Conflict):
        snooze(world, "S5", date(2026, 10, 1), made=datetime(2026, 8, 12), expected=0)
    assert stall_rules.snooze_version(world, "S5") == 1


def test_what_a_snooze_and_a_rule_must_say(world):
    with pytest.raises(edits.EditRefused, match="must end after 2026-08-10"):
        snooze(world, "S5", date(2026, 8, 10))
    with pytest.raises(edits.EditRefused, match="no deal S99"):
        snooze(world, "S99", date(2026, 9, 1))
    with pytest.raises(edits.EditRefused, match="Say why"):
        stall_rules.snooze(world, "S5", date(2026, 9, 1), actor=SALES, reason=" ", expected_version=0, as_of=AS_OF)
    with pytest.raises(edits.EditRefused, match="1 to 365 days"):
        edits.save(world, "stall_rules", "default", {"days": {"discovery": 0}}, actor=SALES, reason="x",
                   expected_version=0)
    with pytest.raises(edits.EditRefused, match="closed won"):
        edits.save(world, "stall_rules", "default", {"days": {"closed_won": 5}}, actor=SALES, reason="x",
                   expected_version=0)


def test_a_snooze_save_recomputes_the_cached_stalled_count(tiny_db_copy, use_db):
    from ui import data

    use_db(tiny_db_copy)
    data._call.clear()
    try:
        # the tiny world: D6 (106.5 d in discovery) and D4 (34.5 d in negotiation) are stalled
        assert data.cached(pl.pipeline, Q3, AS_OF, 100_000, 30).stalled_deals == 2
        stall_rules.snooze(data.connection(), "D4", date(2026, 9, 1), actor=SALES, reason="board sign-off",
                           expected_version=0, as_of=AS_OF, now=AS_OF)
        after = data.cached(pl.pipeline, Q3, AS_OF, 100_000, 30)
        assert (after.stalled_deals, after.snoozed_deals) == (1, 1)
        edits.save(data.connection(), "stall_rules", "default", StallRules(days={"discovery": 120}), actor=SALES,
                   reason="long discovery is normal here", expected_version=0, now=AS_OF)
        assert data.cached(pl.pipeline, Q3, AS_OF, 100_000, 30).stalled_deals == 0  # D6 106.5 < 120
    finally:
        data._call.clear()
        data._connection.clear()


def test_stall_saves_bump_the_stalls_domain_only(world):
    from core.db import DOMAINS, domain_versions

    before = dict(zip(DOMAINS, domain_versions(world)))
    set_rules(world, {"discovery": 14})
    snooze(world, "S5", date(2026, 9, 1))
    after = dict(zip(DOMAINS, domain_versions(world)))
    assert {d for d in DOMAINS if after[d] != before[d]} == {"stalls"}
    assert after["stalls"] == before["stalls"] + 2
    # what reads them says so, and nothing that counts stalls is keyed on records alone
    assert "stalls" in pl.pipeline.reads and "stalls" in pl.pipeline_by.reads
    assert "stalls" in pl.deal_records.reads and "stalls" in pl.stalled_deals.reads
