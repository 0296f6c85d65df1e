"""The seeded demo database: about 18 months of a B2B SaaS company's leads, activities, deals and campaigns.

`build_demo(path)` writes a complete Accord database (canonical tables, the edited state and meta) into
a temporary file beside `path` and renames it into place, so a half-built database never appears.

Everything is generated with vectorised numpy from random streams keyed on the seed and stamped relative
to `as_of`: the same seed and as-of give byte-identical tables (edit versions are saved "at" as-of too),
and nothing is stamped after as-of except open deals' expected close dates.

How the data is made realistic rather than uniform noise:
- Lead volume follows weekdays (weekends quiet), a dip in August and late December, a mild growth trend,
  business hours; events and webinars arrive in bursts around their dates.
- Channels differ in volume, score and conversion (paid social: many, weak leads; referral, partner,
  events: few, strong ones). Score follows channel, seniority, company size and industry.
- SDRs differ in response speed the way real teams do (issue 15): some first touches within minutes (the
  fastest SDRs on the phone, demo requests routed as inbound calls), most within hours (per-SDR medians
  from about half an hour to half a day), a tail over days; they differ in diligence (attempts), work
  office hours in their team's time zone (Europe/Berlin or America/New_York, DST included), and touch
  weaker leads later and less. Routing (creation → assignment) differs by source: web forms are routed
  in minutes, partner and referral leads by hand within hours, event and webinar lists a day or so later,
  by operations in office hours. The demo still starts on the calendar-hour SLA policy; switching it to
  working hours shows how much of the delay is nights and weekends.
- Deals move through the stages with stage durations that have a long tail (stalled deals), win
  30 % or so, close faster when lost, and some wins are pulled into the last days of a quarter.
- The simulation runs on past as-of to the end of the next quarter, and is then cut at as-of: revenue
  goals are set from what each quarter's full won revenue is or would be (so attainment is realistic),
  and open deals' expected close dates come from when they would really close.

How it stays fast and small at ten million leads (memory does not grow with the leads, only with deals):
- The world comes first, from the stream (seed, 0): calendar, reps, campaigns (and their output numbers),
  a pool of companies, and the lead plan. The plan cuts the day grid's hours into consecutive time slices
  of about CHUNK_LEADS expected leads each (a fixed constant, so the data never depends on the machine),
  before as-of and, separately, after it; one multinomial draw then fixes how many leads of each channel
  fall in each slice before as-of (exactly `leads` in all), and Poisson draws those after it. Drawing the
  counts first and the hours within each slice second is the same distribution as drawing every lead's
  hour at once, so slice edges leave no gap or spike in lead volume.
- Each slice is then a chunk with its own stream (seed, 1, chunk): its leads are created, sorted by time
  and given their whole fate (routing, attempts, decision, whether they become a deal). A chunk before
  as-of is written at once, one INSERT per table: its leads (numbered on from the previous chunk, so lead
  ids follow creation time), their activities and their campaign touches (a lead's attempts may run past
  its slice's end: they are the lead's, and are written with it). A chunk after as-of is never written:
  it exists for the deals and goals. Activities are numbered in write order (by time within a chunk, the
  deals' AE activities after all the leads'), so activity ids are unique but only roughly follow time.
- What outlives a chunk is small: per campaign lead counts (campaign cost), the trailing year's quality
  leads (the delivery commitment), and one compact row per lead that becomes a deal (about 9 % of the
  leads: when, company, region, channel, quality). Deals are drawn only once all chunks are done, because
  their numbers follow creation time across all chunks and goals need each quarter's full won revenue.
- Deals' fates are drawn DEAL_CHUNK at a time (streams (seed, 2, 1 + block)); kept between blocks are the
  won deals' close and amount (goals) and the deals that exist at as-of, which are then numbered by
  creation, given their expected close and written DEAL_CHUNK at a time with their stage history and AE
  activities (streams (seed, 3, block)). Sales-sourced deals and expected closes come from (seed, 2, 0),
  campaign costs and goals from (seed, 4, ...).
- A worker thread prepares the next chunk (its leads' fates and its rows) while this one is written; the
  writes stay in order in the calling thread, so this changes the timing only, never the data.
- Rows travel to DuckDB as arrow tables of numpy columns, which it scans in place: ids are formatted by
  the INSERT itself from integer numbers, small vocabularies are integer codes looked up there, company
  names are dictionary arrays. No Python string is made per row. DuckDB's own memory is capped
  (DUCKDB_MEMORY) while it builds; it spills to disk beyond that.
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from core import edits, lake
from core.db import connect, set_meta
from core.models import Actor, GoalBody, SlaPolicy
from core.periods import Period, parse_period, period_containing, utc_now
from core.semantic.enums import ACTIVITY_KINDS, DEAL_STAGES, LEAD_STATUSES, SENIORITIES, TABLES

DEMO_ACTOR = Actor(name="Demo setup", team="leadership")

MIN = 60
HOUR = 3600
DAY = 86_400
HISTORY_DAYS = 548  # about 18 months of leads up to as-of
LEAD_IN_DAYS = 60  # campaign touches reach back this far before a lead was created
EPOCH = datetime(1970, 1, 1)

# The office time zone of each region (index = rep/lead region: 0 EMEA, 1 NA).
REGION_ZONES = ("Europe/Berlin", "America/New_York")
# Routing (creation → assignment) per channel: median minutes, spread (lognormal sigma), and whether
# operations route it by hand (then only in office hours: list uploads, partner portals).
ROUTING: dict[str, tuple[float, float, bool]] = {
    "paid_search": (4, 1.0, False), "paid_social": (8, 1.0, False), "events": (22 * 60, 0.6, True),
    "webinar": (16 * 60, 0.6, True), "content": (20, 1.1, False), "email": (15, 1.1, False),
    "partner": (5 * 60, 0.9, True), "referral": (90, 1.0, True), "outbound": (1, 0.5, False),
}

# Leads generated and written per chunk (expected; the plan's slices hold about this many). A constant,
# never derived from the machine: the data depends on it, and a build must not depend on the machine.
CHUNK_LEADS = 250_000
DEAL_CHUNK = 100_000  # deals written at a time with their stage history and activities
DUCKDB_MEMORY = "1GB"  # DuckDB's buffer pool while building (it spills to disk beyond that)

# ---------------------------------------------------------------------------------------------------
# Static vocabularies
# ---------------------------------------------------------------------------------------------------

# name, share of leads, score base, demo-request rate, CRM-qualified rate, conversion factor,
# organic (no campaign) weight relative to campaigns, cost per lead
CHANNELS: list[tuple[str, float, float, float, float, float, float, float]] = [
    ("paid_search", 0.21, 50, 0.065, 0.00, 1.00, 0.0, 110),
    ("paid_social", 0.24, 39, 0.030, 0.00, 0.65, 0.0, 55),
    ("events", 0.05, 60, 0.100, 0.08, 1.20, 0.0, 0),
    ("webinar", 0.08, 54, 0.120, 0.05, 1.00, 0.0, 60),
    ("content", 0.15, 45, 0.075, 0.00, 0.85, 0.35, 30),
    ("email", 0.08, 48, 0.050, 0.00, 0.80, 0.0, 12),
    ("partner", 0.05, 63, 0.050, 0.35, 1.30, 0.0, 140),
    ("referral", 0.04, 67, 0.050, 0.10, 1.50, 0.6, 90),
    ("outbound", 0.09, 52, 0.020, 0.00, 0.90, 1.0, 0),
]
CH_NAMES = [c[0] for c in CHANNELS]
CH = {name: i for i, name in enumerate(CH_NAMES)}

INDUSTRIES = ["software", "fintech", "healthcare", "retail", "manufacturing", "education", "media",
              "logistics", "public_sector", "other"]
INDUSTRY_P = [0.24, 0.11, 0.10, 0.10, 0.11, 0.06, 0.07, 0.08, 0.04, 0.09]
INDUSTRY_SCORE = [4, 4, 1, 0, 0, -5, -1, 0, -6, -3]
INDUSTRY_WORDS = {
    "software": ["Software", "Labs", "Technologies", "Cloud", "Systems"],
    "fintech": ["Pay", "Capital", "Finance", "Ledger", "Money"],
    "healthcare": ["Health", "Care", "Medical", "Clinics", "Bio"],
    "retail": ["Retail", "Stores", "Goods", "Market", "Outfitters"],
    "manufacturing": ["Industries", "Manufacturing", "Works", "Components", "Machines"],
    "education": ["Learning", "Academy", "Education", "School", "Campus"],
    "media": ["Media", "Studios", "Publishing", "Broadcast", "Digital"],
    "logistics": ["Logistics", "Freight", "Transport", "Shipping", "Supply"],
    "public_sector": ["Agency", "Council", "Authority", "Services", "Department"],
    "other": ["Group", "Partners", "Holdings", "Ventures", "Co"],
}
COUNTRIES = ["US", "CA", "BR", "GB", "DE", "FR", "NL", "SE", "ES", "AU", "SG", "IN"]
COUNTRY_P = [0.36, 0.05, 0.04, 0.12, 0.10, 0.06, 0.04, 0.03, 0.03, 0.06, 0.04, 0.07]
# Routing region of each country: 0 = EMEA, 1 = NA (the Americas and APAC are worked from NA).
COUNTRY_REGION = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 1])
LEGAL = {"US": ["Inc", "LLC", "Corp"], "CA": ["Inc", "Ltd"], "BR": ["Ltda", "SA"], "GB": ["Ltd", "plc"],
         "DE": ["GmbH", "AG"], "FR": ["SAS", "SA"], "NL": ["BV", "NV"], "SE": ["AB"], "ES": ["SL", "SA"],
         "AU": ["Pty Ltd"], "SG": ["Pte Ltd"], "IN": ["Pvt Ltd", "Ltd"]}
NAME_A = ["North", "Blue", "Bright", "Iron", "Silver", "Red", "Green", "Clear", "Swift", "True", "Peak",
          "Stone", "Oak", "River", "Summit", "Nova", "Apex", "Pine", "Cedar", "Harbor", "Atlas", "Vertex",
          "Lumen", "Orbit", "Quanta", "Sky", "Bold", "Polar", "Echo", "Prime", "Alder", "Birch", "Cobalt",
          "Delta", "Ember", "Falcon", "Granite", "Hollow", "Indigo", "Juniper", "Kestrel", "Linden",
          "Maple", "Nimbus", "Onyx", "Pioneer", "Quarry", "Rowan", "Sable", "Tidal", "Umber", "Vista",
          "Willow", "Zephyr", "Aurora", "Beacon", "Crest", "Drift", "Elm", "Fern"]
NAME_B = ["wind", "field", "bridge", "path", "point", "stone", "wave", "light", "works", "gate", "line",
          "scale", "forge", "craft", "sight", "brook", "ridge", "vale", "mark", "core", "shore", "wood",
          "port", "view", "spring", "star", "well", "land", "way", "rock"]
SENIORITY_P = [0.07, 0.11, 0.20, 0.30, 0.32]
SENIORITY_SCORE = [11, 8, 5, 0, -8]
REJECT_REASONS = ["no budget", "wrong persona", "student or job seeker", "competitor", "bad contact data",
                  "already a customer", "no response after attempts"]
REJECT_P_QUALITY = np.array([0.20, 0.12, 0.02, 0.07, 0.10, 0.10, 0.39])
REJECT_P_OTHER = np.array([0.15, 0.25, 0.10, 0.05, 0.15, 0.05, 0.25])
LOST_REASONS = ["no decision", "lost to competitor", "price", "timing", "no budget", "champion left",
                "went silent"]
LOST_P = np.array([0.22, 0.24, 0.16, 0.14, 0.10, 0.04, 0.10])
STAGES = list(DEAL_STAGES)  # indexable by the generator's stage codes
STAGE_MEDIAN_DAYS = np.array([8.0, 11.0, 13.0, 9.0])
LOST_AT_P = np.array([0.30, 0.31, 0.24, 0.15])

FIRST_NAMES = ["Anna", "Ben", "Chloe", "David", "Elena", "Felix", "Grace", "Hugo", "Isla", "Jonas",
               "Kara", "Liam", "Maya", "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara",
               "Umar", "Vera", "Will", "Ximena", "Yusuf", "Zoe", "Lars", "Ingrid", "Marco", "Sofia",
               "Tom", "Priya", "Jamal", "Emma", "Lucas", "Hannah", "Mateo", "Leah", "Oscar", "Nina"]
LAST_NAMES = ["Andersson", "Becker", "Carter", "Dubois", "Evans", "Fischer", "Garcia", "Hughes",
              "Ivanova", "Jensen", "Kowalski", "Lopez", "Meyer", "Nguyen", "O'Brien", "Patel", "Rossi",
              "Schmidt", "Turner", "Van Dijk", "Walsh", "Young", "Zimmermann", "Brooks", "Laurent",
              "Moreau", "Okafor", "Reyes", "Svensson", "Thompson"]

EVENT_NAMES = ["RevOps Summit", "SaaS Connect", "B2B Marketing Expo", "Pipeline Live", "Sales Leaders Forum",
               "Growth Conference", "CX World", "Data & Revenue Days"]
WEBINAR_TOPICS = ["Fixing the MQL handoff", "Forecasting without guesswork", "Lead scoring that sales trusts",
                  "Pipeline reviews that work", "From SLA to revenue", "Attribution for humans",
                  "Building a revenue team", "Speed to lead", "The shared funnel", "Quarter-end without panic",
                  "Account-based basics", "Benchmarks: B2B conversion"]
CONTENT_ASSETS = ["State of Revenue Ops Report", "Pipeline Playbook eBook", "Forecasting Benchmark",
                  "Lead Scoring Guide", "SaaS Metrics Cheat Sheet", "Buyer Journey Study",
                  "Sales & Marketing Alignment Kit", "Demand Gen Templates"]


# ---------------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------------

def _secs(moment: datetime) -> int:
    return int((moment - EPOCH).total_seconds())


def _day_of(moment: datetime | date) -> int:
    d = moment.date() if isinstance(moment, datetime) else moment
    return (d - EPOCH.date()).days


def _ts(seconds: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Epoch seconds → datetime64[us]; NaT where not valid."""
    out = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]").astype("datetime64[us]")
    if valid is not None:
        out[~valid] = np.datetime64("NaT")
    return out


