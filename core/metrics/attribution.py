"""Campaign and channel attribution: leads, quality leads, opportunities, won revenue, cost, cost per
quality lead and return, under first-touch, linear, W-shaped, U-shaped and time-decay credit, optionally
within a lookback window (METRICS.md, "Attribution"; issue 15).

Choices where METRICS.md is silent (also in docs/metrics-notes.md, "Attribution"):
- Period view. Leads and quality leads are the period's lead cohort, credited to their first-touch
  campaign (`leads.campaign_id`) under every model (touches credit deals, not leads). Opportunities =
  deals created in the period, won revenue = amount of deals won (closed_at) in the period — the same
  won revenue as the Overview — each split across campaigns by the model. Opportunities are fractional
  under multi-touch (a deal shared by two campaigns is half an opportunity to each).
- Every deal's credit is accounted for: a deal without a lead goes to 'sales-sourced', one whose lead is
  not loaded to 'unknown lead', one whose lead has neither a campaign nor a touch to '(no campaign)' (the
  words of core.semantic.enums, as in every breakdown). So
  the rows always add up to the period's opportunities and won revenue.
- Multi-touch touches are the lead's campaign_touches with touched_at at or before the deal's
  created_at (a touch at the very moment the deal was created counts). `leads.campaign_id` is itself
  the first touch: a lead with no recorded touch before its deal is treated as touched once by it, at
  its created_at. Touches are ordered by touched_at, then campaign_id (ties are broken the same way
  every time).
- Linear: each of the deal's n touches gets 1/n.
- W-shaped: 30% to the first touch, 30% to the lead-creation touch (the last touch at or before the
  lead's created_at; the first touch when every touch came later), 30% to the opportunity-creation
  touch (the last touch at or before the deal's created_at), 10% shared equally by the other touches.
  The three are roles, not touches: one touch holding two roles gets both shares. When no touch is left
  for the 10%, the roles share everything in proportion (each role a third). So: 1 touch → 100%;
  2 touches → 2/3 to the one holding two roles, 1/3 to the other; 3 distinct roles → a third each;
  5 touches with distinct roles → 30/30/30 and 5% to each of the two in between.
- U-shaped: 40% to the first touch, 40% to the lead-creation touch (as W-shaped), 20% shared equally by
  the touches holding neither role (the opportunity touch included). The same role rules: 1 touch →
  100%; 2 touches where the first is also the lead-creation touch (the usual case: the lead's origin) →
  80% / 20%; 2 touches with distinct roles → 50% / 50%; 3 distinct → 40 / 40 / 20.
- Time decay: each touch weighs 2^(−age / half-life), age = days from the touch to the deal's creation
  (fractional), normalised over the deal's touches (default half-life 7 days). Weights are taken relative
  to the deal's newest touch, which changes nothing after normalising but keeps years-old touches from
  underflowing to zero.
- Lookback (None by default: every touch up to the deal counts, as METRICS.md says, so no figure moves):
  touches more than N days before the deal's created_at do not count (exactly N days counts), the stand-in
  first touch included (at the lead's created_at); under first touch, a lead created more than N days
  before the deal does not count either. A deal touched only before the window is credited to
  'unattributed' under that model, never dropped; a deal never touched keeps its bucket above.
  The shares of one deal sum to 1 under every model and window, and every deal of the period has them
  (checked on every call).
- Cost in the period: a campaign's cost is spread evenly over its days, from started_on to ended_on
  (to as-of while it has no end date: its cost so far), and the period gets the days that fall inside
  it up to as-of. Cost unknown (NULL) → cost per quality lead and return are undefined, not 0.
- Return = won revenue ÷ cost in the period; cost per quality lead = cost ÷ first-touch quality leads.
  The named buckets (no campaign, sales-sourced, unknown lead, unattributed) have no cost: both read undefined.
- Channel view: the campaign's channel; a campaign missing from `campaigns` reads '(campaign not loaded)'.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd

from core.db import reads
from core.metrics.pipeline import RECORDS_LIMIT, Records, bounded, won_revenue
from core.periods import Period
from core.semantic.blocks import (
    COHORT,
    CREATED_IN_PERIOD,
    CREATED_WINDOW,
    DEAL_ASOF,
    WON_IN_PERIOD,
    Figures,
    lead_q,
    one_row,
    run,
    scope_params,
    tables_with_rows,
)
from core.semantic.enums import NO_CAMPAIGN, SALES_SOURCED, UNATTRIBUTED, UNKNOWN_LEAD

MODELS: dict[str, str] = {"first_touch": "First touch", "linear": "Linear", "w_shaped": "W-shaped",
                          "u_shaped": "U-shaped", "time_decay": "Time decay"}
MULTI_TOUCH = ("linear", "w_shaped", "u_shaped", "time_decay")
VIEWS = ("campaign", "channel")
DEFAULT_HALF_LIFE_DAYS = 7.0
# The lookbacks the page offers (None: no window, every touch up to the deal counts, as METRICS.md says).
LOOKBACK_CHOICES: tuple[int | None, ...] = (None, 7, 30, 60, 90, 180, 365)
# The measure each figure is → its column in Attribution.table and its key in Attribution.totals.
MEASURE_COLUMNS: dict[str, str] = {
    "attr_leads": "leads", "attr_quality_leads": "quality_leads", "attr_opportunities": "opportunities",
    "attr_won_revenue": "won_revenue", "attr_cost": "cost", "cost_per_quality_lead": "cost_per_quality_lead",
    "attr_return": "return",
}
NOT_LOADED = "(campaign not loaded)"

# Position-based models as role weights in percent: (first touch, lead creation, opportunity creation, the
# rest shared equally). A touch holding several roles gets each role's weight; with no touch left for the
# rest, the roles share everything in proportion to their weights.
POSITION_MODELS: dict[str, tuple[int, int, int, int]] = {"w_shaped": (30, 30, 30, 10), "u_shaped": (40, 40, 0, 20)}

# A deal's credit bucket: a campaign, or one of the named places credit goes when there is none.
_BUCKET = f"""CASE WHEN di.lead_id IS NULL THEN '{SALES_SOURCED}'
                  WHEN NOT di.lead_known THEN '{UNKNOWN_LEAD}'
                  WHEN di.lead_campaign IS NULL THEN '{NO_CAMPAIGN}'{{window}}
                  ELSE 'campaign' END"""
# Inside the lookback: at most $lookback_days before the deal's creation (only when a lookback is set).
_IN_WINDOW = "{at} >= {deal_created} - to_days(CAST($lookback_days AS INTEGER))"


def _position_share(model: str) -> str:
    """A position-based model's share of one touch of `weighted` (roles is_first, is_lc, is_opp; n touches,
    lc_pos the lead-creation touch's position)."""
    first, lead, opp, rest = POSITION_MODELS[model]
    roles = f"({first} * w.is_first + {lead} * w.is_lc + {opp} * w.is_opp)"
    # touches holding no role take part in the rest; every role is always held, so the roles' own total is
    # the sum of their weights when nobody does
    if opp:
        no_role = "NOT (w.is_first = 1 OR w.is_lc = 1 OR w.is_opp = 1)"
        middles = "(w.n - 1 - (w.lc_pos NOT IN (1, w.n))::INTEGER - (w.n <> 1)::INTEGER)"
    else:
        no_role = "NOT (w.is_first = 1 OR w.is_lc = 1)"
        middles = "(w.n - 1 - (w.lc_pos <> 1)::INTEGER)"
    return (f"CASE WHEN {middles} = 0 THEN {roles}::DOUBLE / {first + lead + opp} "
            f"ELSE ({roles} + CASE WHEN {no_role} THEN {rest}::DOUBLE / {middles} ELSE 0 END) / 100.0 END")


