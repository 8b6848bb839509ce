"""Billing in the browser, against the fake Stripe (which keeps state) and signed webhooks.

The live plan badge: two tabs of one user update on a signed webhook without reload, another
user's tab does not; then again with several backend workers sharing state through Redis.
Checkout: a double upgrade click in two tabs opens one Checkout Session and ends in one
subscription. Payment problems keep the plan's name with Free limits and a way to the portal;
a scheduled end says when; a downgrade says how the usage already spent counts.
"""

from __future__ import annotations

import copy
import re
import time
from datetime import UTC, datetime

import httpx
from playwright.sync_api import Browser, Page, expect

from promptgen.periods import add_months
from tests.e2e.conftest import PRICES, WEBHOOK_SECRET
from tests.e2e.test_foundation import sign_up
from tests.support.app_server import AppServer
from tests.support.fake_stripe import FakeStripe, subscription_object
from tests.support.postgres import admin_connect
from tests.support.stripe_events import (
    checkout_session_completed,
    invoice_object,
    make_event,
    signed_request,
)

LIVE_TIMEOUT_MS = 1000  # "every open page of that user updates within a second"
DAY = 86_400


def _user_id(server: AppServer, email: str) -> str:
    with admin_connect(server.database_url) as conn:
        return str(conn.execute("SELECT id FROM users WHERE email = %s", (email,)).fetchone()[0])


def _sql(server: AppServer, statement: str, *params) -> None:
    with admin_connect(server.database_url) as conn:
        conn.execute(statement, params)


