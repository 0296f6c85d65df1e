"""What changed between two dates (issue 14, item 4), on hand-made deals and leads whose answers can be
worked out by hand: one deal per movement, each with its own amount, so every count and sum is exact."""
from __future__ import annotations

from datetime import datetime

import pytest

from core.db import transaction
from core.metrics.changes import changes, window

SINCE, UNTIL = datetime(2026, 7, 1), datetime(2026, 8, 1)


@pytest.fixture
def world(empty):
    with transaction(empty, ("records",)) as cur:
        cur.execute("""INSERT INTO deals (deal_id, account, created_at, amount, stage, expected_close_on, closed_at)
            VALUES ('A', 'Acme', '2026-07-05', 100, 'discovery', NULL, NULL),           -- created
                   ('B', 'Bolt', '2026-05-01', 200, 'proposal', NULL, NULL),            -- advanced
                   ('C', 'Cove', '2026-04-01', 300, 'qualification', NULL, NULL),       -- moved back
                   ('D', 'Dune', '2026-03-01', 400, 'closed_won', NULL, '2026-07-20'),  -- won
                   ('E', 'Elm',  '2026-03-01', 500, 'closed_lost', NULL, '2026-07-25'), -- lost
                   ('F', 'Fern', '2026-02-01', 600, 'negotiation', '2026-07-15', NULL), -- slipped
                   ('G', 'Gale', '2026-08-05', 700, 'discovery', NULL, NULL),           -- after the window
                   ('H', 'Hive', '2026-02-01', 800, 'closed_won', '2026-09-01', '2026-08-10')  -- won after it""")
        cur.execute("""INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES
            ('A', 'discovery', '2026-07-05'),
            ('B', 'discovery', '2026-05-01'), ('B', 'proposal', '2026-07-10'),
            ('C', 'proposal', '2026-04-01'), ('C', 'qualification', '2026-07-12'),
            ('D', 'discovery', '2026-03-01'), ('D', 'closed_won', '2026-07-20'),
            ('E', 'discovery', '2026-03-01'), ('E', 'closed_lost', '2026-07-25'),
            ('F', 'negotiation', '2026-02-01'), ('G', 'discovery', '2026-08-05'),
            ('H', 'discovery', '2026-02-01'), ('H', 'closed_won', '2026-08-10')""")
        # 20 web leads in June (10 accepted) and 20 in July (15 accepted); 5 event leads each month
        # every lead asked for a demo, so every one is a quality lead (the definition's fast track)
        cur.execute("""INSERT INTO leads (lead_id, created_at, source, status, demo_requested)
            SELECT 'J' || i, TIMESTAMP '2026-06-01' + to_hours(i), 'web', CASE WHEN i <= 10 THEN 'accepted' ELSE 'open' END, true
            FROM range(1, 21) t(i)
            UNION ALL SELECT 'K' || i, TIMESTAMP '2026-07-01' + to_hours(i), 'web',
                   CASE WHEN i <= 15 THEN 'accepted' ELSE 'open' END, true FROM range(1, 21) t(i)
            UNION ALL SELECT 'V' || i, TIMESTAMP '2026-06-01' + to_days(i), 'event', 'open', true FROM range(1, 6) t(i)
            UNION ALL SELECT 'W' || i, TIMESTAMP '2026-07-01' + to_days(i), 'event', 'accepted', true FROM range(1, 6) t(i)""")
    return empty


