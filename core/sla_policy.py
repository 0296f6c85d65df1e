"""The SLA policy as people read and edit it: the sentence stating a version, and the editor's fields to and
from the model (labels from core.semantic.measures, bounds from core.models.SlaPolicy)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import available_timezones

from pydantic import ValidationError

from core import edits
from core.models import WEEKDAYS, Actor, SlaPolicy, WorkingHours
from core.semantic.measures import MEASURES, fmt

KIND = "sla_policy"
FIELDS = ("response_hours", "min_attempts", "attempt_days", "monthly_quality_commitment")
LABELS: dict[str, str] = {f: MEASURES[f].label for f in FIELDS}
_UNITS = {"hours": " (hours)", "days": " (days)"}


@dataclass(frozen=True)
class FormField:
    """One number input of the policy editor."""

    name: str
    label: str
    help: str
    step: float | int
    number_format: str | None


def _bounds(name: str) -> str:
    """The model's bounds on a field in words, e.g. 'Above 0, at most 720.'"""
    words = []
    for rule in SlaPolicy.model_fields[name].metadata:
        for attr, phrase in (("gt", "above"), ("ge", "at least"), ("lt", "below"), ("le", "at most")):
            if getattr(rule, attr, None) is not None:
                words.append(f"{phrase} {getattr(rule, attr):g}")
    text = ", ".join(words)
    if SlaPolicy.model_fields[name].default is None:
        text += ("; " if text else "") + "leave empty for none"
    return text[:1].upper() + text[1:] + "." if text else ""


def _form_field(name: str) -> FormField:
    measure = MEASURES[name]
    is_float = SlaPolicy.model_fields[name].annotation is float
    return FormField(name, measure.label + _UNITS.get(measure.fmt, ""), f"{measure.help} {_bounds(name)}".strip(),
                     1.0 if is_float else 1, "%.1f" if is_float else None)


FORM_FIELDS: tuple[FormField, ...] = tuple(_form_field(f) for f in FIELDS)


def sentence(policy: SlaPolicy) -> str:
    """A version in words: 'first touch within 24.0 h, 3 attempts within 7.0 d; 10 quality leads a month'."""
    commitment = (f"{policy.monthly_quality_commitment:,} quality leads a month"
                  if policy.monthly_quality_commitment is not None else "no quality-lead commitment set")
    return (f"first touch within {fmt(policy.response_hours, 'hours')}, {policy.min_attempts} attempts within "
            f"{fmt(policy.attempt_days, 'days')}; {commitment}")


def change_note(version: edits.Version) -> str:
    """Said when a version takes effect inside the period shown."""
    return (f"The policy changed on {version.effective_from:%d %b %Y %H:%M} UTC (version {version.version}: "
            f"{sentence(version.body)}). Each lead is measured under the policy in force when its clock started.")


def read_only_note(actor: Actor) -> str | None:
    """Why this person sees the editor but cannot save (the write path checks it again), or None."""
    if edits.may(actor, KIND):
        return None
    return (f"You are acting as {actor.name} ({actor.team}): you can read the policy, but only "
            f"{edits.who_may(KIND)} can change it.")


def editing_note(opened: int, latest: edits.Version | None) -> str:
    """Which version the editor holds and what a new one changes."""
    if latest is None:
        return "No policy saved yet."
    return (f"Editing version {opened} (latest saved: version {latest.version}, effective from "
            f"{latest.effective_from:%d %b %Y} UTC). A new version applies to leads whose clock starts on or "
            "after its effective date; earlier leads keep the policy they were measured under.")


def form_values(latest: edits.Version | None, as_of: datetime) -> dict[str, object]:
    """The editor's starting values: the latest version's fields (the defaults when none is saved), effective
    from as-of's day (or the latest version's, when later: the write path refuses an earlier one), no reason."""
    body = latest.body if latest is not None else SlaPolicy()
    start = max(latest.effective_from.date(), as_of.date()) if latest is not None else as_of.date()
    return {**{f: getattr(body, f) for f in FIELDS}, "effective": start, "reason": ""}


