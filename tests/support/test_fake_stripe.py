"""The fake Stripe server and webhook helpers against the real stripe SDK (no SDK mocking)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
import stripe

from tests.support.fake_stripe import DEFAULT_KEY, FakeStripe, parse_form, subscription_object
from tests.support.stripe_events import (
    checkout_session_completed,
    invoice_object,
    invoice_paid,
    make_event,
    sign,
    signed_request,
)

SECRET = "whsec_test_secret"


@pytest.fixture(scope="module")
def fake_stripe_server() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def fake_stripe(fake_stripe_server: FakeStripe) -> Iterator[FakeStripe]:
    fake_stripe_server.reset()
    fake_stripe_server.customers.clear()
    fake_stripe_server.subscriptions.clear()
    yield fake_stripe_server
    fake_stripe_server.reset()


def client_for(fake: FakeStripe, key: str = DEFAULT_KEY) -> stripe.StripeClient:
    return stripe.StripeClient(key, base_addresses={"api": fake.url}, max_network_retries=0)


@pytest.fixture
def client(fake_stripe: FakeStripe) -> stripe.StripeClient:
    return client_for(fake_stripe)


# -- form decoding --


def test_parse_form_bracket_notation() -> None:
    body = (
        "mode=subscription&line_items[0][price]=price_1&line_items[0][quantity]=1"
        "&line_items[1][price]=price_2&metadata[user_id]=42&metadata[empty]="
        "&subscription_data[metadata][user_id]=42&expand[]=a&expand[]=b"
    )
    assert parse_form(body) == {
        "mode": "subscription",
        "line_items": [{"price": "price_1", "quantity": "1"}, {"price": "price_2"}],
        "metadata": {"user_id": "42", "empty": ""},
        "subscription_data": {"metadata": {"user_id": "42"}},
        "expand": ["a", "b"],
    }


# -- checkout --


def test_checkout_session_create(fake_stripe: FakeStripe, client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": "price_123", "quantity": 1}],
            "customer": "cus_abc",
            "client_reference_id": "42",
            "metadata": {"user_id": "42"},
            "subscription_data": {"metadata": {"user_id": "42"}},
            "success_url": "https://app.test/ok?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://app.test/cancel",
            "allow_promotion_codes": True,
        }
    )
    assert isinstance(session, stripe.checkout.Session)
    assert session.id.startswith("cs_test_")
    assert session.object == "checkout.session"
    assert session.mode == "subscription"
    assert session.status == "open"
    assert session.url == f"https://checkout.stripe.test/c/pay/{session.id}"
    assert session.customer == "cus_abc"
    assert session.customer_email is None
    assert session.client_reference_id == "42"
    assert session.metadata.to_dict() == {"user_id": "42"}
    assert session.success_url == "https://app.test/ok?session_id={CHECKOUT_SESSION_ID}"
    assert session.cancel_url == "https://app.test/cancel"
    assert "line_items" not in session

    [request] = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    assert request.headers["authorization"] == f"Bearer {DEFAULT_KEY}"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["stripe-version"] == stripe.api_version
    assert request.headers["idempotency-key"]
    assert b"line_items[0][price]=price_123" in request.raw.replace(b"%5B", b"[").replace(
        b"%5D", b"]"
    )
    assert request.form == {
        "mode": "subscription",
        "line_items": [{"price": "price_123", "quantity": "1"}],
        "customer": "cus_abc",
        "client_reference_id": "42",
        "metadata": {"user_id": "42"},
        "subscription_data": {"metadata": {"user_id": "42"}},
        "success_url": "https://app.test/ok?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://app.test/cancel",
        "allow_promotion_codes": "true",
    }
    assert client.v1.checkout.sessions.retrieve(session.id).id == session.id


def test_checkout_session_customer_email(client: stripe.StripeClient) -> None:
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "subscription",
            "line_items": [{"price": "price_123", "quantity": 1}],
            "customer_email": "a@b.test",
            "success_url": "https://app.test/ok",
        }
    )
    assert session.customer is None
    assert session.customer_email == "a@b.test"


@pytest.mark.parametrize("missing", ["mode", "success_url"])
def test_checkout_session_required_params(client: stripe.StripeClient, missing: str) -> None:
    params = {
        "mode": "subscription",
        "line_items": [{"price": "price_123", "quantity": 1}],
        "success_url": "https://app.test/ok",
    }
    del params[missing]
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]
    assert info.value.http_status == 400
    assert info.value.param == missing
    assert info.value.code == "parameter_missing"
    assert info.value.user_message is None or isinstance(info.value.user_message, str)
    assert info.value.json_body["error"]["type"] == "invalid_request_error"


def test_idempotent_replay(fake_stripe: FakeStripe, client: stripe.StripeClient) -> None:
    params = {
        "mode": "subscription",
        "line_items": [{"price": "price_123", "quantity": 1}],
        "success_url": "https://app.test/ok",
    }
    first = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "k1"})
    again = client.v1.checkout.sessions.create(params=params, options={"idempotency_key": "k1"})
    assert again.id == first.id
    assert len(fake_stripe.checkout_sessions) == 1


# -- billing portal --


def test_portal_session(fake_stripe: FakeStripe, client: stripe.StripeClient) -> None:
    session = client.v1.billing_portal.sessions.create(
        params={"customer": "cus_abc", "return_url": "https://app.test/billing"}
    )
    assert session.object == "billing_portal.session"
    assert session.id.startswith("bps_")
    assert session.customer == "cus_abc"
    assert session.return_url == "https://app.test/billing"
    assert session.url == f"https://billing.stripe.test/p/session/{session.id}"
    [request] = fake_stripe.requests_to("POST", "/v1/billing_portal/sessions")
    assert request.form == {"customer": "cus_abc", "return_url": "https://app.test/billing"}


def test_portal_session_unknown_customer(
    fake_stripe: FakeStripe, client: stripe.StripeClient
) -> None:
    fake_stripe.customers.add("cus_known")
    client.v1.billing_portal.sessions.create(params={"customer": "cus_known"})
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.billing_portal.sessions.create(params={"customer": "cus_other"})
    assert info.value.code == "resource_missing"
    assert info.value.param == "customer"
    assert "No such customer: 'cus_other'" in str(info.value)
    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.billing_portal.sessions.create(params={})  # type: ignore[typeddict-item]
    assert info.value.param == "customer"


# -- subscriptions --


def test_subscription_retrieve_update_cancel(
    fake_stripe: FakeStripe, client: stripe.StripeClient
) -> None:
    start = 1_750_000_000
    fake_stripe.subscriptions["sub_1"] = subscription_object(
        "sub_1",
        "cus_abc",
        "price_pro",
        interval="year",
        current_period_start=start,
        current_period_end=start + 365 * 86_400,
        metadata={"user_id": "42"},
        period_placement="both",
    )
    sub = client.v1.subscriptions.retrieve("sub_1")
    assert isinstance(sub, stripe.Subscription)
    assert sub.status == "active"
    assert sub.customer == "cus_abc"
    assert sub.metadata.to_dict() == {"user_id": "42"}
    item = sub["items"]["data"][0]
    assert item.price.id == "price_pro"
    assert item.price.recurring.interval == "year"
    assert item.current_period_start == start
    assert item.current_period_end == start + 365 * 86_400
    assert sub["current_period_end"] == start + 365 * 86_400

    updated = client.v1.subscriptions.update("sub_1", params={"cancel_at_period_end": True})
    assert updated.cancel_at_period_end is True
    assert updated.cancel_at == start + 365 * 86_400
    assert fake_stripe.requests[-1].form == {"cancel_at_period_end": "true"}

    canceled = client.v1.subscriptions.cancel("sub_1")
    assert canceled.status == "canceled"
    assert canceled.canceled_at is not None and abs(canceled.canceled_at - time.time()) < 60
    assert fake_stripe.requests[-1].method == "DELETE"
    assert fake_stripe.subscriptions["sub_1"]["status"] == "canceled"

    with pytest.raises(stripe.InvalidRequestError) as info:
        client.v1.subscriptions.retrieve("sub_missing")
    assert info.value.http_status == 404
    assert info.value.code == "resource_missing"


# -- errors --


def test_bad_key_is_authentication_error(fake_stripe: FakeStripe) -> None:
    with pytest.raises(stripe.AuthenticationError) as info:
        client_for(fake_stripe, "sk_test_wrong1234").v1.subscriptions.retrieve("sub_1")
    assert info.value.http_status == 401
    assert info.value.json_body == {
        "error": {
            "message": "Invalid API Key provided: sk_test_****1234",
            "type": "invalid_request_error",
        }
    }


def test_server_error_is_api_error(fake_stripe: FakeStripe, client: stripe.StripeClient) -> None:
    fake_stripe.subscriptions["sub_1"] = subscription_object("sub_1", "cus_abc", "price_pro")
    fake_stripe.fail_next(500)
    with pytest.raises(stripe.APIError) as info:
        client.v1.subscriptions.retrieve("sub_1")
    assert info.value.http_status == 500
    assert info.value.json_body["error"]["type"] == "api_error"
    assert client.v1.subscriptions.retrieve("sub_1").id == "sub_1"  # one failure only


def test_rate_limit_error(fake_stripe: FakeStripe, client: stripe.StripeClient) -> None:
    fake_stripe.fail_next(429)
    with pytest.raises(stripe.RateLimitError):
        client.v1.billing_portal.sessions.create(params={"customer": "cus_abc"})


def test_sdk_retries_500_when_enabled(fake_stripe: FakeStripe) -> None:
    fake_stripe.subscriptions["sub_1"] = subscription_object("sub_1", "cus_abc", "price_pro")
    fake_stripe.fail_next(500)
    retrying = stripe.StripeClient(
        DEFAULT_KEY, base_addresses={"api": fake_stripe.url}, max_network_retries=1
    )
    assert retrying.v1.subscriptions.retrieve("sub_1").id == "sub_1"
    assert len(fake_stripe.requests) == 2


# -- webhooks --


def test_construct_event_accepts_signed_request() -> None:
    event = checkout_session_completed("42", "cus_abc", "sub_1")
    body, headers = signed_request(event, SECRET)
    assert headers["Content-Type"].startswith("application/json")
    built = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    assert built.type == "checkout.session.completed"
    assert built.id.startswith("evt_")
    session = built.data.object
    assert session.client_reference_id == "42"
    assert session.metadata["user_id"] == "42"
    assert session.customer == "cus_abc"
    assert session.subscription == "sub_1"
    # The same as the SDK's own signer.
    ts = int(time.time())
    assert sign(body, SECRET, ts) == stripe.WebhookSignature.generate_signature_header(
        body.decode(), SECRET, ts
    )


def test_construct_event_rejects_tampering() -> None:
    event = make_event("customer.subscription.deleted", {"id": "sub_1", "object": "subscription"})
    body, headers = signed_request(event, SECRET)
    tampered = body.replace(b"sub_1", b"sub_2")
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(tampered, headers["Stripe-Signature"], SECRET)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["Stripe-Signature"], "whsec_other")
    old_body, old_headers = signed_request(event, SECRET, timestamp=int(time.time()) - 301)
    with pytest.raises(stripe.SignatureVerificationError, match="tolerance"):
        stripe.Webhook.construct_event(old_body, old_headers["Stripe-Signature"], SECRET)


def test_invoice_shapes() -> None:
    start, end = 1_750_000_000, 1_750_000_000 + 30 * 86_400
    event = invoice_paid("sub_1", "cus_abc", start, end)
    body, headers = signed_request(event, SECRET)
    built = stripe.Webhook.construct_event(body, headers["Stripe-Signature"], SECRET)
    invoice = built.data.object
    assert invoice.lines.data[0].period.start == start
    assert invoice.lines.data[0].period.end == end
    assert invoice.parent.subscription_details.subscription == "sub_1"
    assert invoice["subscription"] == "sub_1"
    assert invoice.status == "paid"
    assert invoice.billing_reason == "subscription_cycle"
    raw = json.loads(body)
    assert raw["api_version"] == "2025-03-31.basil"
    assert raw["pending_webhooks"] == 1
    assert raw["livemode"] is False
    assert set(raw["request"]) == {"id", "idempotency_key"}
    failed = invoice_object("sub_1", "cus_abc", start, end, status="open")
    assert failed["amount_paid"] == 0
    assert failed["attempted"] is True


def test_make_event_previous_attributes() -> None:
    sub = subscription_object("sub_1", "cus_abc", "price_pro", cancel_at_period_end=True)
    event = make_event(
        "customer.subscription.updated",
        sub,
        created=123,
        event_id="evt_fixed",
        previous_attributes={"cancel_at_period_end": False},
    )
    assert event["id"] == "evt_fixed"
    assert event["created"] == 123
    assert event["data"] == {"object": sub, "previous_attributes": {"cancel_at_period_end": False}}
    assert "previous_attributes" not in make_event("x.y", {})["data"]
