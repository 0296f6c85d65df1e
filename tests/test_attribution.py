"""Unit tier for attribution: first-touch, linear and W-shaped credit on deals with 1, 2, 3 and 5 touches,
coinciding roles and touches, cost spread over the period, and totals that reconcile with the period's
deals — on a hand-made world, every value derived by hand beside its assertion."""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import AS_OF
from core import pipeline_view as view
from core.db import link_keys
from core.metrics import attribution as at
from core.metrics.pipeline import won_revenue
from core.periods import parse_period

Q3 = parse_period("2026-Q3")

# 2026-Q3 as of 2026-08-15 12:00. Costs in Q3: C1 runs 07-01..07-31 (31 days, all in Q3) → 3,100;
# C2 runs from 06-01 with no end: 06-01..08-15 = 76 days, 46 of them in Q3 → 7,600 × 46/76 = 4,600;
# C3 ran in May → 0 in Q3; C4's cost is unknown; C5 runs 08-01..08-31 (31 days), 15 by as-of → 1,500.
WORLD = """
INSERT INTO campaigns VALUES
  ('C1', 'Webinar A', 'webinar', '2026-07-01', '2026-07-31', 3100),
  ('C2', 'Search', 'paid_search', '2026-06-01', NULL, 7600),
  ('C3', 'Expo', 'events', '2026-05-01', '2026-05-31', 1000),
  ('C4', 'Newsletter', 'email', '2026-07-01', '2026-09-30', NULL),
  ('C5', 'Partner push', 'partner', '2026-08-01', '2026-08-31', 3100);
INSERT INTO leads (lead_id, created_at, source, campaign_id, score, status) VALUES
  ('L1', '2026-07-02 00:00', 'webinar', 'C1', 80, 'converted'),
  ('L2', '2026-07-03 12:00', 'paid_search', 'C2', 70, 'converted'),
  ('L3', '2026-07-05 00:00', 'events', NULL, 65, 'converted'),
  ('L4', '2026-07-10 00:00', 'paid_search', 'C2', 90, 'converted'),
  ('L5', '2026-07-12 00:00', 'webinar', 'C1', 85, 'converted'),
  ('L6', '2026-07-15 00:00', 'email', 'C4', 40, 'converted'),
  ('L7', '2026-07-16 00:00', 'outbound', NULL, 20, 'converted'),
  ('L8', '2026-07-20 00:00', 'webinar', 'C1', 30, 'open');
INSERT INTO campaign_touches (lead_id, campaign_id, touched_at) VALUES
  ('L1', 'C1', '2026-07-02 00:00'),
  ('L2', 'C2', '2026-07-03 12:00'), ('L2', 'C1', '2026-07-06 00:00'),
  ('L3', 'C3', '2026-07-01 00:00'), ('L3', 'C1', '2026-07-05 00:00'), ('L3', 'C2', '2026-07-08 00:00'),
  ('L4', 'C2', '2026-07-10 00:00'), ('L4', 'C4', '2026-07-12 00:00'), ('L4', 'C1', '2026-07-15 00:00'),
  ('L4', 'C4', '2026-07-20 00:00'), ('L4', 'C3', '2026-07-25 00:00'), ('L4', 'C5', '2026-08-10 00:00'),
  ('L5', 'C3', '2026-07-01 00:00'), ('L5', 'C1', '2026-07-12 00:00'), ('L5', 'C2', '2026-07-14 00:00'),
  ('L5', 'C4', '2026-07-16 00:00'), ('L5', 'C2', '2026-07-18 00:00'),
  ('L404', 'C1', '2026-07-01 00:00');
INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
  ('E1', 'L1',   NULL, '2026-07-10', 9000,  'closed_won',  NULL, '2026-08-01', NULL, NULL),
  ('E2', 'L2',   NULL, '2026-07-06', 6000,  'closed_won',  NULL, '2026-08-02', NULL, NULL),
  ('E3', 'L3',   NULL, '2026-07-09', 9000,  'proposal',    NULL, NULL,         NULL, NULL),
  ('E4', 'L4',   NULL, '2026-07-28', 10000, 'closed_won',  NULL, '2026-08-10', NULL, NULL),
  ('E5', 'L5',   NULL, '2026-07-20', 20000, 'closed_won',  NULL, '2026-08-05', NULL, NULL),
  ('E6', 'L6',   NULL, '2026-07-20', 3000,  'discovery',   NULL, NULL,         NULL, NULL),
  ('E7', 'L7',   NULL, '2026-07-25', 2000,  'closed_won',  NULL, '2026-08-06', NULL, NULL),
  ('E8', NULL,   NULL, '2026-07-01', 5000,  'closed_won',  NULL, '2026-08-07', NULL, NULL),
  ('E9', 'L404', NULL, '2026-07-02', 1000,  'discovery',   NULL, NULL,         NULL, NULL);
"""


