"""The generation path on SQLite and PostgreSQL: routing to a key, quota, refunds, history.

The real provider SDKs talk to the fake servers; the database is real.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from promptgen.db import admin_session_scope
from promptgen.models import (
    PromptAttachment,
    SubscriptionTier,
    SupportedAIModel,
    SupportedTemplate,
    UserPrompt,
    UserSubscription,
)
from promptgen.services import generation, keys
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.generation import GenerationError, GenerationRequest, ImageUpload
from promptgen.settings import Settings, reset_settings_cache
from promptgen.vault import new_master_key_text
from tests.support.factories import make_user
from tests.support.fake_providers import DEFAULT_KEY, FakeGemini, FakeOpenAI
from tests.support.outage import database_outage

OWN_KEY = "sk-own-key-abcdefghijklmnop-9876"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        fake.valid_keys = {DEFAULT_KEY, OWN_KEY}
        yield fake


@pytest.fixture(scope="module")
def fake_gemini() -> Iterator[FakeGemini]:
    with FakeGemini() as fake:
        yield fake


@pytest.fixture
def world(db_url: str, monkeypatch: pytest.MonkeyPatch, fake_openai, fake_gemini):
    """A seeded catalog, a vault key, and a Free user with 10 units a month."""
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", new_master_key_text())
    reset_settings_cache()
    fake_openai.reset()
    fake_openai.latency_s = 0
    fake_gemini.reset()
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        free = session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == "free")).one()
        free.monthly_quota = 10
        user = make_user(session)
        blueprint = session.exec(
            select(SupportedTemplate).where(SupportedTemplate.slug == "product-photo")
        ).one()
        models = {m.slug: m.id for m in session.exec(select(SupportedAIModel)).all()}
    yield {"db": db_url, "user_id": user.user_id, "blueprint_id": blueprint.id, "models": models}
    reset_settings_cache()


def _settings(fake_openai: FakeOpenAI, fake_gemini: FakeGemini, **changes) -> Settings:
    values = {
        "openai_api_key": DEFAULT_KEY,
        "openai_base_url": fake_openai.url + "/v1",
        "gemini_api_key": DEFAULT_KEY,
        "gemini_base_url": fake_gemini.url,
        "provider_timeout_seconds": 10,
    }
    values.update(changes)
    return Settings(_env_file=None, **values)


def _request(world, model: str = "gpt-4.1-mini", **parameters) -> GenerationRequest:
    return GenerationRequest(
        blueprint_id=world["blueprint_id"],
        model_id=world["models"][model],
        parameters={"product": "a walnut desk lamp", **parameters},
    )


def _usage(world) -> int:
    with admin_session_scope(world["db"]) as session:
        return session.exec(
            select(UserSubscription.usage_count).where(UserSubscription.user_id == world["user_id"])
        ).one()


def _set_usage(world, used: int) -> None:
    with admin_session_scope(world["db"]) as session:
        sub = session.exec(
            select(UserSubscription).where(UserSubscription.user_id == world["user_id"])
        ).one()
        sub.usage_count = used
        sub.usage_period_start = generation_period_start()
        session.add(sub)


def generation_period_start() -> datetime:
    now = datetime.now(UTC)
    return datetime(now.year, now.month, 1, tzinfo=UTC)


def _prompts(world) -> list[UserPrompt]:
    with admin_session_scope(world["db"]) as session:
        return list(
            session.exec(
                select(UserPrompt)
                .where(UserPrompt.user_id == world["user_id"])
                .order_by(UserPrompt.created_at)
            ).all()
        )


async def test_offline_compiler_needs_no_key_and_no_quota(world, fake_openai, fake_gemini):
    settings = _settings(fake_openai, fake_gemini, openai_api_key=None, gemini_api_key=None)
    result = await generation.run_generation(
        user_id=world["user_id"],
        request=_request(world, "blueprint-compiler"),
        settings=settings,
    )
    assert result.key_source == "offline" and not result.ai_refined
    assert "a walnut desk lamp" in result.output and "not AI-refined" in result.notice
    assert _usage(world) == 0
    [row] = _prompts(world)
    assert row.status == "succeeded" and row.output == result.output


@pytest.mark.parametrize("model", ["gpt-4.1-mini", "gemini-2.5-flash"])
async def test_platform_key_streams_and_uses_one_unit(world, fake_openai, fake_gemini, model):
    deltas: list[str] = []

    async def on_delta(text: str) -> None:
        deltas.append(text)

    result = await generation.run_generation(
        user_id=world["user_id"],
        request=_request(world, model),
        on_delta=on_delta,
        settings=_settings(fake_openai, fake_gemini),
    )
    assert result.key_source == "platform"
    assert result.output.startswith("Refined: Product photograph of a walnut desk lamp")
    assert len(deltas) > 1 and "".join(deltas).strip() == result.output
    assert _usage(world) == 1
    [row] = _prompts(world)
    assert row.status == "succeeded" and row.quota_reserved
    assert row.input_tokens > 0 and row.output_tokens > 0 and row.latency_ms is not None
    assert row.parameters["product"] == "a walnut desk lamp"


async def test_quota_used_up_without_own_key_is_refused_before_any_call(
    world, fake_openai, fake_gemini
):
    _set_usage(world, 10)
    with pytest.raises(GenerationError) as caught:
        await generation.run_generation(
            user_id=world["user_id"],
            request=_request(world),
            settings=_settings(fake_openai, fake_gemini),
        )
    assert caught.value.kind == "limit"
    assert caught.value.message == (
        "Monthly limit reached — add your own API key in Settings to keep generating."
    )
    assert fake_openai.requests == []
    assert _prompts(world) == []


async def test_quota_used_up_falls_back_to_the_users_own_key(world, fake_openai, fake_gemini):
    with admin_session_scope(world["db"]) as session:
        keys.save_key(session=session, user_id=world["user_id"], provider="openai", api_key=OWN_KEY)
    _set_usage(world, 10)
    result = await generation.run_generation(
        user_id=world["user_id"],
        request=_request(world),
        settings=_settings(fake_openai, fake_gemini),
    )
    assert result.key_source == "own_key"
    assert fake_openai.requests[-1].headers["authorization"] == f"Bearer {OWN_KEY}"
    assert _usage(world) == 10
    with admin_session_scope(world["db"]) as session:
        [view] = keys.list_keys(session=session, user_id=world["user_id"])
    assert view.last_used_at is not None and view.last_four == "9876"


async def test_no_platform_key_uses_own_key_or_says_unavailable(world, fake_openai, fake_gemini):
    settings = _settings(fake_openai, fake_gemini, openai_api_key=None)
    with pytest.raises(GenerationError) as caught:
        await generation.run_generation(
            user_id=world["user_id"], request=_request(world), settings=settings
        )
    assert caught.value.kind == "unavailable"
    assert "not available on this server" in caught.value.message
    with admin_session_scope(world["db"]) as session:
        keys.save_key(session=session, user_id=world["user_id"], provider="openai", api_key=OWN_KEY)
    result = await generation.run_generation(
        user_id=world["user_id"], request=_request(world), settings=settings
    )
    assert result.key_source == "own_key"
    assert _usage(world) == 0


async def test_a_failed_call_refunds_and_keeps_the_inputs(world, fake_openai, fake_gemini):
    _set_usage(world, 3)
    fake_openai.fail_next(429)
    with pytest.raises(GenerationError) as caught:
        await generation.run_generation(
            user_id=world["user_id"],
            request=_request(world),
            settings=_settings(fake_openai, fake_gemini),
        )
    assert caught.value.kind == "provider" and "rate limiting" in caught.value.message
    assert _usage(world) == 3
    [row] = _prompts(world)
    assert row.status == "failed" and "rate limiting" in row.error_message
    assert not row.quota_reserved
    assert row.parameters["product"] == "a walnut desk lamp"
    assert caught.value.prompt_id == row.id


async def test_a_cancelled_call_refunds(world, fake_openai, fake_gemini):
    fake_openai.latency_s = 5
    task = asyncio.create_task(
        generation.run_generation(
            user_id=world["user_id"],
            request=_request(world),
            settings=_settings(fake_openai, fake_gemini),
        )
    )
    for _ in range(100):
        await asyncio.sleep(0.05)
        if fake_openai.requests:
            break
    assert _usage(world) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _usage(world) == 0
    [row] = _prompts(world)
    assert row.status == "cancelled"


async def test_timeout_is_reported_and_refunded(world, fake_openai, fake_gemini):
    fake_openai.latency_s = 3
    with pytest.raises(GenerationError, match="did not answer within 1 seconds"):
        await generation.run_generation(
            user_id=world["user_id"],
            request=_request(world),
            settings=_settings(fake_openai, fake_gemini, provider_timeout_seconds=1),
        )
    assert _usage(world) == 0


async def test_invalid_inputs_cost_nothing(world, fake_openai, fake_gemini):
    with pytest.raises(GenerationError) as caught:
        await generation.run_generation(
            user_id=world["user_id"],
            request=_request(world, product=""),
            settings=_settings(fake_openai, fake_gemini),
        )
    assert caught.value.field_errors == {"product": "Product is required."}
    assert _usage(world) == 0 and _prompts(world) == []


async def test_images_go_to_the_provider_and_into_history(world, fake_openai, fake_gemini):
    request = GenerationRequest(
        blueprint_id=world["blueprint_id"],
        model_id=world["models"]["gemini-2.5-flash"],
        parameters={"product": "a mug"},
        images=(ImageUpload("ref.png", PNG),),
    )
    await generation.run_generation(
        user_id=world["user_id"], request=request, settings=_settings(fake_openai, fake_gemini)
    )
    assert "inline" in str(fake_gemini.requests[-1].json).lower()
    with admin_session_scope(world["db"]) as session:
        [attachment] = session.exec(select(PromptAttachment)).all()
    assert attachment.filename == "ref.png" and attachment.mime_type == "image/png"
    bad = GenerationRequest(
        blueprint_id=world["blueprint_id"],
        model_id=world["models"]["gemini-2.5-flash"],
        parameters={"product": "a mug"},
        images=(ImageUpload("notes.png", b"plain text, not an image"),),
    )
    with pytest.raises(GenerationError, match=r"notes\.png is not a PNG, JPEG or WebP image"):
        await generation.run_generation(
            user_id=world["user_id"], request=bad, settings=_settings(fake_openai, fake_gemini)
        )


async def test_sweep_refunds_what_a_crashed_process_reserved(world, fake_openai, fake_gemini):
    settings = _settings(fake_openai, fake_gemini)
    with admin_session_scope(world["db"]) as session:
        generation.prepare(
            session=session, user_id=world["user_id"], request=_request(world), settings=settings
        )
    assert _usage(world) == 1  # the process "dies" here, before the call finishes
    with admin_session_scope(world["db"]) as session:
        assert generation.sweep_abandoned(session=session, older_than=timedelta(minutes=5)) == 0
    later = datetime.now(UTC) + timedelta(minutes=10)
    with admin_session_scope(world["db"]) as session:
        swept = generation.sweep_abandoned(
            session=session, older_than=timedelta(minutes=5), now=later
        )
    assert swept == 1
    assert _usage(world) == 0
    [row] = _prompts(world)
    assert row.status == "failed" and "Interrupted" in row.error_message


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_fifty_concurrent_requests_with_ten_units_left(world, fake_openai, fake_gemini):
    fake_openai.latency_s = 0.3  # slow enough that every request overlaps
    settings = _settings(fake_openai, fake_gemini)

    async def one() -> str:
        try:
            result = await generation.run_generation(
                user_id=world["user_id"], request=_request(world), settings=settings
            )
        except GenerationError as exc:
            return exc.kind
        return result.key_source

    outcomes = await asyncio.gather(*(one() for _ in range(50)))
    assert outcomes.count("platform") == 10
    assert outcomes.count("limit") == 40
    assert len([r for r in fake_openai.requests if r.method == "POST"]) == 10
    assert _usage(world) == 10


async def test_a_stored_blueprint_past_a_render_limit_is_refused_clearly_at_no_cost(
    world, fake_openai, fake_gemini
):
    # Written straight to the table, as a row from before import checked templates would be.
    with admin_session_scope(world["db"]) as session:
        blueprint = session.get(SupportedTemplate, world["blueprint_id"])
        blueprint.prompt_template = (
            "{{ product }}{% for i in range(100000) %}{% for j in range(100000) %}"
            "{% endfor %}{% endfor %}"
        )
        session.add(blueprint)
    with pytest.raises(GenerationError) as caught:
        await generation.run_generation(
            user_id=world["user_id"],
            request=_request(world),
            settings=_settings(fake_openai, fake_gemini),
        )
    assert str(caught.value).startswith("This blueprint could not be compiled: ")
    assert "more than 200,000 steps" in str(caught.value)
    assert _usage(world) == 0 and _prompts(world) == []
    assert fake_openai.requests == []


async def _eventually(check, timeout_s: float = 30.0) -> bool:
    """Poll `check` while the event loop runs the app's background retries."""
    for _ in range(int(timeout_s / 0.1)):
        if check():
            return True
        await asyncio.sleep(0.1)
    return check()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_database_outage_before_the_call_says_try_again(world, fake_openai, fake_gemini):
    with database_outage(world["db"]), pytest.raises(GenerationError) as caught:
        await generation.run_generation(
            user_id=world["user_id"],
            request=_request(world),
            settings=_settings(fake_openai, fake_gemini),
        )
    assert caught.value.kind == "database"
    assert "try again" in caught.value.message and "no quota was used" in caught.value.message
    assert "OperationalError" not in caught.value.message
    assert _usage(world) == 0 and _prompts(world) == [] and not fake_openai.requests


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_unit_held_during_an_outage_comes_back_when_the_database_does(
    world, fake_openai, fake_gemini
):
    fake_openai.latency_s = 5
    task = asyncio.create_task(
        generation.run_generation(
            user_id=world["user_id"],
            request=_request(world),
            settings=_settings(fake_openai, fake_gemini),
        )
    )
    assert await _eventually(lambda: bool(fake_openai.requests), 10)
    assert _usage(world) == 1
    with database_outage(world["db"]):
        task.cancel()  # the failure to record happens while the database is down
        with pytest.raises(asyncio.CancelledError):
            await task
    # Not minutes later through the sweep: as soon as the database answers.
    assert await _eventually(lambda: _usage(world) == 0)
    [row] = _prompts(world)
    assert row.status == "cancelled" and not row.quota_reserved


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_an_answer_streamed_during_an_outage_is_kept_once_the_database_is_back(
    world, fake_openai, fake_gemini
):
    outage = contextlib.ExitStack()
    down: list[bool] = []

    async def database_goes_down(_delta: str) -> None:
        if not down:  # at the first chunk
            down.append(True)
            outage.enter_context(database_outage(world["db"]))

    with outage:
        result = await generation.run_generation(
            user_id=world["user_id"],
            request=_request(world),
            on_delta=database_goes_down,
            settings=_settings(fake_openai, fake_gemini),
        )
    assert result.output and "not in your history yet" in result.notice
    assert await _eventually(lambda: [p.status for p in _prompts(world)] == ["succeeded"])
    [row] = _prompts(world)
    assert row.output == result.output and row.quota_reserved  # the unit was spent
    assert _usage(world) == 1


