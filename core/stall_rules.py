"""Stall rules: after how many days in one stage an open deal counts as stalled, per stage (kind
'stall_rules'), and deals an editor marked "stalled for a known reason" until a date (kind 'deal_snooze').
Both are written by core.edits (rights, reason, conflict on a stale version); this module reads them and
holds the one SQL statement of "stalled" that every figure counting stalled deals uses.

Choices where METRICS.md is silent (also in docs/metrics-notes.md, "Stall rules and snoozes"):
- A stage without a rule stalls after the default (ACCORD_STALL_DAYS, 30), so until someone saves a rule
  every figure is what METRICS.md's single `stall_days` gives. The latest saved rules apply to any as-of
  (a rule says what the team calls stalled, not a fact about a moment).
- A deal's stage is its stage as of (latest stage-history row, else its recorded stage); "more than" the
  threshold, as before: a deal exactly N days in its stage is not stalled yet.
- A snooze applies from its version's effective moment (the data's as-of when it was made) until 00:00
  UTC of its end date: at that instant the deal counts again. The version in force at as-of decides, so a
  figure as of a past moment is the same before and after later snoozes, and ending a snooze early is a
  new version with no end date.
- A snoozed deal that is over its threshold leaves the stalled count and is counted and listed apart
  ("snoozed, known reason", with who, why and until); stalled + snoozed = the deals over their threshold.
  It is not lost: it stays open in every other figure.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import duckdb

from core import edits
from core.db import reads
from core.models import Actor, DealSnooze, StallRules
from core.semantic.blocks import STAGE_ENTERED
from core.semantic.enums import DEAL_STAGE_LABELS, OPEN_STAGES

if TYPE_CHECKING:
    import pandas as pd
else:  # pandas on first use: the report command reads the rules and builds no DataFrame (core.lazy)
    from core.lazy import pandas as pd

RULES_KIND = "stall_rules"
SNOOZE_KIND = "deal_snooze"
SUBJECT = edits.POLICY_SUBJECT  # one set of rules per database

# The threshold of a deal over deal_asof d LEFT JOIN current_stage s: its stage's rule (bound parameters
# $stall_<stage>, see stall_params), the default for anything else.
THRESHOLD_DAYS = ("CASE coalesce(s.stage, d.recorded_stage) "
                  + " ".join(f"WHEN '{s}' THEN $stall_{s}" for s in OPEN_STAGES)  # our own constants
                  + " ELSE $stall_days END")
# The same truth value as `d.state = 'open' AND <over>`, NULLs included, but the stage's threshold is looked up
# for open deals only: an AND in a FILTER computes both sides for every deal, a CASE branch only for the rows
# that take it (8% of deals are open; the pipeline headline 0.16 -> 0.14 s at ten million leads).
OVER_THRESHOLD = (f"CASE WHEN d.state = 'open' THEN {STAGE_ENTERED} < $as_of - to_days(CAST({THRESHOLD_DAYS} AS INTEGER)) "
                  "ELSE false END")

# The snoozes in force at $as_of: per deal, the latest version effective by then, still before its end.
SNOOZES = """snoozed AS (
        SELECT deal_id, until, snoozed_by, snooze_reason, snoozed_at FROM (
            SELECT json_extract_string(body, '$.deal_id') AS deal_id,
                   TRY_CAST(json_extract_string(body, '$.until') AS DATE) AS until,
                   saved_by AS snoozed_by, reason AS snooze_reason, saved_at AS snoozed_at,
                   row_number() OVER (PARTITION BY subject ORDER BY effective_from DESC, version DESC) AS newest
            FROM edit_versions WHERE kind = 'deal_snooze' AND effective_from <= $as_of)
        WHERE newest = 1 AND until IS NOT NULL AND $as_of < CAST(until AS TIMESTAMP)
    )"""
SNOOZE_JOIN = "LEFT JOIN snoozed z ON z.deal_id = d.deal_id"

# The one rule of a stalled deal, and of one out of the count for a known reason (over deal_asof d,
# current_stage s and snoozed z: needs CURRENT_STAGE, SNOOZES and SNOOZE_JOIN, and stall_params).
STALLED = f"{OVER_THRESHOLD} AND z.deal_id IS NULL"
SNOOZED = f"{OVER_THRESHOLD} AND z.deal_id IS NOT NULL"


def thresholds(rules: StallRules | None, default_days: int) -> dict[str, int]:
    """Days after which each open stage stalls: its rule, else the default."""
    days: dict[str, int] = {str(s): d for s, d in rules.days.items()} if rules is not None else {}
    return {stage: days.get(stage, default_days) for stage in OPEN_STAGES}


def stall_params(con: duckdb.DuckDBPyConnection, default_days: int) -> dict:
    """The bound parameters THRESHOLD_DAYS reads: the default and each stage's days under the latest rules."""
    version = edits.latest(con, RULES_KIND, SUBJECT)
    days = thresholds(version.body if version else None, default_days)
    return {"stall_days": int(default_days), **{f"stall_{s}": d for s, d in days.items()}}


