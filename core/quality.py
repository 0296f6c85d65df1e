"""Quality-lead criteria, each declared once (model fields, labels, editor input, SQL, words), and what is
derived from them: a definition's SQL (effective-dated per lead), its description, the editor's draft
mapping and the check of the values it names against the data.

User input never becomes SQL text: a definition is a validated pydantic model, every value it holds is
bound as a named parameter, and column names come from this module alone. Like datasette's filters, each
criterion holds its SQL and its plain-English words side by side, so the two cannot drift apart.

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
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import duckdb

from core.db import reads
from core.models import QualityDefinition
from core.semantic.enums import SENIORITIES, SENIORITY_LABELS

CHOICE_COLUMNS = ("industry", "country", "source")  # allow-list of columns whose values are offered
MAX_CHOICES = 2000  # values offered per column in the editor (the check itself is exact)
NO_LEADS_TO_CHECK = ("No leads are loaded, so the industries, countries and sources named could not be checked "
                     "against the data.")

# How a criterion's condition combines with the others: every "fit" must hold, or any "way" qualifies
# on its own; an "exclude" that holds beats both.
FIT, WAY, EXCLUDE = "fit", "way", "exclude"
Bind = Callable[[str, Any], str]  # binds a value as a named parameter, returns its $name


@dataclass(frozen=True)
class Input:
    """One editor widget, described without Streamlit: the page draws it by `kind`."""

    key: str  # the widget's key (without the page's prefix); a model field unless the criterion maps it
    kind: str  # "number", "choices" (several values), "radio" or "checkbox"
    label: str
    help: str | None = None
    placeholder: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    step: int | None = None
    options: tuple[str, ...] = ()  # fixed options; without them a choices input offers its column's values
    option_labels: Mapping[str, str] | None = None
    column: str | None = None  # the lead column a choices input names values of

    @property
    def open_ended(self) -> bool:
        """Whether values beyond the offered ones may be typed in (the data's values, never an enumeration)."""
        return not self.options

    def show(self, value: Any) -> str:
        """An option as the widget shows it (a value typed in, or from the data, reads as itself)."""
        return (self.option_labels or {}).get(value, str(value))


class Criterion(ABC):
    """One way a definition judges a lead. Subclasses say which model fields it sets, how the editor
    shows it, its SQL and its words; everything else in this module is derived from CRITERIA."""

    @property
    @abstractmethod
    def section(self) -> str:
        """Where the editor draws it: "fit", "fast_track" or "exclude"."""

    @property
    @abstractmethod
    def labels(self) -> dict[str, str]:
        """Model field → readable name (history, diffs, the conflict view)."""

    @property
    @abstractmethod
    def inputs(self) -> tuple[Input, ...]:
        """The editor's widgets for it, in drawing order."""

    @abstractmethod
    def sql(self, d: QualityDefinition, bind: Bind, alias: str) -> list[tuple[str, str]]:
        """(role, boolean SQL over lead columns) for what `d` sets; [] when `d` does not use it."""

    @abstractmethod
    def words(self, d: QualityDefinition) -> list[tuple[str, str]]:
        """(role, phrase), one for each part of `sql`."""

    def to_inputs(self, d: QualityDefinition) -> dict[str, Any]:
        """The widget values showing `d` (one input per field unless a subclass maps them)."""
        return {name: _copy(getattr(d, name)) for name in self.labels}

    def to_fields(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The model fields from the widget values."""
        return {name: values[name] for name in self.labels}


def _copy(value: Any) -> Any:
    # the editor's widgets get their own list, never the model's
    return list(value) if isinstance(value, (list, tuple)) else value


@dataclass(frozen=True)
class Minimum(Criterion):
    """A numeric lead column at least a bound (a lead without a value does not pass); the field is the
    input's key."""

    column: str
    label: str
    input: Input

    @property
    def name(self) -> str:
        return self.input.key

    @property
    def section(self) -> str:
        return "fit"

    @property
    def labels(self) -> dict[str, str]:
        return {self.name: self.label}

    @property
    def inputs(self) -> tuple[Input, ...]:
        return (self.input,)

    def sql(self, d, bind, alias):
        value = getattr(d, self.name)
        return [] if value is None else [(FIT, f"{alias}.{self.column} >= {bind(self.name, value)}")]

    def words(self, d):
        value = getattr(d, self.name)
        return [] if value is None else [(FIT, f"{self.column} ≥ {value}")]


@dataclass(frozen=True)
class Between(Criterion):
    """A numeric lead column between optional bounds, inclusive; the fields are the inputs' keys."""

    column: str
    low_input: Input
    high_input: Input

    @property
    def low(self) -> str:
        return self.low_input.key

    @property
    def high(self) -> str:
        return self.high_input.key

    @property
    def section(self) -> str:
        return "fit"

    @property
    def labels(self) -> dict[str, str]:
        return {self.low: self.low_input.label, self.high: self.high_input.label}

    @property
    def inputs(self) -> tuple[Input, ...]:
        return (self.low_input, self.high_input)

    def sql(self, d, bind, alias):
        bounds = [f"{alias}.{self.column} {op} {bind(name, getattr(d, name))}"
                  for name, op in ((self.low, ">="), (self.high, "<=")) if getattr(d, name) is not None]
        return [(FIT, " AND ".join(bounds))] if bounds else []

    def words(self, d):
        low, high = getattr(d, self.low), getattr(d, self.high)
        if low is not None and high is not None:
            return [(FIT, f"{low:,}–{high:,} {self.column}")]
        if low is not None:
            return [(FIT, f"at least {low:,} {self.column}")]
        if high is not None:
            return [(FIT, f"at most {high:,} {self.column}")]
        return []


@dataclass(frozen=True)
class OneOf(Criterion):
    """A lead column in a list (role fit) or, for an exclusion, not in it; the field is the input's key and
    the column the input's. Values of an open-ended input must occur in the loaded leads (a typing slip
    would silently qualify or exclude nobody); an enumeration's are checked by the model."""

    input: Input
    role: str = FIT

    @property
    def name(self) -> str:
        return self.input.key

    @property
    def column(self) -> str:
        assert self.input.column is not None
        return self.input.column

    @property
    def section(self) -> str:
        return "exclude" if self.role == EXCLUDE else "fit"

    @property
    def labels(self) -> dict[str, str]:
        return {self.name: self.input.label}

    @property
    def inputs(self) -> tuple[Input, ...]:
        return (self.input,)

    def sql(self, d, bind, alias):
        values = list(getattr(d, self.name))
        return [(self.role, f"list_contains({bind(self.name, values)}, {alias}.{self.column})")] if values else []

    def words(self, d):
        values = getattr(d, self.name)
        if not values:
            return []
        return [(self.role, f"{self.column} {'' if self.role == EXCLUDE else 'in '}{', '.join(values)}")]


DEMO_MODES = {"fast_track": "Qualifies on its own (fast track)", "required": "Required, with the fit criteria",
              "ignored": "Not considered"}


class DemoRequest(Criterion):
    """A demo request: a fast track, a required fit criterion, or ignored (one radio for two fields)."""

    @property
    def section(self) -> str:
        return "fast_track"

    @property
    def labels(self) -> dict[str, str]:
        return {"demo_fast_track": "Demo request qualifies on its own", "demo_required": "Demo request required"}

    @property
    def inputs(self) -> tuple[Input, ...]:
        return (Input("demo", "radio", "Demo request", options=tuple(DEMO_MODES), option_labels=DEMO_MODES),)

    def sql(self, d, bind, alias):
        return [(role, f"{alias}.demo_requested") for role, on in ((FIT, d.demo_required), (WAY, d.demo_fast_track))
                if on]

    def words(self, d):
        return [(role, words) for role, words, on in ((FIT, "requested a demo", d.demo_required),
                                                      (WAY, "a demo request (fast track)", d.demo_fast_track)) if on]

    def to_inputs(self, d):
        return {"demo": "fast_track" if d.demo_fast_track else "required" if d.demo_required else "ignored"}

    def to_fields(self, values):
        return {"demo_fast_track": values["demo"] == "fast_track", "demo_required": values["demo"] == "required"}


class CrmQualified(Criterion):
    """The source CRM's own MQL stamp qualifies on its own, once stamped (as of the moment asked about)."""

    @property
    def section(self) -> str:
        return "fast_track"

    @property
    def labels(self) -> dict[str, str]:
        return {"crm_qualified": "CRM-qualified leads qualify"}

    @property
    def inputs(self) -> tuple[Input, ...]:
        return (Input("crm_qualified", "checkbox", "Leads the source CRM marked qualified (mql_at) qualify on their own"),)

    def sql(self, d, bind, alias):
        return [(WAY, f"({alias}.mql_at IS NOT NULL AND {alias}.mql_at <= $as_of)")] if d.crm_qualified else []

    def words(self, d):
        return [(WAY, "marked qualified by the source CRM")] if d.crm_qualified else []


def _in_data(key: str, label: str, column: str, placeholder: str, help: str | None = None) -> Input:
    """Several values of a lead column, offered from the data (others may be typed in: the check says so)."""
    return Input(key, "choices", label, column=column, placeholder=placeholder, help=help)


# Every criterion, in the editor's order (and the description's). A field of QualityDefinition missing
# here would silently not filter: tests/test_quality.py checks every field reaches the SQL.
CRITERIA: tuple[Criterion, ...] = (
    Minimum("score", "Minimum score", Input("min_score", "number", "Minimum score (0–100)", min_value=0,
                                            max_value=100, step=5, placeholder="no minimum",
                                            help="Leads without a score do not pass a minimum score.")),
    Between("employees",
            Input("employees_min", "number", "Employees at least", min_value=0, step=10, placeholder="no minimum"),
            Input("employees_max", "number", "Employees at most", min_value=0, step=10, placeholder="no maximum")),
    OneOf(_in_data("industries", "Industries", "industry", "any industry")),
    OneOf(Input("seniorities", "choices", "Seniorities", column="seniority", options=SENIORITIES,
                option_labels=SENIORITY_LABELS, placeholder="any seniority")),
    OneOf(_in_data("countries", "Countries", "country", "any country")),
    DemoRequest(),
    CrmQualified(),
    OneOf(_in_data("exclude_industries", "Excluded industries", "industry", "none"), role=EXCLUDE),
    OneOf(_in_data("exclude_countries", "Excluded countries", "country", "none"), role=EXCLUDE),
    OneOf(_in_data("exclude_sources", "Excluded sources", "source", "none",
                   help="Channels of origin, e.g. outbound: leads sales generated itself."), role=EXCLUDE),
)

# Readable names of the model's fields, for history, diffs and the conflict view.
LABELS: dict[str, str] = {name: label for c in CRITERIA for name, label in c.labels.items()}
# Fields naming values of a lead column that must occur in the data: field → column.
CHECKED_FIELDS: dict[str, str] = {c.name: c.column for c in CRITERIA if isinstance(c, OneOf) and c.input.open_ended}


def definition_sql(d: QualityDefinition, prefix: str, params: dict, alias: str = "l") -> str:
    """A boolean SQL expression over lead columns for one definition; adds its values to `params`.

    NULL-safe: a lead missing a column a criterion needs does not meet that criterion (and is not
    excluded by an exclusion on that column).
    """

    def bind(name: str, value: Any) -> str:
        key = f"{prefix}_{name}"
        params[key] = value
        return f"${key}"

    parts: dict[str, list[str]] = {FIT: [], WAY: [], EXCLUDE: []}
    for criterion in CRITERIA:
        for role, sql in criterion.sql(d, bind, alias):
            parts[role].append(f"coalesce({sql}, false)")
    ways = (["(" + " AND ".join(parts[FIT]) + ")"] if parts[FIT] else []) + parts[WAY]
    qualifies = "(" + " OR ".join(ways) + ")" if ways else "false"
    if parts[EXCLUDE]:
        return f"({qualifies} AND NOT ({' OR '.join(parts[EXCLUDE])}))"
    return qualifies


def describe(d: QualityDefinition) -> str:
    """The definition as one sentence, e.g. 'Score ≥ 60; or a demo request (fast track); or marked
    qualified by the source CRM.'"""
    words: dict[str, list[str]] = {FIT: [], WAY: [], EXCLUDE: []}
    for criterion in CRITERIA:
        for role, phrase in criterion.words(d):
            words[role].append(phrase)
    text = "; or ".join(([" and ".join(words[FIT])] if words[FIT] else []) + words[WAY])
    if words[EXCLUDE]:
        text += "; excluding " + " and ".join(words[EXCLUDE])
    return text[0].upper() + text[1:] + "."


def draft_inputs(d: QualityDefinition) -> dict[str, Any]:
    """The editor's widget values (by input key) showing definition `d`."""
    return {key: value for c in CRITERIA for key, value in c.to_inputs(d).items()}


def draft_body(values: Mapping[str, Any]) -> dict[str, Any]:
    """The definition's fields from the editor's widget values (by input key), to validate."""
    return {name: value for c in CRITERIA for name, value in c.to_fields(values).items()}


# --- effective dating in SQL -------------------------------------------------------------------------------


_Body = TypeVar("_Body")  # what a schedule's versions hold: a definition, a policy, …


def effective_case(
    schedule: Sequence[tuple[datetime, _Body]], moment_sql: str, params: dict, prefix: str,
    branch: Callable[[int, _Body], str],
) -> str:
    """CASE over an effective-dated schedule [(effective_from, body)], oldest first: the branch of the
    version in force at `moment_sql` (an allow-listed column). The oldest version also covers everything
    before it. `branch(i, body)` gives version i's SQL (binding its own values in params). The SQL twin
    of core.edits.in_force_at."""
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


def schedule_sql(schedule: Sequence[tuple[datetime, QualityDefinition]], params: dict, alias: str = "l",
                 prefix: str = "q") -> str:
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

    def of(self, column: str) -> tuple[str, ...]:
        return {"industry": self.industries, "country": self.countries, "source": self.sources}[column]


@reads('records')
def lead_choices(con: duckdb.DuckDBPyConnection) -> LeadChoices:
    """Distinct industries, countries and sources of the leads (bounded), and their date range."""
    row = con.execute("SELECT count(*), min(created_at), max(created_at) FROM leads").fetchone()
    assert row is not None  # an aggregate: always one row (core.semantic.blocks.one_row would import this module)
    leads, first, last = row
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


def check_values(con: duckdb.DuckDBPyConnection, d: QualityDefinition) -> tuple[list[str], list[str]]:
    """(errors, warnings) about the values `d` names that no lead holds, with the nearest known value as
    a hint. Part of core.edits.check, the one validation of every write."""
    named = {name: getattr(d, name) for name in CHECKED_FIELDS if getattr(d, name)}
    if not named:
        return [], []
    row = con.execute("SELECT count(*) FROM leads").fetchone()
    assert row is not None  # an aggregate: always one row (core.semantic.blocks.one_row would import this module)
    if not row[0]:
        return [], [NO_LEADS_TO_CHECK]
    errors = []
    for name, values in named.items():
        column = CHECKED_FIELDS[name]
        unknown = unknown_values(con, column, values)
        if not unknown:
            continue
        known = _known_values(con, column)
        hints = []
        for value in unknown:
            close = difflib.get_close_matches(value.lower(), [k.lower() for k in known], n=1, cutoff=0.6)
            match = next((k for k in known if close and k.lower() == close[0]), None)
            hints.append(f"'{value}' (did you mean '{match}'?)" if match else f"'{value}'")
        errors.append(f"{LABELS[name]}: no lead has {column} {', '.join(hints)}. Pick values present in the data.")
    return errors, []


def _known_values(con: duckdb.DuckDBPyConnection, column: str) -> list[str]:
    rows = con.execute(
        f"SELECT DISTINCT {column} FROM leads WHERE {column} IS NOT NULL LIMIT $n", {"n": MAX_CHOICES}
    ).fetchall()
    return [r[0] for r in rows]
