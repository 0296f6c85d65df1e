"""App tier for Pipeline gaps and Attribution: both pages under AppTest on a copy of the tiny world
(2026-Q3 as of 2026-08-15 12:00; figures derived in test_metrics.py, test_pipeline.py and below), their
segment pickers and drill-downs, and an empty database."""
from __future__ import annotations

import pytest

from apptest_support import (
    PERSONAS,
    card,
    card_delta,
    cards,
    click,
    each_tab,
    open_drill_down,
    open_page,
    set_bound,
    table,
    texts,
)
from core.metrics.goals import STAGE_LABELS
from core.semantic.measures import label
from core.store import open_store


@pytest.fixture
def db(tiny_db_copy, use_db):
    return use_db(tiny_db_copy)


def open_clean(page: str, tab: str | None = None, persona: str | None = None):
    at = open_page(page, tab=tab, persona=persona)
    assert not at.error, [e.value for e in at.error]
    return at


def show_tab(at, tab: str):
    """Open another of Pipeline's tabs in the same session (only the open tab computes)."""
    set_bound(at, "pipeline_tab", tab)
    at.run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    return at


def test_pipeline_page_figures(db):
    at = open_clean("pages/pipeline.py", "Pipeline health")
    # health: open pipeline D2 + D4 + D6 = 42,000; coverage 42,000 / 65,000; needs 1 / 0.6
    assert (card(at, "open_amount"), card(at, "coverage"), card(at, "coverage_needed")) == ("$42k", "0.65×", "1.67×")
    assert card_delta(at, "coverage") == "needs 1.67×"
    assert (card(at, "win_rate"), card(at, "stalled_deals")) == ("60.0%", "2")
    # movement in Q3: created D1 D2 D3 D4 D5 D10 D11 (89,000); advanced D2 (proposal 07-25), D4
    # (negotiation 07-12); won D1 D3 (35,000); lost D5; nothing slipped (no expected date in Q3 has passed
    # on a deal still open: D6's is 08-30)
    assert (card(at, "created_deals"), card_delta(at, "created_deals")) == ("7", "$89k")
    assert (card(at, "advanced_deals"), card_delta(at, "advanced_deals")) == ("2", "$30k")
    assert (card(at, "period_won_deals"), card(at, "lost_deals"), card(at, "slipped_deals")) == ("2", "1", "0")
    show_tab(at, "Funnel")
    # beside the funnel, with Q2 for comparison: sales-sourced D5, D10 (Q2: D6)
    assert (card(at, "sales_sourced_deals"), card_delta(at, "sales_sourced_deals")) == ("2", "2026-Q2: 1")
    assert card(at, "unqualified_won") == "1"
    assert "The cohort of leads created in 2026-Q3" in texts(at)
    show_tab(at, "Gap decomposition")
    # decomposition: goal to date 100,000 × 45.5 / 92 = 49,457; won 35,000; gap 14,457
    assert (card(at, "goal_to_date"), card(at, "won_revenue"), card(at, "revenue_gap")) == ("$49k", "$35k", "$14k")


