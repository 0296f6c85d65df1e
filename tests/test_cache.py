"""ui.data's caches are keyed on what a figure reads: a write invalidates exactly the figures whose domains
it changed (a goal save keeps the SLA and attribution caches warm; a new SLA policy does not)."""
from __future__ import annotations

import pytest

from conftest import AS_OF, LEADERSHIP
from core import edits
from core.db import reads, transaction
from core.models import GoalBody, SlaPolicy

CALLS: list[str] = []


@reads("sla_policy")
def reads_sla(con, tag: str) -> int:
    CALLS.append(tag)
    return con.execute("SELECT count(*) FROM edit_versions WHERE kind = 'sla_policy'").fetchone()[0]


@reads("goal")
def reads_goal(con, tag: str) -> int:
    CALLS.append(tag)
    return con.execute("SELECT count(*) FROM edit_versions WHERE kind = 'goal'").fetchone()[0]


def undeclared(con, tag: str) -> int:
    CALLS.append(tag)
    return 0


@pytest.fixture
def app_db(tiny_db_copy, use_db):
    from ui import data

    use_db(tiny_db_copy)
    data._call.clear()
    CALLS.clear()
    yield data
    data._call.clear()
    data._connection.clear()


def test_a_goal_save_recomputes_goal_figures_only(app_db):
    data = app_db
    assert (data.cached(reads_sla, "sla"), data.cached(reads_goal, "goal"), data.cached(undeclared, "all")) == (2, 1, 0)
    data.cached(reads_sla, "sla"), data.cached(reads_goal, "goal"), data.cached(undeclared, "all")
    assert CALLS == ["sla", "goal", "all"]  # the second round came from the cache

    edits.save(data.connection(), "goal", "2026-Q3", GoalBody(revenue=120_000), actor=LEADERSHIP, reason="raise",
               expected_version=1, as_of=AS_OF)
    assert data.cached(reads_goal, "goal") == 2      # recomputed: a second goal version
    assert data.cached(reads_sla, "sla") == 2        # still cached: a goal save does not touch the SLA policy
    data.cached(undeclared, "all")                   # undeclared reads count as reading everything
    assert CALLS == ["sla", "goal", "all", "goal", "all"]


def test_an_sla_policy_save_recomputes_sla_figures(app_db):
    data = app_db
    data.cached(reads_sla, "sla"), data.cached(reads_goal, "goal")
    edits.save(data.connection(), "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(response_hours=12), actor=LEADERSHIP,
               reason="faster", expected_version=2, effective_from=AS_OF, now=AS_OF)
    assert data.cached(reads_sla, "sla") == 3
    assert data.cached(reads_goal, "goal") == 1
    assert CALLS == ["sla", "goal", "sla"]


def _counting(data, computed: list[str]):
    """A `call` for report.headline / goals.goal_plan that caches like ui.data.cached and records each
    section it had to compute (a cache miss runs the function)."""
    def call(fn, *args):
        def traced(con, *a, **k):
            computed.append(fn.__name__)
            return fn(con, *a, **k)
        traced.reads = getattr(fn, "reads", None) or ()  # the same domains, so the same cache behaviour
        if not traced.reads:
            del traced.reads  # undeclared stays undeclared (reads everything)
        traced.__module__, traced.__qualname__ = fn.__module__, fn.__qualname__
        return data.cached(traced, *args)
    return call


def test_after_a_goal_save_the_headline_recomputes_the_goal_and_the_pipeline_only(app_db):
    from core import report
    from core.periods import parse_period

    data, q3, computed = app_db, parse_period("2026-Q3"), []
    first = report.headline(None, q3, AS_OF, call=_counting(data, computed))
    assert sorted(computed) == ["delivery", "funnel_beside", "funnel_stages", "goal_revenue", "goal_status", "pipeline",
                                "response_sla"]
    computed.clear()
    edits.save(data.connection(), "goal", "2026-Q3", GoalBody(revenue=120_000), actor=LEADERSHIP, reason="raise",
               expected_version=1, as_of=AS_OF)
    after = report.headline(None, q3, AS_OF, call=_counting(data, computed))
    # tiny: the goal moves from 100,000 to 120,000; coverage follows; the funnel and the SLA were kept
    assert sorted(computed) == ["goal_revenue", "goal_status", "pipeline"]
    assert (first.goal.revenue, after.goal.revenue) == (100_000, 120_000)
    assert after.funnel == first.funnel and after.sla == first.sla


