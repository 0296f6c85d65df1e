"""Every enumeration Accord knows, declared once: tables, deal stages, lead statuses, seniorities, teams,
cascade rates, funnel stages and the words shown for a missing value.

core/schema.sql repeats some of these lists in CHECK constraints (DDL cannot import Python);
tests/test_semantic.py fails when the two disagree.
"""
from __future__ import annotations

from typing import Literal

# The canonical tables of METRICS.md, in load order (a table only references tables before it).
TABLES: tuple[str, ...] = ("reps", "campaigns", "leads", "activities", "deals", "deal_stage_history", "campaign_touches")

# Deal stages in pipeline order; the open ones first, then the two closed outcomes.
OPEN_STAGES: tuple[str, ...] = ("discovery", "qualification", "proposal", "negotiation")
CLOSED_STAGES: tuple[str, ...] = ("closed_won", "closed_lost")
OpenStage = Literal["discovery", "qualification", "proposal", "negotiation"]  # OPEN_STAGES, as a type
DEAL_STAGES: tuple[str, ...] = (*OPEN_STAGES, *CLOSED_STAGES)
DEAL_STAGE_LABELS: dict[str, str] = {
    "discovery": "Discovery", "qualification": "Qualification", "proposal": "Proposal",
    "negotiation": "Negotiation", "closed_won": "Closed won", "closed_lost": "Closed lost",
}
# A deal's state as of a moment (core.semantic.blocks.DEAL_ASOF): closed only once closed_at has passed.
DEAL_STATES: tuple[str, ...] = ("open", "won", "lost")

LEAD_STATUSES: tuple[str, ...] = ("open", "accepted", "rejected", "recycled", "converted")
# Statuses by which sales took a lead on (the funnel's "accepted", with having a deal).
ACCEPTED_STATUSES: tuple[str, ...] = ("accepted", "converted")

Seniority = Literal["c_level", "vp", "director", "manager", "individual"]
SENIORITIES: tuple[str, ...] = ("c_level", "vp", "director", "manager", "individual")
SENIORITY_LABELS: dict[str, str] = {
    "c_level": "C-level", "vp": "VP", "director": "Director", "manager": "Manager",
    "individual": "Individual contributor",
}

ACTIVITY_KINDS: tuple[str, ...] = ("call", "email", "meeting")

Team = Literal["sales", "marketing", "leadership", "viewer"]
TEAMS: tuple[str, ...] = ("sales", "marketing", "leadership", "viewer")

# Roles of signed-in people (core.access maps e-mails to them); each acts for one team.
Role = Literal["viewer", "marketing_editor", "sales_editor", "admin"]
ROLES: tuple[str, ...] = ("viewer", "marketing_editor", "sales_editor", "admin")
ROLE_TEAMS: dict[str, str] = {"viewer": "viewer", "marketing_editor": "marketing", "sales_editor": "sales",
                              "admin": "leadership"}
ROLE_LABELS: dict[str, str] = {"viewer": "Viewer", "marketing_editor": "Marketing editor",
                               "sales_editor": "Sales editor", "admin": "Admin"}

# Conversion rates of the reverse waterfall, in cascade order (revenue down to leads); a goal may
# override any of them. The deal size comes first in the cascade but is not a rate.
RateName = Literal["win_rate", "accepted_to_opportunity", "quality_to_accepted", "lead_to_quality"]
RATE_NAMES: tuple[RateName, ...] = ("win_rate", "accepted_to_opportunity", "quality_to_accepted", "lead_to_quality")

# The cohort funnel's stages, top first (METRICS.md "Funnel").
FUNNEL_STAGES: tuple[str, ...] = ("leads", "quality_leads", "accepted", "opportunities", "won")

# A quality lead's response-SLA status as of a moment (METRICS.md "Lead-response SLA").
SLA_STATUSES: tuple[str, ...] = ("met", "breached", "pending")

# Kinds of edited state, each versioned through core.edits.
EDIT_KINDS: tuple[str, ...] = ("goal", "sla_policy", "quality_definition", "access", "exclusion", "stall_rules",
                                "deal_snooze", "rep_targets")
PROPOSAL_STATUSES: tuple[str, ...] = ("pending", "approved", "rejected", "withdrawn")

# Words shown for values that are missing or stand for a group rather than a record.
NOT_SET = "(not set)"
SALES_SOURCED = "sales-sourced"
UNKNOWN_LEAD = "unknown lead"
NO_CAMPAIGN = "(no campaign)"
UNASSIGNED = "unassigned"
REP_NOT_LOADED = "rep not loaded"
OTHER_VALUES = "(all other values)"
NO_REASON = "(no reason given)"  # a rejection that did not say why
UNATTRIBUTED = "unattributed"  # a touched deal none of whose touches falls inside the attribution lookback

# The outlier rule, shared by the import's data-quality profile and the figures' caveats: a record this
# many times the median amount (or smaller by as much) is an outlier, and a large one is flagged when it
# carries more than OUTLIER_SHARE of its total.
OUTLIER_FACTOR = 50
OUTLIER_SHARE = 0.5
