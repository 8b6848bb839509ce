"""Generation benchmarks (issue: generation).

Everything is a ratio against the bare SDK doing the same work in the same run (issue 14):
1. Overhead: 300 sequential generations through the service on PostgreSQL against the fake
   OpenAI server (own process, no added latency), interleaved with 300 bare streamed
   AsyncOpenAI calls to that server: p50/p95 of each and the difference.
2. Concurrency: 100 users generating at once against 100 bare calls at once, the fake
   answering after 300 ms; wall times alternated over ROUNDS rounds, medians and the ratio.
"""

from __future__ import annotations

import asyncio
import statistics
import time

import openai
from sqlmodel import select

from bench.support import fake_openai_process, postgres_database, save, summary_ms
from promptgen.db import admin_session_scope, run_user_statement
from promptgen.models import SubscriptionTier, SupportedAIModel, SupportedTemplate
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.generation import GenerationRequest, run_generation
from promptgen.settings import Settings
from tests.support.factories import make_user
from tests.support.fake_providers import DEFAULT_KEY

SEQUENTIAL = 300
USERS = 100
LATENCY_S = 0.3
ROUNDS = 4


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


# The bare call sends what PromptGen sends for the benchmark's request (system instructions,
# the compiled prompt as a text part), so both ask the SDK for the same work.
_MESSAGES: list = []


def _bare_messages(request: GenerationRequest) -> list:
    from promptgen.blueprints import coerce_and_validate, compile_prompt
    from promptgen.db import session_scope
    from promptgen.providers import ProviderRequest
    from promptgen.providers.openai import _messages
    from promptgen.services import catalog

    with session_scope() as session:
        blueprint = catalog.get_blueprint(session=session, blueprint_id=request.blueprint_id)
    values, _ = coerce_and_validate(blueprint.parameter_schema, request.parameters)
    prompt = compile_prompt(prompt_template=blueprint.prompt_template, parameters=values)
    return _messages(
        ProviderRequest(
            model_name="gpt-4.1-mini", prompt=prompt, instructions=blueprint.instructions
        )
    )


