"""The seeded demo generator: reproducible, consistent with the data contract, cut at as-of, realistic,
and the same whether it runs in one chunk or in many (chunk edges leave no trace in the data)."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pytest

from core import demo
from core.demo import build_demo
from core.edits import BEGINNING

AS_OF = datetime(2026, 9, 30, 12)
LEADS = 2000
CANONICAL = ("reps", "campaigns", "leads", "activities", "deals", "deal_stage_history", "campaign_touches")
ALL_TABLES = CANONICAL + ("edit_versions", "meta")


def _contents(path) -> dict[str, list[tuple]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ALL_TABLES}
    finally:
        con.close()


@pytest.fixture(scope="module", params=["one-chunk", "many-chunks"])
def chunking(request):
    """Every test of a build runs twice: as built (2,000 leads fit in one chunk) and with chunks so small
    that the leads span seven chunks and the deals several deal chunks; the checks are the same."""
    with pytest.MonkeyPatch.context() as mp:
        if request.param == "many-chunks":
            mp.setattr(demo, "CHUNK_LEADS", 300)
            mp.setattr(demo, "DEAL_CHUNK", 40)
        yield request.param


@pytest.fixture(scope="module")
def built(chunking, tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    calls: list[tuple[float, str]] = []
    summary = build_demo(folder / "a.duckdb", leads=LEADS, seed=7, as_of=AS_OF,
                         progress=lambda f, m: calls.append((f, m)))
    return folder, summary, calls


@pytest.fixture()
def con(built):
    folder, _, _ = built
    c = duckdb.connect(str(folder / "a.duckdb"), read_only=True)
    yield c
    c.close()


def test_same_seed_and_as_of_give_identical_tables(built, tmp_path):
    folder, _, _ = built
    build_demo(tmp_path / "b.duckdb", leads=LEADS, seed=7, as_of=AS_OF)
    first, second = _contents(folder / "a.duckdb"), _contents(tmp_path / "b.duckdb")
    for table in ALL_TABLES:
        assert first[table] == second[table], table


def test_a_different_seed_gives_different_data(built, tmp_path):
    folder, _, _ = built
    build_demo(tmp_path / "c.duckdb", leads=LEADS, seed=8, as_of=AS_OF)
    first, other = _contents(folder / "a.duckdb"), _contents(tmp_path / "c.duckdb")
    for table in ("leads", "activities", "deals", "campaign_touches"):
        assert first[table] != other[table], table
    meta = dict(other["meta"])
    assert meta["source"] == "demo data (seed 8, 2,000 leads)"


def test_summary_and_row_counts(built, con):
    _, summary, _ = built
    assert summary["seed"] == 7 and summary["as_of"] == AS_OF.isoformat()
    for table in CANONICAL:
        count = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert count > 0, table
        assert summary["counts"][table] == count
    assert summary["counts"]["leads"] == LEADS


def test_progress_runs_from_zero_to_one(built):
    _, _, calls = built
    fractions = [f for f, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert all(isinstance(m, str) and m for _, m in calls)
    assert any("leads" in m for _, m in calls) and any("deals" in m for _, m in calls)
    # each chunk of leads says how far the build is
    done = [int(m.split()[1].replace(",", "")) for _, m in calls if re.fullmatch(r"leads [\d,]+ of 2,000", m)]
    assert done and done == sorted(done) and done[-1] == LEADS


def test_nothing_is_stamped_after_as_of(con):
    columns = con.execute(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE data_type IN ('TIMESTAMP', 'DATE') AND table_name IN ({})""".format(
            ", ".join(f"'{t}'" for t in CANONICAL + ("edit_versions",))
        )
    ).fetchall()
    assert len(columns) >= 10
    for table, column, kind in columns:
        if (table, column) == ("deals", "expected_close_on"):
            continue  # open deals may be expected to close in the future
        bound = "CAST($as_of AS DATE)" if kind == "DATE" else "$as_of"
        late = con.execute(f"SELECT count(*) FROM {table} WHERE {column} > {bound}", {"as_of": AS_OF}).fetchone()[0]
        assert late == 0, f"{table}.{column}"
    # closed deals' expected close dates are in the past too; some open ones are already late (slipping)
    assert con.execute(
        "SELECT count(*) FROM deals WHERE closed_at IS NOT NULL AND expected_close_on > CAST($a AS DATE)", {"a": AS_OF}
    ).fetchone()[0] == 0
    slipping, future = con.execute(
        """SELECT count(*) FILTER (WHERE expected_close_on < CAST($a AS DATE)),
                  count(*) FILTER (WHERE expected_close_on > CAST($a AS DATE))
           FROM deals WHERE closed_at IS NULL""", {"a": AS_OF}
    ).fetchone()
    assert slipping > 0 and future > 0