def test_pipeline_page_tables(db):
    at = open_clean("pages/pipeline.py")
    comparison = table(at, "Trailing year", "Figure")
    assert comparison.loc[label("leads"), ["2026-Q3", "2026-Q2", "Trailing year"]].tolist() == ["8", "1", "9"]
    assert comparison.loc[label("won"), "2026-Q3 step %"] == "50.0%"
    show_tab(at, "Gap to goal")
    # gap to goal, biggest revenue at stake first: accepted (target to date 5.99 → 6, actual 3)
    gaps = table(at, label("revenue_at_stake"), "Stage")
    assert list(gaps.index) == [STAGE_LABELS[s] for s in ("accepted", "quality_leads", "leads", "won", "opportunities")]
    columns = [label("stage_target_to_date"), label("stage_actual"), label("stage_gap")]
    assert gaps.loc[STAGE_LABELS["accepted"], columns].tolist() == ["6", "3", "3"]
    show_tab(at, "Pipeline health")
    # stalled list: D6 106.5 days in discovery, D4 34.5 in negotiation
    stalled = table(at, label("days_in_stage"), "Deal")
    assert stalled[label("days_in_stage")].to_dict() == {"D6": "106.5 d", "D4": "34.5 d"}
    assert "2 deal(s) open in one stage for more than 30 days, longest first." in texts(at)
    assert stalled["Stalls after"].to_dict() == {"D6": "30 d", "D4": "30 d"}
    show_tab(at, "Gap decomposition")
    # decomposition: the components and the assumptions (deal size to the dollar)
    # tiny: D3 (5,000) was won on L7, which never qualified
    assert f"**{label('gap_other_sources')}** narrowed the gap by **$5,000**." in texts(at)
    factors = table(at, "Cascade assumption", "Factor")
    assert factors.loc["Average won deal size"].tolist() == ["$18,333", "$17,500"]


def test_pipeline_segments_and_drill_down(db):
    at = open_clean("pages/pipeline.py", "Pipeline health")
    at.selectbox(key="pipeline_health_segment").select("team")
    at.run()
    health = table(at, label("coverage_needed"), "Team")
    # every deal is Ann Lowe's (ae-na): the whole goal, trailing win rate 3/5, needs 1.67×
    assert health.loc["ae-na", label("coverage_needed")] == "1.67×"
    # its share of the goal is all of it: (100,000 − 35,000) × 5/3 − 42,000 open = 66,333 short
    columns = [label("segment_goal"), label("coverage"), label("pipeline_shortfall"), "Status"]
    assert health.loc["ae-na", columns].tolist() == ["$100k", "0.65×", "$66k", "short"]
    open_drill_down(at, "pipeline_deal_records")
    at.selectbox(key="pipeline_deal_kind").select("stalled")
    at.run()
    records = table(at, "deal_id")
    assert sorted(records["deal_id"]) == ["D4", "D6"]
    show_tab(at, "Funnel")
    # funnel drill-down: the quality leads of paid_search are L2 and L3
    open_drill_down(at, "pipeline_funnel_records")
    at.selectbox(key="pipeline_funnel_value").select("paid_search")
    at.selectbox(key="pipeline_funnel_kind").select("quality_leads")
    at.run()
    assert table(at, "lead_id")["lead_id"].tolist() == ["L2", "L3"]
    assert "2 record(s)." in texts(at)
    assert not at.exception


def test_records_behind_a_gap(db):
    at = open_clean("pages/pipeline.py", "Gap to goal")
    assert "pipeline_gap_pick" not in [w.key for w in at.selectbox]  # closed: the records are not computed
    open_drill_down(at, "pipeline_gap_records")
    # the first gap is accepted leads (whole funnel): the cohort's accepted leads L1, L2, L6
    assert at.selectbox(key="pipeline_gap_pick").value.stage == "accepted"
    assert "3 record(s)." in texts(at)
    at.selectbox(key="pipeline_gap_segment").select("source")
    at.run()
    # split by source, the first gap is sales-sourced deals won: D9 is before Q3, so none in it
    assert at.selectbox(key="pipeline_gap_pick").value.segment_value == "sales-sourced"
    assert "No records behind this figure." in texts(at)
    assert not at.exception


def test_source_with_no_wins_shows_need_undefined(db):
    at = open_clean("pages/pipeline.py", "Pipeline health")
    # default segment is source: paid_search (D2 open) closed nothing in the trailing year
    health = table(at, label("coverage_needed"), "Source")
    assert health.loc["paid_search", label("coverage_needed")] == "—"
    assert health.loc["paid_search", "Status"] == "need undefined: nothing closed in the trailing year"


