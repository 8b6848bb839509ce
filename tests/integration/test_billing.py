"""Billing under Stripe's real delivery, on SQLite and PostgreSQL.

Signed events go through the real HTTP route; the app reads Stripe through the real stripe
SDK pointed at the fake Stripe server, which keeps state (customers, subscriptions, checkout
sessions, portal). Each test sets what Stripe has *now*, delivers events that carry older
snapshots, in whatever order Stripe might, and checks that the user ends on Stripe's newest
state with exactly one effect.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.db import admin_session_scope, dispose_engines
from promptgen.models import StripeEvent, SubscriptionTier, UserSubscription
from promptgen.periods import add_months
from promptgen.services import billing, checkout, quota
from promptgen.services.catalog_import import default_catalog, import_catalog, seed_catalog
from promptgen.services.plans import get_plan_summary
from promptgen.settings import reset_settings_cache
from tests.support.api_server import serve_api
from tests.support.factories import make_user
from tests.support.fake_stripe import FakeStripe, customer_object, subscription_object
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
STUDIO_MONTH, STUDIO_YEAR = "price_studio_m", "price_studio_y"
DAY = 86_400


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


def _import_prices(session, *, studio: bool = True) -> None:
    tiers = []
    for tier in default_catalog()["tiers"]:
        prices = {"pro": (PRO_MONTH, PRO_YEAR), "studio": (STUDIO_MONTH, STUDIO_YEAR)}
        if tier["slug"] in prices and (studio or tier["slug"] == "pro"):
            monthly, yearly = prices[tier["slug"]]
            tiers.append(
                {**tier, "stripe_price_monthly_id": monthly, "stripe_price_yearly_id": yearly}
            )
    import_catalog(session=session, data={"tiers": tiers})


@pytest.fixture
def world(db_url: str, monkeypatch: pytest.MonkeyPatch, fake_stripe: FakeStripe):
    monkeypatch.setenv("STRIPE_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("STRIPE_SECRET_KEY", STRIPE_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", fake_stripe.url)
    reset_settings_cache()
    fake_stripe.reset()
    fake_stripe.subscriptions.clear()
    fake_stripe.customers.clear()
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        _import_prices(session)
        user = make_user(session)
    # One event loop for the whole test (a TestClient outside `with` starts one per
    # request), as in a server: the webhook's connections and Stripe client live on it.
    with TestClient(build_api(), raise_server_exceptions=False) as client:
        yield {"db": db_url, "user": user, "client": client, "stripe": fake_stripe}
    reset_settings_cache()


def _post(world, event: dict, *, secret: str = SECRET, timestamp: int | None = None):
    body, headers = signed_request(event, secret, timestamp)
    return world["client"].post("/api/stripe/webhook", content=body, headers=headers)


def _row(world, user_id: uuid.UUID | None = None) -> tuple[UserSubscription, str]:
    with admin_session_scope(world["db"]) as session:
        row = session.exec(
            select(UserSubscription).where(
                UserSubscription.user_id == (user_id or world["user"].user_id)
            )
        ).one()
        tier = session.get(SubscriptionTier, row.tier_id)
        return row, tier.slug


def _events(world) -> int:
    with admin_session_scope(world["db"]) as session:
        return len(session.exec(select(StripeEvent)).all())


def _at_stripe(
    world,
    *,
    sub_id: str = "sub_1",
    customer: str = "cus_1",
    price: str = PRO_MONTH,
    user_id: uuid.UUID | None = None,
    start: int | None = None,
    **changes,
) -> dict:
    """Put a subscription in the fake Stripe (its state *now*) and return it."""
    start = start if start is not None else int(time.time()) - 60
    interval = "year" if price.endswith("_y") else "month"
    sub = subscription_object(
        sub_id,
        customer,
        price,
        interval=interval,
        current_period_start=start,
        current_period_end=start + (365 if interval == "year" else 30) * DAY,
        metadata={"user_id": str(user_id or world["user"].user_id)},
        created=start,
        **changes,
    )
    world["stripe"].subscriptions[sub_id] = sub
    # Customers are created by PromptGen at the first upgrade, with the user's id.
    world["stripe"].customer_objects.setdefault(
        customer, customer_object(customer, metadata=dict(sub["metadata"]))
    )
    return sub


def _snapshot_event(kind: str, subscription: dict, created: int | None = None) -> dict:
    """A `customer.subscription.<kind>` event carrying a copy of the object as it was."""
    return make_event(f"customer.subscription.{kind}", copy.deepcopy(subscription), created=created)


def _set_usage(world, used: int, period_start: datetime) -> None:
    with admin_session_scope(world["db"]) as session:
        session.execute(
            sa.update(UserSubscription)
            .where(UserSubscription.user_id == world["user"].user_id)
            .values(usage_count=used, usage_period_start=period_start)
        )


def _summary(world, now: datetime | None = None):
    with admin_session_scope(world["db"]) as session:
        return get_plan_summary(session=session, user_id=world["user"].user_id, now=now)


def _reserve(world, now: datetime | None = None):
    with admin_session_scope(world["db"]) as session:
        return quota.reserve_quota(session=session, user_id=world["user"].user_id, now=now)


# --- Events are triggers, Stripe is the truth ------------------------------------------


@pytest.mark.parametrize("placement", ["items", "subscription"])
def test_an_event_applies_the_subscription_stripe_has_now(world, placement) -> None:
    old = _at_stripe(world, price=PRO_YEAR, status="trialing")
    event = _snapshot_event("created", old)
    # Since the event was sent the customer moved to Studio monthly; Stripe says so now.
    now = _at_stripe(world, price=STUDIO_MONTH, period_placement=placement)
    answer = _post(world, event)
    # Stripe learns that the event was taken and nothing about the server (no worker pid).
    assert answer.status_code == 200 and answer.json() == {"received": True, "outcome": "applied"}
    row, tier = _row(world)
    assert tier == "studio" and row.status == "active" and row.billing_interval == "month"
    assert row.stripe_subscription_id == "sub_1" and row.stripe_customer_id == "cus_1"
    # Both placements of the current period (subscription: older API, item: basil on).
    assert row.current_period_end == datetime.fromtimestamp(
        now["items"]["data"][0].get("current_period_end") or now["current_period_end"], UTC
    )
    fetched = world["stripe"].requests_to("GET", "/v1/subscriptions/sub_1")
    assert fetched and fetched[-1].headers["authorization"] == f"Bearer {STRIPE_KEY}"


def test_a_plan_change_is_not_lost_behind_a_later_invoice(world) -> None:
    """Issue item 1: an invoice.paid at T+1 arrives before the subscription.updated at T."""
    t = int(time.time())
    pro = _at_stripe(world, price=PRO_MONTH)
    _post(world, _snapshot_event("created", pro, created=t - 100))
    studio = _at_stripe(world, price=STUDIO_MONTH)
    update = _snapshot_event("updated", studio, created=t)
    invoice = make_event(
        "invoice.paid",
        invoice_object("sub_1", "cus_1", t, t + 30 * DAY, billing_reason="subscription_update"),
        created=t + 1,
    )
    assert _post(world, invoice).status_code == 200
    assert _post(world, update).status_code == 200
    assert _row(world)[1] == "studio"
    assert _events(world) == 3


def test_a_500_then_another_event_then_the_retry_ends_on_the_newest_state(world) -> None:
    t = int(time.time())
    pro = _at_stripe(world, price=PRO_MONTH)
    assert _post(world, _snapshot_event("created", pro, created=t - 50)).status_code == 200
    studio = _at_stripe(world, price=STUDIO_MONTH)
    update = _snapshot_event("updated", studio, created=t)
    world["stripe"].fail_next(500, times=2)  # the SDK retries once
    failed = _post(world, update)
    assert failed.status_code == 500 and _events(world) == 1  # not recorded: Stripe retries
    invoice = make_event(
        "invoice.paid", invoice_object("sub_1", "cus_1", t, t + 30 * DAY), created=t + 1
    )
    assert _post(world, invoice).status_code == 200
    assert _row(world)[1] == "studio"
    retried = _post(world, update)
    assert retried.status_code == 200 and retried.json()["outcome"] == "unchanged"
    assert _row(world)[1] == "studio" and _events(world) == 3


def test_same_second_ties_do_not_depend_on_arrival_order(world) -> None:
    """Issue item 3: created(incomplete) arriving after updated(active), same second."""
    t = int(time.time())
    incomplete = copy.deepcopy(_at_stripe(world, status="incomplete"))
    active = _at_stripe(world, status="active")
    assert _post(world, _snapshot_event("updated", active, created=t)).status_code == 200
    assert _post(world, _snapshot_event("created", incomplete, created=t)).status_code == 200
    row, tier = _row(world)
    assert tier == "pro" and row.status == "active"


def test_a_replayed_event_changes_nothing(world) -> None:
    event = _snapshot_event("updated", _at_stripe(world))
    assert _post(world, event).json()["outcome"] == "applied"
    first, _ = _row(world)
    for _ in range(3):
        answer = _post(world, event)
        assert answer.status_code == 200 and answer.json()["outcome"] == "replayed"
    again, _ = _row(world)
    assert again.updated_at == first.updated_at
    assert _events(world) == 1


@pytest.mark.parametrize("problem", ["bad-signature", "expired", "malformed", "missing"])
def test_anything_but_a_genuine_event_is_refused_and_writes_nothing(world, problem) -> None:
    event = _snapshot_event("updated", _at_stripe(world))
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


def test_unknown_types_are_recorded_and_ignored(world) -> None:
    answer = _post(world, make_event("customer.tax_id.created", {"id": "txi_1"}))
    assert answer.status_code == 200 and answer.json()["outcome"] == "ignored"
    assert _events(world) == 1


# --- Repair: unknown price or user is retried ------------------------------------------


def test_an_unknown_price_answers_500_and_applies_once_the_catalog_knows_it(world, caplog) -> None:
    event = _snapshot_event("created", _at_stripe(world, price="price_new_team"))
    with caplog.at_level(logging.ERROR):
        answer = _post(world, event)
    assert answer.status_code == 500
    assert "price_new_team" in caplog.text
    assert _events(world) == 0 and _row(world)[1] == "free"
    pro = next(t for t in default_catalog()["tiers"] if t["slug"] == "pro")
    with admin_session_scope(world["db"]) as session:
        import_catalog(
            session=session, data={"tiers": [{**pro, "stripe_price_monthly_id": "price_new_team"}]}
        )
    retried = _post(world, event)  # Stripe's retry
    assert retried.status_code == 200 and _row(world)[1] == "pro"


def test_an_event_for_nobody_we_know_answers_500_and_is_not_recorded(world) -> None:
    stranger = _at_stripe(world, sub_id="sub_x", customer="cus_x", user_id=uuid.uuid4())
    answer = _post(world, _snapshot_event("created", stranger))
    assert answer.status_code == 500 and _events(world) == 0


# --- Quota periods belong to PromptGen --------------------------------------------------


def test_proration_credit_and_zero_invoices_never_reset_usage_or_move_the_anchor(world) -> None:
    start = int(time.time()) - 10 * DAY
    pro = _at_stripe(world, price=PRO_MONTH, start=start)
    _post(world, _snapshot_event("created", pro))
    anchor = _row(world)[0].quota_anchor
    assert anchor == datetime.fromtimestamp(start, UTC)
    _set_usage(world, 300, anchor)
    now = int(time.time())
    # Mid-period upgrade to Studio, then back to Pro: proration invoices, a credit, a zero one.
    for price, amount, reason in (
        (STUDIO_MONTH, 2400, "subscription_update"),
        (PRO_MONTH, -1200, "subscription_update"),
        (PRO_MONTH, 0, "manual"),
    ):
        changed = _at_stripe(world, price=price, start=now)
        _post(world, _snapshot_event("updated", changed))
        invoice = invoice_object(
            "sub_1", "cus_1", now, now + 30 * DAY, billing_reason=reason, amount=amount
        )
        assert _post(world, make_event("invoice.paid", invoice)).status_code == 200
        row, _ = _row(world)
        assert row.usage_count == 300 and row.quota_anchor == anchor
    assert _summary(world).usage_count == 300


def test_yearly_plans_reset_monthly_on_the_subscription_start(world) -> None:
    start = datetime(2026, 1, 15, 10, tzinfo=UTC)
    yearly = _at_stripe(world, price=PRO_YEAR, start=int(start.timestamp()))
    _post(world, _snapshot_event("created", yearly))
    _set_usage(world, 500, start)
    assert _reserve(world, now=datetime(2026, 2, 15, 9, tzinfo=UTC)) is None  # used up
    # The monthly boundary, with no invoice anywhere near it.
    fresh = _reserve(world, now=datetime(2026, 2, 15, 10, 1, tzinfo=UTC))
    assert fresh is not None and fresh.used == 1
    summary = _summary(world, now=datetime(2026, 2, 20, tzinfo=UTC))
    assert summary.usage_resets_on == datetime(2026, 3, 15, 10, tzinfo=UTC)


def test_a_downgrade_keeps_the_usage_spent_and_the_period_dates(world) -> None:
    start = int(time.time()) - 5 * DAY
    pro = _at_stripe(world, price=PRO_MONTH, start=start)
    _post(world, _snapshot_event("created", pro))
    anchor = _row(world)[0].quota_anchor
    _set_usage(world, 120, anchor)
    ended = _at_stripe(world, price=PRO_MONTH, start=start, status="canceled")
    assert _post(world, _snapshot_event("deleted", ended)).json()["outcome"] == "applied"
    row, tier = _row(world)
    assert tier == "free" and row.stripe_subscription_id is None and row.quota_anchor == anchor
    summary = _summary(world)
    assert (summary.usage_count, summary.monthly_quota) == (120, 25)
    assert _reserve(world) is None  # over the Free limit until the period's next boundary
    assert summary.usage_resets_on == add_months(anchor, 1)


# --- Entitlements follow status ---------------------------------------------------------


@pytest.mark.parametrize("status", ["unpaid", "paused", "incomplete"])
def test_payment_problems_keep_the_plan_name_with_free_limits(world, status) -> None:
    _post(world, _snapshot_event("updated", _at_stripe(world, status=status)))
    summary = _summary(world)
    assert summary.tier_name == "Pro" and summary.status == status
    assert summary.monthly_quota == 25 and summary.payment_issue and not summary.entitled
    _set_usage(world, 25, _row(world)[0].quota_anchor)
    assert _reserve(world) is None


def test_past_due_keeps_the_plan_for_the_grace_period_then_free_limits(world) -> None:
    _post(world, _snapshot_event("updated", _at_stripe(world)))
    t = int(time.time())
    _at_stripe(world, status="past_due")
    failed = invoice_object("sub_1", "cus_1", t, t + 30 * DAY, status="open")
    assert _post(world, make_event("invoice.payment_failed", failed)).status_code == 200
    row, _ = _row(world)
    assert row.status == "past_due" and row.past_due_since is not None
    _set_usage(world, 100, row.quota_anchor)
    within = row.past_due_since + timedelta(days=2)
    after = row.past_due_since + timedelta(days=3, minutes=1)
    assert _summary(world, now=within).monthly_quota == 500
    assert _reserve(world, now=within) is not None
    assert _summary(world, now=after).monthly_quota == 25
    assert _reserve(world, now=after) is None
    # Paid again: the plan's limits are back.
    _at_stripe(world, status="active")
    _post(world, make_event("invoice.paid", invoice_object("sub_1", "cus_1", t, t + 30 * DAY)))
    assert _row(world)[0].past_due_since is None
    assert _summary(world, now=after).monthly_quota == 500


def test_cancel_at_period_end_and_cancel_at_show_when_the_plan_ends(world) -> None:
    sub = _at_stripe(world, cancel_at_period_end=True)
    _post(world, _snapshot_event("updated", sub))
    period_end = sub["items"]["data"][0]["current_period_end"]
    assert _summary(world).ends_on == datetime.fromtimestamp(period_end, UTC)
    scheduled = int(time.time()) + 12 * DAY
    _post(world, _snapshot_event("updated", _at_stripe(world, cancel_at=scheduled)))
    assert _summary(world).ends_on == datetime.fromtimestamp(scheduled, UTC)
    _post(world, _snapshot_event("updated", _at_stripe(world)))
    assert _summary(world).ends_on is None


# --- One customer, one live subscription ------------------------------------------------


def _checkout(world, tier: str = "pro", interval: str = "month") -> str:
    user = world["user"]
    with admin_session_scope(world["db"]) as session:
        checkout.ensure_customer(session=session, user_id=user.user_id, email=user.email)
    with admin_session_scope(world["db"]) as session:
        return checkout.start_checkout(
            session=session,
            user_id=user.user_id,
            email=user.email,
            tier_slug=tier,
            interval=interval,
        )


def test_checkout_creates_the_customer_once_and_always_passes_it(world) -> None:
    fake = world["stripe"]
    url = _checkout(world, interval="year")
    assert url.startswith("https://checkout.stripe.test/")
    created = fake.requests_to("POST", "/v1/customers")
    assert len(created) == 1
    assert created[0].form["metadata"] == {"user_id": str(world["user"].user_id)}
    customer = _row(world)[0].stripe_customer_id
    assert customer in fake.customer_objects
    sent = fake.requests_to("POST", "/v1/checkout/sessions")[-1]
    assert sent.form["customer"] == customer and "customer_email" not in sent.form
    assert sent.form["line_items"][0]["price"] == PRO_YEAR
    assert sent.headers["idempotency-key"].startswith("promptgen-checkout-")
    # The same plan again (another tab): the same open session, no new customer.
    assert _checkout(world, interval="year") == url
    assert len(fake.requests_to("POST", "/v1/customers")) == 1
    assert len(fake.checkout_sessions) == 1
    # Another plan: the earlier open session is expired first.
    other = _checkout(world, tier="studio", interval="month")
    assert other != url
    states = sorted(s["status"] for s in fake.checkout_sessions.values())
    assert states == ["expired", "open"]


def test_a_customer_with_a_live_subscription_at_stripe_goes_to_the_portal(world) -> None:
    _checkout(world)
    customer = _row(world)[0].stripe_customer_id
    # Paid in another tab; no webhook has arrived yet, but Stripe knows.
    _at_stripe(world, customer=customer)
    again = _checkout(world, tier="studio")
    assert again.startswith("https://billing.stripe.test/")
    assert len(world["stripe"].requests_to("POST", "/v1/checkout/sessions")) == 1


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_two_upgrade_clicks_at_once_make_one_customer_and_one_session(world) -> None:
    with ThreadPoolExecutor(4) as pool:
        urls = list(pool.map(lambda _: _checkout(world), range(4)))
    assert len(set(urls)) == 1
    assert len(world["stripe"].customer_objects) == 1
    assert len(world["stripe"].checkout_sessions) == 1


def test_a_second_live_subscription_is_logged_and_the_newest_paying_one_wins(world, caplog) -> None:
    t = int(time.time())
    first = _at_stripe(world, sub_id="sub_a", start=t - 100)
    _post(world, _snapshot_event("created", first))
    second = _at_stripe(world, sub_id="sub_b", price=STUDIO_MONTH, start=t - 10)
    with caplog.at_level(logging.ERROR):
        _post(world, _snapshot_event("created", second))
    assert "2 live Stripe subscriptions" in caplog.text and "sub_a" in caplog.text
    row, tier = _row(world)
    assert row.stripe_subscription_id == "sub_b" and tier == "studio"
    # A late event of the older one does not flip the row back.
    _post(world, _snapshot_event("updated", first))
    assert _row(world)[0].stripe_subscription_id == "sub_b"


def test_checkout_completed_links_the_subscription_from_stripe(world) -> None:
    url = _checkout(world)
    fake = world["stripe"]
    session_id = url.rsplit("/", 1)[1]
    sub = fake.complete_checkout(session_id)
    customer = _row(world)[0].stripe_customer_id
    event = checkout_session_completed(str(world["user"].user_id), customer, sub["id"])
    assert _post(world, event).json()["outcome"] == "applied"
    row, tier = _row(world)
    assert tier == "pro" and row.stripe_subscription_id == sub["id"]


# --- Stripe's real delivery: concurrency across workers --------------------------------


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_concurrent_deliveries_to_several_workers_end_on_stripes_state(world) -> None:
    """Issue item 2: per user a newer and an older subscription.updated (plus an invoice and
    a duplicate), all in flight at once across three worker processes."""
    users = []
    with admin_session_scope(world["db"]) as session:
        for i in range(12):
            users.append(make_user(session, f"c{i}@example.com").user_id)
    t = int(time.time())
    deliveries: list[dict] = []
    expected: dict[uuid.UUID, tuple[str, bool]] = {}
    for i, user_id in enumerate(users):
        sub_id, customer = f"sub_c{i}", f"cus_c{i}"
        older = _at_stripe(world, sub_id=sub_id, customer=customer, user_id=user_id)
        newest_price = STUDIO_MONTH if i % 2 else PRO_YEAR
        newer = _at_stripe(
            world,
            sub_id=sub_id,
            customer=customer,
            user_id=user_id,
            price=newest_price,
            cancel_at_period_end=i % 3 == 0,
        )
        expected[user_id] = ("studio" if i % 2 else "pro", i % 3 == 0)
        update = _snapshot_event("updated", newer, created=t)
        invoice = make_event(
            "invoice.paid", invoice_object(sub_id, customer, t, t + 30 * DAY), created=t + 1
        )
        deliveries += [
            _snapshot_event("updated", older, created=t - 1),
            update,
            _snapshot_event("created", older, created=t),  # same-second tie
            invoice,
            update,  # Stripe delivers at least once
        ]
    env = {
        "DATABASE_URL": world["db"],
        "STRIPE_SECRET_KEY": STRIPE_KEY,
        "STRIPE_API_BASE": world["stripe"].url,
        "STRIPE_WEBHOOK_SECRET": SECRET,
    }
    world["stripe"].read_latency = 0.02
    try:
        with serve_api(env, workers=3) as url:

            async def deliver_all() -> list[int]:
                limit = asyncio.Semaphore(16)
                async with httpx.AsyncClient(base_url=url, timeout=30) as client:

                    async def one(event: dict) -> int:
                        body, headers = signed_request(event, SECRET)
                        async with limit:
                            answer = await client.post(
                                "/api/stripe/webhook", content=body, headers=headers
                            )
                        return answer.status_code

                    return await asyncio.gather(*(one(e) for e in deliveries))

            codes = asyncio.run(deliver_all())
    finally:
        world["stripe"].read_latency = 0.0
    assert codes == [200] * len(deliveries)
    for user_id, (tier_slug, cancelling) in expected.items():
        row, tier = _row(world, user_id)
        assert (tier, row.cancel_at_period_end, row.status) == (tier_slug, cancelling, "active")
    assert _events(world) == len(users) * 4  # every distinct event recorded exactly once


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_database_outage_answers_500_and_the_retry_applies(world, pg_url: str) -> None:
    event = _snapshot_event("updated", _at_stripe(world))
    with database_outage(pg_url):
        answer = _post(world, event)
    assert answer.status_code == 500
    dispose_engines()
    assert _events(world) == 0 and _row(world)[1] == "free"
    retried = _post(world, event)
    assert retried.status_code == 200 and retried.json()["outcome"] == "applied"
    assert _row(world)[1] == "pro"


# --- Portal and configuration ------------------------------------------------------------


def test_the_portal_needs_a_customer(world) -> None:
    with admin_session_scope(world["db"]) as session, pytest.raises(billing.BillingError):
        checkout.open_portal(session=session, user_id=world["user"].user_id)
    _checkout(world)
    with admin_session_scope(world["db"]) as session:
        url = checkout.open_portal(session=session, user_id=world["user"].user_id)
    assert url.startswith("https://billing.stripe.test/")


def test_a_plan_without_a_price_says_so(world) -> None:
    with admin_session_scope(world["db"]) as session:
        _import_prices(session, studio=False)
        session.execute(
            sa.update(SubscriptionTier)
            .where(SubscriptionTier.slug == "studio")
            .values(stripe_price_monthly_id=None)
        )
    with pytest.raises(billing.BillingError, match="Studio cannot be bought monthly"):
        _checkout(world, tier="studio")


def test_without_a_stripe_key_billing_says_so(world, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STRIPE_SECRET_KEY")
    reset_settings_cache()
    assert not billing.billing_configured()
    with pytest.raises(billing.BillingError) as caught:
        _checkout(world)
    assert caught.value.message == billing.NOT_CONFIGURED
    assert "configured" not in caught.value.message  # words for customers, not operators
    # A webhook cannot read Stripe either: not recorded, answered 500 so Stripe retries.
    event = _snapshot_event("updated", _at_stripe(world))
    assert _post(world, event).status_code == 500 and _events(world) == 0


# --- Repair: python -m promptgen stripe sync ----------------------------------------------


def test_stripe_sync_applies_what_stripe_has_and_prints_what_changed(world, capsys) -> None:
    from promptgen.cli import main

    _checkout(world)  # the customer exists; the webhooks never arrived (endpoint was down)
    customer = _row(world)[0].stripe_customer_id
    _at_stripe(world, customer=customer, price=STUDIO_YEAR)
    email = world["user"].email
    assert main(["stripe", "sync", "--user", email, "--dry-run"]) == 0
    assert "plan free -> studio" in capsys.readouterr().out
    assert _row(world)[1] == "free"  # a dry run changes nothing

    assert main(["stripe", "sync", "--user", email.upper()]) == 0
    out = capsys.readouterr().out
    assert f"{email}: plan free -> studio" in out and "billing_interval month -> year" in out
    row, tier = _row(world)
    assert tier == "studio" and row.stripe_subscription_id == "sub_1"
    assert main(["stripe", "sync", "--all"]) == 0
    assert f"{email}: unchanged" in capsys.readouterr().out

    # A second live subscription for the same customer: shown as an error, exit code 3.
    _at_stripe(world, sub_id="sub_2", customer=customer, price=PRO_MONTH)
    assert main(["stripe", "sync", "--all"]) == 3
    out = capsys.readouterr().out
    assert "ERROR: 2 live subscriptions" in out and "sub_1" in out and "sub_2" in out

    assert main(["stripe", "sync", "--user", "nobody@example.com"]) == 2
    assert "no user with the email 'nobody@example.com'" in capsys.readouterr().err


def test_events_about_a_deleted_account_are_recorded_not_retried_forever(world) -> None:
    from promptgen.services.account_deletion import delete_account
    from tests.support.factories import DEFAULT_PASSWORD

    subscription = _at_stripe(world)
    assert _post(world, _snapshot_event("created", subscription)).status_code == 200
    with admin_session_scope(world["db"]) as session:
        delete_account(session=session, user_id=world["user"].user_id, password=DEFAULT_PASSWORD)
    canceled = world["stripe"].subscriptions["sub_1"]
    assert canceled["status"] == "canceled"
    answer = _post(world, _snapshot_event("deleted", canceled))
    assert answer.status_code == 200 and answer.json()["outcome"] == "ignored"


def test_resubscribing_after_a_cancel_gets_a_new_checkout(world) -> None:
    fake = world["stripe"]
    first = _checkout(world)
    sub = fake.complete_checkout(first.rsplit("/", 1)[1])  # paid
    fake._cancel_subscription(sub["id"])  # then cancelled (immediately) at Stripe
    # Same day, the user upgrades again to the same plan:
    again = _checkout(world)
    # A new idempotency key, so a new session: not Stripe's replay of the completed one.
    assert again and again != first
    keys = {r.headers["idempotency-key"] for r in fake.requests_to("POST", "/v1/checkout/sessions")}
    assert len(keys) == 2 and len(fake.checkout_sessions) == 2