def _credit_ctes(con: duckdb.DuckDBPyConnection, params: dict, lookback_days: int | None = None) -> str:
    """CTEs ending in `credit(deal_key, model, bucket, campaign_id, share)` over `deals_in`, the deals
    created or won in the period (flags is_created, is_won). With `lookback_days`, touches more than that
    many days before the deal's creation do not count ($lookback_days, $half_life_days bound by the caller)."""
    window = "" if lookback_days is None else f" AND {_IN_WINDOW.format(at='t.touched_at', deal_created='t.deal_created')}"
    lead_window = ("" if lookback_days is None else
                   f"\n                  WHEN NOT ({_IN_WINDOW.format(at='di.lead_created', deal_created='di.created_at')}) THEN '{UNATTRIBUTED}'")
    # without a lookback a deal with no touch that counts has none at all: no need to look (a semi-join over
    # every touch of the period's deals)
    untouched_bucket = ("ft.bucket, ft.campaign_id" if lookback_days is None else
                        f"CASE WHEN ft.deal_key IN (SELECT deal_key FROM every_touch) THEN '{UNATTRIBUTED}' "
                        "ELSE ft.bucket END, CASE WHEN ft.deal_key IN (SELECT deal_key FROM every_touch) THEN NULL "
                        "ELSE ft.campaign_id END")
    return f"""{lead_q(con, params, window=CREATED_WINDOW)}, {DEAL_ASOF},
    deals_in AS (  -- with the deal's lead read once (lead_known: loaded), not once per use below
        SELECT d.deal_id, d.deal_key, d.lead_id, d.lead_key, d.account, d.amount, d.created_at, d.closed_at, d.state,
               ({CREATED_IN_PERIOD}) AS is_created, ({WON_IN_PERIOD}) AS is_won,
               l.lead_id IS NOT NULL AS lead_known, l.campaign_id AS lead_campaign, l.created_at AS lead_created
        FROM deal_asof d LEFT JOIN leads l ON l.lead_key = d.lead_key
        WHERE ({CREATED_IN_PERIOD}) OR ({WON_IN_PERIOD})
    ),
    first_touch AS (
        SELECT di.deal_key, {_BUCKET.format(window=lead_window)} AS bucket,
               CASE WHEN {_BUCKET.format(window=lead_window)} = 'campaign' THEN di.lead_campaign END AS campaign_id
        FROM deals_in di
    ),
    deal_touches AS (
        SELECT di.deal_key, t.campaign_id, t.touched_at, di.created_at AS deal_created, di.lead_created
        FROM deals_in di
        -- the semi-join is implied by the join; without it DuckDB, which cannot estimate the CTE, built the
        -- join's hash table on every touch (18M rows at ten million leads) instead of the period's deals:
        -- the whole query 1.51 -> 0.92 s there
        JOIN (SELECT * FROM campaign_touches WHERE lead_key IN (SELECT lead_key FROM deals_in)) t
          ON t.lead_key = di.lead_key AND t.touched_at <= di.created_at
    ),
    every_touch AS (  -- whatever their age
        SELECT * FROM deal_touches
        UNION ALL  -- the first-touch campaign stands in for touches a lead never had recorded
        SELECT di.deal_key, di.lead_campaign, di.lead_created, di.created_at, di.lead_created
        FROM deals_in di
        WHERE di.lead_campaign IS NOT NULL AND di.deal_key NOT IN (SELECT deal_key FROM deal_touches)
    ),
    touches AS (  -- the ones that count: inside the lookback, when there is one
        SELECT * FROM every_touch t WHERE TRUE{window}
    ),
    numbered AS (
        SELECT t.deal_key, t.campaign_id, t.touched_at, t.deal_created, t.lead_created,
               row_number() OVER (PARTITION BY t.deal_key ORDER BY t.touched_at, t.campaign_id) AS pos,
               count(*) OVER (PARTITION BY t.deal_key) AS n
        FROM touches t
    ),
    -- per deal: the position of the lead-creation touch (last at or before the lead's creation, else first) and
    -- its newest touch's age. Grouped here and joined back rather than window aggregates: DuckDB's window
    -- operator costs ~20 ms per partitioning of the period's touches at a million leads, a GROUP BY a fraction
    roles AS (
        SELECT deal_key, coalesce(max(pos) FILTER (touched_at <= lead_created), 1) AS lc_pos,
               min(epoch(deal_created - touched_at)) AS newest
        FROM numbered GROUP BY deal_key
    ),
    weighted AS (
        SELECT nb.deal_key, nb.campaign_id, nb.n, r.lc_pos,
               (nb.pos = 1)::INTEGER AS is_first, (nb.pos = r.lc_pos)::INTEGER AS is_lc,
               (nb.pos = nb.n)::INTEGER AS is_opp,
               -- days before the deal, counted from the deal's newest touch so that no weight underflows to 0
               (epoch(nb.deal_created - nb.touched_at) - r.newest) / 86400.0 AS age_days
        FROM numbered nb JOIN roles r ON r.deal_key = nb.deal_key
    ),
    decay AS (
        SELECT deal_key, campaign_id, pow(2.0, -age_days / CAST($half_life_days AS DOUBLE)) AS weight FROM weighted
    ),
    decay_total AS (SELECT deal_key, sum(weight) AS total FROM decay GROUP BY deal_key),
    credit AS MATERIALIZED (  -- read by the figures and by share_check
        SELECT deal_key, 'first_touch' AS model, bucket, campaign_id, 1.0::DOUBLE AS share FROM first_touch
        UNION ALL
        SELECT deal_key, 'linear', 'campaign', campaign_id, 1.0::DOUBLE / n FROM weighted
        UNION ALL
        SELECT w.deal_key, 'w_shaped', 'campaign', w.campaign_id, {_position_share("w_shaped")} FROM weighted w
        UNION ALL
        SELECT w.deal_key, 'u_shaped', 'campaign', w.campaign_id, {_position_share("u_shaped")} FROM weighted w
        UNION ALL
        SELECT d.deal_key, 'time_decay', 'campaign', d.campaign_id, d.weight / t.total
        FROM decay d JOIN decay_total t ON t.deal_key = d.deal_key
        UNION ALL  -- deals with no touch that counts: touched only before the lookback → unattributed;
                   -- never touched → their first-touch bucket (no campaign, sales-sourced, unknown lead)
        SELECT ft.deal_key, m.model, {untouched_bucket}, 1.0::DOUBLE
        FROM first_touch ft CROSS JOIN (VALUES {", ".join(f"('{m}')" for m in MULTI_TOUCH)}) m(model)
        WHERE ft.deal_key NOT IN (SELECT deal_key FROM numbered)
    )"""


