"""The shared SQL blocks of core.semantic.blocks, each with a few given rows and the exact expected rows
(jaffle-shop style): the lead quality flag and SLA clock, deals as of, the lead→deal link, the current
stage, and the deal conditions every count and drill-down uses."""
from __future__ import annotations

from datetime import datetime

import pytest

from core import edits
from core.db import transaction
from core.models import QualityDefinition
from core.periods import parse_period
from core.semantic import blocks
from core.store import open_store

AS_OF = datetime(2026, 8, 15, 12, 0)
Q3 = parse_period("2026-Q3")


@pytest.fixture
def con(tmp_path):
    con = open_store(tmp_path / "blocks.duckdb", create=True)
    yield con
    con.close()


def given(con, sql: str) -> None:
    with transaction(con, ("records",)) as cur:
        cur.execute(sql)


def rows(con, ctes: str, select: str, params: dict) -> list[tuple]:
    return blocks.run(con, f"WITH {ctes} {select}", params).fetchall()


LEADS = """INSERT INTO leads (lead_id, created_at, source, score, demo_requested, mql_at, assigned_at, status) VALUES
  ('A', '2026-07-01 09:00', 'web', 80, false, NULL, '2026-07-01 10:00', 'open'),          -- score 80: quality
  ('B', '2026-07-02 09:00', 'web', 10, true,  NULL, '2026-08-20 00:00', 'open'),          -- demo: quality; assigned after as-of
  ('C', '2026-07-03 09:00', 'web', 10, false, '2026-09-01 00:00', NULL, 'open'),          -- CRM mql after as-of: not yet
  ('D', '2026-07-04 09:00', 'web', 10, false, '2026-07-05 00:00', NULL, 'open'),          -- CRM mql by as-of: quality
  ('E', '2026-08-16 09:00', 'web', 99, false, NULL, NULL, 'open')                          -- created after as-of: absent
"""


def test_lead_q_flags_quality_under_the_definition_in_force_and_starts_the_sla_clock(con):
    given(con, LEADS)
    params = blocks.scope_params(Q3, AS_OF)
    got = rows(con, blocks.lead_q(con, params), "SELECT lead_id, is_quality, clock_start FROM lead_q ORDER BY 1", params)
    assert got == [
        ("A", True, datetime(2026, 7, 1, 10, 0)),   # assigned by as-of: the clock starts at assignment
        ("B", True, datetime(2026, 7, 2, 9, 0)),    # assigned after as-of: the clock starts at creation
        ("C", False, datetime(2026, 7, 3, 9, 0)),
        ("D", True, datetime(2026, 7, 4, 9, 0)),
    ]


def test_lead_q_applies_each_version_from_its_effective_date(con):
    given(con, LEADS)
    edits.save(con, "quality_definition", edits.POLICY_SUBJECT,
               QualityDefinition(min_score=90, demo_fast_track=False, crm_qualified=False),
               actor=edits.SYSTEM_ACTOR, reason="stricter", expected_version=1,
               effective_from=datetime(2026, 7, 2), now=AS_OF)
    params = blocks.scope_params(Q3, AS_OF)
    got = rows(con, blocks.lead_q(con, params), "SELECT lead_id, is_quality FROM lead_q ORDER BY 1", params)
    # A (1 July) keeps version 1's verdict; B, C, D are judged by the stricter version 2
    assert got == [("A", True), ("B", False), ("C", False), ("D", False)]


DEALS = """INSERT INTO deals (deal_id, lead_id, created_at, amount, stage, expected_close_on, closed_at) VALUES
  ('W',  'A', '2026-07-10', 100, 'closed_won',  '2026-08-01', '2026-08-01'),   -- won by as-of
  ('W2', 'A', '2026-07-11',  50, 'closed_won',  '2026-09-01', '2026-09-01'),   -- won after as-of: open then
  ('L',  'B', '2026-07-12',  70, 'closed_lost', '2026-08-02', '2026-08-02'),   -- lost by as-of
  ('O',  NULL, '2026-07-13', 30, 'proposal',    '2026-09-15', NULL),           -- open, sales-sourced
  ('F',  'D', '2026-09-01',  10, 'discovery',   NULL,         NULL)            -- created after as-of: absent
"""


def test_deal_asof_is_the_state_each_deal_had_at_as_of(con):
    given(con, DEALS)
    params = blocks.scope_params(Q3, AS_OF)
    got = rows(con, blocks.DEAL_ASOF, "SELECT deal_id, state, closed_at FROM deal_asof ORDER BY 1", params)
    assert got == [("L", "lost", datetime(2026, 8, 2)), ("O", "open", None), ("W", "won", datetime(2026, 8, 1)),
                   ("W2", "open", None)]


