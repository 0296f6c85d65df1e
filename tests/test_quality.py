"""Unit tier: the quality-lead definition — every criterion declared once (SQL, words, editor inputs),
checking drafts against the data, effective dating through every figure that depends on quality, the
back-test on hand-made rows, and the editor page's rules (core.quality_editor) without Streamlit.

Each expected value is worked out by hand in the comment beside it.
"""
from __future__ import annotations

from datetime import datetime

import pytest

from conftest import LEADERSHIP
from core import edits, quality
from core import quality_editor as editor
from core.db import transaction
from core.metrics import goals, sla
from core.metrics.attribution import attribution
from core.metrics.backtest import Rejudged, backtest, rejudged
from core.metrics.funnel import funnel
from core.models import DEFAULT_QUALITY_DEFINITION, Actor, QualityDefinition
from core.periods import parse_period
from core.quality import LABELS, definition_sql, describe, lead_choices, schedule_sql
from core.report import build_report
from core.semantic.blocks import lead_q, run

AS_OF = datetime(2026, 6, 30, 12, 0)

# A small world for the back-test (as of 2026-06-30 12:00). Columns: lead_id, created_at, source,
# campaign_id, company, industry, employees, country, seniority, score, demo_requested, mql_at, owner_id,
# assigned_at, status, rejected_reason.
WORLD = """
INSERT INTO leads (lead_id, created_at, source, campaign_id, company, industry, employees, country, seniority, score, demo_requested, mql_at, owner_id, assigned_at, status, rejected_reason) VALUES
  ('A1', '2026-01-10 00:00', 'paid_search', NULL, 'a', 'software', 200,  'US', 'vp',         80, false, NULL,               NULL, NULL, 'converted', NULL),
  ('A2', '2026-01-20 00:00', 'webinar',     NULL, 'b', 'retail',    20,  'GB', 'manager',    40, true,  NULL,               NULL, NULL, 'accepted',  NULL),
  ('A3', '2026-02-05 00:00', 'outbound',    NULL, 'c', 'software', 500,  'US', 'director',   70, false, NULL,               NULL, NULL, 'converted', NULL),
  ('A4', '2026-02-15 00:00', 'content',     NULL, 'd', 'fintech', 1000,  'DE', 'c_level',    55, false, '2026-02-16 00:00', NULL, NULL, 'open',      NULL),
  ('A5', '2026-03-01 00:00', 'paid_social', NULL, 'e', 'retail',   NULL, 'US', 'individual', 90, false, NULL,               NULL, NULL, 'accepted',  NULL),
  ('A6', '2026-03-10 00:00', 'partner',     NULL, 'f', NULL,        50,  NULL, NULL,       NULL, NULL,  '2026-07-01 00:00', NULL, NULL, 'open',      NULL),
  ('A7', '2026-07-05 00:00', 'webinar',     NULL, 'g', 'software', 300,  'US', 'vp',         99, true,  NULL,               NULL, NULL, 'open',      NULL);
INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
  ('E1', 'A1', 'a', '2026-02-01 00:00', 10000, 'closed_won',  NULL, '2026-03-01 00:00', NULL, NULL),
  ('E2', 'A1', 'a', '2026-04-01 00:00',  5000, 'closed_won',  NULL, '2026-05-01 00:00', NULL, NULL),
  ('E3', 'A2', 'b', '2026-02-10 00:00',  8000, 'closed_lost', NULL, '2026-03-15 00:00', NULL, 'price'),
  ('E4', 'A3', 'c', '2026-03-01 00:00', 20000, 'closed_won',  NULL, '2026-06-01 00:00', NULL, NULL),
  ('E5', 'A5', 'e', '2026-04-01 00:00',  7000, 'closed_won',  NULL, '2026-07-15 00:00', NULL, NULL),
  ('E6', 'A4', 'd', '2026-07-10 00:00',  9000, 'discovery',   NULL, NULL,               NULL, NULL),
  ('E7', NULL, 'z', '2026-03-01 00:00',  3000, 'closed_won',  NULL, '2026-04-01 00:00', NULL, NULL),
  ('E8', 'A6', 'f', '2026-04-01 00:00',  4000, 'closed_won',  NULL, '2026-06-15 00:00', NULL, NULL);
"""
# Verdicts as of 2026-06-30 12:00 under version 1 (score >= 60, or demo, or CRM-qualified by as-of):
#   A1 80 ✓, A2 demo ✓, A3 70 ✓, A4 CRM 02-16 ✓, A5 90 ✓, A6 nothing set (its mql_at is after as-of) ✗;
#   A7 is created after as-of and does not exist yet.
# Outcomes as of: A1 two won deals (E1 10,000 + E2 5,000); A2 a lost deal; A3 won E4 20,000; A4's deal
# comes after as-of (none); A5's E5 closes after as-of (open opportunity); A6 won E8 4,000; E7 has no lead.
DRAFT = QualityDefinition(min_score=60, industries=["software", "retail"], demo_fast_track=False,
                          crm_qualified=False, exclude_sources=["outbound"])
