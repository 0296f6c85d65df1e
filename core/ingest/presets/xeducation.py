"""`xeducation`: the "X Education" lead-scoring file (Leads.csv).

The file has no dates at all. A lead's created_at is the moment of the import that first loaded it
(re-imports keep it; the schema needs a value), and the data-quality profile says how many leads carry
it: time-based figures for these leads describe the import, not real events. Everything else:
- lead_id = Prospect ID; source = Lead Source (blank: "unknown"; spellings differing only in case are
  folded into the most common one, so "google" counts as "Google").
- score from Lead Quality (the sales team's rating): High in Relevance 90, Might be 65, Not Sure 45,
  Low in Relevance 25, Worst 5; blank stays blank. The Asymmetrique indices are not used: their scale
  is not documented. With the default quality definition (score ≥ 60) "High in Relevance" and
  "Might be" leads are quality leads. Note that the sales team filled Lead Quality partly after the
  outcome, so it flatters conversion.
- status: Converted = 1 → converted; otherwise by Tags — tags that close the lead (e.g. "Interested in
  other courses", "Lost to EINS", "invalid number") → rejected with the tag as rejected_reason; tags of a
  lead sales is still working (e.g. "Ringing", "Will revert after reading the email") → accepted; tags
  that put it off to later ("Interested in Next batch", "Shall take in the next coming month") →
  recycled; blank → open; any other tag → accepted.
- country = Country, industry = Specialization ("Select" means not chosen and becomes blank).
- No deals: the data has no amounts, so won revenue cannot be computed from it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.ingest.presets.base import Ctx, FileKind, Preset, col, map_values
from core.ingest.validate import Batch

QUALITY_SCORE = {"High in Relevance": "90", "Might be": "65", "Not Sure": "45", "Low in Relevance": "25", "Worst": "5"}
REJECTING_TAGS = (
    "Interested in other courses", "Already a student", "Closed by Horizzon", "Lost to EINS", "Lost to Others",
    "Not doing further education", "Interested  in full time MBA", "Interested in full time MBA", "invalid number",
    "Diploma holder (Not Eligible)", "wrong number given", "number not provided", "University not recognized",
    "Recognition issue (DEC approval)", "Graduation in progress", "Lateral student",
)
RECYCLING_TAGS = ("Interested in Next batch", "Shall take in the next coming month")
WORKING_TAGS = (
    "Will revert after reading the email", "Ringing", "switched off", "Busy", "opp hangup", "in touch with EINS",
    "Still Thinking", "Want to take admission but has financial problems", "In confusion whether part time or DLP",
)
TAG_STATUS = {**{t: "rejected" for t in REJECTING_TAGS}, **{t: "recycled" for t in RECYCLING_TAGS},
              **{t: "accepted" for t in WORKING_TAGS}}

LEADS = FileKind(
    key="leads",
    label="X Education leads",
    target="leads",
    columns={
        "prospect_id": ("Prospect ID",), "lead_number": ("Lead Number",), "lead_origin": ("Lead Origin",),
        "lead_source": ("Lead Source",), "converted": ("Converted",), "tags": ("Tags",),
        "lead_quality": ("Lead Quality",), "country": ("Country",), "specialization": ("Specialization",),
        "occupation": ("What is your current occupation",), "total_visits": ("TotalVisits",),
    },
    required=("prospect_id", "converted"),
    all_of=("prospect_id",),
    any_of=("converted", "lead_source", "lead_origin", "lead_number"),
    name_hints=("leads",),
)
DICTIONARY = FileKind(
    key="data_dictionary",
    label="X Education data dictionary",
    target="",
    columns={"variable": (), "description": ()},
    all_of=("variable", "description"),
    none_of=("prospect_id",),
    name_hints=("dictionary",),
    ignore="a data dictionary describing Leads.csv; nothing to import from it.",
)


def _select_blank(series: pd.Series) -> pd.Series:
    return series.where(~series.str.lower().str.startswith("select"), "")


def _fold_case(series: pd.Series) -> pd.Series:
    """Spellings that differ only in case become the most frequent spelling."""
    lower = series.str.lower()
    counts = pd.DataFrame({"lower": lower, "value": series}).value_counts().reset_index()
    best = counts.sort_values(["count", "value"], ascending=[False, True]).drop_duplicates("lower")
    return lower.map(best.set_index("lower")["value"]).fillna(series).astype("str")


def build(ctx: Ctx) -> list[Batch]:
    frame = ctx.frame("leads")
    if frame is None:
        return []
    converted_raw = col(frame, "converted")
    converted = converted_raw.isin(["1", "1.0"])
    tags = col(frame, "tags")
    tag_status = map_values(tags, TAG_STATUS, default="accepted")
    status = pd.Series(np.where(converted, "converted", np.where(tag_status == "", "open", tag_status)), index=frame.index)
    leads = pd.DataFrame({
        "lead_id": col(frame, "prospect_id"),
        "created_at": ctx.now.strftime("%Y-%m-%d %H:%M:%S"),
        "source": _fold_case(col(frame, "lead_source")).where(col(frame, "lead_source") != "", "unknown"),
        "country": _select_blank(col(frame, "country")),
        "industry": _select_blank(col(frame, "specialization")),
        "score": map_values(col(frame, "lead_quality"), QUALITY_SCORE),
        "status": status,
        "rejected_reason": tags.where(status == "rejected", ""),
        "_src": frame["_src"].to_numpy(),
        "_line": frame["_line"].to_numpy(),
    })
    bad_converted = ~converted_raw.isin(["0", "1", "0.0", "1.0"])
    if bad_converted.any():
        leads["_pcol"] = np.where(bad_converted, "Converted", None)  # type: ignore[call-overload]  # stubs: no None fill
        leads["_preason"] = ("Converted '" + converted_raw.str.slice(0, 60) + "' is not 0 or 1").where(bad_converted, None)
    ctx.stamped(
        "leads", "created_at", ctx.now,
        f"{', '.join(ctx.file_names('leads'))} has no dates, so they carry the moment of the import that first "
        f"loaded them ({ctx.now:%Y-%m-%d %H:%M} UTC), which is not when they arrived: no period's lead counts, "
        "quality leads, funnel or SLA count them.",
    )
    return [Batch("leads", leads, insert_only=("created_at",),
                  hints={"score": "Lead Quality: High in Relevance, Might be, Not Sure, Low in Relevance, Worst"})]


PRESET = Preset(
    name="xeducation",
    label="X Education leads",
    kinds=(LEADS, DICTIONARY),
    build=build,
    summary="X Education Leads.csv (no dates: created_at is the first import's time).",
)
