"""Subscription sync: Stripe's truth applied to `user_subscriptions`, from signed webhooks
and from `python -m promptgen stripe sync`.

Stripe is the truth and events are only triggers. A verified event is recorded by id (a
replay changes nothing); then the user's `user_subscriptions` row is locked
(`SELECT ... FOR UPDATE`), the subscription is fetched from Stripe and that object is
applied. Delivery order, same-second ties and concurrent deliveries therefore cannot
matter: whoever holds the lock last reads Stripe's newest state. An event that cannot be
applied (unknown price or user, Stripe unreachable) raises `EventNotApplied` and is not
recorded, so Stripe retries it.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from sqlmodel import Session, col, select

from promptgen.audit import audit
from promptgen.db import insert_with_on_conflict, stored_id
from promptgen.models import StripeEvent, SubscriptionTier, User, UserSubscription
from promptgen.services.accounts import normalize_email
from promptgen.services.billing import (
    ENDED_STATUSES,
    BillingError,
    EventNotApplied,
    InvalidWebhook,
    list_subscriptions,
    retrieve_subscription,
    stripe_client,
    stripe_failure,
    stripe_get,
    subscription_row,
)
from promptgen.services.plans import free_tier
from promptgen.settings import Settings, get_settings

log = logging.getLogger(__name__)


def _customer_user(client: stripe.StripeClient, customer: str) -> str | None:
    try:
        data = stripe_get(client, f"/v1/customers/{customer}")
    except stripe.InvalidRequestError:
        return None
    return (data.get("metadata") or {}).get("user_id")


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
    outcome: str  # applied | unchanged | replayed | ignored


@dataclass(frozen=True)
class _Refs:
    """What an event points at: the subscription to fetch, and hints to find the user."""

    subscription_id: str
    customer_id: str | None
    user_hint: str | None


def _ts(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def _invoice_subscription(obj: dict) -> str | None:
    if obj.get("subscription"):  # API versions before basil
        return obj["subscription"]
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription")


def _event_refs(event_type: str, obj: dict) -> _Refs | None:
    """None for events that do not concern a subscription (answered 200, recorded)."""
    if event_type.startswith("customer.subscription."):
        return _Refs(
            obj.get("id") or "", obj.get("customer"), (obj.get("metadata") or {}).get("user_id")
        )
    if event_type.startswith("invoice."):
        subscription = _invoice_subscription(obj)
        if not subscription:
            return None
        details = (obj.get("parent") or {}).get("subscription_details") or {}
        hint = (details.get("metadata") or {}).get("user_id")
        return _Refs(subscription, obj.get("customer"), hint)
    if event_type in ("checkout.session.completed", "checkout.session.async_payment_succeeded"):
        if obj.get("mode") != "subscription" or not obj.get("subscription"):
            return None
        hint = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("user_id")
        return _Refs(obj["subscription"], obj.get("customer"), hint)
    return None


def _find_user(session: Session, client: stripe.StripeClient, refs: _Refs) -> uuid.UUID:
    """The user an event belongs to: by stored ids, the event's own hint, or the customer's
    metadata at Stripe. Raises EventNotApplied when nobody matches."""
    subs = UserSubscription
    if refs.customer_id:
        found = session.exec(
            select(subs.user_id).where(subs.stripe_customer_id == refs.customer_id)
        ).first()
        if found is not None:
            return found
    if refs.subscription_id:
        found = session.exec(
            select(subs.user_id).where(subs.stripe_subscription_id == refs.subscription_id)
        ).first()
        if found is not None:
            return found
    hints = [refs.user_hint]
    if refs.customer_id:
        hints.append(_customer_user(client, refs.customer_id))
    for hint in hints:
        try:
            user_id = uuid.UUID(str(hint)) if hint else None
        except ValueError:
            continue
        if user_id and session.exec(select(subs.user_id).where(subs.user_id == user_id)).first():
            return user_id
    log.error(
        "stripe subscription %s (customer %s) matches no user; not recorded, Stripe will retry",
        refs.subscription_id,
        refs.customer_id,
    )
    raise EventNotApplied(f"no user for customer {refs.customer_id}")


def _lock_by_customer(session: Session, customer_id: str | None) -> UserSubscription | None:
    """The common case in one statement: the customer we stored at the first upgrade."""
    if not customer_id:
        return None
    return session.exec(
        select(UserSubscription)
        .where(UserSubscription.stripe_customer_id == customer_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _first_item(subscription: dict) -> dict:
    items = (subscription.get("items") or {}).get("data") or []
    return items[0] if items else {}


def _period(subscription: dict) -> tuple[datetime | None, datetime | None]:
    # Newer API versions (basil and later) keep the period on the item, older ones on the
    # subscription; accept either.
    item = _first_item(subscription)
    start = item.get("current_period_start") or subscription.get("current_period_start")
    end = item.get("current_period_end") or subscription.get("current_period_end")
    return _ts(start), _ts(end)


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


_TRACKED = (
    "tier_id",
    "status",
    "billing_interval",
    "stripe_customer_id",
    "stripe_subscription_id",
    "current_period_start",
    "current_period_end",
    "cancel_at_period_end",
    "cancel_at",
    "past_due_since",
    "quota_anchor",
)


def _snapshot(row: UserSubscription) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _TRACKED}


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
    row.tier_id = stored_id(free_tier(session))
    row.status = "active"
    row.billing_interval = "month"
    row.stripe_subscription_id = None
    row.current_period_start = None
    row.current_period_end = None
    row.cancel_at_period_end = False
    row.cancel_at = None
    row.past_due_since = None
    # quota_anchor stays: the current monthly period keeps its dates and what was used in
    # it still counts (the documented downgrade rule).


def _apply_subscription(
    session: Session, row: UserSubscription, subscription: dict, *, now: datetime
) -> None:
    """Make the row say what `subscription` (as Stripe has it now) says."""
    if subscription.get("status") in ENDED_STATUSES:
        if row.stripe_subscription_id in (None, subscription["id"]):
            _drop_to_free(session, row)
        return
    price = _first_item(subscription).get("price") or {}
    found = _tier_for_price(session, price.get("id"))
    if found is None:
        log.error(
            "subscription %s has price %s, which matches no tier; not recorded, Stripe will "
            "retry (import the price with `python -m promptgen catalog import`)",
            subscription.get("id"),
            price.get("id"),
        )
        raise EventNotApplied(f"price {price.get('id')} matches no tier")
    tier, interval = found
    status = subscription.get("status") or "active"
    if row.stripe_subscription_id != subscription["id"] or row.quota_anchor is None:
        # A new subscription: its start is the quota boundary from now on. Plan changes
        # within one subscription (and their proration invoices) never move it.
        started = subscription.get("start_date") or subscription.get("created")
        row.quota_anchor = _ts(started) or row.quota_anchor or now
    start, end = _period(subscription)
    if status == "past_due":
        if row.status != "past_due" or row.past_due_since is None:
            row.past_due_since = now
    else:
        row.past_due_since = None
    row.tier_id = stored_id(tier)
    row.status = status
    row.billing_interval = (price.get("recurring") or {}).get("interval") or interval
    row.stripe_subscription_id = subscription["id"]
    row.stripe_customer_id = subscription.get("customer") or row.stripe_customer_id
    row.current_period_start = start
    row.current_period_end = end
    row.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    row.cancel_at = _ts(subscription.get("cancel_at"))


def _governing(row: UserSubscription, fetched: list[dict]) -> dict | None:
    """Of the subscriptions read from Stripe, the one the row should follow, or None.

    One live subscription per user: a second one is an error (logged; `stripe sync` lists
    it) and the row follows the paying, newest one. With none live, only the row's own
    subscription ending changes anything.
    """
    live = [s for s in fetched if s.get("status") not in ENDED_STATUSES]
    if len(live) > 1:
        log.error(
            "user %s has %d live Stripe subscriptions: %s",
            row.user_id,
            len(live),
            ", ".join(s["id"] for s in live),
        )
    if live:
        return max(live, key=lambda s: (s["status"] in ("active", "trialing"), s.get("created", 0)))
    return next((s for s in fetched if s["id"] == row.stripe_subscription_id), None)


def apply_event(
    *, session: Session, event: dict, settings: Settings | None = None, now: datetime | None = None
) -> AppliedEvent:
    """Apply one verified event in the caller's transaction; a replay changes nothing.

    The event's row is claimed first (INSERT ... ON CONFLICT DO NOTHING) and commits together
    with the change, so a recorded event is an applied one; a concurrent duplicate waits on
    the primary key until the first commits, then finds it recorded. Then the user's row is
    locked and the subscription read from Stripe under that lock.
    """
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    event_id, event_type = event["id"], event["type"]
    insert = insert_with_on_conflict(session)(StripeEvent).values(
        id=event_id,
        type=event_type,
        created=_ts(event.get("created")) or now,
        received_at=now,
        processed_at=now,
    )
    claimed = session.execute(
        insert.on_conflict_do_nothing(index_elements=["id"]).returning(StripeEvent.id)
    ).first()
    if claimed is None:
        return AppliedEvent(event_id, None, False, "replayed")
    refs = _event_refs(event_type, event["data"]["object"])
    if refs is None or not refs.subscription_id:
        log.info("stripe event %s (%s) ignored", event_id, event_type)
        return AppliedEvent(event_id, None, False, "ignored")
    try:
        client = stripe_client(settings)
    except BillingError as exc:
        raise EventNotApplied(exc.message) from None
    try:
        row = _lock_by_customer(session, refs.customer_id)
        if row is None:
            try:
                user_id = _find_user(session, client, refs)
            except EventNotApplied:
                # Nobody matches. If Stripe says the subscription has ended (an account
                # deleted after its cancellation, say), there is nothing to apply, ever:
                # recorded, and answered 200 so Stripe stops retrying. Otherwise retry.
                subscription = retrieve_subscription(client, refs.subscription_id)
                if subscription.get("status") in ENDED_STATUSES:
                    log.info("stripe event %s: ended subscription of no user", event_id)
                    return AppliedEvent(event_id, None, False, "ignored")
                raise
            row = subscription_row(session, user_id, lock=True)
        user_id = row.user_id
        before = _snapshot(row)
        plan_before = _plan_of(row)
        fetched = [retrieve_subscription(client, refs.subscription_id)]
        current = row.stripe_subscription_id
        if (
            current
            and current != refs.subscription_id
            and fetched[0]["status"] not in ENDED_STATUSES
        ):
            fetched.append(retrieve_subscription(client, current))
    except stripe.StripeError as exc:
        raise EventNotApplied(f"Stripe answered {type(exc).__name__}") from None
    chosen = _governing(row, fetched)
    if chosen is not None:
        _apply_subscription(session, row, chosen, now=now)
        _audit_plan_change(session, row, plan_before, event_type)
    if row.stripe_customer_id is None and refs.customer_id:
        row.stripe_customer_id = refs.customer_id
    changed = _snapshot(row) != before
    if changed:
        row.last_stripe_event_at = now
        row.updated_at = now
        session.add(row)
        session.flush()
    return AppliedEvent(event_id, user_id, changed, "applied" if changed else "unchanged")


# --- Repair ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncResult:
    """What `sync_user` found at Stripe and changed."""

    user_id: uuid.UUID
    changes: dict[str, tuple[Any, Any]]
    live_subscriptions: list[str]
    note: str = ""


def sync_user(
    *, session: Session, user_id: uuid.UUID, settings: Settings | None = None
) -> SyncResult:
    """Re-read the user's subscriptions from Stripe and apply them (what dj-stripe's sync
    does): every subscription of their customer, and the one the row names."""
    client = stripe_client(settings or get_settings())
    row = subscription_row(session, user_id, lock=True)
    before = _snapshot(row)
    if not row.stripe_customer_id and not row.stripe_subscription_id:
        return SyncResult(user_id, {}, [], "no Stripe customer")
    try:
        fetched = (
            list_subscriptions(client, row.stripe_customer_id) if row.stripe_customer_id else []
        )
        if row.stripe_subscription_id and all(
            s["id"] != row.stripe_subscription_id for s in fetched
        ):
            fetched.append(retrieve_subscription(client, row.stripe_subscription_id))
    except stripe.StripeError as exc:
        raise stripe_failure(exc) from None
    live = [s["id"] for s in fetched if s.get("status") not in ENDED_STATUSES]
    chosen = _governing(row, fetched)
    note = ""
    if chosen is not None:
        try:
            _apply_subscription(session, row, chosen, now=datetime.now(UTC))
        except EventNotApplied as exc:
            note = str(exc)
    after = _snapshot(row)
    changes = {k: (before[k], after[k]) for k in _TRACKED if before[k] != after[k]}
    if changes:
        row.updated_at = datetime.now(UTC)
        session.add(row)
        session.flush()
    return SyncResult(user_id, changes, live, note)


@dataclass(frozen=True)
class SyncTarget:
    user_id: uuid.UUID
    email: str


def sync_targets(*, session: Session, email: str | None = None) -> list[SyncTarget]:
    """Who `stripe sync` reads: one user by email, or every user Stripe knows."""
    statement = select(User.id, User.email).join(
        UserSubscription, col(UserSubscription.user_id) == User.id
    )
    if email is not None:
        statement = statement.where(User.email == normalize_email(email))
    else:
        statement = statement.where(
            col(UserSubscription.stripe_customer_id).is_not(None)
            | col(UserSubscription.stripe_subscription_id).is_not(None)
        )
    return [SyncTarget(u, e) for u, e in session.exec(statement.order_by(User.email)).all()]


def describe_sync(*, session: Session, result: SyncResult) -> str:
    """One line per user for the operator: what changed, from what to what."""
    tiers = {t.id: t.slug for t in session.exec(select(SubscriptionTier)).all()}
    parts = []
    for name, (old, new) in result.changes.items():
        if name == "tier_id":
            name, old, new = "plan", tiers.get(old, old), tiers.get(new, new)
        if isinstance(old, datetime):
            old = old.strftime("%Y-%m-%d %H:%M")
        if isinstance(new, datetime):
            new = new.strftime("%Y-%m-%d %H:%M")
        parts.append(f"{name} {old} -> {new}")
    return "; ".join(parts) if parts else "unchanged"
