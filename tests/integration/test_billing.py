"""Billing on SQLite and PostgreSQL: the signed webhook through the real HTTP route, and
Checkout/Portal through the real stripe SDK against the fake Stripe server."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import select
from starlette.testclient import TestClient

from promptgen.api.routes import build_api
from promptgen.catalog import default_catalog, import_catalog, seed_catalog
from promptgen.db import admin_session_scope, dispose_engines
from promptgen.models import StripeEvent, SubscriptionTier, UserSubscription
from promptgen.services import billing
from promptgen.settings import reset_settings_cache
from tests.support.factories import make_user
from tests.support.fake_stripe import FakeStripe, subscription_object
from tests.support.outage import database_outage
from tests.support.stripe_events import (
    checkout_session_completed,
    invoice_object,
    make_event,
    sign,
    signed_request,
)

SECRET = "whsec_integration_test"
STRIPE_KEY = "sk_test_promptgen"
PRO_MONTH, PRO_YEAR = "price_pro_m", "price_pro_y"


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def world(db_url: str, monkeypatch: pytest.MonkeyPatch, fake_stripe: FakeStripe):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", fake_stripe.url)
    reset_settings_cache()
    fake_stripe.reset()
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        pro = next(t for t in default_catalog()["tiers"] if t["slug"] == "pro")
        import_catalog(
            session=session,
            data={
                "tiers": [
                    {
                        **pro,
                        "stripe_price_monthly_id": PRO_MONTH,
                        "stripe_price_yearly_id": PRO_YEAR,
                    }
                ]
            },
        )
        user = make_user(session)
    client = TestClient(build_api(), raise_server_exceptions=False)
    yield {"db": db_url, "user": user, "client": client}
    reset_settings_cache()


def _post(world, event: dict, *, secret: str = SECRET, timestamp: int | None = None):
    body, headers = signed_request(event, secret, timestamp)
    return world["client"].post("/api/stripe/webhook", content=body, headers=headers)


def _row(world) -> tuple[UserSubscription, str]:
    with admin_session_scope(world["db"]) as session:
        row = session.exec(
            select(UserSubscription).where(UserSubscription.user_id == world["user"].user_id)
        ).one()
        tier = session.get(SubscriptionTier, row.tier_id)
        return row, tier.slug


def _events(world) -> int:
    with admin_session_scope(world["db"]) as session:
        return len(session.exec(select(StripeEvent)).all())


def _sub_event(world, *, kind="updated", created=None, price=PRO_MONTH, **changes) -> dict:
    created = created or int(time.time())
    user_id = str(world["user"].user_id)
    obj = subscription_object(
        "sub_1",
        "cus_1",
        price,
        interval="year" if price == PRO_YEAR else "month",
        current_period_start=created - 60,
        current_period_end=created + 86400 * 30,
        metadata={"user_id": user_id},
        **changes,
    )
    return make_event(f"customer.subscription.{kind}", obj, created=created)


def test_a_signed_subscription_event_moves_the_user_to_its_tier(world) -> None:
    answer = _post(world, _sub_event(world, kind="created", price=PRO_YEAR, status="trialing"))
    assert answer.status_code == 200 and answer.json()["outcome"] == "applied"
    row, tier = _row(world)
    assert tier == "pro" and row.status == "trialing" and row.billing_interval == "year"
    assert row.stripe_subscription_id == "sub_1" and row.stripe_customer_id == "cus_1"
    assert row.current_period_end is not None


@pytest.mark.parametrize("problem", ["bad-signature", "expired", "malformed", "missing"])
def test_anything_but_a_genuine_event_is_refused_and_writes_nothing(world, problem) -> None:
    event = _sub_event(world)
    if problem == "bad-signature":
        answer = _post(world, event, secret="whsec_wrong")
    elif problem == "expired":
        answer = _post(world, event, timestamp=int(time.time()) - 301)
    elif problem == "malformed":
        body = b'{"id": "evt_1", "object": "event"'
        answer = world["client"].post(
            "/api/stripe/webhook", content=body, headers={"Stripe-Signature": sign(body, SECRET)}
        )
    else:
        answer = world["client"].post("/api/stripe/webhook", content=b"{}")
    assert answer.status_code == 400
    assert _events(world) == 0
    assert _row(world)[1] == "free"


def test_a_replayed_event_changes_nothing(world) -> None:
    event = _sub_event(world)
    assert _post(world, event).json()["outcome"] == "applied"
    first, _ = _row(world)
    for _ in range(5):
        answer = _post(world, event)
        assert answer.status_code == 200 and answer.json()["outcome"] == "replayed"
    again, _ = _row(world)
    assert again.updated_at == first.updated_at
    assert _events(world) == 1


def test_an_older_event_never_overwrites_a_newer_one(world) -> None:
    now = int(time.time())
    newer = _sub_event(world, created=now, cancel_at_period_end=True)
    older = _sub_event(world, created=now - 30, cancel_at_period_end=False)
    assert _post(world, newer).json()["outcome"] == "applied"
    assert _post(world, older).json()["outcome"] == "stale"
    row, _ = _row(world)
    assert row.cancel_at_period_end is True


def test_ending_drops_to_free_and_unknown_types_are_ignored(world, caplog) -> None:
    now = int(time.time())
    caplog.set_level(logging.INFO, logger="promptgen.audit")
    _post(world, _sub_event(world, created=now - 10))
    answer = _post(world, _sub_event(world, kind="deleted", created=now, status="canceled"))
    assert answer.json()["outcome"] == "applied"
    row, tier = _row(world)
    assert tier == "free" and row.stripe_subscription_id is None
    changes = [r.getMessage() for r in caplog.records if "event=plan_changed" in r.getMessage()]
    assert len(changes) == 2
    assert "tier_from=free tier_to=pro" in changes[0]
    assert "tier_from=pro tier_to=free" in changes[1] and f"user={row.user_id}" in changes[1]
    unknown = _post(world, make_event("customer.tax_id.created", {"id": "txi_1"}))
    assert unknown.status_code == 200 and unknown.json()["outcome"] == "ignored"


def test_an_unknown_price_is_logged_and_changes_nothing(world, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        answer = _post(world, _sub_event(world, price="price_nobody_knows"))
    assert answer.status_code == 200 and answer.json()["outcome"] == "unknown_price"
    assert "price_nobody_knows" in caplog.text
    assert _row(world)[1] == "free"


def test_checkout_links_the_customer_and_invoices_reset_usage_or_mark_past_due(world) -> None:
    user_id = str(world["user"].user_id)
    assert _post(world, checkout_session_completed(user_id, "cus_1", "sub_1")).status_code == 200
    row, _ = _row(world)
    assert row.stripe_customer_id == "cus_1" and row.stripe_subscription_id == "sub_1"
    now = int(time.time())
    _post(world, _sub_event(world, created=now - 100))
    with admin_session_scope(world["db"]) as session:
        session.execute(
            sa.update(UserSubscription)
            .where(UserSubscription.user_id == world["user"].user_id)
            .values(usage_count=7)
        )
    failed = invoice_object("sub_1", "cus_1", now - 60, now + 86400 * 30, status="open")
    _post(world, make_event("invoice.payment_failed", failed, created=now - 50))
    assert _row(world)[0].status == "past_due"
    paid = invoice_object("sub_1", "cus_1", now + 86400 * 30, now + 86400 * 60)
    _post(world, make_event("invoice.paid", paid, created=now))
    row, _ = _row(world)
    assert row.status == "active" and row.usage_count == 0


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_database_outage_answers_500_and_the_retry_applies(world, pg_url: str) -> None:
    event = _sub_event(world)
    with database_outage(pg_url):
        answer = _post(world, event)
    assert answer.status_code == 500
    dispose_engines()
    assert _events(world) == 0 and _row(world)[1] == "free"
    retried = _post(world, event)
    assert retried.status_code == 200 and retried.json()["outcome"] == "applied"
    assert _row(world)[1] == "pro"


def test_checkout_and_portal_through_the_stripe_sdk(world, fake_stripe: FakeStripe) -> None:
    user = world["user"]
    with admin_session_scope(world["db"]) as session:
        url = billing.start_checkout(
            session=session,
            user_id=user.user_id,
            email=user.email,
            tier_slug="pro",
            interval="year",
        )
    assert url.startswith("https://checkout.stripe.test/")
    sent = fake_stripe.requests_to("POST", "/v1/checkout/sessions")[-1].form
    assert sent["line_items"][0]["price"] == PRO_YEAR
    assert sent["client_reference_id"] == str(user.user_id)
    assert sent["customer_email"] == user.email and "customer" not in sent

    with admin_session_scope(world["db"]) as session, pytest.raises(billing.BillingError):
        billing.open_portal(session=session, user_id=user.user_id)  # no customer yet
    _post(world, _sub_event(world))
    with admin_session_scope(world["db"]) as session:
        # Already subscribed: the portal, never a second Checkout.
        again = billing.start_checkout(
            session=session,
            user_id=user.user_id,
            email=user.email,
            tier_slug="pro",
            interval="month",
        )
    assert again.startswith("https://billing.stripe.test/")
    assert (
        fake_stripe.requests_to("POST", "/v1/billing_portal/sessions")[-1].form["customer"]
        == "cus_1"
    )

    with (
        admin_session_scope(world["db"]) as session,
        pytest.raises(billing.BillingError, match="cannot"),
    ):
        billing.start_checkout(
            session=session,
            user_id=user.user_id,
            email=user.email,
            tier_slug="studio",
            interval="month",
        )


def test_without_a_stripe_key_billing_says_so(world, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRIPE_SECRET_KEY")
    reset_settings_cache()
    assert not billing.billing_configured()
    with admin_session_scope(world["db"]) as session, pytest.raises(billing.BillingError) as caught:
        billing.start_checkout(
            session=session,
            user_id=world["user"].user_id,
            email="x@example.com",
            tier_slug="pro",
            interval="month",
        )
    assert caught.value.message == "Billing is not configured on this server."
