"""Monthly generation quota: reserve one unit atomically, refund it when a call fails.

Quota periods are PromptGen's own, monthly whatever the billing interval: cycles anchored
at the start of the user's (latest) paid subscription, which invoices never move (a yearly
plan still resets every month), calendar months for a user who never paid. The first
reservation of a new period resets the count, in the same UPDATE.

The limit follows the subscription's status (`subscriptions.is_entitled`): the plan's quota
while active, trialing or past_due within the grace period, the Free quota otherwise.

A unit is held by a pending history row (`quota_reserved`), so a crashed process's unit
can be found and given back. On PostgreSQL both moves run in SECURITY DEFINER functions
(promptgen.db_security), which compute the same period and limit in SQL: the user role
cannot write usage or the reservation flag itself. SQLite runs the statements from here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from promptgen.db import is_postgres, table_of
from promptgen.models import KeySource, PromptStatus, SubscriptionTier, UserPrompt, UserSubscription
from promptgen.periods import quota_period_start
from promptgen.services.plans import ENTITLED_STATUSES, free_tier
from promptgen.settings import get_settings

_subs = table_of(UserSubscription)
_tiers = table_of(SubscriptionTier)
_prompts = table_of(UserPrompt)


@dataclass(frozen=True)
class Reservation:
    user_id: uuid.UUID
    period_start: datetime
    used: int


def _anchor(*, session: Session, user_id: uuid.UUID) -> datetime | None:
    row = session.exec(
        select(UserSubscription.id, UserSubscription.quota_anchor).where(
            UserSubscription.user_id == user_id
        )
    ).first()
    if row is None:
        raise LookupError("user has no subscription row")
    return row[1]  # None (never paid): calendar months


def _entitled_quota(now: datetime, free_quota: int) -> sa.ColumnElement:
    """The monthly quota the row's status entitles it to, as SQL (one atomic UPDATE)."""
    grace_cutoff = now - timedelta(days=get_settings().past_due_grace_days)
    entitled = sa.or_(
        _subs.c.status.in_(sorted(ENTITLED_STATUSES)),
        sa.and_(
            _subs.c.status == "past_due",
            sa.func.coalesce(_subs.c.past_due_since, now) > grace_cutoff,
        ),
    )
    plan = sa.select(_tiers.c.monthly_quota).where(_tiers.c.id == _subs.c.tier_id)
    return sa.case((entitled, plan.scalar_subquery()), else_=sa.literal(free_quota))


def current_period_start(
    *, session: Session, user_id: uuid.UUID, now: datetime | None = None
) -> datetime:
    """The user's current quota period start."""
    return quota_period_start(
        now=now or datetime.now(UTC), anchor=_anchor(session=session, user_id=user_id)
    )


def reserve_quota(
    *,
    session: Session,
    user_id: uuid.UUID,
    now: datetime | None = None,
    prompt_id: uuid.UUID | None = None,
) -> Reservation | None:
    """Take one unit of this period's quota, or None when it is used up. With `prompt_id`
    (a pending history row of the user's) the row is marked as holding the unit.

    One conditional UPDATE: the database re-checks the condition against the latest
    row under concurrent updates, so parallel requests can never overshoot.
    """
    if is_postgres(session):
        row = session.execute(
            sa.text(
                "SELECT used, period_start FROM promptgen_reserve_quota(:user_id, :prompt_id, :now)"
            ),
            {"user_id": user_id, "prompt_id": prompt_id, "now": now},
        ).first()
        if row is None:
            return None
        return Reservation(user_id=user_id, period_start=row.period_start, used=row.used)
    now = now or datetime.now(UTC)
    period = current_period_start(session=session, user_id=user_id, now=now)
    stale = sa.or_(_subs.c.usage_period_start.is_(None), _subs.c.usage_period_start < period)
    quota = _entitled_quota(now, free_tier(session).monthly_quota)
    statement = (
        sa.update(_subs)
        .where(
            _subs.c.user_id == user_id,
            # A stale count restarts at 1, which a zero quota must still refuse.
            sa.or_(sa.and_(stale, quota > 0), _subs.c.usage_count < quota),
        )
        .values(
            usage_count=sa.case((stale, 1), else_=_subs.c.usage_count + 1),
            usage_period_start=sa.case((stale, period), else_=_subs.c.usage_period_start),
            updated_at=now,
        )
        .returning(_subs.c.usage_count)
    )
    used = session.execute(statement).scalar_one_or_none()
    if used is None:
        return None
    if prompt_id is not None:
        session.execute(
            sa.update(_prompts)
            .where(_prompts.c.id == prompt_id, _prompts.c.user_id == user_id)
            .values(quota_reserved=True, key_source=KeySource.PLATFORM)
        )
    return Reservation(user_id=user_id, period_start=period, used=used)


def refund_reservation(*, session: Session, prompt_id: uuid.UUID) -> bool:
    """Give back the unit a still-pending history row holds, once. The unit belongs to the
    period the row was created in: once a new period began, there is nothing to give back."""
    if is_postgres(session):
        return bool(
            session.execute(
                sa.text("SELECT promptgen_refund_reservation(:prompt_id)"),
                {"prompt_id": prompt_id},
            ).scalar()
        )
    released = session.execute(
        sa.update(_prompts)
        .where(
            _prompts.c.id == prompt_id,
            _prompts.c.quota_reserved.is_(True),
            _prompts.c.status == PromptStatus.PENDING,
        )
        .values(quota_reserved=False)
        .returning(_prompts.c.user_id, _prompts.c.created_at)
    ).first()
    if released is None:
        return False
    session.execute(
        sa.update(_subs)
        .where(
            _subs.c.user_id == released.user_id,
            _subs.c.usage_count > 0,
            _subs.c.usage_period_start.is_not(None),
            _subs.c.usage_period_start <= released.created_at,
        )
        .values(usage_count=_subs.c.usage_count - 1)
    )
    return True
