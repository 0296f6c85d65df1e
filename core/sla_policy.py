"""The SLA policy as people read and edit it: the sentence stating a version, and the editor's fields to and
from the model (labels from core.semantic.measures, bounds from core.models.SlaPolicy)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time

from core import edits
from core.models import Actor, SlaPolicy
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


def submission(values: Mapping[str, object]) -> tuple[dict[str, object], datetime, str]:
    """The editor's values as what core.edits.save takes: the body, effective from 00:00 UTC of the chosen
    day, and the reason."""
    effective: date = values["effective"]  # type: ignore[assignment]
    return {f: values[f] for f in FIELDS}, datetime.combine(effective, time()), str(values["reason"] or "")
