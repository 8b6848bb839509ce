"""Billing: Stripe Checkout and the Customer Portal out, signed webhooks in.

The database changes only when a verified webhook arrives (`apply_event`); starting a
checkout changes nothing locally. Only this module and the webhook route import stripe.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlmodel import Session, select

from promptgen.audit import audit
from promptgen.db import insert_with_on_conflict
from promptgen.models import StripeEvent, SubscriptionTier, UserSubscription
from promptgen.services.accounts import free_tier
from promptgen.settings import Settings, get_settings

log = logging.getLogger(__name__)

NOT_CONFIGURED = "Billing is not configured on this server."
PAID_STATUSES = {"active", "trialing", "past_due", "unpaid", "paused", "incomplete"}
ENDED_STATUSES = {"canceled", "incomplete_expired"}


class BillingError(Exception):
    """A billing action that cannot go ahead; `message` is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidWebhook(ValueError):
    """A webhook that is not a genuine Stripe event (bad signature or body): answer 400."""


def billing_configured(settings: Settings | None = None) -> bool:
    return bool((settings or get_settings()).stripe_secret_key)


def _client(settings: Settings) -> stripe.StripeClient:
    if not settings.stripe_secret_key:
        raise BillingError(NOT_CONFIGURED)
    options: dict[str, Any] = {"max_network_retries": 1}
    if settings.stripe_api_base:
        options["base_addresses"] = {"api": settings.stripe_api_base}
    return stripe.StripeClient(settings.stripe_secret_key, **options)


def _subscription_row(session: Session, user_id: uuid.UUID) -> UserSubscription:
    return session.exec(select(UserSubscription).where(UserSubscription.user_id == user_id)).one()


def _stripe_failure(exc: stripe.StripeError) -> BillingError:
    log.warning("stripe request failed: %s", type(exc).__name__)
    return BillingError("Stripe could not be reached just now. Please try again in a minute.")


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
    Portal when the user already pays (a second Checkout would bill them twice)."""
    settings = settings or get_settings()
    client = _client(settings)
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
        raise BillingError(f"{tier.name} cannot be bought {interval}ly on this server yet.")
    row = _subscription_row(session, user_id)
    if row.stripe_subscription_id and row.status not in ENDED_STATUSES:
        return open_portal(session=session, user_id=user_id, settings=settings)
    params: dict[str, Any] = {
        "mode": "subscription",
        "line_items": [{"price": price_id, "quantity": 1}],
        "client_reference_id": str(user_id),
        "metadata": {"user_id": str(user_id), "tier": tier.slug},
        "subscription_data": {"metadata": {"user_id": str(user_id)}},
        "success_url": f"{settings.app_url}/settings?checkout=success",
        "cancel_url": f"{settings.app_url}/pricing?checkout=cancelled",
    }
    if row.stripe_customer_id:
        params["customer"] = row.stripe_customer_id
    else:
        params["customer_email"] = email
    try:
        checkout = client.v1.checkout.sessions.create(params=params)
    except stripe.StripeError as exc:
        raise _stripe_failure(exc) from None
    return checkout.url


def open_portal(*, session: Session, user_id: uuid.UUID, settings: Settings | None = None) -> str:
    """A Customer Portal session URL for managing payment methods, plan and cancellation."""
    settings = settings or get_settings()
    client = _client(settings)
    row = _subscription_row(session, user_id)
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
        raise _stripe_failure(exc) from None
    return portal.url


def cancel_subscription(
    *, session: Session, user_id: uuid.UUID, settings: Settings | None = None
) -> bool:
    """Cancel the user's Stripe subscription at once (account deletion). False if none."""
    row = _subscription_row(session, user_id)
    if not row.stripe_subscription_id or row.status in ENDED_STATUSES:
        return False
    client = _client(settings or get_settings())
    try:
        client.v1.subscriptions.cancel(row.stripe_subscription_id)
    except stripe.InvalidRequestError as exc:
        if getattr(exc, "code", None) != "resource_missing":
            raise _stripe_failure(exc) from None
    except stripe.StripeError as exc:
        raise _stripe_failure(exc) from None
    return True


# --- Webhooks -------------------------------------------------------------------------


def verify_event(payload: bytes, signature: str | None, settings: Settings | None = None) -> dict:
    """The event, if the Stripe-Signature header is genuine (Stripe's default tolerance)."""
    settings = settings or get_settings()
    if not settings.stripe_webhook_secret:
        raise BillingError("STRIPE_WEBHOOK_SECRET is not set.")
    if not signature:
        raise InvalidWebhook("missing Stripe-Signature header")
    try:
        # Stripe's own check (HMAC-SHA256, default 300 s tolerance). We parse the JSON
        # ourselves: building StripeObjects costs ~1.5 ms per event and we need a dict.
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature,
            settings.stripe_webhook_secret,
            stripe.Webhook.DEFAULT_TOLERANCE,
        )
        data = json.loads(payload)
    except stripe.SignatureVerificationError:
        raise InvalidWebhook("signature does not verify") from None
    except (UnicodeDecodeError, ValueError):
        raise InvalidWebhook("body is not a Stripe event") from None
    if not isinstance(data, dict):
        raise InvalidWebhook("body is not a Stripe event")
    if not isinstance(data.get("id"), str) or not isinstance(data.get("type"), str):
        raise InvalidWebhook("body is not a Stripe event")
    if not isinstance(data.get("data"), dict) or not isinstance(data["data"].get("object"), dict):
        raise InvalidWebhook("event has no data.object")
    return data


