"""Subscription sync: Stripe's truth applied to `user_subscriptions`, from signed webhooks
and from `python -m promptgen stripe sync`.

Stripe is the truth and events are only triggers. A verified event is recorded by id (a
replay changes nothing); then the user's `user_subscriptions` row is locked
(`SELECT ... FOR UPDATE`), the subscription is fetched from Stripe and that object is
applied. Delivery order, same-second ties and concurrent deliveries therefore cannot
matter: whoever holds the lock last reads Stripe's newest state. An event that cannot be
applied (unknown price or user, Stripe unreachable) raises `EventNotApplied` and is not
recorded, so Stripe retries it.

Two ways in, one rule: `apply_event_async` is the webhook's path on PostgreSQL (psycopg's
async driver in pipeline mode and the async Stripe client, on the event loop: two round
trips and one Stripe read per event); `apply_event` is the same on SQLite, through the ORM
in a worker thread. What a row becomes is decided once, by `_apply_fetched`, on plain
values (`_Billing`), whichever way they were read.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
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
    async_stripe_client,
    list_subscriptions,
    retrieve_subscription,
    retrieve_subscription_async,
    stripe_client,
    stripe_failure,
    stripe_get,
    stripe_get_async,
    subscription_row,
)
from promptgen.services.plans import FREE_SLUG
from promptgen.settings import Settings, get_settings

log = logging.getLogger(__name__)


def _customer_user(client: stripe.StripeClient, customer: str) -> str | None:
    try:
        data = stripe_get(client, f"/v1/customers/{customer}")
    except stripe.InvalidRequestError:
        return None
    return (data.get("metadata") or {}).get("user_id")


async def _customer_user_async(client: stripe.StripeClient, customer: str) -> str | None:
    try:
        data = await stripe_get_async(client, f"/v1/customers/{customer}")
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


# --- The rule: what a row becomes, on plain values -----------------------------------

# The billing columns of `user_subscriptions` that Stripe's state decides.
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


@dataclass
class _Billing:
    """One user's billing columns (`_TRACKED`), read from a row and changed in place."""

    user_id: uuid.UUID
    tier_id: int
    status: str
    billing_interval: str
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    current_period_start: datetime | None
    current_period_end: datetime | None
    cancel_at_period_end: bool
    cancel_at: datetime | None
    past_due_since: datetime | None
    quota_anchor: datetime | None

    @classmethod
    def of(cls, row: UserSubscription) -> _Billing:
        return cls(row.user_id, *(getattr(row, name) for name in _TRACKED))

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _TRACKED)

    def write_to(self, row: UserSubscription) -> None:
        for name in _TRACKED:
            setattr(row, name, getattr(self, name))


@dataclass(frozen=True)
class _Tier:
    id: int
    slug: str
    monthly_price: str | None
    yearly_price: str | None
    is_active: bool


class _Tiers:
    """The plans, by id and by Stripe price (a handful of rows, read with the row lock)."""

    def __init__(self, tiers: Iterable[_Tier]) -> None:
        self._all = list(tiers)  # in the catalog's order (sort_order, id)
        self._slugs = {t.id: t.slug for t in self._all}

    def slug(self, tier_id: int | None) -> str | None:
        return self._slugs.get(tier_id) if tier_id is not None else None

    def for_price(self, price_id: str | None) -> tuple[int, str] | None:
        """The tier selling `price_id` and its interval, or None."""
        if not price_id:
            return None
        for tier in self._all:
            if price_id == tier.monthly_price:
                return tier.id, "month"
            if price_id == tier.yearly_price:
                return tier.id, "year"
        return None

    def free_id(self) -> int:
        """The plan an ended subscription returns to: the rule of `plans.free_tier`."""
        tier = next((t for t in self._all if t.slug == FREE_SLUG), None) or next(
            (t for t in self._all if t.is_active), None
        )
        if tier is None:
            raise RuntimeError("catalog not seeded: run python -m promptgen seed")
        return tier.id


