"""`salesforce`: Salesforce Lead, Opportunity, Campaign, CampaignMember and OpportunityHistory exports.

Headers may be API names (Data Export, API/Bulk), Data Loader's UPPER-CASE names, or common report
labels. Datetimes: ISO 8601 with Z or +0000 (converted to UTC); US report formats also read.
IDs are kept exactly as exported: use one export style (15- or 18-character ids) for all files.

Lead → leads: lead_id = Id; created_at = CreatedDate; source = LeadSource (blank: "unknown");
company, industry, country; employees = NumberOfEmployees; seniority from Title by keywords;
owner_id = OwnerId (queue owners, ids starting 00G, count as unassigned); mql_at from a custom MQL date
field if present (MQL_Date__c, MQL_Date, MQL Date, Marketing_Qualified_Date__c); score from
Rating (Hot 80, Warm 50, Cold 20) unless a custom Lead_Score__c/Score column exists.
Status: IsConverted = true → converted; else Status: Open - Not Contacted / New / Open → open;
Working - Contacted / Working / Contacted / Qualified → accepted; Closed - Not Converted /
Unqualified / Disqualified → rejected (reason = the status); Nurturing / Recycled → recycled;
Closed - Converted / Converted → converted. Other values are quarantined.
ConvertedOpportunityId links the deal to its lead: the opportunity's lead_id is set from it (in the
same import, or on opportunities already loaded).

Opportunity → deals: deal_id = Id; account = Account.Name if exported, else AccountId; created_at =
CreatedDate; amount = Amount (blank: 0, counted in the summary); owner_id = OwnerId.
StageName → stage: Prospecting → discovery; Qualification, Needs Analysis → qualification;
Value Proposition, Id. Decision Makers, Perception Analysis, Proposal/Price Quote → proposal;
Negotiation/Review → negotiation; Closed Won → closed_won; Closed Lost → closed_lost. A custom stage is
placed by IsClosed/IsWon when exported (closed+won → closed_won, closed → closed_lost); an open custom
stage is quarantined. CloseDate is closed_at for closed deals and expected_close_on for open ones.
lost_reason from Loss_Reason__c / Lost_Reason__c if present.

OpportunityHistory → deal_stage_history: one row per stage change (OpportunityId, StageName mapped as
above, CreatedDate); rows that only changed amount or close date (same stage as the row before) are
skipped so a deal's time in stage is not reset.

Campaign → campaigns: campaign_id = Id; name = Name; channel from Type (Conference / Trade Show →
events, Webinar → webinar, Email → email, Advertisement → advertising, Banner Ads → display, Direct Mail
→ direct_mail, Telemarketing → outbound, Partners → partner, Referral Program → referral, Public
Relations → pr, other values in snake case; blank → unknown); started_on = StartDate (else the
creation date); ended_on = EndDate; cost = ActualCost.

CampaignMember → campaign_touches: lead_id = LeadId, campaign_id = CampaignId, touched_at =
FirstRespondedDate if the member responded, else CreatedDate (when added). Members that are contacts
only (no LeadId) are quarantined: touches are recorded for leads.

Owners (OwnerId of leads and opportunities) that are not yet reps are added as reps named
"Salesforce user <id>" with team "unknown"; a reps file imported with the accord preset fills them in.
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
    flag_probability,
    has,
    keys_of,
    map_values,
    owner_reps,
    seniority_from_title,
    truthy,
)
from core.ingest.presets.hubspot import US_FORMATS
from core.ingest.validate import Batch

STAGES = {
    "Prospecting": "discovery",
    "Qualification": "qualification",
    "Needs Analysis": "qualification",
    "Value Proposition": "proposal",
    "Id. Decision Makers": "proposal",
    "Perception Analysis": "proposal",
    "Proposal/Price Quote": "proposal",
    "Negotiation/Review": "negotiation",
    "Closed Won": "closed_won",
    "Closed Lost": "closed_lost",
}
LEAD_STATUS = {
    "Open - Not Contacted": "open", "New": "open", "Open": "open",
    "Working - Contacted": "accepted", "Working": "accepted", "Contacted": "accepted", "Qualified": "accepted",
    "Closed - Not Converted": "rejected", "Unqualified": "rejected", "Disqualified": "rejected",
    "Nurturing": "recycled", "Recycled": "recycled",
    "Closed - Converted": "converted", "Converted": "converted",
}
RATING = {"Hot": "80", "Warm": "50", "Cold": "20"}
CHANNELS = {
    "Conference": "events", "Trade Show": "events", "Webinar": "webinar", "Email": "email",
    "Advertisement": "advertising", "Banner Ads": "display", "Direct Mail": "direct_mail",
    "Telemarketing": "outbound", "Partners": "partner", "Referral Program": "referral", "Public Relations": "pr",
    "Other": "other",
}

LEAD = FileKind(
    key="lead",
    label="Salesforce Lead",
    target="leads",
    columns={
        "id": ("Id", "Lead ID"),
        "created_at": ("CreatedDate", "Created Date", "Create Date"),
        "source": ("LeadSource", "Lead Source"),
        "company": ("Company",),
        "industry": ("Industry",),
        "employees": ("NumberOfEmployees", "No. of Employees", "Employees"),
        "country": ("Country",),
        "title": ("Title",),
        "status": ("Status", "Lead Status"),
        "is_converted": ("IsConverted", "Converted"),
        "converted_opp": ("ConvertedOpportunityId", "Converted Opportunity ID", "Converted Opportunity"),
        "converted_contact": ("ConvertedContactId", "Converted Contact ID"),
        "owner_id": ("OwnerId", "Lead Owner ID", "Owner ID"),
        "mql_at": ("MQL_Date__c", "MQL_Date", "MQL Date", "Marketing_Qualified_Date__c"),
        "score": ("Lead_Score__c", "Score__c", "Lead Score"),
        "rating": ("Rating",),
        "is_deleted": ("IsDeleted", "Deleted"),
        "last_name": ("LastName", "Last Name"),
        "stage": ("StageName",),
    },
    required=("id", "created_at"),
    all_of=("id", "status"),
    any_of=("company", "is_converted", "source", "last_name", "converted_opp"),
    none_of=("stage",),
    name_hints=("lead",),
)
OPPORTUNITY = FileKind(
    key="opportunity",
    label="Salesforce Opportunity",
    target="deals",
    columns={
        "id": ("Id", "Opportunity ID"),
        "account_id": ("AccountId", "Account ID"),
        "account_name": ("Account.Name", "Account Name"),
        "created_at": ("CreatedDate", "Created Date"),
        "amount": ("Amount",),
        "stage": ("StageName", "Stage"),
        "close_date": ("CloseDate", "Close Date"),
        "is_closed": ("IsClosed", "Closed"),
        "is_won": ("IsWon", "Won"),
        "owner_id": ("OwnerId", "Opportunity Owner ID", "Owner ID"),
        "lost_reason": ("Loss_Reason__c", "Lost_Reason__c", "Loss Reason"),
        "is_deleted": ("IsDeleted", "Deleted"),
        "probability": ("Probability", "Probability (%)"),
        "opportunity_id": ("OpportunityId",),
    },
    required=("id", "stage", "created_at"),
    all_of=("id", "stage"),
    none_of=("opportunity_id",),
    name_hints=("opportunity", "opportunities"),
)
HISTORY = FileKind(
    key="opportunity_history",
    label="Salesforce OpportunityHistory",
    target="deal_stage_history",
    columns={
        "opportunity_id": ("OpportunityId", "Opportunity ID"),
        "stage": ("StageName", "Stage"),
        "created_at": ("CreatedDate", "Created Date", "Last Modified"),
        "is_deleted": ("IsDeleted",),
    },
    required=("opportunity_id", "stage", "created_at"),
    all_of=("opportunity_id", "stage"),
    name_hints=("opportunityhistory", "opportunity_history", "history"),
)
CAMPAIGN = FileKind(
    key="campaign",
    label="Salesforce Campaign",
    target="campaigns",
    columns={
        "id": ("Id", "Campaign ID"),
        "name": ("Name", "Campaign Name"),
        "type": ("Type",),
        "started_on": ("StartDate", "Start Date"),
        "ended_on": ("EndDate", "End Date"),
        "cost": ("ActualCost", "Actual Cost", "Actual Cost in Campaign"),
        "created_at": ("CreatedDate", "Created Date"),
        "stage": ("StageName",),
        "lead_id": ("LeadId",),
        "is_converted": ("IsConverted",),
        "is_deleted": ("IsDeleted",),
    },
    required=("id", "name"),
    all_of=("id", "name"),
    any_of=("started_on", "type", "cost", "ended_on"),
    none_of=("stage", "lead_id", "is_converted"),
    name_hints=("campaign",),
)
MEMBER = FileKind(
    key="campaign_member",
    label="Salesforce CampaignMember",
    target="campaign_touches",
    columns={
        "campaign_id": ("CampaignId", "Campaign ID"),
        "lead_id": ("LeadId", "Lead ID"),
        "contact_id": ("ContactId", "Contact ID"),
        "responded_at": ("FirstRespondedDate", "First Responded Date"),
        "has_responded": ("HasResponded", "Responded"),
        "created_at": ("CreatedDate", "Created Date", "Member First Associated Date"),
        "is_deleted": ("IsDeleted",),
    },
    required=("campaign_id",),
    all_of=("campaign_id",),
    any_of=("lead_id", "contact_id"),
    name_hints=("campaignmember", "campaign_member", "members"),
)


# Task and Event (activities). WhoId is a lead (00Q…) or a contact (003…); WhatId an opportunity (006…) or
# another record. Columns only one of the two objects has tell them apart.
_ACTIVITY_COLUMNS = {
    "id": ("Id", "Activity ID", "Task ID", "Event ID"),
    "who_id": ("WhoId", "Who ID", "Name ID"),
    "what_id": ("WhatId", "What ID", "Related To ID"),
    "owner_id": ("OwnerId", "Assigned To ID", "Owner ID", "Assigned ID"),
    "created_at": ("CreatedDate", "Created Date", "Date Created"),
    "activity_date": ("ActivityDate", "Due Date", "Date"),
    "type": ("Type", "Task Type", "Event Type"),
    "subject": ("Subject",),
    "is_deleted": ("IsDeleted", "Deleted"),
    # Task only
    "subtype": ("TaskSubtype", "Task Subtype"),
    "completed_at": ("CompletedDateTime", "Completed Date/Time"),
    "status": ("Status",),
    "is_closed": ("IsClosed", "Closed"),
    # Event only
    "activity_datetime": ("ActivityDateTime", "Activity Date/Time"),
    "start": ("StartDateTime", "Start Date Time", "Start"),
    "event_subtype": ("EventSubtype", "Event Subtype"),
    "duration": ("DurationInMinutes", "Duration"),
    "all_day": ("IsAllDayEvent", "All-Day Event"),
    # other objects
    "stage": ("StageName",),
    "is_converted": ("IsConverted",),
}
_EVENT_ONLY = ("activity_datetime", "start", "event_subtype", "duration", "all_day")
TASK = FileKind(
    key="task",
    label="Salesforce Task",
    target="activities",
    columns=_ACTIVITY_COLUMNS,
    required=("id", "owner_id"),
    all_of=("id", "who_id"),
    any_of=("subtype", "subject", "activity_date", "type", "what_id", "status", "completed_at"),
    none_of=(*_EVENT_ONLY, "stage", "is_converted"),
    name_hints=("task", "tasks"),
)
EVENT = FileKind(
    key="event",
    label="Salesforce Event",
    target="activities",
    columns=_ACTIVITY_COLUMNS,
    required=("id", "owner_id"),
    all_of=("id", "who_id"),
    any_of=_EVENT_ONLY,
    none_of=("stage", "is_converted", "subtype"),
    name_hints=("event", "events"),
)
TASK_KINDS = {"Call": "call", "Email": "email", "Meeting": "meeting"}
OPEN_TASK_STATUSES = ("Not Started", "In Progress", "Waiting on someone else", "Deferred", "Open")


def _live(ctx: Ctx, frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """Rows not marked IsDeleted (recycle-bin rows in full exports), with a message if any were skipped."""
    if not has(frame, "is_deleted"):
        return frame
    deleted = truthy(col(frame, "is_deleted"))
    if deleted.any():
        ctx.messages.append(f"{int(deleted.sum()):,} {label} row(s) marked IsDeleted were skipped.")
    return frame[~deleted].reset_index(drop=True)


def _stage(frame: pd.DataFrame) -> pd.Series:
    raw = col(frame, "stage")
    stage = map_values(raw, STAGES)
    unknown = (raw != "") & ~keys_of(raw).isin(keys_of(pd.Series(list(STAGES))).tolist())
    if has(frame, "is_closed"):
        closed, won = truthy(col(frame, "is_closed")), truthy(col(frame, "is_won"))
        stage = stage.where(~(unknown & closed & won), "closed_won")
        stage = stage.where(~(unknown & closed & ~won), "closed_lost")
    return stage


def _leads(ctx: Ctx, frame: pd.DataFrame) -> Batch:
    status = map_values(col(frame, "status"), LEAD_STATUS)
    status = status.where(~truthy(col(frame, "is_converted")), "converted")
    status = status.where(status != "", "open")
    owner = col(frame, "owner_id")
    leads = pd.DataFrame({
        "lead_id": col(frame, "id"),
        "created_at": col(frame, "created_at"),
        "source": blank_to(col(frame, "source"), "unknown"),
        "company": col(frame, "company"),
        "industry": col(frame, "industry"),
        "employees": col(frame, "employees"),
        "country": col(frame, "country"),
        "status": status,
        "rejected_reason": col(frame, "status").where(status == "rejected", ""),
        "_src": frame["_src"].to_numpy(),
        "_line": frame["_line"].to_numpy(),
    })
    if has(frame, "owner_id"):
        leads["owner_id"] = owner.where(~owner.str.startswith("00G"), "")
    if has(frame, "title"):
        leads["seniority"] = seniority_from_title(col(frame, "title"))
    if has(frame, "mql_at"):
        leads["mql_at"] = col(frame, "mql_at")
    if has(frame, "score"):
        leads["score"] = col(frame, "score")
    elif has(frame, "rating"):
        leads["score"] = map_values(col(frame, "rating"), RATING, default="")
    return Batch("leads", leads, hints={"status": "Salesforce lead statuses: " + ", ".join(LEAD_STATUS)})


def _deals(ctx: Ctx, frame: pd.DataFrame, leads: pd.DataFrame | None) -> Batch:
    stage = _stage(frame)
    closed = stage.isin(["closed_won", "closed_lost"])
    close = col(frame, "close_date")
    amount = col(frame, "amount")
    blank_amount = amount == ""
    if blank_amount.any():
        ctx.messages.append(f"{int(blank_amount.sum()):,} Salesforce opportunit(ies) have no Amount; they load with amount 0.")
    ids = col(frame, "id")
    account = col(frame, "account_name")
    account = account.where(account != "", col(frame, "account_id"))
    deals = pd.DataFrame({
        "deal_id": ids,
        "account": account,
        "created_at": col(frame, "created_at"),
        "amount": amount.where(~blank_amount, "0"),
        "stage": stage,
        "expected_close_on": close.where(~closed, ""),
        "closed_at": close.where(closed, ""),
        "owner_id": col(frame, "owner_id"),
        "_src": frame["_src"].to_numpy(),
        "_line": frame["_line"].to_numpy(),
    })
    if has(frame, "lost_reason"):
        deals["lost_reason"] = col(frame, "lost_reason").where(stage == "closed_lost", "")
    # the lead link: from converted leads in this import, else what is already stored for the deal
    lead_of: pd.Series = pd.Series(dtype="str")
    if leads is not None and has(leads, "converted_opp"):
        conv = pd.DataFrame({"opp": col(leads, "converted_opp"), "lead": col(leads, "id")})
        conv = conv[conv["opp"] != ""].drop_duplicates("opp")
        lead_of = conv.set_index("opp")["lead"]
    linked = ids.map(lead_of) if len(lead_of) else pd.Series([None] * len(ids), index=ids.index)
    stored = ctx.existing("deals", "deal_id", ["lead_id"], ids)
    if len(stored):
        linked = linked.fillna(ids.map(stored.set_index("deal_id")["lead_id"]))
    deals["lead_id"] = linked.fillna("").astype("str").to_numpy()
    return Batch("deals", deals, hints={"stage": "Salesforce stages: " + ", ".join(STAGES)})


def _history(ctx: Ctx, frame: pd.DataFrame) -> Batch:
    stage = _stage(frame)
    h = pd.DataFrame({
        "deal_id": col(frame, "opportunity_id"), "stage": stage, "entered_at": col(frame, "created_at"),
        "_src": frame["_src"].to_numpy(), "_line": frame["_line"].to_numpy(),
    })
    when = pd.to_datetime(h["entered_at"].where(h["entered_at"] != "", None), errors="coerce", utc=True, format="ISO8601")
    order = h.assign(_t=when).sort_values(["deal_id", "_t", "_line"], kind="stable")
    prev = order.groupby("deal_id")["stage"].shift(1)
    changed = (order["stage"] != prev) | order["_t"].isna()
    skipped = int((~changed).sum())
    if skipped:
        ctx.messages.append(f"{skipped:,} OpportunityHistory row(s) did not change the stage (amount or date edits) and were skipped.")
    return Batch("deal_stage_history", order[changed].drop(columns="_t").reset_index(drop=True),
                 hints={"stage": "Salesforce stages: " + ", ".join(STAGES)})


def _campaigns(ctx: Ctx, frame: pd.DataFrame) -> Batch:
    type_ = col(frame, "type")
    snake = type_.str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_")
    channel = map_values(type_, CHANNELS)
    channel = channel.where(keys_of(type_).isin(keys_of(pd.Series(list(CHANNELS))).tolist()), snake)
    started = col(frame, "started_on")
    camp = pd.DataFrame({
        "campaign_id": col(frame, "id"),
        "name": col(frame, "name"),
        "channel": blank_to(channel, "unknown"),
        "started_on": started.where(started != "", col(frame, "created_at").str.slice(0, 10)),
        "ended_on": col(frame, "ended_on"),
        "_src": frame["_src"].to_numpy(),
        "_line": frame["_line"].to_numpy(),
    })
    if has(frame, "cost"):
        camp["cost"] = col(frame, "cost")
    return Batch("campaigns", camp)


def _touches(ctx: Ctx, frame: pd.DataFrame) -> Batch:
    lead = col(frame, "lead_id")
    responded = col(frame, "responded_at")
    touches = pd.DataFrame({
        "lead_id": lead,
        "campaign_id": col(frame, "campaign_id"),
        "touched_at": responded.where(responded != "", col(frame, "created_at")),
        "_src": frame["_src"].to_numpy(),
        "_line": frame["_line"].to_numpy(),
    })
    contact_only = (lead == "") & (col(frame, "contact_id") != "")
    if contact_only.any():
        touches["_pcol"] = np.where(contact_only, "lead_id", None)  # type: ignore[call-overload]  # stubs: no None fill
        touches["_preason"] = np.where(  # type: ignore[call-overload]  # stubs: no None fill
            contact_only, "member is a contact, not a lead (no LeadId); touches are kept for leads", None)
    return Batch("campaign_touches", touches)


def _activities(ctx: Ctx, frame: pd.DataFrame, event: bool, leads: pd.DataFrame | None) -> Batch | None:
    """Task or Event rows → activities (see the module docstring for every rule)."""
    label = "Salesforce Event" if event else "Salesforce Task"
    skips = Skips(ctx, f"{', '.join(ctx.file_names('event' if event else 'task'))} ({label})")
    # when: a meeting's start; a task's completion, else when it was logged, else its (due) date
    order = ("activity_datetime", "start", "activity_date", "created_at") if event else (
        "completed_at", "created_at", "activity_date")
    when = col(frame, order[0])
    for fallback in order[1:]:
        when = when.where(when != "", col(frame, fallback))
    # what: a task's subtype, else its type, else its subject's first word; an event is a meeting unless typed
    type_kind = map_values(col(frame, "type"), TASK_KINDS, default="")
    subtype = keys_of(col(frame, "subtype"))
    if event:
        kind = type_kind.where(type_kind != "", "meeting")
    else:
        subject = col(frame, "subject").str.lower()
        by_subject = np.select([subject.str.match(r"^(?:call|phone)\b"), subject.str.match(r"^e-?mail\b"),
                                subject.str.match(r"^meeting\b")], ["call", "email", "meeting"], "")
        kind = pd.Series(np.select([subtype == "call", subtype == "email"], ["call", "email"], ""), index=frame.index)
        kind = kind.where(kind != "", type_kind)
        kind = kind.where(kind != "", pd.Series(by_subject, index=frame.index))
    # who: a lead (00Q…), or the contact a lead of this import was converted into; the opportunity (006…)
    who, what = col(frame, "who_id"), col(frame, "what_id")
    lead_id = who.where(who.str.startswith("00Q"), "")
    if leads is not None and has(leads, "converted_contact"):  # a converted lead's activities move to its contact
        conv = pd.DataFrame({"contact": col(leads, "converted_contact"), "lead": col(leads, "id")})
        conv = conv[conv["contact"] != ""].drop_duplicates("contact").set_index("contact")["lead"]
        lead_id = lead_id.where(lead_id != "", who.map(conv).fillna("").astype("str"))
    rows = frame.assign(_when=when, _kind=kind, _lead=lead_id, _deal=what.where(what.str.startswith("006"), ""),
                        _subtype=subtype)

    rows = skips.drop(rows, truthy(col(rows, "is_deleted")), "row(s) marked IsDeleted")
    if not event:
        if has(rows, "is_closed"):
            still_open = ~truthy(col(rows, "is_closed")) & (col(rows, "is_closed") != "")
        else:
            still_open = keys_of(col(rows, "status")).isin(keys_of(pd.Series(OPEN_TASK_STATUSES)).tolist())
        rows = skips.drop(rows, still_open, "open task(s), not done yet (a planned call is not a touch)")
        rows = skips.drop(rows, rows["_subtype"] == "listemail", "list e-mail(s), mass e-mails rather than a rep's touch")
        rows = skips.drop(rows, rows["_kind"] == "",
                          "task(s) that are not a call, e-mail or meeting (by TaskSubtype, Type and Subject)")
    else:
        rows = skips.drop(rows, after(ctx, rows["_when"]), "meeting(s) still to come (after the import)")
    unlinked = (rows["_lead"] == "") & (rows["_deal"] == "")
    contacts = int((unlinked & col(rows, "who_id").str.startswith("003")).sum())
    rows = skips.drop(rows, unlinked, "activit(ies) on neither a lead nor an opportunity" + (
        f" ({contacts:,} on contacts: import them with the Lead export, whose ConvertedContactId links a converted "
        "lead's activities back to it)" if contacts else ""))
    skips.say()
    if rows.empty:
        return None
    return Batch("activities", pd.DataFrame({
        "activity_id": col(rows, "id"),
        "lead_id": rows["_lead"].to_numpy(),
        "deal_id": rows["_deal"].to_numpy(),
        "rep_id": col(rows, "owner_id"),
        "occurred_at": rows["_when"].to_numpy(),
        "kind": rows["_kind"].to_numpy(),
        "_src": rows["_src"].to_numpy(),
        "_line": rows["_line"].to_numpy(),
    }))


def build(ctx: Ctx) -> list[Batch]:
    batches: list[Batch] = []
    lead = ctx.frame("lead")
    opp = ctx.frame("opportunity")
    lead = _live(ctx, lead, "Lead") if lead is not None else None
    opp = _live(ctx, opp, "Opportunity") if opp is not None else None
    tasks, events = ctx.frame("task"), ctx.frame("event")
    reps = owner_reps([(lead, "owner_id"), (opp, "owner_id"), (tasks, "owner_id"), (events, "owner_id")],
                      "Salesforce user", skip_prefix="00G")
    if reps is not None:
        batches.append(reps)
    campaign = ctx.frame("campaign")
    if campaign is not None:
        batches.append(_campaigns(ctx, _live(ctx, campaign, "Campaign")))
    if lead is not None:
        batches.append(_leads(ctx, lead))
    if opp is not None:
        batches.append(_deals(ctx, opp, lead))
        flag_probability(ctx, opp, "probability", ("opportunity", "opportunities"))
    elif lead is not None and has(lead, "converted_opp"):
        # opportunities already loaded: link them to the leads converted into them
        conv = pd.DataFrame({"deal_id": col(lead, "converted_opp"), "lead_id": col(lead, "id"),
                             "_src": lead["_src"].to_numpy(), "_line": lead["_line"].to_numpy()})
        conv = conv[conv["deal_id"] != ""].drop_duplicates("deal_id")
        if len(conv):
            batches.append(Batch("deals", conv.reset_index(drop=True), mode="patch", primary=False))
    history = ctx.frame("opportunity_history")
    if history is not None:
        batches.append(_history(ctx, _live(ctx, history, "OpportunityHistory")))
    members = ctx.frame("campaign_member")
    if members is not None:
        batches.append(_touches(ctx, _live(ctx, members, "CampaignMember")))
    for frame, event in ((tasks, False), (events, True)):
        if frame is not None:
            acts = _activities(ctx, frame, event, lead)
            if acts is not None:
                batches.append(acts)
    return batches


PRESET = Preset(
    name="salesforce",
    label="Salesforce",
    kinds=(LEAD, OPPORTUNITY, HISTORY, CAMPAIGN, MEMBER, TASK, EVENT),
    build=build,
    formats=US_FORMATS,
    summary="Salesforce Lead, Opportunity, OpportunityHistory, Campaign, CampaignMember, Task and Event exports.",
)