@pytest.fixture
def world(empty):
    empty.execute(WORLD)
    link_keys(empty)  # raw rows: their lead keys, as every write path gives them
    return empty


def shares_of(shares: pd.DataFrame, deal: str, model: str) -> dict:
    rows = shares[(shares["deal_id"] == deal) & (shares["model"] == model)]
    return {(c if isinstance(c, str) else b): s for b, c, s in zip(rows["bucket"], rows["campaign_id"], rows["share"])}


def test_shares_of_every_deal_sum_to_its_amount_under_every_model(world):
    shares = at.deal_shares(world, Q3, AS_OF)
    amounts = dict(world.execute("SELECT deal_id, amount FROM deals").fetchall())
    assert set(shares["deal_id"]) == {f"E{i}" for i in range(1, 10)}
    for (deal, model), group in shares.groupby(["deal_id", "model"]):
        assert group["credited_amount"].sum() == pytest.approx(amounts[deal], abs=1e-9), (deal, model)
    sums = shares.groupby(["deal_id", "model"])["share"].sum()
    assert sums.tolist() == pytest.approx([1.0] * len(sums), rel=0, abs=1e-12)


def test_one_touch(world):
    shares = at.deal_shares(world, Q3, AS_OF)
    # E1: L1's only touch (C1, at its creation): every role on one touch → 100% under every model
    for model in at.MODELS:
        assert shares_of(shares, "E1", model) == {"C1": 1.0}


def test_two_touches_one_holding_two_roles(world):
    shares = at.deal_shares(world, Q3, AS_OF)
    # E2 (created 07-06 00:00): C2 at L2's creation, C1 at the very moment the deal was created (counts).
    # C2 is first touch and lead-creation touch, C1 the opportunity-creation touch; nothing in between,
    # so the roles share everything: C2 2/3, C1 1/3. Linear: 1/2 each. First touch: C2.
    assert shares_of(shares, "E2", "w_shaped") == pytest.approx({"C2": 2 / 3, "C1": 1 / 3})
    assert shares_of(shares, "E2", "linear") == {"C2": 0.5, "C1": 0.5}
    assert shares_of(shares, "E2", "first_touch") == {"C2": 1.0}


def test_three_touches_distinct_roles(world):
    shares = at.deal_shares(world, Q3, AS_OF)
    # E3: C3 07-01 (first), C1 07-05 00:00 = L3's creation (lead creation), C2 07-08 (last before the deal):
    # a third each under W-shaped and linear; L3 has no campaign_id, so first touch credits no campaign
    assert shares_of(shares, "E3", "w_shaped") == pytest.approx({"C3": 1 / 3, "C1": 1 / 3, "C2": 1 / 3})
    assert shares_of(shares, "E3", "linear") == pytest.approx({"C3": 1 / 3, "C1": 1 / 3, "C2": 1 / 3})
    assert shares_of(shares, "E3", "first_touch") == {"(no campaign)": 1.0}