def test_lead_deals_links_each_lead_to_its_deals_as_of(con):
    given(con, LEADS + ";" + DEALS + ";INSERT INTO deals (deal_id, lead_id, created_at, amount, stage) "
                                     "VALUES ('U', 'not loaded', '2026-07-14', 20, 'discovery')")
    params = blocks.scope_params(Q3, AS_OF)
    got = rows(con, f"{blocks.DEAL_ASOF}, {blocks.lead_deals()}",
               "SELECT l.lead_id, d.deals, d.has_won, d.won_deals, d.won_revenue "
               "FROM lead_deals d JOIN leads l USING (lead_key) ORDER BY 1", params)
    # sales-sourced O has no lead; F did not exist yet; W2 was still open
    assert got == [("A", 2, True, 1, 100.0), ("B", 1, False, 0, 0.0)]
    # linked by lead_key, lead_id's integer (core.db.LINK_KEYS): U's lead is not loaded, so its row joins no lead
    assert rows(con, f"{blocks.DEAL_ASOF}, {blocks.lead_deals()}", "SELECT count(*) FROM lead_deals", params) == [(3,)]


def test_lead_deals_within_a_window_keeps_its_leads_links_and_drops_deals_outside_their_keys(con):
    """lead_deals(window) groups only the deals whose lead_key lies within the key range of the window's leads:
    their rows are the unbounded link's, and a deal of a lead outside it is not read."""
    given(con, LEADS + ";" + DEALS)
    params = blocks.scope_params(Q3, AS_OF)
    keys = dict(con.execute("SELECT lead_id, lead_key FROM leads").fetchall())
    query = "SELECT lead_key, deals, has_won, won_deals, won_revenue FROM lead_deals ORDER BY 1"
    everything = rows(con, f"{blocks.DEAL_ASOF}, {blocks.lead_deals()}", query, params)
    window = "l.lead_id = 'B'"
    bounded = rows(con, f"{blocks.DEAL_ASOF}, {blocks.lead_deals(window)}", query, params)
    assert bounded == [row for row in everything if row[0] == keys["B"]] == [(keys["B"], 1, False, 0, 0.0)]


HISTORY = """INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES
  ('O', 'discovery', '2026-07-13'), ('O', 'proposal', '2026-07-20'), ('O', 'negotiation', '2026-08-20'),
  ('W2', 'discovery', '2026-07-11')
"""


def test_current_stage_is_the_latest_row_entered_by_as_of(con):
    given(con, DEALS + ";" + HISTORY)
    params = blocks.scope_params(Q3, AS_OF)
    got = rows(con, blocks.CURRENT_STAGE, "SELECT k.deal_id, s.stage, s.entered_at FROM current_stage s JOIN deal_keys k USING (deal_key) ORDER BY 1", params)
    assert got == [("O", "proposal", datetime(2026, 7, 20)), ("W2", "discovery", datetime(2026, 7, 11))]


def test_open_current_stage_is_current_stage_for_the_deals_open_at_as_of(con):
    # W (won by as-of) and L (lost by as-of) have history too: CURRENT_STAGE reads it, the open-only block
    # does not; W2, won after as-of, was open then and keeps its stage
    given(con, DEALS + ";" + HISTORY + ";INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES ('W', 'negotiation', '2026-07-25'), "
               "('L', 'proposal', '2026-07-20')")
    params = blocks.scope_params(Q3, AS_OF)
    sql = "SELECT k.deal_id, s.stage, s.entered_at FROM current_stage s JOIN deal_keys k USING (deal_key) ORDER BY 1"
    assert rows(con, f"{blocks.DEAL_ASOF}, {blocks.CURRENT_STAGE}", sql, params) == [
        ("L", "proposal", datetime(2026, 7, 20)), ("O", "proposal", datetime(2026, 7, 20)),
        ("W", "negotiation", datetime(2026, 7, 25)), ("W2", "discovery", datetime(2026, 7, 11))]
    assert rows(con, f"{blocks.DEAL_ASOF}, {blocks.OPEN_CURRENT_STAGE}", sql, params) == [
        ("O", "proposal", datetime(2026, 7, 20)), ("W2", "discovery", datetime(2026, 7, 11))]


def test_deal_conditions_select_the_deals_each_figure_counts(con):
    given(con, DEALS + ";" + HISTORY)
    params = blocks.scope_params(Q3, AS_OF) | {"stall_days": 30}
    ctes = f"{blocks.DEAL_ASOF}, {blocks.CURRENT_STAGE}"

    def which(condition: str) -> list[str]:
        sql = (f"SELECT d.deal_id FROM deal_asof d LEFT JOIN current_stage s ON s.deal_key = d.deal_key "
               f"WHERE {condition} ORDER BY 1")
        return [r[0] for r in rows(con, ctes, sql, params)]

    assert which(blocks.OPEN_IN_PERIOD) == ["O", "W2"]          # open at as-of, expected in Q3
    assert which(blocks.WON_IN_PERIOD) == ["W"]
    assert which(blocks.LOST_IN_PERIOD) == ["L"]
    assert which(blocks.CREATED_IN_PERIOD) == ["L", "O", "W", "W2"]
    # stalled: open, current stage entered more than 30 days before 15 Aug 12:00 (before 16 Jul 12:00):
    # W2 entered discovery on 11 Jul; O entered proposal on 20 Jul (26 days)
    assert which(blocks.STALLED) == ["W2"]
    got = rows(con, ctes, f"SELECT d.deal_id, {blocks.STAGE_NOW}, round({blocks.DAYS_IN_STAGE}, 1) FROM deal_asof d "
                          "LEFT JOIN current_stage s ON s.deal_key = d.deal_key ORDER BY 1", params)
    # closed deals read their outcome; days in stage counts from the stage's entry (creation without history)
    assert got == [("L", "closed_lost", 34.5), ("O", "proposal", 26.5), ("W", "closed_won", 36.5),
                   ("W2", "discovery", 35.5)]


