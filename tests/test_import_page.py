"""Import page: AppTest (log and quarantine shown) and browser (a real upload, rights, demo replacement)."""
from __future__ import annotations

from pathlib import Path

import pytest

from apptest_support import open_page as open_app_page
from apptest_support import table
from browser_support import assert_clean, expect, expect_text, open_page, reruns
from conftest import LEADERSHIP
from core.ingest import SourceFile, import_as
from core.store import open_store

LEADS_CSV = (
    "lead_id,created_at,source,score,status\n"
    "N1,2026-08-01 10:00,webinar,75,open\n"
    "N2,2026-08-02 11:00,referral,40,open\n"
    "N3,not a date,webinar,50,open\n"
)


def test_import_page_shows_log_and_quarantine(tiny_db_copy, use_db):
    con = open_store(tiny_db_copy)
    summary = import_as(con, LEADERSHIP, "accord", [SourceFile("leads.csv", LEADS_CSV.encode())])
    con.close()
    assert (summary.by_table["leads"].loaded, summary.by_table["leads"].quarantined) == (2, 1)
    use_db(tiny_db_copy)
    at = open_app_page("pages/import_data.py")
    log, quarantine = table(at, "rows_quarantined"), table(at, "column_name")
    assert log["file_name"].tolist() == ["leads.csv"] and int(log["rows_quarantined"][0]) == 1
    assert quarantine["line"].tolist() == [4] and quarantine["column_name"].tolist() == ["created_at"]


def test_viewer_may_not_import(tiny):
    from core.edits import EditRefused
    from core.models import Actor

    with pytest.raises(EditRefused, match="may not import"):
        import_as(tiny, Actor(name="Vic", team="viewer"), "accord", [SourceFile("leads.csv", LEADS_CSV.encode())])
    assert tiny.execute("SELECT count(*) FROM leads WHERE lead_id LIKE 'N%'").fetchone()[0] == 0


def _upload_and_import(page, path: Path) -> None:
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    expect(page.get_by_text(path.name).first).to_be_visible()
    button = page.get_by_role("button", name="Import", exact=True)
    expect(button).to_be_enabled()  # drawn by the run the upload started
    with reruns(page):
        button.click()


def test_upload_in_the_browser_loads_good_rows_and_quarantines_bad(browser, server_for, tiny_db_copy, tmp_path):
    csv = tmp_path / "leads.csv"
    csv.write_bytes(("\ufeff" + LEADS_CSV).replace("\n", "\r\n").encode("utf-8"))  # BOM + CRLF, as Excel saves
    server = server_for(tiny_db_copy)
    page = open_page(browser, server, "import_data")
    _upload_and_import(page, csv)
    expect_text(page, "2 rows loaded", "1 quarantined")
    expect_text(page, "1 quarantined rows")  # the quarantine list (a canvas grid: its cells are checked below)
    assert_clean(page, "import-upload")
    page.close()
    server.stop()  # DuckDB lets one process hold the file
    con = open_store(tiny_db_copy)
    assert con.execute("SELECT count(*) FROM leads WHERE lead_id IN ('N1', 'N2')").fetchone()[0] == 2
    assert con.execute("SELECT line, column_name FROM quarantine").fetchall() == [(4, "created_at")]
    con.close()


def test_upload_of_a_binary_file_gives_a_message(browser, server_for, tiny_db_copy, tmp_path):
    junk = tmp_path / "export.csv"
    junk.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 20)
    server = server_for(tiny_db_copy)
    page = open_page(browser, server, "import_data")
    _upload_and_import(page, junk)
    expect_text(page, "Nothing was imported")
    assert_clean(page, "import-binary")


def _add_outlier(path) -> None:
    from core.db import transaction

    con = open_store(path)
    with transaction(con, ("records",)) as cur:
        cur.execute("INSERT INTO deals (deal_id, created_at, amount, stage, closed_at) "
                    "VALUES ('BIG', '2026-07-01', 900000000, 'closed_won', '2026-07-20')")
    con.close()


def test_an_editor_excludes_a_flagged_deal_and_a_viewer_cannot(tiny_db_copy, use_db):
    from apptest_support import PERSONAS, card, click, texts

    _add_outlier(tiny_db_copy)
    use_db(tiny_db_copy)
    overview = open_app_page("pages/overview.py", period="2026-Q3")
    with_big = card(overview, "won_revenue")

    viewer = open_app_page("pages/import_data.py", persona=PERSONAS["viewer"])
    flagged = table(viewer, "why")
    assert flagged.loc[0, "record_id"] == "BIG" and flagged.loc[0, "counted"] == "yes"
    assert next(b for b in viewer.button if b.label == "Exclude it from the figures").disabled

    at = open_app_page("pages/import_data.py", persona=PERSONAS["sales"])
    assert at.selectbox(key="import_exclude_id").value == "BIG"
    at.text_input(key="import_exclude_reason").set_value("900M is a typo")
    click(at, "Exclude it from the figures")
    assert not at.exception
    assert "Excluded deal BIG." in texts(at)
    assert table(at, "why").loc[0, "counted"] == "no: excluded"
    assert table(at, "decision")[["record_id", "decision", "reason"]].values.tolist() == [
        ["BIG", "excluded", "900M is a typo"]]
    assert card(open_app_page("pages/overview.py", period="2026-Q3"), "won_revenue") != with_big
    at.text_input(key="import_exclude_reason").set_value("it was real after all")
    click(at, "Restore it")
    assert "Restored deal BIG." in texts(at)
    assert card(open_app_page("pages/overview.py", period="2026-Q3"), "won_revenue") == with_big


def test_the_upload_limit_is_the_settings_and_a_larger_file_never_reaches_the_import(browser, server_for,
                                                                                     tiny_db_copy, tmp_path):
    big = tmp_path / "leads.csv"
    big.write_bytes(("lead_id,created_at,source,status\n"
                     + "".join(f"B{i},2026-08-01 10:00,webinar,open\n" for i in range(40_000))).encode())
    assert 1024 * 1024 < big.stat().st_size < 2 * 1024 * 1024
    server = server_for(tiny_db_copy, ACCORD_MAX_UPLOAD_MB="1")
    page = open_page(browser, server, "import_data")
    expect(page.get_by_text("CSV files (up to 1 MiB each;", exact=False)).to_be_visible()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(big))
    expect(page.get_by_text("File must be", exact=False).first).to_be_visible()  # the uploader's own refusal
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_disabled()
    assert_clean(page, "import-too-big")
    con = open_store(tiny_db_copy)
    assert con.execute("SELECT count(*) FROM leads WHERE lead_id LIKE 'B%'").fetchone()[0] == 0
    con.close()
