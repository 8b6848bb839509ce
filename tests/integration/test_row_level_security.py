"""Row-level security on PostgreSQL, tried with raw SQL through the user session; and the
same scoping through the services on SQLite (which has no RLS)."""

from __future__ import annotations

import calendar
import uuid
from datetime import UTC, datetime

import psycopg.errors
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel, select

from promptgen.db import admin_session_scope, session_scope, user_database_url, user_session_scope
from promptgen.models import (
    CATALOG_TABLES,
    CATALOG_VERSION_TABLE,
    FormDraft,
    PromptAttachment,
    PromptRating,
    SignatureFavorite,
    SupportedTemplate,
    UploadDraft,
    UserApiKey,
    UserPrompt,
    VisualSignature,
    owned_tables,
)
from promptgen.periods import quota_period_start
from promptgen.services import history, keys, recovery, user_blueprints
from promptgen.services.catalog_import import seed_catalog
from promptgen.settings import reset_settings_cache
from promptgen.vault import new_master_key_text
from tests.support.factories import make_user

# Tables no user session may touch: Stripe's events and the throttles.
ADMIN_ONLY = {"stripe_events", "throttles", "database_secrets", "job_runs"}


def _populate(url: str) -> dict[str, dict[str, uuid.UUID]]:
    """Two users, each with a row in every user-owned table (written by the admin session)."""
    people = {}
    with admin_session_scope(url) as session:
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
            session.add(
                UploadDraft(
                    user_id=user_id,
                    filename="d.png",
                    mime_type="image/png",
                    size_bytes=1,
                    sha256="0" * 64,
                    data=b"x",
                )
            )
            session.add(PromptRating(prompt_id=prompt.id, user_id=user_id, vote=1))
            recovery.issue_email_verification(session=session, user_id=user_id)
            blueprint_id = session.exec(select(SupportedTemplate.id)).first()
            signature_id = session.exec(select(VisualSignature.id)).first()
            session.add(SignatureFavorite(user_id=user_id, signature_id=signature_id))
            session.add(
                FormDraft(user_id=user_id, template_id=blueprint_id, field_values={"product": name})
            )
            user_blueprints.create_blueprint(
                session=session,
                user_id=user_id,
                draft=user_blueprints.BlueprintDraft(
                    name=f"{name}'s blueprint",
                    prompt_template="Write about {{ topic }}.",
                    parameter_schema={
                        "type": "object",
                        "properties": {"topic": {"type": "string", "title": "Topic"}},
                    },
                ),
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
        for table, owner in owned_tables().items():
            owners = session.execute(sa.text(f"SELECT {owner} FROM {table}")).scalars().all()
            assert owners and set(owners) == {alice}, table
    with admin_session_scope(pg_url) as session:  # the admin session sees everyone
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
    with admin_session_scope(pg_url) as session:
        assert session.get(UserPrompt, bob["prompt"]) is not None


def test_a_user_cannot_insert_a_row_owned_by_someone_else(pg_url: str, people) -> None:
    with (
        pytest.raises(sa.exc.ProgrammingError) as caught,
        user_session_scope(people["alice"]["user"], pg_url) as session,
    ):
        session.execute(
            sa.text(
                "INSERT INTO user_prompts (id, user_id, template_name, signature_name, "
                "model_name, parameters, compiled_prompt, output, key_source, "
                "status, is_favorite, created_at) VALUES (:id, :owner, '', '', '', '{}', '', "
                "'', 'offline', 'succeeded', false, now())"
            ),
            {"id": uuid.uuid4(), "owner": people["bob"]["user"]},
        )
    assert isinstance(caught.value.orig, psycopg.errors.InsufficientPrivilege)
    assert "row-level security" in str(caught.value.orig)


@pytest.mark.parametrize("table", CATALOG_TABLES)
def test_the_catalog_is_readable_but_not_writable(pg_url: str, people, table: str) -> None:
    with user_session_scope(people["alice"]["user"], pg_url) as session:
        assert session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() > 0
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(people["alice"]["user"], pg_url) as session,
    ):
        session.execute(sa.text(f"UPDATE {table} SET sort_order = sort_order + 1"))


