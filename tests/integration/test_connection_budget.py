"""One instance's PostgreSQL connections stay within DATABASE_MAX_CONNECTIONS however many
users arrive at once (issue 14: 1,000 users over Reflex's five workers took every connection
a default server has, and sign-ins, page loads and other apps on the server failed with
"remaining connection slots are reserved"). Each worker takes an even part of the budget;
work beyond it waits its turn and is served."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import select

from promptgen.db import (
    admin_session_scope,
    current_share,
    dispose_engines,
    run_in_admin_session,
    run_in_user_session,
    share_connections_among,
)
from promptgen.models import SubscriptionTier
from promptgen.services import catalog, generation, history
from promptgen.settings import reset_settings_cache
from tests.integration import test_generation as base
from tests.integration.test_generation import _request, _settings, _usage

fake_openai = base.fake_openai
fake_gemini = base.fake_gemini
world = base.world

BUDGET, WORKERS = 16, 2  # this process is one of two workers: 8 connections are its part
USERS = 60


@pytest.fixture
def one_of_two_workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_MAX_CONNECTIONS", str(BUDGET))
    reset_settings_cache()
    share_connections_among(WORKERS)
    dispose_engines()  # pools and thread pools are sized when first used
    yield
    share_connections_among(1)
    dispose_engines()


class PeakConnections:
    """The most connections open to the test database at once, sampled every 5 ms by a
    connection of its own (not counted)."""

    def __init__(self, url: str) -> None:
        dsn = sa.engine.make_url(url).set(drivername="postgresql")
        self._dsn = dsn.render_as_string(hide_password=False)
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            while not self._stop.wait(0.005):
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
                self.peak = max(self.peak, row[0] if row else 0)

    def __enter__(self) -> PeakConnections:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_many_users_at_once_stay_within_the_workers_part_and_are_all_served(
    world, fake_openai, fake_gemini, one_of_two_workers
) -> None:
    assert current_share().total == BUDGET // WORKERS
    with admin_session_scope(world["db"]) as session:
        for tier in session.exec(select(SubscriptionTier)).all():
            tier.monthly_quota = 1000
    fake_openai.latency_s = 0.05
    settings = _settings(fake_openai, fake_gemini)
    user_id = world["user_id"]
    with PeakConnections(world["db"]) as connections:
        results = await asyncio.gather(
            *(
                generation.run_generation(
                    user_id=user_id, request=_request(world), settings=settings
                )
                for _ in range(USERS)
            ),
            *(run_in_user_session(history.list_history, user_id=user_id) for _ in range(USERS)),
            *(run_in_admin_session(catalog.list_blueprints) for _ in range(USERS)),
        )
    # Every generation answered, every history page and catalog read came back (gather
    # would have raised a pool timeout or a refused connection).
    assert all(r.output for r in results[:USERS])
    assert all(isinstance(page, list) for page in results[USERS : 2 * USERS])
    assert all(results[2 * USERS :])
    assert _usage(world) == USERS
    assert 0 < connections.peak <= BUDGET // WORKERS
