"""Generate under a slow database (issue 14: 1,000 users at once). The dashboard's Generate
held the page's state lock across its database round trips; when they waited in a queue
longer than Reflex's lock expiration, the run failed with LockExpiredError and the tab never
showed its result. Here the session lookup is held up twice as long as the lock may live
(the app runs with a short `REFLEX_REDIS_LOCK_EXPIRATION`): the result still shows."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator

import pytest

from promptgen.db import admin_session_scope, dispose_engines
from promptgen.vault import new_master_key_text
from tests.support.app_server import AppServer, start_app
from tests.support.factories import make_user
from tests.support.fake_providers import DEFAULT_KEY, FakeOpenAI
from tests.support.postgres import admin_connect
from tests.support.reflex_tab import Tab

LOCK_EXPIRATION_MS = 1500


@pytest.fixture(scope="module")
def short_locks(postgres_server, redis_server, fake_openai) -> Iterator[AppServer]:
    database_url = postgres_server.create_database("promptgen_e2e_locks")
    server = start_app(
        database_url,
        name="state-locks",
        REDIS_URL=redis_server.url,
        GRANIAN_WORKERS="2",
        REFLEX_REDIS_LOCK_EXPIRATION=str(LOCK_EXPIRATION_MS),
        REFLEX_REDIS_LOCK_WARNING_THRESHOLD=str(LOCK_EXPIRATION_MS // 2),
        OPENAI_API_KEY=DEFAULT_KEY,
        OPENAI_BASE_URL=fake_openai.url + "/v1",
        KEY_ENCRYPTION_KEYS=new_master_key_text(),
    )
    yield server
    server.stop()
    dispose_engines()
    postgres_server.drop_database(database_url)


def _ids(database_url: str) -> tuple[int, int]:
    with admin_connect(database_url) as conn:
        blueprint = conn.execute(
            "SELECT id FROM supported_templates WHERE slug = 'product-photo'"
        ).fetchone()
        model = conn.execute("SELECT id FROM supported_ai_models WHERE slug = 'gpt-4.1-mini'")
        return blueprint[0], model.fetchone()[0]


def test_generate_shows_its_result_when_the_database_is_slower_than_the_lock_lives(
    short_locks: AppServer, fake_openai: FakeOpenAI
) -> None:
    fake_openai.latency_s = 0
    with admin_session_scope(short_locks.database_url) as session:
        token = make_user(session, "slow-database@example.com").token
    blueprint_id, model_id = _ids(short_locks.database_url)
    form = {
        "product": "a walnut desk lamp",
        "setting": "clean studio",
        "angle": "eye level",
        "aspect_ratio": "1:1",
    }
    held = threading.Event()
    release = threading.Event()

    def hold_session_lookups() -> None:
        # What a queue of other users' work looks like to this one: its session lookup
        # waits, here for twice as long as Reflex lets a state lock live.
        with admin_connect(short_locks.database_url) as conn:
            conn.execute("LOCK TABLE user_sessions IN ACCESS EXCLUSIVE MODE")
            held.set()
            release.wait(timeout=30)

    async def run() -> tuple[str, str, str]:
        tab = await Tab.open(short_locks.url, token)
        try:
            await tab.prepare(blueprint_id, model_id)
            holder = threading.Thread(target=hold_session_lookups)
            holder.start()
            held.wait(timeout=10)
            generating = asyncio.create_task(tab.generate(form, timeout=30))
            await asyncio.sleep(2 * LOCK_EXPIRATION_MS / 1000)
            release.set()
            holder.join(timeout=10)
            outcome = await generating
            return outcome.error, str(tab.var("result_output")), str(tab.var("result_prompt_id"))
        finally:
            release.set()
            await tab.close()

    # In a thread of its own: Playwright's sync API may hold this thread's event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        error, output, prompt_id = pool.submit(asyncio.run, run()).result()
    assert error == ""  # not "TimeoutError": the result reached the tab
    assert "walnut desk lamp" in output
    assert prompt_id