def submission(values: Mapping[str, object], keep: edits.Version | None = None) -> tuple[dict[str, object], datetime, str]:
    """The editor's values as what core.edits.save takes: the body, effective from 00:00 UTC of the chosen
    day, and the reason. `keep`: the version whose working hours the new one keeps (this editor does not
    show them, and saving it must not drop them)."""
    effective: date = values["effective"]  # type: ignore[assignment]
    body = {f: values[f] for f in FIELDS}
    if keep is not None:
        body.update(kept_working_hours(keep))
    return body, datetime.combine(effective, time()), str(values["reason"] or "")


# ---------------------------------------------------------------------------------------------------
# Working hours (issue 15): one calendar edited at a time, saved as a new version of the whole policy
# ---------------------------------------------------------------------------------------------------

WORKING_HOURS_LABEL = "Working hours"
LABELS["working_hours"] = WORKING_HOURS_LABEL
NEW_CALENDAR = "__new__"  # the calendar choice that adds one (no calendar key looks like it)
WEEKDAY_NAMES: dict[str, str] = {d: d.capitalize() for d in WEEKDAYS}
APPLIES_TO: dict[str, str] = {"all": "Every other lead", "team": "A team (the lead owner's)",
                              "region": "A region (the lead owner's)"}
TIME_ZONES: tuple[str, ...] = tuple(sorted(available_timezones()))
CALENDAR_FIELDS = ("applies_to", "name", "weekdays", "opens", "closes", "time_zone", "holidays")


def calendar_key(calendar: WorkingHours) -> str:
    return f"{calendar.applies_to}:{calendar.name or ''}"


def calendar_label(calendar: WorkingHours) -> str:
    """Who a calendar is for: 'team sdr-emea', 'region NA', 'every other lead'."""
    return "every other lead" if calendar.applies_to == "all" else f"{calendar.applies_to} {calendar.name}"


def weekdays_words(days: Sequence[str]) -> str:
    """'Mon–Fri' for a run of three or more days, else 'Mon, Wed, Fri'."""
    index = [WEEKDAYS.index(d) for d in days]
    if len(index) >= 3 and index == list(range(index[0], index[0] + len(index))):
        return f"{WEEKDAY_NAMES[days[0]]}–{WEEKDAY_NAMES[days[-1]]}"
    return ", ".join(WEEKDAY_NAMES[d] for d in days)


def calendar_words(calendar: WorkingHours) -> str:
    """'team sdr-emea Mon–Fri 09:00–17:00 Europe/Berlin (1 holiday)'."""
    n = len(calendar.holidays)
    holidays = f" ({n} holiday{'s' if n != 1 else ''})" if n else ""
    return (f"{calendar_label(calendar)} {weekdays_words(calendar.weekdays)} {calendar.opens:%H:%M}–"
            f"{calendar.closes:%H:%M} {calendar.time_zone}{holidays}")


def working_hours_sentence(policy: SlaPolicy) -> str:
    """The rule the response clock follows under a policy version, in plain words."""
    if not policy.working_hours:
        return "Calendar hours: the response clock runs day and night, weekends included."
    order = ("team", "region", "all")
    calendars = sorted(policy.working_hours, key=lambda c: (order.index(c.applies_to), c.name or ""))
    covered = {c.applies_to for c in calendars}
    precedence = {frozenset({"team", "region"}): " A lead follows its owner's team's calendar, else its region's.",
                  frozenset({"team", "region", "all"}): " A lead follows its owner's team's calendar, else its "
                                                        "region's, else the one for every other lead."}
    rest = ("" if "all" in covered else " Leads no calendar covers are measured in calendar hours.")
    return (f"Working hours: {'; '.join(calendar_words(c) for c in calendars)}."
            f"{precedence.get(frozenset(covered), '')}{rest} A clock that starts outside working hours starts "
            "at the next opening.")


