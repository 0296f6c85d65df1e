"""Working time for the response SLA (issue 15): when the SLA policy sets working hours, every response-SLA
duration counts only the seconds inside a lead's working calendar.

How it stays SQL at ten million leads: per calendar, the working intervals of the days needed are listed
in UTC (each day's local opening and closing converted with the zone of that day, so a DST change moves
them; days off and holidays have none), with the working seconds before each (`cum_s`). Then

    W(t) = working seconds before t = cum_s + min(t − start, length) of the last interval starting ≤ t

is one ASOF join, a working duration is W(b) − W(a), and the moment a given amount of working time is
spent (a deadline) is the inverse ASOF join on `cum_s`. A clock that starts outside hours so starts at the
next opening by construction. The interval list is small (days × calendars) and is bound as list
parameters, never built from data.

Which calendar a lead follows (the policy version in force at its clock start): the one of its owner's
team, else of the owner's region, else the calendar for all leads; with none of them, calendar hours.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.models import WEEKDAYS, SlaPolicy, WorkingHours

# Beyond this many days after as-of no deadline is placed exactly (a 720-hour window on a one-hour day
# would need years): a deadline that far out is after as-of either way, so no status depends on it.
MAX_DAYS_AHEAD = 5 * 366

# The CTEs `work` (cal_id, start_at, len_s, cum_s) and `work_days` (cal_id, day_s), built by `work_ctes`.
WORK = "work"


def uses_working_hours(schedule: Sequence[tuple[datetime, SlaPolicy]]) -> bool:
    """Whether any version of the schedule sets working hours (else every figure is in calendar hours and
    the SQL is the calendar-hour SQL, unchanged)."""
    return any(body.working_hours for _, body in schedule)


def day_seconds(calendar: WorkingHours) -> float:
    """Working seconds in one working day of the calendar (its 'day' for the attempt window)."""
    opens = calendar.opens.hour * 3600 + calendar.opens.minute * 60 + calendar.opens.second
    closes = calendar.closes.hour * 3600 + calendar.closes.minute * 60 + calendar.closes.second
    return float(closes - opens)


def intervals(calendar: WorkingHours, first: date, last: date) -> list[tuple[datetime, datetime]]:
    """The calendar's working intervals on local days first..last (inclusive), as naive UTC (start, end)."""
    zone = ZoneInfo(calendar.time_zone)
    open_days = {WEEKDAYS.index(d) for d in calendar.weekdays}
    holidays = set(calendar.holidays)
    out = []
    day = first
    while day <= last:
        if day.weekday() in open_days and day not in holidays:
            # a local time skipped by a DST change reads with the offset before it (fold=0)
            start = datetime.combine(day, calendar.opens, zone).astimezone(UTC).replace(tzinfo=None)
            end = datetime.combine(day, calendar.closes, zone).astimezone(UTC).replace(tzinfo=None)
            if end > start:
                out.append((start, end))
        day += timedelta(days=1)
    return out


def days_ahead(schedule: Sequence[tuple[datetime, SlaPolicy]]) -> int:
    """Calendar days after as-of the interval list must reach so that every response deadline and attempt
    window that can end by then is placed exactly."""
    need = 7
    for _, body in schedule:
        for calendar in body.working_hours:
            per_day = day_seconds(calendar)
            working_days = math.ceil(max(body.response_hours * 3600, body.attempt_days * per_day) / per_day) + 1
            days = math.ceil(working_days * 7 / len(calendar.weekdays)) + len(calendar.holidays) + 7
            need = max(need, days)
    return min(need, MAX_DAYS_AHEAD)


def numbered(schedule: Sequence[tuple[datetime, SlaPolicy]]) -> list[WorkingHours]:
    """Every distinct calendar of the schedule, once; a calendar's id is its index here."""
    seen: dict[str, WorkingHours] = {}
    for _, body in schedule:
        for calendar in body.working_hours:
            seen.setdefault(calendar.model_dump_json(), calendar)
    return list(seen.values())


