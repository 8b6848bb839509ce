"""Quota periods are monthly whatever the billing interval."""

from datetime import UTC, datetime

from promptgen.periods import add_months, calendar_month_start, quota_period_start


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_free_plan_counts_calendar_months() -> None:
    assert quota_period_start(now=at(2026, 3, 17, 9), anchor=None) == at(2026, 3, 1)
    assert calendar_month_start(at(2026, 12, 31, 23, 59)) == at(2026, 12, 1)


def test_paid_plan_cycles_from_its_anchor_even_when_billed_yearly() -> None:
    anchor = at(2026, 1, 15, 10)  # a yearly plan bought on 15 January
    assert quota_period_start(now=at(2026, 1, 20), anchor=anchor) == anchor
    assert quota_period_start(now=at(2026, 2, 15, 9), anchor=anchor) == at(2026, 1, 15, 10)
    assert quota_period_start(now=at(2026, 2, 15, 10), anchor=anchor) == at(2026, 2, 15, 10)
    assert quota_period_start(now=at(2026, 11, 30), anchor=anchor) == at(2026, 11, 15, 10)


def test_anchor_on_the_31st_clamps_to_short_months() -> None:
    anchor = at(2026, 1, 31, 12)
    assert add_months(anchor, 1) == at(2026, 2, 28, 12)
    assert quota_period_start(now=at(2026, 3, 1), anchor=anchor) == at(2026, 2, 28, 12)
    assert quota_period_start(now=at(2026, 3, 31, 13), anchor=anchor) == at(2026, 3, 31, 12)


def test_anchor_in_the_future_steps_back() -> None:
    assert quota_period_start(now=at(2026, 5, 1), anchor=at(2026, 5, 10)) == at(2026, 4, 10)
