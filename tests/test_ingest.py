"""Import engine behaviour: update in place by natural key, one transaction per import, the record of
every import, the command line, and the presets' cross-file links."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

import pytest

import core.ingest.engine as engine
from conftest import csv_bytes
from core.db import KEYED, data_version, get_meta
from core.errors import AccordError
from core.ingest import PRESETS, SourceFile, files_from_paths, import_files, quarantine_rows
from core.ingest.canonical import KEYS, TABLES
from core.store import open_store

NOW = datetime(2026, 1, 15, 12, 0, 0)
CANONICAL = tuple(TABLES)


LEADS = csv_bytes(
    "lead_id,created_at,source,status,score,company",
    "L1,2024-01-02 10:00:00,email,open,50,Acme",
    "L2,2024-01-03 11:00:00,paid_search,open,70,Beta",
    "L3,2024-01-04 12:00:00,events,accepted,,Gamma",
)
DEALS = csv_bytes(
    "deal_id,lead_id,created_at,amount,stage,closed_at",
    "D1,L2,2024-01-10,1000,proposal,",
    "D2,,2024-01-11,500,closed_won,2024-02-01 09:30:00",
)


def snapshot(con) -> dict[str, list[str]]:
    tables = (*CANONICAL, "import_runs", "quarantine", "meta")
    return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in tables}


def run(con, *files, preset="accord", **kw):
    return import_files(con, preset, [SourceFile(n, d) for n, d in files], actor="ana", now=kw.pop("now", NOW), **kw)


def test_presets_are_the_documented_six():
    assert list(PRESETS) == ["accord", "hubspot", "salesforce", "olist", "maven", "xeducation"]


def test_canonical_allow_list_matches_schema(con):
    for table, cols in TABLES.items():
        got = [r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [table]
        ).fetchall()]
        # every column but Accord's own keys, which no import carries (core.db.LINK_KEYS)
        assert [c for c in got if c not in ("lead_key", "deal_key")] == [c.name for c in cols], table
        assert ("lead_key" in got) == (table in KEYED), table
        assert ("deal_key" in got) == (table in ("deals", "deal_stage_history")), table
        for key in KEYS[table]:
            assert key in got


def test_update_in_place_by_natural_key(con):
    first = run(con, ("leads.csv", LEADS), ("deals.csv", DEALS))
    assert first.by_table["leads"].loaded == 3 and first.by_table["deals"].loaded == 2
    changed = csv_bytes(
        "lead_id,created_at,source,status,score,company",
        "L1,2024-01-02 10:00:00,email,rejected,50,Acme",  # status changed
        "L2,2024-01-03 11:00:00,paid_search,open,70,Beta",  # same
        "L3,2024-01-04 12:00:00,events,accepted,90,Gamma",  # score set
        "L4,2024-01-05 12:00:00,events,open,,Delta",  # new
    )
    second = run(con, ("leads.csv", changed))
    c = second.by_table["leads"]
    assert (c.read, c.loaded, c.updated, c.unchanged, c.quarantined) == (4, 1, 2, 1, 0)
    rows = dict(con.execute("SELECT lead_id, status || '/' || coalesce(CAST(score AS VARCHAR), '-') FROM leads").fetchall())
    assert rows == {"L1": "rejected/50", "L2": "open/70", "L3": "accepted/90", "L4": "open/-"}
    assert con.execute("SELECT count(*) FROM leads").fetchone()[0] == 4


def test_columns_missing_from_a_file_keep_their_values(con):
    run(con, ("leads.csv", LEADS))
    narrow = csv_bytes("lead_id,created_at,source,status", "L1,2024-01-02 10:00:00,email,accepted")
    summary = run(con, ("leads.csv", narrow))
    assert summary.by_table["leads"].updated == 1
    assert con.execute("SELECT status, score, company FROM leads WHERE lead_id = 'L1'").fetchone() == ("accepted", 50, "Acme")


def test_reimport_is_a_noop(con):
    run(con, ("leads.csv", LEADS), ("deals.csv", DEALS))
    before = {t: v for t, v in snapshot(con).items() if t in CANONICAL}
    version = data_version(con)
    again = run(con, ("leads.csv", LEADS), ("deals.csv", DEALS))
    assert {t: v for t, v in snapshot(con).items() if t in CANONICAL} == before
    assert all(c.unchanged == c.read and c.loaded == c.updated == 0 for c in again.by_table.values())
    assert data_version(con) == version + 1  # every import is a write, even one that changes nothing


def test_later_file_wins_within_one_import(con):
    other = csv_bytes("lead_id,created_at,source,status", "L1,2024-01-02 10:00:00,web,converted")
    summary = run(con, ("leads.csv", LEADS), ("more_leads.csv", other))
    assert con.execute("SELECT status, source FROM leads WHERE lead_id = 'L1'").fetchone() == ("converted", "web")
    assert summary.by_table["leads"].read == 4 and summary.by_table["leads"].loaded == 3


@pytest.mark.parametrize("step", ["apply_batch", "_write_quarantine", "latest_stamp"])
def test_a_failure_mid_import_leaves_the_database_as_it_was(con, monkeypatch, step):
    run(con, ("leads.csv", LEADS))
    before = snapshot(con)
    version = data_version(con)
    calls = {"n": 0}
    real = getattr(engine, step)

    def failing(*args, **kwargs):
        calls["n"] += 1
        if step != "apply_batch" or calls["n"] == 2:  # the second batch: the first was already written
            raise RuntimeError("disk on fire")
        return real(*args, **kwargs)

    monkeypatch.setattr(engine, step, failing)
    bad_rows = csv_bytes("lead_id,created_at,source,status", "L1,2024-01-02,web,converted", "L9,nope,web,open")
    with pytest.raises(AccordError, match="nothing was saved"):
        run(con, ("leads.csv", bad_rows), ("deals.csv", DEALS))
    assert snapshot(con) == before
    assert data_version(con) == version


def test_import_runs_record_every_file(con):
    bad = csv_bytes("lead_id,created_at,source,status", "L1,2024-01-02,web,open", "L2,never,web,open")
    summary = run(con, ("leads.csv", bad), ("deals.csv", DEALS), ("empty.csv", b""))
    runs = con.execute(
        "SELECT import_id, preset, file_name, file_sha256, imported_at, imported_by, rows_read, rows_loaded, "
        "rows_updated, rows_quarantined FROM import_runs ORDER BY file_name"
    ).fetchall()
    by_name = {r[2]: r for r in runs}
    assert set(by_name) == {"leads.csv", "deals.csv", "empty.csv"}
    leads = by_name["leads.csv"]
    assert leads[1] == "accord" and leads[3] == hashlib.sha256(bad).hexdigest()
    assert leads[4] == NOW and leads[5] == "ana"
    assert leads[6:] == (2, 1, 0, 1)
    assert by_name["deals.csv"][6:] == (2, 2, 0, 0)
    assert by_name["empty.csv"][6:] == (0, 0, 0, 0)
    assert sorted(summary.import_ids) == sorted(r[0] for r in runs)
    q = quarantine_rows(con, leads[0])
    assert len(q) == 1 and q.iloc[0]["line"] == 3 and q.iloc[0]["file_name"] == "leads.csv"
    assert quarantine_rows(con, by_name["deals.csv"][0]).empty
    assert any("empty.csv" in m and "empty" in m for m in summary.messages)
    # a second import adds runs, never rewrites them
    run(con, ("leads.csv", bad))
    assert con.execute("SELECT count(*) FROM import_runs").fetchone()[0] == 4


def test_meta_after_import(con):
    run(con, ("leads.csv", LEADS), ("deals.csv", DEALS))
    assert get_meta(con, "source") == "imported: accord (2 files)"
    assert get_meta(con, "is_demo") == "0"
    assert get_meta(con, "as_of") == "2024-02-01T09:30:00"


def test_nothing_importable_leaves_meta_alone(con):
    before = get_meta(con, "source")
    summary = run(con, ("leads.csv", b""))
    assert not summary.imported_anything
    assert get_meta(con, "source") == before


def test_progress_is_reported(con):
    seen = []
    run(con, ("leads.csv", LEADS), progress=lambda f, text: seen.append((f, text)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and 0 <= fractions[0]


def test_actor_is_required(con):
    with pytest.raises(AccordError):
        import_files(con, "accord", [SourceFile("leads.csv", LEADS)], actor=" ")


def test_files_from_paths(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "b.csv").write_bytes(b"x\n1\n")
    (folder / "a.CSV").write_bytes(b"y\n2\n")
    (folder / "notes.txt").write_text("skip me")
    single = tmp_path / "c.csv"
    single.write_bytes(b"z\n3\n")
    files = files_from_paths([folder, str(single)])
    assert [f.name for f in files] == ["a.CSV", "b.csv", "c.csv"]
    assert files[2].data == b"z\n3\n"
    with pytest.raises(AccordError, match="no such file"):
        files_from_paths([tmp_path / "missing.csv"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(AccordError, match="no .csv files"):
        files_from_paths([tmp_path / "empty"])


def cli_import(db: str, preset: str, paths: list[str], actor: str) -> int:
    """`python -m core import` in this process (core.cli.main), so its output can be captured."""
    from core.cli import main

    return main(["import", "--db", db, "--preset", preset, "--actor", actor, *paths])


def test_cli_import(tmp_path, capsys):
    (tmp_path / "leads.csv").write_bytes(LEADS)
    (tmp_path / "junk.csv").write_bytes(b"\x00\x00")
    db = tmp_path / "db" / "accord.duckdb"
    code = cli_import(str(db), "accord", [str(tmp_path)], "cli-user")
    out, err = capsys.readouterr()
    assert code == 0
    payload = json.loads(out)
    assert payload["ok"] and payload["by_table"]["leads"]["loaded"] == 3
    assert "leads" in err and "binary" in err and "Traceback" not in err
    con = open_store(db)
    try:
        assert con.execute("SELECT imported_by FROM import_runs LIMIT 1").fetchone()[0] == "cli-user"
    finally:
        con.close()


@pytest.mark.parametrize("preset, paths, words", [
    ("nope", ["."], "Unknown import preset"),
    ("accord", ["/definitely/not/here.csv"], "no such file"),
])
def test_cli_import_failures_are_one_line(tmp_path, capsys, preset, paths, words):
    code = cli_import(str(tmp_path / "x.duckdb"), preset, paths, "cli")
    out, err = capsys.readouterr()
    assert code == 2
    assert words in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert json.loads(out)["ok"] is False


def test_cli_import_nothing_importable_exits_2(tmp_path, capsys):
    (tmp_path / "empty.csv").write_bytes(b"")
    code = cli_import(str(tmp_path / "x.duckdb"), "accord", [str(tmp_path / "empty.csv")], "cli")
    out, err = capsys.readouterr()
    assert code == 2 and "is empty" in err and json.loads(out)["ok"] is False


def test_cli_import_locked_database(tmp_path, capsys, monkeypatch):
    import core.store

    def locked(*a, **k):
        raise AccordError("x.duckdb is in use by another process (DuckDB allows one writer).")

    monkeypatch.setattr(core.store, "open_store", locked)
    (tmp_path / "leads.csv").write_bytes(LEADS)
    code = cli_import(str(tmp_path / "x.duckdb"), "accord", [str(tmp_path / "leads.csv")], "cli")
    assert code == 2 and "in use" in capsys.readouterr().err


def test_recognised_by_header_whatever_the_file_name(con):
    summary = run(con, ("export (3).csv", DEALS), ("whatever.csv", LEADS))
    assert {f.kind for f in summary.files} == {"deals", "leads"}


def test_salesforce_lead_links_opportunities_loaded_earlier(con):
    opp = csv_bytes(
        "Id,StageName,Amount,CloseDate,CreatedDate,IsClosed,IsWon",
        "006A,Closed Won,100,2024-03-01,2024-01-01T00:00:00.000Z,true,true",
    )
    run(con, ("Opportunity.csv", opp), preset="salesforce")
    assert con.execute("SELECT lead_id FROM deals").fetchone()[0] is None
    lead = csv_bytes(
        "Id,LastName,Company,Status,IsConverted,ConvertedOpportunityId,CreatedDate",
        "00QA,Doe,Acme,Closed - Converted,true,006A,2023-12-01T00:00:00.000Z",
    )
    run(con, ("Lead.csv", lead), preset="salesforce")
    assert con.execute("SELECT lead_id FROM deals WHERE deal_id = '006A'").fetchone()[0] == "00QA"
    # re-importing the opportunities alone keeps the link
    run(con, ("Opportunity.csv", opp), preset="salesforce")
    assert con.execute("SELECT lead_id FROM deals WHERE deal_id = '006A'").fetchone()[0] == "00QA"


def test_salesforce_data_loader_headers_and_stage_mapping(con):
    opp = csv_bytes(
        "ID,STAGENAME,AMOUNT,CLOSEDATE,CREATEDDATE,OWNERID",
        "0061,Prospecting,1,2024-06-01,2024-01-01T00:00:00.000Z,005A",
        "0062,Needs Analysis,1,2024-06-01,2024-01-01T00:00:00.000Z,005A",
        "0063,Perception Analysis,1,2024-06-01,2024-01-01T00:00:00.000Z,005A",
        "0064,Negotiation/Review,1,2024-06-01,2024-01-01T00:00:00.000Z,005A",
        "0065,Closed Lost,1,2024-06-01,2024-01-01T00:00:00.000Z,005A",
    )
    run(con, ("opportunities.csv", opp), preset="salesforce")
    got = dict(con.execute("SELECT deal_id, stage FROM deals").fetchall())
    assert got == {"0061": "discovery", "0062": "qualification", "0063": "proposal", "0064": "negotiation", "0065": "closed_lost"}
    assert con.execute("SELECT count(*) FROM deals WHERE expected_close_on IS NOT NULL").fetchone()[0] == 4
    assert con.execute("SELECT name, team FROM reps").fetchone() == ("Salesforce user 005A", "unknown")


def test_hubspot_internal_names_and_labels_agree(con):
    api = csv_bytes(
        "hs_object_id,createdate,hs_lead_status,lifecyclestage,hs_lifecyclestage_marketingqualifiedlead_date,hubspot_owner_id",
        "1,2024-01-01T10:00:00Z,IN_PROGRESS,marketingqualifiedlead,2024-01-02T10:00:00Z,42",
    )
    ui = csv_bytes(
        "Record ID,Create Date,Lead Status,Lifecycle Stage,Became a Marketing Qualified Lead Date,Contact owner",
        "2,01/01/2024 10:00,In Progress,Marketing Qualified Lead,01/02/2024 10:00,42",
    )
    run(con, ("contacts.csv", api), ("hubspot-contacts-export.csv", ui), preset="hubspot")
    rows = con.execute("SELECT lead_id, created_at, mql_at, status, owner_id FROM leads ORDER BY lead_id").fetchall()
    assert [r[1:] for r in rows] == [(datetime(2024, 1, 1, 10), datetime(2024, 1, 2, 10), "accepted", "42")] * 2


def test_hubspot_deal_stage_mapping(con):
    deals = csv_bytes(
        "Record ID,Deal Stage,Amount,Create Date,Close Date",
        *[f"{i},{s},10,2024-01-01,2024-03-01" for i, s in enumerate(
            ["Appointment Scheduled", "qualifiedtobuy", "presentationscheduled", "Decision Maker Bought-In",
             "contractsent", "Closed Won", "closedlost"])],
    )
    run(con, ("deals.csv", deals), preset="hubspot")
    got = [r[0] for r in con.execute("SELECT stage FROM deals ORDER BY CAST(deal_id AS INT)").fetchall()]
    assert got == ["discovery", "qualification", "proposal", "negotiation", "negotiation", "closed_won", "closed_lost"]


def test_olist_closed_deals_before_their_mqls(con):
    closed = csv_bytes("mql_id,seller_id,sdr_id,sr_id,won_date,declared_monthly_revenue", "m1,s1,sdr1,sr1,2018-02-01 10:00:00,10.0")
    mqls = csv_bytes("mql_id,first_contact_date,landing_page_id,origin", "m1,2018-01-05,p1,email", "m2,2018-01-06,p1,")
    run(con, ("olist_closed_deals_dataset.csv", closed), preset="olist")
    assert con.execute("SELECT created_at, amount FROM deals").fetchone() == (datetime(2018, 2, 1, 10), 120.0)
    run(con, ("olist_marketing_qualified_leads_dataset.csv", mqls), preset="olist")
    # the stored deal marks m1 converted; its SDR is only in the closed-deals file
    assert dict(con.execute("SELECT lead_id, status || '/' || coalesce(owner_id, '-') FROM leads").fetchall()) == {
        "m1": "converted/-", "m2": "open/-",
    }
    # importing both together: the deal starts at first contact and the lead is owned by its SDR
    run(con, ("olist_closed_deals_dataset.csv", closed), ("olist_marketing_qualified_leads_dataset.csv", mqls), preset="olist")
    assert con.execute("SELECT created_at FROM deals").fetchone()[0] == datetime(2018, 1, 5)
    assert con.execute("SELECT owner_id FROM leads WHERE lead_id = 'm1'").fetchone()[0] == "sdr1"
    # and the MQL file alone afterwards keeps that owner
    run(con, ("olist_marketing_qualified_leads_dataset.csv", mqls), preset="olist")
    assert con.execute("SELECT owner_id, status FROM leads WHERE lead_id = 'm1'").fetchone() == ("sdr1", "converted")



def test_reopening_a_deal_without_a_close_date_column(con):
    run(con, ("deals.csv", DEALS))
    reopened = csv_bytes("deal_id,created_at,amount,stage", "D2,2024-01-11,500,negotiation", "D1,2024-01-10,1000,closed_lost")
    summary = run(con, ("deals.csv", reopened))
    assert con.execute("SELECT stage, closed_at FROM deals WHERE deal_id = 'D2'").fetchone() == ("negotiation", None)
    assert con.execute("SELECT stage FROM deals WHERE deal_id = 'D1'").fetchone()[0] == "proposal"  # refused
    assert summary.by_table["deals"].updated == 1 and summary.by_table["deals"].quarantined == 1


@pytest.mark.skipif(not __import__("os").environ.get("ACCORD_SLOW_TESTS"), reason="1M-row timing; set ACCORD_SLOW_TESTS=1")
def test_a_million_row_leads_file(con):
    import time

    n = 1_000_000
    body = "\n".join(
        f"L{i:07d},2024-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:00:00,{('email', 'events', 'paid_search')[i % 3]},"
        f"\"Acme, Inc {i % 1000}\",{i % 101},{('open', 'accepted')[i % 2]}"
        for i in range(n)
    )
    data = ("lead_id,created_at,source,company,score,status\n" + body + "\nBAD,never,email,x,1,open\n").encode()
    started = time.perf_counter()
    summary = run(con, ("leads.csv", data))
    elapsed = time.perf_counter() - started
    c = summary.by_table["leads"]
    assert (c.read, c.loaded, c.quarantined) == (n + 1, n, 1)
    assert quarantine_rows(con).iloc[0]["line"] == n + 2
    assert elapsed < 60, elapsed


def test_an_import_summary_reads_as_one_sentence_and_one_row_per_table():
    from core.ingest.engine import FileRun, ImportSummary, TableCounts

    summary = ImportSummary(["i1"], {"leads": TableCounts(read=3, loaded=2, quarantined=1)},
                            files=[FileRun("i1", "leads.csv", "leads")], preset="accord")
    assert summary.headline == "Imported with the accord preset: 2 rows loaded, 0 updated, 0 unchanged, 1 quarantined."
    assert summary.frame().to_dict("records") == [
        {"table": "leads", "read": 3, "loaded": 2, "updated": 0, "unchanged": 0, "quarantined": 1}]
    assert ImportSummary([], {}).headline == "Nothing was imported from these files."


def test_cli_import_prints_the_profile(tmp_path, capsys):
    (tmp_path / "deals.csv").write_bytes(csv_bytes(
        "deal_id,created_at,amount,stage,closed_at", "D1,2024-01-10,0,closed_won,2024-02-01",
        "D2,2024-01-10,100,closed_won,2024-02-02", "D3,2099-01-10,100,proposal,"))
    code = cli_import(str(tmp_path / "x.duckdb"), "accord", [str(tmp_path / "deals.csv")], "cli")
    out, err = capsys.readouterr()
    assert code == 0
    payload = json.loads(out)
    codes = [f["code"] for f in payload["profile"]]
    assert codes == ["no_activities", "no_leads", "won_without_amount", "no_lost_deals", "quarantined_future"]
    assert payload["profile"][2]["text"] == (
        "1 of 2 won deals have no amount (0): won revenue and the average deal size count only the deals with one, and cannot be computed when none has.")
    assert "- Data quality: 1 of 2 won deals have no amount" in err
