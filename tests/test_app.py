"""App tier: every page under streamlit.testing.v1.AppTest, on the tiny world and on an empty database."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from pathlib import Path

from core.navigation import available_pages
from core.settings import get_settings
from core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
PAGES = [p.path for p in available_pages()]


@pytest.fixture
def use_db(monkeypatch):
    def _use(path):
        monkeypatch.setenv("ACCORD_DB_PATH", str(path))
        get_settings.cache_clear()
    yield _use
    get_settings.cache_clear()


def run_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    if page != PAGES[0]:
        at.switch_page(page)
        at.run()
    return at


def texts(at: AppTest) -> str:
    parts = [m.label + " " + str(m.value) for m in at.metric]
    parts += [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.title]
    parts += [e.value for e in at.info] + [e.value for e in at.error] + [e.value for e in at.warning]
    return "\n".join(str(p) for p in parts)


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
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Revenue goal"] == "$100k"
    assert metrics["Won revenue"] == "$35k"
    assert metrics["Attainment"] == "35.0%"
    assert metrics["SLA compliance"] == "50.0%"
    assert metrics["Quality leads"] == "5"
    assert metrics["Stalled deals"] == "2"
    assert metrics["Coverage"] == "0.65×"
    assert metrics["Sales-sourced deals"] == "2"


def test_empty_database_says_what_cannot_be_computed(tmp_path, use_db):
    path = tmp_path / "empty.duckdb"
    open_store(path, create=True).close()
    use_db(path)
    at = run_page("pages/overview.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Won revenue"] == "—" and metrics["SLA compliance"] == "—"
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
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Quality leads"] not in ("—", "0")


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