# The draft: A1 (80, software) ✓; A2 40 ✗; A3 is outbound → excluded ✗; A4 55 ✗; A5 (90, retail) ✓; A6 ✗.


@pytest.fixture
def world(empty):
    with transaction(empty) as cur:
        cur.execute(WORLD)
    return empty


def qualifying(con, d: QualityDefinition, as_of: datetime = AS_OF) -> list[str]:
    params: dict = {"as_of": as_of}
    expr = definition_sql(d, "t", params)
    return [r[0] for r in run(con, f"SELECT lead_id FROM leads l WHERE {expr} ORDER BY lead_id", params).fetchall()]


# --- compiling --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "definition, expected",
    [
        # version 1: see the verdicts above; A7 (score 99, demo) qualifies too when the whole table is read
        (DEFAULT_QUALITY_DEFINITION, ["A1", "A2", "A3", "A4", "A5", "A7"]),
        # scores 80, 70, 90, 99 pass; A2 40, A4 55 fail; A6 has no score (NULL never passes)
        (QualityDefinition(min_score=70, demo_fast_track=False, crm_qualified=False), ["A1", "A3", "A5", "A7"]),
        (QualityDefinition(industries=["retail"], demo_fast_track=False, crm_qualified=False), ["A2", "A5"]),
        # 50..500 employees: A1 200, A3 500 (bounds inclusive), A6 50, A7 300; A5 has none
        (QualityDefinition(employees_min=50, employees_max=500, demo_fast_track=False, crm_qualified=False),
         ["A1", "A3", "A6", "A7"]),
        (QualityDefinition(employees_max=20, demo_fast_track=False, crm_qualified=False), ["A2"]),
        (QualityDefinition(seniorities=["vp", "c_level"], demo_fast_track=False, crm_qualified=False), ["A1", "A4", "A7"]),
        (QualityDefinition(countries=["GB", "DE"], demo_fast_track=False, crm_qualified=False), ["A2", "A4"]),
        # demo required as a fit criterion next to a score: A7 (99, demo) only; A2 has a demo but scores 40
        (QualityDefinition(min_score=50, demo_required=True, demo_fast_track=False, crm_qualified=False), ["A7"]),
        # fast track alone: A2 and A7 requested a demo
        (QualityDefinition(demo_fast_track=True, crm_qualified=False), ["A2", "A7"]),
        # CRM flag alone: A4 (02-16); A6's mql_at 07-01 is after as-of
        (QualityDefinition(demo_fast_track=False, crm_qualified=True), ["A4"]),
        # exclusions beat every way in: version 1 minus software (A1, A3, A7) and minus DE (A4)
        (QualityDefinition(min_score=60, exclude_industries=["software"], exclude_countries=["DE"]), ["A2", "A5"]),
        # version 1 minus the webinar source (A2, A7)
        (QualityDefinition(min_score=60, exclude_sources=["webinar"]), ["A1", "A3", "A4", "A5"]),
    ],
)
def test_every_criterion_compiles(world, definition, expected):
    assert qualifying(world, definition) == expected


def test_crm_flag_counts_from_when_it_was_stamped(world):
    # as of 2026-07-02, A6's mql_at (07-01) is stamped: A4 and A6
    assert qualifying(world, QualityDefinition(demo_fast_track=False), datetime(2026, 7, 2)) == ["A4", "A6"]


def test_every_field_of_the_model_reaches_the_sql():
    # A field added to QualityDefinition but forgotten in definition_sql would silently not filter.
    base = QualityDefinition(min_score=1)
    changed = {
        "min_score": 2, "industries": ["x"], "employees_min": 1, "employees_max": 9, "seniorities": ["vp"],
        "countries": ["x"], "demo_fast_track": False, "crm_qualified": False, "exclude_industries": ["y"],
        "exclude_countries": ["y"], "demo_required": True, "exclude_sources": ["y"],
    }
    assert set(changed) == set(QualityDefinition.model_fields) == set(LABELS)

    def compiled(d):
        params: dict = {}
        return definition_sql(d, "p", params), params

    for name, value in changed.items():
        other = base.model_copy(update={name: value})
        assert compiled(other) != compiled(base), name


def test_values_are_bound_never_spliced():
    nasty = "software'); DROP TABLE leads; --"
    params: dict = {}
    sql = definition_sql(QualityDefinition(industries=[nasty], exclude_sources=[nasty]), "p", params)
    assert "DROP" not in sql and params["p_industries"] == [nasty] and params["p_exclude_sources"] == [nasty]


