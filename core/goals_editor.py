"""The Goals page's rules without Streamlit: the edit form ↔ GoalBody, the what-if's starting point and its
copy into the form, restoring a version, who may save, and the words of every input (from the semantic layer)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core import edits
from core.metrics.goals import RATE_FIELDS, CascadeRates, GoalPlan, quarter_revenue
from core.models import Actor, GoalBody
from core.periods import Period
from core.semantic.enums import RATE_NAMES
from core.semantic.measures import MEASURES, show

# GoalBody's fields in words, for the conflict view and the history.
FIELD_LABELS: dict[str, str] = {
    "revenue": MEASURES["goal"].label,
    "avg_deal_size": f"{MEASURES['avg_deal_size'].label} (override)",
    "rate_overrides": "Rate overrides",
    "correction": "Correction of an ended quarter",
}
CONFLICT_TOAST = "Not saved: someone saved this goal after you opened it. Both versions are under “Set the goal”."
WHOLE_PERIOD = "Whole period"


@dataclass(frozen=True)
class NumberField:
    """One number input: `name` is the cascade input (or 'revenue') it edits; `options` go to the widget.
    Its value comes from session state (seeded by the page) and starts empty, never at 0: Streamlit gives a
    cleared field its default back, so the default must be "empty" for a cleared override to mean "none"."""

    name: str
    label: str
    options: dict[str, Any]

    def __post_init__(self) -> None:
        self.options.setdefault("value", None)


def scope_note(period: Period) -> str:
    """What the goal of `period` is: the quarter's, or for a month its pro-rated share."""
    return ("one goal per quarter, shared by sales and marketing"
            + ("" if period.is_quarter else f" (this month gets {period.quarter().label}'s goal pro-rated by days)"))


def split_label(segment: str | None, segments: dict[str, str]) -> str:
    return WHOLE_PERIOD if segment is None else segments[segment]


def _is_money(name: str) -> bool:
    return MEASURES[name].fmt == "money"


def whatif_fields(period: Period) -> list[NumberField]:
    """The what-if's inputs: the period's goal, then the deal size and every rate (any value, never saved)."""
    fields = [NumberField("revenue", f"{MEASURES['goal'].label} ({period.label})",
                          {"min_value": 0.0, "step": 10_000.0, "format": "%.0f", "placeholder": "any goal"})]
    for name in RATE_FIELDS:
        m = MEASURES[name]
        money = _is_money(name)
        fields.append(NumberField(name, m.label if money else f"{m.label} (0–1)", {
            "min_value": 0.0, "max_value": None if money else 1.0, "step": 1_000.0 if money else 0.01,
            "format": "%.0f" if money else "%.3f", "help": m.help}))
    return fields


def form_fields(quarter: Period, trailing: CascadeRates | None) -> list[NumberField]:
    """The edit form's inputs: the quarter's goal, then an override per cascade input. No bounds here: what
    is out of range is refused by core.edits with its reason, and the typing is kept."""
    fields = [NumberField("revenue", f"{MEASURES['goal'].label} for {quarter.label}", {
        "step": 10_000.0, "format": "%.2f", "placeholder": "e.g. 1500000",
        "help": "Positive, in the data's currency. Months get a pro-rated share by days."})]
    for name in RATE_FIELDS:
        money = _is_money(name)
        shown = show(name, getattr(trailing, name) if trailing else None)
        fields.append(NumberField(name, MEASURES[name].label + (" override" if money else " (0–1)"), {
            "step": 1_000.0 if money else 0.01, "format": "%.2f" if money else "%.3f",
            "placeholder": f"trailing year: {shown}",
            "help": ("A positive amount." if money else "A share above 0 and at most 1, e.g. 0.25 for 25%.")
            + f" Empty: the trailing-year actual ({shown})."}))
    return fields


def form_values(body: GoalBody | None) -> dict[str, Any]:
    """The edit form's values for a saved goal (all empty without one); an empty override means the
    trailing-year actual. The correction tick and the reason always start clear."""
    values: dict[str, Any] = {"revenue": body.revenue if body else None,
                              "avg_deal_size": body.avg_deal_size if body else None}
    values.update({name: body.rate_overrides.get(name) if body else None for name in RATE_NAMES})
    return values | {"correction": False, "reason": ""}


def body_from_form(values: dict[str, Any]) -> dict[str, Any]:
    """The GoalBody the form's values ask for (validated by core.edits): only the rates given override."""
    return {
        "revenue": values.get("revenue"),
        "avg_deal_size": values.get("avg_deal_size"),
        "rate_overrides": {name: values[name] for name in RATE_NAMES if values.get(name) is not None},
        "correction": bool(values.get("correction")),
    }


def whatif_start(plan: GoalPlan) -> dict[str, float | None]:
    """The what-if's values before anyone changes them: the saved plan's goal, deal size and rates."""
    rates = plan.rates
    return {"revenue": plan.goal_revenue, **{name: getattr(rates, name) if rates else None for name in RATE_FIELDS}}


def form_from_whatif(period: Period, plan: GoalPlan, values: dict[str, float | None]) -> dict[str, float | None]:
    """The what-if's values as the edit form's: a month's goal scales back to its quarter's (goals are saved
    per quarter); an input equal to the trailing-year actual stays empty (no override), any other overrides."""
    form = {"revenue": quarter_revenue(period, values.get("revenue"))}
    for name in RATE_FIELDS:
        trailing = getattr(plan.trailing, name) if plan.trailing else None
        form[name] = None if values.get(name) == trailing else values.get(name)
    return form


def whatif_warning(values: dict[str, float | None]) -> str | None:
    if any(v == 0 for v in values.values()):
        return "A rate or deal size of 0 makes the volumes that depend on it undefined (—)."
    return None


def refusal_note(actor: Actor) -> str | None:
    """Why this person's save would be refused (core.edits checks it again on every save), or None."""
    if edits.may(actor, "goal"):
        return None
    return (f"{actor.name} ({actor.team}) can read every figure and try the what-if, but a save is refused: "
            f"{edits.who_may('goal')} set goals.")


def editor_caption(quarter: Period, opened: int, current: edits.Version | None) -> str:
    """Which version the form edits, and whether a newer one exists."""
    text = f"Editing {quarter.label}, version {opened}." if opened else f"No goal saved for {quarter.label} yet."
    if current is not None and current.version != opened:
        text += f" The latest is version {current.version}."
    return (text + " Leave an override empty to use the trailing-year actual. Every save is a new version with "
            "who, when, before, after and why.")


def version_line(current: edits.Version) -> str:
    return (f"{current.subject} goal: version {current.version}, saved by {current.saved_by} on "
            f"{current.saved_at:%Y-%m-%d %H:%M} UTC — “{current.reason}”")


def restore(versions: list[edits.Version], chosen: int, why: str, correction: bool) -> tuple[dict[str, Any], str]:
    """The body and reason that restore version `chosen` as a new version (nothing is deleted). Without a
    reason the reason stays empty, so the save is refused and asks for one."""
    old = next(v for v in versions if v.version == chosen)
    why = why.strip()
    return old.body.model_dump() | {"correction": correction}, f"Restored version {chosen}: {why}" if why else ""