def _read_tiers(session: Session) -> _Tiers:
    tier = SubscriptionTier
    rows = session.exec(select(tier).order_by(col(tier.sort_order), col(tier.id))).all()
    return _Tiers(
        _Tier(
            stored_id(t), t.slug, t.stripe_price_monthly_id, t.stripe_price_yearly_id, t.is_active
        )
        for t in rows
    )


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


def _drop_to_free(billing: _Billing, tiers: _Tiers) -> None:
    billing.tier_id = tiers.free_id()
    billing.status = "active"
    billing.billing_interval = "month"
    billing.stripe_subscription_id = None
    billing.current_period_start = None
    billing.current_period_end = None
    billing.cancel_at_period_end = False
    billing.cancel_at = None
    billing.past_due_since = None
    # quota_anchor stays: the current monthly period keeps its dates and what was used in
    # it still counts (the documented downgrade rule).


def _apply_subscription(
    billing: _Billing, subscription: dict, tiers: _Tiers, *, now: datetime
) -> None:
    """Make `billing` say what `subscription` (as Stripe has it now) says."""
    if subscription.get("status") in ENDED_STATUSES:
        if billing.stripe_subscription_id in (None, subscription["id"]):
            _drop_to_free(billing, tiers)
        return
    price = _first_item(subscription).get("price") or {}
    found = tiers.for_price(price.get("id"))
    if found is None:
        log.error(
            "subscription %s has price %s, which matches no tier; not recorded, Stripe will "
            "retry (import the price with `python -m promptgen catalog import`)",
            subscription.get("id"),
            price.get("id"),
        )
        raise EventNotApplied(f"price {price.get('id')} matches no tier")
    tier_id, interval = found
    status = subscription.get("status") or "active"
    if billing.stripe_subscription_id != subscription["id"] or billing.quota_anchor is None:
        # A new subscription: its start is the quota boundary from now on. Plan changes
        # within one subscription (and their proration invoices) never move it.
        started = subscription.get("start_date") or subscription.get("created")
        billing.quota_anchor = _ts(started) or billing.quota_anchor or now
    start, end = _period(subscription)
    if status == "past_due":
        if billing.status != "past_due" or billing.past_due_since is None:
            billing.past_due_since = now
    else:
        billing.past_due_since = None
    billing.tier_id = tier_id
    billing.status = status
    billing.billing_interval = (price.get("recurring") or {}).get("interval") or interval
    billing.stripe_subscription_id = subscription["id"]
    billing.stripe_customer_id = subscription.get("customer") or billing.stripe_customer_id
    billing.current_period_start = start
    billing.current_period_end = end
    billing.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    billing.cancel_at = _ts(subscription.get("cancel_at"))


def _governing(billing: _Billing, fetched: list[dict]) -> dict | None:
    """Of the subscriptions read from Stripe, the one the row should follow, or None.

    One live subscription per user: a second one is an error (logged; `stripe sync` lists
    it) and the row follows the paying, newest one. With none live, only the row's own
    subscription ending changes anything.
    """
    live = [s for s in fetched if s.get("status") not in ENDED_STATUSES]
    if len(live) > 1:
        log.error(
            "user %s has %d live Stripe subscriptions: %s",
            billing.user_id,
            len(live),
            ", ".join(s["id"] for s in live),
        )
    if live:
        return max(live, key=lambda s: (s["status"] in ("active", "trialing"), s.get("created", 0)))
    return next((s for s in fetched if s["id"] == billing.stripe_subscription_id), None)


def _apply_fetched(
    billing: _Billing,
    fetched: list[dict],
    tiers: _Tiers,
    *,
    customer_id: str | None,
    source: str,
    now: datetime,
) -> bool:
    """Apply what Stripe returned to `billing`, log a plan change as a security event, and
    say whether any column changed."""
    before = billing.values()
    plan_before = (billing.tier_id, billing.status, billing.billing_interval)
    chosen = _governing(billing, fetched)
    if chosen is not None:
        _apply_subscription(billing, chosen, tiers, now=now)
        plan_after = (billing.tier_id, billing.status, billing.billing_interval)
        if plan_after != plan_before:
            audit(
                "plan_changed",
                user=billing.user_id,
                tier_from=tiers.slug(plan_before[0]),
                tier_to=tiers.slug(plan_after[0]),
                status_from=plan_before[1],
                status_to=plan_after[1],
                interval=plan_after[2],
                source=source,
            )
    if billing.stripe_customer_id is None and customer_id:
        billing.stripe_customer_id = customer_id
    return billing.values() != before


