"""Billing benchmarks (issue 10), each run on this design and on the previous one (the
sources of commit `BASELINE_COMMIT`, taken with `git archive`) in the same run.

1. Webhook throughput on PostgreSQL: signed events through the real Starlette route served by
   granian with one worker, `IN_FLIGHT` at once, delivered slightly out of order (as Stripe
   does), with the fake Stripe answering every read after `STRIPE_LATENCY_S`: events per
   second, latency p50/p95, and how many users ended on Stripe's newest state.
2. Webhook-to-badge latency in Chromium against `reflex run --env prod`: from sending a signed
   event to the badge showing the change, p50 and p95.
"""

from __future__ import annotations

import asyncio
import copy
import random
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlmodel import select

from bench.support import design_sources, postgres_database, save, summary_ms
from promptgen.db import admin_session_scope
from promptgen.models import SubscriptionTier, UserSubscription
from promptgen.services.catalog_import import default_catalog, import_catalog, seed_catalog
from tests.support.api_server import serve_api
from tests.support.factories import make_user
from tests.support.fake_stripe import DEFAULT_KEY, FakeStripe, customer_object, subscription_object
from tests.support.stripe_events import invoice_object, make_event, signed_request

SECRET = "whsec_bench"
BASELINE_COMMIT = "78afb9b"  # the design before issue 10: event timestamps, no Stripe reads
USERS = 100
EVENTS_PER_USER = 10
IN_FLIGHT = 32
STRIPE_LATENCY_S = 0.05
BADGE_SAMPLES = 30
PRICES = ("price_pro_m", "price_studio_m", "price_pro_y")


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


def _subscription(user_id: str, n: int, start: int) -> dict:
    price = PRICES[n % 3]
    return subscription_object(
        f"sub_{user_id[:12]}",
        f"cus_{user_id[:12]}",
        price,
        interval="year" if price.endswith("_y") else "month",
        current_period_start=start,
        current_period_end=start + 86400 * 30,
        created=start,
        cancel_at_period_end=n % 2 == 1,
        metadata={"user_id": user_id},
    )


def _stream(users: list[str], fake: FakeStripe) -> tuple[list, dict[str, tuple[str, bool]]]:
    """Per user, EVENTS_PER_USER events one second apart (subscription updates and, every
    fourth and last, an invoice.paid), delivered a little out of order. The fake Stripe holds
    each user's newest state, which is what every user must end on."""
    base = int(time.time()) - 600
    events: list[tuple[int, bytes, dict[str, str]]] = []
    newest: dict[str, tuple[str, bool]] = {}
    for user_id in users:
        last = None
        for n in range(EVENTS_PER_USER):
            created = base + n
            # Invoices every fourth second and last: an invoice.paid one second after the
            # final plan change, which Stripe may deliver first (issue 10, item 1).
            if n % 4 == 3 or n == EVENTS_PER_USER - 1:
                event = make_event(
                    "invoice.paid",
                    invoice_object(
                        f"sub_{user_id[:12]}", f"cus_{user_id[:12]}", base, base + 30 * 86400
                    ),
                    created=created,
                )
            else:
                last = _subscription(user_id, n, base)
                event = make_event(
                    "customer.subscription.updated", copy.deepcopy(last), created=created
                )
            events.append((created, *signed_request(event, SECRET)))
        fake.subscriptions[last["id"]] = last
        fake.customer_objects[last["customer"]] = customer_object(
            last["customer"], metadata={"user_id": user_id}
        )
        price = last["items"]["data"][0]["price"]["id"]
        newest[user_id] = ("studio" if "studio" in price else "pro", last["cancel_at_period_end"])
    # Stripe does not promise order: shuffle within windows of a few seconds.
    rng = random.Random(10)
    events.sort(key=lambda e: (e[0] + rng.uniform(0, 3), rng.random()))
    return [(body, headers) for _, body, headers in events], newest


def _on_newest(newest: dict[str, tuple[str, bool]]) -> int:
    with admin_session_scope() as session:
        slugs = {t.id: t.slug for t in session.exec(select(SubscriptionTier)).all()}
        rows = session.exec(select(UserSubscription)).all()
        return sum(
            1
            for r in rows
            if str(r.user_id) in newest
            and newest[str(r.user_id)] == (slugs[r.tier_id], r.cancel_at_period_end)
        )


