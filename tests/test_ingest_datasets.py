"""Importing the real public datasets in ../shared/datasets, checked against figures computed here
independently from the raw files with the csv module (not with the importer's code)."""
from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from core.db import get_meta
from core.ingest import files_from_paths, import_files, quarantine_rows
from core.store import open_store

DATASETS = Path(__file__).parents[1].parent / "shared" / "datasets"
OLIST = DATASETS / "olist-marketing-funnel"
MAVEN = DATASETS / "maven-crm-sales-opportunities"
XEDU = DATASETS / "x-education-lead-scoring"
CANONICAL = ("reps", "campaigns", "leads", "activities", "deals", "deal_stage_history", "campaign_touches")
NOW = datetime(2026, 1, 15, 12, 0, 0)


def _need(folder: Path) -> None:
    if not folder.is_dir():
        pytest.skip(f"dataset folder {folder} is missing (see the datasets README for where it comes from)")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _snapshot(con) -> dict[str, list[tuple]]:
    return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in CANONICAL}


def _assert_reimport_is_noop(con, preset: str, folder: Path, first) -> None:
    before = _snapshot(con)
    again = import_files(con, preset, files_from_paths([folder]), actor="test", now=NOW)
    assert _snapshot(con) == before
    for table, counts in again.by_table.items():
        assert counts.loaded == 0 and counts.updated == 0, table
        assert counts.unchanged == counts.read - counts.quarantined, table
        assert counts.read == first.by_table[table].read, table


@pytest.fixture
def con(tmp_path):
    c = open_store(tmp_path / "ds.duckdb", create=True)
    yield c
    c.close()


def test_olist(con):
    _need(OLIST)
    mqls = _rows(OLIST / "olist_marketing_qualified_leads_dataset.csv")
    closed = _rows(OLIST / "olist_closed_deals_dataset.csv")
    summary = import_files(con, "olist", files_from_paths([OLIST]), actor="test", now=NOW)

    assert summary.by_table["leads"].loaded == len(mqls) == 8000
    assert summary.by_table["deals"].loaded == len(closed) == 842
    assert all(c.quarantined == 0 for c in summary.by_table.values())
    assert quarantine_rows(con).empty
    # every MQL is CRM-qualified, stamped at its first contact
    n, with_mql, same = con.execute(
        "SELECT count(*), count(mql_at), count(*) FILTER (WHERE mql_at = created_at) FROM leads"
    ).fetchone()
    assert (n, with_mql, same) == (8000, 8000, 8000)
    fc = {r["mql_id"]: r["first_contact_date"] for r in mqls}
    sample = con.execute("SELECT lead_id, CAST(mql_at AS DATE) FROM leads ORDER BY lead_id LIMIT 50").fetchall()
    assert all(str(d) == fc[i] for i, d in sample)
    # sources: origin, blanks counted as unknown
    origins = Counter(r["origin"] or "unknown" for r in mqls)
    got = dict(con.execute("SELECT source, count(*) FROM leads GROUP BY source").fetchall())
    assert got == dict(origins)
    assert got["unknown"] == 1099 + 60
    # won deals: count and summed amount (declared monthly revenue × 12)
    revenue = sum(float(r["declared_monthly_revenue"] or 0) for r in closed) * 12
    won, amount = con.execute("SELECT count(*), sum(amount) FROM deals WHERE stage = 'closed_won'").fetchone()
    assert won == 842
    assert amount == pytest.approx(revenue)
    zero = sum(1 for r in closed if float(r["declared_monthly_revenue"] or 0) == 0)
    assert zero == 797 and any("797 of 842" in m for m in summary.messages)
    # leads of closed deals are converted and owned by their SDR; the rest are open
    sdr = {r["mql_id"]: r["sdr_id"] for r in closed}
    assert con.execute("SELECT count(*) FROM leads WHERE status = 'converted'").fetchone()[0] == len(sdr)
    owners = dict(con.execute("SELECT lead_id, owner_id FROM leads WHERE status = 'converted'").fetchall())
    assert owners == sdr
    # deals are owned by the SR, closed at won_date, never created after they closed
    sr = {r["mql_id"]: r["sr_id"] for r in closed}
    assert dict(con.execute("SELECT deal_id, owner_id FROM deals").fetchall()) == sr
    assert con.execute("SELECT count(*) FROM deals WHERE created_at > closed_at").fetchone()[0] == 0
    odd = con.execute(
        "SELECT CAST(created_at AS VARCHAR), CAST(closed_at AS VARCHAR) FROM deals WHERE deal_id = 'b91cf8812365f50ff4bda4bcd6206b05'"
    ).fetchone()
    assert odd[0] == odd[1]  # won two days before first contact: created when won
    # reps: every SDR and SR id once, teams by role
    people = {r["sdr_id"] for r in closed} | {r["sr_id"] for r in closed}
    assert con.execute("SELECT count(*) FROM reps").fetchone()[0] == len(people) == 41
    only_sdr = {r["sdr_id"] for r in closed} - {r["sr_id"] for r in closed}
    teams = dict(con.execute("SELECT rep_id, team FROM reps").fetchall())
    assert all(teams[p] == "sdr" for p in only_sdr)
    # no activities: nothing invented
    assert con.execute("SELECT count(*) FROM activities").fetchone()[0] == 0
    latest = max(r["won_date"] for r in closed)
    assert get_meta(con, "as_of") == latest.replace(" ", "T") == "2018-11-14T18:04:19"
    assert get_meta(con, "is_demo") == "0"
    assert get_meta(con, "source") == "imported: olist (2 files)"
    _assert_reimport_is_noop(con, "olist", OLIST, summary)


