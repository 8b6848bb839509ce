"""The Usage page's figures: per day and per model for the current and previous quota
periods, the platform/own-key split, and the slowest and most-failing models.

Every figure is an aggregate computed by the database (GROUP BY over the user's rows in the
two periods, found through `ix_user_prompts_user_created`), never a loop over history rows
in Python: the page stays fast with tens of thousands of generations (bench/usage.py). It
runs in the user's session, so row-level security scopes it on PostgreSQL as well.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session

from promptgen.db import is_postgres, table_of
from promptgen.models import UserPrompt, UserSubscription
from promptgen.periods import add_months, quota_period_start
from promptgen.services.plans import PlanSummary, get_plan_summary

_prompts = table_of(UserPrompt)
_subs = table_of(UserSubscription)


@dataclass(frozen=True)
class DayModel:
    """One model's generations on one day (UTC)."""

    period: str  # current | previous
    day: date
    model: str
    generations: int
    tokens: int
    cost_micros: int


@dataclass(frozen=True)
class ModelStats:
    model: str
    generations: int
    failed: int
    tokens: int
    cost_micros: int
    avg_latency_ms: int | None

    @property
    def failure_rate(self) -> float:
        return self.failed / self.generations if self.generations else 0.0


@dataclass(frozen=True)
class KeySplit:
    key_source: str  # platform | own_key | offline
    generations: int
    tokens: int
    cost_micros: int


@dataclass(frozen=True)
class UsageReport:
    current_start: datetime
    current_end: datetime
    previous_start: datetime
    plan: PlanSummary | None
    days: list[DayModel]
    models: list[ModelStats]  # current period
    split: list[KeySplit]  # current period
    totals: dict[str, dict[str, int]]  # period -> generations, tokens, cost_micros


def _day(session: Session) -> sa.ColumnElement:
    created = _prompts.c.created_at
    if is_postgres(session):
        return sa.func.date(sa.func.timezone("UTC", created))
    return sa.func.date(created)


def _tokens() -> sa.ColumnElement:
    return sa.func.coalesce(_prompts.c.input_tokens, 0) + sa.func.coalesce(
        _prompts.c.output_tokens, 0
    )


def _finished():
    return _prompts.c.status != "pending"


def usage_report(
    *, session: Session, user_id: uuid.UUID, now: datetime | None = None
) -> UsageReport:
    now = now or datetime.now(UTC)
    anchor = session.execute(
        sa.select(_subs.c.quota_anchor).where(_subs.c.user_id == user_id)
    ).scalar_one_or_none()
    current = quota_period_start(now=now, anchor=anchor)
    previous = add_months(current, -1) if anchor is None else _previous(anchor, current)
    current_end = add_months(current, 1) if anchor is None else _next(anchor, current)
    owned = sa.and_(_prompts.c.user_id == user_id, _prompts.c.created_at >= previous, _finished())
    in_current = _prompts.c.created_at >= current
    period = sa.case((in_current, "current"), else_="previous")
    cost = sa.func.coalesce(sa.func.sum(_prompts.c.estimated_cost_micros), 0)
    tokens = sa.func.coalesce(sa.func.sum(_tokens()), 0)
    day = _day(session)

    day_rows = session.execute(
        sa.select(period, day, _prompts.c.model_name, sa.func.count(), tokens, cost)
        .where(owned)
        .group_by(period, day, _prompts.c.model_name)
        .order_by(day, _prompts.c.model_name)
    ).all()
    days = [
        DayModel(
            str(r[0]),
            r[1] if isinstance(r[1], date) else date.fromisoformat(str(r[1])),
            r[2] or "—",
            int(r[3]),
            int(r[4]),
            int(r[5]),
        )
        for r in day_rows
    ]

    this_period = sa.and_(owned, in_current)
    model_rows = session.execute(
        sa.select(
            _prompts.c.model_name,
            sa.func.count(),
            sa.func.count().filter(_prompts.c.status.in_(("failed", "cancelled"))),
            tokens,
            cost,
            sa.func.avg(_prompts.c.latency_ms).filter(_prompts.c.status == "succeeded"),
        )
        .where(this_period)
        .group_by(_prompts.c.model_name)
    ).all()
    models = [
        ModelStats(
            r[0] or "—",
            int(r[1]),
            int(r[2]),
            int(r[3]),
            int(r[4]),
            None if r[5] is None else round(float(r[5])),
        )
        for r in model_rows
    ]
    split_rows = session.execute(
        sa.select(_prompts.c.key_source, sa.func.count(), tokens, cost)
        .where(this_period)
        .group_by(_prompts.c.key_source)
        .order_by(_prompts.c.key_source)
    ).all()
    split = [KeySplit(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in split_rows]
    totals = {p: {"generations": 0, "tokens": 0, "cost_micros": 0} for p in ("current", "previous")}
    for d in days:
        totals[d.period]["generations"] += d.generations
        totals[d.period]["tokens"] += d.tokens
        totals[d.period]["cost_micros"] += d.cost_micros
    return UsageReport(
        current_start=current,
        current_end=current_end,
        previous_start=previous,
        plan=get_plan_summary(session=session, user_id=user_id, now=now),
        days=days,
        models=sorted(models, key=lambda m: -m.generations),
        split=split,
        totals=totals,
    )


def _previous(anchor: datetime, current: datetime) -> datetime:
    """The anchored period before `current` (days clamped like the quota's periods)."""
    return quota_period_start(now=current - timedelta(microseconds=1), anchor=anchor)


def _next(anchor: datetime, current: datetime) -> datetime:
    months = (current.year - anchor.year) * 12 + (current.month - anchor.month)
    return add_months(anchor.astimezone(UTC), months + 1)


def period_days(start: datetime, end: datetime) -> list[date]:
    """Every UTC day from `start`'s to the one before `end`'s (the chart's x axis)."""
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC)
    days, day = [], first
    while day <= last.date():
        days.append(day)
        day += timedelta(days=1)
    return days