@dataclass(frozen=True)
class AppliedEvent:
    """What a webhook did: whose subscription changed (if any), and why not otherwise."""

    event_id: str
    user_id: uuid.UUID | None
    changed: bool
    outcome: str  # applied | replayed | stale | ignored | unknown_price | unknown_user


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _find_row(
    session: Session,
    *,
    subscription_id: str | None = None,
    customer_id: str | None = None,
    user_id: str | None = None,
) -> UserSubscription | None:
    if subscription_id:
        row = session.exec(
            select(UserSubscription).where(
                UserSubscription.stripe_subscription_id == subscription_id
            )
        ).first()
        if row is not None:
            return row
    if customer_id:
        row = session.exec(
            select(UserSubscription).where(UserSubscription.stripe_customer_id == customer_id)
        ).first()
        if row is not None:
            return row
    if user_id:
        try:
            parsed = uuid.UUID(str(user_id))
        except ValueError:
            return None
        return session.exec(
            select(UserSubscription).where(UserSubscription.user_id == parsed)
        ).first()
    return None


def _is_stale(row: UserSubscription, created: datetime) -> bool:
    # Stripe delivers out of order and more than once: never apply older over newer.
    return row.last_stripe_event_at is not None and created < row.last_stripe_event_at


def _tier_for_price(session: Session, price_id: str | None) -> tuple[SubscriptionTier, str] | None:
    if not price_id:
        return None
    tier = session.exec(
        select(SubscriptionTier).where(
            (SubscriptionTier.stripe_price_monthly_id == price_id)
            | (SubscriptionTier.stripe_price_yearly_id == price_id)
        )
    ).first()
    if tier is None:
        return None
    return tier, "month" if tier.stripe_price_monthly_id == price_id else "year"


def _first_item(subscription: dict) -> dict:
    items = (subscription.get("items") or {}).get("data") or []
    return items[0] if items else {}


def _period(subscription: dict) -> tuple[datetime | None, datetime | None]:
    # Newer API versions keep the period on the item, older ones on the subscription.
    item = _first_item(subscription)
    start = subscription.get("current_period_start") or item.get("current_period_start")
    end = subscription.get("current_period_end") or item.get("current_period_end")
    return _ts(start), _ts(end)


def _plan_of(row: UserSubscription) -> tuple[object, str, str]:
    return (row.tier_id, row.status, row.billing_interval)


def _audit_plan_change(
    session: Session, row: UserSubscription, before: tuple[object, str, str], source: str
) -> None:
    """One audit line when the tier, status or interval of a subscription changed."""
    after = _plan_of(row)
    if after == before:
        return
    old_tier = session.get(SubscriptionTier, before[0]) if before[0] is not None else None
    new_tier = session.get(SubscriptionTier, after[0]) if after[0] is not None else None
    audit(
        "plan_changed",
        user=row.user_id,
        tier_from=old_tier.slug if old_tier else None,
        tier_to=new_tier.slug if new_tier else None,
        status_from=before[1],
        status_to=after[1],
        interval=after[2],
        source=source,
    )


def _drop_to_free(session: Session, row: UserSubscription) -> None:
    row.tier_id = free_tier(session).id
    row.status = "active"
    row.billing_interval = "month"
    row.stripe_subscription_id = None
    row.current_period_start = None
    row.current_period_end = None
    row.cancel_at_period_end = False
    # Free counts calendar months from here on; what was used this month still counts.


def _on_checkout_completed(session: Session, obj: dict, created: datetime) -> AppliedEvent:
    user_ref = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("user_id")
    row = _find_row(session, user_id=user_ref, customer_id=obj.get("customer"))
    if row is None:
        return AppliedEvent("", None, False, "unknown_user")
    if obj.get("customer"):
        row.stripe_customer_id = obj["customer"]
    # The subscription's own events set the tier; here we only link the ids, and only a
    # subscription not already replaced by a newer one.
    if obj.get("subscription") and not row.stripe_subscription_id:
        row.stripe_subscription_id = obj["subscription"]
    session.add(row)
    return AppliedEvent("", row.user_id, True, "applied")


