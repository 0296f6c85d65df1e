"""Browser tier, issue 16 item 2: two app processes and an importer on one DuckLake (PostgreSQL catalog). A goal
saved in one app shows in the other at its next interaction, and so does an import run beside them both."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from browser_support import ROOT, assert_clean, expect, expect_text, open_page, open_tab, pick_period
from core import lake
from test_browser_ops import NEW_LEADS_CSV, _card


def test_two_apps_and_an_importer_share_one_lake(browser, server_for, lake_target, tiny_db_file, tmp_path):
    lake.replace_from_file(lake_target, tiny_db_file)
    env = {"ACCORD_DATA_PATH": os.environ["ACCORD_DATA_PATH"]}
    first = server_for(lake_target, log_path=tmp_path / "first.log", **env)
    second = server_for(lake_target, log_path=tmp_path / "second.log", **env)
    on_second = open_page(browser, second, "overview")
    expect(_card(on_second, "Quality leads")).to_have_text("5")  # the tiny world's 2026-Q3 cohort
    expect_text(on_second, "35.0%")  # won 35,000 of the 100,000 goal

    # a goal saved in the first app
    on_first = open_page(browser, first, "goals")
    open_tab(on_first, "Set the goal", "Save goal")
    on_first.get_by_role("spinbutton", name="Revenue goal for 2026-Q3").fill("50000")
    on_first.get_by_role("textbox", name="Why (kept in the history)").fill("Halved after the board review")
    on_first.get_by_role("button", name="Save goal").click()
    expect_text(on_first, "Saved version 2")

    # an import from the command line while both serve
    csv = tmp_path / "new-leads.csv"
    csv.write_text(NEW_LEADS_CSV)
    imported = subprocess.run([sys.executable, "-m", "core", "import", "--db", lake_target, "--preset", "accord",
                               str(csv)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ))
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["by_table"]["leads"]["loaded"] == 2

    # the second app's next interaction shows both, without a reload or a restart
    pick_period(on_second, "2026-08")
    pick_period(on_second, "2026-Q3")
    expect(_card(on_second, "Quality leads")).to_have_text("9")  # as on a file (test_browser_ops)
    report = json.loads(subprocess.run([sys.executable, "-m", "core", "report", "--db", lake_target, "--period",
                                        "2026-Q3"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                                       env=dict(os.environ), check=True).stdout)
    # the import moved the as-of to 2026-09-01, so the won revenue to date is the report's, against the new goal
    assert report["goal"]["revenue"] == 50_000
    expect_text(on_second, "$50k", f"{report['goal']['attainment']:.1%}")
    assert_clean(on_second, "lake-second-app")
    assert_clean(on_first, "lake-first-app")