def test_deals_and_their_stage_history_agree(con):
    assert con.execute(
        "SELECT count(*) FROM deals WHERE (stage IN ('closed_won', 'closed_lost')) <> (closed_at IS NOT NULL)"
    ).fetchone()[0] == 0
    bad_last = con.execute(
        """SELECT count(*) FROM deals d JOIN (
               SELECT deal_id, arg_max(stage, entered_at) AS last_stage, max(entered_at) AS last_at,
                      min(entered_at) AS first_at, arg_min(stage, entered_at) AS first_stage
               FROM deal_stage_history GROUP BY deal_id) h USING (deal_id)
           WHERE h.last_stage <> d.stage OR h.first_at <> d.created_at OR h.first_stage <> 'discovery'
              OR (d.closed_at IS NOT NULL AND d.closed_at <> h.last_at)"""
    ).fetchone()[0]
    assert bad_last == 0
    assert con.execute(
        "SELECT count(*) FROM deals WHERE deal_id NOT IN (SELECT deal_id FROM deal_stage_history)"
    ).fetchone()[0] == 0
    # stages are entered in order, each at a later moment
    out_of_order = con.execute(
        """SELECT count(*) FROM (
               SELECT entered_at, lag(entered_at) OVER w AS prev_at,
                      list_position(['discovery', 'qualification', 'proposal', 'negotiation'], stage) AS pos,
                      lag(list_position(['discovery', 'qualification', 'proposal', 'negotiation'], stage)) OVER w AS prev_pos
               FROM deal_stage_history WINDOW w AS (PARTITION BY deal_id ORDER BY entered_at))
           WHERE prev_at IS NOT NULL AND (entered_at <= prev_at OR (pos IS NOT NULL AND pos <> prev_pos + 1))"""
    ).fetchone()[0]
    assert out_of_order == 0
    assert con.execute("SELECT count(*) FROM deals WHERE stage = 'closed_lost' AND lost_reason IS NULL").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM deals WHERE stage <> 'closed_lost' AND lost_reason IS NOT NULL").fetchone()[0] == 0


