"""The validated shapes of everything people edit (goals, the SLA policy, the quality-lead definition, who may
do what) and of who is acting."""
from __future__ import annotations

import re
from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from core.semantic.enums import (  # noqa: F401 (re-exported)
    OPEN_STAGES,
    RATE_NAMES,
    ROLE_TEAMS,
    SENIORITIES,
    OpenStage,
    RateName,
    Role,
    Seniority,
    Team,
)

# The role a demo persona of each team acts with (and the team a role acts for, in ROLE_TEAMS).
TEAM_ROLES: dict[str, str] = {team: role for role, team in ROLE_TEAMS.items()}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Actor(_Strict):
    """Who is acting: the signed-in person (name, e-mail, role from the access map), or in demo mode the
    persona picked in the sidebar (no e-mail). The role follows the team unless given."""

    name: str = Field(min_length=1)
    team: Team
    email: str | None = None
    role: Role | None = None

    @model_validator(mode="after")
    def _role_and_team_agree(self) -> Actor:
        if self.role is None:
            object.__setattr__(self, "role", TEAM_ROLES[self.team])
        elif ROLE_TEAMS[self.role] != self.team:
            raise ValueError(f"A {self.role} acts for {ROLE_TEAMS[self.role]}, not {self.team}.")
        return self

    @property
    def label(self) -> str:
        """How the person is named in history, proposals and import records: with the e-mail when signed in."""
        return f"{self.name} <{self.email}>" if self.email else self.name

    @classmethod
    def signed_in(cls, name: str | None, email: str, role: str) -> Actor:
        return cls(name=(name or email).strip() or email, team=ROLE_TEAMS[role], email=email.lower(), role=role)


class GoalBody(_Strict):
    """One quarter's shared revenue goal and any cascade assumptions the teams chose to override."""

    revenue: float = Field(gt=0, description="Revenue goal for the quarter, in the data's currency.")
    avg_deal_size: float | None = Field(None, gt=0, description="Override of the average won deal size.")
    rate_overrides: dict[RateName, float] = Field(
        default_factory=dict
    )
    correction: bool = Field(False, description="Set to change the goal of a period that has ended.")

    @model_validator(mode="after")
    def _rates_in_unit_interval(self) -> GoalBody:
        for name, value in self.rate_overrides.items():
            if not 0 < value <= 1:
                raise ValueError(f"{name.replace('_', ' ')} must be above 0 and at most 1 (got {value}).")
        return self


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # date.weekday() order
# Saved, compared and shown as plain strings ("09:00", "2026-12-24"), so a policy's dump is JSON as it is
ClockTime = Annotated[time, PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)]
Day = Annotated[date, PlainSerializer(lambda d: d.isoformat(), return_type=str)]


class WorkingHours(_Strict):
    """One working calendar of the SLA policy: the days and local hours a team (or region) answers leads,
    in its IANA time zone, less its holidays. `applies_to` 'all' is the calendar of every lead whose
    owner's team and region have none of their own (core.workhours says how a lead's calendar is chosen)."""

    applies_to: Literal["all", "team", "region"] = "all"
    name: str | None = Field(None, description="The team or region (reps.team / reps.region); none for 'all'.")
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    opens: ClockTime = time(9)
    closes: ClockTime = time(17)
    time_zone: str = "UTC"
    holidays: list[Day] = Field(default_factory=list)

    @field_validator("opens", "closes")
    @classmethod
    def _to_the_minute(cls, value: time) -> time:
        return value.replace(second=0, microsecond=0, tzinfo=None)

    @field_validator("name")
    @classmethod
    def _tidy_name(cls, value: str | None) -> str | None:
        return (value or "").strip() or None

    @field_validator("weekdays")
    @classmethod
    def _weekdays_in_order(cls, values: list[Weekday]) -> list[Weekday]:
        if not values:
            raise ValueError("Choose at least one working day.")
        return [d for d in WEEKDAYS if d in values]  # one order, no repeats: equal calendars compare equal

    @field_validator("holidays")
    @classmethod
    def _holidays_in_order(cls, values: list[date]) -> list[date]:
        return sorted(set(values))

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        value = value.strip()
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a known time zone (use an IANA name such as Europe/Berlin)") from None
        return value

    @model_validator(mode="after")
    def _coherent(self) -> WorkingHours:
        if self.closes <= self.opens:
            raise ValueError(f"Closing time {self.closes:%H:%M} must be after opening time {self.opens:%H:%M}.")
        if self.applies_to == "all" and self.name is not None:
            raise ValueError("A calendar for all leads takes no team or region name.")
        if self.applies_to != "all" and self.name is None:
            raise ValueError(f"Name the {self.applies_to} this calendar applies to.")
        return self

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.applies_to, self.name)