def test_after_a_goal_save_the_plan_keeps_the_trailing_rates_and_the_actuals(app_db):
    from core.metrics.goals import goal_plan
    from core.periods import parse_period

    data, q3, computed = app_db, parse_period("2026-Q3"), []
    first = goal_plan(None, q3, AS_OF, call=_counting(data, computed))
    assert sorted(computed) == ["funnel_stages", "goal_revenue", "goal_version", "stage_actuals", "trailing_year_rates"]
    computed.clear()
    edits.save(data.connection(), "goal", "2026-Q3", GoalBody(revenue=120_000), actor=LEADERSHIP, reason="raise",
               expected_version=1, as_of=AS_OF)
    after = goal_plan(None, q3, AS_OF, call=_counting(data, computed))
    assert sorted(computed) == ["goal_revenue", "goal_version"]
    assert (first.goal_revenue, after.goal_revenue) == (100_000, 120_000)
    assert after.trailing == first.trailing  # the same trailing-year rates, from the cache
    # the cascade follows the goal: 120,000 / 100,000 of every stage's target (won deals: 5.45 → 6.55)
    assert after.targets["won"] == pytest.approx(first.targets["won"] * 1.2)


def test_the_goal_plan_reads_the_funnel_stages_the_overview_computed(app_db):
    from core import report
    from core.metrics.goals import goal_plan
    from core.periods import parse_period

    data, q3, computed = app_db, parse_period("2026-Q3"), []
    h = report.headline(None, q3, AS_OF, call=_counting(data, computed))
    computed.clear()
    plan = goal_plan(None, q3, AS_OF, call=_counting(data, computed))
    assert "funnel_stages" not in computed and "funnel_beside" not in computed
    # tiny Q3 cohort: 8 leads, 5 quality, 3 accepted, as the Overview's funnel says
    actual = plan.stages.set_index("stage")["actual"]
    assert [actual[s] for s in ("leads", "quality_leads", "accepted")] == [h.funnel.leads, h.funnel.quality_leads,
                                                                           h.funnel.accepted] == [8, 5, 3]


def test_the_stage_gaps_read_the_goal_plans_sections(app_db):
    from core.metrics.gaps import stage_gaps
    from core.metrics.goals import goal_plan
    from core.periods import parse_period

    data, q3, computed = app_db, parse_period("2026-Q3"), []
    plan = goal_plan(None, q3, AS_OF, call=_counting(data, computed))
    computed.clear()
    gaps = stage_gaps(None, q3, AS_OF, call=_counting(data, computed))
    assert computed == []  # the trailing year's rates, the funnel and the actuals: all Shared goals' own
    assert sorted(gaps.frame["stage"]) == sorted(plan.stages["stage"])
    with data.cursor() as cur:  # the same figures without the cache
        assert stage_gaps(cur, q3, AS_OF).frame.equals(gaps.frame)


def test_the_gap_decomposition_reads_the_goal_plans_sections(app_db):
    from core.metrics.gaps import gap_decomposition
    from core.metrics.goals import goal_plan
    from core.periods import parse_period

    data, q3, computed = app_db, parse_period("2026-Q3"), []
    goal_plan(None, q3, AS_OF, call=_counting(data, computed))
    computed.clear()
    d = gap_decomposition(None, q3, AS_OF, call=_counting(data, computed))
    # the plan (rates, funnel stages, actuals) comes from the cache; only what Shared goals does not show is new
    assert sorted(computed) == ["_closed_in_period", "tables_with_rows", "trailing_year_deals", "won_revenue"]
    with data.cursor() as cur:  # the same figures without the cache
        assert gap_decomposition(cur, q3, AS_OF) == d
    assert d.components and sum(d.components.values()) == pytest.approx(d.gap)


PRESENT_READS: list[str] = []


@reads("records")
def records_a(con, tag: str) -> frozenset:
    return _present(con, tag)


@reads("records", "goal")
def records_b(con, tag: str) -> frozenset:
    return _present(con, tag)


@reads("goal")
def goal_only(con, tag: str) -> frozenset:  # does not declare records: reads it afresh
    return _present(con, tag)


def _present(con, tag: str) -> frozenset:
    from core.semantic.blocks import tables_with_rows

    class Counting:  # counts the tables-with-rows query itself, not the call
        def execute(self, sql, *args):
            PRESENT_READS.append(tag)
            return con.execute(sql, *args)

    return tables_with_rows(Counting())


def test_sections_share_the_reads_every_section_repeats_per_version_of_what_they_read(app_db):
    data = app_db
    PRESENT_READS.clear()
    first = data.cached(records_a, "a")
    assert data.cached(records_b, "b") == first and "leads" in first
    assert PRESENT_READS == ["a"]  # b's section found a's read, made at the same records version
    data.cached(goal_only, "g")
    assert PRESENT_READS == ["a", "g"]  # a section that does not declare records never takes a shared read
    with transaction(data.connection(), ("records",)) as cur:  # a write of records: the next sections read again
        cur.execute("DELETE FROM campaign_touches")
    after = data.cached(records_a, "a2")
    assert PRESENT_READS == ["a", "g", "a2"] and "campaign_touches" in first and "campaign_touches" not in after
