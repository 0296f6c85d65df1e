"""Browser tier for SLA compliance: the page in Chromium on the tiny world, a policy save, and the breach
list's CSV download (formula cells neutralised)."""
from __future__ import annotations

import shutil

from browser_support import assert_clean, download_text, expect, expect_charts, expect_text, open_page, open_tab
from core.db import transaction
from core.store import open_store


def test_sla_page_shows_both_sides(browser, tiny_server):
    page = open_page(browser, tiny_server, "sla")
    assert_clean(page, "sla-tiny")
    # tiny world, 2026-Q3 as of 08-15 12:00: met L1, L6; breached L2, L3; pending L4 (tests/test_metrics.py)
    expect_text(page, "SLA compliance · 2026-Q3", "Sales' promise", "Marketing's promise", "SLA compliance", "50.0%",
                "2 of 4 met", "2 met, 2 breached, 1 pending", "Median speed to lead", "24.0 h", "p90 26.4 h",
                "Quality leads", "committed 30", "16.7%", "Acceptance rate", "60.0%", "1 quality lead never touched",
                "Compliance by team", "By rep")
    expect_charts(page, at_least=1)


def test_policy_save_and_breach_csv(browser, server_for, tiny_db_file, tmp_path):
    path = tmp_path / "sla-browser.duckdb"
    shutil.copy(tiny_db_file, path)  # our own copy: the shared tiny_server's data stays as it was
    con = open_store(path)
    with transaction(con) as cur:  # a breached lead whose company is a spreadsheet formula
        cur.execute("""INSERT INTO leads (lead_id, created_at, source, company, score, owner_id, status)
                       VALUES ('L11', '2026-07-10 00:00', 'webinar', '=1+2', 90, 'S2', 'open')""")
    con.close()
    server = server_for(path)
    page = open_page(browser, server, "sla")
    # with L11 never touched: met 2 (L1, L6), breached 3 (L2, L3, L11) → 40.0%
    expect_text(page, "40.0%")

    open_tab(page, "SLA policy", "Save new version")
    assert_clean(page, "sla-policy-tab")
    hours = page.get_by_role("spinbutton", name="Response window (hours)")
    expect(hours).to_have_value("24.0")  # the form opens on the latest version
    hours.fill("30")
    page.get_by_role("textbox", name="Why (kept in the history)").fill("Agreed at the pipeline review")
    page.get_by_role("button", name="Save new version").click()
    expect_text(page, "Saved version 3")
    assert_clean(page, "sla-after-policy-save")
    # effective from as-of's day 00:00 UTC, so it is the policy in force at as-of (08-15 12:00)
    # effective from as-of's day (08-15 00:00): only L4 (clock 08-15 06:00) gets 30 h; still pending → 40.0%
    expect_text(page, "(version 3): first touch within 30.0 h, 3 attempts within 7.0 d", "40.0%")

    open_tab(page, "Breach list", "4 leads match; all shown.")
    assert_clean(page, "sla-breach-list")
    button = page.get_by_role("button", name="Download all 4 as CSV")
    expect(button).to_have_count(1)
    csv = download_text(page, button)
    assert "'=1+2" in csv and ",=1+2" not in csv
    assert csv.splitlines()[0].startswith("lead_id,company,issue,rep,team,hours_late")


def test_every_tab_draws(browser, tiny_server):
    page = open_page(browser, tiny_server, "sla")
    for tab, expected in [("Weekly trend", "ISO weeks"), ("Marketing's side", "Quality leads delivered vs committed"),
                          ("Breach list", "3 leads match; all shown."), ("SLA policy", "Save new version")]:
        open_tab(page, tab, expected)
        assert_clean(page, "sla-tab-" + tab.split()[0].lower().replace("'s", ""))


def test_routing_and_response_tab(browser, tiny_server):
    page = open_page(browser, tiny_server, "sla")
    # routing L3 0 h, L1 1 h, L4 6 h → median 1.0 h, p90 5.0 h; touched L6 2 h, L1 24 h, L2 27 h → 66.7% within 24 h
    open_tab(page, "Routing and response", "Median routing delay")
    expect_text(page, "1.0 h", "p90 5.0 h", "Touched within 24 h", "66.7%", "of 3 touched quality leads",
                "First touched within 5 min, 1 h and 24 h, by source")
    expect_charts(page, at_least=1)
    assert_clean(page, "sla-routing-tab")
