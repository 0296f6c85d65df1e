"""App tier for Shared goals: the page under AppTest on a copy of the tiny world — saving, refusals,
two sessions on one goal, what-if, restore — and the Overview following a save at once."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core import edits
from core.db import data_version
from core.settings import get_settings
from core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
PAGE = "pages/goals.py"


@pytest.fixture
def db(tiny_db_copy, monkeypatch):
    monkeypatch.setenv("ACCORD_DB_PATH", str(tiny_db_copy))
    get_settings.cache_clear()
    yield tiny_db_copy
    get_settings.cache_clear()


def open_goals(persona: str | None = None, period: str | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    # Sidebar choices go in before the first run: under st.navigation, AppTest (streamlit 1.67) drops a
    # sidebar widget's new value on rerun, so set_value() on the sidebar would silently do nothing.
    if persona:
        at.session_state["app_persona"] = persona
    if period:
        at.session_state["app_period"] = period
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, first_column: str, contains: str):
    """The first dataframe whose columns include `contains`, indexed by `first_column`."""
    for frame in at.dataframe:
        if contains in frame.value.columns:
            return frame.value.set_index(first_column)
    raise AssertionError(f"no table with a {contains!r} column")


def fill_form(at: AppTest, revenue=None, reason="", **overrides) -> None:
    if revenue is not None:
        at.number_input(key="goals_form_revenue").set_value(revenue)
    for name, value in overrides.items():
        at.number_input(key=f"goals_form_{name}").set_value(value)
    at.text_input(key="goals_form_reason").input(reason)


def click(at: AppTest, label: str) -> None:
    next(b for b in at.button if b.label == label).click()
    at.run()
    assert not at.exception


def versions(path: Path) -> list[tuple[int, float, str]]:
    con = open_store(path)
    try:
        return [(v.version, v.body.revenue, v.saved_by) for v in edits.history(con, "goal", "2026-Q3")]
    finally:
        con.close()


def test_the_page_shows_the_cascade_on_the_tiny_world(db):
    at = open_goals()
    assert metrics(at) == {"Revenue goal": "$100k", "Won revenue": "$35k", "Attainment": "35.0%",
                           "Pacing": "70.8%", "Coverage": "0.65×"}
    progress = table(at, "Stage", "Target to date")
    # targets 60/11 → 6, 100/11 → 10, 400/33 → 13, 200/11 → 19, 300/11 → 28 (rounded up); actuals 2, 7, 3, 5, 8
    assert progress["Target (period)"].tolist() == ["6", "10", "13", "19", "28"]
    assert progress["Actual to date"].tolist() == ["2", "7", "3", "5", "8"]
    assert progress.loc["Won deals", "Pacing"] == "74.1%"  # 2024 / 2730
    assert progress["Owner"].tolist() == ["sales", "sales", "sales", "marketing", "marketing"]
    rates = table(at, "Stage", "Basis")
    assert rates["Rate or size used"].tolist() == ["$18k", "60.0%", "75.0%", "66.7%", "66.7%"]
    assert set(rates["Basis"]) == {"trailing year"}
    assert not at.error and not at.warning


def test_a_valid_save_shows_new_figures_here_and_on_the_overview(db):
    at = open_goals()
    fill_form(at, revenue=50_000, reason="Halved after the board review", win_rate=0.5)
    click(at, "Save goal")
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == ["Saved version 2 (Lee Ader)."]
    assert [t.value for t in at.toast] == ["Saved version 2 (Lee Ader)."]
    # attainment 35,000 / 50,000; pacing 35,000 × 92 / (50,000 × 45.5) = 141.5%; coverage 42,000 / 15,000
    assert metrics(at) == {"Revenue goal": "$50k", "Won revenue": "$35k", "Attainment": "70.0%",
                           "Pacing": "141.5%", "Coverage": "2.80×"}
    progress = table(at, "Stage", "Target to date")
    # won 50,000 / (55,000/3) = 2.73 → 3; opportunities 2.73 / 0.5 (override) = 5.45 → 6
    assert progress.loc["Won deals", "Target (period)"] == "3"
    assert progress.loc["Opportunities", "Target (period)"] == "6"
    rates = table(at, "Stage", "Basis")
    assert rates.loc["Opportunities", "Basis"] == "override (trailing year: 60.0%)"
    assert at.number_input(key="goals_form_revenue").value == 50_000  # the form reloaded what was saved
    assert at.text_input(key="goals_form_reason").value == ""
    assert versions(db)[0] == (2, 50_000, "Lee Ader")

    at.switch_page("pages/overview.py")
    at.run()
    assert metrics(at)["Attainment"] == "70.0%" and metrics(at)["Coverage"] == "2.80×"


@pytest.mark.parametrize(
    "revenue, overrides, reason, message",
    [
        (0, {}, "zero", "revenue: Input should be greater than 0"),
        (-5_000, {}, "negative", "revenue: Input should be greater than 0"),
        (50_000, {"win_rate": 1.5}, "too high", "win rate must be above 0 and at most 1 (got 1.5)"),
        (50_000, {"lead_to_quality": 0.0}, "zero rate", "lead to quality must be above 0 and at most 1"),
        (50_000, {"avg_deal_size": -1.0}, "negative size", "avg deal size: Input should be greater than 0"),
        (50_000, {}, "", "Say why you are making this change"),
    ],
)
def test_invalid_input_gives_a_clear_message_and_saves_nothing(db, revenue, overrides, reason, message):
    at = open_goals()
    before = versions(db)
    fill_form(at, revenue=revenue, reason=reason, **overrides)
    click(at, "Save goal")
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert versions(db) == before
    assert metrics(at)["Revenue goal"] == "$100k"
    assert at.number_input(key="goals_form_revenue").value == revenue  # what was typed is kept


def test_an_ended_quarter_needs_the_correction_tick(db):
    # 2026-Q2 ended on 2026-07-01, before the data's as-of (2026-08-15), though no goal was ever set for it
    at = open_goals(period="2026-Q2")
    assert [t.value for t in at.title] == ["Shared goals · 2026-Q2"]
    assert "No revenue goal is set for 2026-Q2" in " ".join(i.value for i in at.info)
    fill_form(at, revenue=80_000, reason="Back-filled for the record")
    click(at, "Save goal")
    assert any("2026-Q2 ended on 2026-07-01" in e.value and "correction" in e.value for e in at.error)
    at.checkbox(key="goals_form_correction").check()
    click(at, "Save goal")
    assert not at.error and metrics(at)["Revenue goal"] == "$80k"


def test_a_viewer_is_refused_and_nothing_is_saved(db):
    at = open_goals(persona="Vic Board · viewer")
    assert at.session_state["app_scope"].actor.team == "viewer"
    assert any("Vic Board is a viewer" in i.value for i in at.info)
    before = (versions(db), _data_version(db))
    fill_form(at, revenue=1_000_000, reason="I just look")
    click(at, "Save goal")
    assert [e.value for e in at.error] == ["Vic Board (viewer) may not change the goal."]
    assert (versions(db), _data_version(db)) == before


def _data_version(path: Path) -> int:
    con = open_store(path)
    try:
        return data_version(con)
    finally:
        con.close()


def test_two_sessions_on_the_same_goal_one_wins_the_other_sees_both(db):
    first = open_goals(persona="Mia Kent · marketing")
    second = open_goals(persona="Sal Ortiz · sales")  # both opened version 1
    fill_form(first, revenue=120_000, reason="Stretch: new campaign budget")
    fill_form(second, revenue=80_000, reason="Realistic: two deals slipped")
    click(first, "Save goal")
    assert [s.value for s in first.success] == ["Saved version 2 (Mia Kent)."]
    click(second, "Save goal")
    assert any("Mia Kent saved version 2" in e.value and "Nothing was overwritten" in e.value for e in second.error)
    assert any("Not saved: someone saved this goal" in t.value for t in second.toast)
    side_by_side = table(second, "field", "their value (saved)")
    assert side_by_side.loc["Revenue goal"].tolist() == ["120000.0", "80000.0"]
    assert any("Stretch: new campaign budget" in c.value for c in second.caption)
    assert second.number_input(key="goals_form_revenue").value == 80_000  # their typing is not lost
    assert versions(db) == [(2, 120_000, "Mia Kent"), (1, 100_000, "Lee Ader")]  # one save landed

    click(second, "Start again from version 2")
    assert second.number_input(key="goals_form_revenue").value == 120_000
    fill_form(second, revenue=90_000, reason="Compromise after talking")
    click(second, "Save goal")
    assert [s.value for s in second.success] == ["Saved version 3 (Sal Ortiz)."]
    assert [v[1] for v in versions(db)] == [90_000, 120_000, 100_000]


def test_what_if_changes_required_volumes_live_without_saving(db):
    at = open_goals()
    before = (versions(db), _data_version(db))
    at.number_input(key="goals_whatif_revenue").set_value(200_000)
    at.number_input(key="goals_whatif_win_rate").set_value(0.3)
    at.run()
    what = table(at, "Stage", "Required")
    # won 200,000 / (55,000/3) = 10.9 → 11; opportunities 10.9 / 0.3 = 36.4 → 37 (saved plan 10: +27)
    assert what.loc["Won deals", ["Required", "Saved plan", "Change"]].tolist() == ["11", "6", "+5"]
    assert what.loc["Opportunities", ["Rate or size", "Required", "Change"]].tolist() == ["30.0% (changed)", "37", "+27"]
    assert (versions(db), _data_version(db)) == before
    assert metrics(at)["Revenue goal"] == "$100k"

    click(at, "Copy into the edit form")
    assert at.number_input(key="goals_form_revenue").value == 200_000
    assert at.number_input(key="goals_form_win_rate").value == 0.3
    assert at.number_input(key="goals_form_avg_deal_size").value is None  # unchanged: stays the trailing year
    click(at, "Back to the saved plan")
    assert at.number_input(key="goals_whatif_revenue").value == 100_000
    assert versions(db) == before[0]


def test_history_and_restore_make_a_new_version(db):
    at = open_goals()
    fill_form(at, revenue=50_000, reason="Halved")
    click(at, "Save goal")
    history = table(at, "version", "changes")
    assert history.loc[2, "changes"] == "Revenue goal: 100000.0 → 50000.0"
    assert history.loc[2, "reason"] == "Halved"
    at.selectbox(key="goals_restore_version").set_value(1)
    at.text_input(key="goals_restore_reason").input("Board kept the plan")
    click(at, "Restore as a new version")
    assert [s.value for s in at.success] == ["Saved version 3 (Lee Ader)."]
    assert metrics(at)["Revenue goal"] == "$100k"
    assert versions(db) == [(3, 100_000, "Lee Ader"), (2, 50_000, "Lee Ader"), (1, 100_000, "Lee Ader")]
    assert table(at, "version", "changes").loc[3, "reason"] == "Restored version 1: Board kept the plan"


def test_split_by_source_shows_the_segments_share(db):
    at = open_goals()
    at.selectbox(key="goals_split").set_value("Source")
    at.run()
    at.selectbox(key="goals_split_value_source").set_value("webinar")
    at.run()
    assert not at.exception
    progress = table(at, "Stage", "Share of target")
    # webinar: 1 of 3 trailing-year wins (D1) → won target 60/11 / 3 = 1.8 → 2, actual 1 (D1);
    # opportunities 2 of 10 trailing-year deals (D1, D4) → 100/11 × 0.2 = 1.8 → 2, actual 2
    assert progress.loc["Won deals", ["Share of target", "Target (period)", "Actual to date"]].tolist() == ["33.3%", "2", "1"]
    assert progress.loc["Opportunities", ["Share of target", "Target (period)", "Actual to date"]].tolist() == ["20.0%", "2", "2"]
    assert any("Pacing by source" in m.value for m in at.markdown)


def test_a_month_shows_its_pro_rated_goal(db):
    at = open_goals(period="2026-08")
    # 100,000 × 31/92 = 33,696; the form still edits the quarter's goal
    assert metrics(at)["Revenue goal"] == "$34k"
    assert any("pro-rated" in c.value for c in at.caption)
    assert at.number_input(key="goals_form_revenue").value == 100_000
    # a what-if on the month is copied into the form as the quarter's goal: 31,000 for August → 92,000
    at.number_input(key="goals_whatif_revenue").set_value(31_000)
    at.run()
    click(at, "Copy into the edit form")
    assert at.number_input(key="goals_form_revenue").value == pytest.approx(92_000)


def test_an_empty_database_says_plainly_what_cannot_be_computed(tmp_path, monkeypatch):
    path = tmp_path / "empty.duckdb"
    open_store(path, create=True).close()
    monkeypatch.setenv("ACCORD_DB_PATH", str(path))
    get_settings.cache_clear()
    try:
        at = open_goals()
    finally:
        get_settings.cache_clear()
    shown = " ".join(i.value for i in at.info)
    assert "No leads are loaded" in shown and "No deals are loaded" in shown and "No revenue goal is set" in shown
    assert set(metrics(at).values()) == {"—"}  # unknown, never 0
    assert set(table(at, "Stage", "Basis")["Basis"]) == {"no trailing-year data"}
    assert not at.error
