"""Compare mode: columns are ordinary generations (quota, own keys, refunds, cancel per
column), estimated cost at finish, ratings, the leaderboard and the export; and the ratings
table under row-level security, tried with raw SQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Iterator

import psycopg.errors
import pytest
import sqlalchemy as sa
from sqlmodel import select

from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import (
    PromptRating,
    SubscriptionTier,
    SupportedAIModel,
    SupportedTemplate,
    UserPrompt,
    UserSubscription,
)
from promptgen.services import compare, keys
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.compare import ColumnSpec
from promptgen.services.pricing import estimate_cost_micros
from promptgen.settings import Settings, reset_settings_cache
from promptgen.vault import new_master_key_text
from tests.support.factories import make_user
from tests.support.fake_providers import DEFAULT_KEY, FakeGemini, FakeOpenAI

OWN_KEY = "sk-own-compare-abcdefghijklmnop-4321"


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
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", new_master_key_text())
    reset_settings_cache()
    fake_openai.reset()
    fake_openai.chunks, fake_openai.chunk_delay_s, fake_openai.latency_s = 3, 0, 0
    fake_gemini.reset()
    fake_gemini.chunks, fake_gemini.chunk_delay_s, fake_gemini.latency_s = 3, 0, 0
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        free = session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == "free")).one()
        free.monthly_quota = 10
        user = make_user(session)
        other = make_user(session, "other@example.com")
        blueprint = session.exec(
            select(SupportedTemplate).where(SupportedTemplate.slug == "product-photo")
        ).one()
        models = {m.slug: m for m in session.exec(select(SupportedAIModel)).all()}
        models = {
            slug: (m.id, m.input_price_per_mtok, m.output_price_per_mtok)
            for slug, m in models.items()
        }
    yield {
        "db": db_url,
        "user_id": user.user_id,
        "other_id": other.user_id,
        "blueprint_id": blueprint.id,
        "models": models,
    }
    reset_settings_cache()


def _settings(fake_openai, fake_gemini) -> Settings:
    return Settings(
        _env_file=None,
        openai_api_key=DEFAULT_KEY,
        openai_base_url=fake_openai.url + "/v1",
        gemini_api_key=DEFAULT_KEY,
        gemini_base_url=fake_gemini.url,
        provider_timeout_seconds=10,
    )


def _set_usage(world, used: int) -> None:
    with admin_session_scope(world["db"]) as session:
        sub = session.exec(
            select(UserSubscription).where(UserSubscription.user_id == world["user_id"])
        ).one()
        from datetime import UTC, datetime

        from promptgen.periods import calendar_month_start

        sub.usage_count = used
        sub.usage_period_start = calendar_month_start(datetime.now(UTC))
        session.add(sub)


def _usage(world) -> int:
    with admin_session_scope(world["db"]) as session:
        return session.exec(
            select(UserSubscription.usage_count).where(UserSubscription.user_id == world["user_id"])
        ).one()


def _rows(world, comparison_id) -> list[UserPrompt]:
    with admin_session_scope(world["db"]) as session:
        return list(
            session.exec(select(UserPrompt).where(UserPrompt.comparison_id == comparison_id)).all()
        )


def _postgres_only(world) -> str:
    if not world["db"].startswith("postgresql"):
        pytest.skip("concurrency and row-level security are PostgreSQL's")
    return world["db"]


def _model(world, slug: str) -> int:
    return world["models"][slug][0]


async def _run(world, settings, columns, **kwargs):
    comparison_id = uuid.uuid4()
    outcomes = await compare.run_comparison(
        user_id=world["user_id"],
        comparison_id=comparison_id,
        blueprint_id=world["blueprint_id"],
        parameters={"product": "a walnut desk lamp"},
        columns=columns,
        settings=settings,
        **kwargs,
    )
    return comparison_id, outcomes


async def test_columns_are_ordinary_generations_with_cost(world, fake_openai, fake_gemini):
    settings = _settings(fake_openai, fake_gemini)
    columns = [
        ColumnSpec(_model(world, "gpt-4.1-mini")),
        ColumnSpec(_model(world, "gemini-2.5-flash")),
        ColumnSpec(_model(world, "blueprint-compiler")),
    ]
    comparison_id, outcomes = await _run(world, settings, columns)
    assert [o.status for o in outcomes] == ["succeeded"] * 3
    rows = {r.model_id: r for r in _rows(world, comparison_id)}
    assert len(rows) == 3 and _usage(world) == 2
    for slug in ("gpt-4.1-mini", "gemini-2.5-flash"):
        model_id, in_price, out_price = world["models"][slug]
        row = rows[model_id]
        assert row.key_source == "platform" and row.input_tokens and row.output_tokens
        assert row.estimated_cost_micros == estimate_cost_micros(
            row.input_tokens, row.output_tokens, in_price, out_price
        )
        assert row.estimated_cost_micros > 0
    offline = rows[_model(world, "blueprint-compiler")]
    assert offline.key_source == "offline" and offline.estimated_cost_micros is None

    # Read back as a whole, rated, and exported with every column.
    with user_session_scope(world["user_id"], world["db"]) as session:
        loaded = compare.load_comparison(
            session=session, user_id=world["user_id"], comparison_id=comparison_id
        )
        assert len(loaded) == 3
        gpt = next(c for c in loaded if c.model_id == _model(world, "gpt-4.1-mini"))
        gem = next(c for c in loaded if c.model_id == _model(world, "gemini-2.5-flash"))
        assert compare.rate(
            session=session,
            user_id=world["user_id"],
            prompt_id=gpt.prompt_id,
            vote=1,
            note="crisper",
        )
        assert compare.rate(
            session=session, user_id=world["user_id"], prompt_id=gem.prompt_id, vote=-1
        )
        assert compare.set_winner(
            session=session, user_id=world["user_id"], prompt_id=gem.prompt_id
        )
        assert compare.set_winner(
            session=session, user_id=world["user_id"], prompt_id=gpt.prompt_id
        )
    with user_session_scope(world["user_id"], world["db"]) as session:
        board = compare.leaderboard(
            session=session, user_id=world["user_id"], template_id=world["blueprint_id"]
        )
        assert [(r.name, r.wins, r.ups, r.downs) for r in board.models] == [
            ("GPT-4.1 mini", 1, 1, 0),
            ("Gemini 2.5 Flash", 0, 0, 1),
        ]
        name, content = compare.export_comparison(
            session=session, user_id=world["user_id"], comparison_id=str(comparison_id), fmt="json"
        )
        exported = json.loads(content)
        assert name.endswith(".json") and len(exported) == 3
        by_model = {e["model"]: e for e in exported}
        assert by_model["GPT-4.1 mini"]["vote"] == "up"
        assert by_model["GPT-4.1 mini"]["winner"] is True
        assert by_model["GPT-4.1 mini"]["note"] == "crisper"
        assert by_model["Gemini 2.5 Flash"]["winner"] is False
        assert by_model["GPT-4.1 mini"]["parameters"]["product"] == "a walnut desk lamp"
        assert by_model["GPT-4.1 mini"]["estimated_cost_usd"] > 0
        _, content = compare.export_comparison(
            session=session, user_id=world["user_id"], comparison_id=str(comparison_id), fmt="csv"
        )
        assert len(list(csv.DictReader(io.StringIO(content)))) == 3
    # Another user finds nothing, rates nothing, exports nothing.
    with user_session_scope(world["other_id"], world["db"]) as session:
        assert (
            compare.load_comparison(
                session=session, user_id=world["other_id"], comparison_id=comparison_id
            )
            == []
        )
        assert not compare.rate(
            session=session, user_id=world["other_id"], prompt_id=gpt.prompt_id, vote=-1
        )
        assert (
            compare.export_comparison(
                session=session,
                user_id=world["other_id"],
                comparison_id=str(comparison_id),
                fmt="csv",
            )
            is None
        )


async def test_one_column_fails_one_is_cancelled_the_others_finish(world, fake_openai, fake_gemini):
    settings = _settings(fake_openai, fake_gemini)
    fake_openai.chunks, fake_openai.chunk_delay_s = 6, 0.5  # slow: cancelled mid-call
    fake_gemini.fail_next(503, times=2)  # Gemini fails (and its one retry)
    columns = [
        ColumnSpec(_model(world, "gpt-4.1-mini")),
        ColumnSpec(_model(world, "gemini-2.5-flash")),
        ColumnSpec(_model(world, "blueprint-compiler")),
    ]
    tasks: dict[int, asyncio.Task] = {}

    async def on_delta(index: int, text: str) -> None:
        pass

    async def cancel_soon() -> None:
        await asyncio.sleep(0.2)  # before the first OpenAI chunk: nothing shown
        tasks[0].cancel()

    canceller = asyncio.create_task(cancel_soon())
    comparison_id, outcomes = await _run(
        world, settings, columns, on_delta=on_delta, on_task=tasks.__setitem__
    )
    await canceller
    assert [o.status for o in outcomes] == ["cancelled", "failed", "succeeded"]
    assert "unavailable" in outcomes[1].message
    statuses = {r.model_id: r.status for r in _rows(world, comparison_id)}
    assert statuses == {
        _model(world, "gpt-4.1-mini"): "cancelled",
        _model(world, "gemini-2.5-flash"): "failed",
        _model(world, "blueprint-compiler"): "succeeded",
    }
    assert _usage(world) == 0  # nothing delivered by either platform column: both refunded


async def test_four_columns_at_the_quota_edge_never_overspend(world, fake_openai, fake_gemini):
    """2 units left, an own OpenAI key, no own Gemini key, 4 platform-eligible columns run
    concurrently: exactly 2 on the platform key; of the other two, the OpenAI ones fall back
    to the own key and the Gemini ones are refused."""
    pg_url = _postgres_only(world)
    settings = _settings(fake_openai, fake_gemini)
    fake_openai.latency_s = fake_gemini.latency_s = 0.05
    _set_usage(world, 8)
    with admin_session_scope(pg_url) as session:
        keys.save_key(session=session, user_id=world["user_id"], provider="openai", api_key=OWN_KEY)
        sig_ids = [
            s
            for s in session.execute(
                sa.text("SELECT id FROM visual_signatures ORDER BY sort_order LIMIT 1")
            ).scalars()
        ]
    gpt, gem = _model(world, "gpt-4.1-mini"), _model(world, "gemini-2.5-flash")
    columns = [
        ColumnSpec(gpt),
        ColumnSpec(gem),
        ColumnSpec(gpt, sig_ids[0]),
        ColumnSpec(gem, sig_ids[0]),
    ]
    with user_session_scope(world["user_id"], pg_url) as session:
        plan = compare.plan_columns(
            session=session,
            user_id=world["user_id"],
            model_ids=[c.model_id for c in columns],
            settings=settings,
        )
    assert plan.plan_units == 2 and plan.left_before == 2
    assert plan.statement.startswith("Uses 2 generations from your plan (2 left)")
    assert "1 with your own OpenAI key" in plan.statement
    assert "1 column cannot run" in plan.statement

    comparison_id, outcomes = await _run(world, settings, columns)
    rows = _rows(world, comparison_id)
    platform = [r for r in rows if r.key_source == "platform"]
    assert len(platform) == 2 and all(r.status == "succeeded" for r in platform)
    assert _usage(world) == 10  # exactly the quota: no over-spend
    for spec, outcome in zip(columns, outcomes, strict=True):
        row = next(
            (
                r
                for r in rows
                if r.model_id == spec.model_id and r.signature_id == spec.signature_id
            ),
            None,
        )
        if row is not None and row.key_source == "platform":
            continue
        if spec.model_id == gpt:
            assert row is not None and row.key_source == "own_key"
            assert outcome.status == "succeeded"
        else:
            assert row is None and outcome.status == "refused"
            assert outcome.needs_own_key and "Monthly limit" in outcome.message
    own_calls = [
        r for r in fake_openai.requests if r.headers.get("authorization") == f"Bearer {OWN_KEY}"
    ]
    assert len(own_calls) == sum(r.key_source == "own_key" for r in rows)


def test_ratings_are_under_row_level_security(world) -> None:
    """Raw SQL in a user session: only one's own ratings are seen or written, on one's own
    generations only, and nothing can be marked shared (the opt-in is not built)."""
    pg_url = _postgres_only(world)
    alice, bob = world["user_id"], world["other_id"]
    with admin_session_scope(pg_url) as session:
        prompts = {}
        for who in (alice, bob):
            prompt = UserPrompt(user_id=who, status="succeeded", output="x")
            session.add(prompt)
            session.flush()
            prompts[who] = prompt.id
            session.add(PromptRating(prompt_id=prompt.id, user_id=who, vote=1))
    insert = sa.text(
        "INSERT INTO prompt_ratings (prompt_id, user_id, template_name, model_name, "
        "signature_name, vote, is_winner, note, shared, created_at, updated_at) VALUES "
        "(:p, :u, '', '', '', 1, false, '', :shared, now(), now())"
    )
    with user_session_scope(alice, pg_url) as session:
        owners = session.execute(sa.text("SELECT user_id FROM prompt_ratings")).scalars().all()
        assert owners == [alice]
        changed = session.execute(
            sa.text("UPDATE prompt_ratings SET vote = -1 WHERE prompt_id = :p"),
            {"p": prompts[bob]},
        )
        assert changed.rowcount == 0
        deleted = session.execute(
            sa.text("DELETE FROM prompt_ratings WHERE prompt_id = :p"), {"p": prompts[bob]}
        )
        assert deleted.rowcount == 0
    for owner, prompt, shared in (
        (bob, prompts[bob], False),  # another user's row
        (alice, prompts[bob], False),  # own row, another user's generation
        (alice, prompts[alice], True),  # pooled without an opt-in
    ):
        with (
            pytest.raises(sa.exc.ProgrammingError) as caught,
            user_session_scope(alice, pg_url) as session,
        ):
            session.execute(sa.text("DELETE FROM prompt_ratings WHERE user_id = :u"), {"u": alice})
            session.execute(insert, {"p": prompt, "u": owner, "shared": shared})
        assert isinstance(caught.value.orig, psycopg.errors.InsufficientPrivilege)
    with (
        pytest.raises(sa.exc.ProgrammingError),
        user_session_scope(alice, pg_url) as session,
    ):
        session.execute(sa.text("UPDATE prompt_ratings SET shared = true"))
    with admin_session_scope(pg_url) as session:
        votes = session.execute(sa.text("SELECT user_id, vote FROM prompt_ratings")).all()
        assert sorted((str(u), v) for u, v in votes) == sorted([(str(alice), 1), (str(bob), 1)])


def _cancel_soon_after_start(index: int, task: asyncio.Task) -> None:
    """Cancel column 0 right after its first step: inside prepare's worker thread."""
    if index == 0:
        asyncio.get_running_loop().call_soon(task.cancel)


async def test_a_column_cancelled_while_it_is_prepared_gives_its_unit_back(
    world, fake_openai, fake_gemini
):
    """Cancel lands before the provider is called (the pending row is being written in a
    worker thread): the row still ends cancelled and its unit is back at once."""
    settings = _settings(fake_openai, fake_gemini)
    columns = [
        ColumnSpec(_model(world, "gpt-4.1-mini")),
        ColumnSpec(_model(world, "gemini-2.5-flash")),
    ]
    comparison_id, outcomes = await _run(
        world,
        settings,
        columns,
        # Right after the column's first step: inside prepare's worker thread.
        on_task=lambda index, task: (
            index == 0 and asyncio.get_running_loop().call_soon(task.cancel)
        ),
    )
    assert [o.status for o in outcomes] == ["cancelled", "succeeded"]
    rows = {r.model_id: r for r in _rows(world, comparison_id)}
    assert rows[_model(world, "gpt-4.1-mini")].status == "cancelled"
    assert not rows[_model(world, "gpt-4.1-mini")].quota_reserved
    assert _usage(world) == 1  # only Gemini's unit is spent