def test_maven(con):
    _need(MAVEN)
    pipeline = _rows(MAVEN / "sales_pipeline.csv")
    prices = {re.sub(r"\s", "", r["product"]).lower(): float(r["sales_price"]) for r in _rows(MAVEN / "products.csv")}
    teams = _rows(MAVEN / "sales_teams.csv")
    summary = import_files(con, "maven", files_from_paths([MAVEN]), actor="test", now=NOW)

    assert summary.by_table["deals"].loaded == len(pipeline) == 8800
    assert all(c.quarantined == 0 for c in summary.by_table.values())
    stages = Counter(r["deal_stage"] for r in pipeline)
    got = dict(con.execute("SELECT stage, count(*) FROM deals GROUP BY stage").fetchall())
    assert got == {
        "closed_won": stages["Won"], "closed_lost": stages["Lost"],
        "qualification": stages["Engaging"], "discovery": stages["Prospecting"],
    }
    assert (stages["Lost"], stages["Engaging"], stages["Prospecting"]) == (2473, 1589, 500)
    won_revenue = sum(float(r["close_value"]) for r in pipeline if r["deal_stage"] == "Won")
    assert con.execute("SELECT sum(amount) FROM deals WHERE stage = 'closed_won'").fetchone()[0] == pytest.approx(won_revenue)
    # open and lost deals carry the product's list price (GTXPro = GTX Pro)
    open_value = sum(prices[r["product"].replace(" ", "").lower()] for r in pipeline if r["deal_stage"] in ("Engaging", "Prospecting"))
    lost_value = sum(prices[r["product"].replace(" ", "").lower()] for r in pipeline if r["deal_stage"] == "Lost")
    assert con.execute("SELECT sum(amount) FROM deals WHERE stage IN ('discovery', 'qualification')").fetchone()[0] == pytest.approx(open_value)
    assert con.execute("SELECT sum(amount) FROM deals WHERE stage = 'closed_lost'").fetchone()[0] == pytest.approx(lost_value)
    # sales-sourced: no leads at all
    assert con.execute("SELECT count(*) FROM deals WHERE lead_id IS NOT NULL").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM leads").fetchone()[0] == 0
    # dates
    engaged = [r for r in pipeline if r["engage_date"]]
    sample = {r["opportunity_id"]: r["engage_date"] for r in engaged[:200]}
    got_dates = dict(con.execute("SELECT deal_id, CAST(CAST(created_at AS DATE) AS VARCHAR) FROM deals").fetchall())
    assert all(got_dates[k] == v for k, v in sample.items())
    assert {got_dates[r["opportunity_id"]] for r in pipeline if not r["engage_date"]} == {"2017-12-31"}
    closed_dates = {r["opportunity_id"]: r["close_date"] for r in pipeline if r["deal_stage"] in ("Won", "Lost")}
    got_closed = dict(con.execute("SELECT deal_id, CAST(CAST(closed_at AS DATE) AS VARCHAR) FROM deals WHERE closed_at IS NOT NULL").fetchall())
    assert got_closed == closed_dates
    # reps from sales_teams, teams by regional office; owners are the agents
    assert con.execute("SELECT count(*) FROM reps").fetchone()[0] == len(teams) == 35
    offices = {r["sales_agent"]: "ae-" + r["regional_office"].lower() for r in teams}
    assert dict(con.execute("SELECT rep_id, team FROM reps").fetchall()) == offices
    agents = Counter(r["sales_agent"] for r in pipeline)
    assert dict(con.execute("SELECT owner_id, count(*) FROM deals GROUP BY owner_id").fetchall()) == dict(agents)
    # stage history: one open-stage entry per engaged deal (Prospecting has no date) and one closing entry
    # per closed deal
    closed_n = stages["Won"] + stages["Lost"]
    assert stages["Prospecting"] == 500
    assert con.execute("SELECT count(*) FROM deal_stage_history").fetchone()[0] == 8800 - 500 + closed_n
    assert con.execute("SELECT count(*) FROM deals WHERE account IS NULL").fetchone()[0] == sum(1 for r in pipeline if not r["account"]) == 1425
    assert get_meta(con, "as_of") == "2017-12-31T00:00:00"
    assert any("data dictionary" in m for m in summary.messages)
    _assert_reimport_is_noop(con, "maven", MAVEN, summary)


