"""Every metric card on every page, on each real public dataset (../shared/datasets), checked card by card
against figures computed here from the raw CSV files with pandas — never with Accord's core.metrics — or,
where a card shows "—", against the sentence the page must show to say why.

Each dataset is imported once (core.ingest, as a person would) into a database file of its own; each page
is then opened once per period under streamlit.testing.v1.AppTest as the leadership persona: the period the
sidebar opens on (the latest quarter holding data) and one quarter in the middle of the data's history.

The raw columns are mapped as docs/importing.md says the presets map them (Olist: first_contact_date →
lead created_at and mql_at, won_date → closed_at, declared_monthly_revenue × 12 → amount; Maven:
engage_date → created_at, close_value (won) or the product's list price (lost, open) → amount, stage
history at engage_date and close_date; X Education: no dates at all). The figures follow
../shared/METRICS.md and docs/metrics-notes.md ("Figures on partial data", "Records without a creation
date"). Only formatting comes from Accord: core.semantic.measures.show and the card labels.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from apptest_support import PERSONAS, each_tab, open_page, texts
from core.ingest import files_from_paths, import_files
from core.semantic.measures import MEASURES, show
from core.store import open_store

DATASETS = Path(__file__).parents[1].parent / "shared" / "datasets"
FOLDERS = {
    "olist": DATASETS / "olist-marketing-funnel",
    "maven": DATASETS / "maven-crm-sales-opportunities",
    "xeducation": DATASETS / "x-education-lead-scoring",
}
NOW = datetime(2026, 1, 15, 12, 0, 0)  # the import's moment (X Education's leads carry it as creation date)
STALL_DAYS = 30  # ACCORD_STALL_DAYS' default
TRAILING = timedelta(days=365)
OUTLIER_FACTOR, OUTLIER_SHARE = 50, 0.5  # metrics-notes, "Figures on partial data"

# None: the period the sidebar opens on; the other one lies in the middle of the data's history.
PERIODS = {"olist": [None, "2018-Q1"], "maven": [None, "2017-Q2"], "xeducation": [None, "2025-Q4"]}
PAGES = ["pages/overview.py", "pages/goals.py", "pages/sla.py", "pages/pipeline.py", "pages/attribution.py",
         "pages/quality.py"]
CASES = [(ds, period, page) for ds, periods in PERIODS.items() for period in periods for page in PAGES]


def label(name: str) -> str:
    return MEASURES[name].card_label


# --- the raw files, mapped as the presets document ---------------------------------------------------------

@dataclass
class Raw:
    """The dataset as canonical-like frames built here with pandas.

    leads: lead_id, created_at (NaT: the source has no date), quality (definition version 1: score ≥ 60, a demo
    request, or an mql_at by as-of), status. deals: deal_id, lead_id (None: sales-sourced), created_at (NaT:
    undated), amount, state (won / lost / open), closed_at, entered_at (when the current open stage was entered;
    NaT: unknown)."""

    name: str
    as_of: datetime
    leads: pd.DataFrame | None
    deals: pd.DataFrame | None
    stage_history: bool = False
    open_stage_moves: bool = False  # a deal with two different open stages in its history
    activities: bool = False
    campaigns: bool = False
    expected_close_dates: bool = False


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _olist() -> Raw:
    folder = FOLDERS["olist"]
    mqls = _csv(folder / "olist_marketing_qualified_leads_dataset.csv")
    closed = _csv(folder / "olist_closed_deals_dataset.csv")
    first_contact = pd.to_datetime(mqls["first_contact_date"])
    won_at = pd.to_datetime(closed["won_date"])
    as_of = min(max(first_contact.max(), won_at.max()).to_pydatetime(), NOW)
    # every MQL was called qualified by the CRM at its first contact (mql_at = first_contact_date)
    leads = pd.DataFrame({
        "lead_id": mqls["mql_id"], "created_at": first_contact, "quality": first_contact <= as_of,
        "status": mqls["mql_id"].isin(set(closed["mql_id"])).map({True: "converted", False: "open"}),
    })
    contact_of = dict(zip(mqls["mql_id"], first_contact))
    fc = closed["mql_id"].map(contact_of)
    deals = pd.DataFrame({
        "deal_id": closed["mql_id"], "lead_id": closed["mql_id"],
        "created_at": fc.where(fc <= won_at, won_at),  # one deal was won before its first contact
        "amount": pd.to_numeric(closed["declared_monthly_revenue"].replace("", "0")) * 12,
        "state": "won", "closed_at": won_at, "entered_at": pd.NaT,
    })
    return Raw("olist", as_of, leads, deals)


def _maven() -> Raw:
    folder = FOLDERS["maven"]
    pipeline = _csv(folder / "sales_pipeline.csv")
    products = _csv(folder / "products.csv")

    def key(names: pd.Series) -> pd.Series:
        return names.str.lower().str.replace(r"[^a-z0-9]", "", regex=True)  # GTXPro = GTX Pro

    price = dict(zip(key(products["product"]), pd.to_numeric(products["sales_price"])))
    stage = pipeline["deal_stage"]
    engage = pd.to_datetime(pipeline["engage_date"].replace("", None))
    close = pd.to_datetime(pipeline["close_date"].replace("", None))
    as_of = min(max(engage.max(), close.max()).to_pydatetime(), NOW)
    is_open = stage.isin(["Engaging", "Prospecting"])
    deals = pd.DataFrame({
        "deal_id": pipeline["opportunity_id"], "lead_id": None, "created_at": engage,  # Prospecting: no date
        "amount": pd.to_numeric(pipeline["close_value"]).where(stage == "Won", key(pipeline["product"]).map(price)),
        "state": stage.map({"Won": "won", "Lost": "lost", "Engaging": "open", "Prospecting": "open"}),
        "closed_at": close.where(~is_open),
        "entered_at": engage.where(is_open),  # an open deal's only stage began at engage_date (if it has one)
    })
    assert deals["state"].notna().all() and deals["amount"].notna().all()
    return Raw("maven", as_of, None, deals, stage_history=True)


def _xeducation() -> Raw:
    leads = _csv(FOLDERS["xeducation"] / "Leads.csv")
    frame = pd.DataFrame({"lead_id": leads["Prospect ID"], "created_at": pd.NaT, "quality": False, "status": "open"})
    return Raw("xeducation", NOW, frame, None)  # no dates: as-of is the import's moment


LOADERS = {"olist": _olist, "maven": _maven, "xeducation": _xeducation}


# --- what each card should show ----------------------------------------------------------------------------

@dataclass
class Expect:
    value: str                    # exactly as displayed
    why: str                      # the derivation, for failure messages
    says: tuple = ()              # each item a sentence part the page must show, or a tuple of alternatives
    delta: str | None = None      # a part the card's context must show
    no_amount_delta: bool = False  # the context must not claim an amount ($0) the data does not have


@dataclass
class PageExpect:
    cards: dict[str, Expect] = field(default_factory=dict)  # card label → expectation, every card of the page
    says: tuple = ()  # what the page must say when whole sections cannot be shown


@dataclass(frozen=True)
class Quarter:
    label: str
    start: datetime
    end: datetime


def quarter(label: str) -> Quarter:
    year, q = int(label[:4]), int(label[-1])
    start = datetime(year, 3 * q - 2, 1)
    end = datetime(year + 1, 1, 1) if q == 4 else datetime(year, 3 * q + 1, 1)
    return Quarter(label, start, end)


def quarter_of(moment: datetime) -> Quarter:
    return quarter(f"{moment.year}-Q{(moment.month - 1) // 3 + 1}")


def default_quarter(raw: Raw) -> Quarter:
    """The quarter of the latest real record at or before as-of (a date the source had); as-of's without one."""
    moments = []
    for frame, columns in ((raw.leads, ("created_at",)), (raw.deals, ("created_at", "closed_at"))):
        for column in columns if frame is not None else ():
            kept = frame[column].dropna()
            moments += list(kept[kept <= raw.as_of])
    return quarter_of(max(moments).to_pydatetime() if moments else raw.as_of)