def test_five_touches_first_and_lead_creation_coincide(world):
    shares = at.deal_shares(world, Q3, AS_OF)
    # E4 (created 07-28): C2 07-10 (first and lead creation: 60%), C4 07-12, C1 07-15, C4 07-20 (the
    # three in between share 10%: 1/30 each, C4 twice), C3 07-25 (opportunity creation: 30%). C5's touch
    # on 08-10 came after the deal and does not count. Linear: 1/5 each, C4 twice.
    assert shares_of(shares, "E4", "w_shaped") == pytest.approx({"C2": 0.6, "C4": 2 / 30, "C1": 1 / 30, "C3": 0.3})
    assert shares_of(shares, "E4", "linear") == pytest.approx({"C2": 0.2, "C4": 0.4, "C1": 0.2, "C3": 0.2})


def test_five_touches_distinct_roles(world):
    shares = at.deal_shares(world, Q3, AS_OF)
    # E5: C3 07-01 first (30%), C1 07-12 = L5's creation (30%), C2 07-14 and C4 07-16 in between (5% each),
    # C2 07-18 last before the deal (30%) → C2 35%. Linear: C3, C1, C4 1/5; C2 2/5.
    assert shares_of(shares, "E5", "w_shaped") == pytest.approx({"C3": 0.3, "C1": 0.3, "C2": 0.35, "C4": 0.05})
    assert shares_of(shares, "E5", "linear") == pytest.approx({"C3": 0.2, "C1": 0.2, "C2": 0.4, "C4": 0.2})


def test_deals_without_touches(world):
    shares = at.deal_shares(world, Q3, AS_OF)
    # E6: L6 has no recorded touch; its first-touch campaign C4 stands in as its one touch
    # E7: no campaign, no touch → '(no campaign)'; E8 has no lead → 'sales-sourced' under every model
    # E9: its lead is not loaded → 'unknown lead' by first touch, but L404's touch (C1) credits it otherwise
    for model in at.MODELS:
        assert shares_of(shares, "E6", model) == {"C4": 1.0}
        assert shares_of(shares, "E7", model) == {"(no campaign)": 1.0}
        assert shares_of(shares, "E8", model) == {"sales-sourced": 1.0}
    assert shares_of(shares, "E9", "first_touch") == {"unknown lead": 1.0}
    assert shares_of(shares, "E9", "linear") == shares_of(shares, "E9", "w_shaped") == {"C1": 1.0}


def test_simultaneous_touches_are_ordered_by_campaign(empty):
    # Two campaigns touch the lead at the moment it is created: ordered (touched_at, campaign_id), C1
    # is the first touch and C2 the lead-creation touch (the last at or before creation) and the
    # opportunity-creation touch → C1 1/3, C2 2/3, the same on every run.
    empty.execute("""
        INSERT INTO leads (lead_id, created_at, source, campaign_id, score, status) VALUES
          ('M1', '2026-07-20', 'webinar', 'C2', 80, 'converted');
        INSERT INTO campaign_touches (lead_id, campaign_id, touched_at) VALUES ('M1', 'C2', '2026-07-20'), ('M1', 'C1', '2026-07-20');
        INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES ('F1', 'M1', NULL, '2026-07-21', 3000, 'discovery', NULL, NULL, NULL, NULL)""")
    link_keys(empty)
    shares = at.deal_shares(empty, Q3, AS_OF)
    assert shares_of(shares, "F1", "w_shaped") == pytest.approx({"C1": 1 / 3, "C2": 2 / 3})
    assert shares_of(shares, "F1", "linear") == {"C1": 0.5, "C2": 0.5}


