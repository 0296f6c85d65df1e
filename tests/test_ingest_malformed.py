"""A corpus of malformed files, generated here. Each must give a plain message or a quarantined row with
a reason; nothing but AccordError may escape import_files, and no good row may be lost."""
from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pytest

from conftest import csv_bytes
from core.errors import AccordError
from core.ingest import SourceFile, import_files, quarantine_csv, quarantine_rows

NOW = datetime(2026, 1, 15, 12, 0, 0)
H = "lead_id,created_at,source,status"
GOOD = ["G1,2024-01-02 10:00:00,email,open", "G2,2024-01-03,paid_search,accepted"]
DH = "deal_id,created_at,amount,stage,closed_at"
GOOD_DEALS = ["D1,2024-01-01,100,proposal,", "D2,2024-01-01,250.5,closed_won,2024-02-01"]


@dataclass
class Case:
    id: str
    files: list[tuple[str, bytes]]
    loaded: dict[str, int]  # rows that must be in each table afterwards (the good rows)
    message: str | None = None  # words expected in one of the summary messages
    reason: str | None = None  # words expected in one quarantine reason
    quarantined: int = 0  # distinct quarantined lines
    preset: str = "accord"
    max_bytes: int | None = None
    check: Callable | None = None


def _value(con, sql):
    return con.execute(sql).fetchone()[0]


