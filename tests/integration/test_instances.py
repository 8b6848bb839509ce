"""Several app instances sharing one PostgreSQL and one Redis (issue 14).

A generation runs in the process whose websocket started it; Cancel may arrive at another
instance (the tab's websocket reconnected there behind a load balancer). Here instance A is a
separate process running a generation for tab "tab-a", and this process plays instance B,
which receives the Cancel: the run on A stops, is recorded as cancelled and refunded.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from promptgen.db import admin_session_scope
from promptgen.models import UserPrompt
from promptgen.services import realtime
from promptgen.settings import reset_settings_cache
from tests.integration import test_generation as base
from tests.integration.test_generation import _usage
from tests.support.fake_providers import DEFAULT_KEY
from tests.support.redis_server import start_redis

ROOT = Path(__file__).resolve().parents[2]
fake_openai = base.fake_openai
fake_gemini = base.fake_gemini
world = base.world

_INSTANCE_A = """
import asyncio, sys, uuid
from promptgen.services import generation, realtime
from promptgen.settings import Settings

async def main():
    listener = asyncio.create_task(realtime.listen_for_cancels())
    await asyncio.sleep(0.5)  # subscribed
    settings = Settings(openai_api_key=sys.argv[2], openai_base_url=sys.argv[3],
                        provider_timeout_seconds=60)
    request = generation.GenerationRequest(
        blueprint_id=int(sys.argv[4]), model_id=int(sys.argv[5]),
        parameters={"product": "a walnut desk lamp"})
    run = asyncio.create_task(generation.run_generation(
        user_id=uuid.UUID(sys.argv[1]), request=request, settings=settings))
    realtime.register_run("tab-a", run)
    print("started", flush=True)
    try:
        await run
        print("finished", flush=True)
    except asyncio.CancelledError:
        print("cancelled", flush=True)
    listener.cancel()

asyncio.run(main())
"""


@pytest.fixture
def redis_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = start_redis()
    monkeypatch.setenv("REDIS_URL", server.url)
    reset_settings_cache()
    yield server.url
    server.stop()
    reset_settings_cache()


def _pending(world) -> list[UserPrompt]:
    with admin_session_scope(world["db"]) as session:
        return list(session.exec(select(UserPrompt)).all())


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_a_cancel_received_by_another_instance_stops_the_run_and_refunds(
    world, fake_openai, redis_url
) -> None:
    fake_openai.latency_s = 30  # the answer would take half a minute
    env = dict(os.environ, DATABASE_URL=world["db"], REDIS_URL=redis_url)
    instance_a = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _INSTANCE_A,
            str(world["user_id"]),
            DEFAULT_KEY,
            fake_openai.url + "/v1",
            str(world["blueprint_id"]),
            str(world["models"]["gpt-4.1-mini"]),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert instance_a.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        while not [p for p in _pending(world) if p.status == "pending"]:
            assert time.monotonic() < deadline, "the run never reached the provider"
            await asyncio.sleep(0.1)
        assert _usage(world) == 1  # the unit is held while the provider works
        # Instance B (this process) has no such run: the request goes through Redis.
        assert not realtime.cancel_local_run("tab-a")
        await realtime.request_cancel("tab-a")
        outcome = await asyncio.to_thread(instance_a.stdout.readline)
        assert outcome.strip() == "cancelled"
        instance_a.wait(timeout=30)
    finally:
        if instance_a.poll() is None:
            instance_a.kill()
            instance_a.wait()
    rows = _pending(world)
    assert [(r.status, r.quota_reserved) for r in rows] == [("cancelled", False)]
    assert rows[0].error_message.startswith("Cancelled.")
    assert _usage(world) == 0  # nothing reached the user: the unit went back


_WORKERS = """
import asyncio, logging, sys
from promptgen import tasks

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(message)s")
start_at = float(sys.argv[1])

async def main():
    await asyncio.sleep(max(0.0, start_at - __import__("time").time()))
    # Three workers of this instance fire the daily job at the same moment.
    await asyncio.gather(*(tasks._purge_job() for _ in range(3)))

asyncio.run(main())
"""


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_the_daily_purge_runs_once_across_instances(world) -> None:
    old = datetime.now(UTC) - timedelta(days=400)
    with admin_session_scope(world["db"]) as session:
        session.add(UserPrompt(user_id=world["user_id"], status="succeeded", created_at=old))
    start_at = time.time() + 3  # both instances fire together
    env = dict(os.environ, DATABASE_URL=world["db"])
    instances = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKERS, str(start_at)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    logs = "".join(p.communicate(timeout=120)[0] for p in instances)
    assert all(p.returncode == 0 for p in instances), logs
    ran = [line for line in logs.splitlines() if line.startswith("retention purge: Free")]
    skipped = logs.count("retention purge: already run by another worker")
    assert (len(ran), skipped) == (1, 5), logs
    assert "deleted 1 generations" in ran[0]
    assert _pending(world) == []