def _scope(period: Period, as_of: datetime, lookback_days: int | None, half_life_days: float) -> dict:
    """The bound parameters of the credit CTEs; refuses a lookback or half-life no model can use."""
    if lookback_days is not None and not 1 <= int(lookback_days) <= 3650:
        raise ValueError(f"a lookback is 1 to 3,650 days (got {lookback_days})")
    if not 0 < float(half_life_days) <= 3650:
        raise ValueError(f"a half-life is above 0 and at most 3,650 days (got {half_life_days})")
    params = scope_params(period, as_of) | {"half_life_days": float(half_life_days)}
    if lookback_days is not None:
        params["lookback_days"] = int(lookback_days)
    return params


# Every deal of the period has credit under every model, summing to 1: otherwise revenue would appear or vanish
# (a deal with no share at all would drop out of the rows silently). Credit rows only ever come from deals_in,
# so as many (deal, model) groups as deals × models means none is missing. A CTE, so the page's own query
# checks the credit it computes (a separate query computed every model twice: 40% of the page's time).
SHARE_CHECK = """share_check AS (
        SELECT coalesce(max(abs(total - 1)), 0) AS share_worst, count(*) AS share_groups,
               (SELECT count(*) FROM deals_in) AS share_deals
        FROM (SELECT deal_key, model, sum(share) AS total FROM credit GROUP BY deal_key, model)
    )"""
