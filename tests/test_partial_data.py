"""Real datasets that lack whole tables (Maven: no leads; Olist: no activities) load, and every page says
which figures it cannot compute and why — never a traceback, never a silent zero."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import DATASETS
from core.ingest import files_from_paths, import_files
from core.navigation import available_pages
from core.settings import get_settings
from core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
CASES = {
    "maven": ("maven-crm-sales-opportunities", "No leads are loaded"),
    "olist": ("olist-marketing-funnel", "No activities are loaded"),
}

pytestmark = pytest.mark.skipif(not DATASETS.exists(), reason="../shared/datasets is not present")


@pytest.fixture(scope="module", params=list(CASES))
def partial_db(request, tmp_path_factory):
    folder, note = CASES[request.param]
    path = tmp_path_factory.mktemp(request.param) / "partial.duckdb"
    con = open_store(path, create=True)
    import_files(con, request.param, files_from_paths([DATASETS / folder]), actor="test")
    con.close()
    return request.param, path, note


def _all_text(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "title", "subheader", "metric"):
        for el in getattr(at, kind):
            parts.append(f"{getattr(el, 'label', '')} {getattr(el, 'value', '')}")
    return "\n".join(parts)


@pytest.mark.parametrize("spec", available_pages(), ids=lambda s: s.url_path)
def test_every_page_renders_on_partial_data(partial_db, spec, monkeypatch):
    name, path, _ = partial_db
    monkeypatch.setenv("ACCORD_DB_PATH", str(path))
    get_settings.cache_clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        if spec.path != available_pages()[0].path:
            at.switch_page(spec.path).run()
        assert not at.exception, (name, spec.path)
        assert not at.error, [e.value for e in at.error]
    finally:
        get_settings.cache_clear()


def test_overview_names_what_is_missing(partial_db, monkeypatch):
    name, path, note = partial_db
    monkeypatch.setenv("ACCORD_DB_PATH", str(path))
    get_settings.cache_clear()
    try:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        assert note in _all_text(at)
        metrics = {m.label: m.value for m in at.metric}
        if name == "maven":
            assert metrics["Quality leads"] == "—"  # unknown, not zero
        else:
            assert metrics["SLA compliance"] == "—"
    finally:
        get_settings.cache_clear()
