"""Record keys (core.db.RECORD_KEYS, LINK_KEYS): lead_key is lead_id's integer, held by leads, activities, deals and
touches; deal_key is deal_id's, held by deals and stage-history rows; so the figures' joins on them are exactly the
joins on the ids. Every write path keeps them: a records transaction (the import), the demo, a migration from an
older file, and a full open for rows another program wrote."""
from __future__ import annotations

from datetime import datetime

import pytest

from conftest import csv_bytes
from core.db import RECORD_KEYS, DatabaseUnreadable, close, connect, link_keys, set_meta, transaction
from core.demo import build_demo
from core.ingest import SourceFile, import_files
from core.metrics.attribution import deal_shares
from core.metrics.funnel import funnel
from core.periods import parse_period
from core.store import open_store

NOW = datetime(2026, 9, 1, 12, 0, 0)  # after every record below (a later date is quarantined)


def unlinked(con) -> list[tuple]:
    """Every broken promise of the keys: a row whose key is not its id's (or that has one without an id), an id
    with two keys, a key for two ids. Empty when the keys are sound."""
    problems = []
    for k in RECORD_KEYS:  # allow-listed names
        problems += con.execute(
            f"SELECT 'two keys', {k.id} FROM {k.table} GROUP BY {k.id} HAVING count(*) > 1 "
            f"UNION ALL SELECT 'two ids', CAST({k.key} AS VARCHAR) FROM {k.table} GROUP BY {k.key} HAVING count(*) > 1"
        ).fetchall()
        for table in k.holders:
            problems += con.execute(
                f"SELECT '{table}', t.{k.id} FROM {table} t LEFT JOIN {k.table} k ON k.{k.id} = t.{k.id} "
                f"WHERE t.{k.key} IS DISTINCT FROM k.{k.key} OR (t.{k.id} IS NOT NULL AND k.{k.id} IS NULL)").fetchall()
    return problems


def keys(con, table: str, id_column: str, key: str = "lead_key") -> dict[str, int | None]:
    return dict(con.execute(f"SELECT {id_column}, {key} FROM {table}").fetchall())


def test_an_import_gives_every_record_its_leads_key_and_a_changed_lead_its_new_one(tmp_path):
    con = open_store(tmp_path / "keys.duckdb", create=True)
    leads = csv_bytes("lead_id,created_at,source,status", "L2,2026-07-02,web,open", "L1,2026-07-01,web,open")
    deals = csv_bytes("deal_id,lead_id,created_at,amount,stage", "D2,,2026-07-06,50,discovery",
                      "D1,L1,2026-07-05,100,discovery")
    history = csv_bytes("deal_id,stage,entered_at", "D2,discovery,2026-07-06", "D1,discovery,2026-07-05",
                        "D1,qualification,2026-07-09")
    import_files(con, "accord", [SourceFile("leads.csv", leads), SourceFile("deals.csv", deals),
                                 SourceFile("deal_stage_history.csv", history)], actor="ana", now=NOW)
    assert unlinked(con) == []
    # keys in creation order: L1 (07-01) then L2; a sales-sourced deal has no lead key, but a deal key
    assert keys(con, "leads", "lead_id") == {"L1": 1, "L2": 2}
    assert keys(con, "deals", "deal_id") == {"D1": 1, "D2": None}
    assert keys(con, "deals", "deal_id", "deal_key") == {"D1": 1, "D2": 2}  # D1 created 07-05, D2 07-06
    assert sorted(con.execute("SELECT deal_id, deal_key FROM deal_stage_history").fetchall()) == [
        ("D1", 1), ("D1", 1), ("D2", 2)]
    moved = csv_bytes("deal_id,lead_id,created_at,amount,stage", "D1,L2,2026-07-05,100,discovery")
    import_files(con, "accord", [SourceFile("deals.csv", moved)], actor="ana", now=NOW)
    assert keys(con, "deals", "deal_id") == {"D1": 2, "D2": None}  # the deal moved to L2: its key with it
    assert unlinked(con) == []
    close(con)


def test_a_lead_not_loaded_has_a_key_its_deal_and_touches_share(tiny):
    # attribution joins a deal to its lead's touches by lead_id whether or not the lead is loaded: so must the keys
    with transaction(tiny, ("records",)) as cur:
        cur.execute("INSERT INTO deals (deal_id, lead_id, created_at, amount, stage) "
                    "VALUES ('DX', 'GONE', '2026-07-20', 900, 'discovery')")
        cur.execute("INSERT INTO campaign_touches (lead_id, campaign_id, touched_at) VALUES ('GONE', 'C1', '2026-07-10')")
    assert unlinked(tiny) == []
    (gone,) = tiny.execute("SELECT lead_key FROM lead_keys WHERE lead_id = 'GONE'").fetchone()
    assert tiny.execute("SELECT lead_key FROM deals WHERE deal_id = 'DX'").fetchone() == (gone,)
    assert tiny.execute("SELECT count(*) FROM leads WHERE lead_key = ?", [gone]).fetchone() == (0,)
    shares = deal_shares(tiny, parse_period("2026-Q3"), datetime(2026, 8, 15, 12))
    linear = shares[(shares["deal_id"] == "DX") & (shares["model"] == "linear")]
    assert list(linear["campaign_id"]) == ["C1"] and list(linear["share"]) == [1.0]  # its touch credits it
    # the funnel counts it beside the stages, as a deal whose lead is not loaded
    assert funnel(tiny, parse_period("2026-Q3"), datetime(2026, 8, 15, 12)).deals_with_unknown_lead == 2