def test_schedule_switches_at_the_effective_moment():
    v1, v2 = QualityDefinition(min_score=10), QualityDefinition(min_score=20)
    params: dict = {}
    sql = schedule_sql([(edits.BEGINNING, v1), (datetime(2026, 6, 1), v2)], params)
    assert sql.startswith("(CASE WHEN l.created_at >= $q1_from THEN")
    assert params["q1_from"] == datetime(2026, 6, 1) and params["q0_min_score"] == 10 and params["q1_min_score"] == 20
    # the same rule in Python: the latest version effective by then; the oldest also covers what came before
    schedule = [_version(1, edits.BEGINNING, v1), _version(2, datetime(2026, 6, 1), v2)]
    assert edits.in_force_at(schedule, datetime(1999, 1, 1)).version == 1
    assert edits.in_force_at(schedule, datetime(2026, 5, 31)).version == 1
    assert edits.in_force_at(schedule, datetime(2026, 6, 1)).version == 2
    assert edits.in_force_at([], datetime(2026, 6, 1)) is None


def _version(n: int, effective_from: datetime, body: QualityDefinition, reason: str = "why") -> edits.Version:
    return edits.Version("quality_definition", edits.POLICY_SUBJECT, n, effective_from, body, "Lee Ader",
                         datetime(2026, 6, 30, 9, 0), reason)


def test_describe_reads_as_a_sentence():
    assert describe(DEFAULT_QUALITY_DEFINITION) == (
        "Score ≥ 60; or a demo request (fast track); or marked qualified by the source CRM.")
    assert describe(DRAFT) == "Score ≥ 60 and industry in software, retail; excluding source outbound."
    assert describe(QualityDefinition(employees_min=50, employees_max=5000, demo_fast_track=False, crm_qualified=True)) == (
        "50–5,000 employees; or marked qualified by the source CRM.")


# --- checking a draft -------------------------------------------------------------------------------------


def validate_draft(con, body):
    return edits.check(con, "quality_definition", edits.POLICY_SUBJECT, body)


def test_unknown_values_are_refused_with_a_hint(world):
    check = validate_draft(world, {"industries": ["Softwear", "retail"], "exclude_countries": ["XX"],
                                   "exclude_sources": ["outbond"]})
    assert not check.ok and check.model is None
    assert check.errors == [
        "Industries: no lead has industry 'Softwear' (did you mean 'software'?). Pick values present in the data.",
        "Excluded countries: no lead has country 'XX'. Pick values present in the data.",
        "Excluded sources: no lead has source 'outbond' (did you mean 'outbound'?). Pick values present in the data.",
    ]


@pytest.mark.parametrize(
    "body, message",
    [
        ({"demo_fast_track": False, "crm_qualified": False}, "The definition is empty"),
        ({"employees_min": 500, "employees_max": 50}, "Employee range is contradictory: minimum 500 is above maximum 50."),
        ({"industries": ["retail"], "exclude_industries": ["retail"]}, "retail is both required and excluded as industry."),
        ({"demo_required": True}, "A demo request cannot be both required and a fast track"),
        ({"min_score": 101}, "min score: Input should be less than or equal to 100"),
    ],
)
def test_bad_drafts_get_a_plain_message(world, body, message):
    check = validate_draft(world, body)
    assert not check.ok and len(check.errors) == 1 and message in check.errors[0]


def test_valid_draft_and_tidy_lists(world):
    check = validate_draft(world, {"industries": [" software ", "software", ""], "min_score": 60})
    assert check.ok and check.errors == [] and check.warnings == []
    assert check.model.industries == ["software"]


def test_without_leads_values_cannot_be_checked_so_only_a_warning(empty):
    check = validate_draft(empty, {"industries": ["software"]})
    assert check.ok and check.warnings and "No leads are loaded" in check.warnings[0]


def test_lead_choices_offer_what_the_data_holds(world):
    c = lead_choices(world)
    # 7 leads; software ×3 first, then retail ×2, fintech; A6 has no industry
    assert (c.leads, c.industries) == (7, ("software", "retail", "fintech"))
    assert c.countries == ("US", "DE", "GB")  # US ×4; DE and GB once each, alphabetical
    assert c.sources[0] == "webinar" and len(c.sources) == 6  # webinar ×2; 6 distinct sources
    assert (c.first_created, c.last_created) == (datetime(2026, 1, 10), datetime(2026, 7, 5))


# --- effective dating through every figure that depends on quality ---------------------------------------

# B1 the day before the new version, B3 exactly at its start, B2 the day after, all from campaign C1.
# All score 65: quality under version 1 (>= 60), not under version 2 (>= 70). Each is assigned at
# creation and touched one hour later.
DATED = """
INSERT INTO campaigns VALUES ('C1', 'Spring webinar', 'webinar', '2026-04-01', '2026-06-30', 910);
INSERT INTO leads (lead_id, created_at, source, campaign_id, company, industry, employees, country, seniority, score, demo_requested, mql_at, owner_id, assigned_at, status, rejected_reason) VALUES
  ('B1', '2026-05-31 12:00', 'webinar', 'C1', 'a', 'software', 100, 'US', 'vp', 65, false, NULL, NULL, '2026-05-31 12:00', 'accepted', NULL),
  ('B3', '2026-06-01 00:00', 'webinar', 'C1', 'c', 'software', 100, 'US', 'vp', 65, false, NULL, NULL, '2026-06-01 00:00', 'accepted', NULL),
  ('B2', '2026-06-02 12:00', 'webinar', 'C1', 'b', 'software', 100, 'US', 'vp', 65, false, NULL, NULL, '2026-06-02 12:00', 'accepted', NULL);
INSERT INTO activities (activity_id, lead_id, deal_id, rep_id, occurred_at, kind) VALUES
  ('T1', 'B1', NULL, 'S1', '2026-05-31 13:00', 'call'),
  ('T3', 'B3', NULL, 'S1', '2026-06-01 01:00', 'call'),
  ('T2', 'B2', NULL, 'S1', '2026-06-02 13:00', 'call');
INSERT INTO deals (deal_id, lead_id, account, created_at, amount, stage, expected_close_on, closed_at, owner_id, lost_reason) VALUES
  ('F1', 'B1', 'a', '2026-06-05 00:00', 1000, 'discovery', NULL, NULL, NULL, NULL),
  ('F2', 'B2', 'b', '2026-06-05 00:00', 1000, 'discovery', NULL, NULL, NULL, NULL);
"""


