"""Browser tier: the quality-lead definition page in Chromium — edit a draft, read its back-test, save it
from a mid-period effective date (joint sign-off off), and see the Overview's quality-lead count change
only for leads created from that date on.

Tiny world as of 2026-08-15 12:00 (tests/test_metrics.py): version 1 qualifies, in 2026-Q3, L1 (07-01,
score 80), L2 (07-02, demo), L3 (07-03, 90), L4 (08-15, 70), L6 (07-06, CRM flag) = 5, and in 2026-Q2
L9 (06-15, 85) = 1. The draft here — score ≥ 90, no fast tracks — qualifies only L3 (and, were it
applied to the past, would drop L9 too).
"""
from __future__ import annotations

import re

from browser_support import assert_clean, expect, expect_charts, expect_text, open_page, pick_period, reruns
from core.semantic.measures import MEASURES


def card_value(page, label: str):
    card = page.locator("[data-testid='stMetric']").filter(has_text=label).first
    return card.locator("[data-testid='stMetricValue']")


def test_edit_preview_save_and_overview_follows_from_the_effective_date(browser, server_for, tiny_db_copy):
    server = server_for(tiny_db_copy, ACCORD_JOINT_SIGNOFF="false")

    overview = open_page(browser, server, "")  # the default page lives at the root URL
    expect(card_value(overview, "Quality leads")).to_have_text("5")
    pick_period(overview, "2026-Q2")
    expect(card_value(overview, "Quality leads")).to_have_text("1")
    overview.close()

    page = open_page(browser, server, "quality")
    expect_text(page, "In force as of 2026-08-15 12:00 UTC — version 1")
    assert_clean(page, "quality-opened")
    score = page.get_by_label("Minimum score (0–100)", exact=True)
    with reruns(page):
        score.fill("90")
        score.press("Enter")
    with reruns(page):
        page.get_by_text("Not considered", exact=True).click()
    with reruns(page):
        page.get_by_text("Leads the source CRM marked qualified (mql_at) qualify on their own").click()

    # the back-test over 2026-06-15 … 2026-08-15 (9 leads): the draft keeps L3 only; version 1 had 6
    expect_text(page, "The draft reads: Score ≥ 90.")
    draft_card = page.locator("[data-testid='stMetric']").filter(has_text=MEASURES["backtest_draft_quality_leads"].card_label)
    expect(draft_card.locator("[data-testid='stMetricValue']")).to_have_text("1")
    expect(draft_card).to_contain_text("version 1: 6")
    expect_charts(page, at_least=1)
    assert_clean(page, "quality-draft-previewed")

    with reruns(page):
        page.get_by_text("from a date (00:00 UTC)").click()
    day = page.get_by_label("Effective from", exact=True)
    # a segmented date field (year / month / day): typing into the first segment fills them in turn; the
    # field commits as the date becomes whole, so the condition is the text that date produces
    day.get_by_role("spinbutton").first.click()
    page.keyboard.type("20260703")
    page.keyboard.press("Escape")
    # back-dated: L3 L4 L5 L6 L7 L10 were created since 07-03; L4 and L6 stop qualifying
    expect_text(page, re.compile(r"the 6 leads already created since 2026-07-03 00:00 UTC would be judged by this "
                                 r"version\W+0 become quality leads and 2 stop"))
    with reruns(page):  # typed once the date's run ended; leaving the box commits it
        page.get_by_label("Why (kept in the history; the other team reads it)", exact=True).fill("Only 90+ leads convert")
        page.keyboard.press("Tab")
    page.get_by_role("button", name="Save as version 2").click()
    expect_text(page, "Saved version 2: it applies to leads created from 2026-07-03 00:00 UTC.",
                "In force as of 2026-08-15 12:00 UTC — version 2: Score ≥ 90.",
                "Applies to leads created from 2026-07-03 00:00 UTC · saved by Lee Ader", "Only 90+ leads convert")
    # the editor starts again from version 2: nothing to save, the reason box empty
    expect(page.get_by_label("Why (kept in the history; the other team reads it)", exact=True)).to_have_value("")
    expect(page.get_by_role("button", name="Save as version 3")).to_be_disabled()
    assert_clean(page, "quality-saved")
    page.close()

    overview = open_page(browser, server, "")  # the default page lives at the root URL
    # Q3: L1 and L2 keep version 1's verdict; from 07-03 only L3 qualifies → 5 − L4 − L6 = 3
    expect(card_value(overview, "Quality leads")).to_have_text("3")
    pick_period(overview, "2026-Q2")
    # Q2 is before the effective date: L9 still counts (version 1), though the new version would drop it
    expect(card_value(overview, "Quality leads")).to_have_text("1")
    assert_clean(overview, "quality-overview-after")