def test_the_catalog_version_is_readable_but_only_triggers_move_it(pg_url: str, people) -> None:
    with user_session_scope(people["alice"]["user"], pg_url) as session:
        before = session.execute(sa.text("SELECT version FROM catalog_version")).scalar_one()
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(people["alice"]["user"], pg_url) as session,
    ):
        session.execute(sa.text("UPDATE catalog_version SET version = 0"))
    with admin_session_scope(pg_url) as session:
        session.execute(sa.text("UPDATE supported_templates SET sort_order = sort_order + 1"))
    with user_session_scope(people["alice"]["user"], pg_url) as session:
        after = session.execute(sa.text("SELECT version FROM catalog_version")).scalar_one()
    assert after > before


def test_no_user_set_reads_nothing_even_on_a_reused_connection(pg_url: str, people) -> None:
    # One pooled connection of the user role: a transaction as Alice (signed, as the app
    # does it), one that claims Bob's id without the signature, one with no user at all.
    from promptgen.db import _user_scope_secret
    from promptgen.db_security import user_scope_signature

    alice, bob = str(people["alice"]["user"]), str(people["bob"]["user"])
    signature = user_scope_signature(_user_scope_secret(pg_url), alice)
    engine = sa.create_engine(user_database_url(pg_url), pool_size=1, max_overflow=0)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "SELECT set_config('app.user_id', :u, true), "
                    "set_config('app.user_sig', :s, true)"
                ),
                {"u": alice, "s": signature},
            )
            assert conn.execute(sa.text("SELECT count(*) FROM user_prompts")).scalar_one() == 1
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "SELECT set_config('app.user_id', :u, true), "
                    "set_config('app.user_sig', :s, true)"
                ),
                {"u": bob, "s": signature},
            )
            for table in owned_tables():
                count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                assert count == 0, table
        with engine.begin() as conn:
            for table in owned_tables():
                count = conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
                assert count == 0, table
    finally:
        engine.dispose()


def test_sql_in_a_user_session_cannot_claim_another_users_id(pg_url: str, people) -> None:
    alice, bob = people["alice"]["user"], people["bob"]["user"]
    with user_session_scope(alice, pg_url) as session:
        session.execute(sa.text("SELECT set_config('app.user_id', :u, true)"), {"u": str(bob)})
        for table in owned_tables():
            count = session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            assert count == 0, table
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            session.execute(sa.text("SELECT * FROM database_secrets"))


def test_the_owner_sees_user_rows_only_in_an_explicit_admin_session(pg_url: str, people) -> None:
    # A plain owner session that forgot its scope fails closed.
    with session_scope(pg_url) as session:
        for table in owned_tables():
            assert session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one() == 0
        assert session.execute(sa.text("SELECT count(*) FROM supported_templates")).scalar_one()
    with admin_session_scope(pg_url) as session:
        assert session.execute(sa.text("SELECT count(*) FROM users")).scalar_one() == 2


def test_every_user_owned_table_in_the_models_is_forced_under_rls(pg_url: str) -> None:
    owned = owned_tables()
    # The derivation finds the tables we know of, so it is not silently empty.
    assert {"users", "user_prompts", "user_api_keys", "prompt_attachments"} <= set(owned)
    with session_scope(pg_url) as session:
        for table in SQLModel.metadata.sorted_tables:
            enabled, forced = session.execute(
                sa.text(
                    "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE oid = CAST(:t AS regclass)"
                ),
                {"t": table.name},
            ).one()
            policies = set(
                session.execute(
                    sa.text("SELECT policyname FROM pg_policies WHERE tablename = :t"),
                    {"t": table.name},
                ).scalars()
            )
            if table.name in owned:
                assert enabled and forced, table.name
                assert policies == {"admin_scope", "user_rows"}, table.name
            else:
                # Anything else is catalog (read-only for users) or for the admin only.
                assert (
                    table.name in CATALOG_TABLES
                    or table.name == CATALOG_VERSION_TABLE
                    or table.name in ADMIN_ONLY
                ), table.name


def _tables_with_an_owner_column() -> dict[str, list[str]]:
    """Read from SQLModel.metadata on its own, not through owned_tables() (which the policies
    come from): any column that references users, or is called user_id, makes a table
    user-owned; and users itself."""
    users = SQLModel.metadata.tables["users"]
    found: dict[str, list[str]] = {"users": ["id"]}
    for table in SQLModel.metadata.sorted_tables:
        columns = [
            column.name
            for column in table.columns
            if column.name == "user_id"
            or any(fk.column.table is users for fk in column.foreign_keys)
        ]
        if columns:
            found[table.name] = columns
    return found