CASES = [
    Case("empty-file", [("leads.csv", b"")], {"leads": 0}, message="is empty"),
    Case("whitespace-only", [("leads.csv", b"  \r\n\n \t\n")], {"leads": 0}, message="is empty"),
    Case("binary-nul", [("leads.csv", b"lead_id\x00\x01\x02\xff" * 20)], {"leads": 0}, message="binary"),
    Case("excel-workbook", [("leads.csv", b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 50)], {"leads": 0}, message="Excel"),
    Case("gzip", [("leads.csv", gzip.compress(csv_bytes(H, *GOOD)))], {"leads": 0}, message="gzip"),
    Case("header-only", [("leads.csv", csv_bytes(H))], {"leads": 0}, message="no data rows"),
    Case("utf8-bom", [("leads.csv", b"\xef\xbb\xbf" + csv_bytes(H, *GOOD))], {"leads": 2}),
    Case(
        "cp1252", [("leads.csv", csv_bytes("lead_id,created_at,source,status,company", GOOD[0] + ",Caf\u00e9 \u20ac", encoding="cp1252"))],
        {"leads": 1}, message="Windows-1252",
        check=lambda con: _value(con, "SELECT company FROM leads") == "Caf\u00e9 \u20ac",
    ),
    Case("utf16-bom", [("leads.csv", ("\ufeff" + H + "\r\n" + "\r\n".join(GOOD) + "\r\n").encode("utf-16-le"))], {"leads": 2}),
    Case("semicolons", [("leads.csv", csv_bytes(H.replace(",", ";"), *(g.replace(",", ";") for g in GOOD)))], {"leads": 2}),
    Case(
        "semicolon-decimal-comma", [("deals.csv", csv_bytes("deal_id;created_at;amount;stage;closed_at", "D1;2024-01-01;1234,50;proposal;", "D2;2024-01-01;1.234,50;proposal;"))],
        {"deals": 2}, check=lambda con: _value(con, "SELECT sum(amount) FROM deals") == pytest.approx(2469.0),
    ),
    Case("tabs", [("leads.csv", csv_bytes(H.replace(",", "\t"), *(g.replace(",", "\t") for g in GOOD)))], {"leads": 2}),
    Case("crlf", [("leads.csv", csv_bytes(H, *GOOD, eol="\r\n"))], {"leads": 2}),
    Case("cr-only", [("leads.csv", csv_bytes(H, *GOOD, eol="\r"))], {"leads": 2}),
    Case("missing-required-column", [("leads.csv", csv_bytes("lead_id,created_at,status", "G1,2024-01-02,open"))], {"leads": 0}, message="source"),
    Case("none-of-the-columns", [("stuff.csv", csv_bytes("alpha,beta,gamma", "1,2,3"))], {"leads": 0}, message="none of the expected columns"),
    Case("wrong-preset", [("sales_pipeline.csv", csv_bytes("opportunity_id,deal_stage", "X1,Won"))], {"leads": 0}, message="none of the expected columns", preset="olist"),
    Case("bad-date", [("leads.csv", csv_bytes(H, *GOOD, "B1,yesterday,email,open"))], {"leads": 2}, reason="is not a date", quarantined=1),
    Case("impossible-date", [("leads.csv", csv_bytes(H, *GOOD, "B1,2024-02-30,email,open"))], {"leads": 2}, reason="is not a date", quarantined=1),
    Case("implausible-year", [("leads.csv", csv_bytes(H, *GOOD, "B1,1066-10-14,email,open"))], {"leads": 2}, reason="outside the years", quarantined=1),
    Case("day-first-date", [("leads.csv", csv_bytes(H, *GOOD, "B1,31/12/2024,email,open"))], {"leads": 2}, reason="is not a date", quarantined=1),
    Case("negative-amount", [("deals.csv", csv_bytes(DH, *GOOD_DEALS, "B1,2024-01-01,-5,proposal,"))], {"deals": 2}, reason="negative", quarantined=1),
    Case("amount-not-a-number", [("deals.csv", csv_bytes(DH, *GOOD_DEALS, "B1,2024-01-01,lots,proposal,"))], {"deals": 2}, reason="is not a number", quarantined=1),
    Case("unknown-stage", [("deals.csv", csv_bytes(DH, *GOOD_DEALS, "B1,2024-01-01,5,haggling,"))], {"deals": 2}, reason="unknown stage 'haggling'", quarantined=1),
    Case("closed-without-date", [("deals.csv", csv_bytes(DH, *GOOD_DEALS, "B1,2024-01-01,5,closed_lost,"))], {"deals": 2}, reason="needs a close date", quarantined=1),
    Case("open-with-close-date", [("deals.csv", csv_bytes(DH, *GOOD_DEALS, "B1,2024-01-01,5,proposal,2024-03-01"))], {"deals": 2}, reason="cannot have a close date", quarantined=1),
    Case("unknown-status", [("leads.csv", csv_bytes(H, *GOOD, "B1,2024-01-02,email,hot"))], {"leads": 2}, reason="unknown status 'hot'", quarantined=1),
    Case(
        "unknown-seniority", [("leads.csv", csv_bytes(H + ",seniority", GOOD[0] + ",vp", "B1,2024-01-02,email,open,emperor"))],
        {"leads": 1}, reason="unknown seniority", quarantined=1,
    ),
    Case(
        "duplicate-keys", [("leads.csv", csv_bytes(H, *GOOD, "G1,2024-05-05,web,open"))], {"leads": 2}, reason="duplicate lead id 'G1' (first on line 2",
        quarantined=1, check=lambda con: _value(con, "SELECT source FROM leads WHERE lead_id = 'G1'") == "email",
    ),
    Case("score-not-integer", [("leads.csv", csv_bytes(H + ",score", GOOD[0] + ",70", "B1,2024-01-02,email,open,high"))], {"leads": 1}, reason="not a whole number", quarantined=1),
    Case("score-out-of-range", [("leads.csv", csv_bytes(H + ",score", GOOD[0] + ",70", "B1,2024-01-02,email,open,150"))], {"leads": 1}, reason="above 100", quarantined=1),
    Case("bad-boolean", [("leads.csv", csv_bytes(H + ",demo_requested", GOOD[0] + ",yes", "B1,2024-01-02,email,open,maybe"))], {"leads": 1}, reason="true/false", quarantined=1),
    Case("required-value-blank", [("leads.csv", csv_bytes(H, *GOOD, "B1,2024-01-02,,open"))], {"leads": 2}, reason="source is required", quarantined=1),
    Case("ragged-too-many", [("leads.csv", csv_bytes(H, *GOOD, "B1,2024-01-02,email,open,extra,more"))], {"leads": 2}, reason="ragged", quarantined=1),
    Case("ragged-too-few", [("leads.csv", csv_bytes(H, GOOD[0], "B1,2024-01-02", GOOD[1]))], {"leads": 2}, reason="ragged", quarantined=1),
    Case("unbalanced-quote", [("leads.csv", csv_bytes(H, GOOD[0], 'B1,2024-01-02,"email,open', GOOD[1]))], {"leads": 2}, reason="unbalanced quote", quarantined=1),
    Case(
        "quoted-newline-and-delimiter", [("leads.csv", csv_bytes(H + ",company", GOOD[0] + ',"Acme, Inc.\nBerlin"', GOOD[1] + ',"Say ""hi"""'))],
        {"leads": 2}, check=lambda con: _value(con, "SELECT company FROM leads WHERE lead_id = 'G1'") == "Acme, Inc.\nBerlin"
        and _value(con, "SELECT company FROM leads WHERE lead_id = 'G2'") == 'Say "hi"',
    ),
    Case("blank-and-hollow-rows", [("leads.csv", csv_bytes("", H, GOOD[0], "", ",,,", GOOD[1], "", ";;"))], {"leads": 2}, message="empty row"),
    Case("oversize", [("leads.csv", csv_bytes(H, *GOOD * 200))], {"leads": 0}, message="upload limit", max_bytes=1024),
    Case(
        "timezone-offset", [("leads.csv", csv_bytes(H, "Z1,2024-01-02T10:00:00+02:00,email,open", "Z2,2024-01-02T10:00:00Z,email,open"))],
        {"leads": 2}, check=lambda con: [str(r[0]) for r in con.execute("SELECT created_at FROM leads ORDER BY lead_id").fetchall()]
        == ["2024-01-02 08:00:00", "2024-01-02 10:00:00"],
    ),
    Case("campaign-ends-before-start", [("campaigns.csv", csv_bytes("campaign_id,name,channel,started_on,ended_on", "C1,Ok,email,2024-01-01,", "C2,Bad,email,2024-02-01,2024-01-01"))], {"campaigns": 1}, reason="ends before it starts", quarantined=1),
    Case(
        "formula-in-cell", [("leads.csv", csv_bytes(H + ",company", GOOD[0] + ",=HYPERLINK(\"http://x\")", "B1,2024-01-02,email,open,=1+1"))],
        {"leads": 2},
        check=lambda con: _value(con, "SELECT company FROM leads WHERE lead_id = 'G1'") == '=HYPERLINK("http://x")',
    ),
    Case("duplicate-header", [("leads.csv", csv_bytes(H + ",source", GOOD[0] + ",ignored"))], {"leads": 1},
         check=lambda con: _value(con, "SELECT source FROM leads") == "email"),
    Case(
        "olist-bad-revenue", [("olist_closed_deals_dataset.csv", csv_bytes("mql_id,sdr_id,sr_id,won_date,declared_monthly_revenue", "m1,s1,r1,2018-01-01 10:00:00,100.0", "m2,s1,r1,2018-01-02 10:00:00,lots"))],
        {"deals": 1}, preset="olist", reason="is not a number", quarantined=1,
    ),
    Case(
        "maven-without-products", [("sales_pipeline.csv", csv_bytes("opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value", "O1,Ann,GTX Basic,Acme,Won,2017-01-01,2017-02-01,500", "O2,Ann,GTX Basic,Acme,Lost,2017-01-01,2017-02-01,0"))],
        {"deals": 1, "deal_stage_history": 2}, preset="maven", reason="import products.csv", quarantined=1,
    ),
    Case(
        "maven-unknown-stage", [("sales_pipeline.csv", csv_bytes("opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value", "O1,Ann,GTX Basic,Acme,Won,2017-01-01,2017-02-01,500", "O2,Ann,GTX Basic,Acme,Stalled,2017-01-01,,"))],
        {"deals": 1}, preset="maven", reason="Maven stages", quarantined=1,
    ),
    Case(
        "hubspot-custom-stage", [("deals.csv", csv_bytes("hs_object_id,dealstage,amount,createdate,closedate,hs_is_closed_won,hs_is_closed", "1,closedwon,10,2024-01-01,2024-02-01,true,true", "2,12345678,20,2024-01-01,2024-02-01,true,true", "3,99999,30,2024-01-01,2024-02-01,false,false"))],
        {"deals": 2}, preset="hubspot", reason="HubSpot default-pipeline stages", quarantined=1,
    ),
    Case(
        "salesforce-contact-member", [("CampaignMember.csv", csv_bytes("Id,CampaignId,LeadId,ContactId,CreatedDate", "1,C1,00Q1,,2024-01-01T00:00:00.000Z", "2,C1,,003X,2024-01-01T00:00:00.000Z"))],
        {"campaign_touches": 1}, preset="salesforce", reason="member is a contact", quarantined=1,
    ),
    Case(
        "xeducation-bad-converted", [("Leads.csv", csv_bytes("Prospect ID,Lead Source,Converted,Tags,Lead Quality", "p1,Google,1,,High in Relevance", "p2,Google,yes,,"))],
        {"leads": 1}, preset="xeducation", reason="is not 0 or 1", quarantined=1,
    ),
    Case("two-files-one-bad", [("leads.csv", csv_bytes(H, *GOOD)), ("deals.csv", b"\x00\x01binary")], {"leads": 2}, message="binary"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_file(case: Case, con):
    files = [SourceFile(n, d) for n, d in case.files]
    try:
        summary = import_files(con, case.preset, files, actor="test", max_bytes=case.max_bytes, now=NOW)
    except AccordError as exc:  # allowed, but then it must be a plain sentence
        pytest.fail(f"import refused the whole batch: {exc}")
    for table, n in case.loaded.items():
        assert _value(con, f"SELECT count(*) FROM {table}") == n, table
    if case.message:
        assert any(case.message.lower() in m.lower() for m in summary.messages), summary.messages
    q = quarantine_rows(con)
    assert len(q[["file_name", "line"]].drop_duplicates()) == case.quarantined, list(q["reason"])
    if case.quarantined:
        assert any(case.reason in r for r in q["reason"]), list(q["reason"])
        assert (q["line"] >= 2).all() and q["raw"].str.len().gt(0).all() and q["file_name"].str.len().gt(0).all()
        assert sum(c.quarantined for c in summary.by_table.values()) >= case.quarantined
    for table, c in summary.by_table.items():  # every row read is accounted for exactly once
        assert c.read == c.loaded + c.updated + c.unchanged + c.quarantined, (table, c)
    for m in summary.messages:
        assert "\n" not in m and "Traceback" not in m
    if case.check:
        assert case.check(con)


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


def test_quarantine_line_and_raw_text(con):
    data = csv_bytes(H, GOOD[0], "B1,never,email,open", GOOD[1], 'B2,2024-01-01,"multi\nline",nope')
    summary = import_files(con, "accord", [SourceFile("leads.csv", data)], actor="test", now=NOW)
    q = quarantine_rows(con, summary.import_ids[0])
    assert list(q["line"]) == [3, 5]
    assert list(q["raw"]) == ["B1,never,email,open", 'B2,2024-01-01,"multi\nline",nope']
    assert list(q["column_name"]) == ["created_at", "status"]
    assert set(q["target"]) == {"leads"} and set(q["file_name"]) == {"leads.csv"}


def test_quarantine_download_neutralises_formulas(con):
    data = csv_bytes(H, GOOD[0], "=cmd|' /C calc'!A0,never,email,open")
    import_files(con, "accord", [SourceFile("leads.csv", data)], actor="test", now=NOW)
    text = quarantine_csv(con).decode("utf-8")
    assert "'=cmd" in text and "\n=cmd" not in text and ",=cmd" not in text


def test_unknown_preset_is_a_plain_error(con):
    with pytest.raises(AccordError, match="choose one of accord, hubspot, salesforce, olist, maven, xeducation"):
        import_files(con, "pipedrive", [SourceFile("x.csv", b"a\n1\n")], actor="test")
