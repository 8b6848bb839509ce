"""The signed-in user's plan and usage, as the pages show it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlmodel import Session, select

from promptgen.models import SubscriptionTier, UserSubscription
from promptgen.periods import quota_period_start


@dataclass(frozen=True)
class PlanSummary:
    tier_slug: str
    tier_name: str
    status: str
    billing_interval: str
    usage_count: int
    monthly_quota: int
    cancel_at_period_end: bool


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
    anchor = subscription.current_period_start if subscription.stripe_subscription_id else None
    period = quota_period_start(now=now or datetime.now(UTC), anchor=anchor)
    # A count from an earlier period no longer applies; the next reservation resets it.
    stale = subscription.usage_period_start is None or subscription.usage_period_start < period
    return PlanSummary(
        tier_slug=tier.slug,
        tier_name=tier.name,
        status=subscription.status,
        billing_interval=subscription.billing_interval,
        usage_count=0 if stale else subscription.usage_count,
        monthly_quota=tier.monthly_quota,
        cancel_at_period_end=subscription.cancel_at_period_end,
    )
