"""The seeded demo database: about 18 months of a B2B SaaS company's leads, activities, deals and campaigns.

`build_demo(path)` writes a complete Accord database (canonical tables, the edited state and meta) into
a temporary file beside `path` and renames it into place, so a half-built database never appears.

Everything is generated with vectorised numpy from one `np.random.default_rng(seed)` and stamped
relative to `as_of`: the same seed and as-of give byte-identical tables (edit versions are saved "at"
as-of too), and nothing is stamped after as-of except open deals' expected close dates.

How the data is made realistic rather than uniform noise:
- Lead volume follows weekdays (weekends quiet), a dip in August and late December, a mild growth trend,
  business hours; events and webinars arrive in bursts around their dates.
- Channels differ in volume, score and conversion (paid social: many, weak leads; referral, partner,
  events: few, strong ones). Score follows channel, seniority, company size and industry.
- SDRs differ in response speed (medians from about 1 to 30 hours) and in diligence (attempts), work
  office hours in their region, and touch weaker leads later and less.
- Deals move through the stages with stage durations that have a long tail (stalled deals), win
  30 % or so, close faster when lost, and some wins are pulled into the last days of a quarter.
- The simulation runs on past as-of to the end of the next quarter, and is then cut at as-of: revenue
  goals are set from what each quarter's full won revenue is or would be (so attainment is realistic),
  and open deals' expected close dates come from when they would really close.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from core import edits
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


def _pick(values: list, codes: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """Codes → object array of strings (None where not valid)."""
    table = np.array(list(values) + [None], dtype=object)
    codes = np.asarray(codes)
    if valid is not None:
        codes = np.where(valid, codes, len(values))
    return table[codes]


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


# ---------------------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------------------

class _Gen:
    def __init__(self, leads: int, seed: int, as_of: datetime, progress: Callable[[float, str], None]):
        self.n_leads = int(leads)
        self.seed = seed
        self.as_of = as_of
        self.progress = progress
        self.rng = np.random.default_rng(seed)
        self.as_of_s = _secs(as_of)
        self.as_of_day = _day_of(as_of)
        self.first_day = self.as_of_day - HISTORY_DAYS  # first lead day (midnight)
        self.grid_day0 = self.first_day - LEAD_IN_DAYS  # day grid start (campaigns, touches)
        self.current_q = period_containing(as_of)
        self.next_q = _next_period(self.current_q)
        self.end_day = _day_of(self.next_q.end)  # simulation runs to the end of the next quarter
        self.n_days = self.end_day - self.grid_day0
        self.tables: dict[str, pd.DataFrame] = {}

    # --- calendar -------------------------------------------------------------------------------
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
        self.rep_offset = np.where(self.rep_region == 0, 1, -5)  # hours from UTC to the rep's office
        sdr = np.flatnonzero(np.char.startswith(self.rep_team.astype(str), "sdr"))
        ae = np.flatnonzero(np.char.startswith(self.rep_team.astype(str), "ae"))
        self.sdr_by_region = [sdr[self.rep_region[sdr] == r] for r in (0, 1)]
        self.ae_by_region = [ae[self.rep_region[ae] == r] for r in (0, 1)]
        self.rep_share = rng.uniform(0.7, 1.3, n)  # how many leads each SDR gets routed
        # Response speed: per-SDR median hours to first touch, spread from ~1 h to ~30 h.
        medians = np.exp(np.linspace(np.log(0.7), np.log(24.0), len(sdr))) * np.exp(rng.normal(0, 0.08, len(sdr)))
        self.rep_median_h = np.zeros(n)
        self.rep_median_h[sdr] = rng.permutation(medians)
        # Diligence: mean extra attempts after the first (some reps under-work their leads).
        self.rep_diligence = np.zeros(n)
        self.rep_diligence[sdr] = rng.permutation(np.linspace(0.8, 3.8, len(sdr)))
        self.tables["reps"] = pd.DataFrame({"rep_id": self.rep_ids, "name": names, "team": teams,
                                            "region": region})

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
        # events concentrate their channel's leads on three days
        self.camp_intensity = intensity
        # activity matrix over the day grid: day × campaign
        days = self.days[:, None]
        self.active = ((days >= self.camp_first[None, :]) & (days <= self.camp_last[None, :])) * intensity[None, :]

    # --- leads ----------------------------------------------------------------------------------
    def leads(self) -> None:
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
                inten = np.where(inten > 0, self.active[:, cols].sum(axis=1) / np.maximum((self.active[:, cols] > 0).sum(axis=1), 1), 0.0)
            inten = inten + organic[c]
            mean = inten[past_days & (self.day_w > 0)].mean()
            ch_day[c] = shares[c] * inten / (mean if mean > 0 else 1.0) * self.day_w
        # hourly weights: the last hours of as-of's day and the future are split off exactly
        cut_h = (self.as_of_s - self.grid_day0 * DAY) // HOUR  # first hour bin not wholly before as-of
        hourly = (ch_day[:, :, None] * self.hour_w[None, None, :]).reshape(n_ch, -1)
        past_mass = hourly[:, :cut_h].sum(axis=1)
        future_mass = hourly[:, cut_h:].sum(axis=1)
        n_past = rng.multinomial(self.n_leads, past_mass / past_mass.sum())
        n_future = rng.poisson(self.n_leads * future_mass / past_mass.sum())
        created: Any = []  # the per-channel parts, then one array
        channel: Any = []
        for c in range(n_ch):
            for lo, hi, k in ((0, cut_h, n_past[c]), (cut_h, hourly.shape[1], n_future[c])):
                if k == 0:
                    continue
                w = hourly[c, lo:hi]
                h = lo + rng.choice(hi - lo, k, p=w / w.sum())
                stamp = self.grid_day0 * DAY + h * HOUR + rng.integers(0, HOUR, k)
                if lo > 0:  # the hour as-of falls in: the simulated future starts at as-of itself
                    stamp = np.maximum(stamp, self.as_of_s)
                created.append(stamp)
                channel.append(np.full(k, c))
        created = np.concatenate(created)
        channel = np.concatenate(channel)
        order = np.argsort(created, kind="stable")
        created, channel = created[order], channel[order]
        n = len(created)
        past = created < self.as_of_s
        # exactly n_leads are before as-of: those are the ones kept (the cut hour bin is all before)
        assert int(past.sum()) == self.n_leads, (int(past.sum()), self.n_leads)
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

        # companies: a pool, larger companies produce more leads
        n_comp = int(np.clip(self.n_leads // 3, 300, 60_000))
        comp_country = rng.choice(len(COUNTRIES), n_comp, p=COUNTRY_P)
        comp_industry = rng.choice(len(INDUSTRIES), n_comp, p=INDUSTRY_P)
        comp_emp = np.clip(np.exp(rng.normal(np.log(180), 1.6, n_comp)), 2, 250_000).astype(np.int64)
        comp_emp_known = rng.random(n_comp) > 0.04
        comp_industry_known = rng.random(n_comp) > 0.03
        a = rng.integers(0, len(NAME_A), n_comp)
        b = rng.integers(0, len(NAME_B), n_comp)
        w = rng.integers(0, 5, n_comp)
        legal_pick = rng.integers(0, 3, n_comp)
        comp_name = np.array([
            f"{NAME_A[a[i]]}{NAME_B[b[i]]} {INDUSTRY_WORDS[INDUSTRIES[comp_industry[i]]][w[i]]} "
            f"{LEGAL[COUNTRIES[comp_country[i]]][legal_pick[i] % len(LEGAL[COUNTRIES[comp_country[i]]])]}"
            for i in range(n_comp)
        ], dtype=object)
        comp_w = comp_emp ** 0.3 * np.exp(rng.normal(0, 0.5, n_comp))
        company = rng.choice(n_comp, n, p=comp_w / comp_w.sum())
        has_company = rng.random(n) > 0.01
        country = comp_country[company]
        industry = comp_industry[company]
        emp = comp_emp[company]
        emp_known = comp_emp_known[company] & has_company
        industry_known = comp_industry_known[company] & has_company
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
        mql_at = np.minimum(created + np.clip(np.exp(rng.normal(np.log(20 * MIN), 1.0, n)), 2 * MIN, 3 * HOUR).astype(np.int64),
                            np.where(past, self.as_of_s, np.iinfo(np.int64).max))
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
        routing = np.clip(np.exp(rng.normal(np.log(25 * MIN), 1.3, n)), MIN, 8 * HOUR).astype(np.int64)
        assigned = created + routing
        has_assigned = owned & (rng.random(n) > 0.03)
        not_yet = past & has_assigned & (assigned > self.as_of_s)  # routed only after as-of: not yet owned
        owner[not_yet] = -1
        owned &= ~not_yet
        has_assigned &= ~not_yet
        clock = np.where(has_assigned, assigned, created)

        # response: rep speed × lead heat, then office hours
        touched = owned & (rng.random(n) < np.where(quality, 0.975, 0.80))
        o = np.maximum(owner, 0)
        delay_h = (self.rep_median_h[o] * np.exp(rng.normal(0, 0.85, n))
                   * np.where(quality, 1.0, 1.8) * np.where(demo, 0.5, 1.0))
        first = clock + np.maximum(delay_h * HOUR, 2 * MIN).astype(np.int64)
        first = _office_hours(rng, first, self.rep_offset[o], 0.8)

        # attempts: 1 + Poisson(diligence), fewer for weaker leads, spaced ~1.4 days apart
        n_att = np.where(touched, 1 + np.minimum(rng.poisson(self.rep_diligence[o] * np.where(quality, 1.0, 0.55)), 7), 0)
        att_lead = np.repeat(np.arange(n), n_att)
        pos = _group_positions(n_att)
        gap = np.where(pos == 0, 0, (rng.exponential(1.4, len(att_lead)) * DAY).astype(np.int64) + HOUR)
        offs = np.cumsum(gap)
        offs -= offs[np.repeat(np.cumsum(n_att) - n_att, n_att)]  # back to 0 at each lead's first attempt
        att_time = first[att_lead] + offs
        att_time = np.where(pos == 0, att_time, _office_hours(rng, att_time, self.rep_offset[o[att_lead]], 0.85))
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
        rp = np.where(quality[:, None], REJECT_P_QUALITY[None, :], REJECT_P_OTHER[None, :]).copy()
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

        self.L = dict(created=created, channel=channel, campaign=campaign, past=past, company=company,
                      has_company=has_company, country=country, country_known=country_known, industry=industry,
                      industry_known=industry_known, emp=emp, emp_known=emp_known, seniority=seniority,
                      seniority_known=seniority_known, score=score, demo=demo, mql=mql, mql_at=mql_at,
                      quality=quality, conv=conv, region=region, owner=owner, owned=owned,
                      has_assigned=has_assigned, assigned=assigned, clock=clock, touched=touched, first=first,
                      status=status, reason=reason, wants_deal=wants_deal, deal_created=deal_created,
                      decision=decision)
        self.A = dict(lead=att_lead, time=att_time, kind=att_kind, pre=pre, pre_time=pre_time)
        self.comp = dict(name=comp_name, emp=comp_emp, emp_known=comp_emp_known, country=comp_country, w=comp_w)

    # --- deals ----------------------------------------------------------------------------------
    def deals(self) -> None:
        rng, L = self.rng, self.L
        lead_rows = np.flatnonzero(L["wants_deal"])
        n_lead_deals = len(lead_rows)
        # sales-sourced deals (~15 % of all), on working days, over the same span
        n_ss = int(rng.poisson(n_lead_deals * 0.18))
        w = (self.day_w * (self.dow < 5))[:, None] * self.hour_w[None, :]
        w[: LEAD_IN_DAYS + 21] = 0.0  # the sales team starts sourcing three weeks into the history
        w = w.ravel()
        h = rng.choice(len(w), n_ss, p=w / w.sum())
        ss_created = self.grid_day0 * DAY + h * HOUR + rng.integers(0, HOUR, n_ss)
        cw = self.comp["w"] * self.comp["emp"] ** 0.3
        ss_company = rng.choice(len(cw), n_ss, p=cw / cw.sum())

        n = n_lead_deals + n_ss
        lead = np.concatenate([lead_rows, np.full(n_ss, -1)])
        created = np.concatenate([L["deal_created"][lead_rows], ss_created])
        company = np.concatenate([L["company"][lead_rows], ss_company])
        has_account = np.concatenate([L["has_company"][lead_rows], np.ones(n_ss, bool)])
        emp = np.where(self.comp["emp_known"][company], self.comp["emp"][company], 150)
        region = np.concatenate([L["region"][lead_rows], COUNTRY_REGION[self.comp["country"][ss_company]]])
        conv = np.concatenate([L["conv"][lead_rows], np.full(n_ss, 1.0)])
        quality = np.concatenate([L["quality"][lead_rows], np.ones(n_ss, bool)])
        sales_sourced = lead < 0

        owner = np.zeros(n, dtype=np.int64)
        for r in (0, 1):
            aes = self.ae_by_region[r]
            rows = np.flatnonzero(region == r)
            owner[rows] = aes[rng.integers(0, len(aes), len(rows))]
        amount = (16_000 * (emp / 150.0) ** 0.22 * np.exp(rng.normal(0, 0.6, n))
                  * np.where(sales_sourced, 1.3, 1.0))
        amount = np.maximum(np.round(amount / 100) * 100, 1_000.0)

        # fate and timeline
        p_win = np.clip(0.31 * conv ** 0.6 * np.where(quality, 1.0, 0.65), 0.05, 0.8)
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

        self.D = dict(lead=lead, created=created, company=company, has_account=has_account, owner=owner,
                      amount=amount, won=won, last_stage=last_stage, entered=entered, close=close, dur=dur)

    # --- cut at as-of, build tables -------------------------------------------------------------
    def tables_leads(self) -> None:
        L, D = self.L, self.D
        as_of = self.as_of_s
        past = L["past"]
        n = self.n_leads
        # deals that exist at as-of
        deal_keep = D["created"] <= as_of
        lead_has_deal = np.zeros(len(L["created"]), bool)
        lead_has_deal[D["lead"][deal_keep & (D["lead"] >= 0)]] = True
        status = L["status"].copy()
        status[lead_has_deal] = 4
        status[(status == 4) & ~lead_has_deal] = 1
        self.lead_has_deal = lead_has_deal
        idx = np.flatnonzero(past)
        assert len(idx) == n
        self.lead_no = np.full(len(L["created"]), -1)
        self.lead_no[idx] = np.arange(n)
        width = max(7, len(str(n)))
        self.lead_fmt = f"L%0{width}d"
        campaign = L["campaign"][idx]
        st = status[idx]
        self.tables["leads"] = pd.DataFrame({
            "lead_no": np.arange(1, n + 1),
            "created_at": _ts(L["created"][idx]),
            "source": _pick(CH_NAMES, L["channel"][idx]),
            "campaign_no": campaign,
            "company": np.where(L["has_company"][idx], self.comp["name"][L["company"][idx]], None),
            "industry": _pick(INDUSTRIES, L["industry"][idx], L["industry_known"][idx]),
            "employees": pd.Series(L["emp"][idx], dtype="Int64").mask(~L["emp_known"][idx]),
            "country": _pick(COUNTRIES, L["country"][idx], L["country_known"][idx]),
            "seniority": _pick(list(SENIORITIES), L["seniority"][idx], L["seniority_known"][idx]),
            "score": L["score"][idx],
            "demo_requested": L["demo"][idx],
            "mql_at": _ts(L["mql_at"][idx], L["mql"][idx]),
            "owner_no": L["owner"][idx],
            "assigned_at": _ts(L["assigned"][idx], L["has_assigned"][idx]),
            "status": _pick(list(LEAD_STATUSES), st),
            "rejected_reason": _pick(REJECT_REASONS, L["reason"][idx], st == 2),
        })

    def tables_deals(self) -> None:
        rng, D = self.rng, self.D
        as_of = self.as_of_s
        keep = np.flatnonzero(D["created"] <= as_of)
        keep = keep[np.argsort(D["created"][keep], kind="stable")]
        m = len(keep)
        self.deal_no = np.full(len(D["created"]), -1)
        self.deal_no[keep] = np.arange(m)
        width = max(6, len(str(m)))
        self.deal_fmt = f"D%0{width}d"
        entered = D["entered"][keep]
        last_stage = D["last_stage"][keep]
        close = D["close"][keep]
        won = D["won"][keep]
        closed = close <= as_of
        # stage history: every stage entered by as-of (only those up to the deal's last stage)
        reached = (np.arange(4)[None, :] <= last_stage[:, None]) & (entered <= as_of)
        current = reached.sum(axis=1) - 1
        stage = np.where(closed, np.where(won, 4, 5), current)
        hist_deal = np.concatenate([np.repeat(np.arange(m), reached.sum(axis=1)), np.flatnonzero(closed)])
        hist_stage = np.concatenate([np.nonzero(reached)[1], stage[closed]])
        hist_time = np.concatenate([entered[reached], close[closed]])
        order = np.lexsort((hist_time, hist_deal))
        self.tables["deal_stage_history"] = pd.DataFrame({
            "deal_no": hist_deal[order] + 1,
            "stage": _pick(STAGES, hist_stage[order]),
            "entered_at": _ts(hist_time[order]),
        })
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
        lost_reason = _categorical(rng, np.broadcast_to(LOST_P, (m, len(LOST_P))))
        lead = D["lead"][keep]
        self.tables["deals"] = pd.DataFrame({
            "deal_no": np.arange(1, m + 1),
            "lead_no": np.where(lead >= 0, self.lead_no[np.maximum(lead, 0)] + 1, -1),
            "account": np.where(D["has_account"][keep], self.comp["name"][D["company"][keep]], None),
            "created_at": _ts(D["created"][keep]),
            "amount": D["amount"][keep],
            "stage": _pick(STAGES, stage),
            "expected_close_on": _dates(exp),
            "closed_at": _ts(close, closed),
            "owner_no": D["owner"][keep],
            "lost_reason": _pick(LOST_REASONS, lost_reason, closed & ~won),
        })
        self.kept_deals = keep
        self.kept_stage = stage
        self.kept_closed = closed

        # goals: each quarter's full won revenue, as simulated past as-of too
        won_all = D["won"]
        close_all = D["close"]
        self.goals: dict[str, float] = {}
        q = period_containing(EPOCH + timedelta(days=int(self.first_day)))
        while q.start <= self.next_q.start:
            lo, hi = _secs(q.start), _secs(q.end)
            revenue = float(D["amount"][won_all & (close_all >= lo) & (close_all < hi)].sum())
            factor = rng.uniform(1.05, 1.15)
            if revenue > 0:  # a quarter the data barely touches gets no goal
                self.goals[q.label] = _nice(revenue * factor)
            q = _next_period(q)

    def tables_activities(self) -> None:
        rng, L, A, D = self.rng, self.L, self.A, self.D
        as_of = self.as_of_s
        past = L["past"]
        # SDR attempts on leads
        keep = past[A["lead"]] & (A["time"] <= as_of)
        a_lead = A["lead"][keep]
        a_time = A["time"][keep]
        a_kind = A["kind"][keep]
        a_rep = L["owner"][a_lead]
        # pre-assignment emails
        pre = np.flatnonzero(A["pre"] & past & (A["pre_time"] <= as_of))
        # a qualification meeting when the SDR accepts the lead
        acc = np.flatnonzero(past & L["touched"] & (L["status"] == 1) & (L["decision"] <= as_of))
        acc_time = L["decision"][acc] - (rng.uniform(0.05, 0.8, len(acc)) * DAY).astype(np.int64)
        acc_time = np.maximum(acc_time, L["first"][acc])
        lead_part = (
            np.concatenate([a_lead, pre, acc]),
            np.concatenate([a_time, A["pre_time"][pre], acc_time]),
            np.concatenate([a_kind, np.full(len(pre), 1), np.full(len(acc), 2)]),
            np.concatenate([a_rep, L["owner"][pre], L["owner"][acc]]),
        )
        # AE activities on deals: 1-3 per stage entered, within the stage
        kd = self.kept_deals
        entered = D["entered"][kd]
        reached = (np.arange(4)[None, :] <= D["last_stage"][kd][:, None]) & (entered <= as_of)
        per = np.where(reached, 1 + rng.poisson(0.8, reached.shape), 0)
        rows = np.repeat(np.arange(len(kd)), per.sum(axis=1))
        stage_of = np.repeat(np.tile(np.arange(4), len(kd)), per.ravel())
        span = np.minimum(D["dur"][kd][rows, stage_of], 10 * DAY)
        t = entered[rows, stage_of] + (rng.random(len(rows)) * span).astype(np.int64)
        t = _office_hours(rng, t, self.rep_offset[D["owner"][kd][rows]], 0.9)
        ok = (t <= as_of) & (t <= D["close"][kd][rows])
        rows, t = rows[ok], t[ok]
        deal_lead = D["lead"][kd][rows]
        with_lead = (deal_lead >= 0) & (rng.random(len(rows)) < 0.5)
        kind = _categorical(rng, np.broadcast_to(np.array([0.3, 0.2, 0.5]), (len(rows), 3)))
        act_lead = np.concatenate([self.lead_no[lead_part[0]], np.where(with_lead, self.lead_no[np.maximum(deal_lead, 0)], -1)])
        act_deal = np.concatenate([np.full(len(lead_part[0]), -1), self.deal_no[kd][rows]])
        act_time = np.concatenate([lead_part[1], t])
        act_kind = np.concatenate([lead_part[2], kind])
        act_rep = np.concatenate([lead_part[3], D["owner"][kd][rows]])
        order = np.lexsort((act_deal, act_lead, act_time))
        k = len(order)
        self.act_fmt = f"A%0{max(8, len(str(k)))}d"
        self.tables["activities"] = pd.DataFrame({
            "activity_no": np.arange(1, k + 1),
            "lead_no": np.where(act_lead[order] >= 0, act_lead[order] + 1, -1),
            "deal_no": np.where(act_deal[order] >= 0, act_deal[order] + 1, -1),
            "rep_no": act_rep[order],
            "occurred_at": _ts(act_time[order]),
            "kind": _pick(list(ACTIVITY_KINDS), act_kind[order]),
        })

    def tables_touches(self) -> None:
        rng, L = self.rng, self.L
        as_of = self.as_of_s
        idx = np.flatnonzero(L["past"])
        first_rows = idx[L["campaign"][idx] >= 0]
        # more touches for many leads, between 60 days before creation and their deal (or as-of)
        p_more = np.where(self.lead_has_deal[idx], 0.8, 0.45)
        more = rng.random(len(idx)) < p_more
        n_more = np.where(more, 1 + rng.binomial(3, 0.35, len(idx)), 0)
        rows = np.repeat(idx, n_more)
        deal_start = np.full(len(L["created"]), as_of, dtype=np.int64)
        kd = self.kept_deals
        has_lead = self.D["lead"][kd] >= 0
        deal_start[self.D["lead"][kd][has_lead]] = self.D["created"][kd][has_lead]
        lo = L["created"][rows] - 60 * DAY
        hi = np.minimum(deal_start[rows], as_of)
        t = lo + (rng.random(len(rows)) * (hi - lo)).astype(np.int64)
        day = t // DAY - self.grid_day0
        ok = (day >= 0) & (day < self.n_days)
        rows, t, day = rows[ok], t[ok], day[ok]
        has = self.active.sum(axis=1)[day] > 0
        rows, t, day = rows[has], t[has], day[has]
        camp = _categorical_rows(rng, self.active, day)
        lead_no = np.concatenate([self.lead_no[first_rows], self.lead_no[rows]])
        camp_all = np.concatenate([L["campaign"][first_rows], camp])
        t_all = np.concatenate([L["created"][first_rows], t])
        df = pd.DataFrame({"lead_no": lead_no + 1, "campaign_no": camp_all, "t": t_all})
        df = df.drop_duplicates().sort_values(["lead_no", "t", "campaign_no"], kind="stable")
        self.tables["campaign_touches"] = pd.DataFrame({
            "lead_no": df["lead_no"].to_numpy(),
            "campaign_no": df["campaign_no"].to_numpy(),
            "touched_at": _ts(df["t"].to_numpy()),
        })

    def tables_campaigns(self) -> None:
        rng, L = self.rng, self.L
        as_of_day = self.as_of_day
        n_c = len(self.camp_name)
        shown = (self.camp_first <= as_of_day) & (self.camp_last >= self.grid_day0)
        past = L["past"]
        counts = np.bincount(L["campaign"][past & (L["campaign"] >= 0)], minlength=n_c)
        cpl = np.array([c[7] for c in CHANNELS])[self.camp_channel]
        cost = counts * cpl * np.exp(rng.normal(0, 0.25, n_c))
        is_event = self.camp_channel == CH["events"]
        cost += np.where(is_event, rng.uniform(35_000, 95_000, n_c), 0)
        cost += np.where(self.camp_channel == CH["webinar"], rng.uniform(1_500, 4_000, n_c), 0)
        cost += np.where(self.camp_channel == CH["content"], rng.uniform(2_000, 8_000, n_c), 0)
        cost = np.round(cost / 100) * 100
        idx = np.flatnonzero(shown)
        order = idx[np.lexsort((np.array(self.camp_name, dtype=object)[idx].astype(str), self.camp_channel[idx],
                               self.camp_first[idx]))]
        self.camp_no = np.full(n_c, -1)
        self.camp_no[order] = np.arange(len(order))
        running = self.camp_last[order] >= as_of_day
        self.tables["campaigns"] = pd.DataFrame({
            "campaign_no": np.arange(1, len(order) + 1),
            "name": np.array(self.camp_name, dtype=object)[order],
            "channel": _pick(CH_NAMES, self.camp_channel[order]),
            "started_on": _dates(self.camp_first[order]),
            "ended_on": _dates(self.camp_last[order], ~running),
            "cost": cost[order],
        })
        # remap campaign references to output numbers
        leads = self.tables["leads"]
        c = leads["campaign_no"].to_numpy()
        leads["campaign_no"] = np.where(c >= 0, self.camp_no[np.maximum(c, 0)] + 1, -1)
        t = self.tables["campaign_touches"]
        t["campaign_no"] = self.camp_no[t["campaign_no"].to_numpy()] + 1
        assert (t["campaign_no"] > 0).all() and (leads["campaign_no"].to_numpy()[c >= 0] > 0).all()

    def commitment(self) -> int:
        """95 % of the average monthly quality-lead volume over the trailing year."""
        L = self.L
        recent = L["past"] & (L["created"] >= self.as_of_s - 365 * DAY)
        monthly = float((L["quality"] & recent).sum()) / (365 / 30.44)
        return max(1, int(round(0.95 * monthly)))


# ---------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------

def _id_sql(column: str, fmt: str) -> str:
    return f"CASE WHEN {column} > 0 THEN printf('{fmt}', {column}) END"


def _insert(con, table: str, df: pd.DataFrame, select: str) -> None:
    con.register("_demo_df", df)
    try:
        con.execute(f"INSERT INTO {table} SELECT {select} FROM _demo_df")
    finally:
        con.unregister("_demo_df")


def _write(con, gen: _Gen, step: Callable[[str], None]) -> None:
    t = gen.tables
    rep_list = "[" + ", ".join(f"'{r}'" for r in gen.rep_ids) + "]"
    rep_sql = f"CASE WHEN {{c}} >= 0 THEN list_extract({rep_list}, {{c}} + 1) END"
    camp_w = max(3, len(str(len(t["campaigns"]))))
    camp_fmt = f"C%0{camp_w}d"
    lead_fmt, deal_fmt = gen.lead_fmt, gen.deal_fmt
    act_fmt = gen.act_fmt

    _insert(con, "reps", t["reps"], "rep_id, name, team, region")
    _insert(con, "campaigns", t["campaigns"],
            f"printf('{camp_fmt}', campaign_no), name, channel, started_on, ended_on, cost")
    step("leads written")
    _insert(con, "leads", t["leads"],
            f"printf('{lead_fmt}', lead_no), created_at, source, {_id_sql('campaign_no', camp_fmt)}, company, "
            f"industry, employees, country, seniority, score, demo_requested, mql_at, "
            f"{rep_sql.format(c='owner_no')}, assigned_at, status, rejected_reason")
    _insert(con, "deals", t["deals"],
            f"printf('{deal_fmt}', deal_no), {_id_sql('lead_no', lead_fmt)}, account, created_at, amount, stage, "
            f"expected_close_on, closed_at, {rep_sql.format(c='owner_no')}, lost_reason")
    _insert(con, "deal_stage_history", t["deal_stage_history"],
            f"printf('{deal_fmt}', deal_no), stage, entered_at")
    step("deals written")
    _insert(con, "activities", t["activities"],
            f"printf('{act_fmt}', activity_no), {_id_sql('lead_no', lead_fmt)}, {_id_sql('deal_no', deal_fmt)}, "
            f"{rep_sql.format(c='rep_no')}, occurred_at, kind")
    _insert(con, "campaign_touches", t["campaign_touches"],
            f"printf('{lead_fmt}', lead_no), printf('{camp_fmt}', campaign_no), touched_at")
    step("activities and touches written")




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
    path = Path(path)

    steps = ["calendar", "reps", "campaigns", "leads", "deals", "lead table", "deal tables", "activities",
             "campaign touches", "campaign table", "leads written", "deals written",
             "activities and touches written", "goals and policy", "done"]
    done = [0]

    def step(message: str) -> None:
        done[0] += 1
        report(min(done[0] / len(steps), 1.0), message)

    report(0.0, f"generating {leads:,} leads (seed {seed})")
    gen = _Gen(leads, seed, as_of, report)
    for build, name in ((gen.calendar, "calendar"), (gen.reps, "reps"), (gen.campaigns, "campaigns"),
                        (gen.leads, "leads"), (gen.deals, "deals"), (gen.tables_leads, "lead table"),
                        (gen.tables_deals, "deal tables"), (gen.tables_activities, "activities"),
                        (gen.tables_touches, "campaign touches"), (gen.tables_campaigns, "campaign table")):
        build()
        step(name)
    commitment = gen.commitment()

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.building-{os.getpid()}")
    for leftover in (tmp, Path(f"{tmp}.wal")):
        if leftover.exists():
            leftover.unlink()
    con = connect(tmp, create=True)
    try:
        _write(con, gen, step)
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
        step("goals and policy")
        counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]  # an aggregate: always one row
        counts["edit_versions"] = con.execute("SELECT count(*) FROM edit_versions").fetchone()[0]  # type: ignore[index]  # an aggregate: always one row
        con.execute("CHECKPOINT")
        con.close()
    except BaseException:
        con.close()
        for leftover in (tmp, Path(f"{tmp}.wal")):
            if leftover.exists():
                leftover.unlink()
        raise
    stale_wal = Path(f"{path}.wal")  # a WAL left by the file being replaced must not replay into the new one
    if stale_wal.exists():
        stale_wal.unlink()
    os.replace(tmp, path)
    step("done")
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
