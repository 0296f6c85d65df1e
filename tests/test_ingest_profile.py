"""The data-quality profile (core.ingest.profile): exact flags on a tiny hand-made world, per period and
as of a moment, the creation dates importers had to supply, the quarantine counts of an import — and on
the real datasets, checked against figures computed here from the raw CSV files with pandas."""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from conftest import csv_bytes as csv
from core.ingest import SourceFile, files_from_paths, import_files
from core.ingest.profile import OUTLIER_FACTOR, Flag, profile
from core.periods import parse_period
from core.semantic.measures import MEASURES
from core.store import open_store

NOW = datetime(2026, 1, 15, 12, 0, 0)
DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
OLIST = DATASETS / "olist-marketing-funnel"
MAVEN = DATASETS / "maven-crm-sales-opportunities"
XEDU = DATASETS / "x-education-lead-scoring"


LEADS = csv("lead_id,created_at,source,status", "L1,2025-01-05,email,open", "L2,2025-01-06,web,open")
DEALS = csv(
    "deal_id,created_at,amount,stage,expected_close_on,closed_at",
    "W1,2025-01-10,1000,closed_won,,2025-02-01",
    "W2,2025-01-10,2000,closed_won,,2025-02-10",
    "W3,2025-01-10,0,closed_won,,2025-03-01",
    "W4,2025-01-10,500000,closed_won,,2025-03-15",
    "W5,2025-01-10,1500,closed_won,,2025-05-01",
    "W6,2025-01-10,10,closed_won,,2025-05-02",
    "W7,2025-01-10,1200,closed_won,,2025-05-03",
    "O1,2025-01-10,3000,proposal,2025-06-30,",
    "O2,2025-01-10,4000,negotiation,,",
    "O3,2025-01-10,2000,discovery,,",
)


@pytest.fixture
def world(con):
    summary = import_files(con, "accord", [SourceFile("leads.csv", LEADS), SourceFile("deals.csv", DEALS)],
                           actor="test", now=NOW)
    return con, summary


def by_code(flags: list[Flag]) -> dict[str, Flag]:
    codes = [f.code for f in flags]
    assert len(codes) == len(set(codes)), codes
    return {f.code: f for f in flags}


def test_every_flag_names_real_figures(world):
    con, summary = world
    for flag in summary.profile + profile(con, parse_period("2025-Q2")):
        assert set(flag.figures) <= set(MEASURES), flag
    module = sys.modules["core.ingest.profile"]  # (core.ingest.profile the attribute is the function)
    lists = [name for name in dir(module) if name.endswith("_FIGURES")]
    assert len(lists) >= 6
    for name in lists:
        value = getattr(module, name)
        names = {n for v in value.values() for n in v} if isinstance(value, dict) else set(value)
        assert names <= set(MEASURES), name


def test_whole_database(world):
    con, summary = world
    flags = by_code(profile(con))
    assert list(flags) == ["no_activities", "won_without_amount", "open_without_expected_close", "no_lost_deals",
                           "won_revenue_outlier", "won_revenue_outlier_tiny"]
    assert flags["won_without_amount"].text == (
        "1 of 7 won deals have no amount (0): won revenue and the average deal size count only the deals with one, and cannot be computed when none has.")
    assert (flags["won_without_amount"].count, flags["won_without_amount"].total) == (1, 7)
    assert flags["open_without_expected_close"].text == (
        "2 of 3 open deals have no expected close date, so the open pipeline of a period (deals expected to close "
        "in it) cannot count them.")
    assert flags["no_lost_deals"].text == (
        "No lost deals are recorded (7 won, 0 lost), so a win rate would be 100% by default: the data does not say "
        "how many deals were lost.")
    outlier = flags["won_revenue_outlier"]
    # positive won amounts 1000, 2000, 500000, 1500, 10, 1200: median 1350; W4 carries 500000 of 505710
    assert (outlier.count, outlier.total, outlier.records) == (1, 6, ("W4",))
    assert outlier.share == pytest.approx(500000 / 505710)
    assert outlier.text == ("Deal W4 is 99% of won revenue (500,000 of 505,710): more than 50× the median amount "
                            "(1,350). Check the amount before reading won revenue as a trend.")
    tiny = flags["won_revenue_outlier_tiny"]
    assert (tiny.count, tiny.total, tiny.records) == (1, 6, ("W6",))
    assert tiny.text == ("1 deal counted in won revenue has an amount under 1/50 of the median amount (1,350), e.g. "
                         "10 on deal W6: a placeholder or an amount in the wrong unit?")
    assert flags["no_activities"].figures[0] == "compliance"
    # the import summary lists the same flags, in messages too
    assert [f.code for f in summary.profile] == list(flags)
    assert [m for m in summary.messages if m.startswith("Data quality: ")] == [f"Data quality: {f.text}" for f in flags.values()]
    assert summary.as_dict()["profile"][1] == {
        "code": "won_without_amount", "figures": list(flags["won_without_amount"].figures),
        "text": flags["won_without_amount"].text, "count": 1, "total": 7, "records": [], "share": None}


