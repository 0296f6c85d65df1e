"""Time is sane and numbers fit: a corpus of future-dated, extreme and contradictory rows, generated here.

Each bad row is quarantined with a plain reason (or, for values no figure uses, flagged in the profile)
while the good rows of the same file load; the as-of an import stores never moves past the import."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from conftest import csv_bytes as csv
from core.db import get_meta, set_meta
from core.ingest import SourceFile, import_files, quarantine_rows

NOW = datetime(2026, 1, 15, 12, 0, 0)
AFTER = "after the import (2026-01-15 12:00:00 UTC)"
LEADS_H = "lead_id,created_at,source,status"
DEALS_H = "deal_id,created_at,amount,stage,expected_close_on,closed_at"


def run(con, *files, preset="accord", now=NOW):
    return import_files(con, preset, [SourceFile(n, d) for n, d in files], actor="test", now=now)


def reasons(con) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for line, reason in quarantine_rows(con)[["line", "reason"]].itertuples(index=False):
        out.setdefault(int(line), []).append(reason)
    return out


def ids(con, table: str, key: str) -> list[str]:
    return [r[0] for r in con.execute(f"SELECT {key} FROM {table} ORDER BY {key}").fetchall()]


# --- time ---------------------------------------------------------------------------------------------

def test_one_future_lead_does_not_hijack_the_as_of(con):
    summary = run(con, ("leads.csv", csv(LEADS_H, "L1,2025-11-02 10:00:00,email,open", "L2,2099-06-30,email,open",
                                         "L3,2025-12-01 09:30:00,web,open")))
    assert ids(con, "leads", "lead_id") == ["L1", "L3"]
    assert reasons(con) == {3: [f"created at is dated 2099-06-30 00:00:00, {AFTER}"]}
    assert get_meta(con, "as_of") == "2025-12-01T09:30:00"
    flag = next(f for f in summary.profile if f.code == "quarantined_future")
    assert (flag.count, flag.text) == (1, "1 row dated after the import was quarantined, so it cannot move the "
                                          "dashboard's as-of past today; see the quarantine list for the dates.")
    assert any(m.startswith("Data quality: 1 row dated after the import") for m in summary.messages)


def test_tolerance_of_one_day_and_the_as_of_capped_at_the_import(con):
    limit = NOW + timedelta(days=1)
    rows = [
        f"T1,{NOW + timedelta(hours=12):%Y-%m-%d %H:%M:%S},email,open",  # within a day: clocks and zones differ
        f"T2,{limit:%Y-%m-%d %H:%M:%S},email,open",  # exactly a day later: still allowed
        f"T3,{limit + timedelta(seconds=1):%Y-%m-%d %H:%M:%S},email,open",  # one second more: refused
    ]
    run(con, ("leads.csv", csv(LEADS_H, *rows)))
    assert ids(con, "leads", "lead_id") == ["T1", "T2"]
    assert reasons(con) == {4: [f"created at is dated 2026-01-16 12:00:01, {AFTER}"]}
    assert get_meta(con, "as_of") == NOW.isoformat()  # never past the import, even for tolerated rows


def test_as_of_capped_even_when_the_database_already_holds_a_future_row(con):
    con.execute("INSERT INTO leads (lead_id, created_at, source, status) VALUES ('OLD', TIMESTAMP '2030-01-01', 'x', 'open')")
    run(con, ("leads.csv", csv(LEADS_H, "L1,2025-11-02 10:00:00,email,open")))
    assert get_meta(con, "as_of") == NOW.isoformat()


@pytest.mark.parametrize("table, header, row, column", [
    ("leads", "lead_id,created_at,source,status,mql_at", "L9,2025-01-01,email,open,2031-05-05 08:00:00", "mql at"),
    ("leads", "lead_id,created_at,source,status,assigned_at", "L9,2025-01-01,email,open,2031-05-05 08:00:00", "assigned at"),
    ("activities", "activity_id,lead_id,rep_id,occurred_at,kind", "A9,L1,R1,2031-05-05 08:00:00,call", "occurred at"),
    ("deals", "deal_id,created_at,amount,stage", "D9,2031-05-05 08:00:00,10,proposal", "created at"),
    ("deals", "deal_id,created_at,amount,stage,closed_at", "D9,2025-01-01,10,closed_won,2031-05-05 08:00:00", "closed at"),
    ("deal_stage_history", "deal_id,stage,entered_at", "D1,proposal,2031-05-05 08:00:00", "entered at"),
    ("campaign_touches", "lead_id,campaign_id,touched_at", "L1,C1,2031-05-05 08:00:00", "touched at"),
])
def test_every_stamped_event_is_checked(con, table, header, row, column):
    run(con, (f"{table}.csv", csv(header, row)))
    assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert reasons(con) == {2: [f"{column} is dated 2031-05-05 08:00:00, {AFTER}"]}


def test_plans_may_lie_in_the_future(con):
    """An expected close date is a plan; campaigns are planned ahead too."""
    run(con, ("deals.csv", csv(DEALS_H, "D1,2025-12-01,100,proposal,2027-06-30,")),
        ("campaigns.csv", csv("campaign_id,name,channel,started_on,ended_on", "C1,Summit,events,2026-09-01,2026-09-03")))
    assert con.execute("SELECT CAST(expected_close_on AS VARCHAR) FROM deals").fetchone()[0] == "2027-06-30"
    assert ids(con, "campaigns", "campaign_id") == ["C1"]
    assert quarantine_rows(con).empty
    assert get_meta(con, "as_of") == "2025-12-01T00:00:00"


def test_a_year_out_of_range_is_one_reason_not_two(con):
    run(con, ("leads.csv", csv(LEADS_H, "L1,2150-01-01,email,open")))
    assert reasons(con) == {2: ["created at '2150-01-01' is outside the years 1900-2100"]}


def test_salesforce_closed_won_dated_2099(con):
    opp = csv("Id,StageName,Amount,CloseDate,CreatedDate,IsClosed,IsWon",
              "006A,Closed Won,100,2025-03-01,2025-01-01T00:00:00.000Z,true,true",
              "006B,Closed Won,100,2099-03-01,2025-01-01T00:00:00.000Z,true,true",
              "006C,Prospecting,100,2099-03-01,2025-01-01T00:00:00.000Z,false,false")
    run(con, ("Opportunity.csv", opp), preset="salesforce")
    assert ids(con, "deals", "deal_id") == ["006A", "006C"]  # an open deal's CloseDate is its expected close
    assert reasons(con) == {3: [f"closed at is dated 2099-03-01 00:00:00, {AFTER}"]}
    assert get_meta(con, "as_of") == "2025-03-01T00:00:00"


def test_olist_future_first_contact(con):
    mqls = csv("mql_id,first_contact_date,landing_page_id,origin", "m1,2018-01-05,p1,email", "m2,2099-06-30,p1,email")
    run(con, ("olist_marketing_qualified_leads_dataset.csv", mqls), preset="olist")
    assert ids(con, "leads", "lead_id") == ["m1"]
    # created_at and mql_at both carry the date: one quarantined line, two reasons
    assert reasons(con) == {3: [f"created at is dated 2099-06-30 00:00:00, {AFTER}",
                                f"mql at is dated 2099-06-30 00:00:00, {AFTER}"]}


def test_xeducation_stamps_the_import_time_which_is_never_future(con):
    leads = csv("Prospect ID,Lead Source,Converted,Tags,Lead Quality", "p1,Google,1,,High in Relevance")
    summary = run(con, ("Leads.csv", leads), preset="xeducation")
    assert summary.by_table["leads"].loaded == 1 and quarantine_rows(con).empty
    assert get_meta(con, "as_of") == NOW.isoformat()


# --- numbers the JSON can hold ------------------------------------------------------------------------

@pytest.mark.parametrize("amount, reason", [
    ("1e308", "amount '1e308' is above the upper bound of 1,000,000,000,000"),
    ("1000000000001", "amount '1000000000001' is above the upper bound of 1,000,000,000,000"),
    ("inf", "amount 'inf' is not a finite number"),
    ("-Infinity", "amount '-Infinity' is not a finite number"),
    ("NaN", "amount 'NaN' is not a finite number"),
    ("1e400", "amount '1e400' is not a finite number"),  # overflows a double
])
def test_amounts_that_no_report_could_print(con, amount, reason):
    summary = run(con, ("deals.csv", csv(DEALS_H, "D1,2025-01-01,100,proposal,,", f"D2,2025-01-01,{amount},proposal,,")))
    assert ids(con, "deals", "deal_id") == ["D1"]
    assert reasons(con) == {3: [reason]}
    assert [f.code for f in summary.profile if f.code.startswith("quarantined")] == ["quarantined_bad_numbers"]


def test_the_upper_bound_itself_loads(con):
    run(con, ("deals.csv", csv(DEALS_H, "D1,2025-01-01,1000000000000,proposal,,")))
    assert con.execute("SELECT amount FROM deals").fetchone()[0] == 1e12


@pytest.mark.parametrize("value, reason", [
    ("50000000", "employees '50000000' is above the upper bound of 10,000,000"),
    ("1e10", "employees '1e10' is out of range (whole numbers up to 2,147,483,647)"),
    ("12.5", "employees '12.5' is not a whole number"),
    ("inf", "employees 'inf' is not a finite number"),
    ("lots", "employees 'lots' is not a whole number"),
])
def test_counts_out_of_range(con, value, reason):
    run(con, ("leads.csv", csv(LEADS_H + ",employees", "L1,2025-01-01,email,open,250", f"L2,2025-01-01,email,open,{value}")))
    assert ids(con, "leads", "lead_id") == ["L1"]
    assert reasons(con) == {3: [reason]}


def test_campaign_cost_bound_and_score_bound(con):
    run(con, ("campaigns.csv", csv("campaign_id,name,channel,started_on,cost", "C1,Ok,email,2025-01-01,5000",
                                   "C2,Typo,email,2025-01-01,5e15")),
        ("leads.csv", csv(LEADS_H + ",score", "L1,2025-01-01,email,open,1000")))
    assert ids(con, "campaigns", "campaign_id") == ["C1"]
    q = quarantine_rows(con)
    assert sorted(q["reason"]) == ["cost '5e15' is above the upper bound of 1,000,000,000,000", "score '1000' is above 100"]


def test_olist_declared_revenue_that_overflows(con):
    closed = csv("mql_id,sdr_id,sr_id,won_date,declared_monthly_revenue",
                 "m1,s,r,2018-01-01 10:00:00,100", "m2,s,r,2018-01-02 10:00:00,1e308",
                 "m3,s,r,2018-01-03 10:00:00,1e11")
    run(con, ("olist_closed_deals_dataset.csv", closed), preset="olist")
    assert ids(con, "deals", "deal_id") == ["m1"]
    assert reasons(con) == {
        3: ["declared monthly revenue '1e308' × 12 is not a finite number"],
        4: ["amount '1200000000000.0' is above the upper bound of 1,000,000,000,000"],
    }


# --- contradictions ------------------------------------------------------------------------------------

def test_deals_closed_before_they_were_created(con):
    summary = run(con, ("deals.csv", csv(
        DEALS_H,
        "D1,2025-03-05 15:00:00,100,closed_won,,2025-03-05",  # same day, CRM close date at midnight: fine
        "D2,2025-03-05,100,closed_won,,2025-01-01",  # won two months before it existed
        "D3,2025-03-05,100,closed_lost,,2025-03-04 23:00:00",  # lost the day before
    )))
    assert ids(con, "deals", "deal_id") == ["D1"]
    assert reasons(con) == {
        3: ["closed on 2025-01-01, before it was created (2025-03-05)"],
        4: ["closed on 2025-03-04, before it was created (2025-03-05)"],
    }
    flag = next(f for f in summary.profile if f.code == "quarantined_closed_before_created")
    assert (flag.count, flag.text) == (2, "2 deals closed before they were created were quarantined.")


def test_salesforce_won_before_created_and_probability_of_1000(con):
    opp = csv("Id,StageName,Amount,Probability,CloseDate,CreatedDate,IsClosed,IsWon",
              "006A,Closed Won,24120000,100,2025-03-01,2025-01-01T00:00:00.000Z,true,true",
              "006B,Closed Won,5000,100,2024-12-01,2025-01-01T00:00:00.000Z,true,true",
              "006C,Negotiation/Review,7000,1000,2025-06-30,2025-01-01T00:00:00.000Z,false,false",
              "006D,Prospecting,7000,10,2025-06-30,2025-01-01T00:00:00.000Z,false,false")
    summary = run(con, ("Opportunity.csv", opp), preset="salesforce")
    assert ids(con, "deals", "deal_id") == ["006A", "006C", "006D"]
    assert reasons(con) == {3: ["closed on 2024-12-01, before it was created (2025-01-01)"]}
    flag = next(f for f in summary.profile if f.code == "probability_out_of_range")
    assert (flag.count, flag.total, flag.records) == (1, 4, ("006C",))
    assert flag.text == ("1 opportunity has a probability outside 0-100 (e.g. 1000); Accord's figures do not use "
                         "probability, so it loads as it is, but the source needs correcting.")


def test_hubspot_probability_flag(con):
    deals = csv("hs_object_id,dealstage,amount,createdate,closedate,hs_deal_stage_probability",
                "1,appointmentscheduled,10,2025-01-01,2025-06-01,0.2", "2,qualifiedtobuy,10,2025-01-01,2025-06-01,250")
    summary = run(con, ("deals.csv", deals), preset="hubspot")
    assert [(f.code, f.count, f.records) for f in summary.profile if f.code == "probability_out_of_range"] == [
        ("probability_out_of_range", 1, ("2",))]
    assert con.execute("SELECT count(*) FROM deals").fetchone()[0] == 2


def test_good_rows_survive_a_corpus_of_bad_ones(con):
    """Everything at once in one file: only the good rows load, every bad one is quarantined once."""
    summary = run(con, ("deals.csv", csv(
        DEALS_H,
        "G1,2025-01-01,100,proposal,2025-06-30,",
        "B1,2099-01-01,100,proposal,,",
        "B2,2025-01-01,inf,proposal,,",
        "B3,2025-01-01,1e13,closed_won,,2025-02-01",
        "B4,2025-02-01,100,closed_won,,2025-01-01",
        "G2,2025-01-01,250.5,closed_won,,2025-02-01",
        "B5,2025-01-01,5,closed_won,,2099-02-01",
    )))
    assert ids(con, "deals", "deal_id") == ["G1", "G2"]
    assert sorted(reasons(con)) == [3, 4, 5, 6, 8]
    c = summary.by_table["deals"]
    assert (c.read, c.loaded, c.quarantined) == (7, 2, 5)
    codes = {f.code: f.count for f in summary.profile if f.code.startswith("quarantined")}
    assert codes == {"quarantined_future": 2, "quarantined_bad_numbers": 2, "quarantined_closed_before_created": 1}
    assert get_meta(con, "as_of") == "2025-02-01T00:00:00"


def test_existing_as_of_meta_is_replaced_not_kept_when_newer_than_now(con):
    set_meta(con, "as_of", "2099-01-01T00:00:00")
    run(con, ("leads.csv", csv(LEADS_H, "L1,2025-11-02 10:00:00,email,open")))
    assert get_meta(con, "as_of") == "2025-11-02T10:00:00"