def test_gap_split_by_source(db):
    at = open_clean("pages/pipeline.py", "Gap to goal")
    at.selectbox(key="pipeline_gap_segment").select("source")
    at.run()
    gaps = table(at, label("revenue_at_stake"), "Source")
    # sales-sourced wins: target 5.45 × share 1/3 (D9 of D1 D3 D9) = 1.82, × elapsed 0.4946 = 0.90 → gap
    # 0.90 × 18,333 = $16k, the biggest
    assert gaps.index[0] == "sales-sourced" and gaps.iloc[0]["Stage"] == STAGE_LABELS["won"]
    assert not at.exception


def test_attribution_page(db):
    at = open_clean("pages/attribution.py")
    # Q3 leads 8 (quality 5); deals created in Q3: 7; won 35,000; cost: C1 1,000 × 31/61 + C2 2,000 × 46/227
    assert [card(at, m) for m in ("attr_leads", "attr_quality_leads", "attr_opportunities", "attr_won_revenue")] == [
        "8", "5", "7.0", "$35k"]
    assert card(at, "attr_cost") == "$913"
    won, ret = label("attr_won_revenue"), label("attr_return")
    t = table(at, ret, "Campaign")
    # first touch: D1 (L1, July webinar) 30,000; D3 (L7, no campaign) 5,000; Brand search nothing won
    assert t.loc["July webinar", won] == "$30k" and t.loc["Brand search", won] == "$0"
    assert t.loc["July webinar", label("cost_per_quality_lead")] == "$254"  # 508.20 / 2
    at.radio(key="attribution_model").set_value("linear")
    at.run()
    t = table(at, ret, "Campaign")
    # linear: D1's touches C1 (07-01 09:00) and C2 (07-03) before 07-05 → 15,000 each
    assert t.loc["July webinar", won] == "$15k" and t.loc["Brand search", won] == "$15k"
    at.radio(key="attribution_model").set_value("w_shaped")
    at.run()
    t = table(at, ret, "Campaign")
    # W-shaped: C1 holds the first and lead-creation roles (2/3), C2 the opportunity creation (1/3)
    assert t.loc["July webinar", won] == "$20k" and t.loc["Brand search", won] == "$10k"
    at.radio(key="attribution_view").set_value("channel")
    at.run()
    t = table(at, ret, "Channel")
    assert t.loc["webinar", won] == "$20k"
    # drill-down: the deals credited to the webinar channel under W-shaped are D1 and D4 (L9's deal)
    open_drill_down(at, "attribution_records")
    at.selectbox(key="attribution_pick").select("webinar")
    at.run()
    assert sorted(table(at, "deal_id")["deal_id"]) == ["D1", "D4"]
    assert "2 deal(s) credited." in texts(at)
    assert not at.exception


@pytest.mark.parametrize("page", ["pages/pipeline.py", "pages/attribution.py"])
def test_empty_database_says_what_cannot_be_computed(page, tmp_path, use_db):
    path = use_db(tmp_path / "empty.duckdb")
    open_store(path, create=True).close()
    at = open_clean(page)
    assert "No leads are loaded" in texts(at)
    for shown in each_tab(at, page):  # every tab's cards
        assert all(v == "—" for v in cards(shown).values())  # never a zero where nothing can be computed


def test_without_a_goal_no_gap_is_claimed(tiny_db_copy, use_db):
    con = open_store(tiny_db_copy)
    con.execute("DELETE FROM edit_versions WHERE kind = 'goal'")
    con.close()
    use_db(tiny_db_copy)
    at = open_clean("pages/pipeline.py", "Gap to goal")
    assert "No revenue goal is set for 2026-Q3, so no stage has a target." in [i.value for i in at.info]
    assert not at.success  # never "on pace" without a target
    show_tab(at, "Gap decomposition")
    assert "No revenue goal is set for 2026-Q3, so there is no gap to decompose." in [i.value for i in at.info]
    show_tab(at, "Pipeline health")
    assert card(at, "coverage") == "—"  # no goal: coverage undefined, not 0