def test_records_are_consistent_with_each_other(con):
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    # converted ⇔ has a deal; rejected ⇔ has a reason
    assert one("""SELECT count(*) FROM leads l WHERE (l.status = 'converted')
                  <> EXISTS (SELECT 1 FROM deals d WHERE d.lead_id = l.lead_id)""") == 0
    assert one("SELECT count(*) FROM leads WHERE (status = 'rejected') <> (rejected_reason IS NOT NULL)") == 0
    # references resolve
    assert one("SELECT count(*) FROM leads WHERE campaign_id IS NOT NULL AND campaign_id NOT IN (SELECT campaign_id FROM campaigns)") == 0
    assert one("SELECT count(*) FROM campaign_touches WHERE campaign_id NOT IN (SELECT campaign_id FROM campaigns)") == 0
    assert one("SELECT count(*) FROM campaign_touches WHERE lead_id NOT IN (SELECT lead_id FROM leads)") == 0
    assert one("SELECT count(*) FROM activities WHERE lead_id IS NOT NULL AND lead_id NOT IN (SELECT lead_id FROM leads)") == 0
    assert one("SELECT count(*) FROM activities WHERE deal_id IS NOT NULL AND deal_id NOT IN (SELECT deal_id FROM deals)") == 0
    assert one("SELECT count(*) FROM activities WHERE lead_id IS NULL AND deal_id IS NULL") == 0
    assert one("SELECT count(*) FROM deals WHERE lead_id IS NOT NULL AND lead_id NOT IN (SELECT lead_id FROM leads)") == 0
    # owners: SDRs own leads (in the lead's region), AEs own deals, marketing owns nothing
    assert one("SELECT count(*) FROM leads l JOIN reps r ON r.rep_id = l.owner_id WHERE r.team NOT LIKE 'sdr-%'") == 0
    assert one("SELECT count(*) FROM deals d JOIN reps r ON r.rep_id = d.owner_id WHERE r.team NOT LIKE 'ae-%'") == 0
    assert one("""SELECT count(*) FROM leads l JOIN reps r ON r.rep_id = l.owner_id
                  WHERE l.country IN ('GB', 'DE', 'FR', 'NL', 'SE', 'ES') AND r.region <> 'EMEA'""") == 0
    assert one("SELECT count(*) FROM leads WHERE owner_id IS NOT NULL AND owner_id NOT IN (SELECT rep_id FROM reps)") == 0
    assert set(r[0] for r in con.execute("SELECT DISTINCT team FROM reps").fetchall()) == {
        "sdr-emea", "sdr-na", "ae-emea", "ae-na", "marketing"}
    # a lead's first campaign is of its channel and running when the lead arrived; outbound has none
    assert one("""SELECT count(*) FROM leads l JOIN campaigns c USING (campaign_id)
                  WHERE c.channel <> l.source OR CAST(l.created_at AS DATE) < c.started_on
                     OR CAST(l.created_at AS DATE) > coalesce(c.ended_on, DATE '9999-12-31')""") == 0
    assert one("SELECT count(*) FROM leads WHERE source = 'outbound' AND campaign_id IS NOT NULL") == 0
    # every lead with a campaign has its first touch at creation; other touches never follow its deal
    assert one("""SELECT count(*) FROM leads l WHERE campaign_id IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM campaign_touches t WHERE t.lead_id = l.lead_id AND t.campaign_id = l.campaign_id
                  AND t.touched_at = l.created_at)""") == 0
    assert one("""SELECT count(*) FROM campaign_touches t JOIN deals d USING (lead_id)
                  WHERE t.touched_at > d.created_at""") == 0
    # timestamps follow each other
    assert one("SELECT count(*) FROM leads WHERE assigned_at < created_at OR mql_at < created_at") == 0
    assert one("SELECT count(*) FROM deals d JOIN leads l USING (lead_id) WHERE d.created_at < l.created_at") == 0
    assert one("SELECT count(*) FROM leads WHERE score NOT BETWEEN 0 AND 100") == 0


def test_quality_share_and_realistic_figures(con):
    def one(sql: str) -> tuple:
        return con.execute(sql, {"a": AS_OF} if "$a" in sql else None).fetchone()

    quality = "(score >= 60 OR coalesce(demo_requested, false) OR mql_at IS NOT NULL)"
    share = one(f"SELECT avg(CAST({quality} AS INTEGER)) FROM leads")[0]
    assert 0.20 <= share <= 0.50
    # response SLA per METRICS.md over quality leads (clock start, first touch at or after it, 24 h)
    met, breached = one(f"""
        WITH q AS (SELECT lead_id, coalesce(assigned_at, created_at) AS cs FROM leads WHERE {quality}),
        f AS (SELECT q.lead_id, q.cs, min(a.occurred_at) AS ft FROM q
              LEFT JOIN activities a ON a.lead_id = q.lead_id AND a.occurred_at >= q.cs GROUP BY ALL)
        SELECT count(*) FILTER (WHERE ft <= cs + INTERVAL 24 HOUR),
               count(*) FILTER (WHERE (ft IS NULL OR ft > cs + INTERVAL 24 HOUR) AND $a >= cs + INTERVAL 24 HOUR)
        FROM f""")
    assert 0.6 <= met / (met + breached) <= 0.9
    won, lost = one("""SELECT count(*) FILTER (WHERE stage = 'closed_won'), count(*) FILTER (WHERE stage = 'closed_lost')
                       FROM deals WHERE closed_at > $a - INTERVAL 365 DAY""")
    assert 0.2 <= won / (won + lost) <= 0.45
    deals, sales_sourced = one("SELECT count(*), count(*) FILTER (WHERE lead_id IS NULL) FROM deals")
    assert 0.05 <= sales_sourced / deals <= 0.3
    # some touches happen before the clock starts, and some deals are stalled
    assert one("""SELECT count(*) FROM activities a JOIN leads l USING (lead_id)
                  WHERE a.occurred_at < coalesce(l.assigned_at, l.created_at)""")[0] > 0
    assert one("""SELECT count(*) FROM deals d JOIN deal_stage_history h ON h.deal_id = d.deal_id AND h.stage = d.stage
                  WHERE d.closed_at IS NULL AND h.entered_at < $a - INTERVAL 30 DAY""")[0] > 0
    statuses = {r[0] for r in con.execute("SELECT DISTINCT status FROM leads").fetchall()}
    assert statuses == {"open", "accepted", "rejected", "recycled", "converted"}
    # weekdays are busier than weekends
    weekday, weekend = one("""SELECT count(*) FILTER (WHERE isodow(created_at) <= 5) / 5.0,
                                     count(*) FILTER (WHERE isodow(created_at) > 5) / 2.0 FROM leads""")
    assert weekday > 2 * weekend


