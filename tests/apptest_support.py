"""The app tier's one helper module: open a page under streamlit.testing.v1.AppTest on a database, and read
what it shows (metric cards by measure name, tables by column, texts).

Under AppTest (streamlit 1.67) only the first run executes app.py; later runs execute the current page
alone, so the sidebar's choices (period, persona) go into session state before that first run, and a
later change of persona replaces the stored Scope instead.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.models import DEMO_PERSONAS, Actor
from core.navigation import available_pages
from core.semantic.measures import MEASURES
from core.settings import get_settings

ROOT = Path(__file__).resolve().parents[1]
PAGES = [p.path for p in available_pages()]
TIMEOUT = 120  # seconds per run: generous, because a busy 2-core machine can be slow, never flaky


def persona_label(actor: Actor) -> str:
    """The sidebar's 'Acting as' option for a demo persona."""
    return f"{actor.name} · {actor.team}"


PERSONAS = {a.team: persona_label(a) for a in DEMO_PERSONAS}


@pytest.fixture
def use_db(monkeypatch):
    """use_db(path, **env): point the app at `path` (and set ACCORD_* variables) for this test."""

    def _use(path, **env):
        monkeypatch.setenv("ACCORD_DB_PATH", str(path))
        for name, value in env.items():
            monkeypatch.setenv(name, str(value))
        get_settings.cache_clear()
        return path

    yield _use
    get_settings.cache_clear()


# Pages whose tabs compute only when open (a tab switch reruns the page), by the tabs' widget key.
TAB_KEYS = {"pages/pipeline.py": "pipeline_tab", "pages/sla.py": "sla_tab"}


def set_bound(at: AppTest, key: str, value: str) -> None:
    """Set a widget bound to the URL (bind="query-params") as a person's click would: AppTest sends its query
    string and widget values with every run, and for a bound widget those win over a session-state write."""
    at.query_params[key] = value
    at.session_state[key] = value


def open_drill_down(at: AppTest, key: str) -> AppTest:
    """Open a records expander (ui.widgets.drill_down: its content runs only while open), as a click would."""
    at.session_state[key] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_page(page: str, *, persona: str | None = None, period: str | None = None,
              state: dict | None = None, clean: bool = True, tab: str | None = None) -> AppTest:
    """A new session showing `page` ('pages/sla.py'); persona is an 'Acting as' option (PERSONAS[team]);
    `tab` opens one of the page's lazy tabs (TAB_KEYS)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    if persona:
        at.session_state["app_persona"] = persona
    if period:
        at.session_state["period"] = period
    if tab:
        set_bound(at, TAB_KEYS[page], tab)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    if page != PAGES[0]:
        at.switch_page(page)
        at.run()
    if clean:
        assert not at.exception, [e.value for e in at.exception]
    return at


def each_tab(at: AppTest, page: str):
    """Yield the open session once per tab of `page` with that tab open (its figures computed); once, as
    it is, for a page without lazy tabs."""
    key = TAB_KEYS.get(page)
    if key is None:
        yield at
        return
    for tab_label in [t.label for t in at.tabs]:
        set_bound(at, key, tab_label)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        yield at


def act_as(at: AppTest, actor: Actor) -> AppTest:
    """Switch the acting person of an open session (replaces the Scope app.py stored) and rerun."""
    at.session_state["app_scope"] = dataclasses.replace(at.session_state["app_scope"], actor=actor)
    at.run()
    return at


def cards(at: AppTest) -> dict[str, str]:
    """Metric cards as label → value."""
    return {m.label: m.value for m in at.metric}


def card(at: AppTest, name: str) -> str:
    """The value of the card showing measure `name` (found by its label in core.semantic.measures)."""
    label = MEASURES[name].card_label
    found = [m.value for m in at.metric if m.label == label]
    assert found, f"no card labelled {label!r}; cards: {sorted(cards(at))}"
    return found[0]


def card_delta(at: AppTest, name: str) -> str | None:
    label = MEASURES[name].card_label
    return next(m.delta for m in at.metric if m.label == label)


def table(at: AppTest, column: str, index: str | None = None):
    """The first dataframe with a `column` column (indexed by `index` when given)."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value.set_index(index) if index else frame.value
    raise AssertionError(f"no table with a {column!r} column")


def texts(at: AppTest) -> str:
    """Everything written on the page as text: titles, markdown, captions, messages, metric cards."""
    parts = [m.label + " " + str(m.value) for m in at.metric]
    for kind in ("title", "subheader", "markdown", "text", "caption", "info", "error", "warning", "success"):
        parts += [str(e.value) for e in getattr(at, kind)]
    return "\n".join(parts)


def click(at: AppTest, label: str) -> AppTest:
    """Click the button labelled `label` and rerun."""
    next(b for b in at.button if b.label == label).click().run()
    return at