def test_every_table_with_an_owner_column_has_rls_enabled_and_forced(pg_url: str) -> None:
    owners = _tables_with_an_owner_column()
    assert len(owners) >= 9, owners  # the derivation sees the tables we know of
    with session_scope(pg_url) as session:
        rows = session.execute(
            sa.text(
                "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )
        ).all()
    security = {name: (enabled, forced) for name, enabled, forced in rows}
    for table, columns in owners.items():
        assert security.get(table) == (True, True), f"{table} ({columns}) is not under RLS"
        # Scoped by the column that names the owner, so the policy cannot point elsewhere.
        assert owned_tables().get(table) in columns, table


@pytest.mark.parametrize("table", sorted(ADMIN_ONLY))
def test_admin_only_tables_are_closed_to_user_sessions(pg_url: str, people, table: str) -> None:
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(people["alice"]["user"], pg_url) as session,
    ):
        session.execute(sa.text(f"SELECT count(*) FROM {table}"))


def test_a_user_session_cannot_climb_to_another_role(pg_url: str, people) -> None:
    owner = sa.engine.make_url(pg_url).username
    user_role = sa.engine.make_url(user_database_url(pg_url)).username
    with user_session_scope(people["alice"]["user"], pg_url) as session:
        session.execute(sa.text("RESET ROLE"))
        assert session.execute(sa.text("SELECT current_user")).scalar_one() == user_role
        attributes = session.execute(
            sa.text(
                "SELECT rolsuper, rolbypassrls, rolcreaterole, rolinherit FROM pg_roles "
                "WHERE rolname = current_user"
            )
        ).one()
        assert tuple(attributes) == (False, False, False, False)
        memberships = session.execute(
            sa.text(
                "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member "
                "WHERE r.rolname = current_user"
            )
        ).scalar_one()
        assert memberships == 0
    for statement in (f'SET ROLE "{owner}"', f'SET SESSION AUTHORIZATION "{owner}"'):
        with (
            pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
            user_session_scope(people["alice"]["user"], pg_url) as session,
        ):
            session.execute(sa.text(statement))


@pytest.mark.parametrize(
    "assignment",
    [
        "tier_id = (SELECT max(id) FROM subscription_tiers)",
        "usage_count = 0",
        "usage_period_start = now()",
        "status = 'active'",
        "stripe_customer_id = 'cus_x'",
        "stripe_subscription_id = 'sub_x'",
        "current_period_start = now()",
        "current_period_end = now() + interval '1 year'",
        "cancel_at_period_end = false",
    ],
)
def test_a_user_session_cannot_change_its_own_plan(pg_url: str, people, assignment: str) -> None:
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(people["alice"]["user"], pg_url) as session,
    ):
        session.execute(sa.text(f"UPDATE user_subscriptions SET {assignment}"))
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(people["alice"]["user"], pg_url) as session,
    ):
        session.execute(sa.text("DELETE FROM user_subscriptions"))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE users SET email_verified_at = now()",
        "UPDATE users SET email = 'someone-else@example.com'",
        "UPDATE account_tokens SET used_at = NULL, expires_at = now() + interval '1 year'",
        "INSERT INTO account_tokens (id, user_id, purpose, token_hash, email, created_at, "
        "expires_at) SELECT gen_random_uuid(), id, 'reset_password', repeat('a', 64), email, "
        "now(), now() + interval '1 day' FROM users",
    ],
)
def test_a_user_session_cannot_verify_itself_or_forge_links(
    pg_url: str, people, statement: str
) -> None:
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(people["alice"]["user"], pg_url) as session,
    ):
        session.execute(sa.text(statement))


