"""AppTest: the Team and rep targets page on the tiny world (as of 2026-08-15 12:00, goal $100k for 2026-Q3):
Ann Lowe (ae-na) owns every deal, so she carries the whole target until a sales manager fixes a share."""
from __future__ import annotations

from apptest_support import PERSONAS, open_page


def _board(at):
    return at.dataframe[0].value


def test_the_leaderboard_and_a_fixed_share_through_the_write_path(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_page("pages/targets.py", persona=PERSONAS["sales"])
    board = _board(at)
    # $35k won of $100k by day 45.5 of 92: attainment 35%, pacing 35 / (100 x 45.5/92) = 70.8%: behind
    assert board[["rank", "name", "rep_revenue_target", "rep_won_revenue", "status"]].values.tolist() == [
        [1, "Ann Lowe", 100_000.0, 35_000.0, "Behind"]]
    at.radio(key="targets_who").set_value("team")
    at.selectbox(key="targets_team").set_value("sdr-na")
    at.number_input(key="targets_share").set_value(10.0)
    at.text_input(key="targets_reason").input("SDR-led deals next quarter")
    at.get("form_submit_button")[0].click().run()
    assert not at.exception
    # ae-na keeps the other 90%; sdr-na's one rep now carries 10% (ranked after Ann: nothing won yet)
    assert _board(at)[["team", "rep_revenue_target"]].values.tolist() == [["ae-na", 90_000.0], ["sdr-na", 10_000.0]]
    assert "Fixed now: team sdr-na: 10% of the whole" in [c.value for c in at.caption]


def test_a_viewer_sees_the_board_but_cannot_fix_a_share(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = open_page("pages/targets.py", persona=PERSONAS["viewer"])
    assert len(_board(at)) == 1
    assert at.get("form_submit_button")[0].proto.disabled
    assert at.info[0].value == "Vic Board (viewer) may not split the sales targets between teams and reps."


def test_without_a_goal_the_tables_show_no_column_of_blanks(tiny_db_copy, use_db):
    from core.db import transaction
    from core.store import open_store

    con = open_store(tiny_db_copy)
    with transaction(con, ("goal",)) as cur:
        cur.execute("DELETE FROM edit_versions WHERE kind = 'goal'")
    con.close()
    use_db(tiny_db_copy)
    at = open_page("pages/targets.py")
    board = _board(at)
    assert list(board.columns) == ["rank", "name", "team", "rep_won_revenue", "deals_won", "deals_created"]
    assert board[["name", "rep_won_revenue", "deals_won", "deals_created"]].values.tolist() == [["Ann Lowe", 35_000.0, 2, 7]]
