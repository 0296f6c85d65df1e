"""App tier: every page under streamlit.testing.v1.AppTest, on the tiny world and on an empty database."""
from __future__ import annotations

import pytest

from apptest_support import PAGES, card, open_page, texts
from core.store import open_store


def run_page(page: str):
    return open_page(page, clean=False)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_tiny_data(page, tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = run_page(page)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_on_empty_database(page, tmp_path, use_db):
    path = tmp_path / "empty.duckdb"
    open_store(path, create=True).close()
    use_db(path)
    at = run_page(page)
    assert not at.exception
    assert not at.error, [e.value for e in at.error]


def test_overview_shows_hand_checked_figures(tiny_db_copy, use_db):
    use_db(tiny_db_copy)
    at = run_page("pages/overview.py")
    assert card(at, "goal") == "$100k"
    assert card(at, "won_revenue") == "$35k"
    assert card(at, "attainment") == "35.0%"
    assert card(at, "compliance") == "50.0%"
    assert card(at, "quality_leads") == "5"
    assert card(at, "stalled_deals") == "2"
    assert card(at, "coverage") == "0.65×"
    assert card(at, "sales_sourced_deals") == "2"


def test_empty_database_says_what_cannot_be_computed(tmp_path, use_db):
    path = tmp_path / "empty.duckdb"
    open_store(path, create=True).close()
    use_db(path)
    at = run_page("pages/overview.py")
    assert card(at, "won_revenue") == "—" and card(at, "compliance") == "—"
    assert "No leads are loaded" in texts(at)


def test_first_run_builds_the_demo_database_and_says_so(tmp_path, use_db, monkeypatch):
    path = tmp_path / "fresh" / "accord.duckdb"
    monkeypatch.setenv("ACCORD_DEMO_LEADS", "1000")
    use_db(path)
    at = run_page("pages/overview.py")
    assert not at.exception
    assert path.exists()
    assert any("Demo data" in i.value for i in at.sidebar.info)
    assert any("demo data (seed 7, 1,000 leads)" in c.value for c in at.sidebar.caption)
    assert card(at, "quality_leads") not in ("—", "0")


def test_database_from_a_newer_release_gives_a_notice_not_a_traceback(tmp_path, use_db):
    import duckdb

    path = tmp_path / "newer.duckdb"
    open_store(path, create=True).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    use_db(path)
    at = run_page("pages/overview.py")
    assert not at.exception
    assert "newer Accord" in at.error[0].value