def test_campaign_table_first_touch(world):
    a = at.attribution(world, Q3, AS_OF)
    t = a.table("first_touch").set_index("key")
    # campaigns first, most first-touch revenue first, then most leads (C4 has one, C3 and C5 none);
    # then the named buckets the same way
    assert list(t.index) == ["C1", "C2", "C4", "C3", "C5", "sales-sourced", "(no campaign)", "unknown lead"]
    # leads by leads.campaign_id: C1 L1 L5 L8 (quality L1 L5); C2 L2 L4; C4 L6 (score 40); none L3 L7 (L3 quality)
    assert t.loc["C1", ["leads", "quality_leads"]].tolist() == [3, 2]
    assert t.loc["C2", ["leads", "quality_leads"]].tolist() == [2, 2]
    assert t.loc["C4", ["leads", "quality_leads"]].tolist() == [1, 0]
    assert t.loc["(no campaign)", ["leads", "quality_leads"]].tolist() == [2, 1]
    # opportunities (created in Q3): C1 E1 E5; C2 E2 E4; C4 E6; none E3 E7; sales E8; unknown E9
    assert t["opportunities"].to_dict() == {"C1": 2, "C2": 2, "C3": 0, "C4": 1, "C5": 0, "(no campaign)": 2,
                                            "sales-sourced": 1, "unknown lead": 1}
    # won in Q3: C1 E1 9,000 + E5 20,000; C2 E2 6,000 + E4 10,000; none E7 2,000; sales E8 5,000
    assert t["won_revenue"].to_dict() == {"C1": 29_000, "C2": 16_000, "C3": 0, "C4": 0, "C5": 0,
                                          "(no campaign)": 2_000, "sales-sourced": 5_000, "unknown lead": 0}
    assert t.loc["C1", "cost"] == pytest.approx(3_100)
    assert t.loc["C2", "cost"] == pytest.approx(7_600 * 46 / 76)  # = 4,600
    assert t.loc["C3", "cost"] == 0 and pd.isna(t.loc["C4", "cost"])
    assert t.loc["C5", "cost"] == pytest.approx(3_100 * 15 / 31)  # = 1,500: spend with nothing to show yet
    assert t.loc["C1", "cost_per_quality_lead"] == pytest.approx(1_550)
    assert t.loc["C2", "cost_per_quality_lead"] == pytest.approx(2_300)
    assert t.loc["C1", "return"] == pytest.approx(29_000 / 3_100)
    # undefined, not 0: C3 cost nothing in Q3, C4's cost is unknown, C5 has no quality lead
    assert pd.isna(t.loc["C3", "return"]) and pd.isna(t.loc["C4", "return"])
    assert pd.isna(t.loc["C5", "cost_per_quality_lead"]) and pd.isna(t.loc["(no campaign)", "cost"])
    assert any("no recorded campaign cost" in n for n in a.notes)


def test_campaign_table_multi_touch(world):
    a = at.attribution(world, Q3, AS_OF)
    linear = a.table("linear").set_index("key")
    # won, linear: C1 = E1 9,000 + E2 3,000 + E4 2,000 + E5 4,000; C2 = 3,000 + 2,000 + 8,000;
    # C3 = 2,000 + 4,000; C4 = 4,000 + 4,000
    assert linear["won_revenue"].to_dict() == pytest.approx(
        {"C1": 18_000, "C2": 13_000, "C3": 6_000, "C4": 8_000, "C5": 0, "(no campaign)": 2_000,
         "sales-sourced": 5_000, "unknown lead": 0})
    # opportunities, linear: C1 = 1 + 1/2 + 1/3 + 1/5 + 1/5 + 1 (E9 through L404's touch)
    assert linear.loc["C1", "opportunities"] == pytest.approx(1 + 1 / 2 + 1 / 3 + 0.2 + 0.2 + 1)
    assert linear.loc["unknown lead", "opportunities"] == 0
    w = a.table("w_shaped").set_index("key")
    # won, W-shaped: C1 = 9,000 + 2,000 + 333.33 + 6,000; C2 = 4,000 + 6,000 + 7,000; C3 = 3,000 + 6,000;
    # C4 = 666.67 + 1,000
    assert w["won_revenue"].to_dict() == pytest.approx(
        {"C1": 17_000 + 1_000 / 3, "C2": 17_000, "C3": 9_000, "C4": 5_000 / 3, "C5": 0, "(no campaign)": 2_000,
         "sales-sourced": 5_000, "unknown lead": 0})
    # every model adds up to the period's 9 opportunities and 52,000 won revenue (= won_revenue())
    for model in at.MODELS:
        totals = a.totals(model)
        assert totals["opportunities"] == pytest.approx(9)
        assert totals["won_revenue"] == pytest.approx(won_revenue(world, Q3, AS_OF)[0]) == pytest.approx(52_000)
        assert (totals["leads"], totals["quality_leads"]) == (8, 5)
        assert totals["cost"] is None and totals["return"] is None  # C4's cost is unknown


