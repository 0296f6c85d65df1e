"""Flagged records and editors' decisions about them: which records the figures should perhaps not count
(an amount far from every other), which ones an editor excluded, and the history of those decisions.

The decision itself is written by core.edits (kind 'exclusion', through the one write path: rights,
reason, optimistic concurrency, a version row per decision); this module only reads. The figures read
the views counted_leads / counted_deals (core/schema.sql), which leave excluded records out.

Rules (docs/metrics-notes.md, "Excluding a record"):
- A deal is flagged when its amount is more than OUTLIER_FACTOR × the median positive amount of the deals
  in the same state (won, lost, open), or positive and below that median ÷ OUTLIER_FACTOR (a placeholder
  or a unit slip: 1 beside 24,120,000). The median needs MIN_AMOUNTS amounts of that state.
- Every excluded record is listed too, flagged or not, so it can be restored.
- Default: nothing is excluded; flagging changes no figure.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from core import edits
from core.db import reads
from core.models import Exclusion
from core.semantic.enums import OUTLIER_FACTOR

KIND = "exclusion"
MIN_AMOUNTS = 3  # as the data-quality profile: a median means something only over a few amounts
MAX_LISTED = 500  # flagged records shown at once (largest deviation first)
TABLE_NOUNS = {"deals": "deal", "leads": "lead"}
FLAGGED_COLUMNS = ("record", "record_id", "amount", "stage", "counted", "why", "created_at")

FLAGGED_SQL = f"""
WITH states AS (
    SELECT d.deal_id, d.amount, d.stage, d.created_at,
           CASE d.stage WHEN 'closed_won' THEN 'won' WHEN 'closed_lost' THEN 'lost' ELSE 'open' END AS state
    FROM deals d
),
medians AS (
    SELECT state, quantile_cont(amount, 0.5) AS median, count(*) AS n
    FROM states WHERE amount > 0 GROUP BY state
),
flagged AS (
    SELECT s.deal_id, s.amount, s.stage, s.created_at, m.median,
           CASE WHEN s.amount > {OUTLIER_FACTOR} * m.median THEN 'high' ELSE 'low' END AS side
    FROM states s JOIN medians m ON m.state = s.state
    WHERE m.n >= $min_amounts AND s.amount > 0
      AND (s.amount > {OUTLIER_FACTOR} * m.median OR s.amount < m.median / {OUTLIER_FACTOR})
)
SELECT * FROM (  -- ordered outside the UNION: DuckDB 1.5 orders a UNION by its output columns only
SELECT 'deals' AS table_name, f.deal_id AS record_id, f.amount, f.stage, f.created_at, f.median, f.side,
       x.record_id IS NOT NULL AS excluded
FROM flagged f LEFT JOIN exclusions x ON x.table_name = 'deals' AND x.record_id = f.deal_id
UNION ALL  -- excluded records that are not (or no longer) flagged, so they can be restored
SELECT x.table_name, x.record_id, d.amount, d.stage, coalesce(d.created_at, l.created_at), NULL, NULL, true
FROM exclusions x
LEFT JOIN deals d ON x.table_name = 'deals' AND d.deal_id = x.record_id
LEFT JOIN leads l ON x.table_name = 'leads' AND l.lead_id = x.record_id
WHERE NOT EXISTS (SELECT 1 FROM flagged f WHERE x.table_name = 'deals' AND f.deal_id = x.record_id)
)
ORDER BY excluded DESC, greatest(amount / median, median / amount) DESC NULLS LAST, record_id
LIMIT $limit
"""


def _why(row: pd.Series) -> str:
    if pd.isna(row["median"]):
        return "excluded by an editor (not flagged)"
    state = {"closed_won": "won", "closed_lost": "lost"}.get(row["stage"], "open")
    times = row["amount"] / row["median"] if row["side"] == "high" else row["median"] / row["amount"]
    side = "above" if row["side"] == "high" else "below"
    return f"amount {times:,.0f}× {side} the median {state} deal ({row['median']:,.0f})"


@reads("records")
def flagged_records(con: duckdb.DuckDBPyConnection, limit: int = MAX_LISTED) -> pd.DataFrame:
    """Records worth a decision (FLAGGED_COLUMNS): record (deal/lead), record_id, amount, stage, counted
    ('yes'/'no: excluded'), why (the flag in words), created_at. Excluded first, then by how far from the
    median."""
    frame = con.execute(FLAGGED_SQL, {"min_amounts": MIN_AMOUNTS, "limit": limit}).df()
    if frame.empty:
        return pd.DataFrame(columns=list(FLAGGED_COLUMNS))
    frame["why"] = frame.apply(_why, axis=1)
    frame["record"] = frame["table_name"].map(TABLE_NOUNS)
    frame["counted"] = frame["excluded"].map({True: "no: excluded", False: "yes"})
    return frame[list(FLAGGED_COLUMNS)]


@dataclass(frozen=True)
class RecordState:
    """Where one record stands: whether it exists, whether it is excluded, and the decision version the
    next write must expect (0 before any decision)."""

    table: str
    record_id: str
    exists: bool
    excluded: bool
    version: int

    @property
    def subject(self) -> str:
        return Exclusion.subject(self.table, self.record_id)

    def decision(self) -> Exclusion:
        """The body of the write that flips this record: exclude it, or restore it."""
        return Exclusion(table=self.table, record_id=self.record_id, excluded=not self.excluded)


@reads("records")
def record_state(con: duckdb.DuckDBPyConnection, table: str, record_id: str) -> RecordState:
    if table not in TABLE_NOUNS:
        raise ValueError(f"only {', '.join(TABLE_NOUNS)} can be excluded")
    key = "deal_id" if table == "deals" else "lead_id"  # from the allow-list above
    row = con.execute(
        f"""SELECT EXISTS (SELECT 1 FROM {table} WHERE {key} = $id),
                   EXISTS (SELECT 1 FROM exclusions WHERE table_name = $t AND record_id = $id),
                   (SELECT max(version) FROM edit_versions WHERE kind = $kind AND subject = $subject)""",
        {"id": record_id, "t": table, "kind": KIND, "subject": Exclusion.subject(table, record_id)},
    ).fetchone()
    assert row is not None  # scalar subqueries: always one row
    return RecordState(table, record_id, bool(row[0]), bool(row[1]), int(row[2] or 0))


@reads("records")
def decisions(con: duckdb.DuckDBPyConnection, limit: int = 500) -> pd.DataFrame:
    """Every exclusion and restore, newest first: when, record, decision, by whom, why."""
    rows = con.execute(
        """SELECT saved_at, subject, version, body, saved_by, reason FROM edit_versions
           WHERE kind = ? ORDER BY saved_at DESC, subject, version DESC LIMIT ?""",
        [KIND, limit],
    ).fetchall()
    out = []
    for saved_at, _subject, version, body, saved_by, reason in rows:
        decision = Exclusion.model_validate_json(body)
        out.append({"saved at (UTC)": saved_at, "record": TABLE_NOUNS[decision.table],
                    "record_id": decision.record_id, "decision": "excluded" if decision.excluded else "restored",
                    "version": version, "by": saved_by, "reason": reason})
    return pd.DataFrame(out, columns=["saved at (UTC)", "record", "record_id", "decision", "version", "by", "reason"])


def decide(con: duckdb.DuckDBPyConnection, state: RecordState, *, actor, reason: str, now=None) -> edits.Version:
    """Exclude the record if counted, restore it if excluded, against the version `state` was read at
    (a Conflict when someone decided it since)."""
    return edits.save(con, KIND, state.subject, state.decision(), actor=actor, reason=reason,
                      expected_version=state.version, now=now)