def test_tables_with_rows_names_only_loaded_tables(con):
    assert blocks.tables_with_rows(con) == frozenset()
    given(con, LEADS)
    assert blocks.tables_with_rows(con) == frozenset({"leads"})


def test_windows_only_skip_leads_their_period_filter_drops(con):
    # around Q3's edges: created before Q3 and assigned in it, created in Q3 and assigned after it, assigned
    # before created (bad data, clock in Q3), both before, both after; a window must keep every lead whose
    # cohort or clock falls in Q3 and may drop only the others
    given(con, """INSERT INTO leads (lead_id, created_at, source, score, assigned_at, status) VALUES
      ('P', '2026-06-30 23:00', 'web', 80, '2026-07-01 01:00', 'open'),
      ('Q', '2026-07-10 09:00', 'web', 80, '2026-10-02 00:00', 'open'),
      ('R', '2026-07-10 09:00', 'web', 80, '2026-06-20 00:00', 'open'),
      ('S', '2026-07-20 09:00', 'web', 80, '2026-06-25 00:00', 'open'),
      ('T', '2026-06-01 09:00', 'web', 80, '2026-06-02 00:00', 'open'),
      ('U', '2026-05-01 09:00', 'web', 80, NULL, 'open')""")
    params = blocks.scope_params(Q3, AS_OF)
    clock = "SELECT lead_id FROM lead_q WHERE clock_start >= $start AND clock_start < $end ORDER BY 1"
    cohort = f"SELECT lead_id FROM ({blocks.COHORT.removeprefix('cohort AS ')}) ORDER BY 1"
    for select, window in ((clock, blocks.CLOCK_WINDOW), (cohort, blocks.CREATED_WINDOW)):
        everything = rows(con, blocks.lead_q(con, params), select, params)
        assert rows(con, blocks.lead_q(con, params, window=window), select, params) == everything
    # by hand: clocks in Q3 are P (assigned 07-01), Q (assigned after as-of: created 07-10); R and S were
    # assigned before Q3 (their clocks are in June); the cohort is Q, R, S
    assert rows(con, blocks.lead_q(con, params, window=blocks.CLOCK_WINDOW), clock, params) == [("P",), ("Q",)]
    assert rows(con, blocks.lead_q(con, params, window=blocks.CREATED_WINDOW), cohort, params) == [
        ("Q",), ("R",), ("S",)]


class CountingCursor:
    """A connection that counts the "which tables have rows" reads made through it."""

    def __init__(self, con):
        self.con, self.present_reads = con, 0

    def execute(self, sql, *args):
        self.present_reads += "WHERE EXISTS (SELECT 1 FROM reps)" in sql
        return self.con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.con, name)


def test_a_composite_figure_reads_what_every_section_repeats_once_and_a_later_one_sees_a_write(con):
    from core.report import headline

    counting = CountingCursor(con)
    first = headline(counting, Q3, AS_OF)
    assert counting.present_reads == 1  # six sections ask which tables have rows: one read
    assert "No leads are loaded, so lead, quality-lead and funnel figures cannot be computed." in first.funnel.notes
    blocks.tables_with_rows(counting)
    blocks.tables_with_rows(counting)
    assert counting.present_reads == 3  # outside a composite figure every call reads
    given(con, LEADS)
    second = headline(counting, Q3, AS_OF)  # a new composite: the leads written since are seen
    assert counting.present_reads == 4 and second.funnel.leads == 4  # A-D by as-of
    assert not any(n.startswith("No leads are loaded") for n in second.funnel.notes)


def test_counted_sql_cuts_the_rows_and_counts_them_all(con):
    rows = "SELECT * FROM (VALUES (3, 'c'), (1, 'a'), (2, 'b')) t(n, s)"
    assert con.execute(blocks.counted_sql(rows, "n", " LIMIT 2")).fetchall() == [(1, "a", 3), (2, "b", 3)]
    assert con.execute(blocks.counted_sql(rows, "n DESC")).fetchall() == [(3, "c", 3), (2, "b", 3), (1, "a", 3)]
    assert con.execute(blocks.counted_sql(f"{rows} WHERE n > 5", "n", " LIMIT 2")).fetchall() == []


def test_no_figure_counts_its_rows_with_an_unpartitioned_window():
    # count(*) OVER () fails in DuckDB 1.5.5 now and then with an internal error that invalidates the database
    # (see counted_sql): every list is counted through counted_sql instead
    import re
    from pathlib import Path

    core = Path(blocks.__file__).resolve().parents[1]
    offenders = [str(p.relative_to(core)) for p in core.rglob("*.py")
                 if re.search(r"OVER\s*\(\s*\)", p.read_text())]
    assert offenders == []