def test_every_movement_counted_once_with_its_amount(world):
    ch = changes(world, SINCE, UNTIL)
    assert {k: ch.count(k) for k in ("created", "advanced", "regressed", "won", "lost", "slipped")} == {
        "created": (1, 100.0), "advanced": (1, 200.0), "regressed": (1, 300.0),
        "won": (1, 400.0), "lost": (1, 500.0), "slipped": (1, 600.0)}
    assert ch.deals_total == 6  # G was created after the window, H won after it: neither moved in it
    assert ch.deals[["deal_id", "stage", "what_happened"]].values.tolist() == [
        ["F", "Negotiation", "slipped"], ["E", "Closed lost", "lost"], ["D", "Closed won", "won"],
        ["C", "Qualification", "moved back"], ["B", "Proposal", "advanced"], ["A", "Discovery", "created"]]
    assert ch.sentences[0] == (
        "From 01 Jul 2026 to 01 Aug 2026 00:00, deals: 1 created ($100); 1 advanced a stage ($200); 1 moved back "
        "a stage ($300); 1 won ($400); 1 lost ($500); 1 slipped past their expected close date ($600).")


def test_a_deal_can_do_several_things_in_one_window(world):
    # over the whole first half of 2026 and July, A was created and nothing else; B was created and advanced
    ch = changes(world, datetime(2026, 4, 15), UNTIL)
    rows = dict(ch.deals[["deal_id", "what_happened"]].values.tolist())
    assert rows["B"] == "created, advanced" and rows["C"] == "moved back" and rows["A"] == "created"


def test_the_largest_conversion_movements_by_segment_in_sentences(world):
    ch = changes(world, SINCE, UNTIL, "source")
    # web: quality -> accepted 10/20 in June, 15/20 in July (+25 points); lead -> quality 20/20 both months.
    # event has 5 leads a month: under the 20-lead floor, never compared
    moves = ch.conversion_moves
    assert moves[["segment", "stage", "before", "after", "base_before", "base_after"]].values.tolist() == [
        ["web", "accepted", 0.5, 0.75, 20, 20], ["web", "quality_leads", 1.0, 1.0, 20, 20]]
    assert ch.sentences[1] == ("Conversion quality → accepted for source “web” rose from 50.0% to 75.0% "
                               "(+25.0 points; 20 then 20 quality leads).")
    assert ch.sentences[2] == "Conversion lead → quality for source “web” held at 100.0% (20 then 20 leads)."


def test_nothing_moved_says_so_and_missing_history_is_not_a_zero(world):
    with transaction(world, ("records",)) as cur:
        cur.execute("DELETE FROM deal_stage_history")
    ch = changes(world, datetime(2026, 1, 1), datetime(2026, 1, 31))
    assert ch.count("advanced") == (None, None) and ch.count("regressed") == (None, None)
    assert ch.sentences[0] == (
        "From 01 Jan 2026 to 31 Jan 2026 00:00, no deal was created, won or lost. Deals that advanced a stage, "
        "moved back a stage or slipped past their expected close date cannot be counted from this data "
        "(see the notes).")  # no deal that existed by then had an expected close date
    assert any("stage history" in n for n in ch.notes)


def test_no_deals_loaded_is_said_not_counted_as_zero(empty):
    ch = changes(empty, SINCE, UNTIL)
    assert ch.count("created") == (None, None)
    assert ch.sentences[0] == ("From 01 Jul 2026 to 01 Aug 2026 00:00, no deal movement can be counted from this "
                               "data (see the notes).")


def test_a_window_must_run_forward(world):
    with pytest.raises(ValueError, match="must come after"):
        window(UNTIL, SINCE)
    with pytest.raises(ValueError):
        changes(world, SINCE, UNTIL, "deal_id; DROP TABLE deals")  # segments come from an allow-list


def test_the_pages_two_dates_make_a_window_cut_at_as_of():
    from datetime import date

    from core.errors import AccordError
    from core.metrics.changes import window_of_days

    as_of = datetime(2026, 8, 15, 12, 0)
    assert window_of_days(date(2026, 8, 8), date(2026, 8, 10), as_of) == (datetime(2026, 8, 8), datetime(2026, 8, 11))
    assert window_of_days(date(2026, 8, 8), date(2026, 8, 15), as_of) == (datetime(2026, 8, 8), as_of)
    with pytest.raises(AccordError, match="The end date comes before the start date"):
        window_of_days(date(2026, 8, 15), date(2026, 8, 1), as_of)
