"""App tier for Pipeline gaps and Attribution: both pages under AppTest on a copy of the tiny world
(2026-Q3 as of 2026-08-15 12:00; figures derived in test_metrics.py, test_pipeline.py and below), their
segment pickers and drill-downs, and an empty database."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.settings import get_settings
from core.store import open_store

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tiny_db_copy, monkeypatch):
    monkeypatch.setenv("ACCORD_DB_PATH", str(tiny_db_copy))
    get_settings.cache_clear()
    yield tiny_db_copy
    get_settings.cache_clear()


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page(page)
    at.run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def deltas(at: AppTest) -> dict[str, str]:
    return {m.label: m.delta for m in at.metric}


def table(at: AppTest, column: str, index: str):
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value.set_index(index)
    raise AssertionError(f"no table with a {column!r} column")


def texts(at: AppTest) -> str:
    return "\n".join([c.value for c in at.caption] + [i.value for i in at.info] + [m.value for m in at.markdown])


def test_pipeline_page_figures(db):
    at = open_page("pages/pipeline.py")
    m, d = metrics(at), deltas(at)
    # health: open pipeline D2 + D4 + D6 = 42,000; coverage 42,000 / 65,000; needs 1 / 0.6
    assert (m["Open pipeline"], m["Coverage"], m["Coverage needed"]) == ("$42k", "0.65×", "1.67×")
    assert d["Coverage"] == "needs 1.67×"
    assert (m["Win rate"], m["Stalled deals"]) == ("60.0%", "2")
    # movement in Q3: created D1 D2 D3 D4 D5 D10 D11 (89,000); advanced D2 (proposal 07-25), D4
    # (negotiation 07-12); won D1 D3 (35,000); lost D5; nothing slipped (no expected date in Q3 has passed
    # on a deal still open: D6's is 08-30)
    assert (m["Created"], d["Created"]) == ("7", "$89k")
    assert (m["Advanced"], d["Advanced"]) == ("2", "$30k")
    assert (m["Won"], m["Lost"], m["Slipped"]) == ("2", "1", "0")
    # beside the funnel, with Q2 for comparison: sales-sourced D5, D10 (Q2: D6)
    assert (m["Sales-sourced deals"], d["Sales-sourced deals"]) == ("2", "2026-Q2: 1")
    assert m["Unqualified-sourced wins"] == "1"
    # decomposition: goal to date 100,000 × 45.5 / 92 = 49,457; won 35,000; gap 14,457
    assert (m["Goal to date"], m["Won to date"], m["Revenue gap to date"]) == ("$49k", "$35k", "$14k")


def test_pipeline_page_tables(db):
    at = open_page("pages/pipeline.py")
    comparison = table(at, "Trailing year", "Figure")
    assert comparison.loc["Leads", ["2026-Q3", "2026-Q2", "Trailing year"]].tolist() == ["8", "1", "9"]
    assert comparison.loc["Won", "2026-Q3 step %"] == "50.0%"
    # gap to goal, biggest revenue at stake first: accepted (target to date 5.99 → 6, actual 3)
    gaps = table(at, "Revenue at stake", "Stage")
    assert list(gaps.index) == ["Accepted leads", "Quality leads", "Leads", "Won deals", "Opportunities"]
    assert gaps.loc["Accepted leads", ["Target to date", "Actual to date", "Gap to date"]].tolist() == ["6", "3", "3"]
    # stalled list: D6 106.5 days in discovery, D4 34.5 in negotiation
    stalled = table(at, "Days in stage", "Deal")
    assert stalled["Days in stage"].to_dict() == {"D6": "106.5 d", "D4": "34.5 d"}
    # decomposition: the components and the assumptions (deal size to the dollar)
    # tiny: D3 (5,000) was won on L7, which never qualified
    assert "**Other sources (sales-sourced, unqualified)** narrowed the gap by **$5,000**." in texts(at)
    factors = table(at, "Cascade assumption", "Factor")
    assert factors.loc["Average won deal size"].tolist() == ["$18,333", "$17,500"]


def test_pipeline_segments_and_drill_down(db):
    at = open_page("pages/pipeline.py")
    at.selectbox(key="pipeline_health_segment").select("team")
    at.run()
    health = table(at, "Coverage needed", "Team")
    # every deal is Ann Lowe's (ae-na): the whole goal, trailing win rate 3/5, needs 1.67×
    assert health.loc["ae-na", "Coverage needed"] == "1.67×"
    # its share of the goal is all of it: (100,000 − 35,000) × 5/3 − 42,000 open = 66,333 short
    assert health.loc["ae-na", ["Share of goal", "Coverage", "Pipeline short of need", "Status"]].tolist() == [
        "$100k", "0.65×", "$66k", "short"]
    at.selectbox(key="pipeline_deal_kind").select("stalled")
    at.run()
    records = [f.value for f in at.dataframe if "deal_id" in f.value.columns][0]
    assert sorted(records["deal_id"]) == ["D4", "D6"]
    # funnel drill-down: the quality leads of paid_search are L2 and L3
    at.selectbox(key="pipeline_funnel_value").select("paid_search")
    at.selectbox(key="pipeline_funnel_kind").select("quality_leads")
    at.run()
    leads = [f.value for f in at.dataframe if "lead_id" in f.value.columns][0]
    assert leads["lead_id"].tolist() == ["L2", "L3"]
    assert "2 record(s)." in texts(at)
    assert not at.exception


def test_source_with_no_wins_shows_need_undefined(db):
    at = open_page("pages/pipeline.py")
    # default segment is source: paid_search (D2 open) closed nothing in the trailing year
    health = table(at, "Coverage needed", "Source")
    assert health.loc["paid_search", "Coverage needed"] == "—"
    assert health.loc["paid_search", "Status"] == "need undefined: nothing closed in the trailing year"


def test_gap_split_by_source(db):
    at = open_page("pages/pipeline.py")
    at.selectbox(key="pipeline_gap_segment").select("source")
    at.run()
    gaps = table(at, "Revenue at stake", "Source")
    # sales-sourced wins: target 5.45 × share 1/3 (D9 of D1 D3 D9) = 1.82, × elapsed 0.4946 = 0.90 → gap
    # 0.90 × 18,333 = $16k, the biggest
    assert gaps.index[0] == "sales-sourced" and gaps.iloc[0]["Stage"] == "Won deals"
    assert not at.exception


def test_attribution_page(db):
    at = open_page("pages/attribution.py")
    m = metrics(at)
    # Q3 leads 8 (quality 5); deals created in Q3: 7; won 35,000; cost: C1 1,000 × 31/61 + C2 2,000 × 46/227
    assert (m["Leads"], m["Quality leads"], m["Opportunities"], m["Won revenue"]) == ("8", "5", "7.0", "$35k")
    assert m["Cost in period"] == "$913"
    t = table(at, "Return", "Campaign")
    # first touch: D1 (L1, July webinar) 30,000; D3 (L7, no campaign) 5,000; Brand search nothing won
    assert t.loc["July webinar", "Won revenue"] == "$30k" and t.loc["Brand search", "Won revenue"] == "$0"
    assert t.loc["July webinar", "Cost per quality lead"] == "$254"  # 508.20 / 2
    at.radio(key="attribution_model").set_value("linear")
    at.run()
    t = table(at, "Return", "Campaign")
    # linear: D1's touches C1 (07-01 09:00) and C2 (07-03) before 07-05 → 15,000 each
    assert t.loc["July webinar", "Won revenue"] == "$15k" and t.loc["Brand search", "Won revenue"] == "$15k"
    at.radio(key="attribution_model").set_value("w_shaped")
    at.run()
    t = table(at, "Return", "Campaign")
    # W-shaped: C1 holds the first and lead-creation roles (2/3), C2 the opportunity creation (1/3)
    assert t.loc["July webinar", "Won revenue"] == "$20k" and t.loc["Brand search", "Won revenue"] == "$10k"
    at.radio(key="attribution_view").set_value("channel")
    at.run()
    t = table(at, "Return", "Channel")
    assert t.loc["webinar", "Won revenue"] == "$20k"
    # drill-down: the deals credited to the webinar channel under W-shaped are D1 and D4 (L9's deal)
    at.selectbox(key="attribution_pick").select("webinar")
    at.run()
    deals = [f.value for f in at.dataframe if "deal_id" in f.value.columns][0]
    assert sorted(deals["deal_id"]) == ["D1", "D4"]
    assert not at.exception


@pytest.mark.parametrize("page", ["pages/pipeline.py", "pages/attribution.py"])
def test_empty_database_says_what_cannot_be_computed(page, tmp_path, monkeypatch):
    path = tmp_path / "empty.duckdb"
    open_store(path, create=True).close()
    monkeypatch.setenv("ACCORD_DB_PATH", str(path))
    get_settings.cache_clear()
    try:
        at = open_page(page)
        assert "No leads are loaded" in texts(at)
        assert all(v == "—" for v in metrics(at).values())  # never a zero where nothing can be computed
    finally:
        get_settings.cache_clear()


def test_without_a_goal_no_gap_is_claimed(tiny_db_copy, monkeypatch):
    con = open_store(tiny_db_copy)
    con.execute("DELETE FROM edit_versions WHERE kind = 'goal'")
    con.close()
    monkeypatch.setenv("ACCORD_DB_PATH", str(tiny_db_copy))
    get_settings.cache_clear()
    try:
        at = open_page("pages/pipeline.py")
        infos = [i.value for i in at.info]
        assert "No revenue goal is set for 2026-Q3, so no stage has a target." in infos
        assert "No revenue goal is set for 2026-Q3, so there is no gap to decompose." in infos
        assert not at.success  # never "on pace" without a target
        assert metrics(at)["Coverage"] == "—"  # no goal: coverage undefined, not 0
    finally:
        get_settings.cache_clear()