def test_one_period(world):
    con, _ = world
    q1 = by_code(profile(con, parse_period("2025-Q1")))
    assert (q1["won_without_amount"].count, q1["won_without_amount"].total) == (1, 4)
    assert q1["won_without_amount"].text.startswith("1 of 4 won deals closed in 2025-Q1 have no amount")
    # positive amounts 1000, 2000, 500000: median 2000, W4 is 500000 of 503000
    assert q1["won_revenue_outlier"].text.startswith("Deal W4 is 99% of won revenue in 2025-Q1 (500,000 of 503,000)")
    assert "won_revenue_outlier_tiny" not in q1
    assert q1["no_lost_deals"].text.startswith("No lost deals are recorded in 2025-Q1 (4 won, 0 lost)")
    q2 = by_code(profile(con, parse_period("2025-Q2")))
    assert "won_without_amount" not in q2 and "won_revenue_outlier" not in q2
    assert q2["won_revenue_outlier_tiny"].records == ("W6",)  # 10 beside a median of 1200


def test_as_of_a_moment(world):
    con, _ = world
    flags = by_code(profile(con, parse_period("2025-Q1"), as_of=datetime(2025, 3, 10)))
    # won by then: W1, W2, W3 (W4 closes on 03-15): too few amounts for the outlier rules
    assert (flags["won_without_amount"].count, flags["won_without_amount"].total) == (1, 3)
    assert "won_revenue_outlier" not in flags
    # open then: O1-O3 and the four deals that close later; O2 and O3 have no expected close date
    assert (flags["open_without_expected_close"].count, flags["open_without_expected_close"].total) == (2, 7)
    assert flags["no_lost_deals"].text.startswith("No lost deals are recorded in the 365 days to the as-of (3 won, 0 lost)")


def test_a_lost_deal_and_activities_clear_their_flags(world):
    con, _ = world
    import_files(con, "accord", [
        SourceFile("deals.csv", csv("deal_id,created_at,amount,stage,closed_at", "X1,2025-01-10,800,closed_lost,2025-02-02")),
        SourceFile("activities.csv", csv("activity_id,lead_id,rep_id,occurred_at,kind", "A1,L1,R1,2025-01-05 10:00:00,call")),
    ], actor="test", now=NOW)
    codes = {f.code for f in profile(con)}
    assert "no_lost_deals" not in codes and "no_activities" not in codes


def test_empty_database_has_nothing_to_say(con):
    assert profile(con) == []


def test_creation_dates_an_importer_supplied(con):
    leads = csv("Prospect ID,Lead Source,Converted,Tags,Lead Quality", "p1,Google,1,,High in Relevance", "p2,Olark,0,,")
    first = import_files(con, "xeducation", [SourceFile("Leads.csv", leads)], actor="test", now=NOW)
    flag = by_code(first.profile)["leads_no_creation_date"]
    assert (flag.count, flag.total) == (2, 2)
    assert flag.text == (
        "2 leads have no creation date in the source: Leads.csv has no dates, so they carry the moment of the import "
        "that first loaded them (2026-01-15 12:00 UTC), which is not when they arrived: no period's lead counts, "
        "quality leads, funnel or SLA count them.")
    assert {"leads", "quality_leads", "compliance"} <= set(flag.figures)
    # a later import keeps the leads' first stamp, and the profile still says so (one new lead, one more)
    more = csv("Prospect ID,Lead Source,Converted,Tags,Lead Quality", "p1,Google,1,,High in Relevance", "p3,Google,0,,")
    later = import_files(con, "xeducation", [SourceFile("Leads.csv", more)], actor="test", now=datetime(2026, 3, 1))
    flags = [f for f in later.profile if f.code == "leads_no_creation_date"]
    assert [(f.count, f.total, "2026-01-15 12:00 UTC" in f.text) for f in flags] == [(2, 3, True), (1, 3, False)]
    # real dates for them replace the stamp, and the flag goes
    real = csv("lead_id,created_at,source,status", "p1,2025-05-01,Google,converted", "p2,2025-05-02,Olark,open",
               "p3,2025-05-03,Google,open")
    fixed = import_files(con, "accord", [SourceFile("leads.csv", real)], actor="test", now=datetime(2026, 3, 2))
    assert "leads_no_creation_date" not in {f.code for f in fixed.profile}
    assert con.execute("SELECT count(*) FROM import_stamps").fetchone()[0] == 0