def test_channel_view(world):
    a = at.attribution(world, Q3, AS_OF, "channel")
    t = a.table("first_touch").set_index("key")
    assert t.loc["webinar", "won_revenue"] == 29_000 and t.loc["paid_search", "won_revenue"] == 16_000
    assert pd.isna(t.loc["email", "cost"])  # C4's unknown cost stays unknown per channel
    assert t.loc["partner", "cost"] == pytest.approx(1_500)
    assert a.table("linear").set_index("key").loc["events", "won_revenue"] == pytest.approx(6_000)


def test_totals_when_every_cost_is_known(world):
    world.execute("UPDATE campaigns SET cost = 920 WHERE campaign_id = 'C4'")  # 92 days, 46 in Q3 → 460
    totals = at.attribution(world, Q3, AS_OF).totals("first_touch")
    # cost 3,100 + 4,600 + 0 + 460 + 1,500 = 9,660; campaigns' first-touch revenue 29,000 + 16,000 = 45,000
    assert totals["cost"] == pytest.approx(9_660)
    assert totals["campaign_won_revenue"] == pytest.approx(45_000)
    assert totals["return"] == pytest.approx(45_000 / 9_660)
    assert totals["cost_per_quality_lead"] == pytest.approx(9_660 / 4)  # campaign quality leads: L1 L5 L2 L4


def test_records_behind_a_row(world):
    r = at.attribution_records(world, Q3, AS_OF, "linear", "campaign", "C1")
    # C1 is touched on E1, E2, E3, E4, E5 and (through L404) E9; its linear revenue is 18,000
    assert r.total == 6 and sorted(r.frame["deal_id"]) == ["E1", "E2", "E3", "E4", "E5", "E9"]
    assert r.frame["credited_won_revenue"].sum() == pytest.approx(18_000)
    assert r.frame["deal_id"].iloc[0] == "E1"  # most credited revenue first
    ch = at.attribution_records(world, Q3, AS_OF, "first_touch", "channel", "sales-sourced")
    assert ch.frame["deal_id"].tolist() == ["E8"]
    assert at.attribution_records(world, Q3, AS_OF, "w_shaped", "campaign", "C1", limit=2).frame.shape[0] == 2
    with pytest.raises(ValueError):
        at.attribution_records(world, Q3, AS_OF, "last_touch", "campaign", "C1")


def test_without_touches_multi_touch_is_unknown(world):
    world.execute("DELETE FROM campaign_touches")
    a = at.attribution(world, Q3, AS_OF)
    t = a.table("linear")
    assert t["won_revenue"].isna().all() and t["opportunities"].isna().all()
    assert a.table("first_touch").set_index("key").loc["C1", "won_revenue"] == 29_000
    assert any("No campaign touches" in n for n in a.notes)


def test_without_leads_nothing_can_be_traced(empty):
    a = at.attribution(empty, Q3, AS_OF)
    assert a.frame.empty and "No leads" in a.notes[0]
    assert a.totals("linear")["won_revenue"] is None


def test_page_cards_and_choices(world):
    a = at.attribution(world, Q3, AS_OF)
    # first touch: 8 leads, 5 quality; 9 deals created, 52,000 won in Q3; C4's cost is unknown → no total
    assert view.attribution_cards(a, "first_touch") == [
        ("attr_leads", 8, None), ("attr_quality_leads", 5, None), ("attr_opportunities", 9.0, None),
        ("attr_won_revenue", 52_000.0, None), ("attr_cost", None, None), ("attr_return", None, None)]
    choices = view.attribution_choices(a.table("first_touch"))
    assert list(choices)[:2] == ["C1", "C2"] and choices["C1"] == "Webinar A"
    assert choices["(no campaign)"] == "(no campaign)"


# --- U-shaped, time decay and the lookback window (issue 15, item 6) -----------------------------------

