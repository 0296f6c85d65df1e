"""Lead keys (core.db.LINK_KEYS): lead_key is lead_id's integer, held by leads, activities, deals and touches, so
the figures' joins on it are exactly the joins on lead_id. Every write path keeps it: a records transaction (the
import), the demo, a migration from an older file, and a full open for rows another program wrote."""
from __future__ import annotations

from datetime import datetime

import pytest

from conftest import csv_bytes
from core.db import KEYED, DatabaseUnreadable, close, connect, link_keys, set_meta, transaction
from core.demo import build_demo
from core.ingest import SourceFile, import_files
from core.metrics.attribution import deal_shares
from core.metrics.funnel import funnel
from core.periods import parse_period
from core.store import open_store

NOW = datetime(2026, 9, 1, 12, 0, 0)  # after every record below (a later date is quarantined)


def unlinked(con) -> list[tuple]:
    """Every broken promise of the keys: a row whose lead_key is not its lead_id's (or that has one without a
    lead_id), an id with two keys, a key for two ids. Empty when the keys are sound."""
    problems = con.execute(
        "SELECT 'two keys', lead_id FROM lead_keys GROUP BY lead_id HAVING count(*) > 1 "
        "UNION ALL SELECT 'two ids', CAST(lead_key AS VARCHAR) FROM lead_keys GROUP BY lead_key HAVING count(*) > 1"
    ).fetchall()
    for table in KEYED:  # allow-listed names
        problems += con.execute(
            f"SELECT '{table}', t.lead_id FROM {table} t LEFT JOIN lead_keys k ON k.lead_id = t.lead_id "
            "WHERE t.lead_key IS DISTINCT FROM k.lead_key OR (t.lead_id IS NOT NULL AND k.lead_id IS NULL)").fetchall()
    return problems


def keys(con, table: str, id_column: str) -> dict[str, int | None]:
    return dict(con.execute(f"SELECT {id_column}, lead_key FROM {table}").fetchall())


def test_an_import_gives_every_record_its_leads_key_and_a_changed_lead_its_new_one(tmp_path):
    con = open_store(tmp_path / "keys.duckdb", create=True)
    leads = csv_bytes("lead_id,created_at,source,status", "L2,2026-07-02,web,open", "L1,2026-07-01,web,open")
    deals = csv_bytes("deal_id,lead_id,created_at,amount,stage", "D1,L1,2026-07-05,100,discovery",
                      "D2,,2026-07-06,50,discovery")
    import_files(con, "accord", [SourceFile("leads.csv", leads), SourceFile("deals.csv", deals)], actor="ana", now=NOW)
    assert unlinked(con) == []
    # keys in creation order: L1 (07-01) then L2; a sales-sourced deal has none
    assert keys(con, "leads", "lead_id") == {"L1": 1, "L2": 2}
    assert keys(con, "deals", "deal_id") == {"D1": 1, "D2": None}
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


def _older_file(path) -> None:
    """A file as schema 6 left it: no lead_key anywhere, no lead_keys table, records written by hand."""
    con = open_store(path, create=True)
    for table in KEYED:
        con.execute(f"ALTER TABLE {table} DROP COLUMN lead_key")
    con.execute("DROP TABLE lead_keys")
    set_meta(con, "schema_version", "6")
    con.execute("INSERT INTO leads VALUES ('B', '2026-07-02', 'web', NULL, NULL, NULL, NULL, NULL, NULL, 80, false, "
                "NULL, NULL, NULL, 'open', NULL), ('A', '2026-07-01', 'web', NULL, NULL, NULL, NULL, NULL, NULL, 80, "
                "false, NULL, NULL, NULL, 'converted', NULL)")
    con.execute("INSERT INTO deals VALUES ('D1', 'A', NULL, '2026-07-05', 100, 'closed_won', NULL, '2026-07-20', "
                "NULL, NULL), ('D2', 'NOT LOADED', NULL, '2026-07-06', 50, 'discovery', NULL, NULL, NULL, NULL)")
    con.execute("INSERT INTO activities VALUES ('X1', 'B', NULL, 'R1', '2026-07-03', 'call'), "
                "('X2', NULL, 'D1', 'R1', '2026-07-06', 'call')")
    con.execute("INSERT INTO campaign_touches VALUES ('A', 'C1', '2026-06-30')")
    close(con)


def test_an_older_file_gets_its_keys_when_opened(tmp_path):
    path = tmp_path / "v6.duckdb"
    _older_file(path)
    con = connect(path)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("7",)
    assert unlinked(con) == []
    assert keys(con, "leads", "lead_id") == {"A": 1, "B": 2}  # creation order; the unloaded lead's id after them
    assert keys(con, "deals", "deal_id") == {"D1": 1, "D2": 3}
    assert keys(con, "activities", "activity_id") == {"X1": 2, "X2": None}
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
    close(con)


def test_an_older_file_opened_read_only_says_it_must_be_upgraded_first(tmp_path):
    path = tmp_path / "v6.duckdb"
    _older_file(path)
    with pytest.raises(DatabaseUnreadable, match=r"older Accord \(schema 6\).*open it once where it can be written"):
        connect(path, read_only=True)
    close(connect(path))  # opened writable once: upgraded, then readable read-only
    con = connect(path, read_only=True)
    assert unlinked(con) == []
    close(con)