@reads('stalls')
def current_rules(con: duckdb.DuckDBPyConnection) -> edits.Version | None:
    """The latest saved stall rules (None before any save: every stage on the default)."""
    return edits.latest(con, RULES_KIND, SUBJECT)


@reads('stalls')
def rules_history(con: duckdb.DuckDBPyConnection) -> list[edits.Version]:
    return edits.history(con, RULES_KIND, SUBJECT)


def rules_table(version: edits.Version | None, default_days: int) -> pd.DataFrame:
    """The rule in force per open stage: days, and whether a saved rule or the default sets it."""
    rules = version.body if version is not None else None
    days = thresholds(rules, default_days)
    return pd.DataFrame([{
        "Stage": DEAL_STAGE_LABELS[stage],
        "Stalled after (days)": days[stage],
        "Set by": (f"rule v{version.version}" if version is not None and rules is not None and stage in rules.days
                   else f"default ({default_days} days)"),
    } for stage in OPEN_STAGES])


def rules_from_form(values: dict[str, int], default_days: int) -> StallRules:
    """A rules body from the editor's days per stage: a stage left on the default gets no rule, so a later
    change of the default still reaches it."""
    return StallRules(days={s: int(v) for s, v in values.items() if int(v) != int(default_days)})


def threshold_words(version: edits.Version | None, default_days: int) -> str:
    """How long a deal may stay in one stage, in a few words: "more than 30 days" when every stage has the
    same threshold, else each stage's ("longer than its stage allows (discovery 14, …, negotiation 60 days)")."""
    days = thresholds(version.body if version is not None else None, default_days)
    if len(set(days.values())) == 1:
        return f"more than {next(iter(days.values()))} days"
    return ("longer than its stage allows ("
            + ", ".join(f"{DEAL_STAGE_LABELS[s].lower()} {d}" for s, d in days.items()) + " days)")


@reads('stalls')
def snooze_version(con: duckdb.DuckDBPyConnection, deal_id: str) -> int:
    """The snooze version of a deal the next write must expect (0 before any snooze)."""
    row = con.execute("SELECT max(version) FROM edit_versions WHERE kind = ? AND subject = ?",
                      [SNOOZE_KIND, DealSnooze.subject(deal_id)]).fetchone()
    return int(row[0] or 0) if row else 0


@reads('stalls')
def active_snoozes(con: duckdb.DuckDBPyConnection, as_of: datetime) -> pd.DataFrame:
    """Every snooze in force at as_of, whether or not its deal is over its threshold: deal, until, who, why."""
    return con.execute(f"WITH {SNOOZES} SELECT deal_id, until, snoozed_by, snooze_reason, snoozed_at "
                       "FROM snoozed ORDER BY until, deal_id", {"as_of": as_of}).df()


def snooze(con: duckdb.DuckDBPyConnection, deal_id: str, until: date | None, *, actor: Actor, reason: str, expected_version: int,
           as_of: datetime, now: datetime | None = None) -> edits.Version:
    """Mark a deal stalled for a known reason until `until` (None: end the snooze), from as_of (the data's
    present) on, through the one write path."""
    return edits.save(con, SNOOZE_KIND, DealSnooze.subject(deal_id), DealSnooze(deal_id=deal_id, until=until),
                      actor=actor, reason=reason, expected_version=expected_version, effective_from=as_of,
                      now=now, as_of=as_of)
