"""Billing's common ground: the Stripe client, billing's errors and status sets, and
reads of Stripe's subscriptions.

Two services build on it: `services/checkout.py` sends the user out (Checkout, the
Customer Portal, cancelling at account deletion) and `services/subscription_sync.py`
brings Stripe's truth in (signed webhooks and `stripe sync`). Only these three modules and
the webhook route import stripe.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import uuid
import weakref
from typing import Any

import stripe
from sqlmodel import Session, select

from promptgen.errors import UserFacingError
from promptgen.models import UserSubscription
from promptgen.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Said to customers when this server takes no payments (no Stripe key): no operator jargon.
NOT_CONFIGURED = "Paid plans aren't open yet, so nothing was charged."
# A subscription that has ended; every other status is still live at Stripe.
ENDED_STATUSES = frozenset({"canceled", "incomplete_expired"})
# Live subscriptions that bill the customer: another Checkout would bill them twice.
BILLING_STATUSES = frozenset({"active", "trialing", "past_due", "unpaid", "paused"})
STRIPE_TIMEOUT_SECONDS = 20


class BillingError(UserFacingError):
    """A billing action that cannot go ahead; `message` is for the user."""


class InvalidWebhook(ValueError):
    """A webhook that is not a genuine Stripe event (bad signature or body): answer 400."""


class EventNotApplied(Exception):
    """A genuine event that could not be applied now (answer 5xx so Stripe retries)."""


def billing_configured(settings: Settings | None = None) -> bool:
    return bool((settings or get_settings()).stripe_secret_key)


@functools.lru_cache(maxsize=4)
def _cached_client(key: str, api_base: str | None) -> stripe.StripeClient:
    options: dict[str, Any] = {
        "max_network_retries": 1,
        # One pooled HTTP session per thread, and a bound on how long a row lock can wait.
        "http_client": stripe.RequestsClient(timeout=STRIPE_TIMEOUT_SECONDS),
    }
    if api_base:
        options["base_addresses"] = {"api": api_base}
    return stripe.StripeClient(key, **options)


def stripe_client(settings: Settings) -> stripe.StripeClient:
    if not settings.stripe_secret_key:
        raise BillingError(NOT_CONFIGURED)
    return _cached_client(settings.stripe_secret_key, settings.stripe_api_base)


# One async client per event loop (an httpx pool belongs to the loop that opened its
# connections), dropped with its loop.
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, str | None], stripe.StripeClient]
] = weakref.WeakKeyDictionary()


def async_stripe_client(settings: Settings) -> stripe.StripeClient:
    """A client for `raw_request_async` on the running event loop: one shared httpx pool
    whose connections stay open between requests, so a read is one request on an open
    connection (no thread, no TLS handshake)."""
    if not settings.stripe_secret_key:
        raise BillingError(NOT_CONFIGURED)
    clients = _async_clients.setdefault(asyncio.get_running_loop(), {})
    key = (settings.stripe_secret_key, settings.stripe_api_base)
    client = clients.get(key)
    if client is None:
        options: dict[str, Any] = {
            "max_network_retries": 1,
            "http_client": stripe.HTTPXClient(timeout=STRIPE_TIMEOUT_SECONDS),
        }
        if settings.stripe_api_base:
            options["base_addresses"] = {"api": settings.stripe_api_base}
        client = clients[key] = stripe.StripeClient(settings.stripe_secret_key, **options)
    return client


def stripe_get(client: stripe.StripeClient, path: str, **params: Any) -> dict[str, Any]:
    """A GET as a plain dict (building StripeObjects costs CPU we do not need)."""
    return json.loads(client.raw_request("get", path, **params).body)


async def stripe_get_async(client: stripe.StripeClient, path: str, **params: Any) -> dict[str, Any]:
    """`stripe_get` on the event loop (a client from `async_stripe_client`)."""
    return json.loads((await client.raw_request_async("get", path, **params)).body)


def subscription_row(session: Session, user_id: uuid.UUID, *, lock: bool = False):
    statement = select(UserSubscription).where(UserSubscription.user_id == user_id)
    if lock:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return session.exec(statement).one()


def stripe_failure(exc: stripe.StripeError) -> BillingError:
    log.warning("stripe request failed: %s", type(exc).__name__)
    return BillingError("Stripe could not be reached just now. Please try again in a minute.")


# --- Reading Stripe -------------------------------------------------------------------


def retrieve_subscription(client: stripe.StripeClient, subscription_id: str) -> dict[str, Any]:
    """The subscription as Stripe has it now; a deleted one reads as canceled."""
    try:
        return stripe_get(client, f"/v1/subscriptions/{subscription_id}")
    except stripe.InvalidRequestError as exc:
        if getattr(exc, "code", None) != "resource_missing":
            raise
        return {"id": subscription_id, "object": "subscription", "status": "canceled"}


async def retrieve_subscription_async(
    client: stripe.StripeClient, subscription_id: str
) -> dict[str, Any]:
    """`retrieve_subscription` on the event loop."""
    try:
        return await stripe_get_async(client, f"/v1/subscriptions/{subscription_id}")
    except stripe.InvalidRequestError as exc:
        if getattr(exc, "code", None) != "resource_missing":
            raise
        return {"id": subscription_id, "object": "subscription", "status": "canceled"}


def list_subscriptions(client: stripe.StripeClient, customer: str) -> list[dict[str, Any]]:
    """Every subscription of `customer`, ended ones included, newest first."""
    found: list[dict[str, Any]] = []
    params: dict[str, Any] = {"customer": customer, "status": "all", "limit": 100}
    while True:
        page = stripe_get(client, "/v1/subscriptions", **params)
        found.extend(page.get("data") or [])
        if not page.get("has_more") or not found:
            return found
        params["starting_after"] = found[-1]["id"]
