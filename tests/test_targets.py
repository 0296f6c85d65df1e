"""Team and rep targets with a leaderboard (issue 15, item 4) on a hand-made team: every target, share and
attainment worked out by hand; reps add up to their team and teams to the whole."""
from __future__ import annotations

from datetime import datetime

import pytest

from core import edits
from core.db import transaction
from core.edits import EditRefused
from core.metrics.targets import rep_targets, split
from core.models import Actor, GoalBody, RepTargets
from core.periods import parse_period

Q3, AS_OF = parse_period("2026-Q3"), datetime(2026, 8, 15, 12, 0)
MANAGER = Actor(name="Sam Seller", team="sales")


@pytest.fixture
def team(empty):
    # trailing year: A1 won 100 and 200 (the 200 in Q3), A2 won 100, B1 won 400 - revenue 300 / 100 / 400,
    # deals won and created 2 / 1 / 1
    with transaction(empty, ("records",)) as cur:
        cur.execute("""INSERT INTO reps VALUES ('A1', 'Ann', 'ae-east', 'na'), ('A2', 'Abe', 'ae-east', 'na'),
                                               ('B1', 'Bea', 'ae-west', 'na')""")
        cur.execute("""INSERT INTO deals (deal_id, owner_id, created_at, amount, stage, closed_at) VALUES
            ('D1', 'A1', '2026-01-10', 100, 'closed_won', '2026-03-01'),
            ('D2', 'A1', '2026-06-10', 200, 'closed_won', '2026-07-20'),
            ('D3', 'A2', '2026-01-05', 100, 'closed_won', '2026-02-01'),
            ('D4', 'B1', '2026-02-01', 400, 'closed_won', '2026-04-01')""")
    # 1,000 at 100 a deal: 10 deals won; at a 50% win rate, 20 deals created
    edits.save(empty, "goal", "2026-Q3", GoalBody(revenue=1000, avg_deal_size=100, rate_overrides={"win_rate": 0.5}),
               actor=MANAGER, reason="plan", expected_version=0, as_of=AS_OF)
    return empty


def _by_rep(t, column):
    return dict(zip(t.reps["rep_id"], t.reps[column]))


def test_by_default_each_share_follows_the_trailing_year(team):
    t = rep_targets(team, Q3, AS_OF)
    # revenue: east 400 of 800 (A1 300, A2 100), west 400: 50/50, then 75/25 inside east
    assert _by_rep(t, "revenue_target") == pytest.approx({"A1": 375.0, "A2": 125.0, "B1": 500.0})
    # deals won and created: east 3 of 4 (A1 2, A2 1), west 1
    assert _by_rep(t, "won_target") == pytest.approx({"A1": 5.0, "A2": 2.5, "B1": 2.5})
    assert _by_rep(t, "opportunities_target") == pytest.approx({"A1": 10.0, "A2": 5.0, "B1": 5.0})
    teams = dict(zip(t.teams["team"], t.teams["revenue_target"]))
    assert teams == pytest.approx({"ae-east": 500.0, "ae-west": 500.0}) and sum(teams.values()) == pytest.approx(1000)
    # A1 has won 200 of 375 by day 45.5 of 92: attainment 53.3%, pacing 200 / (375 x 45.5/92) = 107.8%
    a1 = t.reps.set_index("rep_id").loc["A1"]
    assert a1["revenue_attainment"] == pytest.approx(200 / 375)
    assert a1["revenue_pacing"] == pytest.approx(200 / (375 * 45.5 / 92))
    assert a1["status"] == "On track"
    assert t.reps.set_index("rep_id").loc["B1", "status"] == "Behind"
    assert t.leaderboard()[["rank", "rep_id"]].values.tolist() == [[1, "A1"], [2, "A2"], [3, "B1"]]
    assert t.notes == []


def test_a_manager_fixes_shares_and_the_rest_still_adds_up(team):
    edits.save(team, "rep_targets", "2026-Q3", RepTargets(team_shares={"ae-west": 0.6}), actor=MANAGER,
               reason="west has the new territory", expected_version=0, as_of=AS_OF)
    t = rep_targets(team, Q3, AS_OF)
    assert _by_rep(t, "revenue_target") == pytest.approx({"A1": 300.0, "A2": 100.0, "B1": 600.0})
    edits.save(team, "rep_targets", "2026-Q3", RepTargets(team_shares={"ae-west": 0.6}, rep_shares={"A2": 0.5}),
               actor=MANAGER, reason="Abe takes half of east", expected_version=1, as_of=AS_OF)
    t = rep_targets(team, Q3, AS_OF)
    assert _by_rep(t, "revenue_target") == pytest.approx({"A1": 200.0, "A2": 200.0, "B1": 600.0})
    assert sum(_by_rep(t, "won_target").values()) == pytest.approx(10.0)
    assert t.split_version == 2 and _by_rep(t, "fixed") == {"A1": False, "A2": True, "B1": True}  # B1 by its team