@pytest.fixture
def dated(empty):
    with transaction(empty) as cur:
        cur.execute(DATED)
    return empty


def _stricter_from_june(con):
    return edits.save(con, "quality_definition", edits.POLICY_SUBJECT,
                      QualityDefinition(min_score=70, demo_fast_track=False, crm_qualified=False),
                      actor=LEADERSHIP, reason="stricter from June", expected_version=1,
                      effective_from=datetime(2026, 6, 1), now=AS_OF)


def test_lead_before_and_after_a_new_version(dated):
    before = funnel(dated, parse_period("2026-Q2"), AS_OF)
    assert before.quality_leads == 3  # all three score 65 >= 60 under version 1
    _stricter_from_june(dated)
    params = {"as_of": AS_OF}
    verdicts = dict(run(dated, f"WITH {lead_q(dated, params)} SELECT lead_id, is_quality FROM lead_q", params).fetchall())
    # B1 (05-31) keeps version 1's verdict; B3 (exactly 06-01 00:00) and B2 (06-02) are judged by version 2
    assert verdicts == {"B1": True, "B3": False, "B2": False}


def test_every_quality_figure_follows_the_versions(dated):
    q2, may, june = parse_period("2026-Q2"), parse_period("2026-05"), parse_period("2026-06")
    _stricter_from_june(dated)
    # funnel: 3 leads in Q2, only B1 is a quality lead; B1 accepted and has F1 → opportunity. B2's deal
    # F2 is now an unqualified-sourced opportunity.
    f = funnel(dated, q2, AS_OF)
    assert (f.leads, f.quality_leads, f.accepted, f.opportunities, f.unqualified_opportunities) == (3, 1, 1, 1, 1)
    assert (funnel(dated, may, AS_OF).quality_leads, funnel(dated, june, AS_OF).quality_leads) == (1, 0)
    # delivery (marketing's side) counts the same quality leads
    assert sla.delivery(dated, q2, AS_OF).quality_leads == 1
    # response SLA (sales' side) measures quality leads only: B1 touched after 1 h → met 1 of 1
    s = sla.response_sla(dated, q2, AS_OF)
    assert (s.met, s.breached, s.pending, s.compliance) == (1, 0, 0, 1.0)
    # goals: the trailing-year lead → quality rate of the cascade = 1 / 3
    assert goals.trailing_year_rates(dated, AS_OF).lead_to_quality == pytest.approx(1 / 3)
    # attribution: campaign C1's quality leads and cost per quality lead (cost 910 over its 91 days, all in Q2)
    c1 = attribution(dated, q2, AS_OF).frame.set_index("key").loc["C1"]
    assert (c1["leads"], c1["quality_leads"], c1["cost"], c1["cost_per_quality_lead"]) == (3, 1, 910, 910)
    # and the report every script reads
    report = build_report(dated, q2, AS_OF)
    assert report["funnel"]["quality_leads"] == 1 and report["delivery"]["quality_leads"] == 1
    assert report["sla"]["met"] == 1


def test_every_quality_figure_before_the_new_version(dated):
    # the same figures under version 1 alone, so the test above cannot pass by accident
    q2 = parse_period("2026-Q2")
    assert sla.delivery(dated, q2, AS_OF).quality_leads == 3
    assert sla.response_sla(dated, q2, AS_OF).met == 3
    assert goals.trailing_year_rates(dated, AS_OF).lead_to_quality == 1.0
    c1 = attribution(dated, q2, AS_OF).frame.set_index("key").loc["C1"]
    assert (c1["quality_leads"], c1["cost_per_quality_lead"]) == (3, pytest.approx(910 / 3))


# --- back-test -----------------------------------------------------------------------------------------