class SlaPolicy(_Strict):
    """Both teams' promises: sales' response and follow-up, marketing's quality-lead volume."""

    response_hours: float = Field(24, gt=0, le=24 * 30)
    min_attempts: int = Field(3, ge=1, le=100)
    attempt_days: float = Field(7, gt=0, le=90)
    monthly_quality_commitment: int | None = Field(None, ge=0)
    # Added with issue 15 (absent from older saved bodies, so they read as calendar hours): empty = calendar hours
    working_hours: list[WorkingHours] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_calendar_each(self) -> SlaPolicy:
        seen: set[tuple[str, str | None]] = set()
        for calendar in self.working_hours:
            if calendar.key in seen:
                who = "all leads" if calendar.name is None else f"{calendar.applies_to} {calendar.name}"
                raise ValueError(f"Two working calendars for {who}: keep one.")
            seen.add(calendar.key)
        return self


class QualityDefinition(_Strict):
    """Criteria over lead columns. A lead qualifies when it is not excluded (by industry, country or
    source) and either meets every fit criterion that is set, or is fast-tracked by a demo request, or
    (when allowed) its CRM marked it qualified. An unset criterion does not filter. Every field belongs
    to one criterion of core.quality.CRITERIA, which gives its label, editor input, SQL and words."""

    min_score: int | None = Field(None, ge=0, le=100)
    industries: list[str] = Field(default_factory=list)
    employees_min: int | None = Field(None, ge=0)
    employees_max: int | None = Field(None, ge=0)
    seniorities: list[Seniority] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    demo_fast_track: bool = True
    crm_qualified: bool = True
    exclude_industries: list[str] = Field(default_factory=list)
    exclude_countries: list[str] = Field(default_factory=list)
    # Added with the quality page (absent from older saved bodies, so they default to "not used"):
    demo_required: bool = Field(False, description="A demo request is one more fit criterion every lead must meet.")
    exclude_sources: list[str] = Field(default_factory=list, description="Channels of origin that never qualify.")

    @field_validator("industries", "countries", "exclude_industries", "exclude_countries", "exclude_sources")
    @classmethod
    def _tidy_list(cls, values: list[str]) -> list[str]:
        # blanks and repeats are typing slips, not criteria; order is kept for readable diffs
        return list(dict.fromkeys(v.strip() for v in values if v and v.strip()))

    @property
    def has_fit_criteria(self) -> bool:
        return bool(
            self.min_score is not None
            or self.industries
            or self.employees_min is not None
            or self.employees_max is not None
            or self.seniorities
            or self.countries
            or self.demo_required
        )

    @model_validator(mode="after")
    def _coherent(self) -> QualityDefinition:
        if not (self.has_fit_criteria or self.demo_fast_track or self.crm_qualified):
            raise ValueError("The definition is empty: set at least one criterion or a fast track.")
        if self.demo_required and self.demo_fast_track:
            raise ValueError(
                "A demo request cannot be both required and a fast track: choose one of the two."
            )
        if (
            self.employees_min is not None
            and self.employees_max is not None
            and self.employees_min > self.employees_max
        ):
            raise ValueError(
                f"Employee range is contradictory: minimum {self.employees_min} is above maximum {self.employees_max}."
            )
        for name, keep, drop in (
            ("industry", self.industries, self.exclude_industries),
            ("country", self.countries, self.exclude_countries),
        ):
            both = sorted(set(keep) & set(drop))
            if both:
                raise ValueError(f"{', '.join(both)} is both required and excluded as {name}.")
        return self


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOMAIN = re.compile(r"^@[^@\s]+\.[^@\s]+$")


