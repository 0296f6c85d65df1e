"""`maven`: Maven Analytics "CRM Sales Opportunities" (sales_pipeline, accounts, products, sales_teams).

- Deals from sales_pipeline: deal_id = opportunity_id, account, owner = sales_agent, lead_id NULL
  (the data has no leads: every deal counts as sales-sourced).
- Stages: Won → closed_won, Lost → closed_lost, Engaging → qualification, Prospecting → discovery.
- created_at = engage_date. Prospecting deals have no engage date: they get the latest date in the
  file (the data's "today"), which the data-quality profile states.
- closed_at = close_date for Won and Lost deals.
- amount = close_value for Won deals; Lost and open deals carry the product's list price (products.csv
  sales_price, product names compared ignoring case and spaces, so "GTXPro" finds "GTX Pro"), so
  pipeline and lost value are not zero. Without products.csv in the same import those rows are
  quarantined with a reason saying so.
- Stage history from the two dates the data has: the open stage at engage_date, and the closed stage at
  close_date. A Prospecting deal has no engage date, so no history row: when it entered its stage is
  unknown (it is never counted as stalled), not the stamped creation date.
- Reps from sales_teams: rep_id = name = sales_agent, team "ae-<regional office>", region = office.
  Agents in the pipeline but not in sales_teams get team "ae" (never overwriting a fuller row).
- accounts.csv is checked (unique names) and pipeline accounts missing from it are reported; the
  canonical deals table keeps only the account name.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.ingest.presets.base import Ctx, FileKind, Preset, col, keys_of, map_values
from core.ingest.validate import Batch

STAGE_MAP = {"Won": "closed_won", "Lost": "closed_lost", "Engaging": "qualification", "Prospecting": "discovery"}

PIPELINE = FileKind(
    key="sales_pipeline",
    label="Maven sales pipeline",
    target="deals",
    columns={c: () for c in (
        "opportunity_id", "sales_agent", "product", "account", "deal_stage", "engage_date", "close_date", "close_value",
    )},
    required=("opportunity_id", "deal_stage"),
    all_of=("opportunity_id", "deal_stage"),
    name_hints=("sales_pipeline", "pipeline"),
)
ACCOUNTS = FileKind(
    key="accounts",
    label="Maven accounts",
    target="accounts",
    columns={c: () for c in ("account", "sector", "year_established", "revenue", "employees", "office_location", "subsidiary_of")},
    required=("account",),
    all_of=("account",),
    any_of=("sector", "year_established", "revenue", "office_location", "subsidiary_of"),
    none_of=("opportunity_id", "deal_stage"),
    name_hints=("accounts",),
)
PRODUCTS = FileKind(
    key="products",
    label="Maven products",
    target="products",
    columns={"product": (), "series": (), "sales_price": ()},
    required=("product", "sales_price"),
    all_of=("product", "sales_price"),
    none_of=("opportunity_id",),
    name_hints=("products",),
)
TEAMS = FileKind(
    key="sales_teams",
    label="Maven sales teams",
    target="reps",
    columns={"sales_agent": (), "manager": (), "regional_office": ()},
    required=("sales_agent",),
    all_of=("sales_agent", "regional_office"),
    none_of=("opportunity_id",),
    name_hints=("sales_teams", "teams"),
)
DICTIONARY = FileKind(
    key="data_dictionary",
    label="Maven data dictionary",
    target="",
    columns={"table": (), "field": (), "description": ()},
    all_of=("table", "field", "description"),
    name_hints=("data_dictionary", "dictionary"),
    ignore="a data dictionary describing the other files; nothing to import from it.",
)


def _products(ctx: Ctx) -> pd.Series | None:
    """Product key (normalised name) → list price; bad or duplicate product rows are refused."""
    frame = ctx.frame("products")
    if frame is None:
        return None
    name, price_text = col(frame, "product"), col(frame, "sales_price")
    price = pd.to_numeric(price_text, errors="coerce")
    bad_price = price.isna() | (price < 0)
    ctx.refuse(frame[bad_price & (price_text == "")], "sales_price", "sales price is required but empty", "products")
    ctx.refuse(frame[bad_price & (price_text != "")], "sales_price",
               "sales price '" + price_text[bad_price & (price_text != "")] + "' is not a non-negative number", "products")
    ctx.refuse(frame[name == ""], "product", "product is required but empty", "products")
    key = keys_of(name)
    ok = ~bad_price & (name != "")
    dup = ok & key.duplicated(keep="first")
    ctx.refuse(frame[dup], "product", "duplicate product '" + name[dup] + "'", "products")
    ok = ok & ~dup
    return pd.Series(price[ok].to_numpy(), index=key[ok].to_numpy())


def build(ctx: Ctx) -> list[Batch]:
    batches: list[Batch] = []
    teams = ctx.frame("sales_teams")
    pipeline = ctx.frame("sales_pipeline")
    prices = _products(ctx)
    accounts = ctx.frame("accounts")
    known_accounts = None
    if accounts is not None:
        names = col(accounts, "account")
        ctx.refuse(accounts[names == ""], "account", "account is required but empty", "accounts")
        dup = (names != "") & names.duplicated(keep="first")
        ctx.refuse(accounts[dup], "account", "duplicate account '" + names[dup] + "'", "accounts")
        known_accounts = set(names[names != ""])

    team_agents: set[str] = set()
    if teams is not None:
        agent, office = col(teams, "sales_agent"), col(teams, "regional_office")
        team = ("ae-" + office.str.lower().str.replace(r"[^a-z0-9]+", "-", regex=True).str.strip("-")).where(office != "", "ae")
        batches.append(Batch("reps", pd.DataFrame({
            "rep_id": agent, "name": agent, "team": team, "region": office,
            "_src": teams["_src"].to_numpy(), "_line": teams["_line"].to_numpy(),
        })))
        team_agents = set(agent)

    if pipeline is None:
        return batches
    ids = col(pipeline, "opportunity_id")
    raw_stage = col(pipeline, "deal_stage")
    stage = map_values(raw_stage, STAGE_MAP)
    engage, close = col(pipeline, "engage_date"), col(pipeline, "close_date")
    product, value = col(pipeline, "product"), col(pipeline, "close_value")
    agent = col(pipeline, "sales_agent")

    # reps for agents the sales_teams file does not list
    extra = pipeline.assign(_agent=agent)[(agent != "") & ~agent.isin(team_agents)].drop_duplicates("_agent")
    if len(extra):
        batches.append(Batch("reps", pd.DataFrame({
            "rep_id": extra["_agent"], "name": extra["_agent"], "team": "ae",
            "_src": extra["_src"].to_numpy(), "_line": extra["_line"].to_numpy(),
        }), mode="ensure", primary=False))

    dates = pd.to_datetime(pd.concat([engage, close]).replace("", None), errors="coerce", format="ISO8601")
    latest = dates.max()
    no_engage = engage == ""
    created = engage
    if no_engage.any() and pd.notna(latest):
        fill = latest.strftime("%Y-%m-%d")
        created = engage.where(~no_engage, fill)
        ctx.stamped(
            "deals", "created_at", latest.normalize().to_pydatetime(),
            f"Prospecting deals have no engage date, so they carry {fill}, the latest date in the pipeline file "
            "(the data's \"today\"), which is not when they started: deals created in a period, time in stage and "
            "sales cycles leave them out.",
        )
    closed = stage.isin(["closed_won", "closed_lost"])
    won = stage == "closed_won"
    if prices is not None:
        list_price = keys_of(product).map(prices)
        price_text = list_price.astype("str").where(list_price.notna(), "")
    else:
        price_text = pd.Series([""] * len(ids), index=ids.index, dtype="str")
    amount = value.where(won, price_text)
    deals = pd.DataFrame({
        "deal_id": ids,
        "account": col(pipeline, "account"),
        "created_at": created,
        "amount": amount,
        "stage": stage,
        "expected_close_on": close.where(~closed & (close != ""), ""),
        "closed_at": close.where(closed, ""),
        "owner_id": agent,
        "_src": pipeline["_src"].to_numpy(),
        "_line": pipeline["_line"].to_numpy(),
    })
    # explain an amount we could not price instead of a bare "required"
    unpriced = ~won & (price_text == "") & (product != "")
    if unpriced.any():
        reason = ("product '" + product + "' has no list price"
                  + (" in products.csv" if prices is not None else "; import products.csv with sales_pipeline.csv"))
        deals["_pcol"] = np.where(unpriced, "amount", None)  # type: ignore[call-overload]  # stubs: no None fill
        deals["_preason"] = reason.where(unpriced, None)
        deals["amount"] = deals["amount"].where(~unpriced, "0")  # the reason above is what is reported
    batches.append(Batch("deals", deals, hints={"stage": "Maven stages: Prospecting, Engaging, Won, Lost"}))

    # stage history from the dates the data has
    src, line = pipeline["_src"].to_numpy(), pipeline["_line"].to_numpy()
    open_stage = np.where(stage == "discovery", "discovery", "qualification")
    known = stage.isin(list(STAGE_MAP.values()))
    first = pd.DataFrame({"deal_id": ids, "stage": open_stage, "entered_at": created, "_src": src,
                          "_line": line})[(known & ~no_engage).to_numpy()]
    last = pd.DataFrame({"deal_id": ids, "stage": stage, "entered_at": close, "_src": src, "_line": line})[(known & closed).to_numpy()]
    history = pd.concat([first, last], ignore_index=True)
    batches.append(Batch("deal_stage_history", history, primary=False, parent=("deals", "deal_id")))

    if known_accounts is not None:
        acc = col(pipeline, "account")
        missing = sorted(set(acc[(acc != "") & ~acc.isin(known_accounts)]))
        if missing:
            ctx.messages.append(
                f"{len(missing)} account name(s) in the pipeline are not in accounts.csv (e.g. {', '.join(missing[:3])}); "
                "their deals load with the name as given."
            )
    ctx.messages.append("Maven has no leads or campaigns: every deal is sales-sourced (no lead), so funnel and "
                        "attribution figures cannot be computed from this data.")
    return batches


PRESET = Preset(
    name="maven",
    label="Maven CRM sales opportunities",
    kinds=(PIPELINE, ACCOUNTS, PRODUCTS, TEAMS, DICTIONARY),
    build=build,
    summary="Maven sales pipeline with accounts, products and sales teams (deals and reps; no leads).",
)
