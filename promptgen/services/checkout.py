"""Checkout and the Customer Portal: sending the user to Stripe to pay, change or cancel.

Nothing here changes a plan: the subscription row follows Stripe only through
`services/subscription_sync.py` (webhooks and `stripe sync`).
"""

from __future__ import annotations

import hashlib
import logging
import uuid

import stripe
from sqlmodel import Session, select

from promptgen.models import SubscriptionTier
from promptgen.services.billing import (
    BILLING_STATUSES,
    ENDED_STATUSES,
    BillingError,
    list_subscriptions,
    stripe_client,
    stripe_failure,
    stripe_get,
    subscription_row,
)
from promptgen.settings import Settings, get_settings

log = logging.getLogger(__name__)


def ensure_customer(
    *, session: Session, user_id: uuid.UUID, email: str, settings: Settings | None = None
) -> str:
    """The user's Stripe customer id, created (with metadata.user_id) at the first upgrade.

    Call it in its own transaction before Checkout, so a failed Checkout cannot lose the
    customer. The idempotency key makes two concurrent first clicks create one customer.
    """
    client = stripe_client(settings or get_settings())
    row = subscription_row(session, user_id, lock=True)
    if row.stripe_customer_id:
        return row.stripe_customer_id
    try:
        customer = client.v1.customers.create(
            params={"email": email, "metadata": {"user_id": str(user_id)}},
            options={"idempotency_key": f"promptgen-customer-{user_id}"},
        )
    except stripe.StripeError as exc:
        raise stripe_failure(exc) from None
    row.stripe_customer_id = customer.id
    session.add(row)
    return customer.id


def _checkout_key(
    user_id: uuid.UUID, price_id: str, expired: list[str], subscriptions: list[str]
) -> str:
    # Same user, price, earlier sessions and subscriptions: the same key, so double clicks
    # (two tabs, a retried request) get one session from Stripe even if they were not
    # serialised here. The subscriptions count too: after a checkout completed and its
    # subscription ended, a new upgrade must not replay the completed session.
    seed = f"{user_id}|{price_id}|{','.join(sorted(expired))}|{','.join(sorted(subscriptions))}"
    return "promptgen-checkout-" + hashlib.sha256(seed.encode()).hexdigest()[:40]


def start_checkout(
    *,
    session: Session,
    user_id: uuid.UUID,
    email: str,
    tier_slug: str,
    interval: str,
    settings: Settings | None = None,
) -> str:
    """The URL to send the browser to: a Checkout Session for the plan, or the Customer
    Portal when the customer already has a live subscription at Stripe (a second Checkout
    would bill them twice).

    Under the row lock: the customer is created if needed and always passed to Checkout;
    an open session for the same price is reused, one for another price is expired first.
    """
    settings = settings or get_settings()
    client = stripe_client(settings)
    if interval not in ("month", "year"):
        raise BillingError("Choose monthly or yearly billing.")
    tier = session.exec(
        select(SubscriptionTier).where(
            SubscriptionTier.slug == tier_slug, SubscriptionTier.is_active
        )
    ).first()
    if tier is None:
        raise BillingError("That plan is not available.")
    price_id = tier.stripe_price_monthly_id if interval == "month" else tier.stripe_price_yearly_id
    if not price_id:
        other = "yearly" if interval == "month" else "monthly"
        raise BillingError(f"{tier.name} cannot be bought {interval}ly yet. Try {other} billing.")
    customer = ensure_customer(session=session, user_id=user_id, email=email, settings=settings)
    try:
        every = list_subscriptions(client, customer)
        live = [s["id"] for s in every if s["status"] in BILLING_STATUSES]
        if len(live) > 1:
            log.error("user %s has %d live subscriptions: %s", user_id, len(live), live)
        if live:
            return open_portal(session=session, user_id=user_id, settings=settings)
        open_sessions = stripe_get(
            client, "/v1/checkout/sessions", customer=customer, status="open", limit=100
        ).get("data", [])
        expired: list[str] = []
        for earlier in open_sessions:
            if (earlier.get("metadata") or {}).get("price_id") == price_id and earlier.get("url"):
                return earlier["url"]
            client.v1.checkout.sessions.expire(earlier["id"])
            expired.append(earlier["id"])
        checkout = client.v1.checkout.sessions.create(
            params={
                "mode": "subscription",
                "customer": customer,
                "line_items": [{"price": price_id, "quantity": 1}],
                "client_reference_id": str(user_id),
                "metadata": {"user_id": str(user_id), "tier": tier.slug, "price_id": price_id},
                "subscription_data": {"metadata": {"user_id": str(user_id)}},
                "success_url": f"{settings.app_url}/settings?checkout=success",
                "cancel_url": f"{settings.app_url}/pricing?checkout=cancelled",
            },
            options={
                "idempotency_key": _checkout_key(
                    user_id, price_id, expired, [s["id"] for s in every]
                )
            },
        )
    except stripe.StripeError as exc:
        raise stripe_failure(exc) from None
    if not checkout.url:
        # Stripe gives no URL for a session it made in another ui_mode; the user can retry.
        log.warning("stripe checkout session %s has no url", checkout.id)
        raise BillingError("Stripe did not open a checkout page. Please try again.")
    return checkout.url


def open_portal(*, session: Session, user_id: uuid.UUID, settings: Settings | None = None) -> str:
    """A Customer Portal session URL for managing payment methods, plan and cancellation."""
    settings = settings or get_settings()
    client = stripe_client(settings)
    row = subscription_row(session, user_id)
    if not row.stripe_customer_id:
        raise BillingError("You have no billing account yet. Choose a plan first.")
    try:
        portal = client.v1.billing_portal.sessions.create(
            params={
                "customer": row.stripe_customer_id,
                "return_url": f"{settings.app_url}/settings",
            }
        )
    except stripe.StripeError as exc:
        raise stripe_failure(exc) from None
    return portal.url


def cancel_subscription(
    *, session: Session, user_id: uuid.UUID, settings: Settings | None = None
) -> bool:
    """Cancel the user's Stripe subscription at once (account deletion). False if none."""
    row = subscription_row(session, user_id)
    if not row.stripe_subscription_id or row.status in ENDED_STATUSES:
        return False
    client = stripe_client(settings or get_settings())
    try:
        client.v1.subscriptions.cancel(row.stripe_subscription_id)
    except stripe.InvalidRequestError as exc:
        if getattr(exc, "code", None) != "resource_missing":
            raise stripe_failure(exc) from None
    except stripe.StripeError as exc:
        raise stripe_failure(exc) from None
    return True