def test_a_user_session_cannot_mark_a_prompt_quota_reserved(pg_url: str, people) -> None:
    alice = people["alice"]
    insert = (
        "INSERT INTO user_prompts (id, user_id, key_source, quota_reserved, status, created_at, "
        "template_name, signature_name, model_name, parameters, compiled_prompt, output, "
        "is_favorite) VALUES (:id, :owner, 'platform', true, 'pending', now(), '', '', '', "
        "'{}', '', '', false)"
    )
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(alice["user"], pg_url) as session,
    ):
        session.execute(sa.text(insert), {"id": uuid.uuid4(), "owner": alice["user"]})
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(alice["user"], pg_url) as session,
    ):
        session.execute(sa.text("UPDATE user_prompts SET quota_reserved = true"))
    # A finished generation that spent a unit cannot be turned back into one the crash
    # sweep would refund.
    with admin_session_scope(pg_url) as session:
        session.execute(
            sa.text("UPDATE user_prompts SET quota_reserved = true WHERE id = :id"),
            {"id": alice["prompt"]},
        )
    for statement in (
        "UPDATE user_prompts SET status = 'pending'",
        "UPDATE user_prompts SET output = ''",
        f"SELECT promptgen_refund_reservation('{alice['prompt']}')",
    ):
        with (
            pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
            user_session_scope(alice["user"], pg_url) as session,
        ):
            session.execute(sa.text(statement))


def test_quota_moves_only_through_the_functions_for_the_signed_in_user(pg_url: str, people) -> None:
    alice, bob = people["alice"]["user"], people["bob"]["user"]
    with (
        pytest.raises(sa.exc.ProgrammingError, match="signed-in user"),
        user_session_scope(alice, pg_url) as session,
    ):
        session.execute(sa.text("SELECT * FROM promptgen_reserve_quota(:u)"), {"u": bob})
    with admin_session_scope(pg_url) as session:
        session.execute(
            sa.text(
                "UPDATE user_subscriptions SET usage_period_start = date_trunc('month', now()), "
                "usage_count = (SELECT monthly_quota FROM subscription_tiers t "
                "WHERE t.id = tier_id)"
            )
        )
    # A chosen clock would open a fresh period; from a user session it is ignored.
    with user_session_scope(alice, pg_url) as session:
        granted = session.execute(
            sa.text("SELECT * FROM promptgen_reserve_quota(:u, NULL, '2099-01-01')"), {"u": alice}
        ).first()
        assert granted is None
        used, quota = session.execute(
            sa.text(
                "SELECT usage_count, monthly_quota FROM user_subscriptions s "
                "JOIN subscription_tiers t ON t.id = s.tier_id"
            )
        ).one()
        assert used == quota


def test_the_sql_quota_period_matches_the_python_one(pg_url: str) -> None:
    anchors = [None] + [
        datetime(2030, month, day, hour, tzinfo=UTC)
        for month, day, hour in [(1, 31, 10), (2, 28, 0), (3, 30, 23), (8, 15, 12), (12, 31, 5)]
    ]
    moments = [
        datetime(2031, month, day, hour, minute, tzinfo=UTC)
        for month in range(1, 13)
        for day, hour, minute in [(1, 0, 0), (28, 9, 59), (28, 10, 0), (30, 23, 30), (31, 12, 0)]
        if day <= calendar.monthrange(2031, month)[1]
    ]
    with session_scope(pg_url) as session:
        for anchor in anchors:
            for moment in moments:
                in_sql = session.execute(
                    sa.text("SELECT promptgen_quota_period_start(:a, :t)"),
                    {"a": anchor, "t": moment},
                ).scalar_one()
                expected = quota_period_start(now=moment, anchor=anchor)
                assert in_sql == expected, (anchor, moment)


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
    with admin_session_scope(sqlite_url) as session:
        assert len(session.exec(select(UserPrompt)).all()) == 2


def test_no_temporary_table_can_shadow_a_table_inside_the_functions(pg_url: str, people) -> None:
    alice = people["alice"]["user"]
    with (
        pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
        user_session_scope(alice, pg_url) as session,
    ):
        session.execute(
            sa.text("CREATE TEMP TABLE subscription_tiers AS SELECT * FROM subscription_tiers")
        )
    with session_scope(pg_url) as session:
        definitions = session.execute(
            sa.text(
                "SELECT proname, proconfig FROM pg_proc WHERE proname LIKE 'promptgen_%' "
                "AND prosecdef"
            )
        ).all()
    assert definitions
    for name, config in definitions:  # pg_temp searched last, if at all
        assert "search_path=pg_catalog, public, pg_temp" in config, name