def test_meta_marks_the_demo(con):
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    assert meta["as_of"] == AS_OF.isoformat()
    assert meta["source"] == "demo data (seed 7, 2,000 leads)"
    assert meta["is_demo"] == "1"


def test_edited_state(con):
    rows = con.execute(
        "SELECT kind, subject, version, effective_from, body, saved_by, saved_at FROM edit_versions ORDER BY ALL"
    ).fetchall()
    assert all(r[6] == AS_OF for r in rows)  # nothing depends on the wall clock
    policy = [r for r in rows if r[0] == "sla_policy"]
    assert len(policy) == 1 and policy[0][2] == 1 and policy[0][3] == BEGINNING
    body = json.loads(policy[0][4])
    assert body["response_hours"] == 24 and body["min_attempts"] == 3 and body["attempt_days"] == 7
    assert body["monthly_quality_commitment"] > 0
    definition = [r for r in rows if r[0] == "quality_definition"]
    assert len(definition) == 1 and definition[0][2] == 1 and json.loads(definition[0][4])["min_score"] == 60
    goals = {r[1]: json.loads(r[4])["revenue"] for r in rows if r[0] == "goal"}
    assert {"2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"} <= set(goals)  # covered quarters + next
    assert all(v > 0 and v % 10_000 == 0 for v in goals.values())
    # the last full quarter's goal is a little above what was won in it
    won = con.execute(
        "SELECT sum(amount) FROM deals WHERE stage = 'closed_won' AND closed_at >= '2026-04-01' AND closed_at < '2026-07-01'"
    ).fetchone()[0]
    assert 1.0 <= goals["2026-Q2"] / won <= 1.25
    # the commitment is close to the quality leads actually delivered (trailing year)
    delivered = con.execute(
        """SELECT count(*) / 12.0 FROM leads WHERE created_at >= $a - INTERVAL 365 DAY
           AND (score >= 60 OR demo_requested OR mql_at IS NOT NULL)""", {"a": AS_OF}
    ).fetchone()[0]
    assert 0.85 <= body["monthly_quality_commitment"] / delivered <= 1.05


def test_the_file_is_replaced_atomically(tmp_path, monkeypatch):
    target = tmp_path / "demo.duckdb"
    target.write_bytes(b"not a database")
    summary = build_demo(target, leads=300, seed=1, as_of=AS_OF)
    assert summary["counts"]["leads"] == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]  # no temporary file left over
    with duckdb.connect(str(target), read_only=True) as c:
        assert c.execute("SELECT count(*) FROM leads").fetchone()[0] == 300
    before = target.read_bytes()

    # a build that fails half-way leaves the previous database untouched and no temporary file
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "set_meta", boom)
    with pytest.raises(RuntimeError):
        build_demo(target, leads=300, seed=2, as_of=AS_OF)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]


def test_default_as_of_is_the_current_hour(tmp_path):
    summary = build_demo(tmp_path / "now.duckdb", leads=200, seed=3)
    as_of = datetime.fromisoformat(summary["as_of"])
    assert as_of.minute == 0 and as_of.second == 0
    with duckdb.connect(str(tmp_path / "now.duckdb"), read_only=True) as c:
        assert c.execute("SELECT max(created_at) FROM leads").fetchone()[0] <= as_of


# ------------------------------------------------------------------------------------------ chunk edges

