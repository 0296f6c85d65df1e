"""Compiling quality-lead definitions to parameterised SQL, effective-dated by each lead's created_at;
checking a draft against the data before it is saved; describing a definition in words.

User input never becomes SQL text: a definition is a validated pydantic model, every value it holds is
bound as a named parameter, and column names come from this module alone.

Choices where METRICS.md is silent (also in docs/metrics-notes.md):
- Industries, countries and sources named in a definition (to require or to exclude) must occur in the
  loaded leads: a value the data does not hold is almost always a typing slip ("Software" for
  "software") and would silently qualify nobody. With no leads loaded yet they cannot be checked, and
  the check only warns.
- Exclusions override every way of qualifying, fast tracks included.
- A demo request is either a fast track (qualifies on its own), a required fit criterion, or ignored;
  both at once is refused as contradictory.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from core.db import reads
from pydantic import ValidationError

from core.edits import validation_message
from core.models import QualityDefinition

# Lead columns a definition may name values of: field of the model → (column, noun for messages).
VALUE_FIELDS: dict[str, tuple[str, str]] = {
    "industries": ("industry", "industry"),
    "exclude_industries": ("industry", "industry"),
    "countries": ("country", "country"),
    "exclude_countries": ("country", "country"),
    "exclude_sources": ("source", "source"),
}
CHOICE_COLUMNS = ("industry", "country", "source")  # allow-list of columns whose values are offered
MAX_CHOICES = 2000  # values offered per column in the editor (the check itself is exact)

# Readable names of the model's fields, for history, diffs and the conflict view.
LABELS: dict[str, str] = {
    "min_score": "Minimum score",
    "industries": "Industries",
    "employees_min": "Employees at least",
    "employees_max": "Employees at most",
    "seniorities": "Seniorities",
    "countries": "Countries",
    "demo_fast_track": "Demo request qualifies on its own",
    "demo_required": "Demo request required",
    "crm_qualified": "CRM-qualified leads qualify",
    "exclude_industries": "Excluded industries",
    "exclude_countries": "Excluded countries",
    "exclude_sources": "Excluded sources",
}


def definition_sql(d: QualityDefinition, prefix: str, params: dict, alias: str = "l") -> str:
    """A boolean SQL expression over lead columns for one definition; adds its values to `params`.

    NULL-safe: a lead missing a column a criterion needs does not meet that criterion (and is not
    excluded by an exclusion on that column).
    """

    def bind(name: str, value) -> str:
        key = f"{prefix}_{name}"
        params[key] = value
        return f"${key}"

    fit: list[str] = []
    if d.min_score is not None:
        fit.append(f"{alias}.score >= {bind('min_score', d.min_score)}")
    if d.industries:
        fit.append(f"list_contains({bind('industries', list(d.industries))}, {alias}.industry)")
    if d.employees_min is not None:
        fit.append(f"{alias}.employees >= {bind('employees_min', d.employees_min)}")
    if d.employees_max is not None:
        fit.append(f"{alias}.employees <= {bind('employees_max', d.employees_max)}")
    if d.seniorities:
        fit.append(f"list_contains({bind('seniorities', list(d.seniorities))}, {alias}.seniority)")
    if d.countries:
        fit.append(f"list_contains({bind('countries', list(d.countries))}, {alias}.country)")
    if d.demo_required:
        fit.append(f"{alias}.demo_requested")

    ways: list[str] = []
    if fit:
        ways.append("(" + " AND ".join(f"coalesce({c}, false)" for c in fit) + ")")
    if d.demo_fast_track:
        ways.append(f"coalesce({alias}.demo_requested, false)")
    if d.crm_qualified:
        # the CRM's own flag counts only once it was stamped, as of the moment asked about
        ways.append(f"({alias}.mql_at IS NOT NULL AND {alias}.mql_at <= $as_of)")
    qualifies = "(" + " OR ".join(ways) + ")" if ways else "false"

    excluded: list[str] = []
    if d.exclude_industries:
        excluded.append(f"coalesce(list_contains({bind('x_industries', list(d.exclude_industries))}, {alias}.industry), false)")
    if d.exclude_countries:
        excluded.append(f"coalesce(list_contains({bind('x_countries', list(d.exclude_countries))}, {alias}.country), false)")
    if d.exclude_sources:
        excluded.append(f"coalesce(list_contains({bind('x_sources', list(d.exclude_sources))}, {alias}.source), false)")
    if excluded:
        return f"({qualifies} AND NOT ({' OR '.join(excluded)}))"
    return qualifies


def effective_case(
    schedule: Sequence[tuple], moment_sql: str, params: dict, prefix: str, branch: Callable[[int, object], str]
) -> str:
    """CASE over an effective-dated schedule [(effective_from, body)], oldest first: the branch of the
    version in force at `moment_sql` (an allow-listed column). The oldest version also covers everything
    before it. `branch(i, body)` gives version i's SQL (binding its own values in params)."""
    branches = []
    for i, (effective_from, body) in reversed(list(enumerate(schedule))):
        expr = branch(i, body)
        if i == 0:
            branches.append(f"ELSE {expr}")
        else:
            params[f"{prefix}{i}_from"] = effective_from
            branches.append(f"WHEN {moment_sql} >= ${prefix}{i}_from THEN {expr}")
    if len(branches) == 1:
        return branches[0].removeprefix("ELSE ")
    return "(CASE " + " ".join(branches) + " END)"


def schedule_sql(schedule: Sequence[tuple], params: dict, alias: str = "l", prefix: str = "q") -> str:
    """One expression applying, to each lead, the definition in force at its created_at.

    `schedule` is [(effective_from, QualityDefinition)], oldest first; the oldest also covers any lead
    created before it. An empty schedule qualifies nobody.
    """
    if not schedule:
        return "false"
    return effective_case(
        schedule, f"{alias}.created_at", params, prefix,
        lambda i, definition: definition_sql(definition, f"{prefix}{i}", params, alias),
    )


