"""Team and rep targets with a leaderboard (issue 15, item 4): the period's sales targets — won revenue (the
goal), deals won and deals created (the cascade's sales stages) — split between teams and reps, progress and
pace per rep.

Choices (also in docs/metrics-notes.md, "Team and rep targets"):
- A deal belongs to its owner (deals.owner_id → reps): the rep who works it; a deal without a known owner
  counts for nobody's target, and its trailing year is left out of the shares.
- By default each team's share of a stage is its share of that stage over the trailing year (won revenue for
  the revenue target, deals won for the won-deal target, deals created for the opportunity target), and each
  rep's share of the team's is theirs within the team. A team (or a team's reps) with no trailing year at all
  shares equally, so a target never vanishes because history is missing.
- A sales manager may fix a team's share of the whole or a rep's share of the team (kind 'rep_targets', the
  quarter as subject, through the write path). The others keep their trailing-year proportions of what is
  left, so reps still add up to their team and teams to the whole — unless fixed shares leave part of a target
  to nobody, which a note then says.
- Pace per rep is actual to date ÷ (target × share of the period elapsed); the status words and thresholds are
  the headline's (core.metrics.forecast.pace_status).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import duckdb

from core import edits
from core.db import reads
from core.metrics.forecast import STATUS_WORDS, pace_status
from core.metrics.goals import goal_plan
from core.metrics.pipeline import won_revenue
from core.models import RepTargets
from core.periods import Period
from core.semantic.blocks import (
    CLOSED_IN_TRAILING_YEAR,
    CREATED_IN_PERIOD,
    DEAL_ASOF,
    WON_IN_PERIOD,
    Figures,
    Present,
    ratio,
    run,
    scope_params,
    tables_with_rows,
)

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use (core.lazy)
    from core.lazy import pandas as pd

KIND = "rep_targets"
# stage → (its trailing-year weight column, its actual column)
STAGES: dict[str, tuple[str, str]] = {
    "revenue": ("year_revenue", "revenue"),
    "won": ("year_won", "won"),
    "opportunities": ("year_created", "created"),
}

_ROWS_SQL = f"""WITH {DEAL_ASOF}
    SELECT r.rep_id, r.name, r.team,
           coalesce(sum(d.amount) FILTER (d.state = 'won' AND {CLOSED_IN_TRAILING_YEAR}), 0) AS year_revenue,
           count(d.deal_id) FILTER (d.state = 'won' AND {CLOSED_IN_TRAILING_YEAR}) AS year_won,
           count(d.deal_id) FILTER (d.created_known AND d.created_at > $year_start) AS year_created,
           coalesce(sum(d.amount) FILTER ({WON_IN_PERIOD}), 0) AS revenue,
           count(d.deal_id) FILTER ({WON_IN_PERIOD}) AS won,
           count(d.deal_id) FILTER ({CREATED_IN_PERIOD}) AS created
    FROM reps r LEFT JOIN deal_asof d ON d.owner_id = r.rep_id
    GROUP BY ALL ORDER BY r.team, r.rep_id"""


@reads('records')
def rep_rows(con: duckdb.DuckDBPyConnection, period: Period, as_of: datetime) -> pd.DataFrame:
    """Per rep: the trailing year (shares' weights) and the period to date (actuals)."""
    return run(con, _ROWS_SQL, scope_params(period, as_of)).df()


@reads('goal')
def split_version(con: duckdb.DuckDBPyConnection, period: Period) -> edits.Version | None:
    """The latest split a sales manager saved for the period's quarter, if any."""
    return edits.latest(con, KIND, period.quarter().label)


def with_share(chosen: RepTargets, who: str, key: str, percent: float | None) -> RepTargets:
    """`chosen` with the share of team or rep `key` fixed at `percent` of the whole or of its team, or given back
    to the trailing year when `percent` is None (the editor's empty field)."""
    field = {"team": "team_shares", "rep": "rep_shares"}[who]
    shares = dict(getattr(chosen, field))
    if percent is None:
        shares.pop(key, None)
    else:
        shares[key] = percent / 100
    return chosen.model_copy(update={field: shares})


@reads('records')
def _present(con: duckdb.DuckDBPyConnection) -> Present:
    return tables_with_rows(con)


def split(weights: Mapping[str, float], fixed: Mapping[str, float]) -> dict[str, float]:
    """Shares of a whole: `fixed` ones as given, the others in proportion to `weights` over what is left
    (equally when none of them has any weight)."""
    fixed = {k: v for k, v in fixed.items() if k in weights}
    rest = max(0.0, 1.0 - sum(fixed.values()))
    free = [k for k in weights if k not in fixed]
    total = sum(weights[k] for k in free)
    shares = dict(fixed)
    for k in free:
        shares[k] = rest * (weights[k] / total if total > 0 else 1 / len(free))
    return shares


# What the tables show: (name on screen — a measure's, or a plain column label —, the frame's column, whether it
# needs a target).
_SHOWN: tuple[tuple[str, str, bool], ...] = (
    ("rep_revenue_target", "revenue_target", True), ("rep_won_revenue", "revenue", False),
    ("rep_attainment", "revenue_attainment", True), ("rep_pacing", "revenue_pacing", True), ("status", "status", True),
    ("rep_won_target", "won_target", True), ("deals_won", "won", False),
    ("rep_opportunities_target", "opportunities_target", True), ("deals_created", "created", False),
)
TABLE_LABELS = {"rank": "#", "name": "Rep", "team": "Team", "status": "Pace", "deals_won": "Deals won",
                "deals_created": "Deals created"}


@dataclass
class Targets(Figures):
    period_label: str = ""
    elapsed_share: float = 0.0
    whole: dict[str, float | None] = field(default_factory=dict)  # stage → the period's target
    split_version: int | None = None
    created_known: bool = True  # False when no loaded deal has a creation date: deals created is unknown, not 0
    reps: pd.DataFrame = field(default_factory=pd.DataFrame)
    teams: pd.DataFrame = field(default_factory=pd.DataFrame)

    def table(self, frame: pd.DataFrame, first: tuple[str, ...]) -> tuple[pd.DataFrame, list[str]]:
        """`frame` (reps or teams) with its figures under their measures' names, and the columns to show after
        `first`: without a goal there is no target, so no target, attainment, pacing or pace column (never a
        column of blanks)."""
        shown = [(name, column) for name, column, needs_target in _SHOWN
                 if (not needs_target or self.whole.get("revenue") is not None)
                 and (column != "created" or self.created_known)]
        return frame.rename(columns={column: name for name, column in shown}), [*first, *(n for n, _ in shown)]

    def leaderboard(self) -> pd.DataFrame:
        """Reps ranked by attainment of their revenue target (reps without one last, by revenue won)."""
        if self.reps.empty:
            return self.reps
        board = active(self.reps).sort_values(["revenue_attainment", "revenue"], ascending=[False, False],
                                      na_position="last", kind="stable").reset_index(drop=True)
        board.insert(0, "rank", range(1, len(board) + 1))
        return board


def active(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows that carry a target or did something in the period: SDRs and marketing, who own no deals, are not
    on a sales board."""
    if frame.empty:
        return frame
    return frame[(frame["revenue_target"].fillna(0) > 0) | (frame[["revenue", "won", "created"]].sum(axis=1) > 0)]


def _with_progress(frame: pd.DataFrame, elapsed: float) -> pd.DataFrame:
    for stage, (_, actual) in STAGES.items():
        frame[f"{stage}_attainment"] = [ratio(a, t) for a, t in zip(frame[actual], frame[f"{stage}_target"])]
    frame["revenue_pacing"] = [ratio(a, None if t is None else t * elapsed)
                               for a, t in zip(frame["revenue"], frame["revenue_target"])]
    frame["status"] = [STATUS_WORDS.get(pace_status(a, None if t is None else t * elapsed), "")  # type: ignore[arg-type]
                       for a, t in zip(frame["revenue"], frame["revenue_target"])]
    return frame


def rep_targets(con: duckdb.DuckDBPyConnection | None, period: Period, as_of: datetime,
                call: Callable[..., Any] | None = None) -> Targets:
    """Every rep's and team's targets, actuals to date, attainment and pace for `period`."""
    if call is None:
        if con is None:
            raise ValueError("rep_targets needs a connection or a call")

        def call(fn: Callable[..., Any], *args: Any) -> Any:
            return fn(con, *args)

    plan = goal_plan(None, period, as_of, call=call)
    result = Targets(period_label=period.label, elapsed_share=period.elapsed_share(as_of))
    result.whole = {"revenue": plan.goal_revenue, "won": plan.targets.get("won"),
                    "opportunities": plan.targets.get("opportunities")}
    if plan.goal_revenue is None:
        result.notes.append(f"No revenue goal is set for {period.quarter().label}, so no team or rep has a target.")
    present = call(_present)
    undated, total = present.undated.get("deals", 0), present.totals.get("deals", 0)
    if total and undated == total:
        result.created_known = False
        result.notes.append(f"None of the {total:,} deals loaded has a creation date in the source, so deals created "
                            "cannot be counted per rep.")
    else:
        result.notes.extend(present.undated_notes("deals"))
    result.notes.extend(call(won_revenue, period, as_of)[2])  # won revenue's caveats (no amount, one outlier)
    version = call(split_version, period)
    chosen = version.body if version else RepTargets()
    result.split_version = version.version if version else None
    rows = call(rep_rows, period, as_of).copy()
    if rows.empty:
        result.notes.append("No rep is loaded, so the targets cannot be split between reps.")
        return result
    rep_team = dict(zip(rows["rep_id"], rows["team"]))
    for stage, (weight, _) in STAGES.items():
        team_weights = rows.groupby("team")[weight].sum().astype(float).to_dict()
        team_share = split(team_weights, chosen.team_shares)
        shares = {}
        for team, members in rows.groupby("team"):
            fixed = {r: v for r, v in chosen.rep_shares.items() if rep_team.get(r) == team}
            within = split(dict(zip(members["rep_id"], members[weight].astype(float))), fixed)
            shares.update({rep: team_share[team] * s for rep, s in within.items()})
        total = result.whole[stage]
        rows[f"{stage}_share"] = rows["rep_id"].map(shares)
        rows[f"{stage}_target"] = [None if total is None else total * s for s in rows[f"{stage}_share"]]
    unassigned = 1 - rows["revenue_share"].sum()
    if unassigned > 1e-9:
        result.notes.append(f"The shares fixed for {period.quarter().label} leave {unassigned:.0%} of each target to "
                            "no team or rep.")
    rows["fixed"] = [r in chosen.rep_shares or t in chosen.team_shares for r, t in zip(rows["rep_id"], rows["team"])]
    result.reps = _with_progress(rows, result.elapsed_share)
    sums: dict[str, Any] = {c: "sum" for c in ("revenue", "won", "created")}
    sums.update({f"{s}_target": (lambda x: None if x.isna().all() else x.sum()) for s in STAGES})
    sums.update({f"{s}_share": "sum" for s in STAGES})
    teams = rows.groupby("team", as_index=False).agg(sums)
    result.teams = _with_progress(teams, result.elapsed_share)
    return result