def test_backtest_side_by_side(world):
    bt = backtest(world, DRAFT, datetime(2026, 1, 1), datetime(2026, 8, 1), AS_OF)
    assert bt.notes == [] and bt.warnings == [] and bt.in_force_version == 1
    assert bt.leads == 6  # A1-A6; A7 is created after as-of
    # version 1 qualifies A1-A5: opportunities A1, A2, A3, A5 (E5 still open); won A1 (E1, E2) and A3 (E4)
    assert bt.in_force.leads == 5 and bt.in_force.share == pytest.approx(5 / 6)
    assert (bt.in_force.opportunities, bt.in_force.opportunity_rate) == (4, pytest.approx(4 / 5))
    assert (bt.in_force.won_leads, bt.in_force.won_rate) == (2, pytest.approx(2 / 5))
    assert (bt.in_force.won_deals, bt.in_force.won_revenue) == (3, 35_000)
    # version 1 excludes A6, whose E8 was won (4,000)
    assert (bt.in_force_excluded.leads, bt.in_force_excluded.opportunities, bt.in_force_excluded.won_deals,
            bt.in_force_excluded.won_revenue) == (1, 1, 1, 4_000)
    # the draft qualifies A1 and A5: both have a deal; A1 won twice (15,000), A5's is still open
    assert (bt.draft.leads, bt.draft.share) == (2, pytest.approx(2 / 6))
    assert (bt.draft.opportunities, bt.draft.opportunity_rate, bt.draft.won_leads, bt.draft.won_rate) == (2, 1.0, 1, 0.5)
    assert (bt.draft.won_deals, bt.draft.won_revenue) == (2, 15_000)
    # the draft excludes A2, A3, A4, A6: deals on A2 (lost), A3 (won 20,000), A6 (won 4,000)
    e = bt.draft_excluded
    assert (e.leads, e.share, e.opportunities, e.opportunity_rate) == (4, pytest.approx(4 / 6), 3, 0.75)
    assert (e.won_leads, e.won_rate, e.won_deals, e.won_revenue) == (2, 0.5, 2, 24_000)
    # version 1 yes → draft no: A2, A3, A4; of those only A3 won (E4, 20,000) — the draft's miss
    assert (bt.newly_qualified, bt.newly_excluded) == (0, 3)
    assert (bt.missed_won_deals, bt.missed_won_revenue, bt.caught_won_deals, bt.caught_won_revenue) == (1, 20_000, 0, 0)
    # months January to June (as-of), quality leads per month of creation
    m = bt.monthly
    assert [d.strftime("%Y-%m") for d in m["month"]] == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert m["leads"].tolist() == [2, 2, 2, 0, 0, 0]  # A1 A2 | A3 A4 | A5 A6
    assert m["in_force"].tolist() == [2, 2, 1, 0, 0, 0]  # A6 is not quality
    assert m["draft"].tolist() == [1, 0, 1, 0, 0, 0]  # A1 | — | A5


def test_backtest_catching_what_the_version_in_force_misses(world):
    # 40..600 employees, no fast track: A1 (200), A3 (500), A6 (50); A2 20, A4 1000, A5 unknown fail
    draft = QualityDefinition(employees_min=40, employees_max=600, demo_fast_track=False, crm_qualified=False)
    bt = backtest(world, draft, datetime(2026, 1, 1), datetime(2026, 8, 1), AS_OF)
    # newly qualified: A6 (won E8, 4,000); newly excluded: A2 (lost), A4 (no deal), A5 (open) → no win missed
    assert (bt.newly_qualified, bt.newly_excluded) == (1, 3)
    assert (bt.caught_won_deals, bt.caught_won_revenue, bt.missed_won_deals, bt.missed_won_revenue) == (1, 4_000, 0, 0)
    assert (bt.draft.leads, bt.draft.won_deals, bt.draft.won_revenue) == (3, 4, 39_000)  # E1 E2 E4 E8


def test_backtest_range_is_start_inclusive_end_exclusive(world):
    # [2026-02-05, 2026-03-01): A3 (at the start) and A4; A5 created exactly at the end is out
    bt = backtest(world, DRAFT, datetime(2026, 2, 5), datetime(2026, 3, 1), AS_OF)
    assert (bt.leads, bt.in_force.leads, bt.draft.leads) == (2, 2, 0)
    assert bt.warnings == ["The draft qualifies none of the leads created in this range: every quality figure would be zero."]


def test_backtest_warns_when_everything_qualifies(world):
    bt = backtest(world, QualityDefinition(min_score=0, demo_fast_track=False, crm_qualified=False),
                  datetime(2026, 1, 1), datetime(2026, 2, 1), AS_OF)
    # January: A1 (80) and A2 (40) both score >= 0
    assert (bt.leads, bt.draft.leads) == (2, 2)
    assert bt.warnings == ["The draft qualifies every lead created in this range: it would not tell good leads from the rest."]


def test_backtest_against_a_given_version_and_empty_ranges(world):
    bt = backtest(world, DRAFT, datetime(2025, 1, 1), datetime(2025, 6, 1), AS_OF, in_force=DRAFT)
    assert bt.leads == 0 and bt.in_force_version is None
    assert bt.notes == ["No lead was created in this range, so the back-test has nothing to count."]
    assert bt.monthly["leads"].tolist() == [0] * 5  # January to May 2025
    reverse = backtest(world, DRAFT, datetime(2026, 6, 1), datetime(2026, 1, 1), AS_OF)
    assert reverse.leads is None and "end must come after its start" in reverse.notes[0]