def test_u_shaped_on_one_two_three_and_five_touches(world):
    shares = at.deal_shares(world, Q3, AS_OF)
    # 40% first touch, 40% lead-creation touch, 20% shared by the touches holding neither role
    # E1: one touch holds both roles and nothing is left to share → 100%
    assert shares_of(shares, "E1", "u_shaped") == {"C1": 1.0}
    # E2: C2 is first and lead creation (80%), C1 (the opportunity touch, no U role) takes the 20%
    assert shares_of(shares, "E2", "u_shaped") == pytest.approx({"C2": 0.8, "C1": 0.2})
    # E3: C3 first 40%, C1 lead creation 40%, C2 the rest 20%
    assert shares_of(shares, "E3", "u_shaped") == pytest.approx({"C3": 0.4, "C1": 0.4, "C2": 0.2})
    # E4: C2 first and lead creation 80%; C4, C1, C4, C3 share 20% → 5% each (C4 twice: 10%)
    assert shares_of(shares, "E4", "u_shaped") == pytest.approx({"C2": 0.8, "C4": 0.1, "C1": 0.05, "C3": 0.05})
    # E5: C3 first 40%, C1 lead creation 40%; C2, C4, C2 share 20% → 1/15 each (C2 twice)
    assert shares_of(shares, "E5", "u_shaped") == pytest.approx({"C3": 0.4, "C1": 0.4, "C2": 2 / 15, "C4": 1 / 15})


def test_u_shaped_two_touches_with_distinct_roles_split_evenly(empty):
    # M1's touches at its creation, ordered by campaign: C1 first, C2 the lead-creation touch (the last at or
    # before creation); no touch is left for the 20%, so the two roles share everything: 50/50
    empty.execute("""
        INSERT INTO leads (lead_id, created_at, source, campaign_id, score, status) VALUES
          ('M1', '2026-07-20', 'webinar', 'C2', 80, 'converted');
        INSERT INTO campaign_touches (lead_id, campaign_id, touched_at) VALUES ('M1', 'C2', '2026-07-20'), ('M1', 'C1', '2026-07-20');
        INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES ('F1', 'M1', NULL, '2026-07-21', 3000, 'discovery', NULL, NULL, NULL, NULL)""")
    link_keys(empty)
    assert shares_of(at.deal_shares(empty, Q3, AS_OF), "F1", "u_shaped") == pytest.approx({"C1": 0.5, "C2": 0.5})


# Deals created 07-29 00:00 with touches 0, 7, 14, 21 and 28 days before: under a 7-day half-life the
# weights are 1, 1/2, 1/4, 1/8, 1/16 of the newest.
DECAY = """
INSERT INTO leads (lead_id, created_at, source, campaign_id, score, status) VALUES
  ('T1', '2026-07-29', 'webinar', 'C1', 80, 'converted'), ('T2', '2026-07-22', 'webinar', 'C1', 80, 'converted'),
  ('T3', '2026-07-15', 'webinar', 'C1', 80, 'converted'), ('T5', '2026-07-01', 'webinar', 'C1', 80, 'converted');
INSERT INTO campaign_touches (lead_id, campaign_id, touched_at) VALUES
  ('T1', 'C1', '2026-07-29'),
  ('T2', 'C1', '2026-07-22'), ('T2', 'C2', '2026-07-29'),
  ('T3', 'C1', '2026-07-15'), ('T3', 'C2', '2026-07-22'), ('T3', 'C3', '2026-07-29'),
  ('T5', 'C1', '2026-07-01'), ('T5', 'C2', '2026-07-08'), ('T5', 'C3', '2026-07-15'), ('T5', 'C4', '2026-07-22'),
  ('T5', 'C5', '2026-07-29');
INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
  ('G1', 'T1', NULL, '2026-07-29', 1000, 'discovery', NULL, NULL, NULL, NULL),
  ('G2', 'T2', NULL, '2026-07-29', 3000, 'discovery', NULL, NULL, NULL, NULL),
  ('G3', 'T3', NULL, '2026-07-29', 7000, 'discovery', NULL, NULL, NULL, NULL),
  ('G5', 'T5', NULL, '2026-07-29', 31000, 'closed_won', NULL, '2026-08-01', NULL, NULL);
"""


