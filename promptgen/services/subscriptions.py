"""The signed-in user's plan and usage, as the pages show it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from promptgen.models import SubscriptionTier, UserSubscription


@dataclass(frozen=True)
class PlanSummary:
    tier_slug: str
    tier_name: str
    status: str
    billing_interval: str
    usage_count: int
    monthly_quota: int
    cancel_at_period_end: bool


def calendar_month_start(now: datetime) -> datetime:
    """The first instant of `now`'s month in UTC (the Free plan's quota period)."""
    now = now.astimezone(UTC)
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def get_plan_summary(
    *, session: Session, user_id: uuid.UUID, now: datetime | None = None
) -> PlanSummary | None:
    """The user's tier, status and usage in the current quota period."""
    row = session.exec(
        select(UserSubscription, SubscriptionTier)
        .join(SubscriptionTier, SubscriptionTier.id == UserSubscription.tier_id)
        .where(UserSubscription.user_id == user_id)
    ).first()
    if row is None:
        return None
    subscription, tier = row
    now = now or datetime.now(UTC)
    period_start = subscription.usage_period_start
    # A count from an earlier month no longer applies; the next generation resets it.
    stale = period_start is None or period_start < calendar_month_start(now)
    if subscription.current_period_start is not None:
        stale = period_start is None or period_start < subscription.current_period_start
    return PlanSummary(
        tier_slug=tier.slug,
        tier_name=tier.name,
        status=subscription.status,
        billing_interval=subscription.billing_interval,
        usage_count=0 if stale else subscription.usage_count,
        monthly_quota=tier.monthly_quota,
        cancel_at_period_end=subscription.cancel_at_period_end,
    )