def in_force_at(schedule: Sequence[tuple], moment: datetime):
    """The entry of an effective-dated schedule [(effective_from, x)] in force at `moment` (the oldest
    covers everything before it), or None for an empty schedule."""
    found = schedule[0] if schedule else None
    for entry in schedule:
        if entry[0] <= moment:
            found = entry
    return found


# --- what the data holds ------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadChoices:
    """Values present in the loaded leads, offered by the editor (most frequent first)."""

    leads: int
    industries: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    first_created: datetime | None = None
    last_created: datetime | None = None


@reads('records')
def lead_choices(con: duckdb.DuckDBPyConnection) -> LeadChoices:
    """Distinct industries, countries and sources of the leads (bounded), and their date range."""
    leads, first, last = con.execute("SELECT count(*), min(created_at), max(created_at) FROM leads").fetchone()
    values: dict[str, tuple[str, ...]] = {}
    for column in CHOICE_COLUMNS:  # allow-listed identifiers
        rows = con.execute(
            f"SELECT {column} FROM leads WHERE {column} IS NOT NULL GROUP BY {column} "
            f"ORDER BY count(*) DESC, {column} LIMIT $n",
            {"n": MAX_CHOICES},
        ).fetchall()
        values[column] = tuple(r[0] for r in rows)
    return LeadChoices(leads, values["industry"], values["country"], values["source"], first, last)


def unknown_values(con: duckdb.DuckDBPyConnection, column: str, values: Sequence[str]) -> list[str]:
    """Those of `values` that no lead holds in `column` (exact, whatever the number of distinct values)."""
    if column not in CHOICE_COLUMNS:
        raise ValueError(f"not a lead column with choices: {column!r}")
    if not values:
        return []
    rows = con.execute(
        f"""SELECT v FROM unnest($values) WITH ORDINALITY AS t(v, i)
            WHERE NOT EXISTS (SELECT 1 FROM leads WHERE leads.{column} = t.v) ORDER BY i""",
        {"values": list(values)},
    ).fetchall()
    return [r[0] for r in rows]


@dataclass
class DraftCheck:
    """A draft's verdict before save: the model when valid, else the errors; warnings never block."""

    definition: QualityDefinition | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.definition is not None and not self.errors


@reads('records')
def validate_draft(con: duckdb.DuckDBPyConnection, body: dict | QualityDefinition) -> DraftCheck:
    """Validate a draft the way a save will, plus what only the data can tell: values that no lead holds.

    The page shows these messages before any save, and core.signoff.propose refuses on them."""
    try:
        definition = body if isinstance(body, QualityDefinition) else QualityDefinition.model_validate(body)
    except ValidationError as exc:
        return DraftCheck(None, [validation_message(exc)])
    check = DraftCheck(definition)
    leads = con.execute("SELECT count(*) FROM leads").fetchone()[0]
    named = {name: getattr(definition, name) for name in VALUE_FIELDS if getattr(definition, name)}
    if named and not leads:
        check.warnings.append(
            "No leads are loaded, so the industries, countries and sources named could not be checked against the data."
        )
        return check
    for name, values in named.items():
        column, noun = VALUE_FIELDS[name]
        unknown = unknown_values(con, column, values)
        if not unknown:
            continue
        known = _known_values(con, column)
        hints = []
        for value in unknown:
            close = difflib.get_close_matches(value.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
            match = next((k for k in known if close and k.lower() == close[0]), None)
            hints.append(f"'{value}' (did you mean '{match}'?)" if match else f"'{value}'")
        label = LABELS[name].lower()
        check.errors.append(
            f"{label.capitalize()}: no lead has {noun} {', '.join(hints)}. Pick values present in the data."
        )
    if check.errors:
        check.definition = None
    return check


def _known_values(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT {column} FROM leads WHERE {column} IS NOT NULL LIMIT $n", {"n": MAX_CHOICES}
    ).fetchall()
    return [r[0] for r in rows]


# --- in words ---------------------------------------------------------------------------------------------


def describe(d: QualityDefinition) -> str:
    """The definition as one sentence, e.g. 'score ≥ 60; or a demo request (fast track); or marked
    qualified by the source CRM'."""
    fit = []
    if d.min_score is not None:
        fit.append(f"score ≥ {d.min_score}")
    if d.industries:
        fit.append("industry in " + _list(d.industries))
    if d.employees_min is not None and d.employees_max is not None:
        fit.append(f"{d.employees_min:,}–{d.employees_max:,} employees")
    elif d.employees_min is not None:
        fit.append(f"at least {d.employees_min:,} employees")
    elif d.employees_max is not None:
        fit.append(f"at most {d.employees_max:,} employees")
    if d.seniorities:
        fit.append("seniority in " + _list(d.seniorities))
    if d.countries:
        fit.append("country in " + _list(d.countries))
    if d.demo_required:
        fit.append("requested a demo")
    ways = [" and ".join(fit)] if fit else []
    if d.demo_fast_track:
        ways.append("a demo request (fast track)")
    if d.crm_qualified:
        ways.append("marked qualified by the source CRM")
    text = "; or ".join(ways)
    excluded = []
    if d.exclude_industries:
        excluded.append("industry " + _list(d.exclude_industries))
    if d.exclude_countries:
        excluded.append("country " + _list(d.exclude_countries))
    if d.exclude_sources:
        excluded.append("source " + _list(d.exclude_sources))
    if excluded:
        text += "; excluding " + " and ".join(excluded)
    return text[0].upper() + text[1:] + "."


def _list(values: Sequence[str]) -> str:
    return ", ".join(values)
