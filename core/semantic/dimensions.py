"""Every dimension a figure can be broken down by, declared once with its SQL at each grain.

Two grains exist: a lead (alias `l`, its owner rep `r`, its first-touch campaign `cp`) and a deal
(alias `d`, its lead `l`, that lead's campaign `cp`, and the deal owner `r`). Lead attributes of a deal
come from the deal's lead: a deal with no lead reads 'sales-sourced', one whose lead is not loaded
'unknown lead'. Team, region and rep are the owner's: the lead owner for lead figures, the deal owner
for deal figures (the people who work that stage). A missing value reads '(not set)' ('(no campaign)'
for campaigns), never NULL, so a breakdown always adds up to its total.

Every expression here is written by us; a page passes a dimension *name*, looked up in DIMENSIONS
(an allow-list), never SQL.
"""
from __future__ import annotations

from dataclasses import dataclass

from core.semantic.enums import NO_CAMPAIGN, NOT_SET, REP_NOT_LOADED, SALES_SOURCED, UNASSIGNED, UNKNOWN_LEAD


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    of: str        # 'lead' (a lead column), 'campaign' (the first-touch campaign) or 'owner' (the rep)
    column: str    # the column of that entity (for 'owner', 'team' / 'region' / 'name')
    description: str

    def lead_sql(self, lead: str = "l", owner: str = "r", campaign: str = "cp") -> str:
        """The value for a lead row; needs LEAD_JOINS (or the same aliases) in the query."""
        if self.of == "lead":
            return f"coalesce(CAST({lead}.{self.column} AS VARCHAR), '{NOT_SET}')"
        if self.of == "campaign":
            if self.column == "name":
                return f"coalesce({campaign}.name, {lead}.campaign_id, '{NO_CAMPAIGN}')"
            return f"coalesce({campaign}.{self.column}, '{NO_CAMPAIGN}')"
        return _owner_sql(self.column, f"{lead}.owner_id", owner)

    def lead_joins(self, lead: str = "l") -> str:
        """Only the joins lead_sql needs (a join of ten million leads to reps costs a second, and a lead
        column needs none)."""
        return {"lead": "", "campaign": _CAMPAIGN_OF_LEAD.format(lead=lead),
                "owner": _OWNER_OF_LEAD.format(lead=lead)}[self.of]

    def deal_joins(self) -> str:
        """Only the joins deal_sql needs (DEAL_JOINS' aliases)."""
        return {"lead": _LEAD_OF_DEAL, "campaign": _LEAD_OF_DEAL + _CAMPAIGN_OF_LEAD.format(lead="l"),
                "owner": _OWNER_OF_DEAL}[self.of]

    def deal_sql(self, deal: str = "d", lead: str = "l", owner: str = "r", campaign: str = "cp") -> str:
        """The value for a deal row; needs DEAL_JOINS (or the same aliases) in the query."""
        if self.of == "owner":
            return _owner_sql(self.column, f"{deal}.owner_id", owner)
        return (f"CASE WHEN {deal}.lead_id IS NULL THEN '{SALES_SOURCED}' "
                f"WHEN {lead}.lead_id IS NULL THEN '{UNKNOWN_LEAD}' "
                f"ELSE {self.lead_sql(lead, owner, campaign)} END")


def _owner_sql(column: str, owner_id: str, rep: str) -> str:
    value = f"coalesce({rep}.name, {owner_id})" if column == "name" else f"coalesce({rep}.{column}, '{NOT_SET}')"
    return (f"CASE WHEN {owner_id} IS NULL THEN '{UNASSIGNED}' WHEN {rep}.rep_id IS NULL THEN '{REP_NOT_LOADED}' "
            f"ELSE {value} END")


DIMENSIONS: dict[str, Dimension] = {d.name: d for d in (
    Dimension("source", "Source", "lead", "source", "The lead's channel of origin (leads.source)."),
    Dimension("campaign", "Campaign", "campaign", "name", "The lead's first-touch campaign (leads.campaign_id)."),
    Dimension("channel", "Channel", "campaign", "channel", "The channel of the lead's first-touch campaign."),
    Dimension("industry", "Industry", "lead", "industry", "The lead's industry."),
    Dimension("country", "Country", "lead", "country", "The lead's country."),
    Dimension("seniority", "Seniority", "lead", "seniority", "The lead's seniority."),
    Dimension("team", "Team", "owner", "team", "The owner's team: the lead owner for lead figures, the deal owner for deal figures."),
    Dimension("region", "Region", "owner", "region", "The owner's region (same owner as Team)."),
    Dimension("rep", "Rep", "owner", "name", "The owner: the lead owner for lead figures, the deal owner for deal figures."),
)}

# The joins the expressions above expect, at each grain (a dimension's own: Dimension.lead_joins/deal_joins).
_OWNER_OF_LEAD = "\n    LEFT JOIN reps r ON r.rep_id = {lead}.owner_id"
_CAMPAIGN_OF_LEAD = "\n    LEFT JOIN campaigns cp ON cp.campaign_id = {lead}.campaign_id"
_LEAD_OF_DEAL = "\n    LEFT JOIN leads l ON l.lead_key = d.lead_key"
_OWNER_OF_DEAL = "\n    LEFT JOIN reps r ON r.rep_id = d.owner_id"


def lead_joins(lead: str = "l") -> str:
    """LEAD_JOINS for a query whose lead rows go by another alias (e.g. a cohort `c`)."""
    return _OWNER_OF_LEAD.format(lead=lead) + _CAMPAIGN_OF_LEAD.format(lead=lead)


LEAD_JOINS = lead_joins()
DEAL_JOINS = _LEAD_OF_DEAL + _CAMPAIGN_OF_LEAD.format(lead="l") + _OWNER_OF_DEAL


def dimension(name: str, allowed: tuple[str, ...] | None = None) -> Dimension:
    """The dimension called `name`, refused unless declared (and, with `allowed`, offered there)."""
    if name not in DIMENSIONS or (allowed is not None and name not in allowed):
        raise ValueError(f"unknown dimension {name!r}")
    return DIMENSIONS[name]


def labels(names: tuple[str, ...]) -> dict[str, str]:
    """name → label for the given dimensions, in the given order (for a page's selectbox)."""
    return {n: DIMENSIONS[n].label for n in names}