def test_time_decay_halves_a_touch_every_half_life(empty):
    empty.execute(DECAY)
    link_keys(empty)
    shares = at.deal_shares(empty, Q3, AS_OF, half_life_days=7)
    assert shares_of(shares, "G1", "time_decay") == {"C1": 1.0}
    # weights 1/2, 1 → 1/3, 2/3
    assert shares_of(shares, "G2", "time_decay") == pytest.approx({"C1": 1 / 3, "C2": 2 / 3})
    # weights 1/4, 1/2, 1 → 1/7, 2/7, 4/7
    assert shares_of(shares, "G3", "time_decay") == pytest.approx({"C1": 1 / 7, "C2": 2 / 7, "C3": 4 / 7})
    # weights 1/16 … 1 → 1/31, 2/31, 4/31, 8/31, 16/31 of 31,000
    g5 = shares[(shares["deal_id"] == "G5") & (shares["model"] == "time_decay")]
    assert dict(zip(g5["campaign_id"], g5["credited_amount"])) == pytest.approx(
        {"C1": 1_000, "C2": 2_000, "C3": 4_000, "C4": 8_000, "C5": 16_000})
    # a 14-day half-life: G2's weights are 2^(-7/14) = 1/√2 and 1
    slow = at.deal_shares(empty, Q3, AS_OF, half_life_days=14)
    assert shares_of(slow, "G2", "time_decay") == pytest.approx({"C1": 2 ** -0.5 / (1 + 2 ** -0.5),
                                                                 "C2": 1 / (1 + 2 ** -0.5)})
    with pytest.raises(ValueError):
        at.deal_shares(empty, Q3, AS_OF, half_life_days=0)


def test_time_decay_on_the_world(world):
    # E2 (created 07-06 00:00): C2 2.5 days before, C1 at the moment → with a 2.5-day half-life 1/2 and 1
    shares = at.deal_shares(world, Q3, AS_OF, half_life_days=2.5)
    assert shares_of(shares, "E2", "time_decay") == pytest.approx({"C2": 1 / 3, "C1": 2 / 3})
    # E3 (created 07-09): C3 8 days, C1 4 days, C2 1 day before; 3-day half-life, ages from the newest
    # 7, 3, 0 → 2^(-7/3), 2^(-1), 1
    w = {"C3": 2 ** (-7 / 3), "C1": 0.5, "C2": 1.0}
    assert shares_of(at.deal_shares(world, Q3, AS_OF, half_life_days=3), "E3", "time_decay") == pytest.approx(
        {k: v / sum(w.values()) for k, v in w.items()})


def test_a_lookback_drops_touches_older_than_it(world):
    shares = at.deal_shares(world, Q3, AS_OF, lookback_days=7)
    # E1 (07-10): its only touch and its lead (07-02) are 8 days old → unattributed under every model
    for model in at.MODELS:
        assert shares_of(shares, "E1", model) == {"unattributed": 1.0}, model
    # E2 (07-06): both touches within 7 days (2.5 d, 0 d): as without a window
    assert shares_of(shares, "E2", "w_shaped") == pytest.approx({"C2": 2 / 3, "C1": 1 / 3})
    assert shares_of(shares, "E2", "first_touch") == {"C2": 1.0}
    # E3 (07-09): C3 (07-01, 8 d) drops; C1 (07-05, the lead's creation) is now first and lead creation,
    # C2 (07-08) the opportunity touch: W 2/3 and 1/3, U 80/20, linear halves
    assert shares_of(shares, "E3", "w_shaped") == pytest.approx({"C1": 2 / 3, "C2": 1 / 3})
    assert shares_of(shares, "E3", "u_shaped") == pytest.approx({"C1": 0.8, "C2": 0.2})
    assert shares_of(shares, "E3", "linear") == pytest.approx({"C1": 0.5, "C2": 0.5})
    assert shares_of(shares, "E3", "first_touch") == {"(no campaign)": 1.0}  # L3 has no campaign at all
    # E4 (07-28): only C3 (07-25) is within 7 days → 100% under every multi-touch model; its lead (07-10)
    # is 18 days old → unattributed by first touch
    for model in at.MULTI_TOUCH:
        assert shares_of(shares, "E4", model) == {"C3": 1.0}
    assert shares_of(shares, "E4", "first_touch") == {"unattributed": 1.0}
    # E5 (07-20): C2 07-14, C4 07-16, C2 07-18 remain; no touch at or before the lead's creation (07-12)
    # remains, so the first (C2) is also the lead-creation touch: W C2 60% + 30%, C4 10%; U C2 80% + 10%
    assert shares_of(shares, "E5", "w_shaped") == pytest.approx({"C2": 0.9, "C4": 0.1})
    assert shares_of(shares, "E5", "u_shaped") == pytest.approx({"C2": 0.9, "C4": 0.1})
    assert shares_of(shares, "E5", "linear") == pytest.approx({"C2": 2 / 3, "C4": 1 / 3})
    # E6: its first-touch campaign C4 stands in at the lead's creation (07-15, 5 days before): kept
    assert shares_of(shares, "E6", "time_decay") == {"C4": 1.0}
    # a touch exactly `lookback` days before the deal counts: E1's (8 days) with an 8-day lookback
    assert shares_of(at.deal_shares(world, Q3, AS_OF, lookback_days=8), "E1", "linear") == {"C1": 1.0}


