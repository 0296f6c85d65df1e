"""`olist`: Olist's "Marketing Funnel" Kaggle files (MQLs and closed deals).

- Every row of the MQL file is a lead its CRM already called marketing-qualified:
  lead_id = mql_id, created_at = mql_at = first_contact_date, source = origin (blank: "unknown").
- A closed deal is a won deal: deal_id = lead_id = mql_id, account = seller_id, closed_at = won_date,
  owner = sr_id, amount = declared_monthly_revenue × 12 (a year of declared revenue; 0.0 means "not
  declared", so most amounts are 0), created_at = the lead's first contact (or won_date if it was won
  before, or the lead is unknown).
- The lead of a closed deal is "converted", owned by its SDR (sdr_id) and gets business_segment as its
  industry; other MQLs are "open" (the data has no lost status).
- Reps come from sdr_id (team "sdr") and sr_id (team "ae"); someone in both columns is on the team of
  the role they hold in more deals. Names are "SDR 1a2b3c4d" / "AE 1a2b3c4d" (the ids are anonymised).
- No activities and no campaigns: those tables are left as they are.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core.ingest.canonical import NON_FINITE_WORDS
from core.ingest.presets.base import Ctx, FileKind, Preset, blank_to, col
from core.ingest.validate import Batch

MQLS = FileKind(
    key="mqls",
    label="Olist marketing-qualified leads",
    target="leads",
    columns={"mql_id": (), "first_contact_date": (), "landing_page_id": (), "origin": ()},
    required=("mql_id", "first_contact_date"),
    all_of=("mql_id", "first_contact_date"),
    none_of=("won_date",),
    name_hints=("marketing_qualified_leads", "mql"),
)
CLOSED = FileKind(
    key="closed_deals",
    label="Olist closed deals",
    target="deals",
    columns={c: () for c in (
        "mql_id", "seller_id", "sdr_id", "sr_id", "won_date", "business_segment", "lead_type",
        "lead_behaviour_profile", "has_company", "has_gtin", "average_stock", "business_type",
        "declared_product_catalog_size", "declared_monthly_revenue",
    )},
    required=("mql_id", "won_date"),
    all_of=("mql_id", "won_date"),
    name_hints=("closed_deals",),
)


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series.where(series != "", None), errors="coerce", format="ISO8601")


def _first_per(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    return frame[frame[key] != ""].drop_duplicates(subset=[key], keep="first").set_index(key)


def build(ctx: Ctx) -> list[Batch]:
    mqls = ctx.frame("mqls")
    closed = ctx.frame("closed_deals")
    batches: list[Batch] = []
    cd: Any = None  # the closed deals' columns, when closed deals are imported
    if closed is not None:
        cd = pd.DataFrame({
            "mql_id": col(closed, "mql_id"), "sdr_id": col(closed, "sdr_id"), "sr_id": col(closed, "sr_id"),
            "won_date": col(closed, "won_date"), "segment": col(closed, "business_segment"),
        })
    # reps first (they are what owner ids point at)
    if closed is not None and len(closed):
        roles = pd.concat([
            pd.DataFrame({"rep_id": cd["sdr_id"], "role": "sdr", "_src": closed["_src"], "_line": closed["_line"]}),
            pd.DataFrame({"rep_id": cd["sr_id"], "role": "ae", "_src": closed["_src"], "_line": closed["_line"]}),
        ], ignore_index=True)
        roles = roles[roles["rep_id"] != ""]
        if len(roles):
            counts = roles.groupby(["rep_id", "role"]).size().unstack(fill_value=0)
            for r in ("sdr", "ae"):
                if r not in counts.columns:
                    counts[r] = 0
            team = pd.Series(np.where(counts["ae"] > counts["sdr"], "ae", "sdr"), index=counts.index)
            first = roles.sort_values(["_src", "_line"]).drop_duplicates("rep_id").set_index("rep_id")
            rep_ids = counts.index.to_series()
            reps = pd.DataFrame({
                "rep_id": rep_ids.to_numpy(),
                "name": (team.str.upper() + " " + rep_ids.str.slice(0, 8)).to_numpy(),
                "team": team.to_numpy(),
                "_src": first.loc[counts.index, "_src"].to_numpy(),
                "_line": first.loc[counts.index, "_line"].to_numpy(),
            })
            batches.append(Batch("reps", reps, primary=False))

    in_import_mqls: set[str] = set()
    if mqls is not None:
        ids = col(mqls, "mql_id")
        in_import_mqls = set(ids[ids != ""])
        first_contact = col(mqls, "first_contact_date")
        leads = pd.DataFrame({
            "lead_id": ids,
            "created_at": first_contact,
            "mql_at": first_contact,
            "source": blank_to(col(mqls, "origin"), "unknown"),
        })
        existing = ctx.existing("leads", "lead_id", ["owner_id", "industry"], ids).set_index("lead_id")
        had_deal = ctx.existing("deals", "lead_id", [], ids)["lead_id"]
        owner = ids.map(existing["owner_id"]) if len(existing) else pd.Series([None] * len(ids))
        industry = ids.map(existing["industry"]) if len(existing) else pd.Series([None] * len(ids))
        converted = ids.isin(set(had_deal))
        if cd is not None:
            by_mql = _first_per(cd, "mql_id")
            converted = converted | ids.isin(by_mql.index)
            owner = ids.map(by_mql["sdr_id"].replace("", None)).fillna(owner) if len(by_mql) else owner
            industry = ids.map(by_mql["segment"].replace("", None)).fillna(industry) if len(by_mql) else industry
        leads["status"] = np.where(converted, "converted", "open")
        leads["owner_id"] = pd.Series(owner, index=leads.index).fillna("").astype("str").to_numpy()
        leads["industry"] = pd.Series(industry, index=leads.index).fillna("").astype("str").to_numpy()
        leads["_src"] = mqls["_src"].to_numpy()
        leads["_line"] = mqls["_line"].to_numpy()
        batches.append(Batch("leads", leads))

    if closed is not None:
        ids = cd["mql_id"]
        won = cd["won_date"]
        # deal created = the lead's first contact (this import's MQL file, else the database), capped at won_date
        first_contact = pd.Series([None] * len(ids), index=ids.index, dtype="object")
        if mqls is not None and len(mqls):
            fc = _first_per(pd.DataFrame({"mql_id": col(mqls, "mql_id"), "fc": col(mqls, "first_contact_date")}), "mql_id")["fc"]
            first_contact = ids.map(fc)
        missing = first_contact.isna()
        if missing.any():
            db = ctx.existing("leads", "lead_id", ["created_at"], ids[missing])
            if len(db):
                db_fc = pd.to_datetime(db.set_index("lead_id")["created_at"]).dt.strftime("%Y-%m-%d %H:%M:%S")
                first_contact = first_contact.where(~missing, ids.map(db_fc))
        fc_t, won_t = _dates(first_contact.fillna("").astype("str")), _dates(won)
        created = first_contact.fillna("").astype("str").where((fc_t.notna() & won_t.notna() & (fc_t <= won_t)), won)
        early = fc_t.notna() & won_t.notna() & (fc_t > won_t)
        if early.any():
            ctx.messages.append(
                f"{int(early.sum()):,} closed deal(s) were won before their lead's first contact (e.g. {ids[early].iloc[0]}); "
                "they are taken as created when won."
            )
        revenue_text = col(closed, "declared_monthly_revenue")
        revenue = pd.to_numeric(revenue_text.where(revenue_text != "", "0"), errors="coerce")
        amount = (revenue * 12).astype("str").where(revenue.notna(), revenue_text)  # unreadable text is reported as such
        deals = pd.DataFrame({
            "deal_id": ids,
            "lead_id": ids,
            "account": col(closed, "seller_id"),
            "created_at": created.to_numpy(),
            "amount": amount.to_numpy(),
            "stage": "closed_won",
            "closed_at": won,
            "owner_id": cd["sr_id"],
            "_src": closed["_src"].to_numpy(),
            "_line": closed["_line"].to_numpy(),
        })
        overflow = revenue.notna() & ~np.isfinite(revenue * 12)  # inf, nan, or 1e308 that × 12 overflows
        if overflow.any():  # say what the file holds, not the overflowed product
            deals["_pcol"] = np.where(overflow, "amount", None)  # type: ignore[call-overload]  # stubs: no None fill
            deals["_preason"] = ("declared monthly revenue '" + revenue_text.str.slice(0, 60) + "' × 12 "
                                 + NON_FINITE_WORDS).where(overflow, None)
            deals["amount"] = deals["amount"].where(~overflow.to_numpy(), "0")  # the reason above is what is reported
        batches.append(Batch("deals", deals, hints={"amount": "declared_monthly_revenue × 12"}))
        zero = int((revenue == 0).sum())
        if zero:
            ctx.messages.append(
                f"{', '.join(ctx.file_names('closed_deals'))}: {zero:,} of {len(closed):,} closed deals declare no "
                "monthly revenue (0.0), so their amount is not declared (stored as 0): won revenue counts the declared ones only."
            )
        # leads of closed deals whose MQL is not in this import: mark them converted and owned by the SDR
        outside = ~ids.isin(in_import_mqls) & (ids != "")
        if outside.any():
            patch = pd.DataFrame({
                "lead_id": ids[outside], "owner_id": cd["sdr_id"][outside], "status": "converted",
                "_src": closed["_src"][outside].to_numpy(), "_line": closed["_line"][outside].to_numpy(),
            })
            batches.append(Batch("leads", patch, mode="patch", primary=False))
            known = set(ctx.existing("leads", "lead_id", [], ids[outside])["lead_id"])
            unknown = int((~ids[outside].isin(known)).sum())
            if unknown:
                ctx.messages.append(
                    f"{unknown:,} closed deal(s) refer to MQLs that are neither in this import nor in the database; "
                    "the deals load, taken as created when won; import the MQL file with the closed-deals file so those "
                    "leads get their SDR as owner and the deals their first contact."
                )
    return batches


PRESET = Preset(
    name="olist",
    label="Olist marketing funnel",
    kinds=(MQLS, CLOSED),
    build=build,
    summary="Olist MQLs (every one CRM-qualified) and closed deals (won deals, SDR/SR reps).",
)
