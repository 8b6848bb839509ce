"""Test factories: users made through the real sign-up service, and a minimal catalog."""

from __future__ import annotations

from sqlmodel import Session, select

from promptgen.models import SubscriptionTier, UserSubscription
from promptgen.services.accounts import SignedIn, sign_up

DEFAULT_PASSWORD = "correct horse battery"

# A minimal tier set for tests (the real catalog lives in promptgen.services.catalog_import).
_TIERS = (
    {"slug": "free", "name": "Free", "monthly_quota": 10, "retention_days": 30, "sort_order": 0},
    {
        "slug": "pro",
        "name": "Pro",
        "monthly_quota": 500,
        "retention_days": 365,
        "price_monthly_cents": 1200,
        "price_yearly_cents": 12000,
        "sort_order": 1,
    },
    {
        "slug": "studio",
        "name": "Studio",
        "monthly_quota": 5000,
        "retention_days": 3650,
        "price_monthly_cents": 4900,
        "price_yearly_cents": 49000,
        "sort_order": 2,
    },
)


def ensure_tiers(session: Session) -> None:
    """Create free/pro/studio tiers when the tiers table is empty."""
    if session.exec(select(SubscriptionTier)).first() is not None:
        return
    for values in _TIERS:
        session.add(SubscriptionTier(**values))
    session.flush()


def make_user(
    session: Session,
    email: str = "user@example.com",
    password: str = DEFAULT_PASSWORD,
    tier_slug: str = "free",
) -> SignedIn:
    """A signed-up user (through `sign_up`), moved to `tier_slug` when it is not free."""
    ensure_tiers(session)
    signed_in = sign_up(session=session, email=email, password=password)
    if tier_slug != "free":
        tier = session.exec(
            select(SubscriptionTier).where(SubscriptionTier.slug == tier_slug)
        ).one()
        subscription = session.exec(
            select(UserSubscription).where(UserSubscription.user_id == signed_in.user_id)
        ).one()
        subscription.tier_id = tier.id
        session.add(subscription)
        session.flush()
    return signed_in
