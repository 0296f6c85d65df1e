"""Who a signed-in person is in Accord: their role from the access map (admins edit it on the Admin page,
through the write path, with history), and what that role may do, in words for the menu.

Choices (also in docs/metrics-notes.md): an address rule wins over a domain rule; anyone the map does not
name is a viewer; the e-mails in ACCORD_ADMINS are admins whatever the map says, so a new installation
has someone who can write the first map (and nobody can lock every admin out).
"""
from __future__ import annotations

import duckdb
import pandas as pd

from core import edits
from core.db import reads
from core.models import AccessMap, Actor
from core.semantic.enums import ROLE_LABELS

SUBJECT = edits.POLICY_SUBJECT  # one access map per database

# What each action lets a person do, in the words the menu shows (in RIGHTS' order).
ABILITIES: dict[str, str] = {
    "goal": "set the shared goals",
    "sla_policy": "change the SLA policy",
    "propose": "propose quality-lead definition changes",
    "decide": "approve or reject the other team's proposals",
    "import": "import CRM data",
    "access": "manage who may do what",
}


@reads("access")
def access_map(con: duckdb.DuckDBPyConnection) -> AccessMap:
    """The access map in force (an empty map, where everyone is a viewer, until an admin saves one)."""
    latest = edits.latest(con, "access", SUBJECT)
    return latest.body if latest is not None else AccessMap()


def rules_frame(access: AccessMap) -> pd.DataFrame:
    """The map as an editable table: one row per rule (match, role)."""
    return pd.DataFrame([r.model_dump() for r in access.rules], columns=["match", "role"])


def rules_body(rows: list[dict]) -> dict:
    """An edited table back into an access-map body (blank rows dropped; validation is the write path's)."""
    rules = [{"match": str(r.get("match") or "").strip(), "role": r.get("role") or "viewer"}
             for r in rows if str(r.get("match") or "").strip()]
    return {"rules": rules}


def refused_writes(con: duckdb.DuckDBPyConnection, limit: int = 200) -> pd.DataFrame:
    """The latest refused writes, newest first: who tried what and why it was refused."""
    return con.execute("SELECT refused_at, actor, team, action, reason FROM refused_writes "
                       "ORDER BY refused_at DESC LIMIT ?", [int(limit)]).df()


def resolve(access: AccessMap, email: str, name: str | None, admins: frozenset[str] = frozenset()) -> Actor:
    """The Actor a signed-in person acts as: their role from the map (admin when listed in `admins`)."""
    email = email.strip().lower()
    role = "admin" if email in admins else access.role_of(email)
    return Actor.signed_in(name, email, role)


def abilities(actor: Actor) -> str:
    """One sentence for the menu: what this person may do."""
    can = [words for action, words in ABILITIES.items() if edits.may(actor, action)]
    role = ROLE_LABELS[actor.role or "viewer"]
    if not can:
        return f"{role}: you can read every figure; changes are made by editors."
    return f"{role}: you can read every figure, " + ", ".join(can[:-1]) + (" and " if len(can) > 1 else "") + can[-1] + "."