def _stall_versions(path) -> list[tuple]:
    con = open_store(path)
    try:
        return con.execute("SELECT kind, subject, version, saved_by, reason FROM edit_versions "
                           "WHERE kind IN ('stall_rules', 'deal_snooze') ORDER BY kind DESC, version").fetchall()
    finally:
        con.close()


def test_a_sales_editor_sets_a_stall_rule_and_snoozes_a_deal(db):
    at = open_clean("pages/pipeline.py", "Pipeline health", persona=PERSONAS["sales"])
    rules = table(at, "Stalled after (days)", "Stage")
    assert rules["Stalled after (days)"].tolist() == [30, 30, 30, 30]
    assert at.selectbox(key="pipeline_snooze_deal").value == "D6"  # the longest stalled is offered first
    # discovery stalls after 120 days: D6 (106.5 d in discovery) is no longer stalled; D4 (negotiation) is
    at.number_input(key="pipeline_stall_rules_form_discovery").set_value(120)
    at.text_input(key="pipeline_stall_rules_form_reason").input("our discovery runs a full quarter")
    click(at, "Save the stall rules")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert card(at, "stalled_deals") == "1"
    assert table(at, "Stalled after (days)", "Stage").loc["Discovery", "Set by"] == "rule v1"
    history = table(at, "saved by", "version")
    assert history.loc[1, ["saved by", "reason", "changes"]].tolist() == [
        "Sal Ortiz", "our discovery runs a full quarter", "first version"]
    assert "1 deal(s) open in one stage for longer than its stage allows (discovery 120, qualification 30, " \
           "proposal 30, negotiation 30 days), longest first." in texts(at)
    # snooze D4, the one stalled deal left, until 2026-08-29 (the default: as-of + 14 days) with a reason
    at.selectbox(key="pipeline_snooze_deal").select("D4")
    at.text_input(key="pipeline_snooze_reason").input("waiting for the board, meets on the 28th")
    click(at, "Snooze the deal")
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Deal D4 snoozed until 2026-08-29." in [s.value for s in at.success]
    assert (card(at, "stalled_deals"), card_delta(at, "stalled_deals")) == ("0", "+1 snoozed, known reason")
    snoozed = table(at, "Snoozed by", "Deal")
    assert snoozed.loc["D4", ["Snoozed until", "Snoozed by", "Why"]].tolist() == [
        "2026-08-29", "Sal Ortiz", "waiting for the board, meets on the 28th"]
    assert _stall_versions(db) == [
        ("stall_rules", "default", 1, "Sal Ortiz", "our discovery runs a full quarter"),
        ("deal_snooze", "deals:D4", 1, "Sal Ortiz", "waiting for the board, meets on the 28th")]


def test_a_viewer_sees_the_stall_editors_disabled(db):
    at = open_clean("pages/pipeline.py", "Pipeline health", persona=PERSONAS["viewer"])
    buttons = {b.label: b.disabled for b in at.button if b.label in (
        "Save the stall rules", "Snooze the deal", "End its snooze")}
    assert buttons == {"Save the stall rules": True, "Snooze the deal": True, "End its snooze": True}
    assert "Vic Board (viewer) can read the rules; sales editors or admins change them." in texts(at)
    assert ("Vic Board (viewer) can read the snoozes; sales editors or admins mark a deal stalled for a known "
            "reason.") in texts(at)
    assert _stall_versions(db) == []


