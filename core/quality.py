"""Compiling quality-lead definitions to parameterised SQL, effective-dated by each lead's created_at.

User input never becomes SQL text: a definition is a validated pydantic model, every value it holds is
bound as a named parameter, and column names come from this module alone.
"""
from __future__ import annotations

from collections.abc import Sequence

from core.models import QualityDefinition


def definition_sql(d: QualityDefinition, prefix: str, params: dict, alias: str = "l") -> str:
    """A boolean SQL expression over lead columns for one definition; adds its values to `params`.

    NULL-safe: a lead missing a column a criterion needs does not meet that criterion.
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
    if excluded:
        return f"({qualifies} AND NOT ({' OR '.join(excluded)}))"
    return qualifies


def schedule_sql(schedule: Sequence[tuple], params: dict, alias: str = "l", prefix: str = "q") -> str:
    """One expression applying, to each lead, the definition in force at its created_at.

    `schedule` is [(effective_from, QualityDefinition)], oldest first; the oldest also covers any lead
    created before it. An empty schedule qualifies nobody.
    """
    if not schedule:
        return "false"
    branches = []
    for i, (effective_from, definition) in reversed(list(enumerate(schedule))):
        expr = definition_sql(definition, f"{prefix}{i}", params, alias)
        if i == 0:
            branches.append(f"ELSE {expr}")
        else:
            params[f"{prefix}{i}_from"] = effective_from
            branches.append(f"WHEN {alias}.created_at >= ${prefix}{i}_from THEN {expr}")
    if len(branches) == 1:
        return branches[0].removeprefix("ELSE ")
    return "(CASE " + " ".join(branches) + " END)"
