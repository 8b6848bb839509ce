"""Two app instances (`reflex run --env prod` on two ports) sharing one PostgreSQL and one
Redis serve the same users, as behind a load balancer (issue 14):

- a tab on instance A shows the plan change from a webhook that instance B received;
- a generation started on A is cancelled from B (the tab's websocket moved to B): the run on
  A stops, the page says so, nothing is charged and history says cancelled.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import redis
from playwright.sync_api import Browser, expect

from promptgen.vault import new_master_key_text
from tests.e2e.conftest import STRIPE_KEY, WEBHOOK_SECRET, set_stripe_prices
from tests.e2e.test_billing import PRICES, _changed, _deliver, _user_id
from tests.e2e.test_foundation import sign_up
from tests.e2e.test_generation import _pick
from tests.support.app_server import ARTIFACTS, AppServer, start_app
from tests.support.fake_providers import DEFAULT_KEY, FakeOpenAI
from tests.support.postgres import admin_connect

LIVE_TIMEOUT_MS = 5000


@pytest.fixture(scope="module")
def instances(
    postgres_server, redis_server, fake_openai, fake_stripe, tmp_path_factory
) -> Iterator[tuple[AppServer, AppServer]]:
    database_url = postgres_server.create_database("promptgen_e2e_instances")
    shared = dict(
        REDIS_URL=redis_server.url,
        OPENAI_API_KEY=DEFAULT_KEY,
        OPENAI_BASE_URL=fake_openai.url + "/v1",
        KEY_ENCRYPTION_KEYS=new_master_key_text(),  # the same keys on every instance
        STRIPE_SECRET_KEY=STRIPE_KEY,
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    first = start_app(database_url, name="instance-a", **shared)
    try:
        second = start_app(database_url, name="instance-b", **shared)
    except BaseException:
        first.stop()
        raise
    set_stripe_prices(first, tmp_path_factory.mktemp("prices"))
    yield first, second
    first.stop()
    second.stop()
    postgres_server.drop_database(database_url)


def test_a_webhook_on_b_updates_a_tab_on_a(browser: Browser, instances, fake_stripe) -> None:
    a, b = instances
    context = browser.new_context()
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        email = sign_up(page, a)
        expect(page.locator("#plan-name")).to_have_text("Free")
        event = _changed(
            fake_stripe, _user_id(a, email), price=PRICES["pro"][0], created=int(time.time())
        )
        _deliver(b, event)
        expect(page.locator("#plan-name")).to_have_text("Pro", timeout=LIVE_TIMEOUT_MS)
    finally:
        context.close()


def _wait_until_disconnected(redis_url: str, token: str) -> None:
    """Until Reflex has dropped the tab's socket record (A saw its websocket close), so the
    tab's return through B is a reconnection, not a duplicate tab given a new token."""
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 20
    while client.exists(f"token_manager_socket_record_{token}"):
        assert time.monotonic() < deadline, "A never saw the tab's websocket close"
        time.sleep(0.1)
    client.close()


def test_a_generation_on_a_is_cancelled_from_b(
    browser: Browser, instances, fake_openai: FakeOpenAI, redis_server
) -> None:
    a, b = instances
    context = browser.new_context()
    context.set_default_timeout(20_000)
    fake_openai.latency_s = 30  # the provider would answer in half a minute
    try:
        on_a = context.new_page()
        email = sign_up(on_a, a)
        _pick(on_a, "GPT-4.1 mini", "a walnut desk lamp")
        on_a.click("#generate")
        expect(on_a.locator("#cancel")).to_be_visible()
        token = on_a.evaluate("window.sessionStorage.getItem('token')")
        assert token
        # The tab's websocket moves to B (A's connection ends; the tab, same token, comes
        # back through the other instance), while the run goes on in A's process.
        on_a.close()
        _wait_until_disconnected(redis_server.url, token)
        on_b = context.new_page()
        on_b.add_init_script(f"window.sessionStorage.setItem('token', {token!r})")
        on_b.goto(b.url + "/dashboard")
        expect(on_b.locator("#cancel")).to_be_visible(timeout=20_000)
        assert on_b.evaluate("window.sessionStorage.getItem('token')") == token
        on_b.click("#cancel")
        # The run on A stopped before any output: the unit came back and history says so.
        expect(on_b.locator("#generate")).to_be_enabled(timeout=20_000)
        expect(on_b.locator("#plan-badge")).to_contain_text("0 / 25")
        on_b.get_by_role("link", name="History").first.click()
        rows = on_b.locator(".history-row")
        expect(rows).to_have_count(1)
        expect(rows.nth(0)).to_contain_text("cancelled")
    except BaseException:
        for number, tab in enumerate(context.pages):
            tab.screenshot(path=str(ARTIFACTS / f"instances-cancel-{number}.png"))
        raise
    finally:
        fake_openai.latency_s = 0
        context.close()
    with admin_connect(a.database_url) as conn:
        rows = conn.execute(
            "SELECT p.status, p.quota_reserved FROM user_prompts p JOIN users u "
            "ON u.id = p.user_id WHERE u.email = %s",
            (email,),
        ).fetchall()
    assert rows == [("cancelled", False)]