SHARE_CHECK_COLUMNS = ("share_worst", "share_groups", "share_deals")


def _assert_shares(worst: float, groups: int, deals: int) -> None:
    assert worst < 1e-9, f"attribution shares of a deal do not sum to 1 (off by {worst})"
    assert groups == deals * len(MODELS), f"{deals * len(MODELS) - groups} (deal, model) pairs have no credit"


def _check_shares(con: duckdb.DuckDBPyConnection, ctes: str, params: dict) -> None:
    _assert_shares(*one_row(run(con, f"WITH {ctes}, {SHARE_CHECK} SELECT * FROM share_check", params)))


@reads('records')
def deal_shares(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, lookback_days: int | None = None,
                half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> pd.DataFrame:
    """Every (deal, model, credited campaign) of the period with its share and credited amount — for tests
    and audits (unbounded: call it on small data; the page uses attribution_records)."""
    params = _scope(period, as_of, lookback_days, half_life_days)
    ctes = _credit_ctes(con, params, lookback_days)
    _check_shares(con, ctes, params)
    return run(con, f"""WITH {ctes}
        SELECT di.deal_id, c.model, c.bucket, c.campaign_id, sum(c.share) AS share,
               sum(c.share) * di.amount AS credited_amount
        FROM credit c JOIN deals_in di ON di.deal_key = c.deal_key
        GROUP BY di.deal_id, c.model, c.bucket, c.campaign_id, di.amount
        ORDER BY di.deal_id, c.model, c.campaign_id NULLS LAST""", params).df()


@dataclass
class Attribution(Figures):
    """`frame`: one row per campaign (or channel) with leads, quality_leads, cost and, for every model m,
    opportunities_<m>, won_revenue_<m>, return_<m>; plus cost_per_quality_lead. Totals reconcile with the
    period's deals: see the module docstring."""

    view: str = "campaign"
    lookback_days: int | None = None  # touches more than this many days before a deal did not count
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS  # of the time-decay model
    multi_touch: bool = True
    campaigns_loaded: bool = True  # without the campaigns table, cost is unknown, never $0
    won_caveat: str | None = None  # won revenue's caveat in a few words (core.metrics.pipeline.won_caveats)
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)

    def table(self, model: str) -> pd.DataFrame:
        """The view under one model, with plain column names."""
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}")
        base = ["key", "bucket", "name", "channel", "leads", "quality_leads", "opportunities", "won_revenue", "cost",
                "cost_per_quality_lead", "return"]
        if self.frame.empty:
            return pd.DataFrame(columns=base)
        out = self.frame.rename(columns={f"opportunities_{model}": "opportunities",
                                         f"won_revenue_{model}": "won_revenue", f"return_{model}": "return"})
        return out[base]

    def totals(self, model: str) -> dict[str, float | None]:
        """The whole period under one model: every row's leads, opportunities and won revenue (they add up
        to the period's), the campaigns' cost and the return on it (revenue credited to campaigns ÷ cost)."""
        t = self.table(model)
        if t.empty:
            return {k: None for k in ("leads", "quality_leads", "opportunities", "won_revenue", "cost",
                                      "campaign_won_revenue", "cost_per_quality_lead", "return")}
        campaigns = self.frame["bucket"] == "campaign"
        known = self.campaigns_loaded and bool(t.loc[campaigns, "cost"].notna().all())
        cost = float(t.loc[campaigns, "cost"].sum()) if known else None
        won = None if t["won_revenue"].isna().any() else float(t["won_revenue"].sum())
        campaign_won = None if won is None else float(t.loc[campaigns, "won_revenue"].sum())
        quality = int(t.loc[campaigns, "quality_leads"].sum())
        return {
            "leads": int(t["leads"].sum()),
            "quality_leads": int(t["quality_leads"].sum()),
            "opportunities": None if t["opportunities"].isna().any() else float(t["opportunities"].sum()),
            "won_revenue": won,
            "cost": cost,
            "campaign_won_revenue": campaign_won,
            "cost_per_quality_lead": cost / quality if cost is not None and quality else None,
            "return": campaign_won / cost if campaign_won is not None and cost else None,
        }