def _second_read(billing: _Billing, refs: _Refs, first: dict) -> str | None:
    """The row's own subscription when the event names another, live one: both are read
    so that `_governing` can choose."""
    current = billing.stripe_subscription_id
    if current and current != refs.subscription_id and first["status"] not in ENDED_STATUSES:
        return current
    return None


def _no_user(refs: _Refs) -> EventNotApplied:
    log.error(
        "stripe subscription %s (customer %s) matches no user; not recorded, Stripe will retry",
        refs.subscription_id,
        refs.customer_id,
    )
    return EventNotApplied(f"no user for customer {refs.customer_id}")


def _hinted_user(hint: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(hint)) if hint else None
    except ValueError:
        return None


# --- The webhook on SQLite: the ORM in a worker thread --------------------------------


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
        user_id = _hinted_user(hint)
        if user_id and session.exec(select(subs.user_id).where(subs.user_id == user_id)).first():
            return user_id
    raise _no_user(refs)


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
        billing = _Billing.of(row)
        fetched = [retrieve_subscription(client, refs.subscription_id)]
        if second := _second_read(billing, refs, fetched[0]):
            fetched.append(retrieve_subscription(client, second))
    except stripe.StripeError as exc:
        raise EventNotApplied(f"Stripe answered {type(exc).__name__}") from None
    tiers = _read_tiers(session)
    changed = _apply_fetched(
        billing, fetched, tiers, customer_id=refs.customer_id, source=event_type, now=now
    )
    if changed:
        billing.write_to(row)
        row.last_stripe_event_at = now
        row.updated_at = now
        session.add(row)
        session.flush()
    return AppliedEvent(event_id, row.user_id, changed, "applied" if changed else "unchanged")


# --- The webhook on PostgreSQL: one pipelined transaction on the event loop ------------

# Statements over fixed column names (`_TRACKED`), never input: hence the S608 waivers.
_COLUMNS = ", ".join(("user_id", *_TRACKED))
_CLAIM = (
    "INSERT INTO stripe_events (id, type, created, received_at, processed_at) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id"
)
_LOCK_BY_CUSTOMER = (
    f"SELECT {_COLUMNS} FROM user_subscriptions "  # noqa: S608
    "WHERE stripe_customer_id = %s LIMIT 1 FOR UPDATE"
)
_LOCK_BY_USER = f"SELECT {_COLUMNS} FROM user_subscriptions WHERE user_id = %s FOR UPDATE"  # noqa: S608
_TIERS = (
    "SELECT id, slug, stripe_price_monthly_id, stripe_price_yearly_id, is_active "
    "FROM subscription_tiers ORDER BY sort_order, id"
)
_USER_BY_SUBSCRIPTION = (
    "SELECT user_id FROM user_subscriptions WHERE stripe_subscription_id = %s LIMIT 1"
)
_USER_EXISTS = "SELECT user_id FROM user_subscriptions WHERE user_id = %s"
_UPDATE = (
    "UPDATE user_subscriptions SET "  # noqa: S608
    + ", ".join(f"{name} = %s" for name in _TRACKED)
    + ", last_stripe_event_at = %s, updated_at = %s WHERE user_id = %s"
)