async def _deliver(url: str, requests: list) -> tuple[float, list[float], list[int]]:
    latencies: list[float] = []
    codes: list[int] = []
    queue: asyncio.Queue = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:

        async def worker() -> None:
            while not queue.empty():
                body, headers = queue.get_nowait()
                started = time.perf_counter()
                answer = await client.post("/api/stripe/webhook", content=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                codes.append(answer.status_code)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        return time.perf_counter() - started, latencies, codes


def _throughput(database_url: str, fake: FakeStripe, pythonpath: str | None) -> dict:
    with admin_session_scope() as session:
        seed_catalog(session=session)
        _prices(session)
        users = [str(make_user(session, f"w{i}@example.com").user_id) for i in range(USERS)]
    requests, newest = _stream(users, fake)
    env = {
        "DATABASE_URL": database_url,
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_SECRET_KEY": DEFAULT_KEY,
        "STRIPE_API_BASE": fake.url,
        "LOG_LEVEL": "WARNING",
    }
    fake.read_latency = STRIPE_LATENCY_S
    with serve_api(env, workers=1, pythonpath=pythonpath) as url:
        wall, latencies, codes = asyncio.run(_deliver(url, requests))
    fake.read_latency = 0.0
    return {
        "events": len(requests),
        "in_flight": IN_FLIGHT,
        "stripe_read_ms": STRIPE_LATENCY_S * 1000,
        "events_per_second": round(len(requests) / wall, 1),
        "latency": summary_ms(latencies),
        "non_2xx": sum(1 for c in codes if c >= 300),
        "users_on_stripes_newest_state": _on_newest(newest),
        "users": USERS,
    }


def _badge_latency(database_url: str, fake: FakeStripe, root: Path | None) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
    from tests.support.app_server import start_app

    extra = {"root": root} if root else {}
    server = start_app(
        database_url,
        name="bench-badge" + ("-baseline" if root else ""),
        STRIPE_WEBHOOK_SECRET=SECRET,
        STRIPE_SECRET_KEY=DEFAULT_KEY,
        STRIPE_API_BASE=fake.url,
        **extra,
    )
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
            page.wait_for_url(re.compile(r"/dashboard/?$"))
            page.wait_for_selector("#plan-name")
            with admin_session_scope(database_url) as session:
                user_id = next(str(r.user_id) for r in session.exec(select(UserSubscription)).all())
            created = int(time.time())
            fake.read_latency = STRIPE_LATENCY_S
            for n in range(BADGE_SAMPLES):
                cancelling = n % 2 == 1
                # Pro monthly (PRICES[0]), cancelling on odd samples.
                subscription = _subscription(user_id, 3 if cancelling else 0, created)
                fake.subscriptions[subscription["id"]] = subscription
                event = make_event(
                    "customer.subscription.updated",
                    copy.deepcopy(subscription),
                    created=created + n,
                )
                body, headers = signed_request(event, SECRET)
                if not cancelling:
                    expected = ""
                elif root:  # the previous design's badge
                    expected = "· Cancelling"
                else:
                    end = datetime.fromtimestamp(subscription["cancel_at"], UTC)
                    expected = f"· Ends on {end:%b} {end.day}, {end.year}"
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
        fake.read_latency = 0.0
        server.stop()
    return summary_ms(samples)


def _ratio(new: float, old: float) -> str:
    return f"{new / old:.2f}x" if old else "n/a"


def main() -> None:
    figures: dict[str, dict] = {}
    with FakeStripe() as fake, design_sources(BASELINE_COMMIT) as baseline:
        for design, source in (("previous", baseline), ("new", None)):
            env = {"STRIPE_WEBHOOK_SECRET": SECRET}
            with postgres_database(env, previous_design=source) as url:
                figures.setdefault(design, {})["webhook_throughput"] = _throughput(
                    url, fake, str(source) if source else None
                )
            with postgres_database(env, previous_design=source) as url:
                try:
                    figures[design]["webhook_to_badge"] = _badge_latency(url, fake, source)
                except Exception as exc:  # the old app on today's schema: report, go on
                    if source is None:
                        raise
                    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                    figures[design]["webhook_to_badge"] = {"error": reason}
    path = save("billing", figures)
    old_t, new_t = figures["previous"]["webhook_throughput"], figures["new"]["webhook_throughput"]
    old_b, new_b = figures["previous"]["webhook_to_badge"], figures["new"]["webhook_to_badge"]
    print(
        f"webhook throughput (PostgreSQL, granian, one worker, {IN_FLIGHT} in flight, "
        f"{new_t['events']} events, fake Stripe reads {new_t['stripe_read_ms']:.0f} ms)"
    )
    print(f"  {'':10}{'events/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'non-2xx':>9}  on newest")
    for name, t in (("previous", old_t), ("new", new_t)):
        print(
            f"  {name:10}{t['events_per_second']:>10}{t['latency']['p50_ms']:>10}"
            f"{t['latency']['p95_ms']:>10}{t['non_2xx']:>9}  "
            f"{t['users_on_stripes_newest_state']}/{t['users']} users"
        )
    print(
        f"  new/previous: events/s {_ratio(new_t['events_per_second'], old_t['events_per_second'])}"
        f", p95 {_ratio(new_t['latency']['p95_ms'], old_t['latency']['p95_ms'])}"
        "  (target: >= 200 events/s, p95 <= 300 ms)"
    )
    print(f"webhook-to-badge in Chromium ({new_b['n']} samples)")
    for name, b in (("previous", old_b), ("new", new_b)):
        if "error" in b:
            print(f"  {name:10} not measured ({b['error']})")
        else:
            print(f"  {name:10} p50 {b['p50_ms']} ms, p95 {b['p95_ms']} ms")
    if "error" not in old_b:
        print(f"  new/previous: p95 {_ratio(new_b['p95_ms'], old_b['p95_ms'])}", end="")
    print("  (target: p95 <= 150 ms)")
    print(f"saved {path}")
