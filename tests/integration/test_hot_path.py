"""The generation hot path (issue 14): the catalog cache never serves what the catalog no
longer has, and a dropped database connection costs one retry, not an error."""

from __future__ import annotations

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import select

from promptgen.db import (
    admin_session_scope,
    get_engine,
    run_in_admin_session,
    run_in_user_session,
    user_database_url,
)
from promptgen.models import UserPrompt
from promptgen.services import catalog, generation, history
from promptgen.services.generation import GenerationError
from tests.integration import test_generation as base
from tests.integration.test_generation import _request, _settings, _usage

# The generation tests' fixtures: a seeded catalog and a Free user, the fake providers.
fake_openai = base.fake_openai
fake_gemini = base.fake_gemini
world = base.world


def _operator_sql(world, statement: str) -> None:
    """A row written by hand, as an operator would with psql: no service, no seed."""
    with get_engine(world["db"]).begin() as conn:
        conn.execute(sa.text(statement))


async def test_a_blueprint_retired_by_hand_is_not_served_from_the_cache(
    world, fake_openai, fake_gemini
) -> None:
    settings = _settings(fake_openai, fake_gemini)
    await generation.run_generation(
        user_id=world["user_id"], request=_request(world), settings=settings
    )
    cached = catalog.cached_snapshot_for(world["db"])
    if world["db"].startswith("postgresql"):  # the hot path keeps it in memory
        assert cached is not None and world["blueprint_id"] in cached.blueprints
    bp = world["blueprint_id"]
    _operator_sql(world, f"UPDATE supported_templates SET is_active = false WHERE id = {bp}")
    with pytest.raises(GenerationError, match="blueprint is no longer available"):
        await generation.run_generation(
            user_id=world["user_id"], request=_request(world), settings=settings
        )
    assert _usage(world) == 1  # only the first one counted


async def test_a_model_retired_by_hand_is_not_served_from_the_cache(
    world, fake_openai, fake_gemini
) -> None:
    settings = _settings(fake_openai, fake_gemini)
    await generation.run_generation(
        user_id=world["user_id"], request=_request(world), settings=settings
    )
    model_id = world["models"]["gpt-4.1-mini"]
    _operator_sql(world, f"UPDATE supported_ai_models SET is_active = false WHERE id = {model_id}")
    with pytest.raises(GenerationError, match="model is no longer available"):
        await generation.run_generation(
            user_id=world["user_id"], request=_request(world), settings=settings
        )
    # ...and the page's list no longer offers it.
    listed = await run_in_admin_session(catalog.list_models)
    assert model_id not in {m.id for m in listed}


async def test_a_changed_template_compiles_with_the_new_text(world, fake_openai, fake_gemini):
    settings = _settings(fake_openai, fake_gemini)
    await generation.run_generation(
        user_id=world["user_id"], request=_request(world), settings=settings
    )
    _operator_sql(
        world,
        "UPDATE supported_templates SET prompt_template = 'Brand new text for {{ product }}' "
        f"WHERE id = {world['blueprint_id']}",
    )
    result = await generation.run_generation(
        user_id=world["user_id"], request=_request(world), settings=settings
    )
    assert result.compiled_prompt == "Brand new text for a walnut desk lamp"
    assert fake_openai.requests[-1].json["messages"][-1]["content"][0]["text"] == (
        "Brand new text for a walnut desk lamp"
    )


async def test_a_blueprint_added_by_hand_shows_on_the_next_load(world) -> None:
    before = await run_in_admin_session(catalog.list_blueprints)
    _operator_sql(
        world,
        "INSERT INTO supported_templates (slug, name, category, description, prompt_template, "
        "parameter_schema, instructions, sort_order, is_active, created_at, updated_at) VALUES "
        "('by-hand', 'By hand', 'Writing', '', 'Hi', '{\"type\": \"object\"}', '', 0, true, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    )
    after = await run_in_admin_session(catalog.list_blueprints)
    assert "by-hand" not in {b.slug for b in before}
    assert "by-hand" in {b.slug for b in after}


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_dropped_connections_cost_one_retry_not_an_error(
    world, fake_openai, fake_gemini
) -> None:
    settings = _settings(fake_openai, fake_gemini)
    await generation.run_generation(
        user_id=world["user_id"], request=_request(world), settings=settings
    )
    await run_in_user_session(history.list_history, user_id=world["user_id"])
    await run_in_admin_session(catalog.list_blueprints)
    # PostgreSQL ends every pooled connection (a restart or a failover looks like this); each
    # role may end its own backends, no superuser needed.
    for url in (world["db"], user_database_url(world["db"])):
        dsn = sa.engine.make_url(url).set(drivername="postgresql")
        with psycopg.connect(dsn.render_as_string(hide_password=False), autocommit=True) as c:
            ended = c.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE usename = current_user AND datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchone()[0]
            assert ended > 0
    # The hot path (async pool), a user session and an admin session each find their pooled
    # connection dead, and answer anyway.
    result = await generation.run_generation(
        user_id=world["user_id"], request=_request(world), settings=settings
    )
    assert result.output
    items = await run_in_user_session(history.list_history, user_id=world["user_id"])
    assert items
    assert await run_in_admin_session(catalog.list_blueprints)
    with admin_session_scope(world["db"]) as session:
        statuses = session.exec(select(UserPrompt.status)).all()
    assert statuses == ["succeeded", "succeeded"]
    assert _usage(world) == 2
