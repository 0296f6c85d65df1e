"""Exports in the shapes people actually have: header matching ignores case, spaces and underscores for
every preset (core.ingest.presets.base.norm), Salesforce Data Export / Data Loader / API headers, and
HubSpot's older and newer lifecycle-date headers."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from conftest import csv_bytes as csv
from core.ingest import SourceFile, import_files, quarantine_rows
from core.ingest.presets.base import norm
from core.store import open_store

NOW = datetime(2026, 1, 15, 12, 0, 0)
TABLES = ("reps", "campaigns", "leads", "activities", "deals", "deal_stage_history", "campaign_touches")


def snapshot(con) -> dict[str, list[tuple]]:
    return {t: sorted(map(repr, con.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES}


def imported(preset: str, files: list[tuple[str, bytes]]) -> dict[str, list[tuple]]:
    con = open_store(":memory:", create=True)
    try:
        summary = import_files(con, preset, [SourceFile(n, d) for n, d in files], actor="test", now=NOW)
        assert summary.imported_anything, summary.messages
        assert quarantine_rows(con).empty, list(quarantine_rows(con)["reason"])
        return snapshot(con)
    finally:
        con.close()


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)  # CreatedDate -> Created Date
    return [w for w in re.split(r"[\s_]+", spaced) if w]


VARIANTS = {
    "upper": lambda h: h.upper(),
    "lower": lambda h: h.lower(),
    "snake": lambda h: "_".join(w.lower() for w in _words(h)),
    "spaced title": lambda h: " ".join(w.capitalize() for w in _words(h)),
    "camel": lambda h: "".join(w.capitalize() for w in _words(h)),
    "padded": lambda h: f" {h} ",
}


def reheader(data: bytes, variant) -> bytes:
    head, _, rest = data.decode().partition("\n")
    return (",".join(variant(h) for h in head.split(",")) + "\n" + rest).encode()


CASES = {
    "accord": [("leads.csv", csv("lead_id,created_at,source,status,score,mql_at",
                                 "L1,2025-01-02 10:00:00,email,open,70,2025-01-02 11:00:00")),
               ("deals.csv", csv("deal_id,lead_id,created_at,amount,stage,closed_at",
                                 "D1,L1,2025-01-05,1000,closed_won,2025-02-01"))],
    "olist": [("olist_marketing_qualified_leads_dataset.csv", csv("mql_id,first_contact_date,landing_page_id,origin",
                                                                  "m1,2018-01-05,p1,email")),
              ("olist_closed_deals_dataset.csv", csv("mql_id,seller_id,sdr_id,sr_id,won_date,declared_monthly_revenue",
                                                     "m1,s1,sdr1,sr1,2018-02-01 10:00:00,10.0"))],
    "maven": [("sales_pipeline.csv", csv("opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value",
                                         "O1,Ann,GTX Basic,Acme,Won,2017-01-01,2017-02-01,500",
                                         "O2,Ann,GTX Basic,Acme,Engaging,2017-01-03,,")),
              ("products.csv", csv("product,series,sales_price", "GTX Basic,GTX,550"))],
    "xeducation": [("Leads.csv", csv("Prospect ID,Lead Source,Converted,Tags,Lead Quality,Country",
                                     "p1,Google,1,,High in Relevance,India", "p2,google,0,Ringing,,"))],
    "hubspot": [("contacts.csv", csv("hs_object_id,createdate,lifecyclestage,hs_lead_status,hubspot_owner_id",
                                     "101,2025-01-02T10:00:00Z,lead,NEW,7")),
                ("deals.csv", csv("hs_object_id,dealstage,amount,createdate,closedate,hubspot_owner_id",
                                  "9,closedwon,100,2025-01-03T10:00:00Z,2025-02-01T10:00:00Z,7"))],
    "salesforce": [("Lead.csv", csv("Id,LastName,Company,Status,LeadSource,IsConverted,ConvertedOpportunityId,CreatedDate",
                                    "00QA,Ito,Acme,Closed - Converted,Web,true,006A,2025-01-02T10:00:00.000Z")),
                   ("Opportunity.csv", csv("Id,StageName,Amount,CloseDate,CreatedDate,IsClosed,IsWon,OwnerId",
                                           "006A,Closed Won,100,2025-02-01,2025-01-03T10:00:00.000Z,true,true,005A"))],
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("preset", list(CASES))
def test_header_case_spaces_and_underscores_never_matter(preset, variant):
    files = CASES[preset]
    expected = imported(preset, files)
    assert any(expected[t] for t in ("leads", "deals"))
    assert imported(preset, [(n, reheader(d, VARIANTS[variant])) for n, d in files]) == expected


def test_norm_is_the_one_rule():
    assert {norm(h) for h in ("Create Date", "createdate", "CREATE_DATE", " Create-Date ", "create date")} == {"createdate"}


SF_OPPORTUNITY_API = (
    "Id,IsDeleted,AccountId,Name,StageName,Amount,Probability,ExpectedRevenue,CloseDate,Type,NextStep,LeadSource,"
    "IsClosed,IsWon,ForecastCategory,ForecastCategoryName,CampaignId,HasOpportunityLineItem,Pricebook2Id,OwnerId,"
    "CreatedDate,CreatedById,LastModifiedDate,LastModifiedById,SystemModstamp,LastActivityDate,FiscalQuarter,FiscalYear,Fiscal"
)
SF_LEAD_API = (
    "Id,IsDeleted,MasterRecordId,LastName,FirstName,Salutation,Name,Title,Company,Street,City,State,PostalCode,Country,"
    "Phone,Email,Website,Description,LeadSource,Status,Industry,Rating,AnnualRevenue,NumberOfEmployees,OwnerId,"
    "IsConverted,ConvertedDate,ConvertedAccountId,ConvertedContactId,ConvertedOpportunityId,IsUnreadByOwner,"
    "CreatedDate,CreatedById,LastModifiedDate,LastModifiedById,SystemModstamp,LastActivityDate"
)


@pytest.mark.parametrize("style", ["api", "data loader"])
def test_salesforce_data_export_and_data_loader_objects(style):
    opp = csv(
        SF_OPPORTUNITY_API,
        "0061x00000AAAAAAA1,false,0011x00000AAAAAAA1,Acme renewal,Closed Won,24000,100,24000,2025-03-31,New Customer,,Web,"
        "true,true,Closed,Closed,,false,,0051x00000AAAAAAA1,2025-01-10T09:00:00.000Z,0051x00000AAAAAAA1,"
        "2025-03-31T10:00:00.000Z,0051x00000AAAAAAA1,2025-03-31T10:00:00.000Z,2025-03-30,1,2025,2025 1",
        "0061x00000AAAAAAA2,false,0011x00000AAAAAAA2,Beta new,Proposal/Price Quote,,60,0,2025-06-30,New Customer,,Web,"
        "false,false,Pipeline,Pipeline,,false,,0051x00000AAAAAAA1,2025-02-10T09:00:00.000Z,0051x00000AAAAAAA1,"
        "2025-02-11T10:00:00.000Z,0051x00000AAAAAAA1,2025-02-11T10:00:00.000Z,,2,2025,2025 2",
    )
    lead = csv(
        SF_LEAD_API,
        "00Q1x00000AAAAAAA1,false,,Ito,Ken,Mr.,Ken Ito,VP Sales,Acme,,,,,Japan,,ken@acme.example,,,Web,Closed - Converted,"
        "Technology,Hot,,250,0051x00000AAAAAAA1,true,2025-01-10,0011x00000AAAAAAA1,0031x00000AAAAAAA1,0061x00000AAAAAAA1,"
        "false,2025-01-05T08:00:00.000Z,0051x00000AAAAAAA1,2025-01-10T09:00:00.000Z,0051x00000AAAAAAA1,"
        "2025-01-10T09:00:00.000Z,2025-01-09",
    )
    if style == "data loader":
        opp, lead = reheader(opp, str.upper), reheader(lead, str.upper)
    con = open_store(":memory:", create=True)
    try:
        summary = import_files(con, "salesforce", [SourceFile("extract.csv", opp), SourceFile("extract (1).csv", lead)],
                               actor="test", now=NOW)
        assert [f.kind for f in summary.files] == ["opportunity", "lead"]
        assert con.execute(
            "SELECT deal_id, lead_id, account, amount, stage, CAST(expected_close_on AS VARCHAR), CAST(closed_at AS VARCHAR), "
            "owner_id FROM deals ORDER BY deal_id").fetchall() == [
            ("0061x00000AAAAAAA1", "00Q1x00000AAAAAAA1", "0011x00000AAAAAAA1", 24000.0, "closed_won", None,
             "2025-03-31 00:00:00", "0051x00000AAAAAAA1"),
            ("0061x00000AAAAAAA2", None, "0011x00000AAAAAAA2", 0.0, "proposal", "2025-06-30", None, "0051x00000AAAAAAA1"),
        ]
        assert con.execute(
            "SELECT lead_id, CAST(created_at AS VARCHAR), source, company, industry, employees, country, seniority, score, "
            "owner_id, status FROM leads").fetchall() == [
            ("00Q1x00000AAAAAAA1", "2025-01-05 08:00:00", "Web", "Acme", "Technology", 250, "Japan", "vp", 80,
             "0051x00000AAAAAAA1", "converted")]
        assert any("1 Salesforce opportunit(ies) have no Amount" in m for m in summary.messages)
        assert quarantine_rows(con).empty
    finally:
        con.close()


@pytest.mark.parametrize("header", [
    "Became a Marketing Qualified Lead Date",  # older UI label
    "hs_lifecyclestage_marketingqualifiedlead_date",  # its internal name
    '"Date entered ""Marketing Qualified Lead (Lifecycle Stage Pipeline)"""',  # newer UI label (quoted in CSV)
    "hs_v2_date_entered_marketingqualifiedlead",  # its internal name
    "properties_hs_v2_date_entered_marketingqualifiedlead",  # Airbyte
    "HS_V2_DATE_ENTERED_MARKETINGQUALIFIEDLEAD",
])
def test_hubspot_mql_date_headers(header):
    data = csv(f"Record ID,Create Date,Lifecycle Stage,{header}", "1,2025-01-01 10:00,Marketing Qualified Lead,2025-01-02 11:00")
    con = open_store(":memory:", create=True)
    try:
        import_files(con, "hubspot", [SourceFile("contacts.csv", data)], actor="test", now=NOW)
        assert con.execute("SELECT CAST(mql_at AS VARCHAR) FROM leads").fetchone()[0] == "2025-01-02 11:00:00"
    finally:
        con.close()


def test_hubspot_old_and_new_lifecycle_dates_together():
    """A portal exports both: the legacy date where it is set, else the newer one."""
    data = csv(
        'hs_object_id,createdate,hs_lifecyclestage_marketingqualifiedlead_date,"Date entered ""Marketing Qualified Lead (Lifecycle Stage Pipeline)""",email',
        "1,2025-01-01T10:00:00Z,2025-01-02T11:00:00Z,2025-01-02T11:00:05Z,a@x.example",
        "2,2025-01-01T10:00:00Z,,2025-01-03T09:00:00Z,b@x.example",
        "3,2025-01-01T10:00:00Z,,,c@x.example",
    )
    con = open_store(":memory:", create=True)
    try:
        import_files(con, "hubspot", [SourceFile("contacts.csv", data)], actor="test", now=NOW)
        got = dict(con.execute("SELECT lead_id, CAST(mql_at AS VARCHAR) FROM leads").fetchall())
        assert got == {"1": "2025-01-02 11:00:00", "2": "2025-01-03 09:00:00", "3": None}
    finally:
        con.close()