def calendar_case(schedule: Sequence[tuple[datetime, SlaPolicy]], moment_sql: str, team_sql: str, region_sql: str,
                  params: dict, prefix: str = "wh") -> str:
    """The id of the calendar a lead follows (NULL: calendar hours), from the version in force at
    `moment_sql` and its owner's team and region (allow-listed column expressions)."""
    from core.quality import effective_case

    ids = {c.model_dump_json(): i for i, c in enumerate(numbered(schedule))}

    def branch(i: int, body: SlaPolicy) -> str:
        whens = []
        # team calendars first, then regions: the narrower group wins
        for k, calendar in sorted(enumerate(body.working_hours), key=lambda kc: ("team", "region", "all").index(
                kc[1].applies_to)):
            cal_id = ids[calendar.model_dump_json()]
            if calendar.applies_to == "all":
                whens.append(f"ELSE {cal_id}")
                break
            params[f"{prefix}{i}_{k}_name"] = calendar.name
            column = team_sql if calendar.applies_to == "team" else region_sql
            whens.append(f"WHEN {column} = ${prefix}{i}_{k}_name THEN {cal_id}")
        if not whens:
            return "CAST(NULL AS INTEGER)"
        if whens[0].startswith("ELSE"):
            return whens[0].removeprefix("ELSE ")
        return "(CASE " + " ".join(whens) + " END)"

    return effective_case(schedule, moment_sql, params, prefix, branch)


def work_ctes(schedule: Sequence[tuple[datetime, SlaPolicy]], first: datetime, as_of: datetime, params: dict) -> str:
    """CTEs `work` (every calendar's working intervals from the day before `first` to well after as-of, with
    the working seconds before each) and `work_days` (each calendar's working seconds per day). Values are
    bound as list parameters."""
    cal, start, length, cum = [], [], [], []
    ids, per_day = [], []
    first_day = first.date() - timedelta(days=2)  # a zone's local day can start up to 14 h before UTC's
    last_day = as_of.date() + timedelta(days=days_ahead(schedule))
    for cal_id, calendar in enumerate(numbered(schedule)):
        total = 0.0
        for a, b in intervals(calendar, first_day, last_day):
            cal.append(cal_id)
            start.append(a)
            length.append((b - a).total_seconds())
            cum.append(total)
            total += (b - a).total_seconds()
        ids.append(cal_id)
        per_day.append(day_seconds(calendar))
    params.update(wh_cal=cal, wh_start=start, wh_len=length, wh_cum=cum, wh_ids=ids, wh_day_s=per_day)
    return f"""{WORK} AS (
        SELECT unnest(CAST($wh_cal AS INTEGER[])) AS cal_id, unnest(CAST($wh_start AS TIMESTAMP[])) AS start_at,
               unnest(CAST($wh_len AS DOUBLE[])) AS len_s, unnest(CAST($wh_cum AS DOUBLE[])) AS cum_s
    ),
    work_days AS (
        SELECT unnest(CAST($wh_ids AS INTEGER[])) AS cal_id, unnest(CAST($wh_day_s AS DOUBLE[])) AS day_s
    )"""


def before(alias: str, moment_sql: str) -> str:
    """W(moment): working seconds before `moment_sql`, over `ASOF LEFT JOIN work {alias} ON {alias}.cal_id =
    … AND moment >= {alias}.start_at` (0 before the first interval listed)."""
    return (f"CASE WHEN {alias}.start_at IS NULL THEN 0.0 "
            f"ELSE {alias}.cum_s + least(epoch({moment_sql} - {alias}.start_at), {alias}.len_s) END")


def moment_at(alias: str, target_sql: str) -> str:
    """The moment W reaches `target_sql` working seconds, the latest such moment (so an amount that ends at a
    closing is reached at the next opening: nothing happens outside hours), over `ASOF LEFT JOIN work
    {alias} ON {alias}.cal_id = … AND target >= {alias}.cum_s`."""
    return (f"{alias}.start_at + to_microseconds(CAST(round(({target_sql} - {alias}.cum_s) * 1000000) AS BIGINT))")
