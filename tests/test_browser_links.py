"""Browser tier: a link is the view. The period (and each page's open tab and filters, where the page binds
them) live in the URL, so a link pasted into a new browser opens the same view, on a fresh server too;
every page has its own address and its own browser-tab title."""
from __future__ import annotations

from browser_support import assert_clean, expect, new_context, open_page, pick_period, wait_idle
from core.navigation import available_pages


def test_a_shared_link_opens_the_same_page_and_period_in_a_new_browser_on_a_fresh_server(
        browser, server_for, tiny_db_copy, chromium):
    server = server_for(tiny_db_copy)
    page = open_page(browser, server, "goals")
    pick_period(page, "2026-Q2", "Shared goals")
    expect(page).to_have_url(f"{server.url}/goals?period=2026-Q2")
    link = page.url.removeprefix(server.url)
    server.stop()  # a restart: the link is the very first request the new server gets

    fresh = server_for(tiny_db_copy)
    other = new_context(chromium)  # another person: no cookie, no session state in common
    try:
        shared = other.new_page()
        shared.goto(fresh.url + link)
        expect(shared.locator("h1").filter(has_text="Shared goals · 2026-Q2")).to_be_visible()
        wait_idle(shared)
        expect(shared).to_have_url(fresh.url + link)
        expect(shared).to_have_title("Shared goals · Accord")
        period = shared.locator("[data-testid='stSidebar']").get_by_role("combobox", name="Period")
        expect(period).to_have_value("2026-Q2")
        assert_clean(shared, "shared-link")
    finally:
        other.close()


def test_the_default_period_is_in_the_url_too(browser, tiny_server):
    # a link copied before anyone touched the picker must still pin the period: the default (the latest
    # quarter holding data) moves when new data arrives
    page = open_page(browser, tiny_server, "sla")
    expect(page).to_have_url(f"{tiny_server.url}/sla?period=2026-Q3")


def test_every_page_has_its_own_address_and_title_on_a_fresh_server(browser, server_for, tiny_db_copy):
    server = server_for(tiny_db_copy)
    first = available_pages()[0]
    page = open_page(browser, server, first.url_path)  # the very first request: /overview, not "/"
    expect(page.locator("[data-testid='stDialog']")).to_have_count(0)  # no "Page not found"
    expect(page).to_have_title(f"{first.title} · Accord")
    for spec in available_pages()[1:4]:
        page.goto(f"{server.url}/{spec.url_path}")
        expect(page.locator("h1").filter(has_text=spec.title).first).to_be_visible()
        expect(page).to_have_title(f"{spec.title} · Accord")
    page.goto(server.url)  # "/" still opens the first page
    expect(page.locator("h1").filter(has_text=first.title).first).to_be_visible()


def test_a_link_opens_the_tab_and_the_breakdown_it_names(browser, tiny_server):
    # what someone sees after opening Pipeline health broken down by team, pasted into a fresh tab (Streamlit
    # writes a choice into the URL as it reads on screen)
    page = browser.new_page()
    page.goto(f"{tiny_server.url}/pipeline?period=2026-Q2&pipeline_tab=Pipeline+health&pipeline_health_segment=Team")
    expect(page.locator("h1").filter(has_text="Pipeline gaps · 2026-Q2")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_role("tab", name="Pipeline health")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("combobox", name="Break down by")).to_have_value("Team")
    page.goto(f"{tiny_server.url}/attribution?attribution_model=W-shaped")
    expect(page.locator("h1").filter(has_text="Attribution")).to_be_visible()
    wait_idle(page)
    expect(page.get_by_role("radio", name="W-shaped")).to_be_checked()