async def test_cancelling_at_ninety_percent_of_a_stream_spends_the_unit(
    world, fake_openai, fake_gemini
):
    """Output delivered is output paid: a script that cancels just before the end must not
    get the platform key's work for free."""
    fake_openai.chunks, fake_openai.chunk_delay_s = 10, 0.2
    received: list[str] = []

    async def on_delta(text: str) -> None:
        received.append(text)

    task = asyncio.create_task(
        generation.run_generation(
            user_id=world["user_id"],
            request=_request(world),
            on_delta=on_delta,
            settings=_settings(fake_openai, fake_gemini),
        )
    )
    try:
        assert await _eventually(lambda: len(received) >= 9, 20)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        fake_openai.chunks, fake_openai.chunk_delay_s = 3, 0
    assert _usage(world) == 1
    [row] = _prompts(world)
    assert row.status == "cancelled" and row.quota_reserved
    assert row.output == "".join(received) and row.output
    assert "counts as a generation" in row.error_message


async def test_a_failure_after_part_of_the_answer_arrived_keeps_it_and_the_unit(
    world, fake_openai, fake_gemini
):
    fake_openai.chunks, fake_openai.chunk_delay_s = 10, 0.5
    try:
        with pytest.raises(GenerationError, match="did not answer within 2 seconds"):
            await generation.run_generation(
                user_id=world["user_id"],
                request=_request(world),
                settings=_settings(fake_openai, fake_gemini, provider_timeout_seconds=2),
            )
    finally:
        fake_openai.chunks, fake_openai.chunk_delay_s = 3, 0
    assert _usage(world) == 1
    [row] = _prompts(world)
    assert row.status == "failed" and row.output.strip()