EDGE_LEADS = 3000


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    """A 3,000-lead demo in chunks of about 400 leads (and deals 50 at a time), and its plan."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(demo, "CHUNK_LEADS", 400)
        mp.setattr(demo, "DEAL_CHUNK", 50)
        path = tmp_path_factory.mktemp("chunked") / "chunked.duckdb"
        build_demo(path, leads=EDGE_LEADS, seed=5, as_of=AS_OF)
        gen = demo._Gen(EDGE_LEADS, 5, AS_OF)
        gen.setup()
    return path, gen


def test_the_plan_cuts_time_into_contiguous_chunks(chunked):
    _, gen = chunked
    past = [s for s in gen.slices if s.past]
    future = [s for s in gen.slices if not s.past]
    assert len(past) == 8 and future
    assert [s.number for s in gen.slices] == list(range(len(gen.slices)))
    hours = [(s.first_hour, s.end_hour) for s in gen.slices]
    assert hours[0][0] == 0 and hours[-1][1] == gen.hourly.shape[1]
    assert all(a < b for a, b in hours) and all(hours[i][1] == hours[i + 1][0] for i in range(len(hours) - 1))
    assert sum(int(s.counts.sum()) for s in past) == EDGE_LEADS
    # slices hold about the same number of leads
    sizes = [int(s.counts.sum()) for s in past]
    assert min(sizes) > 0.7 * EDGE_LEADS / len(past) and max(sizes) < 1.3 * EDGE_LEADS / len(past)


def test_ids_run_on_across_chunks(chunked):
    path, _ = chunked
    with duckdb.connect(str(path), read_only=True) as c:
        for table, column, prefix, width in (("leads", "lead_id", "L", 7), ("activities", "activity_id", "A", 8),
                                             ("deals", "deal_id", "D", 6)):
            ids = [r[0] for r in c.execute(f"SELECT {column} FROM {table} ORDER BY {column}").fetchall()]
            assert ids == [f"{prefix}{i:0{width}d}" for i in range(1, len(ids) + 1)], table  # unique, no gaps
        # lead and deal ids follow creation time, across chunks
        for table, column in (("leads", "lead_id"), ("deals", "deal_id")):
            assert c.execute(f"""SELECT count(*) FROM (SELECT created_at, lag(created_at) OVER (ORDER BY {column}) AS prev
                                 FROM {table}) WHERE created_at < prev""").fetchone()[0] == 0, table
        assert c.execute("SELECT count(*) - count(DISTINCT (lead_id, campaign_id, touched_at)) FROM campaign_touches"
                         ).fetchone()[0] == 0


def test_lead_volume_is_smooth_across_chunk_edges(chunked):
    """Leads in the week before and the week after each chunk edge are what the calendar expects: no gap
    (a chunk ending early) and no spike (two chunks overlapping)."""
    path, gen = chunked
    with duckdb.connect(str(path), read_only=True) as c:
        created = c.execute("SELECT CAST(epoch(created_at) AS BIGINT) FROM leads").fetchnumpy()
    seconds = next(iter(created.values()))
    per_hour = np.bincount((seconds - gen.grid_day0 * demo.DAY) // demo.HOUR, minlength=gen.hourly.shape[1])
    weight = gen.hourly.sum(axis=0)
    cut = next(s.first_hour for s in gen.slices if not s.past)
    expected = weight * EDGE_LEADS / weight[:cut].sum()
    week = 7 * 24
    edges = [s.first_hour for s in gen.slices if s.past and s.first_hour > 0]
    assert len(edges) == 7
    for edge in edges:
        for lo, hi in ((edge - week, edge), (edge, edge + week)):
            seen, mean = per_hour[lo:hi].sum(), expected[lo:hi].sum()
            assert abs(seen - mean) <= 4 * np.sqrt(mean), (edge, lo, seen, mean)
        # and leads keep arriving in the last and first hours of a chunk, like anywhere else
        assert per_hour[edge - 48:edge + 48].sum() > 0


def test_activities_belong_to_leads_of_their_time(chunked):
    path, gen = chunked
    with duckdb.connect(str(path), read_only=True) as c:
        one = lambda sql: c.execute(sql).fetchone()[0]  # noqa: E731
        # a lead's activities come after it arrived, by its owner (SDR) or the AE of its deal
        assert one("""SELECT count(*) FROM activities a JOIN leads l USING (lead_id)
                      WHERE a.occurred_at < l.created_at""") == 0
        assert one("""SELECT count(*) FROM activities a JOIN leads l USING (lead_id)
                      WHERE a.deal_id IS NULL AND a.rep_id IS DISTINCT FROM l.owner_id""") == 0
        assert one("""SELECT count(*) FROM activities a JOIN deals d USING (deal_id)
                      WHERE a.occurred_at < d.created_at OR a.rep_id <> d.owner_id""") == 0
        # leads created just before a chunk edge are worked after it as before it: their attempts are not
        # cut at the chunk's end (compare with the leads created just after the edge)
        edges = [s.first_hour for s in gen.slices if s.past and s.first_hour > 0]
        start = demo.EPOCH + timedelta(days=gen.grid_day0)
        before, after = [], []
        for edge in edges:
            at = start + timedelta(hours=edge)
            for side, lo, hi in ((before, at - timedelta(days=3), at), (after, at, at + timedelta(days=3))):
                side.append(c.execute(
                    """SELECT count(DISTINCT l.lead_id), count(a.activity_id),
                              count(a.activity_id) FILTER (WHERE a.occurred_at >= $at)
                       FROM leads l LEFT JOIN activities a ON a.lead_id = l.lead_id AND a.deal_id IS NULL
                       WHERE l.created_at >= $lo AND l.created_at < $hi""",
                    {"lo": lo, "hi": hi, "at": at}).fetchone())
        leads_b, acts_b, acts_b_later = (sum(x) for x in zip(*before))
        leads_a, acts_a, _ = (sum(x) for x in zip(*after))
        assert 0.75 <= (acts_b / leads_b) / (acts_a / leads_a) <= 1.33
        assert acts_b_later > 0.2 * acts_b  # many of their activities fall in the next chunk's time


def test_chunks_have_streams_of_their_own(chunked):
    """Chunks are not copies of each other: each draws from its own random stream."""
    path, gen = chunked
    with duckdb.connect(str(path), read_only=True) as c:
        scores = [r[0] for r in c.execute("SELECT score FROM leads ORDER BY lead_id").fetchall()]
    starts = np.cumsum([0] + [int(s.counts.sum()) for s in gen.slices if s.past])[:-1]
    heads = {tuple(scores[a:a + 20]) for a in starts}
    assert len(heads) == len(starts)


def test_the_data_does_not_depend_on_how_chunks_overlap(tmp_path, monkeypatch):
    """Chunks are prepared in a worker thread one ahead of the writing; preparing and writing them one
    after the other, in a single thread, gives the same tables."""
    monkeypatch.setattr(demo, "CHUNK_LEADS", 300)
    monkeypatch.setattr(demo, "DEAL_CHUNK", 30)
    build_demo(tmp_path / "overlapped.duckdb", leads=1500, seed=4, as_of=AS_OF)

    def one_by_one(items, prepare, write):
        for item in items:
            write(prepare(item))

    monkeypatch.setattr(demo, "_pipelined", one_by_one)
    build_demo(tmp_path / "serial.duckdb", leads=1500, seed=4, as_of=AS_OF)
    assert _contents(tmp_path / "overlapped.duckdb") == _contents(tmp_path / "serial.duckdb")


def test_a_build_failing_between_chunks_leaves_nothing_behind(tmp_path, monkeypatch):
    target = tmp_path / "demo.duckdb"
    build_demo(target, leads=300, seed=1, as_of=AS_OF)
    before = target.read_bytes()
    monkeypatch.setattr(demo, "CHUNK_LEADS", 100)
    monkeypatch.setattr(demo, "DEAL_CHUNK", 5)
    prepare = demo._Gen.prepare_deals
    calls = []

    def fail_on_the_third_block(self, block):
        calls.append(block)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return prepare(self, block)

    monkeypatch.setattr(demo._Gen, "prepare_deals", fail_on_the_third_block)
    with pytest.raises(RuntimeError, match="disk full"):
        build_demo(target, leads=1000, seed=2, as_of=AS_OF)
    assert len(calls) >= 3  # the leads and two blocks of deals were already in the temporary file
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.duckdb"]


# --- issue 15: reps differ as real teams do; routing differs by source; office hours in the team's zone -----

QUALITY = "(score >= 60 OR coalesce(demo_requested, false) OR mql_at IS NOT NULL)"
FIRST_TOUCH = f"""
    WITH q AS (SELECT lead_id, owner_id, coalesce(assigned_at, created_at) AS cs FROM leads
               WHERE {QUALITY} AND owner_id IS NOT NULL),
    f AS (SELECT q.lead_id, q.owner_id, epoch(min(a.occurred_at) - q.cs) AS s FROM q
          JOIN activities a ON a.lead_id = q.lead_id AND a.occurred_at >= q.cs GROUP BY q.lead_id, q.owner_id, q.cs)"""


def test_first_touches_within_minutes_hours_and_days(con):
    within_5m, within_24h, over_3d = con.execute(f"""{FIRST_TOUCH}
        SELECT avg(CAST(s <= 300 AS INTEGER)), avg(CAST(s <= 86400 AS INTEGER)), avg(CAST(s > 3 * 86400 AS INTEGER))
        FROM f""").fetchone()
    assert 0.05 <= within_5m <= 0.25  # the SDR on the phone, a demo request routed as a call
    assert 0.70 <= within_24h <= 0.95  # most within hours
    assert over_3d >= 0.02  # and a tail over days
    medians = [r[0] for r in con.execute(f"{FIRST_TOUCH} SELECT median(s) / 3600 FROM f GROUP BY owner_id").fetchall()]
    assert max(medians) / min(medians) > 10  # the slowest SDR's median is over ten times the fastest's


def test_routing_delay_differs_by_source(con):
    minutes = dict(con.execute("""SELECT source, median(epoch(assigned_at - created_at)) / 60 FROM leads
                                  WHERE assigned_at IS NOT NULL GROUP BY source""").fetchall())
    # a lead an SDR creates is theirs at once; web forms route in minutes; partner leads by hand in hours;
    # event and webinar lists a day or so later
    assert minutes["outbound"] <= 2 and minutes["paid_search"] < 15
    assert minutes["partner"] > 60 and minutes["events"] > 12 * 60 and minutes["webinar"] > 8 * 60
    assert minutes["outbound"] < minutes["paid_search"] < minutes["partner"] < minutes["events"]


def test_sdrs_work_office_hours_in_their_teams_time_zone(con):
    # the share of SDR activities between 08:00 and 18:00 local: with the zone's DST, and with a fixed offset
    in_zone, fixed = con.execute("""
        SELECT avg(CAST(hour((a.occurred_at AT TIME ZONE 'UTC') AT TIME ZONE
                             CASE r.region WHEN 'EMEA' THEN 'Europe/Berlin' ELSE 'America/New_York' END)
                        BETWEEN 8 AND 17 AS INTEGER)),
               avg(CAST(hour(a.occurred_at + to_hours(CASE r.region WHEN 'EMEA' THEN 1 ELSE -5 END))
                        BETWEEN 8 AND 17 AS INTEGER))
        FROM activities a JOIN reps r ON r.rep_id = a.rep_id WHERE a.deal_id IS NULL""").fetchone()
    assert in_zone >= 0.8 and in_zone > fixed + 0.08  # summer time is office time too


def test_the_demo_starts_on_calendar_hours_and_working_hours_show_why_they_matter(built, tmp_path):
    import shutil
    from datetime import time

    from core import edits
    from core.metrics import sla
    from core.models import Actor, SlaPolicy, WorkingHours
    from core.periods import parse_period
    from core.store import open_store

    folder, _, _ = built
    shutil.copy(folder / "a.duckdb", tmp_path / "wh.duckdb")
    con = open_store(tmp_path / "wh.duckdb")
    try:
        latest = edits.latest(con, "sla_policy", edits.POLICY_SUBJECT)
        assert latest.version == 1 and latest.body.working_hours == []
        q3 = parse_period("2026-Q3")
        calendar = sla.response_sla(con, q3, AS_OF)
        offices = [WorkingHours(applies_to="region", name=region, time_zone=zone, opens=time(8), closes=time(18))
                   for region, zone in (("EMEA", "Europe/Berlin"), ("NA", "America/New_York"))]
        edits.save(con, "sla_policy", edits.POLICY_SUBJECT,
                   SlaPolicy(**{**latest.body.model_dump(), "working_hours": offices}),
                   actor=Actor(name="Test", team="leadership"), reason="office hours", expected_version=1,
                   effective_from=BEGINNING, now=AS_OF)
        working = sla.response_sla(con, q3, AS_OF)
    finally:
        con.close()
    assert working.quality_leads == calendar.quality_leads
    # nights and weekends are most of the calendar-hour tail
    assert working.compliance > calendar.compliance + 0.05
    assert working.p90_hours_to_first_touch < calendar.p90_hours_to_first_touch / 3
    assert working.median_routing_hours < calendar.median_routing_hours
