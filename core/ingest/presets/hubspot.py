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
    Ctx,
    FileKind,
    Preset,
    Skips,
    after,
    blank_to,
    col,
    first_id,
    flag_probability,
    has,
    keys_of,
    map_values,
    owner_reps,
    seniority_from_title,
    truthy,
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
        # the legacy lifecycle-stage date, and the newer "date entered" of the lifecycle pipeline
        "mql_at": ("hs_lifecyclestage_marketingqualifiedlead_date", "Became a Marketing Qualified Lead Date"),
        "mql_entered": (
            "hs_v2_date_entered_marketingqualifiedlead", "hs_date_entered_marketingqualifiedlead",
            'Date entered "Marketing Qualified Lead (Lifecycle Stage Pipeline)"',
            "Date entered Marketing Qualified Lead",
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
    any_of=("lifecyclestage", "lead_status", "email", "firstname", "lastname", "jobtitle", "source", "mql_at",
            "mql_entered"),
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
        "probability": ("hs_deal_stage_probability", "Deal probability", "hs_forecast_probability",
                        "Forecast probability"),
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


# Calls, e-mails and meetings (CRM v3 engagement objects, the UI's activity exports, ETL engagement tables).
_ENGAGEMENT_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("hs_object_id", "Record ID", "id", "engagement_id", "Activity ID", "Call ID", "Email ID", "Meeting ID"),
    "timestamp": ("hs_timestamp", "Activity date", "Timestamp", "occurred_at"),
    "created_at": ("hs_createdate", "createdate", "Create Date", "Created Date", "createdAt"),
    "owner_id": ("hubspot_owner_id", "Activity assigned to", "Owner ID", "Activity owner", "HubSpot Owner",
                 "owner_id", "Call owner", "Meeting owner", "Email owner"),
    "contact_ids": ("associated_contact_ids", "associated_contact_id", "Associated Contact IDs",
                    "Associated Contact ID", "contact_ids", "contact_id", "associations_contacts", "Contact ID",
                    "Contact IDs"),
    "deal_ids": ("associated_deal_ids", "associated_deal_id", "Associated Deal IDs", "Associated Deal ID",
                 "deal_ids", "deal_id", "associations_deals"),
    "assigned_at": ("hubspot_owner_assigneddate", "Owner Assigned Date", "Contact owner assigned date"),
    "type": ("engagement_type", "type", "Activity type", "hs_engagement_type", "Engagement type"),
    "call_status": ("hs_call_status", "Call status"),
    "call_title": ("hs_call_title", "Call title"),
    "call_direction": ("hs_call_direction", "Call direction"),
    "call_disposition": ("hs_call_disposition", "Call outcome"),
    "call_duration": ("hs_call_duration", "Call duration"),
    "call_body": ("hs_call_body", "Call notes"),
    "email_direction": ("hs_email_direction", "Email direction"),
    "email_subject": ("hs_email_subject", "Email subject"),
    "email_status": ("hs_email_status", "Email send status"),
    "email_text": ("hs_email_text", "Email body"),
    "meeting_title": ("hs_meeting_title", "Meeting name", "Meeting title"),
    "meeting_start": ("hs_meeting_start_time", "Meeting start time", "Start time"),
    "meeting_end": ("hs_meeting_end_time", "Meeting end time", "End time"),
    "meeting_outcome": ("hs_meeting_outcome", "Meeting outcome", "Outcome"),
    # columns of other objects: a file with them is not an activity export
    "dealstage": ("dealstage", "Deal Stage"),
    "lifecyclestage": ("lifecyclestage", "Lifecycle Stage"),
    "campaign_name": ("hs_name", "Campaign name"),
}
_CALL_MARKS = ("call_status", "call_title", "call_direction", "call_disposition", "call_duration", "call_body")
_EMAIL_MARKS = ("email_direction", "email_subject", "email_status", "email_text")
_MEETING_MARKS = ("meeting_title", "meeting_start", "meeting_end", "meeting_outcome")
ENGAGEMENT_TYPES = {"CALL": "call", "EMAIL": "email", "FORWARDED_EMAIL": "email", "MEETING": "meeting"}


def _engagement_kind(key: str, label: str, marks: tuple[str, ...], hints: tuple[str, ...],
                     all_of: tuple[str, ...] = ("id",)) -> FileKind:
    return FileKind(
        key=key, label=label, target="activities", columns=_ENGAGEMENT_COLUMNS,
        required=("id", "owner_id"), all_of=all_of, any_of=marks, none_of=("dealstage", "lifecyclestage", "campaign_name"),
        name_hints=hints,
    )


CALLS = _engagement_kind("calls", "HubSpot calls", _CALL_MARKS, ("calls", "call"))
EMAILS = _engagement_kind("emails", "HubSpot emails", _EMAIL_MARKS, ("emails",))
MEETINGS = _engagement_kind("meetings", "HubSpot meetings", _MEETING_MARKS, ("meetings", "meeting"))
ENGAGEMENTS = _engagement_kind("engagements", "HubSpot engagements (mixed activity types)", (),
                               ("engagements", "engagement", "activities"), all_of=("id", "type"))
