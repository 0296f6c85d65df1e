"""Reporting periods (calendar months and quarters) and as-of moments, all in UTC."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from core.errors import AccordError

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class BadPeriod(AccordError):
    pass


class BadAsOf(AccordError):
    pass


@dataclass(frozen=True)
class Period:
    """A calendar month or quarter: start inclusive, end exclusive (both midnight UTC)."""

    label: str
    start: datetime
    end: datetime

    @property
    def is_quarter(self) -> bool:
        return "Q" in self.label

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def elapsed_share(self, as_of: datetime) -> float:
        """Share of the period that has passed at as_of, between 0 and 1."""
        total = (self.end - self.start).total_seconds()
        done = (min(max(as_of, self.start), self.end) - self.start).total_seconds()
        return done / total

    def months(self) -> list["Period"]:
        if not self.is_quarter:
            return [self]
        return [parse_period(f"{self.start.year}-{m:02d}") for m in range(self.start.month, self.start.month + 3)]

    def quarter(self) -> "Period":
        if self.is_quarter:
            return self
        return parse_period(f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}")

    def previous(self) -> "Period":
        if self.is_quarter:
            q = (self.start.month - 1) // 3 + 1
            return parse_period(f"{self.start.year - 1}-Q4" if q == 1 else f"{self.start.year}-Q{q - 1}")
        prev = self.start - timedelta(days=1)
        return parse_period(f"{prev.year}-{prev.month:02d}")


def _add_months(d: datetime, months: int) -> datetime:
    total = d.year * 12 + (d.month - 1) + months
    return d.replace(year=total // 12, month=total % 12 + 1)


def parse_period(text: str) -> Period:
    text = (text or "").strip()
    if m := _QUARTER.match(text):
        start = datetime(int(m.group(1)), 3 * (int(m.group(2)) - 1) + 1, 1)
        return Period(text, start, _add_months(start, 3))
    if m := _MONTH.match(text):
        start = datetime(int(m.group(1)), int(m.group(2)), 1)
        return Period(text, start, _add_months(start, 1))
    raise BadPeriod(f"Unknown period {text!r}: use a quarter like 2026-Q3 or a month like 2026-08.")


def period_containing(moment: datetime, quarter: bool = True) -> Period:
    if quarter:
        return parse_period(f"{moment.year}-Q{(moment.month - 1) // 3 + 1}")
    return parse_period(f"{moment.year}-{moment.month:02d}")


def recent_periods(as_of: datetime, quarters: int = 6) -> list[Period]:
    """The quarter containing as_of and the ones before it, newest first, each followed by its months."""
    out: list[Period] = []
    q = period_containing(as_of)
    for _ in range(quarters):
        out.append(q)
        q = q.previous()
    return out


def period_options(as_of: datetime, quarters: int = 6) -> list[str]:
    """The periods offered for picking: each recent quarter, newest first, followed by its months."""
    options: list[str] = []
    for quarter in recent_periods(as_of, quarters):
        options.append(quarter.label)
        options.extend(m.label for m in quarter.months())
    return options


def parse_as_of(text: str | None) -> datetime:
    """ISO date or datetime (naive = UTC, aware = converted to UTC); None means now."""
    if text is None or not str(text).strip():
        return utc_now()
    try:
        value = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadAsOf(f"Unreadable as-of {text!r}: use an ISO date or time such as 2026-09-30T12:00.") from None
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)

