"""Generation benchmarks (issue: generation).

1. Overhead: 300 sequential generations through the service on PostgreSQL against the fake
   OpenAI server (no added latency), against 300 direct streamed SDK calls to that server.
2. Concurrency: 100 users generating at once with the fake answering after 300 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import openai
from sqlmodel import select

from bench.support import postgres_database, save, summary_ms
from promptgen.db import admin_session_scope
from promptgen.models import SubscriptionTier, SupportedAIModel, SupportedTemplate
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.generation import GenerationRequest, run_generation
from promptgen.settings import Settings
from tests.support.factories import make_user
from tests.support.fake_providers import DEFAULT_KEY

SEQUENTIAL = 300
USERS = 100
LATENCY_S = 0.3


_FAKE_SCRIPT = """
import sys, time
from tests.support.fake_providers import FakeOpenAI
fake = FakeOpenAI().start()
fake.latency_s = float(sys.argv[1])
print(fake.url, flush=True)
while True:
    time.sleep(3600)
"""


@contextlib.contextmanager
def fake_openai_process(latency_s: float) -> Iterator[str]:
    """The fake OpenAI server in its own process, so its CPU does not share our GIL."""
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-c", _FAKE_SCRIPT, str(latency_s)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()


def _setup(users: int) -> tuple[list, GenerationRequest]:
    with admin_session_scope() as session:
        seed_catalog(session=session)
        for tier in session.exec(select(SubscriptionTier)).all():
            tier.monthly_quota = 1_000_000
        user_ids = [make_user(session, f"bench{i}@example.com").user_id for i in range(users)]
        blueprint = session.exec(
            select(SupportedTemplate).where(SupportedTemplate.slug == "product-photo")
        ).one()
        model = session.exec(
            select(SupportedAIModel).where(SupportedAIModel.slug == "gpt-4.1-mini")
        ).one()
    request = GenerationRequest(
        blueprint_id=blueprint.id, model_id=model.id, parameters={"product": "a brass lamp"}
    )
    return user_ids, request


async def _direct_call(client: openai.AsyncOpenAI, prompt: str) -> None:
    stream = await client.chat.completions.create(
        model="gpt-4.1-mini",
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
    )
    async for _chunk in stream:
        pass


async def _overhead(fake_url: str, settings: Settings, user_id, request) -> dict:
    # Warm up both paths (imports, connection pools, first-request costs).
    for _ in range(10):
        await run_generation(user_id=user_id, request=request, settings=settings)
    client = openai.AsyncOpenAI(api_key=DEFAULT_KEY, base_url=fake_url + "/v1", max_retries=0)
    fresh_client_samples, shared_client_samples, service_samples = [], [], []
    for _ in range(10):
        await _direct_call(client, "warm up")
    for _ in range(SEQUENTIAL):
        started = time.perf_counter()
        await _direct_call(client, "Product photograph of a brass lamp")
        shared_client_samples.append(time.perf_counter() - started)
    for _ in range(SEQUENTIAL):
        started = time.perf_counter()
        fresh = openai.AsyncOpenAI(api_key=DEFAULT_KEY, base_url=fake_url + "/v1", max_retries=0)
        await _direct_call(fresh, "Product photograph of a brass lamp")
        await fresh.close()
        fresh_client_samples.append(time.perf_counter() - started)
    for _ in range(SEQUENTIAL):
        started = time.perf_counter()
        await run_generation(user_id=user_id, request=request, settings=settings)
        service_samples.append(time.perf_counter() - started)
    await client.close()
    service = summary_ms(service_samples)
    direct = summary_ms(shared_client_samples)
    direct_fresh = summary_ms(fresh_client_samples)
    return {
        "service": service,
        "direct_sdk_shared_client": direct,
        "direct_sdk_new_client_per_call": direct_fresh,
        "overhead_p50_ms_vs_shared_client": round(service["p50_ms"] - direct["p50_ms"], 3),
        "overhead_p95_ms_vs_shared_client": round(service["p95_ms"] - direct["p95_ms"], 3),
        "overhead_p50_ms_vs_new_client": round(service["p50_ms"] - direct_fresh["p50_ms"], 3),
    }


async def _concurrency(settings: Settings, user_ids, request) -> dict:
    started = time.perf_counter()
    results = await asyncio.gather(
        *(run_generation(user_id=u, request=request, settings=settings) for u in user_ids),
        return_exceptions=True,
    )
    wall = time.perf_counter() - started
    failures = [r for r in results if isinstance(r, BaseException)]
    return {
        "users": len(user_ids),
        "provider_latency_ms": LATENCY_S * 1000,
        "wall_ms": round(wall * 1000, 1),
        "wall_over_latency": round(wall / LATENCY_S, 2),
        "failures": len(failures),
    }


def main() -> None:
    with (
        fake_openai_process(0) as fast_url,
        fake_openai_process(LATENCY_S) as slow_url,
        postgres_database({}),
    ):
        user_ids, request = _setup(USERS)

        def settings_for(url: str) -> Settings:
            return Settings(
                openai_api_key=DEFAULT_KEY,
                openai_base_url=url + "/v1",
                provider_timeout_seconds=30,
            )

        async def run() -> dict:
            overhead = await _overhead(fast_url, settings_for(fast_url), user_ids[0], request)
            concurrency = await _concurrency(settings_for(slow_url), user_ids, request)
            return {"overhead": overhead, "concurrency": concurrency}

        figures = asyncio.run(run())
    path = save("generation", figures)
    o, c = figures["overhead"], figures["concurrency"]
    print("generation overhead (300 sequential, PostgreSQL, fake OpenAI, no added latency)")
    print(f"  service            p50 {o['service']['p50_ms']} ms  p95 {o['service']['p95_ms']} ms")
    d = o["direct_sdk_shared_client"]
    print(f"  direct SDK         p50 {d['p50_ms']} ms  p95 {d['p95_ms']} ms")
    f = o["direct_sdk_new_client_per_call"]
    print(f"  direct, new client p50 {f['p50_ms']} ms  p95 {f['p95_ms']} ms")
    print(
        f"  overhead p50 {o['overhead_p50_ms_vs_shared_client']} ms (vs shared client), "
        f"{o['overhead_p50_ms_vs_new_client']} ms (vs new client per call)"
    )
    print(
        f"concurrency: {c['users']} users, provider {c['provider_latency_ms']} ms -> "
        f"wall {c['wall_ms']} ms ({c['wall_over_latency']}x), failures {c['failures']}"
    )
    print(f"saved {path}")