def calendar_choices(policy: SlaPolicy | None) -> dict[str, str]:
    """The working-hours editor's choice of calendar: key → label, the existing ones then 'add one'."""
    calendars = policy.working_hours if policy is not None else []
    return {**{calendar_key(c): calendar_words(c) for c in calendars}, NEW_CALENDAR: "Add a calendar"}


def _calendar(policy: SlaPolicy | None, choice: str) -> WorkingHours | None:
    calendars = policy.working_hours if policy is not None else []
    return next((c for c in calendars if calendar_key(c) == choice), None)


def calendar_form_values(latest: edits.Version | None, choice: str, as_of: datetime) -> dict[str, object]:
    """The calendar editor's starting values: the chosen calendar (a new one: Mon–Fri 09:00–17:00 UTC, for
    every other lead), holidays one ISO date a line, and the effective date and reason as the policy editor's."""
    calendar = _calendar(latest.body if latest else None, choice) or WorkingHours()
    effective = form_values(latest, as_of)["effective"]
    return {"applies_to": calendar.applies_to, "name": calendar.name or "", "weekdays": list(calendar.weekdays),
            "opens": calendar.opens, "closes": calendar.closes, "time_zone": calendar.time_zone,
            "holidays": "\n".join(d.isoformat() for d in calendar.holidays), "remove": False,
            "effective": effective, "reason": ""}


@dataclass
class CalendarSubmission:
    """What the calendar editor submits: the whole policy body with the calendar replaced, added or removed
    (what core.edits.save takes), or the problems that stop it."""

    body: dict[str, object] | None
    effective_from: datetime
    reason: str
    errors: list[str]


def _holidays(text: str) -> tuple[list[date], list[str]]:
    days, errors = [], []
    for part in text.replace(",", "\n").split():
        try:
            days.append(date.fromisoformat(part))
        except ValueError:
            errors.append(f"Holiday {part!r} is not a date: write one per line as YYYY-MM-DD.")
    return days, errors


def calendar_submission(latest: edits.Version | None, choice: str, values: Mapping[str, object]) -> CalendarSubmission:
    """The calendar editor's values as a new policy body: the latest version's fields with the chosen
    calendar replaced (or added, or removed when `remove` is ticked). The model validates the calendar
    (closing after opening, a known time zone, a day at least) and the write path checks it all again."""
    effective: date = values["effective"]  # type: ignore[assignment]
    effective_from, reason = datetime.combine(effective, time()), str(values["reason"] or "")
    policy = latest.body if latest is not None else SlaPolicy()
    others = [c for c in policy.working_hours if calendar_key(c) != choice]
    calendars: list[object] = [c.model_dump() for c in others]
    if not values.get("remove"):
        holidays, errors = _holidays(str(values.get("holidays") or ""))
        fields = {f: values[f] for f in CALENDAR_FIELDS if f != "holidays"}
        fields["name"] = None if values["applies_to"] == "all" else fields["name"]
        try:
            calendar = WorkingHours.model_validate({**fields, "holidays": holidays})
        except ValidationError as exc:
            errors.append(edits.validation_message(exc))
        else:
            keys = [calendar_key(c) for c in policy.working_hours]
            # a changed calendar keeps its place; a new one (or one gone meanwhile) goes last
            calendars.insert(keys.index(choice) if choice in keys else len(others), calendar.model_dump())
        if errors:
            return CalendarSubmission(None, effective_from, reason, errors)
    return CalendarSubmission({**policy.model_dump(), "working_hours": calendars}, effective_from, reason, [])


def kept_working_hours(latest: edits.Version | None) -> dict[str, object]:
    """The working hours a save from the number editor keeps (that editor does not show them)."""
    return {"working_hours": [c.model_dump() for c in latest.body.working_hours] if latest is not None else []}
