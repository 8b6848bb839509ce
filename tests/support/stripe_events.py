"""Stripe webhook events built and signed exactly as Stripe builds and signs them.

    event = checkout_session_completed(user_id="42", customer="cus_1", subscription="sub_1")
    body, headers = signed_request(event, "whsec_test")
    # POST body with headers to the webhook route; stripe.Webhook.construct_event(body,
    # headers["Stripe-Signature"], "whsec_test") accepts it.

Signing follows `stripe.WebhookSignature` (stripe-python 16.1, `stripe/_webhook.py`): the header
is `t=<unix ts>,v1=<hex HMAC-SHA256 of "<ts>.<body>" keyed with the endpoint secret>`, and the
SDK rejects it when the signature does not match or `t` is older than the tolerance (300 s).
The secret is used as given (the `whsec_` prefix is part of the key, not stripped).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from tests.support.fake_stripe import price_object, stripe_id, subscription_object

DEFAULT_API_VERSION = "2025-03-31.basil"
WEBHOOK_SECRET = "whsec_test_promptgen"

__all__ = [
    "DEFAULT_API_VERSION",
    "WEBHOOK_SECRET",
    "checkout_session_completed",
    "checkout_session_object",
    "invoice_object",
    "invoice_paid",
    "make_event",
    "sign",
    "signed_request",
    "subscription_object",
]


def make_event(
    type: str,
    data_object: dict[str, Any],
    *,
    created: int | None = None,
    event_id: str | None = None,
    previous_attributes: dict[str, Any] | None = None,
    api_version: str = DEFAULT_API_VERSION,
) -> dict[str, Any]:
    """A Stripe `event` envelope around `data_object` (keys in Stripe's order)."""
    data: dict[str, Any] = {"object": data_object}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id or stripe_id("evt_", 24),
        "object": "event",
        "api_version": api_version,
        "created": created if created is not None else int(time.time()),
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": stripe_id("req_", 14), "idempotency_key": str(uuid.uuid4())},
        "type": type,
    }


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header value for `payload`: `t=<ts>,v1=<hex hmac-sha256>`."""
    if isinstance(payload, bytes | bytearray):
        payload = bytes(payload).decode("utf-8")
    ts = int(time.time()) if timestamp is None else int(timestamp)
    mac = hmac.new(secret.encode("utf-8"), f"{ts}.{payload}".encode(), hashlib.sha256)
    return f"t={ts},v1={mac.hexdigest()}"


def encode_event(event: dict[str, Any]) -> bytes:
    """The webhook body as Stripe sends it: JSON pretty-printed with two-space indents."""
    return json.dumps(event, indent=2).encode("utf-8")


def signed_request(
    event: dict[str, Any], secret: str, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of the POST Stripe makes to a webhook endpoint for `event`."""
    body = encode_event(event)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": sign(body, secret, timestamp),
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        "Accept": "*/*; q=0.5, application/xml",
        "Cache-Control": "no-cache",
    }
    return body, headers


# ---------------------------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------------------------


