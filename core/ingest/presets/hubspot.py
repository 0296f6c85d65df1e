"""`hubspot`: HubSpot contacts, deals and marketing-campaign exports.

Headers may be API internal names (createdate, hs_lead_status), UI export labels (Create Date, Lead
Status) or ETL-prefixed names (property_…, properties_…). Dates: ISO 8601 (offsets converted to UTC),
epoch milliseconds (legacy API), or US-style UI exports (MM/DD/YYYY with optional time).

Contacts → leads: lead_id = hs_object_id / Record ID; created_at = createdate; source =
hs_analytics_source in snake case (ORGANIC_SEARCH → organic_search; blank: "unknown"); mql_at =
hs_lifecyclestage_marketingqualifiedlead_date (or hs_v2_date_entered_marketingqualifiedlead);
owner_id = hubspot_owner_id, assigned_at = hubspot_owner_assigneddate; seniority from the job title by
keywords; employees = numemployees (a range such as 25-50 counts as its lower bound); score = HubSpot
score clipped to 0–100. Status: lifecycle opportunity/customer/evangelist or lead status OPEN_DEAL →
converted; otherwise the lead status (NEW/OPEN → open, IN_PROGRESS/ATTEMPTED_TO_CONTACT/CONNECTED →
accepted, UNQUALIFIED → rejected with the status as reason, BAD_TIMING → recycled); without one, the
lifecycle stage (sales qualified lead → accepted, earlier stages → open).

Deals → deals: deal_id = hs_object_id; stages of the default pipeline: appointmentscheduled →
discovery, qualifiedtobuy → qualification, presentationscheduled → proposal, decisionmakerboughtin →
negotiation, contractsent → negotiation, closedwon → closed_won, closedlost → closed_lost. A custom
stage is placed by hs_is_closed_won / hs_is_closed when those columns are present, else quarantined.
closedate is closed_at for closed deals and expected_close_on for open ones; a blank amount loads as
0 (the summary counts them); owner = hubspot_owner_id; lost_reason = closed_lost_reason; the lead is
the first id of an associated-contact column if the export has one. Date-entered columns
(hs_v2_date_entered_<stage>, hs_date_entered_<stage>, Date entered "<Stage> (<Pipeline>)") become
deal_stage_history.

Campaigns → campaigns: campaign_id = hs_object_id / id; name = hs_name; started_on = hs_start_date
(else the campaign's creation date); ended_on = hs_end_date; cost = hs_spend_items_sum_amount;
channel = a channel / type column if the export has one, else "unknown".

Owners (hubspot_owner_id) that are not yet reps are added as reps named "HubSpot owner <id>" with
team "unknown"; a reps file imported with the accord preset fills them in.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.ingest.presets.base import (
    Ctx, FileKind, Preset, blank_to, col, has, keys_of, map_values, owner_reps, seniority_from_title, truthy,
)
from core.ingest.validate import Batch

US_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y")

DEAL_STAGES = {
    "appointmentscheduled": "discovery",
    "qualifiedtobuy": "qualification",
    "presentationscheduled": "proposal",
    "decisionmakerboughtin": "negotiation",
    "contractsent": "negotiation",
    "closedwon": "closed_won",
    "closedlost": "closed_lost",
}
LEAD_STATUS = {
    "NEW": "open", "OPEN": "open", "IN_PROGRESS": "accepted", "ATTEMPTED_TO_CONTACT": "accepted",
    "CONNECTED": "accepted", "OPEN_DEAL": "converted", "UNQUALIFIED": "rejected", "BAD_TIMING": "recycled",
}
LIFECYCLE = {
    "subscriber": "open", "lead": "open", "marketingqualifiedlead": "open", "salesqualifiedlead": "accepted",
    "opportunity": "converted", "customer": "converted", "evangelist": "converted", "other": "open",
}
CONVERTED_LIFECYCLES = {"opportunity", "customer", "evangelist"}


def _entered(key: str) -> str | None:
    for prefix in ("hsv2dateentered", "hsdateentered", "dateentered"):
        if key.startswith(prefix):
            rest = key[len(prefix):]
            for stage in DEAL_STAGES:
                if rest == stage or (prefix == "dateentered" and rest.startswith(stage)):
                    return "entered_" + stage
    return None


CONTACTS = FileKind(
    key="contacts",
    label="HubSpot contacts",
    target="leads",
    columns={
        "lead_id": ("hs_object_id", "Record ID", "vid", "Contact ID", "Contact Record ID"),
        "created_at": ("createdate", "Create Date", "Created Date"),
        "source": ("hs_analytics_source", "Original Source", "Original Traffic Source", "Original Source Type"),
        "company": ("company", "Company Name"),
        "industry": ("industry", "Industry"),
        "employees": ("numemployees", "Number of Employees"),
        "country": ("country", "Country/Region", "Country"),
        "jobtitle": ("jobtitle", "Job Title"),
        "lifecyclestage": ("lifecyclestage", "Lifecycle Stage"),
        "lead_status": ("hs_lead_status", "Lead Status"),
        "mql_at": (
            "hs_lifecyclestage_marketingqualifiedlead_date", "Became a Marketing Qualified Lead Date",
            "hs_v2_date_entered_marketingqualifiedlead",
            'Date entered "Marketing Qualified Lead (Lifecycle Stage Pipeline)"',
        ),
        "owner_id": ("hubspot_owner_id", "Contact owner", "HubSpot Owner", "Contact owner ID"),
        "assigned_at": ("hubspot_owner_assigneddate", "Owner Assigned Date"),
        "score": ("hubspotscore", "HubSpot Score"),
        "email": ("email", "Email"),
        "firstname": ("firstname", "First Name"),
        "lastname": ("lastname", "Last Name"),
    },
    required=("lead_id", "created_at"),
    all_of=("lead_id",),
    any_of=("lifecyclestage", "lead_status", "email", "firstname", "lastname", "jobtitle", "source", "mql_at"),
    none_of=("dealstage",),
    name_hints=("contacts", "contact"),
)
DEALS = FileKind(
    key="deals",
    label="HubSpot deals",
    target="deals",
    columns={
        "deal_id": ("hs_object_id", "Record ID", "dealId", "deal_id", "Deal ID"),
        "dealstage": ("dealstage", "Deal Stage"),
        "amount": ("amount", "Amount"),
        "closedate": ("closedate", "Close Date"),
        "created_at": ("createdate", "Create Date", "Created Date"),
        "owner_id": ("hubspot_owner_id", "Deal owner", "Deal owner ID", "HubSpot Owner"),
        "lost_reason": ("closed_lost_reason", "Closed Lost Reason"),
        "is_won": ("hs_is_closed_won", "Is Closed Won"),
        "is_closed": ("hs_is_closed", "Is Deal Closed?"),
        "contact_ids": (
            "associated_contact_id", "associated_contact_ids", "Associated Contact IDs", "Associated Contact ID",
            "contact_id", "associations_contacts", "hs_primary_contact_id",
        ),
        "account": ("Associated Company", "associated_company", "company_name", "Associated Company Name"),
        "dealname": ("dealname", "Deal Name"),
        "pipeline": ("pipeline", "Pipeline"),
    },
    required=("deal_id", "dealstage", "created_at"),
    all_of=("deal_id", "dealstage"),
    name_hints=("deals", "deal"),
    dynamic=_entered,
)
CAMPAIGNS = FileKind(
    key="campaigns",
    label="HubSpot campaigns",
    target="campaigns",
    columns={
        "campaign_id": ("hs_object_id", "id", "Record ID", "campaign_id", "Campaign ID", "hs_campaign_id"),
        "name": ("hs_name", "Campaign name", "name", "Campaign"),
        "started_on": ("hs_start_date", "Start date"),
        "ended_on": ("hs_end_date", "End date"),
        "cost": ("hs_spend_items_sum_amount", "Spend sum", "Spend"),
        "channel": ("channel", "Channel", "hs_campaign_type", "Campaign type", "Type"),
        "created_at": ("createdAt", "hs_createdate", "Create Date", "Created Date"),
    },
    required=("campaign_id", "name"),
    all_of=("campaign_id", "name"),
    any_of=("started_on", "ended_on", "cost"),
    none_of=("dealstage", "lifecyclestage"),
    name_hints=("campaigns", "campaign"),
)


def _snake(series: pd.Series) -> pd.Series:
    return series.str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_")


def _leads(ctx: Ctx, frame: pd.DataFrame) -> Batch:
    lifecycle_key = keys_of(col(frame, "lifecyclestage"))
    ls = map_values(col(frame, "lead_status"), LEAD_STATUS)
    lc = map_values(col(frame, "lifecyclestage"), LIFECYCLE)
    status = np.where(lifecycle_key.isin(CONVERTED_LIFECYCLES), "converted",
                      np.where(ls != "", ls, np.where(lc != "", lc, "open")))
    employees = col(frame, "employees")
    lower_bound = employees.str.extract(r"^\s*(\d[\d,]*)", expand=False).str.replace(",", "", regex=False)
    employees = lower_bound.where(lower_bound.notna(), employees).fillna("").astype("str")
    score = pd.to_numeric(col(frame, "score"), errors="coerce")
    score_text = score.clip(0, 100).round().astype("Int64").astype("str").where(score.notna(), col(frame, "score"))
    leads = pd.DataFrame({
        "lead_id": col(frame, "lead_id"),
        "created_at": col(frame, "created_at"),
        "source": blank_to(_snake(col(frame, "source")), "unknown"),
        "company": col(frame, "company"),
        "industry": col(frame, "industry"),
        "employees": employees,
        "country": col(frame, "country"),
        "status": status,
        "_src": frame["_src"].to_numpy(),
        "_line": frame["_line"].to_numpy(),
    })
    if has(frame, "jobtitle"):
        leads["seniority"] = seniority_from_title(col(frame, "jobtitle"))
    for name in ("mql_at", "owner_id", "assigned_at"):
        if has(frame, name):
            leads[name] = col(frame, name)
    if has(frame, "score"):
        leads["score"] = score_text.fillna("").astype("str")
    if has(frame, "lead_status"):
        leads["rejected_reason"] = col(frame, "lead_status").where(leads["status"] == "rejected", "")
    return Batch("leads", leads, hints={"status": "HubSpot lead status NEW, OPEN, IN_PROGRESS, OPEN_DEAL, "
                                                  "UNQUALIFIED, ATTEMPTED_TO_CONTACT, CONNECTED, BAD_TIMING"})


def _deals(ctx: Ctx, frame: pd.DataFrame) -> list[Batch]:
    raw = col(frame, "dealstage")
    stage = map_values(raw, DEAL_STAGES)
    unknown = (raw != "") & ~keys_of(raw).isin(DEAL_STAGES)
    if has(frame, "is_won") or has(frame, "is_closed"):
        won, closed_flag = truthy(col(frame, "is_won")), truthy(col(frame, "is_closed"))
        stage = stage.where(~(unknown & won), "closed_won")
        stage = stage.where(~(unknown & ~won & closed_flag & has(frame, "is_won")), "closed_lost")
    closed = stage.isin(["closed_won", "closed_lost"])
    closedate = col(frame, "closedate")
    amount = col(frame, "amount")
    blank_amount = amount == ""
    if blank_amount.any():
        ctx.messages.append(f"{int(blank_amount.sum()):,} HubSpot deal(s) have no amount; they load with amount 0.")
    deals = pd.DataFrame({
        "deal_id": col(frame, "deal_id"),
        "created_at": col(frame, "created_at"),
        "amount": amount.where(~blank_amount, "0"),
        "stage": stage,
        "expected_close_on": closedate.where(~closed, ""),
        "closed_at": closedate.where(closed, ""),
        "_src": frame["_src"].to_numpy(),
        "_line": frame["_line"].to_numpy(),
    })
    for name in ("owner_id", "lost_reason", "account"):
        if has(frame, name):
            deals[name] = col(frame, name)
    if has(frame, "contact_ids"):
        deals["lead_id"] = col(frame, "contact_ids").str.split(r"[;,|\s]+", n=1, regex=True).str[0].fillna("").astype("str")
    batches = [Batch("deals", deals, hints={"stage": "HubSpot default-pipeline stages: " + ", ".join(DEAL_STAGES)})]
    entered = [c for c in frame.columns if str(c).startswith("entered_")]
    if entered:
        parts = []
        for c in entered:
            at = col(frame, c)
            keep = (at != "").to_numpy()
            parts.append(pd.DataFrame({
                "deal_id": deals["deal_id"].to_numpy()[keep], "stage": DEAL_STAGES[c[len("entered_"):]],
                "entered_at": at.to_numpy()[keep], "_src": deals["_src"].to_numpy()[keep],
                "_line": deals["_line"].to_numpy()[keep],
            }))
        history = pd.concat(parts, ignore_index=True)
        batches.append(Batch("deal_stage_history", history, primary=False, parent=("deals", "deal_id")))
    return batches


def _campaigns(ctx: Ctx, frame: pd.DataFrame) -> Batch:
    started = col(frame, "started_on")
    created = col(frame, "created_at").str.slice(0, 10)
    camp = pd.DataFrame({
        "campaign_id": col(frame, "campaign_id"),
        "name": col(frame, "name"),
        "channel": blank_to(_snake(col(frame, "channel")), "unknown"),
        "started_on": started.where(started != "", created),
        "ended_on": col(frame, "ended_on"),
        "_src": frame["_src"].to_numpy(),
        "_line": frame["_line"].to_numpy(),
    })
    if has(frame, "cost"):
        camp["cost"] = col(frame, "cost")
    return Batch("campaigns", camp)


def build(ctx: Ctx) -> list[Batch]:
    batches: list[Batch] = []
    contacts, deals = ctx.frame("contacts"), ctx.frame("deals")
    reps = owner_reps([(contacts, "owner_id"), (deals, "owner_id")], "HubSpot owner")
    if reps is not None:
        batches.append(reps)
    campaigns = ctx.frame("campaigns")
    if campaigns is not None:
        batches.append(_campaigns(ctx, campaigns))
    if contacts is not None:
        batches.append(_leads(ctx, contacts))
    if deals is not None:
        batches.extend(_deals(ctx, deals))
    return batches


PRESET = Preset(
    name="hubspot",
    label="HubSpot",
    kinds=(CONTACTS, DEALS, CAMPAIGNS),
    build=build,
    formats=US_FORMATS,
    strip_prefixes=("properties", "property"),
    summary="HubSpot contacts, deals and campaigns (API names or export labels).",
)
