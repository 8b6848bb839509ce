"""Deployed like an operator would on managed PostgreSQL: the app's role is an ordinary
`NOSUPERUSER NOBYPASSRLS` login that owns its database, with CREATEROLE (a) or without it,
after a DBA ran the printed bootstrap script (b). Driven through the CLI and the services."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import select
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.db import (
    admin_session_scope,
    dispose_engines,
    user_database_url,
    user_session_scope,
)
from promptgen.models import (
    SubscriptionTier,
    SupportedAIModel,
    SupportedTemplate,
    User,
    UserPrompt,
    UserSubscription,
)
from promptgen.services import accounts, generation, history, keys
from promptgen.services.account_deletion import delete_account
from promptgen.services.catalog_import import default_catalog, import_catalog
from promptgen.services.quota import reserve_quota
from promptgen.settings import reset_settings_cache
from promptgen.vault import new_master_key_text
from tests.support.fake_stripe import FakeStripe, subscription_object
from tests.support.postgres import PostgresServer
from tests.support.stripe_events import make_event, signed_request

PASSWORD = "correct horse battery"
SECRET = "whsec_roles_test"


def _cli(url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promptgen", *args],
        env={**os.environ, "DATABASE_URL": url, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def fresh_database(postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch):
    """Make databases on demand (each owned by its own ordinary role); drop them after."""
    made: list[str] = []

    def make(*, createrole: bool) -> str:
        url = postgres_server.create_database("promptgen_ops", createrole=createrole)
        made.append(url)
        return url

    yield make
    dispose_engines()
    reset_settings_cache()
    for url in made:
        postgres_server.drop_database(url)


def _role_attributes(url: str) -> tuple[bool, bool]:
    owner = sa.engine.make_url(url).username
    conninfo = sa.engine.make_url(url).set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False)) as conn:
        row = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = %s", (owner,)
        ).fetchone()
    return row


def test_variant_a_an_owner_with_createrole_migrates_and_seeds(fresh_database) -> None:
    url = fresh_database(createrole=True)
    assert _role_attributes(url) == (False, False)  # an ordinary role, as managed services give
    migrated = _cli(url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "newest revision" in migrated.stdout
    seeded = _cli(url, "seed")
    assert seeded.returncode == 0, seeded.stderr
    again = _cli(url, "migrate")  # every `make run` migrates: it must stay a no-op
    assert again.returncode == 0, again.stderr


def test_variant_b_without_createrole_names_the_statement_then_works(
    fresh_database, postgres_server: PostgresServer
) -> None:
    url = fresh_database(createrole=False)
    refused = _cli(url, "migrate")
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    role = sa.engine.make_url(url).database + "_user"
    assert f'CREATE ROLE "{role}" LOGIN' in refused.stderr
    assert "Nothing was changed" in refused.stderr

    script = _cli(url, "db", "bootstrap-sql")
    assert script.returncode == 0, script.stderr
    assert f'CREATE ROLE "{role}"' in script.stdout and "NOBYPASSRLS" in script.stdout
    postgres_server.run_as_dba(script.stdout)

    migrated = _cli(url, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert _cli(url, "seed").returncode == 0


def test_a_user_role_that_could_become_the_owner_is_refused(
    fresh_database, postgres_server: PostgresServer
) -> None:
    url = fresh_database(createrole=True)
    assert _cli(url, "migrate").returncode == 0
    owner = sa.engine.make_url(url).username
    role = sa.engine.make_url(url).database + "_user"
    postgres_server.run_as_dba(f'GRANT "{owner}" TO "{role}"')
    refused = _cli(url, "migrate")
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f'REVOKE "{owner}" FROM "{role}";' in refused.stderr


def test_two_databases_on_one_cluster_stay_apart(fresh_database) -> None:
    staging, production = fresh_database(createrole=True), fresh_database(createrole=True)
    for url in (staging, production):
        assert _cli(url, "migrate").returncode == 0
        assert _cli(url, "seed").returncode == 0
    # Staging's user role may not read production's tables.
    crossed = sa.engine.make_url(user_database_url(staging)).set(
        database=sa.engine.make_url(production).database
    )
    engine = sa.create_engine(crossed, poolclass=sa.pool.NullPool)
    with pytest.raises(sa.exc.ProgrammingError, match="permission denied"), engine.connect() as c:
        c.execute(sa.text("SELECT count(*) FROM supported_templates"))


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


def test_the_whole_path_runs_as_an_ordinary_role_without_createrole(
    fresh_database,
    postgres_server: PostgresServer,
    fake_stripe: FakeStripe,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = fresh_database(createrole=False)
    postgres_server.run_as_dba(_cli(url, "db", "bootstrap-sql").stdout)
    assert _cli(url, "migrate").returncode == 0
    assert _cli(url, "seed").returncode == 0
    vault_keys = new_master_key_text()
    for name, value in {
        "DATABASE_URL": url,
        "KEY_ENCRYPTION_KEYS": vault_keys,
        "STRIPE_SECRET_KEY": "sk_test_promptgen",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "STRIPE_API_BASE": fake_stripe.url,
    }.items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    fake_stripe.reset()

    # Sign-up and sign-in (admin session: the user is not known yet).
    with admin_session_scope() as session:
        accounts.sign_up(session=session, email="ops@example.com", password=PASSWORD)
    with admin_session_scope() as session:
        user = accounts.sign_in(session=session, email="ops@example.com", password=PASSWORD)
        found = accounts.resolve_session(session=session, token=user.token)
    assert found is not None and found.user_id == user.user_id

    # A generation and its history (user sessions, on the user role's pool).
    with admin_session_scope() as session:
        blueprint_id = session.exec(
            select(SupportedTemplate.id).where(SupportedTemplate.slug == "product-photo")
        ).one()
        offline_id = session.exec(
            select(SupportedAIModel.id).where(SupportedAIModel.provider == "offline")
        ).one()
    result = asyncio.run(
        generation.run_generation(
            user_id=user.user_id,
            request=generation.GenerationRequest(
                blueprint_id=blueprint_id,
                model_id=offline_id,
                parameters={"product": "a walnut desk lamp"},
            ),
        )
    )
    assert "walnut desk lamp" in result.output
    with user_session_scope(user.user_id) as session:
        items = history.list_history(session=session, user_id=user.user_id)
        keys.save_key(
            session=session, user_id=user.user_id, provider="openai", api_key="sk-" + "k" * 40
        )
    assert [item.id for item in items] == [str(result.prompt_id)]

    # A Stripe webhook moves the user to Pro (admin session).
    with admin_session_scope() as session:
        pro = next(t for t in default_catalog()["tiers"] if t["slug"] == "pro")
        import_catalog(session=session, data={"tiers": [{**pro, "stripe_price_monthly_id": "p_m"}]})
    now = int(time.time())
    subscription = subscription_object(
        "sub_ops",
        "cus_ops",
        "p_m",
        current_period_start=now - 60,
        current_period_end=now + 86400 * 30,
        metadata={"user_id": str(user.user_id)},
    )
    fake_stripe.subscriptions["sub_ops"] = subscription
    event = make_event("customer.subscription.updated", subscription, created=now)
    body, headers = signed_request(event, SECRET)
    answer = TestClient(build_api()).post("/api/stripe/webhook", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    with admin_session_scope() as session:
        tier_id = session.exec(
            select(UserSubscription.tier_id).where(UserSubscription.user_id == user.user_id)
        ).one()
        assert session.get(SubscriptionTier, tier_id).slug == "pro"

    # The crash sweep refunds a unit a dead process held; the purge removes old history.
    long_ago = datetime.now(UTC) - timedelta(days=4000)
    with admin_session_scope() as session:
        session.add(UserPrompt(user_id=user.user_id, status="succeeded", created_at=long_ago))
        stuck = UserPrompt(user_id=user.user_id, status="pending", created_at=datetime.now(UTC))
        session.add(stuck)
        session.flush()
        reserve_quota(session=session, user_id=user.user_id, prompt_id=stuck.id)
        used = session.exec(
            select(UserSubscription.usage_count).where(UserSubscription.user_id == user.user_id)
        ).one()
    with admin_session_scope() as session:
        assert generation.sweep_abandoned(session=session, older_than=timedelta(0)) == 1
        assert (
            session.exec(
                select(UserSubscription.usage_count).where(UserSubscription.user_id == user.user_id)
            ).one()
            == used - 1
        )
    purged = _cli(url, "purge", KEY_ENCRYPTION_KEYS=vault_keys)
    assert purged.returncode == 0, purged.stderr
    with admin_session_scope() as session:
        assert (
            session.exec(
                select(UserPrompt).where(UserPrompt.created_at < long_ago + timedelta(1))
            ).all()
            == []
        )

    rotated = _cli(url, "keys", "rotate", KEY_ENCRYPTION_KEYS=vault_keys)
    assert rotated.returncode == 0 and "1 already were" in rotated.stdout, rotated.stderr

    # Account deletion (user session), after the subscription is cancelled at Stripe.
    with user_session_scope(user.user_id) as session:
        delete_account(session=session, user_id=user.user_id, password=PASSWORD)
    with admin_session_scope() as session:
        assert session.get(User, user.user_id) is None
        assert session.exec(select(UserPrompt)).all() == []


def _with_password(postgres_server: PostgresServer, url: str, password: str) -> str:
    owner = sa.engine.make_url(url).username
    postgres_server.run_as_dba(f"ALTER ROLE \"{owner}\" PASSWORD '{password}'")
    return sa.engine.make_url(url).set(password=password).render_as_string(hide_password=False)


@pytest.mark.parametrize("password", ["s3cret-owner-password", "p%40ss:w/rd"])
def test_an_owner_with_a_password_migrates_and_sets_the_user_roles(
    fresh_database, postgres_server: PostgresServer, password: str
) -> None:
    """Managed services log in with passwords: the derived user password is sent as a SCRAM
    verifier (whose ':' and the URL's '%' must not be read as placeholders)."""
    url = _with_password(postgres_server, fresh_database(createrole=True), password)
    for _ in range(2):  # creating the role, then keeping its password in step
        migrated = _cli(url, "migrate")
        assert migrated.returncode == 0, migrated.stderr
    assert "Traceback" not in migrated.stderr


def test_tables_left_to_another_owner_get_the_exact_alter_statements(
    fresh_database, postgres_server: PostgresServer
) -> None:
    url = fresh_database(createrole=True)
    assert _cli(url, "migrate").returncode == 0
    database = sa.engine.make_url(url).database
    postgres_server.run_as_dba("ALTER TABLE users OWNER TO promptgen_ci", database=database)
    refused = _cli(url, "migrate")
    owner = sa.engine.make_url(url).username
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert f'ALTER TABLE public."users" OWNER TO "{owner}";' in refused.stderr


def test_instances_migrating_at_once_all_succeed(fresh_database) -> None:
    url = fresh_database(createrole=True)
    assert _cli(url, "migrate").returncode == 0
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "promptgen", "migrate"],
            env={**os.environ, "DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