def checkout_session_object(
    user_id: str,
    customer: str,
    subscription: str,
    *,
    email: str = "user@example.com",
    amount_total: int = 1000,
    metadata: dict[str, str] | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """A completed, paid subscription-mode `checkout.session` (client_reference_id=user_id,
    metadata {"user_id": user_id} unless `metadata` is given)."""
    now = int(time.time()) if created is None else created
    session_id = stripe_id("cs_test_", 58)
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": None,
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": "https://promptgen.test/billing?canceled=1",
        "client_reference_id": user_id,
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": "usd",
        "custom_fields": [],
        "customer": customer,
        "customer_creation": "always",
        "customer_details": {
            "address": {
                "city": None,
                "country": "US",
                "line1": None,
                "line2": None,
                "postal_code": "94107",
                "state": None,
            },
            "email": email,
            "name": "Test User",
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": None,
        "discounts": [],
        "expires_at": now + 24 * 3600,
        "invoice": stripe_id("in_", 24),
        "invoice_creation": None,
        "livemode": False,
        "locale": None,
        "metadata": dict(metadata) if metadata is not None else {"user_id": user_id},
        "mode": "subscription",
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_types": ["card"],
        "payment_status": "paid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "complete",
        "submit_type": None,
        "subscription": subscription,
        "success_url": "https://promptgen.test/billing?session_id={CHECKOUT_SESSION_ID}",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
    }


def checkout_session_completed(
    user_id: str, customer: str, subscription: str, **kwargs: Any
) -> dict[str, Any]:
    """The `checkout.session.completed` EVENT for a paid subscription checkout.

    Keyword arguments go to `checkout_session_object`; `data.object` is the session.
    """
    return make_event(
        "checkout.session.completed",
        checkout_session_object(user_id, customer, subscription, **kwargs),
    )


def invoice_object(
    subscription: str,
    customer: str,
    period_start: int,
    period_end: int,
    status: str = "paid",
    billing_reason: str = "subscription_cycle",
    *,
    price_id: str = "price_test_pro",
    amount: int = 1000,
    subscription_item: str | None = None,
    metadata: dict[str, str] | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """A subscription `invoice` for the service period `period_start`..`period_end`.

    The period is where Stripe puts it: `lines.data[0].period.{start,end}`. As on real invoices,
    the TOP-LEVEL `period_start`/`period_end` are NOT the service period: for a
    `subscription_cycle` invoice they are the previous period (usage period, ending at
    `period_start`), for other reasons both equal the creation time.

    The subscription id appears in the basil shape (`parent.subscription_details.subscription`,
    `lines.data[0].parent.subscription_item_details.subscription`) and in the older shape
    (top-level `subscription`, `lines.data[0].subscription`), so both readers work.
    `status` "paid" marks it paid; "open" is a failed/pending payment; "draft", "void" and
    "uncollectible" are passed through.
    """
    created_at = created if created is not None else period_start
    invoice_id = stripe_id("in_", 24)
    item_id = subscription_item or stripe_id("si_", 14)
    if billing_reason == "subscription_cycle":
        top_start, top_end = period_start - (period_end - period_start), period_start
    else:
        top_start = top_end = created_at
    paid = status == "paid"
    interval = "year" if period_end - period_start > 40 * 86_400 else "month"
    price = price_object(price_id, interval=interval, unit_amount=amount)
    line = {
        "id": stripe_id("il_", 24),
        "object": "line_item",
        "amount": amount,
        "amount_excluding_tax": amount,
        "currency": "usd",
        "description": f"1 \u00d7 {price['product']} (at ${amount / 100:.2f} / {interval})",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": {},
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription,
                "subscription_item": item_id,
            },
            "type": "subscription_item_details",
        },
        "period": {"end": period_end, "start": period_start},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price_id, "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": str(amount),
        },
        "quantity": 1,
        "taxes": [],
        # Pre-basil shape:
        "plan": None,
        "price": price,
        "proration": False,
        "subscription": subscription,
        "subscription_item": item_id,
        "type": "subscription",
    }
    sub_metadata = dict(metadata or {})
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "PromptGen",
        "amount_due": amount,
        "amount_overpaid": 0,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1 if status in ("paid", "open") else 0,
        "attempted": status in ("paid", "open"),
        "auto_advance": status == "open",
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created_at,
        "currency": "usd",
        "customer": customer,
        "customer_email": "user@example.com",
        "customer_name": "Test User",
        "default_payment_method": None,
        "description": None,
        "discounts": [],
        "due_date": None,
        "ending_balance": 0,
        "hosted_invoice_url": f"https://invoice.stripe.test/i/{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.test/invoice/{invoice_id}/pdf",
        "last_finalization_error": None,
        "lines": {
            "object": "list",
            "data": [line],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None if paid else created_at + 3 * 86_400,
        "number": f"PG-{invoice_id[-6:].upper()}-0001",
        "parent": {
            "quote_details": None,
            "subscription_details": {"metadata": sub_metadata, "subscription": subscription},
            "type": "subscription_details",
        },
        "period_end": top_end,
        "period_start": top_start,
        "status": status,
        "status_transitions": {
            "finalized_at": created_at if status != "draft" else None,
            "marked_uncollectible_at": None,
            "paid_at": created_at if paid else None,
            "voided_at": None,
        },
        "subtotal": amount,
        "total": amount,
        # Pre-basil shape:
        "paid": paid,
        "subscription": subscription,
        "subscription_details": {"metadata": sub_metadata},
    }


def invoice_paid(
    subscription: str,
    customer: str,
    period_start: int,
    period_end: int,
    *,
    type: str = "invoice.paid",
    **kwargs: Any,
) -> dict[str, Any]:
    """An invoice EVENT (`invoice.paid` by default; pass `type="invoice.payment_failed"`
    together with `status="open"` for a failed renewal)."""
    return make_event(
        type, invoice_object(subscription, customer, period_start, period_end, **kwargs)
    )
