"""Fixtures shared by every tier: the tiny hand-checked world (tests/fixtures/tiny.sql) loaded into a
fresh DuckDB file, with the goal and SLA commitment its expected figures assume."""
from __future__ import annotations

import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest

from core import edits
from core.db import set_meta, transaction
from core.models import Actor, GoalBody, SlaPolicy
from core.store import open_store

# The app tier's fixtures (use_db) live with its helpers in apptest_support.py.
pytest_plugins = ["apptest_support", "lake_support"]

FIXTURES = Path(__file__).with_name("fixtures")
AS_OF = datetime(2026, 8, 15, 12, 0)
LEADERSHIP = Actor(name="Lee Ader", team="leadership")
DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def load_tiny(path: Path, *, goal: float | None = 100_000, commitment: int | None = 10):
    con = open_store(path, create=True)
    with transaction(con) as cur:
        cur.execute((FIXTURES / "tiny.sql").read_text())
        set_meta(cur, "as_of", AS_OF.isoformat())
        set_meta(cur, "source", "tests/fixtures/tiny.sql")
    if goal is not None:
        edits.save(con, "goal", "2026-Q3", GoalBody(revenue=goal), actor=LEADERSHIP, reason="test goal", as_of=AS_OF,
                   expected_version=0, now=AS_OF)
    if commitment is not None:
        edits.save(con, "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(monthly_quality_commitment=commitment),
                   actor=LEADERSHIP, reason="test commitment", expected_version=1,
                   effective_from=edits.BEGINNING, now=AS_OF)
    return con


@pytest.fixture
def tiny(tiny_db_file, tmp_path):
    """An open connection to a fresh copy of the tiny world (copying is faster than loading it again)."""
    target = tmp_path / "tiny-open.duckdb"
    shutil.copy(tiny_db_file, target)
    con = open_store(target)
    yield con
    con.close()


def csv_bytes(*lines: str, eol: str = "\n", encoding: str = "utf-8") -> bytes:
    """A CSV file's bytes from its lines (the import tests' files are written inline)."""
    return (eol.join(lines) + eol).encode(encoding)


@pytest.fixture
def con():
    """A new in-memory Accord database (schema and defaults), for tests that import into nothing else. Test
    modules that need another `con` (a file, the demo) define their own."""
    c = open_store(":memory:", create=True)
    yield c
    c.close()


@pytest.fixture
def empty(tmp_path):
    con = open_store(tmp_path / "empty.duckdb", create=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def tiny_db_file(tmp_path_factory) -> Path:
    """A closed tiny database file, for tests that open it themselves (CLI, app)."""
    path = tmp_path_factory.mktemp("tinydb") / "tiny.duckdb"
    load_tiny(path).close()
    return path


@pytest.fixture
def tiny_db_copy(tiny_db_file, tmp_path) -> Path:
    target = tmp_path / "tiny.duckdb"
    shutil.copy(tiny_db_file, target)
    return target


@pytest.fixture(scope="session")
def chromium():
    """Playwright driving Debian's Chromium, one per session. Skipped locally when missing; under CI=true
    (as .ci/run sets) a missing browser fails the run instead."""
    from browser_support import CHROMIUM, CHROMIUM_ARGS, unavailable

    reason = unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tier cannot run under CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def browser_context(chromium):
    from browser_support import new_context

    context = new_context(chromium)
    yield context
    context.close()


@pytest.fixture
def browser(browser_context):
    """The session's browser context, so its cache of Streamlit's scripts stays warm; the tabs a test opened
    are closed after it, even when it fails. Servers differ by port, so no two tests share a tab's storage."""
    yield browser_context
    for page in browser_context.pages:
        page.close()


@pytest.fixture
def server_for():
    """Start a streamlit server on a given database file (stopped after the test)."""
    from browser_support import Server

    started = []

    def _start(db_path: Path | str, log_path: Path | None = None, **env) -> Server:
        server = Server(db_path, extra_env=env, log_path=log_path)
        started.append(server)
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def tiny_server(tiny_db_file, tmp_path_factory):
    """One read-mostly server on a copy of the tiny world, shared by tests that do not write."""
    from browser_support import Server

    path = tmp_path_factory.mktemp("browser") / "tiny.duckdb"
    shutil.copy(tiny_db_file, path)
    server = Server(path)
    yield server
    server.stop()


def pytest_collection_modifyitems(items):
    """Browser tests first, each module's as one xdist group (pyproject: -n 3 --dist loadgroup
    --no-loadscope-reorder): the long browser modules start at once, spread over the workers, and keep their
    module's servers to themselves; the short unit and app tests fill the CPU beside them and end the run."""
    browser = [item for item in items if "chromium" in item.fixturenames]
    for item in browser:
        item.add_marker(pytest.mark.xdist_group(item.path.stem))
    chosen = set(browser)
    items[:] = browser + [item for item in items if item not in chosen]
