"""Sales' side of the SLA from the CRMs people use: Salesforce Task and Event exports and HubSpot calls,
e-mails and meetings load as activities (tiny hand-made exports in tests/fixtures/salesforce and
tests/fixtures/hubspot, in the documented shapes), and speed to lead becomes computable from them."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from core.ingest import SourceFile, files_from_paths, import_files, quarantine_rows
from core.metrics.sla import response_sla
from core.periods import parse_period

NOW = datetime(2026, 1, 15, 12, 0, 0)
FIXTURES = Path(__file__).with_name("fixtures")
SF, HS = FIXTURES / "salesforce", FIXTURES / "hubspot"


def activities(con) -> list[tuple]:
    return con.execute(
        "SELECT activity_id, lead_id, deal_id, rep_id, CAST(occurred_at AS VARCHAR), kind FROM activities ORDER BY activity_id"
    ).fetchall()


def upper_header(data: bytes) -> bytes:
    """The same export as Data Loader writes it: API names in upper case."""
    head, _, rest = data.partition(b"\n")
    return head.upper() + b"\n" + rest


def test_salesforce_task_and_event_exports(con):
    summary = import_files(con, "salesforce", files_from_paths([SF]), actor="test", now=NOW)
    assert {f.file_name: f.kind for f in summary.files} == {"Event.csv": "event", "Lead.csv": "lead", "Task.csv": "task"}
    lead1, lead2, lead3 = (f"00Q00000000000{i}AAA" for i in (1, 2, 3))
    rep1, rep2 = "005000000000001AAA", "005000000000002AAA"
    assert activities(con) == [
        # completed call: CompletedDateTime wins over CreatedDate
        ("00T000000000001AAA", lead1, None, rep1, "2024-03-04 09:15:00", "call"),
        # e-mail task: no completion time, so when it was logged
        ("00T000000000002AAA", lead1, None, rep1, "2024-03-04 11:00:00", "email"),
        # on the contact lead 2 was converted into (ConvertedContactId) and its opportunity; "Call back" → call
        ("00T000000000003AAA", lead2, "006000000000002AAA", rep1, "2024-03-04 10:40:00", "call"),
        # events: a meeting at its start; Type Call makes it a call
        ("00U000000000001AAA", lead3, None, rep2, "2024-03-06 15:00:00", "meeting"),
        ("00U000000000002AAA", lead1, None, rep1, "2024-03-07 09:00:00", "call"),
    ]
    assert summary.by_table["activities"].loaded == 5 and summary.by_table["activities"].quarantined == 0
    task_note = next(m for m in summary.messages if m.startswith("Task.csv"))
    for words in ("1 row(s) marked IsDeleted", "1 open task(s)", "1 list e-mail(s)",
                  "1 task(s) that are not a call, e-mail or meeting", "1 activit(ies) on neither a lead nor an opportunity",
                  "1 on contacts"):
        assert words in task_note, task_note
    event_note = next(m for m in summary.messages if m.startswith("Event.csv"))
    assert "1 row(s) marked IsDeleted" in event_note and "1 meeting(s) still to come" in event_note
    # the owners are reps (placeholders until a reps file names them)
    assert con.execute("SELECT rep_id, name, team FROM reps ORDER BY rep_id").fetchall() == [
        (rep1, f"Salesforce user {rep1}", "unknown"), (rep2, f"Salesforce user {rep2}", "unknown")]
    assert quarantine_rows(con).empty
    assert not any(f.code == "no_activities" for f in summary.profile)


def test_salesforce_activities_make_speed_to_lead_computable(con):
    import_files(con, "salesforce", files_from_paths([SF]), actor="test", now=NOW)
    # quality leads (Rating Hot = 80 ≥ 60): lead 1 (created 09:00, first touch 09:15 → 0.25 h, met) and
    # lead 3 (created 2024-03-05 08:00, first touch the meeting on 03-06 15:00 → 31 h, breached)
    sla = response_sla(con, parse_period("2024-Q1"), datetime(2024, 3, 31))
    assert (sla.met, sla.breached, sla.pending) == (1, 1, 0)
    assert sla.compliance == 0.5
    assert sla.median_hours_to_first_touch == pytest.approx((0.25 + 31) / 2)


def test_salesforce_data_loader_activity_headers(con):
    files = [SourceFile(name, upper_header((SF / name).read_bytes())) for name in ("Lead.csv", "Task.csv", "Event.csv")]
    summary = import_files(con, "salesforce", files, actor="test", now=NOW)
    assert summary.by_table["activities"].loaded == 5
    assert len(activities(con)) == 5


def test_salesforce_activities_without_the_lead_export(con):
    """Without the Lead file, an activity on a contact cannot be traced back to its converted lead: it is
    skipped (counted, with how to fix it); activities on leads and opportunities load."""
    summary = import_files(con, "salesforce", [SourceFile("Task.csv", (SF / "Task.csv").read_bytes())], actor="test", now=NOW)
    got = {r[0]: (r[1], r[2]) for r in activities(con)}
    assert got == {
        "00T000000000001AAA": ("00Q000000000001AAA", None),
        "00T000000000002AAA": ("00Q000000000001AAA", None),
        "00T000000000003AAA": (None, "006000000000002AAA"),  # its opportunity still links it
    }
    note = next(m for m in summary.messages if m.startswith("Task.csv"))
    assert "1 activit(ies) on neither a lead nor an opportunity (1 on contacts" in note


def test_salesforce_task_status_without_isclosed(con):
    task = (
        "Id,WhoId,OwnerId,Subject,Status,Type,CreatedDate\n"
        "00T1,00QA,005A,Call,Completed,Call,2024-01-02T10:00:00Z\n"
        "00T2,00QA,005A,Call,In Progress,Call,2024-01-02T11:00:00Z\n"
        "00T3,00QA,005A,Meeting with CFO,Completed,,2024-01-02T12:00:00Z\n"
    )
    summary = import_files(con, "salesforce", [SourceFile("tasks.csv", task.encode())], actor="test", now=NOW)
    assert [(r[0], r[5]) for r in activities(con)] == [("00T1", "call"), ("00T3", "meeting")]
    assert any("1 open task(s)" in m for m in summary.messages)


def test_salesforce_future_task_is_quarantined_not_loaded(con):
    """A completed task dated after the import is a wrong date, not a plan: quarantined with the reason."""
    task = ("Id,WhoId,OwnerId,Subject,Status,Type,IsClosed,CreatedDate\n"
            "00T1,00QA,005A,Call,Completed,Call,true,2099-01-02T10:00:00Z\n")
    import_files(con, "salesforce", [SourceFile("Task.csv", task.encode())], actor="test", now=NOW)
    q = quarantine_rows(con)
    assert q["reason"].tolist() == [
        "occurred at is dated 2099-01-02 10:00:00, after the import (2026-01-15 12:00:00 UTC)"]
    assert con.execute("SELECT count(*) FROM activities").fetchone()[0] == 0


def test_hubspot_calls_emails_meetings(con):
    summary = import_files(con, "hubspot", files_from_paths([HS]), actor="test", now=NOW)
    assert {f.file_name: f.kind for f in summary.files} == {
        "calls.csv": "calls", "contacts.csv": "contacts", "emails.csv": "emails", "meetings.csv": "meetings"}
    assert activities(con) == [
        ("5001", "101", None, "71", "2024-03-04 09:40:00", "call"),
        ("5002", "102", None, "71", "2024-03-04 11:00:00", "call"),  # no answer is still an attempt
        ("6001", "103", None, "72", "2024-03-05 08:45:00", "email"),
        ("6003", "103", None, "72", "2024-03-05 11:00:00", "email"),  # first associated contact
        ("7001", "101", None, "71", "2024-03-06 15:00:00", "meeting"),
    ]
    notes = {m.split(" ", 1)[0]: m for m in summary.messages}
    assert "1 call(s) canceled or still queued" in notes["calls.csv"]
    assert "1 activit(ies) with no associated contact or deal id" in notes["calls.csv"]
    assert "1 incoming e-mail(s)" in notes["emails.csv"]
    assert "1 canceled meeting(s)" in notes["meetings.csv"] and "1 meeting(s) still to come" in notes["meetings.csv"]
    # owner assignment: from the contacts export (101) and from the calls export where only it has it (102)
    assigned = dict(con.execute("SELECT lead_id, CAST(assigned_at AS VARCHAR) FROM leads").fetchall())
    assert assigned == {"101": "2024-03-04 09:10:00", "102": "2024-03-04 10:30:00", "103": None}
    # the newer lifecycle header fills mql_at
    mql = dict(con.execute("SELECT lead_id, CAST(mql_at AS VARCHAR) FROM leads").fetchall())
    assert mql == {"101": "2024-03-04 09:05:00", "102": None, "103": "2024-03-05 08:30:00"}
    assert quarantine_rows(con).empty
    assert con.execute("SELECT rep_id FROM reps ORDER BY rep_id").fetchall() == [("71",), ("72",)]


def test_hubspot_activities_make_speed_to_lead_computable(con):
    import_files(con, "hubspot", files_from_paths([HS]), actor="test", now=NOW)
    # quality leads (mql_at set): 101 — clock at assignment 09:10, first touch 09:40 → 0.5 h;
    # 103 — no assignment, clock at creation 08:00, first touch the e-mail at 08:45 → 0.75 h
    sla = response_sla(con, parse_period("2024-Q1"), datetime(2024, 3, 31))
    assert (sla.met, sla.breached, sla.pending) == (2, 0, 0)
    assert sla.compliance == 1.0
    assert sla.median_hours_to_first_touch == pytest.approx(0.625)


def test_hubspot_ui_labels_and_a_mixed_engagements_export(con):
    ui_calls = (
        "Record ID,Activity date,Activity assigned to,Call title,Call status,Associated Contact IDs\n"
        "1,03/04/2024 09:40,Ann Lee,Intro,COMPLETED,101\n"
    )
    mixed = (
        "engagement_id,type,timestamp,owner_id,contact_ids\n"
        "e1,CALL,2024-03-04T10:00:00Z,71,101\n"
        "e2,EMAIL,2024-03-04T10:05:00Z,71,101\n"
        "e3,MEETING,2024-03-04T10:10:00Z,71,101\n"
        "e4,NOTE,2024-03-04T10:15:00Z,71,101\n"
        "e5,INCOMING_EMAIL,2024-03-04T10:20:00Z,71,101\n"
        "e6,FORWARDED_EMAIL,2024-03-04T10:25:00Z,71,101\n"
    )
    summary = import_files(con, "hubspot", [SourceFile("hubspot-calls-export.csv", ui_calls.encode()),
                                            SourceFile("engagements.csv", mixed.encode())], actor="test", now=NOW)
    assert [f.kind for f in summary.files] == ["calls", "engagements"]
    assert [(r[0], r[3], r[4], r[5]) for r in activities(con)] == [
        ("1", "Ann Lee", "2024-03-04 09:40:00", "call"),
        ("e1", "71", "2024-03-04 10:00:00", "call"),
        ("e2", "71", "2024-03-04 10:05:00", "email"),
        ("e3", "71", "2024-03-04 10:10:00", "meeting"),
        ("e6", "71", "2024-03-04 10:25:00", "email"),
    ]
    note = next(m for m in summary.messages if m.startswith("engagements.csv"))
    assert "1 incoming e-mail(s)" in note and "1 engagement(s) that are not a call, e-mail or meeting" in note


def test_hubspot_activity_export_without_association_ids_says_so(con):
    calls = "hs_object_id,hs_timestamp,hubspot_owner_id,hs_call_title\n1,2024-03-04T09:40:00Z,71,Intro\n"
    summary = import_files(con, "hubspot", [SourceFile("calls.csv", calls.encode())], actor="test", now=NOW)
    assert con.execute("SELECT count(*) FROM activities").fetchone()[0] == 0
    assert any("include associations when exporting" in m for m in summary.messages)


def test_activity_export_without_owner_column_is_refused_plainly(con):
    calls = "hs_object_id,hs_timestamp,hs_call_title,associated_contact_ids\n1,2024-03-04T09:40:00Z,Intro,101\n"
    summary = import_files(con, "hubspot", [SourceFile("calls.csv", calls.encode())], actor="test", now=NOW)
    assert not summary.imported_anything
    assert any("hubspot_owner_id" in m and "missing" in m for m in summary.messages), summary.messages


def test_reimporting_activities_changes_nothing(con):
    import_files(con, "hubspot", files_from_paths([HS]), actor="test", now=NOW)
    before = activities(con)
    again = import_files(con, "hubspot", files_from_paths([HS]), actor="test", now=NOW)
    assert activities(con) == before
    assert again.by_table["activities"].unchanged == 5 and again.by_table["activities"].loaded == 0


def test_hubspot_meeting_in_epoch_milliseconds_still_to_come(con):
    """The legacy API's epoch milliseconds are read too when deciding a meeting has not happened yet."""
    meetings = ("hs_object_id,hs_timestamp,hubspot_owner_id,hs_meeting_title,associated_contact_ids\n"
                "1,1709737200000,71,Demo,101\n"  # 2024-03-06 15:00 UTC
                "2,1893456000000,71,Renewal,101\n")  # 2030-01-01
    summary = import_files(con, "hubspot", [SourceFile("meetings.csv", meetings.encode())], actor="test", now=NOW)
    assert [(r[0], r[4]) for r in activities(con)] == [("1", "2024-03-06 15:00:00")]
    assert any("1 meeting(s) still to come" in m for m in summary.messages)
