"""The obvious alternative to Accord (issue 13): the same figures from a straightforward, vectorised pandas
implementation — load the tables a figure needs from the DuckDB file into DataFrames (loading is part of its
time), then compute with pandas. No SQL beyond `SELECT columns FROM table`; of `core` only the calendar
(core.periods: quarters and months, no figure) is imported, so the numbers are an independent re-derivation of
METRICS.md (bench/compare.py asserts they equal Accord's).

Figure sets (FIGURE_SETS), one per page plus the report command's JSON:
- report       goal / won revenue / attainment, cohort funnel, response SLA, delivery, pipeline (the Overview)
- goals        stage actuals: leads, quality leads, accepted (cohort), deals created, deals won in the period
- sla          response SLA by team (the owner's team)
- pipeline     cohort funnel for the period, the previous one and the trailing 365 days (+ the deals beside it)
- attribution  first-touch leads, quality leads, opportunities and won revenue per campaign of the period
- quality      back-test of the definition in force over the page's default range (a year of creation days)

    python bench/pandas_alt.py report --db PATH --period 2026-Q3 [--as-of 2026-09-30T12:00] [--stall-days 30]

prints the report's JSON fields (core/report.py REPORT_FIELDS; figures only, no notes). Effective-dated
quality definitions and SLA policies are read from `edit_versions` and applied per lead, as Accord does;
excluded records (`exclusions`) are dropped. Importer-stamped creation dates (`import_stamps`) are not
supported (the demo has none): a database that has them is refused rather than miscounted.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from anywhere
from core.periods import Period, parse_period  # noqa: E402

TRAILING_YEAR = timedelta(days=365)
BACKTEST_DAYS = 364  # the Quality page's default range: a year of creation days up to as-of, inclusive
ACCEPTED_STATUSES = ["accepted", "converted"]
FUNNEL_STAGES = ("leads", "quality_leads", "accepted", "opportunities", "won")


# --- periods (Accord's own period arithmetic: a calendar, not a figure) ------------------------------------

def trailing_year(as_of: datetime) -> Period:
    """The 365 days up to and including as-of."""
    return Period("trailing year", as_of - TRAILING_YEAR, as_of + timedelta(microseconds=1))


# --- loading -----------------------------------------------------------------------------------------------

def load(con: duckdb.DuckDBPyConnection, table: str, columns: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """A whole table's columns as a DataFrame (excluded records dropped): the analyst's `SELECT … FROM t`."""
    frame = con.execute(f"SELECT {', '.join(dict.fromkeys(columns))} FROM {table}").df()
    key = {"leads": "lead_id", "deals": "deal_id"}.get(table)
    if key is not None:
        excluded = con.execute("SELECT record_id FROM exclusions WHERE table_name = ?", [table]).df()["record_id"]
        if len(excluded):
            frame = frame[~frame[key].isin(excluded)]
        if con.execute("SELECT count(*) FROM import_stamps WHERE table_name = ?", [table]).fetchone()[0]:
            raise NotImplementedError(f"{table} has importer-stamped creation dates: not supported here")
    return frame


def schedule(con: duckdb.DuckDBPyConnection, kind: str, subject: str = "default") -> list[tuple[datetime, dict]]:
    """Effective-dated versions, oldest first: for each effective_from, the latest version saved for it."""
    rows = con.execute("SELECT version, effective_from, body FROM edit_versions WHERE kind = ? AND subject = ?",
                       [kind, subject]).df()
    rows = rows.sort_values(["effective_from", "version"]).groupby("effective_from", as_index=False).last()
    return [(ts.to_pydatetime(), json.loads(body)) for ts, body in zip(rows["effective_from"], rows["body"])]


def in_force_at(versions: list[tuple[datetime, dict]], moment: datetime) -> dict | None:
    found = versions[0][1] if versions else None
    for effective_from, body in versions:
        if effective_from <= moment:
            found = body
    return found


def by_schedule(versions: list[tuple[datetime, dict]], moments: pd.Series, value) -> pd.Series:
    """`value(body)` (a Series or scalar) of the version in force at each of `moments` (the oldest covers all
    before it)."""
    out = pd.Series(value(versions[0][1]), index=moments.index)
    for effective_from, body in versions[1:]:
        out = out.where(moments < effective_from, value(body))
    return out


def goal_revenue(con: duckdb.DuckDBPyConnection, period: Period) -> float | None:
    quarter = period.quarter()
    row = con.execute("SELECT body FROM edit_versions WHERE kind = 'goal' AND subject = ? ORDER BY version DESC "
                      "LIMIT 1", [quarter.label]).fetchone()
    return None if row is None else json.loads(row[0])["revenue"] * period.days / quarter.days


# --- the quality-lead definition ---------------------------------------------------------------------------

DEFINITION_COLUMNS = {"min_score": "score", "employees_min": "employees", "employees_max": "employees",
                      "industries": "industry", "seniorities": "seniority", "countries": "country",
                      "demo_required": "demo_requested", "demo_fast_track": "demo_requested", "crm_qualified": "mql_at",
                      "exclude_industries": "industry", "exclude_countries": "country", "exclude_sources": "source"}


def _flag(s: pd.Series) -> pd.Series:
    return s.fillna(False).astype(bool)


def definition_columns(versions: list[tuple[datetime, dict]]) -> list[str]:
    return list(dict.fromkeys(DEFINITION_COLUMNS[k] for _, body in versions for k, v in body.items()
                              if k in DEFINITION_COLUMNS and v not in (None, False, [])))


def qualifies(leads: pd.DataFrame, d: dict, as_of: datetime) -> pd.Series:
    """METRICS.md's quality lead under one definition: every fit criterion set holds, or a fast track; no
    exclusion holds. A criterion on a missing value is not met (and does not exclude)."""
    fits = []
    if d.get("min_score") is not None:
        fits.append(leads["score"] >= d["min_score"])
    if d.get("employees_min") is not None:
        fits.append(leads["employees"] >= d["employees_min"])
    if d.get("employees_max") is not None:
        fits.append(leads["employees"] <= d["employees_max"])
    for key, column in (("industries", "industry"), ("seniorities", "seniority"), ("countries", "country")):
        if d.get(key):
            fits.append(leads[column].isin(d[key]))
    if d.get("demo_required"):
        fits.append(leads["demo_requested"].eq(True))
    ways = []
    if fits:
        ways.append(np.logical_and.reduce([_flag(f) for f in fits]))
    if d.get("demo_fast_track"):
        ways.append(_flag(leads["demo_requested"].eq(True)))
    if d.get("crm_qualified"):
        ways.append(leads["mql_at"].notna() & (leads["mql_at"] <= as_of))
    ok = pd.Series(np.logical_or.reduce(ways) if ways else False, index=leads.index)
    for key, column in (("exclude_industries", "industry"), ("exclude_countries", "country"),
                        ("exclude_sources", "source")):
        if d.get(key):
            ok &= ~_flag(leads[column].isin(d[key]))
    return ok


def judge_leads(leads: pd.DataFrame, versions: list[tuple[datetime, dict]], as_of: datetime) -> pd.DataFrame:
    """Leads created by as-of with `is_quality` (the definition in force at created_at) and `clock_start`
    (assigned_at once stamped by as-of, else created_at) where those columns were loaded."""
    leads = leads[leads["created_at"] <= as_of].copy()
    if not versions:
        leads["is_quality"] = False
    else:
        leads["is_quality"] = by_schedule(versions, leads["created_at"], lambda body: qualifies(leads, body, as_of))
    if "assigned_at" in leads:
        assigned = leads["assigned_at"]
        leads["clock_start"] = assigned.where(assigned.notna() & (assigned <= as_of), leads["created_at"])
    return leads


def lead_columns(con: duckdb.DuckDBPyConnection, *extra: str) -> tuple[list[str], list[tuple[datetime, dict]]]:
    versions = schedule(con, "quality_definition")
    return ["lead_id", "created_at", *definition_columns(versions), *extra], versions


# --- deals -------------------------------------------------------------------------------------------------

DEAL_COLUMNS = ["deal_id", "lead_id", "created_at", "amount", "stage", "expected_close_on", "closed_at"]


def deals_as_of(deals: pd.DataFrame, as_of: datetime) -> pd.DataFrame:
    """Deals created by as-of in the state they had then: a deal closed later was open."""
    d = deals[deals["created_at"] <= as_of].copy()
    closed = d["closed_at"].notna() & (d["closed_at"] <= as_of)
    d["state"] = np.where(closed & (d["stage"] == "closed_won"), "won",
                          np.where(closed & (d["stage"] == "closed_lost"), "lost", "open"))
    d["closed_at"] = d["closed_at"].where(closed)
    return d


def member(s: pd.Series, values: pd.Series) -> pd.Series:
    """`s.isin(values)` as a hash lookup: pandas 3's isin over Arrow-backed strings walks `values` in Python
    (3.9 s for a million ids), which no analyst would keep once they saw it."""
    return pd.Series(pd.Index(values.dropna().unique()).get_indexer(s) >= 0, index=s.index)


def _in(ts: pd.Series, start, end) -> pd.Series:
    return (ts >= start) & (ts < end)


# --- the figures -------------------------------------------------------------------------------------------

def cohort_funnel(leads: pd.DataFrame, deals: pd.DataFrame, window: Period) -> dict:
    """The cohort funnel of the leads created in `window` (judged leads, deals as of), with the deals beside."""
    c = leads[_in(leads["created_at"], window.start, window.end)]
    has_deal = member(c["lead_id"], deals["lead_id"])
    has_won = member(c["lead_id"], deals.loc[deals["state"] == "won", "lead_id"])
    q = c["is_quality"]
    created = deals[_in(deals["created_at"], window.start, window.end)]
    sales_sourced = created["lead_id"].isna()
    return {
        "leads": len(c),
        "quality_leads": int(q.sum()),
        "accepted": int((q & (c["status"].isin(ACCEPTED_STATUSES) | has_deal)).sum()),
        "opportunities": int((q & has_deal).sum()),
        "won": int((q & has_won).sum()),
        "unqualified_opportunities": int((~q & has_deal).sum()),
        "unqualified_won": int((~q & has_won).sum()),
        "sales_sourced_deals": int(sales_sourced.sum()),
        "sales_sourced_won": int((sales_sourced & (created["state"] == "won")).sum()),
    }


def _ratio(a, b):
    return None if a is None or not b else a / b


def _num(x):
    """A plain Python number (None for NaN)."""
    if x is None:
        return None
    x = x.item() if hasattr(x, "item") else x
    return None if isinstance(x, float) and math.isnan(x) else x


def sla_rows(leads: pd.DataFrame, activities: pd.DataFrame, policies: list[tuple[datetime, dict]],
             period: Period, as_of: datetime) -> pd.DataFrame:
    """One row per quality lead whose SLA clock started in the period (by as-of): first touch, attempts, status."""
    q = leads[leads["is_quality"] & _in(leads["clock_start"], period.start, period.end)
              & (leads["clock_start"] <= as_of)].copy()
    hours = by_schedule(policies, q["clock_start"], lambda p: p["response_hours"])
    days = by_schedule(policies, q["clock_start"], lambda p: p["attempt_days"])
    q["min_attempts"] = by_schedule(policies, q["clock_start"], lambda p: p["min_attempts"])
    q["deadline"] = q["clock_start"] + pd.to_timedelta(hours * 3600, unit="s")
    q["attempts_until"] = q["clock_start"] + pd.to_timedelta(days * 86400, unit="s")
    acts = activities[member(activities["lead_id"], q["lead_id"]) & (activities["occurred_at"] <= as_of)]
    acts = acts.merge(q[["lead_id", "clock_start", "attempts_until"]], on="lead_id")
    acts = acts[acts["occurred_at"] >= acts["clock_start"]]
    touched = pd.DataFrame({"first_touch_at": acts.groupby("lead_id")["occurred_at"].min(),
                            "attempts": (acts["occurred_at"] <= acts["attempts_until"]).groupby(acts["lead_id"]).sum()})
    q = q.merge(touched, left_on="lead_id", right_index=True, how="left")
    q["attempts"] = q["attempts"].fillna(0)
    met = q["first_touch_at"] <= q["deadline"]
    q["sla_status"] = np.where(met, "met", np.where(q["deadline"] <= as_of, "breached", "pending"))
    q["hours_to_first_touch"] = (q["first_touch_at"] - q["clock_start"]).dt.total_seconds() / 3600.0
    q["attempt_window_closed"] = q["attempts_until"] <= as_of
    q["under_worked"] = q["attempt_window_closed"] & (q["attempts"] < q["min_attempts"])
    q["never_touched"] = (q["sla_status"] == "breached") & q["first_touch_at"].isna()
    return q


def _sla_figures(g: pd.DataFrame, as_of: datetime) -> dict:
    met, breached = int((g["sla_status"] == "met").sum()), int((g["sla_status"] == "breached").sum())
    hours = g["hours_to_first_touch"].dropna()
    closed = g["attempt_window_closed"]
    # routing: created -> assigned, assigned by as-of and not before creation; the distribution over touched leads
    routed = g[g["assigned_at"].notna() & (g["assigned_at"] <= as_of) & (g["assigned_at"] >= g["created_at"])]
    routing = (routed["assigned_at"] - routed["created_at"]).dt.total_seconds() / 3600.0
    seconds = (g["first_touch_at"] - g["clock_start"]).dt.total_seconds().dropna()
    within = {f"within_{k}_share": _ratio(int((seconds <= limit).sum()), len(seconds))
              for k, limit in (("5m", 300), ("1h", 3600), ("24h", 86400))}
    return {
        "median_routing_hours": _num(routing.quantile(0.5)) if len(routing) else None,
        "p90_routing_hours": _num(routing.quantile(0.9)) if len(routing) else None,
        "routed_leads": len(routing), "touched_leads": len(seconds), **within,
        "quality_leads": len(g), "met": met, "breached": breached, "pending": int((g["sla_status"] == "pending").sum()),
        "compliance": _ratio(met, met + breached),
        "median_hours_to_first_touch": _num(hours.quantile(0.5)) if len(hours) else None,
        "p90_hours_to_first_touch": _num(hours.quantile(0.9)) if len(hours) else None,
        "never_touched": int(g["never_touched"].sum()), "attempt_windows_closed": int(closed.sum()),
        "avg_attempts": _num(g.loc[closed, "attempts"].mean()) if closed.any() else None,
        "under_worked": int(g["under_worked"].sum()),
    }


def owner_team(owner_id: pd.Series, reps: pd.DataFrame) -> pd.Series:
    team = owner_id.map(reps.set_index("rep_id")["team"])
    known = member(owner_id, reps["rep_id"])
    return pd.Series(np.where(owner_id.isna(), "unassigned", np.where(~known, "rep not loaded",
                                                                        team.fillna("(not set)"))), index=owner_id.index)


def pipeline_figures(deals: pd.DataFrame, history: pd.DataFrame, period: Period, as_of: datetime,
                     goal: float | None, won_revenue: float | None, stall_days: int, lost_recorded: bool) -> dict:
    d = deals
    open_ = d["state"] == "open"
    expected = d["expected_close_on"]
    in_period = open_ & (expected >= pd.Timestamp(period.start.date())) & (expected < pd.Timestamp(period.end.date()))
    open_all, undated = int(open_.sum()), int((open_ & expected.isna()).sum())
    open_amount = None if not open_all or undated == open_all else float(d.loc[in_period, "amount"].sum())
    entered = history[history["entered_at"] <= as_of].groupby("deal_id")["entered_at"].max()
    stage_entered = d["deal_id"].map(entered).fillna(d["created_at"])
    stalled = int((open_ & (stage_entered < as_of - timedelta(days=stall_days))).sum()) if len(history) else None
    year = (d["closed_at"] > as_of - TRAILING_YEAR) & (d["closed_at"] <= as_of)
    won_year, lost_year = year & (d["state"] == "won"), year & (d["state"] == "lost")
    won_n, lost_n = int(won_year.sum()), int(lost_year.sum())
    rate = _ratio(won_n, won_n + lost_n) if lost_recorded else None
    sizes = d.loc[won_year & (d["amount"] > 0), "amount"]
    size = float(sizes.mean()) if len(sizes) else None
    cycles = (d.loc[won_year, "closed_at"] - d.loc[won_year, "created_at"]).dt.total_seconds() / 86400.0
    cycle = float(cycles.mean()) if len(cycles) else None
    coverage = None
    if period.end > as_of and open_amount is not None and won_revenue is not None and goal is not None:
        coverage = open_amount / (goal - won_revenue) if goal - won_revenue > 0 else None
    velocity = (open_all * rate * size / cycle if rate is not None and size is not None and cycle else None)
    return {"open_amount": open_amount, "coverage": coverage, "stalled_deals": stalled, "win_rate": rate,
            "velocity_per_day": velocity}


def won_in(deals: pd.DataFrame, period: Period) -> pd.Series:
    return (deals["state"] == "won") & _in(deals["closed_at"], period.start, period.end)


def _won_revenue(deals: pd.DataFrame, period: Period) -> float | None:
    won = deals.loc[won_in(deals, period), "amount"]
    return None if len(won) and (won.fillna(0) == 0).all() else float(won.sum())


def committed(policies: list[tuple[datetime, dict]], period: Period) -> int | None:
    total = 0
    for month in period.months():
        body = in_force_at(policies, month.start)
        if body is None or body.get("monthly_quality_commitment") is None:
            return None
        total += body["monthly_quality_commitment"]
    return total


# --- the figure sets (each: load what it needs, then compute) ----------------------------------------------

def report(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime, stall_days: int = 30) -> dict:
    """The report command's JSON figures (core/report.py REPORT_FIELDS, without notes)."""
    columns, versions = lead_columns(con, "status", "assigned_at")
    leads = judge_leads(load(con, "leads", columns), versions, as_of)
    raw_deals = load(con, "deals", DEAL_COLUMNS)
    lost_recorded = bool((raw_deals["stage"] == "closed_lost").any())  # any lost deal at all, whenever
    deals = deals_as_of(raw_deals, as_of)
    activities = load(con, "activities", ["lead_id", "occurred_at"])
    history = load(con, "deal_stage_history", ["deal_id", "entered_at"])
    policies = schedule(con, "sla_policy")

    goal = goal_revenue(con, period)
    won = _won_revenue(deals, period)
    cohort = cohort_funnel(leads, deals, period)
    sla = _sla_figures(sla_rows(leads, activities, policies, period, as_of), as_of)
    promised = committed(policies, period)
    return {
        "period": {"label": period.label, "start": period.start.date().isoformat(),
                   "end": period.end.date().isoformat()},
        "as_of": as_of.isoformat(),
        "goal": {"revenue": goal, "won_revenue": won, "attainment": _ratio(won, goal)},
        "funnel": {k: cohort[k] for k in FUNNEL_STAGES},
        "sla": {k: sla[k] for k in ("met", "breached", "pending", "compliance", "median_hours_to_first_touch",
                                    "p90_hours_to_first_touch", "median_routing_hours", "p90_routing_hours",
                                    "within_5m_share", "within_1h_share", "within_24h_share")},
        "delivery": {"quality_leads": cohort["quality_leads"], "committed": promised,
                     "delivery": _ratio(cohort["quality_leads"], promised)},
        "pipeline": pipeline_figures(deals, history, period, as_of, goal, won, stall_days, lost_recorded),
    }


