"""Quota period arithmetic (pure): monthly periods whatever the billing interval."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive value (SQLite returns them) is taken to be UTC already."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def calendar_month_start(now: datetime) -> datetime:
    """The first instant of `now`'s month in UTC (the Free plan's quota period)."""
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` shifted by whole months, the day clamped to the target month's length."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def quota_period_start(*, now: datetime, anchor: datetime | None) -> datetime:
    """Start of the monthly quota period containing `now`.

    `anchor` is a paid subscription's period start (cycles repeat monthly from it, so a
    yearly plan still resets every month); None means calendar months.
    """
    if anchor is None:
        return calendar_month_start(now)
    now, anchor = now.astimezone(UTC), anchor.astimezone(UTC)
    months = (now.year - anchor.year) * 12 + (now.month - anchor.month)
    start = add_months(anchor, months)
    while start > now:
        months -= 1
        start = add_months(anchor, months)
    return start