def test_replacing_the_records_forgets_their_stamps(con):
    leads = csv("Prospect ID,Lead Source,Converted,Tags,Lead Quality", "p1,Google,1,,High in Relevance")
    import_files(con, "xeducation", [SourceFile("Leads.csv", leads)], actor="test", now=NOW)
    other = csv("lead_id,created_at,source,status", "n1,2026-01-15 12:00:00,web,open")  # the same moment, by chance
    summary = import_files(con, "accord", [SourceFile("leads.csv", other)], actor="test", now=NOW, replace_existing=True)
    assert "leads_no_creation_date" not in {f.code for f in summary.profile}


def test_maven_prospecting_deals_without_a_start(con):
    pipeline = csv("opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value",
                   "O1,Ann,GTX Basic,Acme,Won,2017-01-01,2017-02-01,500",
                   "O2,Ann,GTX Basic,Acme,Prospecting,,,",
                   "O3,Ann,GTX Basic,Acme,Prospecting,,,")
    summary = import_files(con, "maven", [SourceFile("sales_pipeline.csv", pipeline),
                                          SourceFile("products.csv", csv("product,series,sales_price", "GTX Basic,GTX,550"))],
                           actor="test", now=NOW)
    flag = by_code(summary.profile)["deals_no_creation_date"]
    assert (flag.count, flag.total) == (2, 3)
    assert "they carry 2017-02-01, the latest date in the pipeline file" in flag.text
    assert "created_deals" in flag.figures


def test_quarantine_counts_are_per_import(con):
    bad = csv("lead_id,created_at,source,status,employees", "L1,2099-01-01,email,open,", "L2,2025-01-01,email,open,inf",
              "L3,2025-01-01,email,open,5")
    first = import_files(con, "accord", [SourceFile("leads.csv", bad)], actor="test", now=NOW)
    flags = by_code(first.profile)
    assert (flags["quarantined_future"].count, flags["quarantined_bad_numbers"].count) == (1, 1)
    assert flags["quarantined_bad_numbers"].text == (
        "1 row with a number that is not finite (inf, nan) or is too large was quarantined.")
    clean = import_files(con, "accord", [SourceFile("leads.csv", csv("lead_id,created_at,source,status", "L4,2025-01-02,web,open"))],
                         actor="test", now=datetime(2026, 1, 16))
    assert not any(f.code.startswith("quarantined") for f in clean.profile)
    assert not any(f.code.startswith("quarantined") for f in profile(con))  # the latest import by default
    assert {f.code for f in profile(con, import_ids=first.import_ids)} >= {"quarantined_future", "quarantined_bad_numbers"}


# --- the real datasets -----------------------------------------------------------------------------------

def _need(folder: Path) -> None:
    if not folder.is_dir():
        pytest.skip(f"dataset folder {folder} is missing")


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    cache: dict[str, tuple] = {}

    def load(preset: str, folder: Path):
        _need(folder)
        if preset not in cache:
            c = open_store(tmp_path_factory.mktemp(preset) / "p.duckdb", create=True)
            cache[preset] = (c, import_files(c, preset, files_from_paths([folder]), actor="test", now=NOW))
        return cache[preset]

    yield load
    for c, _ in cache.values():
        c.close()


def _outlier_rules(amounts: pd.Series, ids: pd.Series) -> dict[str, tuple]:
    """The profile's rules, restated over a pandas Series of amounts (the deals in scope)."""
    pos = amounts[amounts > 0]
    out: dict[str, tuple] = {}
    if len(pos) < 3:
        return out
    median, top, total = pos.median(), pos.max(), pos.sum()
    if top > OUTLIER_FACTOR * median and top / total > 0.5:
        out["outlier"] = (ids[pos.idxmax()], top / total, len(pos))
    tiny = pos[pos < median / OUTLIER_FACTOR]
    if len(tiny):
        out["tiny"] = (len(tiny), ids[tiny.idxmin()])
    return out