def _dates(days: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    out = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    if valid is not None:
        out[~valid] = np.datetime64("NaT")
    return out


def _categorical(rng: np.random.Generator, p: np.ndarray) -> np.ndarray:
    """One draw per row of a probability matrix (rows need not be normalised)."""
    cum = np.cumsum(p, axis=1)
    u = rng.random(len(p)) * cum[:, -1]
    return np.minimum((u[:, None] >= cum).sum(axis=1), p.shape[1] - 1)


def _categorical_rows(rng: np.random.Generator, table: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """One draw per entry of `rows` from the (unnormalised) weights table[row], without materialising
    a rows × columns matrix (memory stays linear in len(rows))."""
    cum = np.cumsum(table, axis=1)
    u = rng.random(len(rows)) * cum[rows, -1]
    out = np.zeros(len(rows), dtype=np.int64)
    for j in range(table.shape[1] - 1):
        out += cum[rows, j] <= u
    return out


def _lognormal_days(rng: np.random.Generator, median_days, sigma: float, n: int) -> np.ndarray:
    return (np.asarray(median_days) * DAY * np.exp(rng.normal(0.0, sigma, n))).astype(np.int64)


def _office_hours(rng: np.random.Generator, t: np.ndarray, offset_hours: np.ndarray, p: float) -> np.ndarray:
    """Move moments outside 08:00-18:00 local (or on a weekend) to the next working morning, for a
    share `p` of them (some reps do work evenings). Never moves a moment earlier."""
    n = len(t)
    local = t + offset_hours * HOUR
    day, sec = np.divmod(local, DAY)
    hour = sec / HOUR
    outside = (hour < 8) | (hour >= 18)
    new_day = np.where(hour >= 18, day + 1, day)
    new_sec = np.where(outside, 8 * HOUR + rng.integers(0, 100 * MIN, n), sec)
    dow = (new_day + 3) % 7  # 1970-01-01 was a Thursday; 0 = Monday
    new_day = new_day + np.where(dow == 5, 2, np.where(dow == 6, 1, 0))
    moved = new_day * DAY + new_sec - offset_hours * HOUR
    return np.where(rng.random(n) < p, moved, t)


def _group_positions(counts: np.ndarray) -> np.ndarray:
    """For rows repeated `counts` times: each row's position within its group (0, 1, ...)."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def _nice(value: float, step: float = 10_000) -> float:
    return float(max(step, round(value / step) * step))


def _next_period(period: Period) -> Period:
    return period_containing(period.end)



def _sql_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _lookup(column: str, values: list[str] | tuple[str, ...]) -> str:
    """SQL: the value an integer code (0, 1, ...) stands for; NULL for the code -1."""
    return f"list_extract({_sql_list(values)}, {column} + 1)"


def _id(column: str, prefix: str, width: int, *, nullable: bool = False) -> str:
    """SQL: the number in `column` as an id, prefix + zero-padded to `width` digits (never cut: a number
    that outgrows the width keeps all its digits); with nullable, NULL for numbers below 1."""
    sql = (f"CASE WHEN {column} < {10 ** width} THEN '{prefix}' || lpad(CAST({column} AS VARCHAR), {width}, '0') "
           f"ELSE '{prefix}' || CAST({column} AS VARCHAR) END")
    return f"CASE WHEN {column} > 0 THEN {sql} END" if nullable else sql


def _arrow(values: Any) -> pa.Array:
    if isinstance(values, pa.Array):
        return values
    values = np.asarray(values)
    if values.dtype.kind == "M":  # NaT is NULL
        return pa.array(values, from_pandas=True)
    return pa.array(values)


def _table(columns: dict[str, Any]) -> pa.Table:
    """Numpy (or arrow) columns as one arrow table, which DuckDB scans in place."""
    return pa.table({name: _arrow(values) for name, values in columns.items()})


def _activity_table(lead_no: np.ndarray, deal_no: np.ndarray, rep: np.ndarray, when: np.ndarray,
                    kind: np.ndarray) -> pa.Table:
    """Activities to write (lead and deal numbers 1-based, 0 for none); numbered when written."""
    return _table({"lead_no": lead_no, "deal_no": deal_no, "rep": rep, "occurred_at": _ts(when), "kind": kind})


def _insert(con: Any, table: str, rows: pa.Table | dict[str, Any], select: str) -> None:
    """One INSERT of `rows`, the select list turning their codes and numbers into values."""
    if isinstance(rows, dict):
        rows = _table(rows)
    if rows.num_rows == 0:
        return
    con.register("_demo_rows", rows)
    try:
        con.execute(f"INSERT INTO {table} SELECT {select} FROM _demo_rows")
    finally:
        con.unregister("_demo_rows")


def _pipelined(items: Iterable[Any], prepare: Callable[[Any], Any], write: Callable[[Any], None]) -> None:
    """write(prepare(item)) for each item in order, preparing the next item in a worker thread while
    this one is written (numpy and DuckDB both let go of the GIL for their heavy work). At most two items
    are in memory at a time (the one being written, the next being prepared); prepare must only read
    shared state; write runs in this thread, in order, so the result does not depend on the timing."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-prepare") as pool:
        pending: Future | None = None
        for item in items:
            ahead = pool.submit(prepare, item)
            if pending is not None:
                write(pending.result())
            pending = ahead
        if pending is not None:
            write(pending.result())


# ---------------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------------

class _Slice(NamedTuple):
    """One chunk of the lead plan: the hour bins [first_hour, end_hour) of the day grid."""
    number: int  # the chunk's random stream is (seed, 1, number)
    first_hour: int
    end_hour: int
    counts: np.ndarray  # leads of each channel created in it
    past: bool  # before as-of (written) or after it (simulated for the deals and goals only)
    first_lead: int  # number (0-based) of its first lead, when before as-of


class _Gen:
    """The world (`setup`), then the leads chunk by chunk (`prepare_chunk`, `write_chunk`), then the deals
    (`deals`, `prepare_deals`, `write_deals`). Between chunks it holds only the world, running totals and
    one small row per future deal (see the module docstring)."""

    def __init__(self, leads: int, seed: int, as_of: datetime):
        self.n_leads = int(leads)
        self.seed = int(seed)
        self.as_of = as_of
        self.rng = self.stream(0)  # the world: calendar, reps, campaigns, companies, plan
        self.as_of_s = _secs(as_of)
        self.as_of_day = _day_of(as_of)
        self.first_day = self.as_of_day - HISTORY_DAYS  # first lead day (midnight)
        self.grid_day0 = self.first_day - LEAD_IN_DAYS  # day grid start (campaigns, touches)
        self.current_q = period_containing(as_of)
        self.next_q = _next_period(self.current_q)
        self.end_day = _day_of(self.next_q.end)  # simulation runs to the end of the next quarter
        self.n_days = self.end_day - self.grid_day0
        # ids: widths fixed before the first row is written (activities: at most 10 per lead, plus the
        # deals' own; a number that outgrows its width keeps all its digits, see _id)
        self.lead_width = max(7, len(str(self.n_leads)))
        self.act_width = max(8, len(str(10 * self.n_leads)))
        # running state between chunks
        self.leads_done = 0  # leads before as-of written so far (the next lead number)
        self.acts_done = 0  # activities written so far (the next activity number)
        self.deal_width = 6  # set by deals(), once the number of deals at as-of is known
        self.recent_quality = 0  # quality leads in the trailing year (the delivery commitment)
        self.seeds: list[dict[str, np.ndarray]] = []  # one row per lead that becomes a deal, by chunk

    def stream(self, *key: int) -> np.random.Generator:
        """An independent random stream for one part of the build, the same whatever ran before it."""
        return np.random.default_rng([self.seed, *key])

    def setup(self) -> None:
        self.calendar()
        self.reps()
        self.campaigns()
        self.companies()
        self.plan()

    def calendar(self) -> None:
        rng = self.rng
        days = self.grid_day0 + np.arange(self.n_days)
        d64 = days.astype("datetime64[D]")
        month = d64.astype("datetime64[M]").astype(np.int64) % 12 + 1
        dom = (d64 - d64.astype("datetime64[M]")).astype(np.int64) + 1
        dow = (days + 3) % 7
        weekday = np.array([1.04, 1.12, 1.12, 1.06, 0.90, 0.26, 0.20])[dow]
        season = np.ones(self.n_days)
        season[month == 8] = 0.74
        season[month == 7] = 0.92
        season[(month == 12) & (dom >= 20)] = 0.45
        season[(month == 1) & (dom <= 3)] = 0.55
        growth = np.exp(np.log(1.25) * (days - self.as_of_day) / HISTORY_DAYS)
        noise = rng.gamma(50.0, 1 / 50.0, self.n_days)
        self.day_w = weekday * season * growth * noise
        self.day_w[days < self.first_day] = 0.0
        self.days = days
        self.dow = dow
        h = np.arange(24)
        self.hour_w = 0.12 + np.exp(-(((h - 14.5) / 4.6) ** 2))

    # --- reps -----------------------------------------------------------------------------------
    def reps(self) -> None:
        rng = self.rng
        sizes = {"sdr-emea": int(rng.integers(5, 8)), "sdr-na": int(rng.integers(5, 8)),
                 "ae-emea": int(rng.integers(4, 6)), "ae-na": int(rng.integers(4, 6)),
                 "marketing": int(rng.integers(3, 5))}
        teams = [t for t, k in sizes.items() for _ in range(k)]
        n = len(teams)
        pairs = rng.choice(len(FIRST_NAMES) * len(LAST_NAMES), n, replace=False)
        names = [f"{FIRST_NAMES[p // len(LAST_NAMES)]} {LAST_NAMES[p % len(LAST_NAMES)]}" for p in pairs]
        region = [None if t == "marketing" else ("EMEA" if t.endswith("emea") else "NA") for t in teams]
        self.rep_ids = [f"R{i + 1:03d}" for i in range(n)]
        self.rep_team = np.array(teams)
        self.rep_region = np.array([0 if r == "EMEA" else 1 for r in region])
        self._zone_offsets()
        sdr = np.flatnonzero(np.char.startswith(self.rep_team.astype(str), "sdr"))
        ae = np.flatnonzero(np.char.startswith(self.rep_team.astype(str), "ae"))
        self.sdr_by_region = [sdr[self.rep_region[sdr] == r] for r in (0, 1)]
        self.ae_by_region = [ae[self.rep_region[ae] == r] for r in (0, 1)]
        self.rep_share = rng.uniform(0.7, 1.3, n)  # how many leads each SDR gets routed
        # Response speed: per-SDR median hours to first touch, spread from ~0.5 h to ~12 h; the fastest SDRs
        # call many leads within minutes, the slowest leave more of them for days.
        medians = np.exp(np.linspace(np.log(0.5), np.log(12.0), len(sdr))) * np.exp(rng.normal(0, 0.08, len(sdr)))
        self.rep_median_h = np.zeros(n)
        self.rep_median_h[sdr] = rng.permutation(medians)
        speed = np.log(self.rep_median_h[sdr] / 12.0) / np.log(0.5 / 12.0)  # 1 the fastest SDR, 0 the slowest
        self.rep_fast = np.zeros(n)
        self.rep_fast[sdr] = 0.02 + 0.30 * speed ** 2
        self.rep_tail = np.zeros(n)
        self.rep_tail[sdr] = 0.03 + 0.07 * (1 - speed)
        # Diligence: mean extra attempts after the first (some reps under-work their leads).
        self.rep_diligence = np.zeros(n)
        self.rep_diligence[sdr] = rng.permutation(np.linspace(0.8, 3.8, len(sdr)))
        self.reps_rows = {"rep_id": np.array(self.rep_ids, dtype=object), "name": np.array(names, dtype=object),
                          "team": np.array(teams, dtype=object), "region": np.array(region, dtype=object)}

    def _zone_offsets(self) -> None:
        """Hours from UTC to each region's office, per day (at local noon, so a DST change moves office
        hours from the first working day after it), over the whole simulated time and a year beyond."""
        self.offset_day0 = self.grid_day0
        days = np.arange(self.grid_day0, self.end_day + 400)
        noon = [datetime.combine(EPOCH.date() + timedelta(days=int(d)), clock_time(12)) for d in days]
        self.zone_offset = np.array([[int((t.replace(tzinfo=ZoneInfo(z)).utcoffset() or timedelta()).total_seconds())
                                      // HOUR for t in noon] for z in REGION_ZONES], dtype=np.int64)

    def offsets(self, region: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Hours from UTC to the office of `region` (0 EMEA, 1 NA) on the day of each moment `t`."""
        day = np.clip(t // DAY - self.offset_day0, 0, self.zone_offset.shape[1] - 1)
        return self.zone_offset[region, day]

    # --- campaigns ------------------------------------------------------------------------------
    def campaigns(self) -> None:
        rng = self.rng
        start = (EPOCH + timedelta(days=int(self.grid_day0))).date()
        end = (EPOCH + timedelta(days=int(self.end_day))).date()
        rows: list[tuple[str, str, int, int, float]] = []  # name, channel, first day, last day, intensity

        def add(name: str, channel: str, first: date, last: date, intensity: float) -> None:
            rows.append((name, channel, _day_of(first), _day_of(last), intensity))

        halves = []
        y = start.year
        while date(y, 1, 1) <= end:
            halves += [(f"H1 {y}", date(y, 1, 1), date(y, 6, 30)), (f"H2 {y}", date(y, 7, 1), date(y, 12, 31))]
            y += 1
        halves = [h for h in halves if h[2] >= start and h[1] < end]
        years = sorted({h[1].year for h in halves})
        for label, a, b in halves:
            add(f"Paid Search – Generic {label}", "paid_search", a, b, rng.uniform(0.95, 1.1))
            add(f"LinkedIn Ads – {label}", "paid_social", a, b, rng.uniform(0.75, 0.9))
        for yr in years:
            add(f"Paid Search – Brand {yr}", "paid_search", date(yr, 1, 1), date(yr, 12, 31), rng.uniform(0.6, 0.7))
            add(f"Meta Ads – {yr}", "paid_social", date(yr, 1, 1), date(yr, 12, 31), rng.uniform(0.95, 1.1))
        # always-on programmes, running since before the history starts
        add("Partner Program", "partner", date(start.year - 1, 1, 1), end, 1.0)
        add("Customer Referral Program", "referral", date(start.year - 1, 4, 1), end, 1.0)
        add("Newsletter & Nurture", "email", date(start.year - 1, 9, 1), end, 1.0)
        # Content assets: launched every ~4 months, each promoted for ~6 months.
        d = start + timedelta(days=int(rng.integers(0, 60)))
        k = int(rng.integers(0, len(CONTENT_ASSETS)))
        while d < end:
            add(f"{CONTENT_ASSETS[k % len(CONTENT_ASSETS)]} {d.year}", "content", d,
                d + timedelta(days=int(rng.integers(150, 200))), rng.uniform(0.7, 1.3))
            d += timedelta(days=int(rng.integers(100, 140)))
            k += 1
        # Events: a trade show every ~11-13 weeks, Tuesday to Thursday.
        d = start + timedelta(days=int(rng.integers(10, 50)))
        k = int(rng.integers(0, len(EVENT_NAMES)))
        while d < end:
            tue = d + timedelta(days=(1 - d.weekday()) % 7)
            if not (tue.month == 8 or (tue.month == 12 and tue.day > 15)):
                # promotion the week before, the show, and badge-scan follow-up the week after
                add(f"{EVENT_NAMES[k % len(EVENT_NAMES)]} {tue.year}", "events", tue - timedelta(days=7),
                    tue + timedelta(days=8),
                    rng.uniform(0.85, 1.2))
                k += 1
            d += timedelta(days=int(rng.integers(75, 92)))
        # Webinars: every ~2 months; registrations run four weeks up to the Thursday broadcast.
        d = start + timedelta(days=int(rng.integers(5, 40)))
        k = int(rng.integers(0, len(WEBINAR_TOPICS)))
        while d < end:
            thu = d + timedelta(days=(3 - d.weekday()) % 7)
            add(f"Webinar: {WEBINAR_TOPICS[k % len(WEBINAR_TOPICS)]}", "webinar", thu - timedelta(days=27), thu,
                rng.uniform(0.85, 1.2))
            k += 1
            d += timedelta(days=int(rng.integers(65, 85)))

        self.camp_name = [r[0] for r in rows]
        self.camp_channel = np.array([CH[r[1]] for r in rows])
        self.camp_first = np.array([r[2] for r in rows])
        self.camp_last = np.array([r[3] for r in rows])
        intensity = np.array([r[4] for r in rows])
        # activity matrix over the day grid: day × campaign
        days = self.days[:, None]
        self.active = ((days >= self.camp_first[None, :]) & (days <= self.camp_last[None, :])) * intensity[None, :]
        self.active_any = self.active.sum(axis=1) > 0
        # output numbers of the campaigns shown (running at some point up to as-of), fixed before any lead
        # is written: by start day, channel and name
        shown = np.flatnonzero((self.camp_first <= self.as_of_day) & (self.camp_last >= self.grid_day0))
        names = np.array(self.camp_name, dtype=object)
        self.camp_order = shown[np.lexsort((names[shown].astype(str), self.camp_channel[shown],
                                            self.camp_first[shown]))]
        self.camp_no = np.full(len(self.camp_name), -1)
        self.camp_no[self.camp_order] = np.arange(len(self.camp_order))
        self.camp_width = max(3, len(str(len(self.camp_order))))
        self.camp_leads = np.zeros(len(self.camp_name), dtype=np.int64)  # leads before as-of, first touch


    # --- companies ------------------------------------------------------------------------------
    def companies(self) -> None:
        """A pool of companies (larger ones produce more leads), shared by every chunk."""
        rng = self.rng
        n_comp = int(np.clip(self.n_leads // 3, 300, 60_000))
        self.comp_country = rng.choice(len(COUNTRIES), n_comp, p=COUNTRY_P)
        self.comp_industry = rng.choice(len(INDUSTRIES), n_comp, p=INDUSTRY_P)
        self.comp_emp = np.clip(np.exp(rng.normal(np.log(180), 1.6, n_comp)), 2, 250_000).astype(np.int64)
        self.comp_emp_known = rng.random(n_comp) > 0.04
        self.comp_industry_known = rng.random(n_comp) > 0.03
        a = rng.integers(0, len(NAME_A), n_comp)
        b = rng.integers(0, len(NAME_B), n_comp)
        w = rng.integers(0, 5, n_comp)
        legal_pick = rng.integers(0, 3, n_comp)
        names = np.array([
            f"{NAME_A[a[i]]}{NAME_B[b[i]]} {INDUSTRY_WORDS[INDUSTRIES[self.comp_industry[i]]][w[i]]} "
            f"{LEGAL[COUNTRIES[self.comp_country[i]]][legal_pick[i] % len(LEGAL[COUNTRIES[self.comp_country[i]]])]}"
            for i in range(n_comp)
        ], dtype=object)
        # names travel to DuckDB as a dictionary: distinct names, and each company's code among them
        distinct, self.comp_code = np.unique(names, return_inverse=True)
        self.comp_names = pa.array(distinct, type=pa.string())
        self.comp_w = self.comp_emp ** 0.3 * np.exp(rng.normal(0, 0.5, n_comp))
        self.comp_p = self.comp_w / self.comp_w.sum()

    def _names(self, company: np.ndarray, known: np.ndarray) -> pa.DictionaryArray:
        codes = pa.array(self.comp_code[company].astype(np.int32), mask=~known)
        return pa.DictionaryArray.from_arrays(codes, self.comp_names)

    # --- the lead plan --------------------------------------------------------------------------
    def plan(self) -> None:
        """Hourly lead weights per channel, cut into time slices of about CHUNK_LEADS leads, and how many
        leads of each channel each slice gets: exactly n_leads before as-of, Poisson after it."""
        rng = self.rng
        n_ch = len(CHANNELS)
        shares = np.array([c[1] for c in CHANNELS])
        organic = np.array([c[6] for c in CHANNELS])
        past_days = self.days < self.as_of_day
        # per channel and day: campaign intensity (+ organic), normalised to mean 1 over the past
        ch_day = np.zeros((n_ch, self.n_days))
        for c in range(n_ch):
            cols = self.camp_channel == c
            inten = self.active[:, cols].sum(axis=1)
            if c == CH["content"]:  # overlapping assets share the organic search and social reach
                inten = np.where(inten > 0, inten / np.maximum((self.active[:, cols] > 0).sum(axis=1), 1), 0.0)
            inten = inten + organic[c]
            mean = inten[past_days & (self.day_w > 0)].mean()
            ch_day[c] = shares[c] * inten / (mean if mean > 0 else 1.0) * self.day_w
        # hourly weights: the last hours of as-of's day and the future are split off exactly
        self.hourly = (ch_day[:, :, None] * self.hour_w[None, None, :]).reshape(n_ch, -1)
        n_hours = self.hourly.shape[1]
        cut_h = int((self.as_of_s - self.grid_day0 * DAY) // HOUR)  # first hour bin not wholly before as-of
        per_hour = self.hourly.sum(axis=0)
        past_mass = float(per_hour[:cut_h].sum())
        future_leads = self.n_leads * float(per_hour[cut_h:].sum()) / past_mass
        self.slices: list[_Slice] = []
        for lo, hi, expected, past in ((0, cut_h, self.n_leads, True), (cut_h, n_hours, future_leads, False)):
            k = max(1, math.ceil(expected / CHUNK_LEADS))
            cum = np.cumsum(per_hour[lo:hi])
            inner = lo + np.searchsorted(cum, cum[-1] * np.arange(1, k) / k, side="right")
            edges = np.unique(np.concatenate([[lo], inner, [hi]]))
            mass = np.stack([self.hourly[:, a:b].sum(axis=1) for a, b in zip(edges[:-1], edges[1:])])
            if past:  # exactly n_leads before as-of, spread over slices and channels by their weight
                counts = rng.multinomial(self.n_leads, (mass / mass.sum()).ravel()).reshape(mass.shape)
            else:
                counts = rng.poisson(self.n_leads * mass / past_mass)
            first_lead = 0
            for (a, b), row in zip(zip(edges[:-1], edges[1:]), counts):
                self.slices.append(_Slice(len(self.slices), int(a), int(b), row, past, first_lead if past else -1))
                first_lead += int(row.sum())
        self.n_future = int(sum(s.counts.sum() for s in self.slices if not s.past))

    # --- one chunk of leads ---------------------------------------------------------------------
    def prepare_chunk(self, s: _Slice) -> dict[str, Any]:
        """The slice's leads, sorted by creation, with their whole fate, and (before as-of) the rows to write.
        Reads only the world, so the next chunk can be prepared while this one is written."""
        rng = self.stream(1, s.number)
        created_parts, channel_parts = [], []
        for c, k in enumerate(s.counts):
            if k == 0:
                continue
            w = self.hourly[c, s.first_hour:s.end_hour]
            h = s.first_hour + rng.choice(s.end_hour - s.first_hour, k, p=w / w.sum())
            stamp = self.grid_day0 * DAY + h * HOUR + rng.integers(0, HOUR, k)
            if not s.past:  # the hour as-of falls in: the simulated future starts at as-of itself
                stamp = np.maximum(stamp, self.as_of_s)
            created_parts.append(stamp)
            channel_parts.append(np.full(k, c))
        created = np.concatenate(created_parts) if created_parts else np.zeros(0, dtype=np.int64)
        channel = np.concatenate(channel_parts) if channel_parts else np.zeros(0, dtype=np.int64)
        order = np.argsort(created, kind="stable")
        L, A = self._fates(rng, created[order], channel[order], s.past)
        rows = np.flatnonzero(L["wants_deal"])
        out: dict[str, Any] = {"slice": s, "leads": len(L["created"]), "seeds": dict(
            lead=(s.first_lead + rows) if s.past else np.full(len(rows), -1),
            created=L["deal_created"][rows], company=L["company"][rows].astype(np.int32),
            has_company=L["has_company"][rows], region=L["region"][rows].astype(np.int8),
            channel=L["channel"][rows].astype(np.int8), quality=L["quality"][rows])}
        if s.past:
            out.update(self._lead_rows(rng, s.first_lead, L, A))
        return out

    def _fates(self, rng: np.random.Generator, created: np.ndarray, channel: np.ndarray,
               past: bool) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        n = len(created)
        n_ch = len(CHANNELS)
        organic = np.array([c[6] for c in CHANNELS])
        day_idx = (created // DAY - self.grid_day0).astype(np.int64)

        # campaign of the lead: one of its channel's campaigns active that day (or organic)
        campaign = np.full(n, -1)
        for c in range(n_ch):
            rows = np.flatnonzero(channel == c)
            cols = np.flatnonzero(self.camp_channel == c)
            if len(rows) == 0 or len(cols) == 0:
                continue
            p = np.concatenate([np.full((len(rows), 1), organic[c]), self.active[day_idx[rows]][:, cols]], axis=1)
            pick = _categorical(rng, p)
            campaign[rows] = np.where(pick == 0, -1, cols[np.maximum(pick - 1, 0)])

        # company from the pool
        company = rng.choice(len(self.comp_p), n, p=self.comp_p)
        has_company = rng.random(n) > 0.01
        country = self.comp_country[company]
        industry = self.comp_industry[company]
        emp = self.comp_emp[company]
        emp_known = self.comp_emp_known[company] & has_company
        industry_known = self.comp_industry_known[company] & has_company
        country_known = has_company
        seniority = rng.choice(5, n, p=SENIORITY_P)
        seniority_known = rng.random(n) > 0.03

        base = np.array([c[2] for c in CHANNELS])[channel]
        score = (base
                 + np.where(seniority_known, np.array(SENIORITY_SCORE)[seniority], -3)
                 + np.where(emp_known, 5.0 * (np.log10(np.maximum(emp, 1)) - 2.2), 0.0)
                 + np.where(industry_known, np.array(INDUSTRY_SCORE)[industry], -2)
                 + rng.normal(0, 13, n))
        score = np.clip(np.round(score), 0, 100).astype(np.int64)
        demo_p = np.array([c[3] for c in CHANNELS])[channel] * np.where(score >= 60, 1.5, 0.75)
        demo = rng.random(n) < demo_p
        mql = rng.random(n) < np.array([c[4] for c in CHANNELS])[channel]
        mql_at = created + np.clip(np.exp(rng.normal(np.log(20 * MIN), 1.0, n)), 2 * MIN, 3 * HOUR).astype(np.int64)
        if past:
            mql_at = np.minimum(mql_at, self.as_of_s)
        quality = (score >= 60) | demo | mql
        conv = np.array([c[5] for c in CHANNELS])[channel]

        # routing: an SDR of the lead's region; weaker leads are more often left unrouted
        region = np.where(country_known, COUNTRY_REGION[country], rng.integers(0, 2, n))
        owned = rng.random(n) < np.where(quality, 0.98, 0.89)
        owner = np.full(n, -1)
        for r in (0, 1):
            reps = self.sdr_by_region[r]
            rows = np.flatnonzero(owned & (region == r))
            share = self.rep_share[reps]
            owner[rows] = reps[rng.choice(len(reps), len(rows), p=share / share.sum())]
        route_median, route_sigma, by_hand = (np.array([ROUTING[c][k] for c in CH_NAMES])[channel] for k in range(3))
        routing = np.clip(np.exp(np.log(route_median * MIN) + rng.normal(0, 1.0, n) * route_sigma),
                          MIN, 5 * DAY).astype(np.int64)
        assigned = created + routing
        manual = by_hand.astype(bool)
        assigned[manual] = _office_hours(rng, assigned[manual], self.offsets(region[manual], assigned[manual]), 0.95)
        routing = assigned - created
        has_assigned = owned & (rng.random(n) > 0.03)
        if past:
            not_yet = has_assigned & (assigned > self.as_of_s)  # routed only after as-of: not yet owned
            owner[not_yet] = -1
            owned &= ~not_yet
            has_assigned &= ~not_yet
        clock = np.where(has_assigned, assigned, created)

        # response: rep speed × lead heat, then office hours
        touched = owned & (rng.random(n) < np.where(quality, 0.975, 0.80))
        o = np.maximum(owner, 0)
        delay_h = (self.rep_median_h[o] * np.exp(rng.normal(0, 0.85, n))
                   * np.where(quality, 1.0, 1.8) * np.where(demo, 0.5, 1.0))
        # within minutes: the SDR on the phone (and demo requests, routed as an inbound call); a tail over days
        lane = rng.random(n)
        fast = lane < self.rep_fast[o] + np.where(demo, 0.25, 0.0)
        tail = ~fast & (lane > 1 - self.rep_tail[o] * np.where(quality, 1.0, 1.5))
        fast_h = np.clip(np.exp(rng.normal(np.log(3.0), 0.6, n)), 0.5, 20.0) / 60
        tail_h = np.exp(rng.normal(np.log(72.0), 0.5, n))
        delay_h = np.where(fast, fast_h, np.where(tail, delay_h + tail_h, delay_h))
        first = clock + np.maximum(delay_h * HOUR, 30).astype(np.int64)
        rep_region = self.rep_region[o]
        first = _office_hours(rng, first, self.offsets(rep_region, first), 0.8)

        # attempts: 1 + Poisson(diligence), fewer for weaker leads, spaced ~1.4 days apart
        n_att = np.where(touched, 1 + np.minimum(rng.poisson(self.rep_diligence[o] * np.where(quality, 1.0, 0.55)), 7), 0)
        att_lead = np.repeat(np.arange(n), n_att)
        pos = _group_positions(n_att)
        gap = np.where(pos == 0, 0, (rng.exponential(1.4, len(att_lead)) * DAY).astype(np.int64) + HOUR)
        offs = np.cumsum(gap)
        offs -= offs[np.repeat(np.cumsum(n_att) - n_att, n_att)]  # back to 0 at each lead's first attempt
        att_time = first[att_lead] + offs
        att_time = np.where(pos == 0, att_time,
                            _office_hours(rng, att_time, self.offsets(rep_region[att_lead], att_time), 0.85))
        last_att = np.full(n, -1, dtype=np.int64)
        np.maximum.at(last_att, att_lead, att_time)
        att_kind = np.where(rng.random(len(att_lead)) < np.where(demo[att_lead] & (pos == 0), 0.35, 0.04), 2,
                            np.where(rng.random(len(att_lead)) < 0.52, 0, 1))  # 0 call, 1 email, 2 meeting

        # decision by the SDR after the attempts; acceptance follows quality and channel
        decision = last_att + _lognormal_days(rng, 1.0, 0.8, n)
        p_acc = np.where(quality, np.minimum(0.46 * conv * np.where(demo, 1.25, 1.0), 0.9), 0.07 * conv)
        p_rej = np.where(quality, 0.30, 0.58)
        u = rng.random(n)
        outcome = np.where(u < p_acc, 1, np.where(u < p_acc + p_rej, 2, 3))  # 1 accepted, 2 rejected, 3 recycled
        status = np.zeros(n, dtype=np.int64)  # 0 open, 1 accepted, 2 rejected, 3 recycled, 4 converted
        decided = touched & (decision <= self.as_of_s)
        status[decided] = outcome[decided]
        # unrouted leads: some auto-rejected (junk) two days after arrival
        auto = ~owned & (rng.random(n) < 0.4) & (created + 2 * DAY <= self.as_of_s)
        status[auto] = 2
        # rejection reasons (paid social brings more students and wrong personas)
        rp = np.where(quality[:, None], REJECT_P_QUALITY[None, :], REJECT_P_OTHER[None, :])
        social = channel == CH["paid_social"]
        rp[social, 1] *= 1.6
        rp[social, 2] *= 2.5
        rp[auto, :] = np.array([0, 0, 0.35, 0.1, 0.55, 0, 0])[None, :]
        reason = _categorical(rng, rp)

        # a few pre-assignment touches (before the clock starts)
        pre = owned & has_assigned & (routing > 10 * MIN) & (rng.random(n) < 0.04)
        pre_time = created + (routing * rng.uniform(0.2, 0.9, n)).astype(np.int64)

        # deals from accepted leads
        p_deal = np.where(quality, np.minimum(0.42 * np.sqrt(conv), 0.95), 0.22)
        wants_deal = (outcome == 1) & touched & (rng.random(n) < p_deal)
        deal_created = decision + _lognormal_days(rng, 5.0, 0.8, n) + HOUR

        L = dict(created=created, channel=channel, campaign=campaign, company=company, has_company=has_company,
                 country=country, country_known=country_known, industry=industry, industry_known=industry_known,
                 emp=emp, emp_known=emp_known, seniority=seniority, seniority_known=seniority_known, score=score,
                 demo=demo, mql=mql, mql_at=mql_at, quality=quality, conv=conv, region=region, owner=owner,
                 has_assigned=has_assigned, assigned=assigned, touched=touched, first=first, status=status,
                 reason=reason, pre=pre, pre_time=pre_time, wants_deal=wants_deal, deal_created=deal_created,
                 decision=decision)
        A = dict(lead=att_lead, time=att_time, kind=att_kind)
        return L, A

    # --- writing a chunk before as-of -----------------------------------------------------------
    def _lead_rows(self, rng: np.random.Generator, first_lead: int, L: dict[str, Any],
                   A: dict[str, np.ndarray]) -> dict[str, Any]:
        """A chunk's rows before as-of: its leads, their activities (numbered when written) and campaign
        touches, as arrow tables; and its share of the running totals."""
        as_of = self.as_of_s
        n = len(L["created"])
        lead_no = first_lead + np.arange(n)  # 0-based; ids follow creation across chunks
        has_deal = L["wants_deal"] & (L["deal_created"] <= as_of)  # a deal that exists at as-of
        status = np.where(has_deal, 4, L["status"])
        campaign = L["campaign"]
        with_campaign = campaign >= 0
        out: dict[str, Any] = {
            "camp_leads": np.bincount(campaign[with_campaign], minlength=len(self.camp_leads)),
            "recent_quality": int((L["quality"] & (L["created"] >= as_of - 365 * DAY)).sum()),
        }
        out_campaign = np.where(with_campaign, self.camp_no[np.maximum(campaign, 0)] + 1, 0)
        assert (out_campaign[with_campaign] > 0).all()
        out["lead_rows"] = _table({
            "lead_no": lead_no + 1,
            "created_at": _ts(L["created"]),
            "source": L["channel"],
            "campaign_no": out_campaign,
            "company": self._names(L["company"], L["has_company"]),
            "industry": np.where(L["industry_known"], L["industry"], -1),
            "employees": np.where(L["emp_known"], L["emp"], -1),
            "country": np.where(L["country_known"], L["country"], -1),
            "seniority": np.where(L["seniority_known"], L["seniority"], -1),
            "score": L["score"],
            "demo_requested": L["demo"],
            "mql_at": _ts(L["mql_at"], L["mql"]),
            "owner": L["owner"],
            "assigned_at": _ts(L["assigned"], L["has_assigned"]),
            "status": status,
            "reason": np.where(status == 2, L["reason"], -1),
        })

        # activities: SDR attempts up to as-of, pre-assignment emails, and a qualification meeting when the
        # SDR accepts the lead
        keep = A["time"] <= as_of
        a_lead = A["lead"][keep]
        pre = np.flatnonzero(L["pre"] & (L["pre_time"] <= as_of))
        acc = np.flatnonzero(L["touched"] & (L["status"] == 1) & (L["decision"] <= as_of))
        acc_time = L["decision"][acc] - (rng.uniform(0.05, 0.8, len(acc)) * DAY).astype(np.int64)
        acc_time = np.maximum(acc_time, L["first"][acc])
        lead = np.concatenate([a_lead, pre, acc])
        when = np.concatenate([A["time"][keep], L["pre_time"][pre], acc_time])
        kind = np.concatenate([A["kind"][keep], np.full(len(pre), 1), np.full(len(acc), 2)])
        order = np.lexsort((lead, when))
        out["activity_rows"] = _activity_table(lead_no[lead[order]] + 1, np.zeros(len(order), dtype=np.int64),
                                               L["owner"][lead[order]], when[order], kind[order])

        # campaign touches: the first touch at creation, and more for many leads, between 60 days before
        # creation and their deal (or as-of)
        first_rows = np.flatnonzero(with_campaign)
        more = rng.random(n) < np.where(has_deal, 0.8, 0.45)
        n_more = np.where(more, 1 + rng.binomial(3, 0.35, n), 0)
        rows = np.repeat(np.arange(n), n_more)
        lo = L["created"][rows] - 60 * DAY
        hi = np.where(has_deal, L["deal_created"], as_of)[rows]
        t = lo + (rng.random(len(rows)) * (hi - lo)).astype(np.int64)
        day = t // DAY - self.grid_day0
        ok = (day >= 0) & (day < self.n_days)
        rows, t, day = rows[ok], t[ok], day[ok]
        ok = self.active_any[day]
        rows, t, day = rows[ok], t[ok], day[ok]
        camp = _categorical_rows(rng, self.active, day)
        t_lead = np.concatenate([first_rows, rows])
        t_camp = self.camp_no[np.concatenate([campaign[first_rows], camp])] + 1
        t_time = np.concatenate([L["created"][first_rows], t])
        order = np.lexsort((t_camp, t_time, t_lead))
        t_lead, t_camp, t_time = t_lead[order], t_camp[order], t_time[order]
        distinct = np.ones(len(order), dtype=bool)
        distinct[1:] = (np.diff(t_lead) != 0) | (np.diff(t_time) != 0) | (np.diff(t_camp) != 0)
        assert (t_camp > 0).all()
        out["touch_rows"] = _table({
            "lead_no": lead_no[t_lead[distinct]] + 1,
            "campaign_no": t_camp[distinct],
            "touched_at": _ts(t_time[distinct]),
        })
        return out

    def write_chunk(self, con: Any, prepared: dict[str, Any]) -> None:
        """Write a prepared chunk (in chunk order: lead and activity numbers run on) and keep its totals."""
        s = prepared["slice"]
        self.seeds.append(prepared["seeds"])
        if not s.past:
            return
        assert s.first_lead == self.leads_done, (s.first_lead, self.leads_done)
        _insert(con, "leads", prepared["lead_rows"],
                f"{_id('lead_no', 'L', self.lead_width)}, created_at, {_lookup('source', CH_NAMES)}, "
                f"{_id('campaign_no', 'C', self.camp_width, nullable=True)}, company, {_lookup('industry', INDUSTRIES)}, "
                f"nullif(employees, -1), {_lookup('country', COUNTRIES)}, {_lookup('seniority', SENIORITIES)}, score, "
                f"demo_requested, mql_at, {_lookup('owner', self.rep_ids)}, assigned_at, "
                f"{_lookup('status', LEAD_STATUSES)}, {_lookup('reason', REJECT_REASONS)}, lead_no")  # lead_no: lead_key
        self._write_activities(con, prepared["activity_rows"])
        _insert(con, "campaign_touches", prepared["touch_rows"],
                f"{_id('lead_no', 'L', self.lead_width)}, {_id('campaign_no', 'C', self.camp_width)}, touched_at, lead_no")
        self.camp_leads += prepared["camp_leads"]
        self.recent_quality += prepared["recent_quality"]
        self.leads_done += prepared["leads"]

    def _write_activities(self, con: Any, rows: pa.Table) -> None:
        """Activities, numbered on from those already written."""
        k = rows.num_rows
        rows = rows.append_column("activity_no", pa.array(self.acts_done + 1 + np.arange(k)))
        _insert(con, "activities", rows,
                f"{_id('activity_no', 'A', self.act_width)}, {_id('lead_no', 'L', self.lead_width, nullable=True)}, "
                f"{_id('deal_no', 'D', self.deal_width, nullable=True)}, "
                f"{_lookup('rep', self.rep_ids)}, occurred_at, {_lookup('kind', ACTIVITY_KINDS)}, nullif(lead_no, 0)")
        self.acts_done += k

    # --- deals ----------------------------------------------------------------------------------
    def deals(self) -> None:
        """Every deal of the simulation (leads' deals from all chunks, and sales-sourced ones), its fate,
        the cut at as-of, and the goals from each quarter's full won revenue. Fates are drawn DEAL_CHUNK
        deals at a time (stream (seed, 2, 1 + block)); what outlives a block is the won deals' close and
        amount (for the goals) and the deals that exist at as-of (to be written)."""
        rng = self.stream(2, 0)
        seeds = {key: np.concatenate([s[key] for s in self.seeds]) for key in self.seeds[0]}
        self.seeds = []
        n_lead_deals = len(seeds["created"])
        # sales-sourced deals (~15 % of all), on working days, over the same span
        n_ss = int(rng.poisson(n_lead_deals * 0.18))
        w = (self.day_w * (self.dow < 5))[:, None] * self.hour_w[None, :]
        w[: LEAD_IN_DAYS + 21] = 0.0  # the sales team starts sourcing three weeks into the history
        w = w.ravel()
        h = rng.choice(len(w), n_ss, p=w / w.sum())
        ss_created = self.grid_day0 * DAY + h * HOUR + rng.integers(0, HOUR, n_ss)
        cw = self.comp_w * self.comp_emp ** 0.3
        ss_company = rng.choice(len(cw), n_ss, p=cw / cw.sum())
        base = dict(
            lead=np.concatenate([seeds["lead"], np.full(n_ss, -1)]),  # lead number (0-based), -1 for none
            created=np.concatenate([seeds["created"], ss_created]),
            company=np.concatenate([seeds["company"], ss_company.astype(np.int32)]),
            has_account=np.concatenate([seeds["has_company"], np.ones(n_ss, bool)]),
            region=np.concatenate([seeds["region"], COUNTRY_REGION[self.comp_country[ss_company]].astype(np.int8)]),
            channel=np.concatenate([seeds["channel"], np.full(n_ss, -1, dtype=np.int8)]),  # -1: sourced by sales
            quality=np.concatenate([seeds["quality"], np.ones(n_ss, bool)]),
        )
        del seeds
        n = len(base["created"])

        won_close, won_amount, kept = [], [], []
        for block, first in enumerate(range(0, n, DEAL_CHUNK)):
            part = {key: value[first:first + DEAL_CHUNK] for key, value in base.items()}
            fate = self._deal_fates(self.stream(2, 1 + block), part)
            won_close.append(fate["close"][fate["won"]])
            won_amount.append(fate["amount"][fate["won"]])
            keep = np.flatnonzero(part["created"] <= self.as_of_s)
            kept.append(dict(  # compact: what writing needs (stage entry times follow from created + dur)
                lead=part["lead"][keep], created=part["created"][keep], company=part["company"][keep],
                has_account=part["has_account"][keep], channel=part["channel"][keep],
                owner=fate["owner"][keep].astype(np.int16), amount=fate["amount"][keep], won=fate["won"][keep],
                last_stage=fate["last_stage"][keep].astype(np.int8), dur=fate["dur"][keep].astype(np.int32),
                close=fate["close"][keep]))
        del base

        # goals: each quarter's full won revenue, as simulated past as-of too
        close_w = np.concatenate(won_close) if won_close else np.zeros(0, dtype=np.int64)
        amount_w = np.concatenate(won_amount) if won_amount else np.zeros(0)
        goal_rng = self.stream(4, 1)
        self.goals: dict[str, float] = {}
        q = period_containing(EPOCH + timedelta(days=int(self.first_day)))
        while q.start <= self.next_q.start:
            lo, hi = _secs(q.start), _secs(q.end)
            revenue = float(amount_w[(close_w >= lo) & (close_w < hi)].sum())
            factor = goal_rng.uniform(1.05, 1.15)
            if revenue > 0:  # a quarter the data barely touches gets no goal
                self.goals[q.label] = _nice(revenue * factor)
            q = _next_period(q)

        # the cut at as-of: deals that exist then, numbered by creation (assembled one column at a time,
        # each block's part let go as soon as it is copied)
        created = np.concatenate([k["created"] for k in kept]) if kept else np.zeros(0, dtype=np.int64)
        order = np.argsort(created, kind="stable")
        m = len(order)
        K = {key: np.concatenate([k.pop(key) for k in kept])[order] for key in list(kept[0])} if kept else {}
        del kept, created
        self.n_deals = m
        self.deal_width = max(6, len(str(m)))
        if m == 0:
            self.K = K
            return
        assert (K["lead"][K["channel"] >= 0] >= 0).all()  # a deal at as-of comes from a lead before it
        close = K["close"]
        closed = close <= self.as_of_s
        # expected close: closed deals ≈ when they closed; open deals from when they would really close,
        # with some left in the past (slipping) and far ones pulled into the next quarter
        close_day = close // DAY
        exp = np.where(closed, close_day + np.round(rng.normal(-3, 8, m)), close_day + np.round(rng.normal(0, 7, m)))
        exp = exp.astype(np.int64)
        as_of_day = self.as_of_day
        nq_first, nq_end = _day_of(self.next_q.start), _day_of(self.next_q.end)
        far = ~closed & (exp >= nq_end)
        exp = np.where(far & (rng.random(m) < 0.7), nq_first + rng.integers(0, nq_end - nq_first, m), exp)
        slip = ~closed & (rng.random(m) < 0.16)
        exp = np.where(slip, as_of_day - rng.integers(1, 45, m), exp)
        exp = np.where(~closed & ~slip, np.maximum(exp, as_of_day), exp)
        exp = np.where(closed, np.minimum(exp, as_of_day), exp)
        K["closed"] = closed
        K["exp"] = exp
        K["lost_reason"] = rng.choice(len(LOST_P), m, p=LOST_P / LOST_P.sum())
        self.K = K  # what writing the deals at as-of needs (about 9 % of the leads' rows)

    def _deal_fates(self, rng: np.random.Generator, D: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Owner, amount, outcome and timeline of a block of deals."""
        n = len(D["created"])
        created = D["created"]
        company = D["company"]
        sales_sourced = D["channel"] < 0
        emp = np.where(self.comp_emp_known[company], self.comp_emp[company], 150)
        conv = np.where(sales_sourced, 1.0, np.array([c[5] for c in CHANNELS])[np.maximum(D["channel"], 0)])
        owner = np.zeros(n, dtype=np.int64)
        for r in (0, 1):
            aes = self.ae_by_region[r]
            rows = np.flatnonzero(D["region"] == r)
            owner[rows] = aes[rng.integers(0, len(aes), len(rows))]
        amount = (16_000 * (emp / 150.0) ** 0.22 * np.exp(rng.normal(0, 0.6, n))
                  * np.where(sales_sourced, 1.3, 1.0))
        amount = np.maximum(np.round(amount / 100) * 100, 1_000.0)

        # fate and timeline
        p_win = np.clip(0.31 * conv ** 0.6 * np.where(D["quality"], 1.0, 0.65), 0.05, 0.8)
        won = rng.random(n) < p_win
        lost_at = rng.choice(4, n, p=LOST_AT_P)
        last_stage = np.where(won, 3, lost_at)
        dur = (STAGE_MEDIAN_DAYS[None, :] * DAY * np.exp(rng.normal(0, 0.55, (n, 4)))).astype(np.int64)
        stuck = rng.random(n) < np.where(won, 0.18, 0.45)
        stuck_stage = rng.integers(0, 4, n)
        stuck_stage = np.minimum(stuck_stage, last_stage)
        factor = np.where(stuck, rng.uniform(3.0, 8.0, n), 1.0)
        dur[np.arange(n), stuck_stage] = (dur[np.arange(n), stuck_stage] * factor).astype(np.int64)
        dur = np.maximum(dur, HOUR)
        entered = np.zeros((n, 4), dtype=np.int64)
        entered[:, 0] = created
        entered[:, 1:] = created[:, None] + np.cumsum(dur, axis=1)[:, :3]
        final_dur = dur[np.arange(n), last_stage]
        final_dur = np.where(won, final_dur, np.maximum((final_dur * rng.uniform(0.4, 1.2, n)).astype(np.int64), HOUR))
        close = entered[np.arange(n), last_stage] + final_dur
        # quarter-end push: some wins due early next quarter are signed in the last days of this one
        c64 = close.astype("datetime64[s]")
        month0 = c64.astype("datetime64[M]")
        q_start_m = month0 - (month0.astype(np.int64) % 3).astype("timedelta64[M]")
        q_start = q_start_m.astype("datetime64[s]").astype(np.int64)
        # (deals already in negotiation when the quarter ends are signed in its last days)
        earliest = np.maximum(entered[:, 3] + HOUR, q_start - 5 * DAY)
        pulled = earliest + (rng.random(n) * (q_start - HOUR - earliest)).astype(np.int64)
        push = won & (close - q_start < 30 * DAY) & (entered[:, 3] < q_start - DAY) & (rng.random(n) < 0.6)
        close = np.where(push, pulled, close)
        return dict(owner=owner, amount=amount, won=won, last_stage=last_stage, dur=dur, entered=entered, close=close)

    def prepare_deals(self, block: tuple[int, int, int]) -> dict[str, pa.Table]:
        """Rows of the kept deals [first, end) (by creation), their stage history and AE activities (these
        numbered when written). Reads only what deals() left, so it can run beside the writing."""
        first, end, chunk = block
        K = {key: value[first:end] for key, value in self.K.items()}
        as_of = self.as_of_s
        m = end - first
        deal_no = first + np.arange(m)  # 0-based
        last_stage, close, closed, won = K["last_stage"], K["close"], K["closed"], K["won"]
        dur = K["dur"].astype(np.int64)
        entered = np.empty((m, 4), dtype=np.int64)
        entered[:, 0] = K["created"]
        entered[:, 1:] = K["created"][:, None] + np.cumsum(dur, axis=1)[:, :3]
        # stage history: every stage entered by as-of (only those up to the deal's last stage)
        reached = (np.arange(4)[None, :] <= last_stage[:, None]) & (entered <= as_of)
        current = reached.sum(axis=1) - 1
        stage = np.where(closed, np.where(won, 4, 5), current)
        lead = K["lead"]
        out = {}
        out["deals"] = _table({
            "deal_no": deal_no + 1,
            "lead_no": lead + 1,
            "account": self._names(K["company"], K["has_account"]),
            "created_at": _ts(K["created"]),
            "amount": K["amount"],
            "stage": stage,
            "expected_close_on": _dates(K["exp"]),
            "closed_at": _ts(close, closed),
            "owner": K["owner"],
            "lost_reason": np.where(closed & ~won, K["lost_reason"], -1),
        })
        hist_deal = np.concatenate([np.repeat(np.arange(m), reached.sum(axis=1)), np.flatnonzero(closed)])
        hist_stage = np.concatenate([np.nonzero(reached)[1], stage[closed]])
        hist_time = np.concatenate([entered[reached], close[closed]])
        order = np.lexsort((hist_time, hist_deal))
        out["deal_stage_history"] = _table({
            "deal_no": deal_no[hist_deal[order]] + 1,
            "stage": hist_stage[order],
            "entered_at": _ts(hist_time[order]),
        })

        # AE activities on deals: 1-3 per stage entered, within the stage
        rng = self.stream(3, chunk)
        per = np.where(reached, 1 + rng.poisson(0.8, reached.shape), 0)
        rows = np.repeat(np.arange(m), per.sum(axis=1))
        stage_of = np.repeat(np.tile(np.arange(4), m), per.ravel())
        span = np.minimum(dur[rows, stage_of], 10 * DAY)
        t = entered[rows, stage_of] + (rng.random(len(rows)) * span).astype(np.int64)
        t = _office_hours(rng, t, self.offsets(self.rep_region[K["owner"][rows]], t), 0.9)
        ok = (t <= as_of) & (t <= close[rows])
        rows, t = rows[ok], t[ok]
        with_lead = (lead[rows] >= 0) & (rng.random(len(rows)) < 0.5)
        kind = rng.choice(3, len(rows), p=[0.3, 0.2, 0.5])
        order = np.lexsort((rows, t))
        rows, t, kind, with_lead = rows[order], t[order], kind[order], with_lead[order]
        out["activities"] = _activity_table(np.where(with_lead, lead[rows] + 1, 0), deal_no[rows] + 1,
                                            K["owner"][rows], t, kind)
        return out

    def write_deals(self, con: Any, prepared: dict[str, pa.Table]) -> None:
        deal_id = _id("deal_no", "D", self.deal_width)
        _insert(con, "deals", prepared["deals"],
                f"{deal_id}, {_id('lead_no', 'L', self.lead_width, nullable=True)}, account, created_at, amount, "
                f"{_lookup('stage', STAGES)}, expected_close_on, closed_at, {_lookup('owner', self.rep_ids)}, "
                f"{_lookup('lost_reason', LOST_REASONS)}, nullif(lead_no, 0), deal_no")  # deal_no: deal_key
        _insert(con, "deal_stage_history", prepared["deal_stage_history"],
                f"{deal_id}, {_lookup('stage', STAGES)}, entered_at, deal_no")
        self._write_activities(con, prepared["activities"])

    # --- campaigns and the commitment -----------------------------------------------------------
    def write_campaigns(self, con: Any) -> None:
        """Campaigns (their cost follows the leads they brought, counted over all chunks) and reps."""
        rng = self.stream(4, 0)
        n_c = len(self.camp_name)
        cpl = np.array([c[7] for c in CHANNELS])[self.camp_channel]
        cost = self.camp_leads * cpl * np.exp(rng.normal(0, 0.25, n_c))
        cost += np.where(self.camp_channel == CH["events"], rng.uniform(35_000, 95_000, n_c), 0)
        cost += np.where(self.camp_channel == CH["webinar"], rng.uniform(1_500, 4_000, n_c), 0)
        cost += np.where(self.camp_channel == CH["content"], rng.uniform(2_000, 8_000, n_c), 0)
        cost = np.round(cost / 100) * 100
        order = self.camp_order
        running = self.camp_last[order] >= self.as_of_day
        _insert(con, "campaigns", {
            "campaign_no": np.arange(1, len(order) + 1),
            "name": np.array(self.camp_name, dtype=object)[order],
            "channel": self.camp_channel[order],
            "started_on": _dates(self.camp_first[order]),
            "ended_on": _dates(self.camp_last[order], ~running),
            "cost": cost[order],
        }, f"{_id('campaign_no', 'C', self.camp_width)}, name, {_lookup('channel', CH_NAMES)}, started_on, ended_on, "
            f"cost")
        _insert(con, "reps", self.reps_rows, "rep_id, name, team, region")

    def commitment(self) -> int:
        """95 % of the average monthly quality-lead volume over the trailing year."""
        monthly = self.recent_quality / (365 / 30.44)
        return max(1, int(round(0.95 * monthly)))


# ---------------------------------------------------------------------------------------------------
# Building
# ---------------------------------------------------------------------------------------------------

def _generate(con: Any, gen: _Gen, report: Callable[[float, str], None]) -> None:
    """Everything but the edited state, chunk by chunk; progress from 0.02 to 0.95. Each chunk is prepared
    (generated, made into arrow tables) one ahead of the one being written; the data does not depend on
    this, since every chunk draws from its own stream and they are written in order."""
    gen.setup()
    report(0.02, f"calendar, reps, campaigns and the plan: {len(gen.slices)} chunks of leads")
    total = gen.n_leads + gen.n_future
    done = [0, 0]  # leads prepared and written, of them after as-of

    def write_chunk(prepared: dict[str, Any]) -> None:
        gen.write_chunk(con, prepared)
        done[0] += prepared["leads"]
        if prepared["slice"].past:
            message = f"leads {gen.leads_done:,} of {gen.n_leads:,}"
        else:
            done[1] += prepared["leads"]
            message = f"leads after as-of (simulated for deals and goals) {done[1]:,} of {gen.n_future:,}"
        report(0.02 + 0.78 * done[0] / max(total, 1), message)

    _pipelined(gen.slices, gen.prepare_chunk, write_chunk)
    assert gen.leads_done == gen.n_leads, (gen.leads_done, gen.n_leads)
    gen.deals()
    report(0.82, f"deals: {gen.n_deals:,} at as-of")
    blocks = [(first, min(first + DEAL_CHUNK, gen.n_deals), chunk)
              for chunk, first in enumerate(range(0, gen.n_deals, DEAL_CHUNK))]

    written = [0]

    def write_deals(prepared: dict[str, pa.Table]) -> None:
        gen.write_deals(con, prepared)
        written[0] += prepared["deals"].num_rows
        report(0.82 + 0.12 * written[0] / gen.n_deals, f"deals {written[0]:,} of {gen.n_deals:,} written")

    _pipelined(blocks, gen.prepare_deals, write_deals)
    gen.write_campaigns(con)
    report(0.95, "campaigns and reps written")


def build_demo(path: str | Path, *, leads: int = 50_000, seed: int = 7, as_of: datetime | None = None,
               progress: Callable[[float, str], None] | None = None) -> dict:
    """Build a seeded demo database at `path` (replacing any file there) and return a summary:
    {"path", "as_of", "seed", "leads", "counts": {table: rows}, "goals": {quarter: revenue},
    "monthly_quality_commitment", "seconds"}."""
    started = time.perf_counter()
    if leads < 1:
        raise ValueError("leads must be at least 1")
    if as_of is None:
        as_of = utc_now().replace(minute=0, second=0, microsecond=0)
    if as_of.tzinfo is not None:
        as_of = as_of.astimezone(UTC).replace(tzinfo=None)
    report = progress or (lambda fraction, message: None)
    if lake.is_lake(path):
        return _build_demo_on_lake(str(path), leads=leads, seed=seed, as_of=as_of, report=report, started=started)
    path = Path(path)

    report(0.0, f"generating {leads:,} leads (seed {seed})")
    gen = _Gen(leads, seed, as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.building-{os.getpid()}")
    leftovers = (tmp, Path(f"{tmp}.wal"))
    for leftover in leftovers:
        if leftover.exists():
            leftover.unlink()
    con = connect(tmp, create=True)
    try:
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        _generate(con, gen, report)
        # every row was written with its lead_key and deal_key (the lead's and the deal's number); the keys' tables
        # follow (core.db.LINK_KEYS)
        con.execute("INSERT INTO lead_keys SELECT lead_id, lead_key FROM leads")
        con.execute("INSERT INTO deal_keys SELECT deal_id, deal_key FROM deals")
        commitment = gen.commitment()
        edits.save(con, "sla_policy", edits.POLICY_SUBJECT, SlaPolicy(monthly_quality_commitment=commitment),
                   actor=DEMO_ACTOR, expected_version=0, effective_from=edits.BEGINNING, now=as_of,
                   reason=(f"Default policy (first touch within 24 hours, 3 attempts within 7 days) with the "
                           f"demo's commitment of {commitment:,} quality leads a month."))
        for label, revenue in gen.goals.items():
            # saved at as-of like every demo edit, but judged as agreed before its quarter began
            # (past quarters' goals are history, not corrections)
            edits.save(con, "goal", label, GoalBody(revenue=revenue), actor=DEMO_ACTOR, expected_version=0,
                       now=as_of, as_of=parse_period(label).start - timedelta(seconds=1),
                       reason=f"Demo revenue goal for {label}: agreed by sales and marketing.")
        edits.ensure_defaults(con, now=as_of)  # quality definition version 1, stamped at as-of
        set_meta(con, "as_of", as_of.isoformat())
        set_meta(con, "source", f"demo data (seed {seed}, {leads:,} leads)")
        set_meta(con, "is_demo", "1")
        report(0.97, "goals and policy")
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]  # an aggregate: always one row
        counts["edit_versions"] = con.execute("SELECT count(*) FROM edit_versions").fetchone()[0]  # type: ignore[index]  # an aggregate: always one row
        con.execute("CHECKPOINT")
        con.close()
    except BaseException:
        con.close()
        for leftover in leftovers:
            if leftover.exists():
                leftover.unlink()
        raise
    stale_wal = Path(f"{path}.wal")  # a WAL left by the file being replaced must not replay into the new one
    if stale_wal.exists():
        stale_wal.unlink()
    os.replace(tmp, path)
    report(1.0, "done")
    return {
        "path": str(path),
        "as_of": as_of.isoformat(),
        "seed": seed,
        "leads": leads,
        "counts": counts,
        "goals": dict(gen.goals),
        "monthly_quality_commitment": commitment,
        "seconds": round(time.perf_counter() - started, 2),
    }


def _build_demo_on_lake(target: str, *, leads: int, seed: int, as_of: datetime,
                        report: Callable[[float, str], None], started: float) -> dict:
    """The demo on a DuckLake: generated into a scratch file exactly as for a file target (same seed, same
    records), then copied into the lake in one transaction (core.lake.replace_from_file)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="accord-demo-") as scratch:
        built = build_demo(Path(scratch) / "demo.duckdb", leads=leads, seed=seed, as_of=as_of,
                           progress=lambda f, m: report(0.9 * f, m))
        report(0.9, "copying into the lake")
        counts = lake.replace_from_file(target, Path(scratch) / "demo.duckdb")
    report(1.0, "done")
    return {**built, "path": lake.describe(target), "counts": {t: counts.get(t, 0) for t in built["counts"]},
            "seconds": round(time.perf_counter() - started, 2)}