def test_backtest_without_deals_still_counts_leads(world):
    world.execute("DELETE FROM deals")
    bt = backtest(world, DRAFT, datetime(2026, 1, 1), datetime(2026, 8, 1), AS_OF)
    assert (bt.leads, bt.in_force.leads, bt.draft.leads) == (6, 5, 2)
    assert bt.draft.opportunities is None and bt.missed_won_deals is None
    assert "No deals are loaded" in bt.notes[0]


def test_backtest_without_leads_says_so(empty):
    bt = backtest(empty, DRAFT, datetime(2026, 1, 1), datetime(2026, 8, 1), AS_OF)
    assert bt.leads is None and bt.draft is None
    assert bt.notes == ["No leads are loaded, so lead, quality-lead and funnel figures cannot be computed."]


def test_backtest_compares_with_the_version_in_force_at_as_of(world):
    edits.save(world, "quality_definition", edits.POLICY_SUBJECT, DRAFT, actor=LEADERSHIP, reason="v2",
               expected_version=1, effective_from=datetime(2026, 6, 1), now=AS_OF)
    edits.save(world, "quality_definition", edits.POLICY_SUBJECT, DEFAULT_QUALITY_DEFINITION, actor=LEADERSHIP,
               reason="v3 scheduled", expected_version=2, effective_from=datetime(2026, 9, 1), now=AS_OF)
    bt = backtest(world, DRAFT, datetime(2026, 1, 1), datetime(2026, 8, 1), AS_OF)
    # version 2 is in force at as-of (version 3 starts later): comparing the draft with itself
    assert bt.in_force_version == 2 and (bt.in_force.leads, bt.draft.leads, bt.newly_excluded) == (2, 2, 0)


def test_rejudged_counts_what_a_backdated_save_changes(world):
    # from 2026-02-01 to as-of: A3, A4, A5, A6 (A7 is after as-of); now (version 1) A3 A4 A5 qualify;
    # the draft: A5 only → nobody gains, A3 and A4 lose
    assert rejudged(world, DRAFT, datetime(2026, 2, 1), AS_OF) == Rejudged(leads=4, gained=0, lost=2)
    assert rejudged(world, DRAFT, datetime(2026, 7, 1), AS_OF) == Rejudged(0, 0, 0)  # from after as-of


# --- criteria declared once -----------------------------------------------------------------------------

ONE_EACH = [
    QualityDefinition(min_score=70, demo_fast_track=False, crm_qualified=False),
    QualityDefinition(employees_min=10, employees_max=90, demo_fast_track=False, crm_qualified=False),
    QualityDefinition(industries=["retail"], seniorities=["vp"], countries=["US"], crm_qualified=False),
    QualityDefinition(demo_required=True, demo_fast_track=False, crm_qualified=False),
    QualityDefinition(crm_qualified=True, demo_fast_track=False, exclude_industries=["retail"],
                      exclude_countries=["GB"], exclude_sources=["outbound"]),
]


@pytest.mark.parametrize("d", ONE_EACH)
def test_each_criterion_says_in_words_what_its_sql_does(d):
    # the SQL and the words of a criterion come from one object: the same roles, one phrase per condition
    for criterion in quality.CRITERIA:
        sql_roles = [role for role, _ in criterion.sql(d, lambda name, value: f"${name}", "l")]
        assert sql_roles == [role for role, _ in criterion.words(d)], type(criterion).__name__


def test_every_field_belongs_to_exactly_one_criterion_and_one_input():
    fields = [name for c in quality.CRITERIA for name in c.labels]
    assert sorted(fields) == sorted(QualityDefinition.model_fields)
    keys = [inp.key for c in quality.CRITERIA for inp in c.inputs]
    assert len(keys) == len(set(keys)) == 11  # the demo request's two fields share one radio
    assert {c.section for c in quality.CRITERIA} == set(editor.SECTIONS)


def test_the_draft_widgets_show_a_definition_and_give_it_back():
    draft = DRAFT  # score ≥ 60, software or retail, no fast tracks, outbound excluded
    assert quality.draft_inputs(draft) == {
        "min_score": 60, "employees_min": None, "employees_max": None, "industries": ["software", "retail"],
        "seniorities": [], "countries": [], "demo": "ignored", "crm_qualified": False, "exclude_industries": [],
        "exclude_countries": [], "exclude_sources": ["outbound"],
    }
    assert quality.draft_inputs(DEFAULT_QUALITY_DEFINITION)["demo"] == "fast_track"
    for d in (DRAFT, DEFAULT_QUALITY_DEFINITION, *ONE_EACH):
        assert QualityDefinition.model_validate(quality.draft_body(quality.draft_inputs(d))) == d
    state = {"quality_form_" + k: v for k, v in editor.draft_state(DRAFT, "why").items()}
    assert (state["quality_form_reason"], state["quality_form_when"]) == ("why", "as_of")
    assert QualityDefinition.model_validate(editor.draft_values(state, "quality_form_")) == DRAFT