def test_olist_profile(loaded):
    con, summary = loaded("olist", OLIST)
    closed = pd.read_csv(OLIST / "olist_closed_deals_dataset.csv")
    amount = closed["declared_monthly_revenue"].fillna(0) * 12
    won_at = pd.to_datetime(closed["won_date"])
    flags = by_code(summary.profile)
    assert set(flags) == {"no_activities", "won_without_amount", "no_lost_deals", "won_revenue_outlier",
                          "won_revenue_outlier_tiny"}
    assert (flags["won_without_amount"].count, flags["won_without_amount"].total) == (int((amount == 0).sum()), len(closed))
    assert (flags["won_without_amount"].count, flags["won_without_amount"].total) == (797, 842)
    assert flags["no_lost_deals"].total == len(closed) == 842
    rules = _outlier_rules(amount, closed["mql_id"])
    top_id, share, n = rules["outlier"]
    assert flags["won_revenue_outlier"].records == (top_id,) and flags["won_revenue_outlier"].total == n
    assert flags["won_revenue_outlier"].share == pytest.approx(share)
    assert (flags["won_revenue_outlier_tiny"].count, flags["won_revenue_outlier_tiny"].records) == (rules["tiny"][0], (rules["tiny"][1],))

    # 2018-Q1: every won deal lacks an amount
    q1 = (won_at >= "2018-01-01") & (won_at < "2018-04-01")
    f_q1 = by_code(profile(con, parse_period("2018-Q1")))
    assert (f_q1["won_without_amount"].count, f_q1["won_without_amount"].total) == (int((amount[q1] == 0).sum()), int(q1.sum()))
    assert f_q1["won_without_amount"].text.startswith("333 of 333 won deals closed in 2018-Q1 have no amount")
    # 2018-Q4: one deal is about 97% of won revenue
    q4 = (won_at >= "2018-10-01") & (won_at < "2019-01-01")
    rules_q4 = _outlier_rules(amount[q4], closed["mql_id"])
    f_q4 = by_code(profile(con, parse_period("2018-Q4")))["won_revenue_outlier"]
    assert f_q4.records == (rules_q4["outlier"][0],)
    assert f_q4.share == pytest.approx(amount[q4].max() / amount[q4].sum())
    assert round(f_q4.share, 2) == 0.97
    assert f_q4.text.startswith(f"Deal {rules_q4['outlier'][0]} is 97% of won revenue in 2018-Q4 (600,000,000 of 618,276,000)")


def test_maven_profile(loaded):
    con, summary = loaded("maven", MAVEN)
    pipeline = pd.read_csv(MAVEN / "sales_pipeline.csv")
    prices = pd.read_csv(MAVEN / "products.csv")
    price = pipeline["product"].str.replace(" ", "").str.lower().map(
        prices.set_index(prices["product"].str.replace(" ", "").str.lower())["sales_price"])
    is_open = pipeline["deal_stage"].isin(["Engaging", "Prospecting"])
    won = pipeline["deal_stage"] == "Won"
    flags = by_code(summary.profile)
    expected = {"deals_no_creation_date", "no_activities", "no_leads", "open_without_expected_close"}
    if (pipeline.loc[won, "close_value"].fillna(0) == 0).any():
        expected.add("won_without_amount")
    expected |= {"won_revenue_outlier" + ("" if k == "outlier" else "_tiny")
                 for k in _outlier_rules(pipeline.loc[won, "close_value"], pipeline["opportunity_id"])}
    expected |= {"open_amount_outlier" + ("" if k == "outlier" else "_tiny")
                 for k in _outlier_rules(price[is_open], pipeline["opportunity_id"])}
    assert set(flags) == expected == {"deals_no_creation_date", "no_activities", "no_leads", "open_without_expected_close"}
    no_close = flags["open_without_expected_close"]
    assert (no_close.count, no_close.total) == (int((is_open & pipeline["close_date"].isna()).sum()), int(is_open.sum()))
    assert (no_close.count, no_close.total) == (2089, 2089)
    stamped = flags["deals_no_creation_date"]
    assert (stamped.count, stamped.total) == (int(pipeline["engage_date"].isna().sum()), len(pipeline)) == (500, 8800)


def test_xeducation_profile(loaded):
    con, summary = loaded("xeducation", XEDU)
    leads = pd.read_csv(XEDU / "Leads.csv")
    flags = by_code(summary.profile)
    assert set(flags) == {"leads_no_creation_date", "no_activities", "no_deals"}
    assert (flags["leads_no_creation_date"].count, flags["leads_no_creation_date"].total) == (len(leads), len(leads)) == (9240, 9240)
    assert flags["leads_no_creation_date"].text.startswith("9,240 leads have no creation date in the source: Leads.csv has no dates")
    assert by_code(profile(con)) == flags  # the same on the database, any time later
