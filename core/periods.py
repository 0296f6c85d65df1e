"""Reporting periods (calendar months and quarters) and as-of moments, all in UTC."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from core.db import reads
from core.errors import AccordError

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# The years a period or an as-of may name: plenty for CRM data, and far enough from datetime's limits
# (years 1 and 9999) that the arithmetic around a period (the one before, the trailing year) never overflows.
MIN_YEAR = 1900
MAX_YEAR = 2200


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

    def months(self) -> list[Period]:
        if not self.is_quarter:
            return [self]
        return [_month(self.start.year, m) for m in range(self.start.month, self.start.month + 3)]

    def quarter(self) -> Period:
        if self.is_quarter:
            return self
        return _quarter(self.start.year, (self.start.month - 1) // 3 + 1)

    def shifted(self, steps: int) -> Period:
        """The period `steps` quarters (or months) later; negative steps go back."""
        index = self.start.year * 12 + self.start.month - 1
        if self.is_quarter:
            index += 3 * steps
            return _quarter(index // 12, index % 12 // 3 + 1)
        index += steps
        return _month(index // 12, index % 12 + 1)

    def previous(self) -> Period:
        return self.shifted(-1)

    def next(self) -> Period:
        return self.shifted(1)

    @property
    def in_range(self) -> bool:
        """Whether parse_period accepts this period's label (its year lies in MIN_YEAR..MAX_YEAR)."""
        return MIN_YEAR <= self.start.year <= MAX_YEAR


def _add_months(d: datetime, months: int) -> datetime:
    total = d.year * 12 + (d.month - 1) + months
    return d.replace(year=total // 12, month=total % 12 + 1)


# Periods built by arithmetic (the one before, the next ones) may step just outside MIN_YEAR..MAX_YEAR;
# only parse_period, which reads what a person typed, refuses those years.
def _quarter(year: int, q: int) -> Period:
    start = datetime(year, 3 * (q - 1) + 1, 1)
    return Period(f"{year:04d}-Q{q}", start, _add_months(start, 3))


def _month(year: int, month: int) -> Period:
    start = datetime(year, month, 1)
    return Period(f"{year:04d}-{month:02d}", start, _add_months(start, 1))


def parse_period(text: str) -> Period:
    text = (text or "").strip()
    quarter, month = _QUARTER.match(text), _MONTH.match(text)
    found = quarter or month
    if not found:
        raise BadPeriod(f"Unknown period {text!r}: use a quarter like 2026-Q3 or a month like 2026-08.")
    year = int(found.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise BadPeriod(f"Period {text!r} is out of range: use a year from {MIN_YEAR} to {MAX_YEAR}.")
    return _quarter(year, int(found.group(2))) if quarter else _month(year, int(found.group(2)))


def period_containing(moment: datetime, quarter: bool = True) -> Period:
    if quarter:
        return _quarter(moment.year, (moment.month - 1) // 3 + 1)
    return _month(moment.year, moment.month)


def default_period(as_of: datetime, latest_record: datetime | None) -> Period:
    """The quarter a page opens on: the one holding the latest record at or before as_of (see
    latest_record_at), or as_of's quarter when there is no such record (an empty database) or its quarter
    lies outside the years a period may name."""
    if latest_record is None or latest_record > as_of or not period_containing(latest_record).in_range:
        return period_containing(as_of)
    return period_containing(latest_record)


def recent_periods(as_of: datetime, quarters: int = 6, latest_record: datetime | None = None,
                   ahead: int = 2) -> list[Period]:
    """The quarters offered for picking, newest first: `ahead` quarters after as_of's (so a goal can be set
    ahead), as_of's quarter, and back to `quarters` quarters ending with default_period(as_of, latest_record)
    — the quarter holding the latest data. Only quarters parse_period accepts."""
    default = default_period(as_of, latest_record)
    newest = period_containing(as_of).shifted(ahead)
    out: list[Period] = []
    q = newest
    while q.start >= default.start:
        out.append(q)
        q = q.previous()
    out.extend(default.shifted(-i) for i in range(1, quarters))
    return [p for p in out if p.in_range]


def period_options(as_of: datetime, quarters: int = 6, latest_record: datetime | None = None,
                   ahead: int = 2) -> list[str]:
    """The periods offered for picking (recent_periods, newest first), each quarter followed by its months.
    The one to select by default is default_period(as_of, latest_record).label."""
    options: list[str] = []
    for quarter in recent_periods(as_of, quarters, latest_record, ahead):
        options.append(quarter.label)
        options.extend(m.label for m in quarter.months())
    return options


@reads("records")
def latest_record_at(con: duckdb.DuckDBPyConnection, as_of: datetime) -> datetime | None:
    """The latest moment a record happened at or before as_of: a lead or deal created, a deal closed, an
    activity; None when there is none. A record dated after as_of does not count."""
    row = con.execute(
        """SELECT max(m) FROM (
               SELECT max(created_at) AS m FROM counted_leads WHERE created_at <= $as_of
               UNION ALL SELECT max(created_at) FROM counted_deals WHERE created_at <= $as_of
               UNION ALL SELECT max(closed_at) FROM counted_deals WHERE closed_at <= $as_of
               UNION ALL SELECT max(occurred_at) FROM activities WHERE occurred_at <= $as_of)""",
        {"as_of": as_of},
    ).fetchone()
    value = row[0] if row else None
    if value is None:
        return None
    if not isinstance(value, datetime):  # DuckDB returns datetime for TIMESTAMP; be safe with pandas types
        value = datetime.fromisoformat(str(value))
    return value


def _check_range(value: datetime, text: str) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise BadAsOf(f"As-of {text!r} is out of range: use a moment from {MIN_YEAR} to {MAX_YEAR}.")
    return value


def parse_as_of(text: str | None) -> datetime:
    """ISO date or datetime (naive = UTC, aware = converted to UTC); None means now. Years MIN_YEAR..MAX_YEAR."""
    if text is None or not str(text).strip():
        return utc_now()
    text = str(text).strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadAsOf(f"Unreadable as-of {text!r}: use an ISO date or time such as 2026-09-30T12:00.") from None
    _check_range(value, text)
    if value.tzinfo is not None:
        try:
            value = value.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:
            raise BadAsOf(f"As-of {text!r} is out of range: use a moment from {MIN_YEAR} to {MAX_YEAR}.") from None
    return _check_range(value, text)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)