def _on_subscription(
    session: Session, event_type: str, obj: dict, created: datetime
) -> AppliedEvent:
    row = _find_row(
        session,
        subscription_id=obj.get("id"),
        customer_id=obj.get("customer"),
        user_id=(obj.get("metadata") or {}).get("user_id"),
    )
    if row is None:
        log.warning("subscription %s matches no user", obj.get("id"))
        return AppliedEvent("", None, False, "unknown_user")
    if _is_stale(row, created):
        return AppliedEvent("", row.user_id, False, "stale")
    # An older subscription of this customer ending must not drop a newer one.
    replaced = row.stripe_subscription_id and row.stripe_subscription_id != obj.get("id")
    if replaced and (event_type.endswith(".deleted") or obj.get("status") in ENDED_STATUSES):
        return AppliedEvent("", row.user_id, False, "ignored")
    status = obj.get("status") or "active"
    before = _plan_of(row)
    if event_type.endswith(".deleted") or status in ENDED_STATUSES:
        _drop_to_free(session, row)
    else:
        price = _first_item(obj).get("price") or {}
        found = _tier_for_price(session, price.get("id"))
        if found is None:
            log.error(
                "subscription %s has price %s, which matches no tier; row left unchanged",
                obj.get("id"),
                price.get("id"),
            )
            return AppliedEvent("", row.user_id, False, "unknown_price")
        tier, interval = found
        start, end = _period(obj)
        row.tier_id = tier.id
        row.status = status
        row.billing_interval = (price.get("recurring") or {}).get("interval") or interval
        row.stripe_subscription_id = obj.get("id")
        row.stripe_customer_id = obj.get("customer") or row.stripe_customer_id
        row.current_period_start = start
        row.current_period_end = end
        row.cancel_at_period_end = bool(obj.get("cancel_at_period_end"))
    _audit_plan_change(session, row, before, event_type)
    row.last_stripe_event_at = created
    row.updated_at = datetime.now(UTC)
    session.add(row)
    return AppliedEvent("", row.user_id, True, "applied")


def _invoice_subscription(obj: dict) -> str | None:
    if obj.get("subscription"):
        return obj["subscription"]
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def _on_invoice(session: Session, event_type: str, obj: dict, created: datetime) -> AppliedEvent:
    subscription_id = _invoice_subscription(obj)
    row = _find_row(session, subscription_id=subscription_id, customer_id=obj.get("customer"))
    if row is None or (subscription_id and row.stripe_subscription_id != subscription_id):
        return AppliedEvent("", row.user_id if row else None, False, "unknown_user")
    if _is_stale(row, created):
        return AppliedEvent("", row.user_id, False, "stale")
    before = _plan_of(row)
    if event_type == "invoice.payment_failed":
        row.status = "past_due"
    else:
        lines = (obj.get("lines") or {}).get("data") or []
        period = (lines[0].get("period") if lines else None) or {}
        start, end = _ts(period.get("start")), _ts(period.get("end"))
        if start and (row.current_period_start is None or start > row.current_period_start):
            # A new billing period: the quota starts again. (A yearly plan also resets
            # monthly, anchored at this start; see promptgen.periods.)
            row.current_period_start, row.current_period_end = start, end
            row.usage_count = 0
            row.usage_period_start = None
        if row.status in ("past_due", "unpaid"):
            row.status = "active"
    _audit_plan_change(session, row, before, event_type)
    row.last_stripe_event_at = created
    row.updated_at = datetime.now(UTC)
    session.add(row)
    return AppliedEvent("", row.user_id, True, "applied")


_HANDLERS = {
    "checkout.session.completed": lambda s, t, o, c: _on_checkout_completed(s, o, c),
    "customer.subscription.created": _on_subscription,
    "customer.subscription.updated": _on_subscription,
    "customer.subscription.deleted": _on_subscription,
    "invoice.paid": _on_invoice,
    "invoice.payment_failed": _on_invoice,
}


def apply_event(*, session: Session, event: dict) -> AppliedEvent:
    """Apply one verified event in the caller's transaction; a replay changes nothing.

    The event's row is claimed first (INSERT ... ON CONFLICT DO NOTHING) and commits together
    with the change, so a recorded event is an applied one; a concurrent duplicate waits on
    the primary key until the first commits, then finds it recorded.
    """
    event_id, event_type = event["id"], event["type"]
    created = _ts(event.get("created")) or datetime.now(UTC)
    now = datetime.now(UTC)
    insert = insert_with_on_conflict(session)(StripeEvent).values(
        id=event_id, type=event_type, created=created, received_at=now, processed_at=now
    )
    claimed = session.execute(
        insert.on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id)
    ).first()
    if claimed is None:
        return AppliedEvent(event_id, None, False, "replayed")
    handler = _HANDLERS.get(event_type)
    if handler is None:
        log.info("stripe event %s (%s) ignored", event_id, event_type)
        return AppliedEvent(event_id, None, False, "ignored")
    outcome = handler(session, event_type, event["data"]["object"], created)
    session.flush()
    return AppliedEvent(event_id, outcome.user_id, outcome.changed, outcome.outcome)
