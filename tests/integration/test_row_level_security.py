"""Row-level security on PostgreSQL, tried with raw SQL through the user session; and the
same scoping through the services on SQLite (which has no RLS)."""

from __future__ import annotations

import uuid

import psycopg.errors
import pytest
import sqlalchemy as sa
from sqlmodel import select

from promptgen.catalog import seed_catalog
from promptgen.db import USER_ROLE, session_scope, user_session_scope
from promptgen.models import PromptAttachment, UserApiKey, UserPrompt
from promptgen.services import history, keys
from promptgen.settings import reset_settings_cache
from promptgen.vault import new_master_key_text
from tests.support.factories import make_user

OWNED = {
    "users": "id",
    "user_sessions": "user_id",
    "user_profiles": "user_id",
    "user_subscriptions": "user_id",
    "user_api_keys": "user_id",
    "user_prompts": "user_id",
    "prompt_attachments": "user_id",
}
CATALOG = ("subscription_tiers", "supported_templates", "visual_signatures", "supported_ai_models")


def _populate(url: str) -> dict[str, dict[str, uuid.UUID]]:
    """Two users, each with a row in every user-owned table (written by the admin session)."""
    people = {}
    with session_scope(url) as session:
        seed_catalog(session=session)
        for name in ("alice", "bob"):
            user_id = make_user(session, f"{name}@example.com").user_id
            keys.save_key(
                session=session, user_id=user_id, provider="openai", api_key="sk-" + name * 8
            )
            prompt = UserPrompt(user_id=user_id, output=f"{name}'s output", status="succeeded")
            session.add(prompt)
            session.flush()
            session.add(
                PromptAttachment(
                    prompt_id=prompt.id,
                    user_id=user_id,
                    filename="a.png",
                    mime_type="image/png",
                    size_bytes=1,
                    sha256="0" * 64,
                    data=b"x",
                )
            )
            key_id = session.exec(select(UserApiKey.id).where(UserApiKey.user_id == user_id)).one()
            people[name] = {"user": user_id, "prompt": prompt.id, "key": key_id}
    return people


@pytest.fixture
def people(pg_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", new_master_key_text())
    reset_settings_cache()
    return _populate(pg_url)


def test_a_user_sees_only_their_own_rows_in_every_owned_table(pg_url: str, people) -> None:
    alice, bob = people["alice"]["user"], people["bob"]["user"]
    with user_session_scope(alice, pg_url) as session:
        for table, owner in OWNED.items():
            owners = session.execute(sa.text(f"SELECT {owner} FROM {table}")).scalars().all()
            assert owners and set(owners) == {alice}, table
    with session_scope(pg_url) as session:  # the admin session sees everyone
        owners = session.execute(sa.text("SELECT user_id FROM user_prompts")).scalars().all()
        assert set(owners) == {alice, bob}


def test_a_user_cannot_read_or_change_another_users_rows_by_id(pg_url: str, people) -> None:
    alice, bob = people["alice"], people["bob"]
    with user_session_scope(alice["user"], pg_url) as session:
        assert (
            session.execute(
                sa.text("SELECT output FROM user_prompts WHERE id = :id"), {"id": bob["prompt"]}
            ).first()
            is None
        )
        changed = session.execute(
            sa.text("UPDATE user_api_keys SET last_four = 'hack' WHERE id = :id"),
            {"id": bob["key"]},
        )
        assert changed.rowcount == 0
        deleted = session.execute(
            sa.text("DELETE FROM user_prompts WHERE id = :id"), {"id": bob["prompt"]}
        )
        assert deleted.rowcount == 0
    with session_scope(pg_url) as session:
        assert session.get(UserPrompt, bob["prompt"]) is not None


def test_a_user_cannot_insert_a_row_owned_by_someone_else(pg_url: str, people) -> None:
    with (
        pytest.raises(sa.exc.ProgrammingError) as caught,
        user_session_scope(people["alice"]["user"], pg_url) as session,
    ):
        session.execute(
            sa.text(
                "INSERT INTO user_prompts (id, user_id, template_name, signature_name, "
                "model_name, parameters, compiled_prompt, output, key_source, quota_reserved, "
                "status, is_favorite, created_at) VALUES (:id, :owner, '', '', '', '{}', '', "
                "'', 'offline', false, 'succeeded', false, now())"
            ),
            {"id": uuid.uuid4(), "owner": people["bob"]["user"]},
        )
    assert isinstance(caught.value.orig, psycopg.errors.InsufficientPrivilege)
    assert "row-level security" in str(caught.value.orig)


@pytest.mark.parametrize("table", CATALOG)
def test_the_catalog_is_readable_but_not_writable(pg_url: str, people, table: str) -> None:
    with user_session_scope(people["alice"]["user"], pg_url) as session:
        assert session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() > 0
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(people["alice"]["user"], pg_url) as session,
    ):
        session.execute(sa.text(f"UPDATE {table} SET sort_order = sort_order + 1"))


def test_no_user_set_reads_nothing_even_on_a_reused_connection(pg_url: str, people) -> None:
    # One pooled connection: a transaction as Alice, then one with the role but no user.
    engine = sa.create_engine(
        pg_url.replace("postgresql://", "postgresql+psycopg://", 1), pool_size=1, max_overflow=0
    )
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"SET LOCAL ROLE {USER_ROLE}"))
            conn.execute(
                sa.text("SELECT set_config('app.user_id', :u, true)"),
                {"u": str(people["alice"]["user"])},
            )
            assert conn.execute(sa.text("SELECT count(*) FROM user_prompts")).scalar_one() == 1
        with engine.begin() as conn:
            conn.execute(sa.text(f"SET LOCAL ROLE {USER_ROLE}"))
            for table in OWNED:
                count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                assert count == 0, table
    finally:
        engine.dispose()


def test_services_scope_by_owner_on_sqlite(sqlite_url: str, monkeypatch) -> None:
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", new_master_key_text())
    reset_settings_cache()
    people = _populate(sqlite_url)
    alice, bob = people["alice"], people["bob"]
    with user_session_scope(alice["user"], sqlite_url) as session:
        mine = history.list_history(session=session, user_id=alice["user"])
        assert [i.snippet for i in mine] == ["alice's output"]
        assert (
            history.get_history_item(
                session=session, user_id=alice["user"], prompt_id=bob["prompt"]
            )
            is None
        )
        assert not history.delete_prompt(
            session=session, user_id=alice["user"], prompt_id=bob["prompt"]
        )
        assert [k.last_four for k in keys.list_keys(session=session, user_id=alice["user"])] == [
            "lice"
        ]
    with session_scope(sqlite_url) as session:
        assert len(session.exec(select(UserPrompt)).all()) == 2
