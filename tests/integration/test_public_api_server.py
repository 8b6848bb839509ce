"""The public API as production serves it: granian workers, the edge middleware, a client
that hangs up mid-generation, and the rate limit shared through Redis or the database."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.api.edge import EdgeConfig, EdgeMiddleware
from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import UserPrompt, UserSubscription
from promptgen.services import api_tokens
from promptgen.services.catalog_import import seed_catalog
from promptgen.settings import reset_settings_cache
from tests.support.api_server import serve_api
from tests.support.factories import make_user
from tests.support.fake_providers import DEFAULT_KEY, FakeOpenAI
from tests.support.redis_server import start_redis

APP_URL = "http://app.test"
LAMP = {"product": "a walnut desk lamp"}


@pytest.fixture
def account(pg_url: str):
    with admin_session_scope(pg_url) as session:
        seed_catalog(session=session)
        user = make_user(session, "api@example.com")
    with user_session_scope(user.user_id, pg_url) as session:
        token = api_tokens.create_token(
            session=session, user_id=user.user_id, name="script", scope="generate"
        )
    return {"db": pg_url, "user": user, "token": token.secret}


def _usage(db: str, user_id) -> int:
    with admin_session_scope(db) as session:
        return session.exec(
            select(UserSubscription.usage_count).where(UserSubscription.user_id == user_id)
        ).one()


def _statuses(db: str) -> list[str]:
    with admin_session_scope(db) as session:
        return [p.status for p in session.exec(select(UserPrompt)).all()]


def _wait_for(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def test_hanging_up_on_a_stream_cancels_the_generation_and_refunds(account, fake_openai) -> None:
    fake_openai.latency_s = 4  # the provider thinks for a while before its first token
    env = {
        "DATABASE_URL": account["db"],
        "OPENAI_API_KEY": DEFAULT_KEY,
        "OPENAI_BASE_URL": fake_openai.url + "/v1",
        "PROVIDER_TIMEOUT_SECONDS": "30",
    }
    user_id = account["user"].user_id
    with serve_api(env, workers=2) as url:
        with (
            httpx.Client(base_url=url, timeout=30) as client,
            client.stream(
                "POST",
                "/api/v1/generate",
                headers={"Authorization": f"Bearer {account['token']}"},
                json={
                    "blueprint": "product-photo",
                    "model": "gpt-4.1-mini",
                    "parameters": LAMP,
                    "stream": True,
                },
            ) as answer,
        ):
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            # The generation is under way: its unit is reserved on a pending row.
            _wait_for(lambda: _statuses(account["db"]) == ["pending"])
            assert _usage(account["db"], user_id) == 1
            # Leaving the block closes the connection mid-stream.
        _wait_for(lambda: _statuses(account["db"]) == ["cancelled"])
        assert _usage(account["db"], user_id) == 0


def test_the_rate_limit_holds_across_workers(account, monkeypatch) -> None:
    env = {"DATABASE_URL": account["db"], "API_RATE_LIMIT_PER_MINUTE": "5"}
    with serve_api(env, workers=3) as url:
        headers = {"Authorization": f"Bearer {account['token']}"}
        with httpx.Client(base_url=url, timeout=10) as client:
            codes = [client.get("/api/v1/models", headers=headers).status_code for _ in range(8)]
    assert codes == [200] * 5 + [429] * 3


def test_the_rate_limit_is_kept_in_redis_when_configured(account, monkeypatch) -> None:
    server = start_redis()
    try:
        monkeypatch.setenv("REDIS_URL", server.url)
        monkeypatch.setenv("API_RATE_LIMIT_PER_MINUTE", "2")
        reset_settings_cache()
        client = TestClient(build_api(), base_url=APP_URL)
        headers = {"Authorization": f"Bearer {account['token']}"}
        codes = [client.get("/api/v1/models", headers=headers) for _ in range(3)]
        assert [c.status_code for c in codes] == [200, 200, 429]
        assert 1 <= int(codes[-1].headers["retry-after"]) <= 60
        import redis

        keys = redis.Redis.from_url(server.url).keys("promptgen:rate:*")
        assert len(keys) == 1
    finally:
        server.stop()
        reset_settings_cache()


def test_the_edge_lets_bearer_calls_in_without_an_origin_but_guards_cookie_forms(
    account,
) -> None:
    client = TestClient(EdgeMiddleware(build_api(), EdgeConfig(app_url=APP_URL)), base_url=APP_URL)
    bearer = {"Authorization": f"Bearer {account['token']}"}
    # A script (curl, httpx) sends no Origin: the API answers, with the security headers.
    answer = client.get("/api/v1/blueprints", headers=bearer)
    assert answer.status_code == 200 and "content-security-policy" in answer.headers
    # The cookie forms keep their cross-site refusal.
    client.cookies.set("promptgen_session", account["user"].token)
    refused = client.post(
        "/api/tokens",
        data={"name": "evil", "scope": "generate"},
        headers={"Origin": "https://evil.example"},
    )
    assert refused.status_code == 403
    with user_session_scope(account["user"].user_id, account["db"]) as session:
        names = [
            t.name for t in api_tokens.list_tokens(session=session, user_id=account["user"].user_id)
        ]
    assert names == ["script"]


def test_the_readme_python_client_streams_a_generation(account, fake_openai, capsys) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    client = readme.split("A ten-line Python client")[1].split("```python\n")[1].split("```")[0]
    assert len(client.strip().splitlines()) <= 11
    fake_openai.reply = "Walnut lamp on a linen backdrop, soft window light."
    env = {
        "DATABASE_URL": account["db"],
        "OPENAI_API_KEY": DEFAULT_KEY,
        "OPENAI_BASE_URL": fake_openai.url + "/v1",
    }
    with serve_api(env) as url:
        os.environ["PROMPTGEN_TOKEN"] = account["token"]
        try:
            exec(client.replace("https://promptgen.example", url), {})  # noqa: S102
        finally:
            del os.environ["PROMPTGEN_TOKEN"]
    assert capsys.readouterr().out.strip() == fake_openai.reply