ENGAGEMENT_KINDS = {"calls": "call", "emails": "email", "meetings": "meeting", "engagements": ""}


def _activities(ctx: Ctx, key: str) -> list[Batch]:
    """Calls, e-mails, meetings or a mixed engagements export → activities, and the contacts' owner
    assignment time (leads.assigned_at) where the export carries it. Rules in the module docstring."""
    frame = ctx.frame(key)
    if frame is None:
        return []
    label = {"calls": "HubSpot calls", "emails": "HubSpot emails", "meetings": "HubSpot meetings"}.get(key, "HubSpot engagements")
    skips = Skips(ctx, f"{', '.join(ctx.file_names(key))} ({label})")
    fixed = ENGAGEMENT_KINDS[key]
    typed = map_values(col(frame, "type"), ENGAGEMENT_TYPES, default="")
    kind = typed.where(typed != "", fixed) if fixed else typed
    when = col(frame, "timestamp")
    for fallback in ("meeting_start", "created_at"):
        when = when.where(when != "", col(frame, fallback))
    rows = frame.assign(_kind=kind, _when=when, _lead=first_id(col(frame, "contact_ids")),
                        _deal=first_id(col(frame, "deal_ids")))
    type_key = keys_of(col(rows, "type"))
    rows = skips.drop(rows, (keys_of(col(rows, "email_direction")) == "incomingemail") | (type_key == "incomingemail"),
                      "incoming e-mail(s), written by the contact, not a rep's touch")
    rows = skips.drop(rows, keys_of(col(rows, "call_status")).isin(["canceled", "cancelled", "queued"]),
                      "call(s) canceled or still queued (never dialled)")
    rows = skips.drop(rows, keys_of(col(rows, "meeting_outcome")).isin(["canceled", "cancelled"]), "canceled meeting(s)")
    rows = skips.drop(rows, (rows["_kind"] == "meeting") & after(ctx, rows["_when"]),
                      "meeting(s) still to come (after the import)")
    rows = skips.drop(rows, rows["_kind"] == "", "engagement(s) that are not a call, e-mail or meeting (notes, tasks)")
    rows = skips.drop(rows, (rows["_lead"] == "") & (rows["_deal"] == ""),
                      "activit(ies) with no associated contact or deal id" + (
                          "" if has(frame, "contact_ids") else
                          " (the export has no associated-contact id column: include associations when exporting)"))
    skips.say()
    if rows.empty:
        return []
    batches = [Batch("activities", pd.DataFrame({
        "activity_id": col(rows, "id"),
        "lead_id": rows["_lead"].to_numpy(),
        "deal_id": rows["_deal"].to_numpy(),
        "rep_id": col(rows, "owner_id"),
        "occurred_at": rows["_when"].to_numpy(),
        "kind": rows["_kind"].to_numpy(),
        "_src": rows["_src"].to_numpy(),
        "_line": rows["_line"].to_numpy(),
    }))]
    if has(rows, "assigned_at"):  # the contact's owner-assignment time: when the SLA clock starts
        assigned = pd.DataFrame({"lead_id": rows["_lead"], "assigned_at": col(rows, "assigned_at"),
                                 "_src": rows["_src"], "_line": rows["_line"]})
        assigned = assigned[(assigned["lead_id"] != "") & (assigned["assigned_at"] != "")].drop_duplicates("lead_id")
        if len(assigned):
            batches.append(Batch("leads", assigned.reset_index(drop=True), mode="patch", primary=False,
                                 target="leads (owner assigned date)"))
    return batches


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
    if has(frame, "mql_at") or has(frame, "mql_entered"):
        legacy = col(frame, "mql_at")
        leads["mql_at"] = legacy.where(legacy != "", col(frame, "mql_entered"))
    for name in ("owner_id", "assigned_at"):
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
        deals["lead_id"] = first_id(col(frame, "contact_ids"))
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
    owners = [(contacts, "owner_id"), (deals, "owner_id"), *((ctx.frame(k), "owner_id") for k in ENGAGEMENT_KINDS)]
    reps = owner_reps(owners, "HubSpot owner")
    if reps is not None:
        batches.append(reps)
    campaigns = ctx.frame("campaigns")
    if campaigns is not None:
        batches.append(_campaigns(ctx, campaigns))
    if contacts is not None:
        batches.append(_leads(ctx, contacts))
    if deals is not None:
        batches.extend(_deals(ctx, deals))
        flag_probability(ctx, deals, "probability", ("deal", "deals"))
    for key in ENGAGEMENT_KINDS:
        batches.extend(_activities(ctx, key))
    return batches


PRESET = Preset(
    name="hubspot",
    label="HubSpot",
    kinds=(CONTACTS, DEALS, CAMPAIGNS, CALLS, EMAILS, MEETINGS, ENGAGEMENTS),
    build=build,
    formats=US_FORMATS,
    strip_prefixes=("properties", "property"),
    summary="HubSpot contacts, deals, campaigns, calls, emails and meetings (API names or export labels).",
)