async def _direct_call(client: openai.AsyncOpenAI, prompt: str = "") -> None:
    stream = await client.chat.completions.create(
        model="gpt-4.1-mini",
        messages=_MESSAGES or [{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
    )
    async for _chunk in stream:
        pass


async def _overhead(fake_url: str, settings: Settings, user_id, request) -> dict:
    """Sequential samples, interleaved (bare, service, service, bare, ...) so both paths see
    the same machine load; the bare call shares one client, as PromptGen shares its pool."""
    client = openai.AsyncOpenAI(api_key=DEFAULT_KEY, base_url=fake_url + "/v1", max_retries=0)
    for _ in range(20):  # warm up both paths (imports, pools, prepared statements)
        await _direct_call(client, "warm up")
        await run_generation(user_id=user_id, request=request, settings=settings)
    bare_samples, service_samples, commit_samples = [], [], []
    # The floor PromptGen cannot go under: one durable commit (the finish's WAL flush), the
    # same shape as the finish (one user-scoped statement, one round trip), on a history row.
    probe_row = (
        await run_user_statement(
            user_id, "SELECT id FROM user_prompts ORDER BY created_at DESC LIMIT 1", ()
        )
    )[0][0]

    async def durable_commit() -> None:
        started = time.perf_counter()
        await run_user_statement(
            user_id,
            "UPDATE user_prompts SET is_favorite = NOT is_favorite WHERE id = %s",
            (probe_row,),
        )
        commit_samples.append(time.perf_counter() - started)

    async def bare() -> None:
        started = time.perf_counter()
        await _direct_call(client, "Product photograph of a brass lamp")
        bare_samples.append(time.perf_counter() - started)

    async def service() -> None:
        started = time.perf_counter()
        await run_generation(user_id=user_id, request=request, settings=settings)
        service_samples.append(time.perf_counter() - started)

    for i in range(SEQUENTIAL):
        for step in (bare, service, durable_commit) if i % 2 == 0 else (service, bare):
            await step()
    await client.close()
    service_ms, bare_ms = summary_ms(service_samples), summary_ms(bare_samples)
    return {
        "service": service_ms,
        "bare_sdk": bare_ms,
        "durable_commit": summary_ms(commit_samples),
        "overhead_p50_ms": round(service_ms["p50_ms"] - bare_ms["p50_ms"], 3),
        "overhead_p95_ms": round(service_ms["p95_ms"] - bare_ms["p95_ms"], 3),
        "ratio_p50": round(service_ms["p50_ms"] / bare_ms["p50_ms"], 2),
    }


async def _concurrency(slow_url: str, settings: Settings, user_ids, request) -> dict:
    """USERS at once through the service against USERS bare streamed calls to the same fake
    (provider at LATENCY_S), alternated ROUNDS times; medians of the wall times."""
    client = openai.AsyncOpenAI(api_key=DEFAULT_KEY, base_url=slow_url + "/v1", max_retries=0)
    bare_walls, service_walls, failures = [], [], 0
    for round_ in range(ROUNDS):
        for path in ("bare", "service") if round_ % 2 == 0 else ("service", "bare"):
            started = time.perf_counter()
            if path == "bare":
                results = await asyncio.gather(
                    *(_direct_call(client, "Product photograph") for _ in user_ids),
                    return_exceptions=True,
                )
                bare_walls.append(time.perf_counter() - started)
            else:
                results = await asyncio.gather(
                    *(
                        run_generation(user_id=u, request=request, settings=settings)
                        for u in user_ids
                    ),
                    return_exceptions=True,
                )
                service_walls.append(time.perf_counter() - started)
            failures += sum(isinstance(r, BaseException) for r in results)
    await client.close()
    bare_ms = statistics.median(bare_walls) * 1000
    service_ms = statistics.median(service_walls) * 1000
    return {
        "users": len(user_ids),
        "rounds": ROUNDS,
        "provider_latency_ms": LATENCY_S * 1000,
        "bare_wall_ms": round(bare_ms, 1),
        "service_wall_ms": round(service_ms, 1),
        "ratio": round(service_ms / bare_ms, 2),
        "failures": failures,
    }


def main() -> None:
    with (
        fake_openai_process(0) as fast_url,
        fake_openai_process(LATENCY_S) as slow_url,
        postgres_database({}),
    ):
        user_ids, request = _setup(USERS)
        _MESSAGES[:] = _bare_messages(request)

        def settings_for(url: str) -> Settings:
            return Settings(
                openai_api_key=DEFAULT_KEY,
                openai_base_url=url + "/v1",
                provider_timeout_seconds=30,
            )

        async def run() -> dict:
            overhead = await _overhead(fast_url, settings_for(fast_url), user_ids[0], request)
            concurrency = await _concurrency(slow_url, settings_for(slow_url), user_ids, request)
            return {"overhead": overhead, "concurrency": concurrency}

        figures = asyncio.run(run())
    path = save("generation", figures)
    o, c = figures["overhead"], figures["concurrency"]
    s, b = o["service"], o["bare_sdk"]
    print(f"generation overhead ({SEQUENTIAL} sequential pairs, interleaved, no added latency)")
    print("                      bare SDK    PromptGen   difference   ratio")
    print(
        f"  p50             {b['p50_ms']:9.2f} ms {s['p50_ms']:9.2f} ms "
        f"{o['overhead_p50_ms']:9.2f} ms"
        f"   {o['ratio_p50']:.2f}x   (aim: difference <= 5 ms)"
    )
    print(
        f"  p95             {b['p95_ms']:9.2f} ms {s['p95_ms']:9.2f} ms "
        f"{o['overhead_p95_ms']:9.2f} ms"
        f"            (aim: difference <= 10 ms)"
    )
    d = o["durable_commit"]
    print(
        f"  of which the floor: one durable commit (WAL flush) p50 {d['p50_ms']:.2f} ms, "
        f"p95 {d['p95_ms']:.2f} ms"
    )
    print(
        f"concurrency: {c['users']} at once, provider {c['provider_latency_ms']:.0f} ms, "
        f"median of {c['rounds']} alternated rounds"
    )
    print(
        f"  wall            {c['bare_wall_ms']:9.1f} ms {c['service_wall_ms']:9.1f} ms"
        f"               {c['ratio']:.2f}x   (aim: <= 1.2x), failures {c['failures']}"
    )
    print(f"saved {path}")