def test_xeducation(con):
    _need(XEDU)
    leads = _rows(XEDU / "Leads.csv")
    summary = import_files(con, "xeducation", files_from_paths([XEDU]), actor="test", now=NOW)

    assert summary.by_table["leads"].loaded == len(leads) == 9240
    assert summary.by_table["leads"].quarantined == 0
    converted = sum(1 for r in leads if r["Converted"] == "1")
    assert converted == 3561
    assert con.execute("SELECT count(*) FROM leads WHERE status = 'converted'").fetchone()[0] == converted
    rated = sum(1 for r in leads if r["Lead Quality"])
    assert con.execute("SELECT count(score) FROM leads").fetchone()[0] == rated == 9240 - 4767
    high = sum(1 for r in leads if r["Lead Quality"] in ("High in Relevance", "Might be"))
    assert con.execute("SELECT count(*) FROM leads WHERE score >= 60").fetchone()[0] == high
    google = sum(1 for r in leads if r["Lead Source"].lower() == "google")
    assert con.execute("SELECT count(*) FROM leads WHERE source = 'Google'").fetchone()[0] == google == 2873
    assert con.execute("SELECT count(*) FROM leads WHERE source = 'unknown'").fetchone()[0] == 36
    # no dates in the data: every lead is stamped with the import's moment, and the summary says so
    assert con.execute("SELECT min(created_at), max(created_at) FROM leads").fetchone() == (NOW, NOW)
    assert any("has no dates" in m for m in summary.messages)
    not_converted_blank_tags = sum(1 for r in leads if r["Converted"] != "1" and not r["Tags"])
    assert con.execute("SELECT count(*) FROM leads WHERE status = 'open'").fetchone()[0] == not_converted_blank_tags
    # a later import keeps the first import's created_at (re-import is a no-op)
    before = _snapshot(con)
    again = import_files(con, "xeducation", files_from_paths([XEDU]), actor="test", now=datetime(2026, 3, 1))
    assert _snapshot(con) == before
    assert again.by_table["leads"].unchanged == 9240 and again.by_table["leads"].updated == 0