class AccessRule(_Strict):
    """One line of the access map: an e-mail address (a@example.com) or a whole domain (@example.com)."""

    match: str = Field(min_length=3)
    role: Role

    @field_validator("match")
    @classmethod
    def _address_or_domain(cls, value: str) -> str:
        value = value.strip().lower()
        if not (_EMAIL.match(value) or _DOMAIN.match(value)):
            raise ValueError(f"{value!r} is neither an e-mail address nor a domain like @example.com")
        return value


class AccessMap(_Strict):
    """Who may do what once signed in. An address rule wins over a domain rule; anyone else is a viewer."""

    rules: list[AccessRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_rule_per_match(self) -> AccessMap:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.match in seen:
                raise ValueError(f"{rule.match} is listed twice: keep one role for it.")
            seen.add(rule.match)
        return self

    def role_of(self, email: str) -> str:
        email = email.strip().lower()
        by_match = {r.match: r.role for r in self.rules}
        return by_match.get(email) or by_match.get("@" + email.rpartition("@")[2]) or "viewer"


class Exclusion(_Strict):
    """An editor's decision about one record: left out of the figures (excluded) or counted again (restored).
    Saved as kind 'exclusion', subject `subject(table, record_id)`; the record stays in its table."""

    table: Literal["leads", "deals"]
    record_id: str = Field(min_length=1, max_length=200)
    excluded: bool

    @staticmethod
    def subject(table: str, record_id: str) -> str:
        return f"{table}:{record_id}"


class StallRules(_Strict):
    """Days in one stage after which an open deal counts as stalled, per open stage (discovery stalls sooner
    than negotiation). A stage not listed falls back to the default (ACCORD_STALL_DAYS), so an empty body is
    the default everywhere. Saved as kind 'stall_rules', subject 'default'; the latest version applies."""

    days: dict[OpenStage, int] = Field(default_factory=dict)

    @field_validator("days")
    @classmethod
    def _in_range(cls, days: dict[str, int]) -> dict[str, int]:
        for stage, value in days.items():
            if not 1 <= value <= 365:
                raise ValueError(f"{stage} must stall after 1 to 365 days (got {value}).")
        return {s: days[s] for s in OPEN_STAGES if s in days}  # pipeline order, for readable diffs


class DealSnooze(_Strict):
    """'Stalled for a known reason': the deal leaves the stalled count from the version's effective moment
    until 00:00 UTC of `until`, then counts again; `until` None ends a snooze early. Who and why are the
    version's author and reason. Saved as kind 'deal_snooze', subject `subject(deal_id)`."""

    deal_id: str = Field(min_length=1, max_length=200)
    until: date | None

    @staticmethod
    def subject(deal_id: str) -> str:
        return f"deals:{deal_id}"


DEFAULT_QUALITY_DEFINITION = QualityDefinition(min_score=60, demo_fast_track=True, crm_qualified=True)
DEFAULT_SLA_POLICY = SlaPolicy()

# Until sign-in exists, the acting person is one of these, picked in the sidebar.
DEMO_PERSONAS: tuple[Actor, ...] = (
    Actor(name="Lee Ader", team="leadership"),
    Actor(name="Mia Kent", team="marketing"),
    Actor(name="Sal Ortiz", team="sales"),
    Actor(name="Vic Board", team="viewer"),
)


class RepTargets(_Strict):
    """How a quarter's sales targets are split, where a sales manager chose rather than the trailing year:
    `team_shares` (team → share of the whole) and `rep_shares` (rep id → share of the rep's team). Teams and
    reps not named keep their trailing-year share of what is left, so every split still adds up. Saved as
    kind 'rep_targets', subject the quarter ('2026-Q4'); the latest version applies."""

    team_shares: dict[str, float] = Field(default_factory=dict)
    rep_shares: dict[str, float] = Field(default_factory=dict)

    @field_validator("team_shares", "rep_shares")
    @classmethod
    def _shares(cls, shares: dict[str, float]) -> dict[str, float]:
        for key, value in shares.items():
            if not 0 <= value <= 1:
                raise ValueError(f"The share of {key} must be between 0% and 100% (got {value:.0%}).")
        return dict(sorted(shares.items()))  # a stable order, for readable diffs