@pytest.mark.parametrize("lookback", at.LOOKBACK_CHOICES + (1,))
@pytest.mark.parametrize("half_life", [1.0, 7.0, 30.0])
def test_shares_sum_to_the_amount_under_every_model_and_window(world, lookback, half_life):
    shares = at.deal_shares(world, Q3, AS_OF, lookback_days=lookback, half_life_days=half_life)
    amounts = dict(world.execute("SELECT deal_id, amount FROM deals").fetchall())
    credited = shares.groupby(["deal_id", "model"])["credited_amount"].sum()
    # every deal of the period, under every model, credited its whole amount: none dropped, none doubled
    assert sorted(credited.index) == sorted((f"E{i}", m) for i in range(1, 10) for m in at.MODELS)
    for (deal, model), amount in credited.items():
        assert amount == pytest.approx(amounts[deal], abs=1e-6), (deal, model)


def test_the_table_shows_unattributed_credit_and_still_adds_up(world):
    a = at.attribution(world, Q3, AS_OF, lookback_days=7)
    first = a.table("first_touch").set_index("key")
    # first touch: E1 (9,000 won), E4 (10,000 won) and E5 (20,000 won) have leads older than 7 days
    assert first.loc["unattributed", ["opportunities", "won_revenue"]].tolist() == [3, 39_000]
    assert first.loc["unattributed", "name"] == "unattributed" and pd.isna(first.loc["unattributed", "cost"])
    linear = a.table("linear").set_index("key")
    assert linear.loc["unattributed", ["opportunities", "won_revenue"]].tolist() == [1, 9_000]  # E1 only
    for model in at.MODELS:
        totals = a.totals(model)
        assert (totals["opportunities"], totals["won_revenue"]) == (pytest.approx(9), pytest.approx(52_000))
    assert a.lookback_days == 7
    assert any("7-day lookback" in n for n in a.notes)
    # without a lookback nothing is unattributed: no such row
    assert "unattributed" not in set(at.attribution(world, Q3, AS_OF).table("linear")["key"])
    records = at.attribution_records(world, Q3, AS_OF, "first_touch", "campaign", "unattributed", lookback_days=7)
    assert sorted(records.frame["deal_id"]) == ["E1", "E4", "E5"]


def test_the_page_query_refuses_credit_that_does_not_sum_to_the_deal(world, monkeypatch):
    # the check rides in the page's own query (one computation of the credit): break linear credit on purpose
    ctes = at._credit_ctes
    monkeypatch.setattr(at, "_credit_ctes", lambda *a, **k: ctes(*a, **k).replace("1.0::DOUBLE / n", "2.0::DOUBLE / n"))
    with pytest.raises(AssertionError, match="do not sum to 1"):
        at.attribution(world, Q3, AS_OF)