def test_choices_offer_the_data_and_keep_what_the_draft_holds(world):
    c = lead_choices(world)
    industries = next(i for cr in quality.CRITERIA for i in cr.inputs if i.key == "industries")
    seniorities = next(i for cr in quality.CRITERIA for i in cr.inputs if i.key == "seniorities")
    assert editor.options(industries, c, ["retail", "Softwear"]) == ["software", "retail", "fintech", "Softwear"]
    assert editor.options(seniorities, c) == ["c_level", "vp", "director", "manager", "individual"]


# --- the editor page's rules ------------------------------------------------------------------------------

MARKETING = Actor(name="Mia Kent", team="marketing")
SALES = Actor(name="Sal Ortiz", team="sales")
VIEWER = Actor(name="Vic Board", team="viewer")


def test_backtest_range_defaults_to_the_trailing_year():
    # leads from 2026-01-10: the whole history is under a year, so it is the default
    assert editor.backtest_days(datetime(2026, 1, 10, 8), AS_OF) == editor.DayRange(
        datetime(2026, 1, 10).date(), datetime(2026, 6, 30).date(), (datetime(2026, 1, 10).date(), datetime(2026, 6, 30).date()))
    # leads from 2024: 364 days before 2026-06-30 is 2025-07-01 (both ends inclusive: 365 days)
    days = editor.backtest_days(datetime(2024, 3, 1), AS_OF)
    assert (days.first, days.default) == (datetime(2024, 3, 1).date(), (datetime(2025, 7, 1).date(), AS_OF.date()))
    # the picked days become [start, end): the last day is included up to its midnight
    assert editor.backtest_bounds((datetime(2026, 2, 5).date(), datetime(2026, 2, 28).date())) == (
        datetime(2026, 2, 5), datetime(2026, 3, 1))
    assert editor.backtest_bounds((datetime(2026, 2, 5).date(),)) is None


def test_effective_date_rules():
    v1 = _version(1, edits.BEGINNING, DEFAULT_QUALITY_DEFINITION)
    v2 = _version(2, datetime(2026, 6, 1, 12), DRAFT)
    # only version 1 (from the beginning): the earliest day is the first lead's; else the latest version's
    day = datetime.date
    assert editor.effective_days([v1], datetime(2026, 1, 10, 8), AS_OF) == (day(datetime(2026, 1, 10)), day(AS_OF))
    assert editor.effective_days([v2, v1], datetime(2026, 1, 10), AS_OF) == (day(datetime(2026, 6, 1)), day(AS_OF))
    assert editor.effective_days([v1], None, AS_OF) == (day(AS_OF), day(AS_OF))
    # a version dated after as-of: as-of's day is too early to offer
    v3 = _version(3, datetime(2026, 8, 1), DRAFT)
    assert editor.effective_days([v3, v2, v1], None, AS_OF) == (day(datetime(2026, 8, 1)),) * 2
    assert editor.effective_from("as_of", None, AS_OF) == AS_OF
    assert editor.effective_from("date", day(datetime(2026, 7, 3)), AS_OF) == datetime(2026, 7, 3)
    assert editor.is_backdated(DRAFT, datetime(2026, 6, 1), AS_OF) and not editor.is_backdated(DRAFT, AS_OF, AS_OF)
    assert not editor.is_backdated(None, datetime(2026, 6, 1), AS_OF)
    assert editor.backdated_warning(Rejudged(4, 0, 2), datetime(2026, 2, 1)) == (
        "Back-dated: the 4 leads already created since 2026-02-01 00:00 UTC would be judged by this version — "
        "0 become quality leads and 2 stop being ones. Leads created before keep their verdict.")


def test_who_may_change_the_definition_and_what_the_button_says():
    assert editor.read_only_note(VIEWER, joint=True) == (
        "Vic Board (viewer) can read and back-test the definition; marketing editors, sales editors or admins change it.")
    assert editor.read_only_note(SALES, joint=True) is None and editor.read_only_note(SALES, joint=False) is None
    assert editor.approval_caption(MARKETING) == (
        "Takes effect when someone from sales or leadership approves it. The version in force stays until then.")
    v1 = _version(1, edits.BEGINNING, DEFAULT_QUALITY_DEFINITION)
    assert [editor.submit_label(True, v1), editor.submit_label(False, v1), editor.submit_label(False, None)] == [
        "Propose for sign-off", "Save as version 2", "Save as version 1"]
    assert editor.unchanged(DRAFT, DRAFT) and not editor.unchanged(DRAFT, DEFAULT_QUALITY_DEFINITION)
    assert not editor.unchanged(None, DRAFT)