def test_two_editors_on_the_stall_rules_the_second_sees_the_first(db):
    first = open_clean("pages/pipeline.py", "Pipeline health", persona=PERSONAS["sales"])
    second = open_clean("pages/pipeline.py", "Pipeline health", persona=PERSONAS["leadership"])  # both on no rules
    for at, days, why in ((first, 14, "discovery is two weeks"), (second, 45, "discovery is six weeks")):
        at.number_input(key="pipeline_stall_rules_form_discovery").set_value(days)
        at.text_input(key="pipeline_stall_rules_form_reason").input(why)
    click(first, "Save the stall rules")
    assert [s.value for s in first.success] == ["Saved version 1 (Sal Ortiz)."]
    click(second, "Save the stall rules")
    assert any("Sal Ortiz saved version 1" in e.value and "Nothing was overwritten" in e.value for e in second.error)
    assert table(second, "their value (saved)", "field").loc["Days per stage (unlisted: the default)"].tolist() == [
        '{"discovery": 14}', '{"discovery": 45}']
    assert _stall_versions(db) == [("stall_rules", "default", 1, "Sal Ortiz", "discovery is two weeks")]


def test_attribution_models_and_lookback(db):
    at = open_clean("pages/attribution.py")
    won, ret = label("attr_won_revenue"), label("attr_return")
    at.radio(key="attribution_model").set_value("u_shaped")
    at.run()
    t = table(at, ret, "Campaign")
    # U-shaped: D1's C1 touch (07-01 09:00, L1's creation) is first and lead creation: 80%; C2 20%
    assert t.loc["July webinar", won] == "$24k" and t.loc["Brand search", won] == "$6,000"
    at.radio(key="attribution_model").set_value("time_decay")
    at.run()
    t = table(at, ret, "Campaign")
    # time decay, 7-day half-life: D1 (07-05) was touched 3.625 d (C1) and 2 d (C2) before: weights
    # 2^(-1.625/7) = 0.851 and 1 → C1 46.0% of 30,000 = $13.8k, C2 54.0% = $16.2k
    assert t.loc["July webinar", won] == "$14k" and t.loc["Brand search", won] == "$16k"
    at.selectbox(key="attribution_lookback").select(7)
    at.radio(key="attribution_model").set_value("first_touch")
    at.run()
    # a 7-day lookback keeps D1's touches and its lead (created 3.6 days before), but not D2's (L2 created and
    # touched 17.6 days before) nor D4's (L9 created 06-15, 25 days before): two opportunities unattributed
    t = table(at, ret, "Campaign")
    assert t.loc["unattributed", [label("attr_opportunities"), won]].tolist() == ["2.0", "$0"]
    assert t.loc["July webinar", won] == "$30k"
    at.selectbox(key="attribution_lookback").set_value(None)
    at.run()
    assert not at.exception and not at.error


def test_two_editors_snoozing_one_deal_the_second_is_told_and_can_decide_again(db):
    first = open_clean("pages/pipeline.py", "Pipeline health", persona=PERSONAS["sales"])
    second = open_clean("pages/pipeline.py", "Pipeline health", persona=PERSONAS["leadership"])
    for at in (first, second):  # both decide on D4 while it has no snooze
        at.selectbox(key="pipeline_snooze_deal").select("D4")
        at.run()
    first.text_input(key="pipeline_snooze_reason").input("board meets on the 28th")
    click(first, "Snooze the deal")
    assert "Deal D4 snoozed until 2026-08-29." in [s.value for s in first.success]
    second.text_input(key="pipeline_snooze_reason").input("no, it is dead")
    click(second, "End its snooze")
    assert any("Sal Ortiz changed this deal's snooze a moment ago" in e.value for e in second.error)
    assert _stall_versions(db) == [("deal_snooze", "deals:D4", 1, "Sal Ortiz", "board meets on the 28th")]
    # the snooze in force is listed (deal, until, by, why); deciding again now starts from it
    active = table(second, "Saved at (UTC)", "Deal")
    assert active.loc["D4", ["By", "Why"]].tolist() == ["Sal Ortiz", "board meets on the 28th"]
    second.text_input(key="pipeline_snooze_reason").input("no, it is dead")
    click(second, "End its snooze")
    assert "Deal D4's snooze ended." in [s.value for s in second.success]
    assert card(second, "stalled_deals") == "2"
    assert _stall_versions(db)[-1] == ("deal_snooze", "deals:D4", 2, "Lee Ader", "no, it is dead")