def _count(n: int) -> str:
    return f"{n:,}"


def expected(raw: Raw, p: Quarter) -> dict[str, PageExpect]:
    """Every page's cards for period `p`, from the raw frames (METRICS.md and docs/metrics-notes.md)."""
    as_of, leads, deals = raw.as_of, raw.leads, raw.deals
    inside = lambda s: (s >= p.start) & (s < p.end) & (s <= as_of)  # noqa: E731

    # why figures cannot be computed: the stable part of each sentence the pages show
    no_goal = f"No revenue goal is set for {p.label}"
    ended = f"{p.label} has ended"
    no_activities = "No activities are loaded"
    no_commitment = "No quality-lead commitment is set"
    no_campaigns = "No campaigns are loaded"
    no_history = "No deal stage history is loaded"
    no_lost = "No lost deal is recorded in the data"
    no_deals = "No deals are loaded"

    dated = leads is not None and leads["created_at"].notna().any()
    if leads is None:
        no_leads_reason = "No leads are loaded"
    elif not dated:
        no_leads_reason = f"The {len(leads):,} leads loaded have no creation date in the source"
    else:
        no_leads_reason = None

    pages = {page: PageExpect() for page in PAGES}

    def put(page: str, name: str, e: Expect) -> None:
        pages[page].cards[label(name)] = e

    # --- leads: the period's cohort (created in the period, by as-of; undated leads are in no period)
    if dated:
        assert leads is not None
        cohort = leads[inside(leads["created_at"])]
        with_deal, with_win = set(), set()
        if deals is not None:
            by_as_of = deals[deals["created_at"].fillna(deals["closed_at"]) <= as_of]
            with_deal = set(by_as_of["lead_id"].dropna())
            with_win = set(by_as_of.loc[(by_as_of["state"] == "won") & (by_as_of["closed_at"] <= as_of), "lead_id"].dropna())
        quality = cohort[cohort["quality"]]
        accepted = quality[quality["status"].isin(["accepted", "converted"]) | quality["lead_id"].isin(with_deal)]
        rejected = quality[quality["status"] == "rejected"]
        unq = cohort[~cohort["quality"]]
        quality_card = Expect(show("quality_leads", len(quality)),
                              f"leads created in {p.label} meeting definition version 1 ({len(quality):,} of {len(cohort):,})")
        unq_opps = Expect(_count(unq["lead_id"].isin(with_deal).sum()), "unqualified cohort leads with a deal")
        unq_won = Expect(_count(unq["lead_id"].isin(with_win).sum()), "unqualified cohort leads with a won deal")
        if len(quality):
            acceptance = Expect(show("acceptance_rate", len(accepted) / len(quality)),
                                f"{len(accepted):,} of {len(quality):,} quality leads converted or with a deal")
        else:  # a rate over no lead: the Quality leads card beside it says 0
            acceptance = Expect("—", "no quality lead in the period", says=(f"{label('quality_leads')} 0",))
        if (leads["status"] == "rejected").any():
            rejected_card = Expect(_count(len(rejected)), "quality leads of the cohort with status rejected")
        else:  # the source records no rejection at all: a 0 would only mean "not recorded"
            rejected_card = Expect("—", "no lead of the data is marked rejected",
                                   says=("No lead in the data is marked rejected",))
    else:
        quality_card = Expect("—", "no dated lead", says=(no_leads_reason,))
        reasons = (no_leads_reason,) if deals is not None else ((no_leads_reason, no_deals),)
        unq_opps = unq_won = Expect("—", "no dated lead", says=reasons)

    # --- deals in the state they had as of
    if deals is not None:
        d = deals
        won = d[(d["state"] == "won") & (d["closed_at"] <= as_of)]
        lost = d[(d["state"] == "lost") & (d["closed_at"] <= as_of)]
        won_p, lost_p = won[inside(won["closed_at"])], lost[inside(lost["closed_at"])]
        created_p = d[d["created_at"].notna() & inside(d["created_at"])]
        open_all = d[(d["state"] == "open") | (d["closed_at"] > as_of)]

        # won revenue: deals won in the period with a declared amount; unknown when none has one
        priced = won_p[won_p["amount"] > 0]
        n, k = len(won_p), len(won_p) - len(priced)
        if n and not len(priced):
            won_revenue = Expect("—", f"all {n:,} deals won in {p.label} lack an amount",
                                 says=(f"{n:,} of {n:,} won deals in the period have no amount",))
        else:
            total = float(priced["amount"].sum())
            says: tuple = (f"{k:,} of {n:,} won deals in the period have no amount",) if k else ()
            delta = None
            top, median = (priced["amount"].max(), priced["amount"].median()) if len(priced) else (0, 0)
            if n > 1 and median and top > OUTLIER_FACTOR * median and top > OUTLIER_SHARE * total:
                delta = f"{top / total:.0%}"
                says += (f"One won deal is {top / total:.0%} of won revenue",)
            won_revenue = Expect(show("won_revenue", total), f"{len(priced):,} won deals in {p.label} with an amount, "
                                 f"summed ({k:,} without one left out)", says=says, delta=delta)

        # open pipeline: needs expected close dates, and open deals
        if not len(open_all):
            open_reason = f"No deal is open as of {as_of:%Y-%m-%d}"
            open_amount = Expect("—", "no deal open as of", says=(open_reason,))
        elif not raw.expected_close_dates:
            open_reason = f"None of the {len(open_all):,} open deals has an expected close date"
            open_amount = Expect("—", "open deals lack expected close dates", says=(open_reason,),
                                 delta=f"+{len(open_all):,} deals, {show('open_amount', open_all['amount'].sum())}")
        else:  # pragma: no cover - none of the datasets has expected close dates
            raise AssertionError("expected close dates: not needed by these datasets")
        coverage = Expect("—", "no goal is set (and the open pipeline or the period rules it out)",
                          says=((no_goal, ended, open_reason),))

        # stalls: open deals whose current stage began more than STALL_DAYS before as-of (unknown start: never)
        if raw.stage_history:
            stalled = open_all[open_all["entered_at"] < as_of - timedelta(days=STALL_DAYS)]
            stalled_card = Expect(_count(len(stalled)), f"open deals in one stage since before "
                                  f"{as_of - timedelta(days=STALL_DAYS):%Y-%m-%d}")
        else:
            stalled_card = Expect("—", "no stage history", says=(no_history,))

        # trailing year: closed in (as-of − 365 days, as-of]
        year = lambda f: f[(f["closed_at"] > as_of - TRAILING) & (f["closed_at"] <= as_of)]  # noqa: E731
        won_y, lost_y = year(won), year(lost)
        if not len(lost):
            win_rate = coverage_needed = velocity = Expect("—", "no lost deal in the data", says=(no_lost,))
        else:
            rate = len(won_y) / (len(won_y) + len(lost_y))
            win_rate = Expect(show("win_rate", rate), f"{len(won_y):,} won ÷ ({len(won_y):,} won + {len(lost_y):,} lost)")
            coverage_needed = Expect(show("coverage_needed", 1 / rate), "1 ÷ win rate")
            size = won_y.loc[won_y["amount"] > 0, "amount"].mean()
            cycle = ((won_y["closed_at"] - won_y["created_at"]).dt.total_seconds() / 86400).mean()  # undated: skipped
            velocity = Expect(show("velocity", len(open_all) * rate * size / cycle),
                              f"{len(open_all):,} open × {rate:.4f} × ${size:,.2f} ÷ {cycle:.2f} days")

        sales_sourced = Expect(_count(created_p["lead_id"].isna().sum()), f"deals without a lead created in {p.label}")

        def moved(frame: pd.DataFrame, what: str) -> Expect:
            return Expect(_count(len(frame)), f"deals {what} in {p.label}", delta=show("won_revenue", frame["amount"].sum()))

        created_card = moved(created_p, "created (dated)")
        won_card = moved(won_p, "won")
        if n and not len(priced):  # the amount won is unknown, not $0
            won_card.delta, won_card.no_amount_delta = None, True
        if len(lost):
            lost_card = moved(lost_p, "lost")
        else:  # no lost deal anywhere in the data: not recorded, rather than none
            lost_card = Expect("—", "no lost deal in the data",
                               says=("No lost deal is recorded in the data, so lost deals cannot be counted.",))
        if not raw.stage_history:
            advanced = Expect("—", "no stage history", says=("No deal stage history is loaded, so deals that advanced",))
        elif not raw.open_stage_moves:
            advanced = Expect("—", "no deal has two open stages",
                              says=("records no move from one open stage to another",))
        else:  # pragma: no cover
            raise AssertionError("open-stage moves: not needed by these datasets")
        slipped = Expect("—", "no expected close dates", says=("No deal has an expected close date",))
        # the same amounts as won revenue; its caveats (no amount, one outlier) are the won-revenue card's
        attr_won = Expect(won_revenue.value, "deals won in the period, all credited (first touch)",
                          says=won_revenue.says if won_revenue.value == "—" else ())
        attr_opps = Expect(show("attr_opportunities", len(created_p)), f"deals created in {p.label}, one each")
    else:
        won_revenue = Expect("—", "no deals", says=(no_deals,))
        coverage = stalled_card = win_rate = Expect("—", "no deals", says=(no_deals,))
        open_amount = sales_sourced = won_revenue

    # --- the landing estimate (core.metrics.forecast): an ended period, or its last day, lands on what it won
    # (open deals almost never close in the hours left at the same point of earlier periods); otherwise it needs
    # open deals, and deals at all
    landing_parts = ("landing_open", "landing_new")
    if deals is None:
        landing = dict.fromkeys(("landing", "landing_low", "landing_high", *landing_parts),
                                Expect("—", "no deals", says=(no_deals,)))
    elif p.end <= as_of + timedelta(days=1):
        if won_revenue.value == "—":
            landing = dict.fromkeys(("landing", "landing_low", "landing_high", *landing_parts),
                                    Expect("—", "the period's won deals have no amount",
                                           says=("won deals have no amount",)))
        else:
            landing = {name: Expect(won_revenue.value, "the period (nearly) over: it lands on its won revenue")
                       for name in ("landing", "landing_low", "landing_high")}
            landing.update(dict.fromkeys(landing_parts, Expect("$0", "no time left in the period")))
    elif not len(open_all):
        landing = dict.fromkeys(("landing", "landing_low", "landing_high", *landing_parts),
                                Expect("—", "no deal open as of", says=(open_reason,)))
    else:  # pragma: no cover - no dataset here has open deals in a period far from its end
        raise AssertionError("a landing estimate mid-period: not needed by these datasets")

    goal_cards = {"goal": Expect("—", "no goal saved", says=(no_goal,)),
                  "won_revenue": won_revenue,
                  "attainment": Expect("—", "no goal saved", says=(no_goal,)),
                  "pacing": Expect("—", "no goal saved", says=(no_goal,))}

    # --- Overview
    for name, e in goal_cards.items():
        put("pages/overview.py", name, e)
    for name, e in landing.items():
        put("pages/overview.py", name, e)
    put("pages/overview.py", "quality_leads", quality_card)
    put("pages/overview.py", "delivery", Expect("—", "no commitment saved",
                                                says=(tuple(dict.fromkeys((no_commitment, no_leads_reason or no_commitment))),)))
    for name in ("compliance", "median_hours"):
        put("pages/overview.py", name, Expect("—", "no activities", says=(no_activities,)))
    put("pages/overview.py", "open_amount", open_amount)
    put("pages/overview.py", "coverage", coverage)
    put("pages/overview.py", "stalled_deals", stalled_card)
    put("pages/overview.py", "win_rate", win_rate)
    put("pages/overview.py", "sales_sourced_deals", sales_sourced)
    put("pages/overview.py", "unqualified_opportunities", unq_opps)
    put("pages/overview.py", "unqualified_won", unq_won)

    # --- Shared goals
    for name, e in goal_cards.items():
        put("pages/goals.py", name, e)
    put("pages/goals.py", "coverage", coverage)
    for name in ("landing", "landing_low", "landing_high"):
        put("pages/goals.py", name, landing[name])

    # --- SLA compliance: sales' cards need activities, marketing's dated leads
    if dated:
        put("pages/sla.py", "quality_leads", quality_card)
        put("pages/sla.py", "delivery", Expect("—", "no commitment saved", says=(no_commitment,)))
        put("pages/sla.py", "acceptance_rate", acceptance)
        put("pages/sla.py", "rejected", rejected_card)
        pages["pages/sla.py"].says = ("The response SLA cannot be measured", no_activities)
    else:
        pages["pages/sla.py"].says = ("Marketing's side cannot be measured", no_leads_reason, no_activities)

    # --- Pipeline gaps: beside the funnel (dated leads), health and movement (deals)
    if dated:
        put("pages/pipeline.py", "sales_sourced_deals", sales_sourced)
        put("pages/pipeline.py", "unqualified_opportunities", unq_opps)
        put("pages/pipeline.py", "unqualified_won", unq_won)
    else:
        pages["pages/pipeline.py"].says = (no_leads_reason,)
    if deals is not None:
        for name, e in (("open_amount", open_amount), ("coverage", coverage), ("coverage_needed", coverage_needed),
                        ("win_rate", win_rate), ("velocity", velocity), ("stalled_deals", stalled_card),
                        ("created_deals", created_card), ("advanced_deals", advanced), ("period_won_deals", won_card),
                        ("lost_deals", lost_card), ("slipped_deals", slipped)):
            put("pages/pipeline.py", name, e)
    else:
        pages["pages/pipeline.py"].says += (no_deals,)

    # --- Attribution: the period's first-touch cohort and its deals
    if dated:
        assert deals is not None  # every dataset with dated leads here has deals
        put("pages/attribution.py", "attr_leads", Expect(_count(len(cohort)), f"leads created in {p.label}"))
        put("pages/attribution.py", "attr_quality_leads", Expect(_count(len(quality)), f"quality leads of {p.label}"))
        put("pages/attribution.py", "attr_opportunities", attr_opps)
        put("pages/attribution.py", "attr_won_revenue", attr_won)
        put("pages/attribution.py", "attr_cost", Expect("—", "no campaigns", says=(no_campaigns,)))
        put("pages/attribution.py", "attr_return", Expect("—", "no campaigns", says=(no_campaigns,)))
    else:
        pages["pages/attribution.py"].says = (no_leads_reason,)

    # --- Quality-lead definition: the draft (version 1 itself) back-tested over a year of creation days to as-of
    if dated:
        assert leads is not None
        first = pd.Timestamp(as_of.date()) - timedelta(days=364)
        last = pd.Timestamp(as_of.date()) + timedelta(days=1)
        ranged = leads[(leads["created_at"] >= first) & (leads["created_at"] < last) & (leads["created_at"] <= as_of)]
        q = ranged[ranged["quality"]]
        won_leads = q["lead_id"].isin(with_win).sum()
        span = f"leads created {first:%Y-%m-%d} – {as_of:%Y-%m-%d}"
        for name, value, why in (
            ("backtest_draft_quality_leads", len(q), f"quality {span}"),
            ("backtest_draft_share", len(q) / len(ranged), f"{len(q):,} of {len(ranged):,} {span}"),
            ("backtest_draft_won_rate", won_leads / len(q), f"{won_leads:,} of {len(q):,} with a won deal"),
        ):
            put("pages/quality.py", name, Expect(show(name, value), why, delta=f"version 1: {show(name, value)}"))
        put("pages/quality.py", "backtest_missed_won_deals", Expect("0", "the draft is the version in force"))
    else:
        pages["pages/quality.py"].says = (no_leads_reason,)
    return pages