async def _find_user_async(
    conn: psycopg.AsyncConnection, client: stripe.StripeClient, refs: _Refs
) -> uuid.UUID:
    """`_find_user` for the async path (the stored customer was looked up already)."""
    if refs.subscription_id:
        cursor = await conn.execute(_USER_BY_SUBSCRIPTION, (refs.subscription_id,))
        if found := await cursor.fetchone():
            return found[0]
    hints = [refs.user_hint]
    if refs.customer_id:
        hints.append(await _customer_user_async(client, refs.customer_id))
    for hint in hints:
        user_id = _hinted_user(hint)
        if user_id and await (await conn.execute(_USER_EXISTS, (user_id,))).fetchone():
            return user_id
    raise _no_user(refs)


async def apply_event_async(
    *,
    conn: psycopg.AsyncConnection,
    event: dict,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> AppliedEvent:
    """`apply_event` on PostgreSQL, in the caller's transaction on `conn` (pipeline mode,
    `db.run_in_admin_transaction`): the same claim, lock, read and rule.

    The claim, the row lock by the stored customer and the plans go out in one round trip
    (with the caller's BEGIN); the subscription is read from Stripe under the lock; the
    UPDATE goes out with the caller's COMMIT. The claim comes before the lock, as in
    `apply_event`, so a transaction holding a row lock never waits for an event's key and
    duplicates cannot deadlock; a replay holds the row lock only until its commit, one round
    trip later.
    """
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    event_id, event_type = event["id"], event["type"]
    refs = _event_refs(event_type, event["data"]["object"])
    claim = await conn.execute(
        _CLAIM, (event_id, event_type, _ts(event.get("created")) or now, now, now)
    )
    wanted = refs is not None and bool(refs.subscription_id)
    locked = (
        await conn.execute(_LOCK_BY_CUSTOMER, (refs.customer_id,))
        if refs is not None and wanted and refs.customer_id
        else None
    )
    plans = await conn.execute(_TIERS) if wanted else None
    if await claim.fetchone() is None:  # the first fetch sends everything queued
        return AppliedEvent(event_id, None, False, "replayed")
    if refs is None or plans is None:
        log.info("stripe event %s (%s) ignored", event_id, event_type)
        return AppliedEvent(event_id, None, False, "ignored")
    try:
        client = async_stripe_client(settings)
    except BillingError as exc:
        raise EventNotApplied(exc.message) from None
    try:
        row = await locked.fetchone() if locked is not None else None
        if row is None:
            try:
                user_id = await _find_user_async(conn, client, refs)
            except EventNotApplied:
                # As in apply_event: an ended subscription of nobody is recorded, not retried.
                subscription = await retrieve_subscription_async(client, refs.subscription_id)
                if subscription.get("status") in ENDED_STATUSES:
                    log.info("stripe event %s: ended subscription of no user", event_id)
                    return AppliedEvent(event_id, None, False, "ignored")
                raise
            row = await (await conn.execute(_LOCK_BY_USER, (user_id,))).fetchone()
            if row is None:
                raise _no_user(refs)
        billing = _Billing(*row)
        fetched = [await retrieve_subscription_async(client, refs.subscription_id)]
        if second := _second_read(billing, refs, fetched[0]):
            fetched.append(await retrieve_subscription_async(client, second))
    except stripe.StripeError as exc:
        raise EventNotApplied(f"Stripe answered {type(exc).__name__}") from None
    tiers = _Tiers(_Tier(*tier) for tier in await plans.fetchall())
    changed = _apply_fetched(
        billing, fetched, tiers, customer_id=refs.customer_id, source=event_type, now=now
    )
    if changed:
        await conn.execute(_UPDATE, (*billing.values(), now, now, billing.user_id))
    return AppliedEvent(event_id, billing.user_id, changed, "applied" if changed else "unchanged")


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
    billing = _Billing.of(row)
    before = billing.values()
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
    chosen = _governing(billing, fetched)
    note = ""
    if chosen is not None:
        try:
            _apply_subscription(billing, chosen, _read_tiers(session), now=datetime.now(UTC))
        except EventNotApplied as exc:
            note = str(exc)
    after = billing.values()
    changes = {
        name: (old, new)
        for name, old, new in zip(_TRACKED, before, after, strict=True)
        if old != new
    }
    if changes:
        billing.write_to(row)
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