@reads('records', 'quality_definition')
def attribution(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, view: str = "campaign",
                lookback_days: int | None = None, half_life_days: float = DEFAULT_HALF_LIFE_DAYS) -> Attribution:
    """The period's attribution per campaign or channel under every model, touches limited to the last
    `lookback_days` before each deal when given (None: every touch), time decay halving every
    `half_life_days`."""
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}")
    present = tables_with_rows(con)
    result = Attribution(view=view, lookback_days=lookback_days, half_life_days=float(half_life_days))
    if "leads" not in present:
        result.notes.append(present.missing("leads") + " Without them no deal can be traced to a campaign.")
        return result
    if "deals" not in present:
        result.notes.append(present.missing("deals") + " Opportunities, won revenue and return are unknown.")
    if "campaign_touches" not in present:
        result.multi_touch = False
        result.notes.append(present.missing("campaign_touches") + " Linear and W-shaped credit are unknown.")
    if "campaigns" not in present:
        result.campaigns_loaded = False
        result.notes.append(present.missing("campaigns"))
    result.notes.extend(present.undated_notes("leads", "deals"))
    params = _scope(period, as_of, lookback_days, half_life_days)
    ctes = _credit_ctes(con, params, lookback_days)
    models = ", ".join(
        f"coalesce(sum(c.share) FILTER (c.model = '{m}' AND di.is_created), 0) AS opportunities_{m}, "
        f"coalesce(sum(c.share * di.amount) FILTER (c.model = '{m}' AND di.is_won), 0) AS won_revenue_{m}"
        for m in MODELS  # allow-listed model names
    )
    frame = run(con, f"""WITH {ctes}, {COHORT}, {SHARE_CHECK},
        first_touch_leads AS (
            SELECT CASE WHEN campaign_id IS NULL THEN '{NO_CAMPAIGN}' ELSE 'campaign' END AS bucket, campaign_id,
                   count(*) AS leads, count(*) FILTER (is_quality) AS quality_leads
            FROM cohort GROUP BY ALL
        ),
        credited AS (
            SELECT c.bucket, c.campaign_id, {models}
            FROM credit c JOIN deals_in di ON di.deal_key = c.deal_key GROUP BY ALL
        ),
        spend AS (  -- cost spread evenly over the campaign's days; the period gets its days up to as-of
            SELECT campaign_id, name, channel, cost,
                   greatest(datediff('day', started_on, coalesce(ended_on, CAST($as_of AS DATE))) + 1, 0) AS days,
                   greatest(datediff('day', greatest(started_on, CAST($start AS DATE)),
                            least(coalesce(ended_on, CAST($as_of AS DATE)), CAST($end AS DATE) - 1, CAST($as_of AS DATE))) + 1, 0)
                       AS days_in_period
            FROM campaigns
        ),
        keys AS (
            SELECT bucket, campaign_id FROM first_touch_leads UNION SELECT bucket, campaign_id FROM credited
            UNION SELECT 'campaign', campaign_id FROM spend WHERE days_in_period > 0
        )
        SELECT k.bucket, k.campaign_id,
               CASE WHEN k.bucket = 'campaign' THEN coalesce(s.name, k.campaign_id) ELSE k.bucket END AS name,
               CASE WHEN k.bucket = 'campaign' THEN coalesce(s.channel, $not_loaded) ELSE k.bucket END AS channel,
               coalesce(co.leads, 0) AS leads, coalesce(co.quality_leads, 0) AS quality_leads,
               CASE WHEN k.bucket <> 'campaign' THEN NULL
                    WHEN s.days > 0 THEN s.cost * s.days_in_period / s.days
                    WHEN s.campaign_id IS NOT NULL THEN 0.0 * s.cost END AS cost,
               {", ".join(f"coalesce(cr.opportunities_{m}, 0) AS opportunities_{m}, coalesce(cr.won_revenue_{m}, 0) AS won_revenue_{m}" for m in MODELS)},
               sc.*
        FROM keys k
        LEFT JOIN first_touch_leads co ON co.bucket = k.bucket AND co.campaign_id IS NOT DISTINCT FROM k.campaign_id
        LEFT JOIN credited cr ON cr.bucket = k.bucket AND cr.campaign_id IS NOT DISTINCT FROM k.campaign_id
        LEFT JOIN spend s ON s.campaign_id = k.campaign_id AND k.bucket = 'campaign'
        CROSS JOIN share_check sc
        """, params | {"not_loaded": NOT_LOADED}).df()
    if len(frame):  # no row: no lead, deal or campaign in the period, so no credit to check
        _assert_shares(*(frame[c].iloc[0] for c in SHARE_CHECK_COLUMNS))
    frame = frame.drop(columns=list(SHARE_CHECK_COLUMNS))
    if view == "channel":
        frame["cost_known"] = frame["cost"].notna()
        frame = frame.groupby("channel", as_index=False, dropna=False).agg(
            {"bucket": "first", "leads": "sum", "quality_leads": "sum", "cost": "sum", "cost_known": "all",
             **{f"{k}_{m}": "sum" for m in MODELS for k in ("opportunities", "won_revenue")}})
        frame.loc[~frame["cost_known"], "cost"] = None  # one campaign of unknown cost makes the channel's unknown
        frame["key"] = frame["channel"]
        frame["name"] = frame["channel"]
        frame = frame.drop(columns="cost_known")
    else:
        frame["key"] = [c if b == "campaign" else b for b, c in zip(frame["bucket"], frame["campaign_id"])]
    frame["cost"] = frame["cost"].astype("float64")
    frame["cost_per_quality_lead"] = [c / q if q and pd.notna(c) else None
                                      for c, q in zip(frame["cost"], frame["quality_leads"])]
    for m in MODELS:
        frame[f"return_{m}"] = [w / c if pd.notna(c) and c > 0 else None for w, c in zip(frame[f"won_revenue_{m}"], frame["cost"])]
        if m in MULTI_TOUCH and not result.multi_touch:
            frame[f"opportunities_{m}"] = None
            frame[f"won_revenue_{m}"] = None
            frame[f"return_{m}"] = None
    if "deals" not in present:
        for m in MODELS:
            frame[f"opportunities_{m}"] = frame[f"won_revenue_{m}"] = frame[f"return_{m}"] = None
    else:  # the credited revenue is the period's won revenue, with its caveats (no amount, one deal carrying it)
        won, _, won_notes, result.won_caveat = won_revenue(con, period, as_of)
        result.notes.extend(won_notes)
        if won is None:
            for m in MODELS:
                frame[f"won_revenue_{m}"] = frame[f"return_{m}"] = None
    frame = frame.astype({c: "float64" for c in frame.columns if c.startswith(("return_", "won_revenue_", "opportunities_"))}
                         | {"cost_per_quality_lead": "float64"})
    frame["_special"] = frame["bucket"] != "campaign"  # the named buckets after the campaigns
    frame = frame.sort_values(["_special", "won_revenue_first_touch", "leads", "key"],
                              ascending=[True, False, False, True], na_position="last")
    result.frame = frame.drop(columns="_special").reset_index(drop=True)
    if lookback_days is not None:
        result.notes.append(f"With a {lookback_days}-day lookback, touches more than {lookback_days} days before a "
                            f"deal's creation do not count (first touch: the lead's creation); a deal whose every "
                            f"touch is older is credited to the row '{UNATTRIBUTED}', not dropped.")
    unknown = int((frame["cost"].isna() & (frame["bucket"] == "campaign")).sum())
    if unknown:
        result.notes.append(f"{unknown} row(s) have no recorded campaign cost, so their cost per quality lead and "
                            "return are undefined.")
    return result