def test_a_pooled_user_connection_forgets_what_the_last_request_set(pg_url: str, people) -> None:
    alice, bob = people["alice"]["user"], people["bob"]["user"]
    engine_url = user_database_url(pg_url)
    from promptgen.db import get_engine

    get_engine(engine_url).dispose()
    with user_session_scope(alice, pg_url) as session:
        session.execute(sa.text("SELECT set_config('search_path', 'pg_catalog', false)"))
        session.execute(sa.text("SELECT set_config('app.user_id', :u, false)"), {"u": str(bob)})
    with user_session_scope(alice, pg_url) as session:
        path = session.execute(sa.text("SELECT current_setting('search_path')")).scalar_one()
        owners = session.execute(sa.text("SELECT user_id FROM user_prompts")).scalars().all()
    assert "public" in path and set(owners) == {alice}


def test_a_delivered_answer_costs_its_unit_even_if_refunded_mid_stream(pg_url, people) -> None:
    """The user role cannot refund by hand, and finishing a generation that delivered output
    charges its unit even if it was given back meanwhile."""
    from promptgen.services import generation
    from promptgen.services.quota import refund_reservation, reserve_quota

    alice = people["alice"]["user"]
    with admin_session_scope(pg_url) as session:
        prompt = UserPrompt(user_id=alice, status="pending")
        session.add(prompt)
        session.flush()
        assert reserve_quota(session=session, user_id=alice, prompt_id=prompt.id)
        refund_reservation(session=session, prompt_id=prompt.id)  # as a refund would
        used = session.execute(
            sa.text("SELECT usage_count FROM user_subscriptions WHERE user_id = :u"), {"u": alice}
        ).scalar_one()
    with user_session_scope(alice, pg_url) as session:
        generation.finish_success(
            session=session,
            user_id=alice,
            prompt_id=prompt.id,
            output="the whole answer",
            input_tokens=1,
            output_tokens=2,
            latency_ms=5,
        )
    with admin_session_scope(pg_url) as session:
        after = session.execute(
            sa.text("SELECT usage_count FROM user_subscriptions WHERE user_id = :u"), {"u": alice}
        ).scalar_one()
        row = session.get(UserPrompt, prompt.id)
    assert after == used + 1 and row.status == "succeeded" and row.quota_reserved


@pytest.mark.parametrize(
    ("table", "columns", "values"),
    [
        (
            "form_drafts",
            "user_id, template_id, field_values, signatures, updated_at",
            ":owner, :blueprint, '{}', '[]', now()",
        ),
        ("signature_favorites", "user_id, signature_id, created_at", ":owner, :signature, now()"),
    ],
)
def test_drafts_and_favourites_are_the_owners_alone(
    pg_url: str, people, table: str, columns: str, values: str
) -> None:
    """Raw SQL in Alice's session: Bob's drafts and favourites are invisible, unchangeable,
    undeletable, and she cannot write one in his name."""
    alice, bob = people["alice"]["user"], people["bob"]["user"]
    with admin_session_scope(pg_url) as session:
        blueprint = session.exec(select(SupportedTemplate.id).order_by(SupportedTemplate.id)).all()[
            -1
        ]
        signature = session.exec(select(VisualSignature.id).order_by(VisualSignature.id)).all()[-1]
    ids = {"blueprint": blueprint, "signature": signature}
    with user_session_scope(alice, pg_url) as session:
        seen = session.execute(sa.text(f"SELECT user_id FROM {table}")).scalars().all()
        assert set(seen) == {alice}
        assert (
            session.execute(
                sa.text(f"DELETE FROM {table} WHERE user_id = :bob"), {"bob": bob}
            ).rowcount
            == 0
        )
        if table == "form_drafts":
            changed = session.execute(
                sa.text("UPDATE form_drafts SET field_values = '{}' WHERE user_id = :bob"),
                {"bob": bob},
            )
            assert changed.rowcount == 0
        # Her own row goes in.
        session.execute(
            sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), {"owner": alice, **ids}
        )
    with (
        pytest.raises(sa.exc.ProgrammingError) as caught,
        user_session_scope(alice, pg_url) as session,
    ):
        session.execute(
            sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), {"owner": bob, **ids}
        )
    assert "row-level security" in str(caught.value.orig)
    with admin_session_scope(pg_url) as session:
        owners = session.execute(sa.text(f"SELECT user_id FROM {table}")).scalars().all()
    assert sorted(map(str, owners)) == sorted(map(str, [alice, alice, bob]))