def goals(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> dict:
    """Goals page: stage actuals to date (cohort leads / quality / accepted; deals created and won in period)."""
    columns, versions = lead_columns(con, "status")
    leads = judge_leads(load(con, "leads", columns), versions, as_of)
    deals = deals_as_of(load(con, "deals", DEAL_COLUMNS), as_of)
    cohort = cohort_funnel(leads, deals, period)
    return {"leads": cohort["leads"], "quality_leads": cohort["quality_leads"], "accepted": cohort["accepted"],
            "opportunities": int(_in(deals["created_at"], period.start, period.end).sum()),
            "won": int(won_in(deals, period).sum())}


def sla_by_team(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> pd.DataFrame:
    """SLA page: the response-SLA figures per team of the lead's owner, by team."""
    columns, versions = lead_columns(con, "assigned_at", "owner_id")
    leads = judge_leads(load(con, "leads", columns), versions, as_of)
    activities = load(con, "activities", ["lead_id", "occurred_at"])
    reps = load(con, "reps", ["rep_id", "team"])
    rows = sla_rows(leads, activities, schedule(con, "sla_policy"), period, as_of)
    rows["team"] = owner_team(rows["owner_id"], reps)
    return pd.DataFrame([{"team": team, **_sla_figures(g, as_of)} for team, g in rows.groupby("team", sort=True)])


def funnel_comparison(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> dict:
    """Pipeline page: the cohort funnel of the period, the previous period and the trailing year."""
    columns, versions = lead_columns(con, "status")
    leads = judge_leads(load(con, "leads", columns), versions, as_of)
    deals = deals_as_of(load(con, "deals", DEAL_COLUMNS), as_of)
    windows = {"this": period, "previous": period.previous(), "year": trailing_year(as_of)}
    return {name: cohort_funnel(leads, deals, window) for name, window in windows.items()}


def attribution(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> pd.DataFrame:
    """Attribution page (first touch): per campaign, the cohort's leads and quality leads; deals created and
    revenue won in the period, credited to the deal's lead's first-touch campaign or to a named bucket."""
    columns, versions = lead_columns(con, "campaign_id")
    raw = load(con, "leads", columns)
    leads = judge_leads(raw, versions, as_of)
    cohort = leads[_in(leads["created_at"], period.start, period.end)]
    lead_key = cohort["campaign_id"].fillna("(no campaign)")
    counts = cohort.groupby(lead_key).agg(leads=("lead_id", "size"), quality_leads=("is_quality", "sum"))
    deals = deals_as_of(load(con, "deals", DEAL_COLUMNS), as_of)
    created, won = _in(deals["created_at"], period.start, period.end), won_in(deals, period)
    d = deals[created | won]
    campaign = d["lead_id"].map(raw.set_index("lead_id")["campaign_id"])
    bucket = np.where(d["lead_id"].isna(), "sales-sourced",
                      np.where(~member(d["lead_id"], raw["lead_id"]), "unknown lead",
                               np.where(campaign.isna(), "(no campaign)", campaign)))
    credit = pd.DataFrame({"key": bucket, "opportunities": created[d.index].astype(int),
                           "won_revenue": d["amount"].where(won[d.index], 0.0)})
    credited = credit.groupby("key").sum()
    out = counts.join(credited, how="outer").fillna(0).rename_axis("key").reset_index()
    out = out.astype({"leads": "int64", "quality_leads": "int64", "opportunities": "int64"})
    return out.sort_values(["won_revenue", "leads", "key"], ascending=[False, False, True]).reset_index(drop=True)


def backtest_range(first_created: datetime, as_of: datetime) -> tuple[datetime, datetime]:
    """The Quality page's default back-test range: a year of creation days up to as-of's, [start, end)."""
    last = as_of.date()
    first = max(min(first_created.date(), last), last - timedelta(days=BACKTEST_DAYS))
    return datetime.combine(first, datetime.min.time()), datetime.combine(last + timedelta(days=1), datetime.min.time())


def backtest(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> dict:
    """Quality page: the definition in force at as-of applied to every lead created in the default range, and
    how those leads converted by as-of (`period` is not used: the range is the trailing year of days)."""
    versions = schedule(con, "quality_definition")
    definition = in_force_at(versions, as_of)
    columns = ["lead_id", "created_at", *definition_columns([(as_of, definition)])]
    leads = load(con, "leads", columns)
    start, end = backtest_range(leads["created_at"].min().to_pydatetime(), as_of)
    leads = leads[_in(leads["created_at"], start, end) & (leads["created_at"] <= as_of)]
    q = qualifies(leads, definition, as_of)
    deals = deals_as_of(load(con, "deals", DEAL_COLUMNS), as_of)
    linked = deals[deals["lead_id"].notna()]
    won = linked[linked["state"] == "won"]
    won_deals = leads["lead_id"].map(won.groupby("lead_id").size()).fillna(0)
    won_revenue = leads["lead_id"].map(won.groupby("lead_id")["amount"].sum()).fillna(0.0)
    has_opp = member(leads["lead_id"], linked["lead_id"])
    return {"start": start, "end": end, "leads": len(leads), "quality_leads": int(q.sum()),
            "opportunities": int((q & has_opp).sum()), "won_leads": int((q & (won_deals > 0)).sum()),
            "won_deals": int(won_deals[q].sum()), "won_revenue": float(won_revenue[q].sum())}


FIGURE_SETS = {"report": report, "goals": goals, "sla": sla_by_team, "pipeline": funnel_comparison,
               "attribution": attribution, "quality": backtest}


def _as_of(con: duckdb.DuckDBPyConnection, text: str | None) -> datetime:
    if text is None:
        row = con.execute("SELECT value FROM meta WHERE key = 'as_of'").fetchone()
        if row is None:
            raise SystemExit("error: the database stores no as-of; pass --as-of")
        text = row[0]
    return datetime.fromisoformat(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python bench/pandas_alt.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cmd = sub.add_parser("report", help="Print the report's figures as JSON (pandas).")
    cmd.add_argument("--db", required=True)
    cmd.add_argument("--period", required=True)
    cmd.add_argument("--as-of", dest="as_of", default=None)
    cmd.add_argument("--stall-days", dest="stall_days", type=int, default=30)
    args = parser.parse_args(argv)
    con = duckdb.connect(args.db, read_only=True)
    try:
        out = report(con, parse_period(args.period), _as_of(con, args.as_of), args.stall_days)
    finally:
        con.close()
    sys.stdout.write(json.dumps(out, indent=2, allow_nan=False, default=_num) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