# --- cards that are wrong today: asserted correct in tests of their own, marked xfail ------------------------

# (dataset, period as parametrised, page, measure) → why the card is wrong today (the xfail reason)
# --- the databases and the pages as shown ------------------------------------------------------------------

@dataclass
class Shown:
    period: str
    cards: list[tuple[str, str, str | None]]  # (label, value, context) in page order
    text: str  # everything the page says, notes in expanders included

    def card(self, name_or_label: str) -> tuple[str, str | None]:
        found = [(v, d) for lbl, v, d in self.cards if lbl == name_or_label]
        assert len(found) == 1, f"{len(found)} cards labelled {name_or_label!r}; cards: {[c[0] for c in self.cards]}"
        return found[0]


@pytest.fixture(scope="module")
def databases(tmp_path_factory):
    """dataset → a closed database file holding its import (built on first use, once per module)."""
    built: dict[str, Path] = {}

    def get(dataset: str) -> Path:
        if not FOLDERS[dataset].is_dir():
            pytest.skip(f"dataset folder {FOLDERS[dataset]} is missing (see the datasets README for where it comes from)")
        if dataset not in built:
            path = tmp_path_factory.mktemp(f"cards-{dataset}") / f"{dataset}.duckdb"
            con = open_store(path, create=True)
            try:
                summary = import_files(con, dataset, files_from_paths([FOLDERS[dataset]]), actor="test", now=NOW)
                assert sum(c.loaded for c in summary.by_table.values()) > 0
            finally:
                con.close()
            built[dataset] = path
        return built[dataset]

    return get