def _older_file(path, schema: int = 6) -> None:
    """A file as schema 6 left it (no keys at all) or schema 7 (lead keys, no deal keys), records written by
    hand."""
    con = open_store(path, create=True)
    for k in RECORD_KEYS[(1 if schema == 7 else 0):]:
        for table in k.holders:
            con.execute(f"ALTER TABLE {table} DROP COLUMN {k.key}")
        con.execute(f"DROP TABLE {k.table}")
    set_meta(con, "schema_version", str(schema))
    # named columns: the same rows fit either shape, every key left to the open to link
    con.execute("INSERT INTO leads (lead_id, created_at, source, score, demo_requested, status) VALUES "
                "('B', '2026-07-02', 'web', 80, false, 'open'), ('A', '2026-07-01', 'web', 80, false, 'converted')")
    con.execute("INSERT INTO deals (deal_id, lead_id, created_at, amount, stage, closed_at) VALUES "
                "('D1', 'A', '2026-07-05', 100, 'closed_won', '2026-07-20'), "
                "('D2', 'NOT LOADED', '2026-07-06', 50, 'discovery', NULL)")
    con.execute("INSERT INTO deal_stage_history (deal_id, stage, entered_at) VALUES ('D2', 'discovery', '2026-07-06'), "
                "('D1', 'discovery', '2026-07-05'), ('D1', 'closed_won', '2026-07-20')")
    con.execute("INSERT INTO activities (activity_id, lead_id, deal_id, rep_id, occurred_at, kind) VALUES "
                "('X1', 'B', NULL, 'R1', '2026-07-03', 'call'), ('X2', NULL, 'D1', 'R1', '2026-07-06', 'call')")
    con.execute("INSERT INTO campaign_touches (lead_id, campaign_id, touched_at) VALUES ('A', 'C1', '2026-06-30')")
    close(con)


@pytest.mark.parametrize("schema", [6, 7])
def test_an_older_file_gets_its_keys_when_opened(tmp_path, schema):
    path = tmp_path / f"v{schema}.duckdb"
    _older_file(path, schema)
    con = connect(path)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("8",)
    assert unlinked(con) == []
    assert keys(con, "leads", "lead_id") == {"A": 1, "B": 2}  # creation order; the unloaded lead's id after them
    assert keys(con, "deals", "deal_id") == {"D1": 1, "D2": 3}
    assert keys(con, "activities", "activity_id") == {"X1": 2, "X2": None}
    assert keys(con, "deals", "deal_id", "deal_key") == {"D1": 1, "D2": 2}
    assert sorted(con.execute("SELECT deal_id, deal_key FROM deal_stage_history").fetchall()) == [
        ("D1", 1), ("D1", 1), ("D2", 2)]
    # the memory limit bounded for the migration is put back
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] != "1.0 GiB"
    f = funnel(con, parse_period("2026-Q3"), datetime(2026, 8, 15))
    # A converted with a won deal; B open without one; D2 names a lead not loaded
    assert (f.leads, f.quality_leads, f.accepted, f.opportunities, f.won, f.deals_with_unknown_lead) == (2, 2, 1, 1, 1, 1)
    close(con)


def test_an_open_links_rows_another_program_wrote_without_keys(tmp_path):
    con = open_store(tmp_path / "raw.duckdb", create=True)
    con.execute("INSERT INTO leads (lead_id, created_at, source, status) VALUES ('L1', '2026-07-01', 'web', 'open')")
    con.execute("INSERT INTO activities (activity_id, lead_id, rep_id, occurred_at, kind) "
                "VALUES ('X1', 'L1', 'R1', '2026-07-02', 'call')")
    assert unlinked(con) != []  # written outside Accord's write path: no keys yet
    close(con)
    con = connect(tmp_path / "raw.duckdb")
    assert unlinked(con) == [] and keys(con, "activities", "activity_id") == {"X1": 1}
    close(con)


def test_link_keys_does_nothing_twice(tiny):
    before = tiny.execute("SELECT * FROM lead_keys ORDER BY lead_key").fetchall()
    with transaction(tiny, ("records",)) as cur:
        link_keys(cur)
    assert tiny.execute("SELECT * FROM lead_keys ORDER BY lead_key").fetchall() == before
    assert unlinked(tiny) == [] and len(before) == 11  # the tiny world's ten leads and a deal's lead not loaded


def test_the_demo_writes_its_keys(tmp_path):
    build_demo(tmp_path / "demo.duckdb", leads=2_000, seed=7, as_of=datetime(2026, 9, 30, 12))
    con = connect(tmp_path / "demo.duckdb", read_only=True)
    assert unlinked(con) == []
    assert con.execute("SELECT count(*) FROM lead_keys").fetchone() == (2_000,)
    assert con.execute("SELECT count(*) FROM deal_keys").fetchone() == con.execute("SELECT count(*) FROM deals").fetchone()
    close(con)


@pytest.mark.parametrize("schema", [6, 7])
def test_an_older_file_opened_read_only_says_it_must_be_upgraded_first(tmp_path, schema):
    path = tmp_path / f"v{schema}.duckdb"
    _older_file(path, schema)
    with pytest.raises(DatabaseUnreadable, match=rf"older Accord \(schema {schema}\).*open it once where it can be written"):
        connect(path, read_only=True)
    close(connect(path))  # opened writable once: upgraded, then readable read-only
    con = connect(path, read_only=True)
    assert unlinked(con) == []
    close(con)
