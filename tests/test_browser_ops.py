"""Browser tier, issue 16 item 1: a scheduled import and a report run while the app serves, and the page
shows the imported records at the next interaction without a restart."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from browser_support import ROOT, assert_clean, expect, open_page, pick_period, reruns

NEW_LEADS_CSV = ("lead_id,created_at,source,status,score,company\n"
                 "N1,2026-08-03 10:00:00,email,open,75,Newco\n"
                 "N2,2026-08-04 11:00:00,events,open,80,Newer\n")


# Another program taking the file as soon as the app lets go of it (within its idle grace after the page's
# run), holding it until told on standard input.
HOLD = """
import duckdb, sys, time
deadline = time.monotonic() + 60
while True:
    try:
        con = duckdb.connect(sys.argv[1])
        break
    except duckdb.IOException:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.05)
print("held", flush=True)
sys.stdin.readline()
"""
RUNNING = """() => document.querySelector("[data-testid='stApp']")?.getAttribute('data-test-script-state') === 'running'"""


def _cli(*args: str) -> subprocess.CompletedProcess:
    # the default wait (30 s) covers a page run the server may be in the middle of
    return subprocess.run([sys.executable, "-m", "core", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env=dict(os.environ))


def _card(page, label: str):
    metric = page.locator("[data-testid='stMetric']").filter(
        has=page.locator("[data-testid='stMetricLabel']").get_by_text(label, exact=True))
    return metric.locator("[data-testid='stMetricValue']")


def test_an_import_while_the_app_serves_shows_at_the_next_interaction(browser, server_for, tiny_db_copy, tmp_path):
    server = server_for(tiny_db_copy)
    page = open_page(browser, server, "overview")
    expect(_card(page, "Quality leads")).to_have_text("5")  # the tiny world's 2026-Q3 cohort

    report = _cli("report", "--db", str(tiny_db_copy), "--period", "2026-Q3")  # the app is up
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout)["funnel"]["quality_leads"] == 5

    csv = tmp_path / "new-leads.csv"
    csv.write_text(NEW_LEADS_CSV)
    imported = _cli("import", "--db", str(tiny_db_copy), "--preset", "accord", str(csv))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["by_table"]["leads"]["loaded"] == 2
    after = json.loads(_cli("report", "--db", str(tiny_db_copy), "--period", "2026-Q3").stdout)
    # the import moved the data's as-of to its latest record's month end, which brings one more tiny lead in
    assert (after["as_of"], after["funnel"]["quality_leads"]) == ("2026-09-01T00:00:00", 9)

    # the next interaction: a period change and back, no reload, no restart
    pick_period(page, "2026-08")
    pick_period(page, "2026-Q3")
    expect(_card(page, "Quality leads")).to_have_text("9")  # the report's own figure
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text("Figures as of 2026-09-01 00:00 UTC")
    assert_clean(page, "ops-import-while-serving")


def test_a_rerun_while_an_import_holds_the_file_waits_and_then_draws(browser, server_for, tiny_db_copy):
    """A page run that finds the file held by another program waits for it, then draws (no error)."""
    server = server_for(tiny_db_copy)
    page = open_page(browser, server, "overview")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tiny_db_copy)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"  # the app let go when idle: the holder got the file
        with reruns(page):
            page.locator("[data-testid='stSidebar']").get_by_role("combobox", name="Period").click()
            page.keyboard.type("2026-08")
            page.get_by_role("option", name="2026-08", exact=True).click()
            # the run started and cannot end while the file is held: it is waiting for it
            page.wait_for_function(RUNNING, polling=100, timeout=60_000)
            holder.stdin.write("done\n")  # the import ends while the run waits for the file
            holder.stdin.flush()
        holder.wait(timeout=60)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    expect(page.locator("h1").filter(has_text="Overview · 2026-08")).to_be_visible()
    assert_clean(page, "ops-rerun-waits")
