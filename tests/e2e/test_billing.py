"""Billing in the browser: checkout through the fake Stripe, and the live plan badge — two
tabs of one user update on a signed webhook without reload, another user's tab does not;
then again with several backend workers sharing state through Redis."""

from __future__ import annotations

import re
import time
import uuid

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import PRICES, WEBHOOK_SECRET
from tests.e2e.test_foundation import sign_up
from tests.support.app_server import AppServer
from tests.support.fake_stripe import FakeStripe, subscription_object
from tests.support.postgres import admin_connect
from tests.support.stripe_events import invoice_object, make_event, signed_request

LIVE_TIMEOUT_MS = 1000  # "every open page of that user updates within a second"


def _user_id(server: AppServer, email: str) -> str:
    with admin_connect(server.database_url) as conn:
        return str(conn.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()[0])


def _deliver(server: AppServer, event: dict) -> dict:
    body, headers = signed_request(event, WEBHOOK_SECRET)
    answer = httpx.post(server.url + "/api/stripe/webhook", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _subscription_event(user_id: str, *, price: str, created: int, **changes) -> dict:
    subscription = subscription_object(
        f"sub_{user_id[:8]}",
        f"cus_{user_id[:8]}",
        price,
        current_period_start=created - 60,
        current_period_end=created + 30 * 86400,
        metadata={"user_id": user_id},
        **changes,
    )
    return make_event("customer.subscription.updated", subscription, created=created)


def _tabs(browser: Browser, server: AppServer):
    """Two tabs of user A (one browser context) and one tab of user B."""
    context_a = browser.new_context()
    context_b = browser.new_context()
    for context in (context_a, context_b):
        context.set_default_timeout(20_000)
    first = context_a.new_page()
    email_a = sign_up(first, server)
    second = context_a.new_page()
    second.goto(server.url + "/history")
    expect(second.locator("#plan-name")).to_have_text("Free")
    other = context_b.new_page()
    sign_up(other, server)
    return (context_a, context_b), first, second, other, _user_id(server, email_a)


def _live_badge_round(browser: Browser, server: AppServer, rounds: int = 1) -> set[int]:
    contexts, first, second, other, user_a = _tabs(browser, server)
    workers: set[int] = set()
    try:
        created = int(time.time())
        for round_ in range(rounds):
            cancelling = round_ % 2 == 1
            result = _deliver(
                server,
                _subscription_event(
                    user_a,
                    price=PRICES["pro"][0],
                    created=created + round_,
                    cancel_at_period_end=cancelling,
                ),
            )
            workers.add(result["worker"])
            for tab in (first, second):
                expect(tab.locator("#plan-name")).to_have_text("Pro", timeout=LIVE_TIMEOUT_MS)
                status = tab.locator("#plan-status")
                if cancelling:
                    expect(status).to_have_text("· Cancelling", timeout=LIVE_TIMEOUT_MS)
                else:
                    expect(status).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
        # A failed renewal shows as past due, live.
        invoice = invoice_object(
            f"sub_{user_a[:8]}",
            f"cus_{user_a[:8]}",
            created,
            created + 30 * 86400,
            status="open",
        )
        _deliver(server, make_event("invoice.payment_failed", invoice, created=created + 100))
        for tab in (first, second):
            expect(tab.locator("#plan-status")).to_have_text("· Past due", timeout=LIVE_TIMEOUT_MS)
        # Nobody else's page moved.
        expect(other.locator("#plan-name")).to_have_text("Free")
        expect(other.locator("#plan-status")).to_have_count(0)
        assert "/sign-in" not in first.url and "/sign-in" not in second.url
    finally:
        for context in contexts:
            context.close()
    return workers


def test_webhook_updates_every_tab_of_the_user_live(browser: Browser, app_server: AppServer):
    _live_badge_round(browser, app_server)


def test_live_updates_cross_backend_workers(browser: Browser, multi_worker_app: AppServer):
    workers = _live_badge_round(browser, multi_worker_app, rounds=8)
    # Webhooks landed on more than one worker, and every tab (each on one worker's
    # websocket) updated after every one: some updates crossed workers through Redis.
    assert len(workers) >= 2, workers


def test_pricing_without_stripe_says_billing_is_not_configured(
    page: Page, multi_worker_app: AppServer
):
    sign_up(page, multi_worker_app)
    page.goto(multi_worker_app.url + "/pricing")
    buttons = page.locator(".choose-plan")
    expect(buttons).to_have_count(2)
    expect(buttons.first).to_have_text("Billing is not configured on this server")
    expect(buttons.first).to_be_disabled()


def test_upgrade_starts_stripe_checkout(page: Page, app_server: AppServer, fake_stripe: FakeStripe):
    email = sign_up(page, app_server)
    user_id = _user_id(app_server, email)
    page.route(
        re.compile(r"https://checkout\.stripe\.test/.*"),
        lambda route: route.fulfill(
            status=200, body="<h1>Stripe Checkout</h1>", content_type="text/html"
        ),
    )
    page.goto(app_server.url + "/pricing")
    page.click("#billing-period >> text=Yearly")
    page.locator(".choose-plan[data-plan=pro]").click()
    expect(page).to_have_url(re.compile(r"https://checkout\.stripe\.test/"))
    expect(page.get_by_role("heading", name="Stripe Checkout")).to_be_visible()
    sent = [r for r in fake_stripe.requests if r.path == "/v1/checkout/sessions"][-1].form
    assert sent["mode"] == "subscription"
    assert sent["line_items"][0]["price"] == PRICES["pro"][1]
    assert sent["client_reference_id"] == user_id
    assert sent["metadata"]["user_id"] == user_id
    assert sent["customer_email"] == email
    assert sent["success_url"].startswith(app_server.url)
    assert uuid.UUID(user_id)