RAW: dict[str, Raw] = {}
SHOWN: dict[tuple[str, str | None, str], Shown] = {}


def raw_of(dataset: str) -> Raw:
    if not FOLDERS[dataset].is_dir():
        pytest.skip(f"dataset folder {FOLDERS[dataset]} is missing (see the datasets README for where it comes from)")
    if dataset not in RAW:
        RAW[dataset] = LOADERS[dataset]()
    return RAW[dataset]


def shown(databases, use_db, dataset: str, period: str | None, page: str) -> Shown:
    """The page as the leadership persona sees it (opened once per dataset, period and page)."""
    if (dataset, period, page) not in SHOWN:
        use_db(databases(dataset), ACCORD_STALL_DAYS=STALL_DAYS)
        cards: dict[str, tuple[str, str, str | None]] = {}
        text = []
        for at in each_tab(open_page(page, persona=PERSONAS["leadership"], period=period), page):
            # cards above the tabs show in every tab's run: one entry per label
            cards.update({m.label: (m.label, m.value, m.delta) for m in at.metric if m.label not in cards})
            text += [texts(at), *(t.value for e in at.expander for t in e.text)]
        SHOWN[(dataset, period, page)] = Shown(
            period=at.session_state["app_scope"].period.label, cards=list(cards.values()), text="\n".join(text))
    return SHOWN[(dataset, period, page)]


