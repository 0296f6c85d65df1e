"""The canonical tables as the import engine sees them: the only identifiers it ever puts into SQL.

Mirrors core/schema.sql (a test checks the two agree). Every column has a kind that says how text is
turned into its value and which checks apply; the checks repeat the schema's constraints so a bad row
is quarantined with a reason instead of failing the whole import.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.semantic.enums import ACTIVITY_KINDS, CLOSED_STAGES, SENIORITIES
from core.semantic.enums import DEAL_STAGES as STAGES
from core.semantic.enums import LEAD_STATUSES as STATUSES
from core.semantic.enums import TABLES as TABLE_ORDER

__all__ = [  # CLOSED_STAGES and TABLE_ORDER are re-exported for the rest of the importer
    "CLOSED_BEFORE_CREATED_WORDS", "CLOSED_STAGES", "FUTURE_TOLERANCE", "FUTURE_WORDS", "KEYS", "MAX_EMPLOYEES",
    "MAX_MONEY", "NON_FINITE_WORDS", "OUT_OF_RANGE_WORDS", "STAMPS", "TABLES", "TABLE_ORDER", "TOO_LARGE_WORDS",
    "Col", "column", "ident",
]


# Upper bounds: a value above them is a typo, a unit error or a placeholder (1e308), never a real record,
# and it would make figures (and the report's JSON) overflow. Quarantined with the bound in the reason.
MAX_MONEY = 1e12  # amounts and costs: a trillion in any currency
MAX_EMPLOYEES = 10_000_000  # the largest employers have about two million
# A stamped event may be this far after the import's moment (clocks, zones) before it counts as future-dated.
FUTURE_TOLERANCE = timedelta(days=1)

# Words the quarantine reasons carry, so the data-quality profile can count them (core.ingest.profile).
FUTURE_WORDS = "after the import ("
NON_FINITE_WORDS = "is not a finite number"
TOO_LARGE_WORDS = "is above the upper bound"
OUT_OF_RANGE_WORDS = "is out of range"
CLOSED_BEFORE_CREATED_WORDS = "before it was created"


@dataclass(frozen=True)
class Col:
    name: str
    kind: str  # text | timestamp | date | int | money | bool
    required: bool = False
    allowed: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None


def _c(name, kind="text", required=False, allowed=None, minimum=None, maximum=None) -> Col:
    return Col(name, kind, required, allowed, minimum, maximum)


TABLES: dict[str, tuple[Col, ...]] = {
    "reps": (_c("rep_id", required=True), _c("name", required=True), _c("team", required=True), _c("region")),
    "campaigns": (
        _c("campaign_id", required=True), _c("name", required=True), _c("channel", required=True),
        _c("started_on", "date", True), _c("ended_on", "date"), _c("cost", "money", minimum=0, maximum=MAX_MONEY),
    ),
    "leads": (
        _c("lead_id", required=True), _c("created_at", "timestamp", True), _c("source", required=True),
        _c("campaign_id"), _c("company"), _c("industry"), _c("employees", "int", minimum=0, maximum=MAX_EMPLOYEES), _c("country"),
        _c("seniority", allowed=SENIORITIES), _c("score", "int", minimum=0, maximum=100),
        _c("demo_requested", "bool"), _c("mql_at", "timestamp"), _c("owner_id"), _c("assigned_at", "timestamp"),
        _c("status", required=True, allowed=STATUSES), _c("rejected_reason"),
    ),
    "activities": (
        _c("activity_id", required=True), _c("lead_id"), _c("deal_id"), _c("rep_id", required=True),
        _c("occurred_at", "timestamp", True), _c("kind", required=True, allowed=ACTIVITY_KINDS),
    ),
    "deals": (
        _c("deal_id", required=True), _c("lead_id"), _c("account"), _c("created_at", "timestamp", True),
        _c("amount", "money", True, minimum=0, maximum=MAX_MONEY), _c("stage", required=True, allowed=STAGES),
        _c("expected_close_on", "date"), _c("closed_at", "timestamp"), _c("owner_id"), _c("lost_reason"),
    ),
    "deal_stage_history": (
        _c("deal_id", required=True), _c("stage", required=True, allowed=STAGES),
        _c("entered_at", "timestamp", True),
    ),
    "campaign_touches": (
        _c("lead_id", required=True), _c("campaign_id", required=True), _c("touched_at", "timestamp", True),
    ),
}

KEYS: dict[str, tuple[str, ...]] = {
    "reps": ("rep_id",),
    "campaigns": ("campaign_id",),
    "leads": ("lead_id",),
    "activities": ("activity_id",),
    "deals": ("deal_id",),
    "deal_stage_history": ("deal_id", "stage", "entered_at"),
    "campaign_touches": ("lead_id", "campaign_id", "touched_at"),
}

# Tables are written and reported in TABLE_ORDER (core.semantic.enums.TABLES: referenced tables first).

# Timestamp columns that are "stamped" events (for the as-of meta, and refused when dated after the import);
# expected_close_on is a plan, not an event, and may lie in the future.
STAMPS: dict[str, tuple[str, ...]] = {
    "leads": ("created_at", "mql_at", "assigned_at"),
    "activities": ("occurred_at",),
    "deals": ("created_at", "closed_at"),
    "deal_stage_history": ("entered_at",),
    "campaign_touches": ("touched_at",),
}


def column(table: str, name: str) -> Col:
    for col in TABLES[table]:
        if col.name == name:
            return col
    raise KeyError(f"{table}.{name} is not a canonical column")


def ident(name: str) -> str:
    """Quote an identifier that comes from the allow-lists above (never from file content)."""
    allowed = set(TABLES) | {c.name for cols in TABLES.values() for c in cols}
    if name not in allowed:
        raise ValueError(f"{name!r} is not an allow-listed identifier")
    return '"' + name + '"'
