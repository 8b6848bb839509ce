"""The signed-in user's plan, entitlements and usage, as the pages show them.

Entitlements follow the subscription's status: active and trialing get the plan's limits;
past_due keeps them for `PAST_DUE_GRACE_DAYS` after it was first seen, then has Free limits;
unpaid, paused and incomplete have Free limits while the plan's name stays shown with a way
to fix the payment. Ended subscriptions (canceled, incomplete_expired) are back on Free.

Usage already spent in the current monthly period always counts, also after a downgrade:
the period keeps its dates, and when the count is above the new limit, the platform key is
unavailable until the period's next boundary (the user's own keys still work).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from promptgen.models import SubscriptionTier, UserSubscription
from promptgen.periods import add_months, quota_period_start
from promptgen.settings import get_settings

# The catalog's free tier: new accounts start on it, ended subscriptions return to it.
FREE_SLUG = "free"


def free_tier(session: Session) -> SubscriptionTier:
    """The plan every new account starts on, and every ended subscription returns to."""
    tier = session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == FREE_SLUG)).first()
    if tier is None:
        tier = session.exec(
            select(SubscriptionTier)
            .where(col(SubscriptionTier.is_active).is_(True))
            .order_by(col(SubscriptionTier.sort_order), col(SubscriptionTier.id))
        ).first()
    if tier is None:
        raise RuntimeError("catalog not seeded: run python -m promptgen seed")
    return tier


ENTITLED_STATUSES = frozenset({"active", "trialing"})
# Statuses where the plan is kept but the payment needs the user: shown with a portal link.
PAYMENT_ISSUE_STATUSES = frozenset({"past_due", "unpaid", "paused", "incomplete"})


def is_entitled(
    *, status: str, past_due_since: datetime | None, now: datetime, grace_days: int
) -> bool:
    """Whether a subscription in `status` gets its plan's limits (pure; see module doc)."""
    if status in ENTITLED_STATUSES:
        return True
    if status == "past_due":
        since = past_due_since or now
        return now < since + timedelta(days=grace_days)
    return False


_STATUS_LABELS = {
    "past_due": "Past due",
    "unpaid": "Unpaid",
    "paused": "Paused",
    "incomplete": "Payment incomplete",
}


def plan_status_label(*, status: str, cancelling: bool, ends_on: str) -> str:
    """What the plan badge says beside the plan's name: "" when all is well, else the
    payment problem first, then a scheduled end, then a trial."""
    if status in _STATUS_LABELS:
        return _STATUS_LABELS[status]
    if cancelling and ends_on:
        return f"Ends on {ends_on}"
    if status == "trialing":
        return "Trial"
    return ""


@dataclass(frozen=True)
class PlanSummary:
    tier_slug: str
    tier_name: str
    status: str
    billing_interval: str
    usage_count: int
    # The limit that applies now (the Free one when the status does not entitle the plan).
    monthly_quota: int
    plan_quota: int
    cancel_at_period_end: bool
    entitled: bool
    # The tier whose limits and models apply now.
    entitled_slug: str
    ends_on: datetime | None
    usage_resets_on: datetime
    grace_ends_on: datetime | None

    @property
    def payment_issue(self) -> bool:
        return self.status in PAYMENT_ISSUE_STATUSES

    @property
    def is_free(self) -> bool:
        """On the free tier (by slug: display names are the catalog's to change)."""
        return self.tier_slug == FREE_SLUG

    @property
    def is_paid(self) -> bool:
        return not self.is_free


def get_plan_summary(
    *, session: Session, user_id: uuid.UUID, now: datetime | None = None
) -> PlanSummary | None:
    """The user's tier, status, entitlements and usage in the current quota period."""
    now = now or datetime.now(UTC)
    row = session.exec(
        select(UserSubscription, SubscriptionTier)
        .join(SubscriptionTier, col(SubscriptionTier.id) == UserSubscription.tier_id)
        .where(UserSubscription.user_id == user_id)
    ).first()
    if row is None:
        return None
    subscription, tier = row
    grace_days = get_settings().past_due_grace_days
    entitled = is_entitled(
        status=subscription.status,
        past_due_since=subscription.past_due_since,
        now=now,
        grace_days=grace_days,
    )
    limits = tier if entitled else free_tier(session)
    anchor = subscription.quota_anchor
    period = quota_period_start(now=now, anchor=anchor)
    resets = add_months(anchor, _months_between(anchor, period) + 1) if anchor else None
    if resets is None:
        resets = add_months(period, 1)
    # A count from an earlier period no longer applies; the next reservation resets it.
    stale = subscription.usage_period_start is None or subscription.usage_period_start < period
    ends_on = subscription.cancel_at
    if ends_on is None and subscription.cancel_at_period_end:
        ends_on = subscription.current_period_end
    grace_ends = None
    if subscription.status == "past_due":
        grace_ends = (subscription.past_due_since or now) + timedelta(days=grace_days)
    return PlanSummary(
        tier_slug=tier.slug,
        tier_name=tier.name,
        status=subscription.status,
        billing_interval=subscription.billing_interval,
        usage_count=0 if stale else subscription.usage_count,
        monthly_quota=limits.monthly_quota,
        plan_quota=tier.monthly_quota,
        cancel_at_period_end=subscription.cancel_at_period_end,
        entitled=entitled,
        entitled_slug=limits.slug,
        ends_on=ends_on,
        usage_resets_on=resets,
        grace_ends_on=grace_ends,
    )


def _months_between(anchor: datetime, period: datetime) -> int:
    anchor, period = anchor.astimezone(UTC), period.astimezone(UTC)
    return (period.year - anchor.year) * 12 + (period.month - anchor.month)
