"""Billing benchmarks (issue: billing).

1. Webhook throughput on PostgreSQL: 1,000 signed subscription events through the real
   Starlette route in one process (one worker), 8 in flight: events per second, p95 latency.
2. Webhook-to-badge latency in a real browser against `reflex run --env prod`: from sending
   a signed event to the badge showing the change, p50 and p95.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from sqlmodel import select

from bench.support import postgres_database, save, summary_ms
from promptgen.catalog import default_catalog, import_catalog, seed_catalog
from promptgen.db import admin_session_scope
from promptgen.models import UserSubscription
from tests.support.app_server import free_port
from tests.support.factories import make_user
from tests.support.fake_stripe import subscription_object
from tests.support.stripe_events import make_event, signed_request

SECRET = "whsec_bench"
EVENTS = 1000
USERS = 100
IN_FLIGHT = 8
BADGE_SAMPLES = 30


def _prices(session) -> None:
    tiers = []
    for tier in default_catalog()["tiers"]:
        if tier["slug"] != "free":
            slug = tier["slug"]
            tiers.append(
                {
                    **tier,
                    "stripe_price_monthly_id": f"price_{slug}_m",
                    "stripe_price_yearly_id": f"price_{slug}_y",
                }
            )
    import_catalog(session=session, data={"tiers": tiers})


@contextlib.contextmanager
def _api_server() -> Iterator[str]:
    """The HTTP routes (the webhook among them) served by granian with one worker."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "asgi",
            "--factory",
            "--workers",
            "1",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "promptgen.api.routes:build_api",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _event(user_id: str, n: int, created: int) -> tuple[bytes, dict[str, str]]:
    price = ("price_pro_m", "price_studio_m", "price_pro_y")[n % 3]
    subscription = subscription_object(
        f"sub_{user_id[:12]}",
        f"cus_{user_id[:12]}",
        price,
        interval="year" if price.endswith("_y") else "month",
        current_period_start=created - 60,
        current_period_end=created + 86400 * 30,
        cancel_at_period_end=n % 2 == 1,
        metadata={"user_id": user_id},
    )
    event = make_event("customer.subscription.updated", subscription, created=created)
    return signed_request(event, SECRET)


async def _throughput() -> dict:
    with admin_session_scope() as session:
        seed_catalog(session=session)
        _prices(session)
        users = [str(make_user(session, f"w{i}@example.com").user_id) for i in range(USERS)]
    base = int(time.time()) - EVENTS
    requests = [_event(users[i % USERS], i, base + i) for i in range(EVENTS)]
    latencies: list[float] = []
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)

    with _api_server() as url:
        async with httpx.AsyncClient(base_url=url) as client:

            async def worker() -> None:
                while not queue.empty():
                    body, headers = queue.get_nowait()
                    started = time.perf_counter()
                    answer = await client.post("/api/stripe/webhook", content=body, headers=headers)
                    latencies.append(time.perf_counter() - started)
                    assert answer.status_code == 200, answer.text

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
            wall = time.perf_counter() - started
    with admin_session_scope() as session:
        paid = [r for r in session.exec(select(UserSubscription)).all() if r.stripe_subscription_id]
    return {
        "events": EVENTS,
        "in_flight": IN_FLIGHT,
        "events_per_second": round(EVENTS / wall, 1),
        "latency": summary_ms(latencies),
        "subscriptions_updated": len(paid),
    }


def _badge_latency(database_url: str) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.support.app_server import start_app

    server = start_app(database_url, name="bench-badge", STRIPE_WEBHOOK_SECRET=SECRET)
    with admin_session_scope(database_url) as session:
        _prices(session)
    samples: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page()
            email = f"badge-{uuid.uuid4().hex[:6]}@example.com"
            page.goto(server.url + "/sign-up")
            page.fill("#email", email)
            page.fill("#password", "a long enough password")
            page.click("#submit")
            page.wait_for_url(re.compile(r"/dashboard$"))
            page.wait_for_selector("#plan-name")
            with admin_session_scope(database_url) as session:
                user_id = next(str(r.user_id) for r in session.exec(select(UserSubscription)).all())
            created = int(time.time())
            for n in range(BADGE_SAMPLES):
                body, headers = _event(user_id, n * 2 + 1 if n % 2 else n * 2, created + n)
                expected = "· Cancelling" if n % 2 else ""
                started = time.perf_counter()
                answer = httpx.post(
                    server.url + "/api/stripe/webhook", content=body, headers=headers
                )
                assert answer.status_code == 200, answer.text
                page.wait_for_function(
                    "(want) => (document.querySelector('#plan-status')?.textContent ?? '')"
                    " === want",
                    arg=expected,
                    polling="raf",
                    timeout=10_000,
                )
                samples.append(time.perf_counter() - started)
            browser.close()
    finally:
        server.stop()
    return summary_ms(samples)


def main() -> None:
    with postgres_database({"STRIPE_WEBHOOK_SECRET": SECRET}) as url:
        throughput = asyncio.run(_throughput())
    with postgres_database({"STRIPE_WEBHOOK_SECRET": SECRET}) as url:
        os.environ.pop("STRIPE_SECRET_KEY", None)
        badge = _badge_latency(url)
    figures = {"webhook_throughput": throughput, "webhook_to_badge": badge}
    path = save("billing", figures)
    t = throughput
    print(f"webhook throughput (PostgreSQL, one worker, {t['in_flight']} in flight)")
    print(
        f"  {t['events_per_second']} events/s; latency p50 {t['latency']['p50_ms']} ms, "
        f"p95 {t['latency']['p95_ms']} ms"
    )
    print(
        f"webhook-to-badge in the browser ({badge['n']} samples): "
        f"p50 {badge['p50_ms']} ms, p95 {badge['p95_ms']} ms"
    )
    print(f"saved {path}")