def problems(card_label: str, e: Expect, value: str, delta: str | None, text: str) -> list[str]:
    """How a shown card differs from its expectation (empty: it agrees)."""
    out = []
    if value != e.value:
        out.append(f"{card_label}: shows {value!r}, expected {e.value!r} ({e.why})")
    for needed in e.says:
        options = needed if isinstance(needed, tuple) else (needed,)
        if not any(o in text for o in options):
            out.append(f"{card_label}: the page does not say {' / '.join(map(repr, options))}")
    if e.delta is not None and e.delta not in (delta or ""):
        out.append(f"{card_label}: context {delta!r} does not show {e.delta!r}")
    if e.no_amount_delta and "$" in (delta or ""):
        out.append(f"{card_label}: context {delta!r} states an amount, but no deal of it has one")
    return out


@pytest.mark.parametrize(("dataset", "period", "page"), CASES,
                         ids=[f"{d}-{p or 'default'}-{Path(g).stem}" for d, p, g in CASES])
def test_every_card_agrees_with_the_raw_files(databases, use_db, dataset, period, page):
    raw = raw_of(dataset)
    s = shown(databases, use_db, dataset, period, page)
    want_period = period or default_quarter(raw).label
    assert s.period == want_period, f"the page shows {s.period}, expected {want_period}"
    want = expected(raw, quarter(s.period))[page]

    labels = [c[0] for c in s.cards]
    assert len(labels) == len(set(labels)), f"a card label repeats: {labels}"
    assert set(labels) == set(want.cards), (
        f"cards shown {sorted(labels)}, expected {sorted(want.cards)}")
    found = []
    for card_label, value, delta in s.cards:
        found += problems(card_label, want.cards[card_label], value, delta, s.text)
    for needed in want.says:
        if needed not in s.text:
            found.append(f"the page does not say {needed!r}")
    assert not found, "\n".join(found)