def test_shares_that_leave_part_of_the_target_to_nobody_are_said(team):
    edits.save(team, "rep_targets", "2026-Q3", RepTargets(team_shares={"ae-west": 0.3, "ae-east": 0.3}),
               actor=MANAGER, reason="x", expected_version=0, as_of=AS_OF)
    t = rep_targets(team, Q3, AS_OF)
    assert t.notes == ["The shares fixed for 2026-Q3 leave 40% of each target to no team or rep."]


def test_the_write_path_refuses_what_does_not_add_up_or_is_not_theirs(team):
    with pytest.raises(EditRefused, match="The teams' shares add up to 130%: at most 100%."):
        edits.save(team, "rep_targets", "2026-Q3", RepTargets(team_shares={"ae-west": 0.6, "ae-east": 0.7}),
                   actor=MANAGER, reason="x", expected_version=0, as_of=AS_OF)
    with pytest.raises(EditRefused, match="Unknown rep 'Z9'."):
        edits.save(team, "rep_targets", "2026-Q3", {"rep_shares": {"Z9": 0.1}}, actor=MANAGER, reason="x",
                   expected_version=0, as_of=AS_OF)
    with pytest.raises(EditRefused, match="may not split the sales targets"):
        edits.save(team, "rep_targets", "2026-Q3", RepTargets(), actor=Actor(name="Mo", team="marketing"),
                   reason="x", expected_version=0, as_of=AS_OF)
    with pytest.raises(edits.Conflict):
        edits.save(team, "rep_targets", "2026-Q3", RepTargets(), actor=MANAGER, reason="x", expected_version=3,
                   as_of=AS_OF)


def test_split_keeps_fixed_shares_and_shares_the_rest_by_weight():
    assert split({"a": 3, "b": 1, "c": 0}, {}) == {"a": 0.75, "b": 0.25, "c": 0.0}
    assert split({"a": 3, "b": 1}, {"b": 0.5}) == {"b": 0.5, "a": 0.5}
    assert split({"a": 0, "b": 0}, {}) == {"a": 0.5, "b": 0.5}  # no history: equal shares, never a lost target


def test_no_goal_means_no_targets_but_the_actuals_are_there(empty):
    with transaction(empty, ("records",)) as cur:
        cur.execute("INSERT INTO reps VALUES ('A1', 'Ann', 'ae-east', 'na')")
    t = rep_targets(empty, Q3, AS_OF)
    assert t.reps["revenue_target"].tolist() == [None] and t.reps["revenue"].tolist() == [0.0]
    assert t.notes == ["No revenue goal is set for 2026-Q3, so no team or rep has a target."]


def test_the_editor_fixes_a_share_or_gives_it_back_to_the_trailing_year():
    from core.metrics.targets import with_share

    chosen = with_share(RepTargets(rep_shares={"A2": 0.5}), "team", "ae-west", 60.0)
    assert (chosen.team_shares, chosen.rep_shares) == ({"ae-west": 0.6}, {"A2": 0.5})
    assert with_share(chosen, "rep", "A2", None).rep_shares == {}


def test_deals_without_creation_dates_leave_deals_created_unknown_not_zero(empty):
    # an Olist-like export: every deal carries the importer's stamp, not a date of its own
    from datetime import datetime as dt

    from core.ingest.profile import record_stamp

    stamp = dt(2026, 8, 1)
    with transaction(empty, ("records",)) as cur:
        cur.execute("INSERT INTO reps VALUES ('A1', 'Ann', 'ae-east', 'na')")
        cur.execute("""INSERT INTO deals (deal_id, owner_id, created_at, amount, stage, closed_at) VALUES
            ('D1', 'A1', '2026-08-01', 100, 'closed_won', '2026-08-05'),
            ('D2', 'A1', '2026-08-01', 300, 'closed_won', '2026-08-06')""")
        record_stamp(cur, "deals", "created_at", stamp, "Deals.csv has no creation dates.")
    t = rep_targets(empty, Q3, AS_OF)
    assert not t.created_known
    assert "None of the 2 deals loaded has a creation date in the source" in " ".join(t.notes)
    board, columns = t.table(t.leaderboard(), ("rank", "name", "team"))
    assert columns == ["rank", "name", "team", "rep_won_revenue", "deals_won"]  # no goal, no deals created
    assert board[columns].values.tolist() == [[1, "Ann", "ae-east", 400.0, 2]]