def test_the_version_in_force_and_the_scheduled_ones_in_words():
    v1 = _version(1, edits.BEGINNING, DEFAULT_QUALITY_DEFINITION, "defaults")
    v2 = _version(2, datetime(2026, 7, 1), DRAFT, "stricter")
    view = editor.in_force([v1, v2], AS_OF)
    assert view.headline == ("In force as of 2026-06-30 12:00 UTC — version 1: Score ≥ 60; or a demo request "
                             "(fast track); or marked qualified by the source CRM.")
    assert view.detail == "Applies to leads created from the beginning of the data · saved by Lee Ader on 2026-06-30 · defaults"
    assert view.scheduled == [("Scheduled: version 2 applies to leads created from 2026-07-01 00:00 UTC: Score ≥ 60 "
                               "and industry in software, retail; excluding source outbound.")]
    assert editor.in_force([], AS_OF) is None


def test_backtest_cards_and_caption(world):
    bt = backtest(world, DRAFT, datetime(2026, 1, 1), datetime(2026, 8, 1), AS_OF)
    # as in test_backtest_side_by_side: draft 2 of 6 leads (version 1: 5), lead → won 1/2 (2/5), A3's 20,000 missed
    assert editor.backtest_cards(bt) == [
        ("backtest_draft_quality_leads", 2, "version 1: 5"),
        ("backtest_draft_share", pytest.approx(2 / 6), "version 1: 83.3%"),
        ("backtest_draft_won_rate", 0.5, "version 1: 40.0%"),
        ("backtest_missed_won_deals", 1, "$20k won revenue"),
    ]
    assert editor.backtest_caption(bt, datetime(2026, 1, 1).date(), datetime(2026, 7, 31).date()) == (
        "6 leads created 2026-01-01 – 2026-07-31, both definitions applied to all of them. The draft newly "
        "qualifies 0 and newly excludes 3; it would catch 0 won deals ($0) the version in force misses. "
        "Recent leads have had less time to convert.")


def test_proposals_as_each_team_sees_them_and_each_button_outcome(world):
    v1 = edits.latest(world, "quality_definition", edits.POLICY_SUBJECT)
    proposed = editor.submit(world, DRAFT, joint=True, actor=MARKETING, reason="fewer, better leads", opened=1,
                             current=v1, start=datetime(2026, 7, 1))
    assert (proposed.ok, proposed.message, proposed.restart, proposed.restart_from) == (
        True, "Proposed: waiting for sales or leadership to approve. The version in force is unchanged until then.",
        True, v1)
    [p] = signoff_pending(world)
    mine, theirs = editor.proposal_view(p, [v1], MARKETING), editor.proposal_view(p, [v1], SALES)
    assert mine.summary == ("Mia Kent (marketing) proposes, for leads created from 2026-07-01 00:00 UTC: Score ≥ 60 "
                            "and industry in software, retail; excluding source outbound.")
    assert (mine.may_decide, mine.may_withdraw, mine.overtaken) == (False, True, None)
    assert mine.note == ("Mia Kent is in marketing, the team that proposed this change: sales or leadership must "
                         "approve it.")
    assert (theirs.may_decide, theirs.may_withdraw, theirs.note, theirs.base) == (True, False, None, v1.body)
    assert editor.reject(world, p, actor=SALES, note=" ") == editor.Outcome(
        False, "Say why you reject this proposal (the proposing team reads it).")
    # someone saves directly meanwhile: the proposal is overtaken and cannot be approved
    v2 = edits.save(world, "quality_definition", edits.POLICY_SUBJECT, QualityDefinition(min_score=70),
                    actor=LEADERSHIP, reason="direct", expected_version=1, effective_from=datetime(2026, 7, 1))
    assert editor.proposal_view(p, [v2, v1], SALES).overtaken.startswith("Overtaken: version 2 was saved after")
    assert editor.approve(world, p, actor=SALES, note="") == editor.Outcome(
        False, "Not approved: Lee Ader saved version 2 after this proposal was made on version 1. Nothing was changed.")
    assert editor.withdraw(world, p, actor=MARKETING) == editor.Outcome(True, "Proposal withdrawn.")
    # a direct save on a stale draft is a conflict carrying their version
    stale = editor.submit(world, DRAFT, joint=False, actor=SALES, reason="mine", opened=1, current=v1,
                          start=datetime(2026, 7, 1))
    assert (stale.ok, stale.conflict.current.version) == (False, 2)
    saved = editor.submit(world, DRAFT, joint=False, actor=SALES, reason="mine", opened=2, current=v2,
                          start=datetime(2026, 7, 1))
    assert (saved.ok, saved.message, saved.restart_from.version) == (
        True, "Saved version 3: it applies to leads created from 2026-07-01 00:00 UTC.", 3)


def signoff_pending(con):
    from core.signoff import pending_proposals

    return pending_proposals(con)


def test_restoring_an_earlier_version_loads_it_with_a_reason():
    v1 = _version(1, edits.BEGINNING, DEFAULT_QUALITY_DEFINITION)
    v2 = _version(2, datetime(2026, 6, 1), DRAFT)
    assert editor.body_of([v2, v1], 2) == DRAFT and editor.body_of([v2, v1], 0) is None
    state = editor.restore_state([v2, v1], 1)
    assert (state["min_score"], state["demo"], state["crm_qualified"], state["reason"], state["when"]) == (
        60, "fast_track", True, "Restore version 1", "as_of")