@reads('records', 'quality_definition')
def attribution_records(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    as_of: datetime,
    model: str,
    view: str,
    key: str,
    limit: int = RECORDS_LIMIT,
    lookback_days: int | None = None,
    half_life_days: float = DEFAULT_HALF_LIFE_DAYS,
) -> Records:
    """The period's deals credited to one row of the attribution table (a campaign id or bucket name in the
    campaign view, a channel in the channel view) under `model`: share, credited opportunity and revenue.
    The first `limit` by credited amount, with the total count."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}")
    if view not in VIEWS:
        raise ValueError(f"unknown view {view!r}")
    if not {"leads", "deals"} <= tables_with_rows(con):
        return Records(frame=pd.DataFrame(), total=0, limit=limit)
    params = _scope(period, as_of, lookback_days, half_life_days) | {"model": model, "key": key, "limit": int(limit),
                                                                    "not_loaded": NOT_LOADED}
    if view == "campaign":
        match = "(CASE WHEN c.bucket = 'campaign' THEN c.campaign_id ELSE c.bucket END) = $key"
    else:
        match = ("(CASE WHEN c.bucket = 'campaign' THEN coalesce(cp.channel, $not_loaded) ELSE c.bucket END) = $key")
    base = f"""WITH {_credit_ctes(con, params, lookback_days)}
        SELECT di.deal_id, di.account, di.lead_id, c.campaign_id, coalesce(cp.name, c.campaign_id) AS campaign,
               di.amount, sum(c.share) AS share,
               CASE WHEN di.is_created THEN sum(c.share) ELSE 0 END AS credited_opportunity,
               CASE WHEN di.is_won THEN sum(c.share) * di.amount ELSE 0 END AS credited_won_revenue,
               di.created_at, di.closed_at, di.state, di.is_created AS created_in_period, di.is_won AS won_in_period
        FROM credit c JOIN deals_in di ON di.deal_key = c.deal_key
        LEFT JOIN campaigns cp ON cp.campaign_id = c.campaign_id
        WHERE c.model = $model AND {match}
        GROUP BY di.deal_id, di.account, di.lead_id, c.campaign_id, cp.name, di.amount, di.created_at,
                 di.closed_at, di.state, di.is_created, di.is_won"""
    # campaign_id last: a channel's list holds a deal once per campaign of that channel, in a stable order
    return bounded(con, base, "credited_won_revenue DESC, amount DESC, deal_id, campaign_id", params)