def _deliver(server: AppServer, event: dict) -> dict:
    body, headers = signed_request(event, WEBHOOK_SECRET)
    answer = httpx.post(server.url + "/api/stripe/webhook", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _worker_that_applied(server: AppServer, event_id: str) -> int:
    """The pid of the backend worker that applied `event_id`, from the app's log (the
    webhook's answer does not carry it)."""
    pattern = re.compile(rf"stripe event {re.escape(event_id)} \(.*\(worker (\d+)\)")
    deadline = time.monotonic() + 10
    while True:
        found = pattern.search(server.log_path.read_text())
        if found or time.monotonic() > deadline:
            assert found, f"no log line for stripe event {event_id}"
            return int(found.group(1))
        time.sleep(0.2)


def _day(ts: int) -> str:
    moment = datetime.fromtimestamp(ts, UTC)
    return f"{moment:%b} {moment.day}, {moment.year}"


def _stripe_now(
    fake: FakeStripe, user_id: str, *, price: str, start: int | None = None, **changes
) -> dict:
    """Set the user's subscription at the fake Stripe (what Stripe has now)."""
    start = start if start is not None else int(time.time()) - 60
    subscription = subscription_object(
        f"sub_{user_id[:8]}",
        f"cus_{user_id[:8]}",
        price,
        current_period_start=start,
        current_period_end=start + 30 * DAY,
        created=start,
        metadata={"user_id": user_id},
        **changes,
    )
    fake.subscriptions[subscription["id"]] = subscription
    return subscription


def _changed(fake: FakeStripe, user_id: str, *, price: str, created: int, **changes) -> dict:
    """Stripe changes the subscription and sends customer.subscription.updated about it."""
    subscription = _stripe_now(fake, user_id, price=price, **changes)
    return make_event("customer.subscription.updated", copy.deepcopy(subscription), created=created)


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


def _live_badge_round(
    browser: Browser, server: AppServer, fake: FakeStripe, rounds: int = 1
) -> set[int]:
    contexts, first, second, other, user_a = _tabs(browser, server)
    workers: set[int] = set()
    try:
        created = int(time.time())
        for round_ in range(rounds):
            cancelling = round_ % 2 == 1
            event = _changed(
                fake,
                user_a,
                price=PRICES["pro"][0],
                created=created + round_,
                cancel_at_period_end=cancelling,
            )
            _deliver(server, event)
            workers.add(_worker_that_applied(server, event["id"]))
            ends = event["data"]["object"]["items"]["data"][0]["current_period_end"]
            for tab in (first, second):
                expect(tab.locator("#plan-name")).to_have_text("Pro", timeout=LIVE_TIMEOUT_MS)
                status = tab.locator("#plan-status")
                if cancelling:
                    expect(status).to_have_text(f"· Ends on {_day(ends)}", timeout=LIVE_TIMEOUT_MS)
                else:
                    expect(status).to_have_count(0, timeout=LIVE_TIMEOUT_MS)
        # A failed renewal: Stripe marks the subscription past_due and sends the invoice event.
        subscription = _stripe_now(fake, user_a, price=PRICES["pro"][0], status="past_due")
        invoice = invoice_object(
            subscription["id"],
            subscription["customer"],
            created,
            created + 30 * DAY,
            status="open",
        )
        _deliver(server, make_event("invoice.payment_failed", invoice, created=created + 100))
        for tab in (first, second):
            expect(tab.locator("#plan-status")).to_have_text("· Past due", timeout=LIVE_TIMEOUT_MS)
            expect(tab.locator("#payment-notice")).to_contain_text("Your plan stays until")
        # Nobody else's page moved.
        expect(other.locator("#plan-name")).to_have_text("Free")
        expect(other.locator("#plan-status")).to_have_count(0)
        expect(other.locator("#payment-banner")).to_have_count(0)
        assert "/sign-in" not in first.url and "/sign-in" not in second.url
    finally:
        for context in contexts:
            context.close()
    return workers


def test_webhook_updates_every_tab_of_the_user_live(
    browser: Browser, app_server: AppServer, fake_stripe: FakeStripe
):
    _live_badge_round(browser, app_server, fake_stripe)


def test_live_updates_cross_backend_workers(
    browser: Browser, multi_worker_app: AppServer, fake_stripe: FakeStripe
):
    workers = _live_badge_round(browser, multi_worker_app, fake_stripe, rounds=8)
    # Webhooks landed on more than one worker, and every tab (each on one worker's
    # websocket) updated after every one: some updates crossed workers through Redis.
    assert len(workers) >= 2, workers


def test_pricing_without_stripe_says_paid_plans_open_soon(page: Page, unconfigured_app: AppServer):
    sign_up(page, unconfigured_app)
    page.goto(unconfigured_app.url + "/pricing")
    buttons = page.locator(".choose-plan")
    expect(buttons).to_have_count(2)
    # Customer words, not the operator's ("Billing is not configured on this server").
    expect(buttons.first).to_have_text("Paid plans open soon")
    expect(buttons.first).to_be_disabled()


def _stub_page(title: str):
    def handler(route) -> None:
        route.fulfill(status=200, body=f"<h1>{title}</h1>", content_type="text/html")

    return handler


def _stub_stripe_pages(context) -> None:
    """Stripe's hosted pages are not reachable here: the browser gets a stand-in."""
    context.route(re.compile(r"https://checkout\.stripe\.test/.*"), _stub_page("Stripe Checkout"))
    context.route(re.compile(r"https://billing\.stripe\.test/.*"), _stub_page("Customer Portal"))


def test_upgrade_starts_stripe_checkout_with_the_users_customer(
    page: Page, app_server: AppServer, fake_stripe: FakeStripe
):
    email = sign_up(page, app_server)
    user_id = _user_id(app_server, email)
    _stub_stripe_pages(page.context)
    page.goto(app_server.url + "/pricing")
    page.click("#billing-period >> text=Yearly")
    page.locator(".choose-plan[data-plan=pro]").click()
    expect(page).to_have_url(re.compile(r"https://checkout\.stripe\.test/"))
    expect(page.get_by_role("heading", name="Stripe Checkout")).to_be_visible()
    customers = [
        c for c in fake_stripe.customer_objects.values() if c["metadata"].get("user_id") == user_id
    ]
    assert len(customers) == 1 and customers[0]["email"] == email
    sent = [r for r in fake_stripe.requests if r.path == "/v1/checkout/sessions"][-1].form
    assert sent["mode"] == "subscription"
    assert sent["line_items"][0]["price"] == PRICES["pro"][1]
    assert sent["customer"] == customers[0]["id"] and "customer_email" not in sent
    assert sent["client_reference_id"] == user_id
    assert sent["success_url"].startswith(app_server.url)


def test_a_double_upgrade_click_in_two_tabs_ends_in_one_subscription(
    browser: Browser, app_server: AppServer, fake_stripe: FakeStripe
):
    context = browser.new_context()
    context.set_default_timeout(20_000)
    _stub_stripe_pages(context)
    try:
        first = context.new_page()
        email = sign_up(first, app_server)
        user_id = _user_id(app_server, email)
        second = context.new_page()
        for tab in (first, second):
            tab.goto(app_server.url + "/pricing")
            expect(tab.locator(".choose-plan[data-plan=pro]")).to_have_text("Upgrade to Pro")
        # Both tabs, before any webhook: one click each, as fast as the user can.
        first.locator(".choose-plan[data-plan=pro]").click()
        second.locator(".choose-plan[data-plan=pro]").click()
        for tab in (first, second):
            expect(tab.get_by_role("heading", name="Stripe Checkout")).to_be_visible()
        assert first.url == second.url  # one Checkout Session, open in both tabs
        customer = next(
            c["id"]
            for c in fake_stripe.customer_objects.values()
            if c["metadata"].get("user_id") == user_id
        )
        sessions = [s for s in fake_stripe.checkout_sessions.values() if s["customer"] == customer]
        assert len(sessions) == 1
        # The user pays; Stripe creates the subscription and sends its events.
        subscription = fake_stripe.complete_checkout(sessions[0]["id"])
        _deliver(app_server, checkout_session_completed(user_id, customer, subscription["id"]))
        _deliver(
            app_server, make_event("customer.subscription.created", copy.deepcopy(subscription))
        )
        first.goto(app_server.url + "/settings?checkout=success")
        expect(first.locator("#plan-name")).to_have_text("Pro")
        expect(first.locator("#checkout-notice")).to_be_visible()
        # Paying in the other tab is refused: the session is complete.
        try:
            fake_stripe.complete_checkout(sessions[0]["id"])
            raise AssertionError("a completed Checkout Session took a second payment")
        except ValueError:
            pass
        # Upgrading again sends the subscriber to the portal, never to a second Checkout.
        second.goto(app_server.url + "/pricing")
        expect(second.locator(".plan-card", has_text="Your plan")).to_contain_text("Pro")
        second.locator(".choose-plan[data-plan=studio]").click()
        expect(second.get_by_role("heading", name="Customer Portal")).to_be_visible()
        live = [
            s
            for s in fake_stripe.subscriptions.values()
            if s["customer"] == customer and s["status"] != "canceled"
        ]
        assert len(live) == 1
    finally:
        context.close()


def test_payment_problems_scheduled_ends_and_downgrades_say_what_applies(
    page: Page, app_server: AppServer, fake_stripe: FakeStripe
):
    email = sign_up(page, app_server)
    user_id = _user_id(app_server, email)
    _stub_stripe_pages(page.context)
    now = int(time.time())
    pro = PRICES["pro"][0]
    _deliver(app_server, _changed(fake_stripe, user_id, price=pro, created=now))
    expect(page.locator("#plan-usage")).to_have_text("0 / 500")

    # Unpaid: the plan's name stays, Free limits apply, and the way out is one click away.
    _deliver(app_server, _changed(fake_stripe, user_id, price=pro, created=now, status="unpaid"))
    expect(page.locator("#plan-name")).to_have_text("Pro")
    expect(page.locator("#plan-status")).to_have_text("· Unpaid")
    expect(page.locator("#plan-usage")).to_have_text("0 / 25")
    expect(page.locator("#payment-notice")).to_have_text(
        "Your Pro payment failed: Free limits (25 generations a month) apply until it is paid."
    )
    page.click("#update-payment-method")
    expect(page.get_by_role("heading", name="Customer Portal")).to_be_visible()

    # Paid again, then a cancellation scheduled for a date: "Ends on <date>".
    page.goto(app_server.url + "/dashboard")
    ends = now + 12 * DAY
    _deliver(app_server, _changed(fake_stripe, user_id, price=pro, created=now, cancel_at=ends))
    expect(page.locator("#plan-status")).to_have_text(f"· Ends on {_day(ends)}")
    expect(page.locator("#payment-banner")).to_have_count(0)

    # It ends with 120 generations used this month: they still count against Free's 25.
    subscription = fake_stripe.subscriptions[f"sub_{user_id[:8]}"]
    anchor = subscription["start_date"]
    _sql(
        app_server,
        "UPDATE user_subscriptions SET usage_count = 120, usage_period_start = quota_anchor "
        "WHERE user_id = %s",
        user_id,
    )
    subscription.update(status="canceled", ended_at=now)
    _deliver(app_server, make_event("customer.subscription.deleted", copy.deepcopy(subscription)))
    # The month started with the subscription; the count starts again a month later.
    resets = _day(int(add_months(datetime.fromtimestamp(anchor, UTC), 1).timestamp()))
    expect(page.locator("#plan-name")).to_have_text("Free")
    expect(page.locator("#plan-usage")).to_have_text(f"120 / 25 · resets {resets}")
    page.goto(app_server.url + "/settings")
    expect(page.locator("#usage-note")).to_have_text(
        "You used 120 generations this month, more than the 25 that apply now. Generations "
        f"already used still count after a plan change; the count starts again on {resets}. "
        "Until then you can keep generating with your own API key."
    )
