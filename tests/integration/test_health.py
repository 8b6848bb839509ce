"""GET /api/health: the app and its database, without leaking credentials."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.api.health import _redact
from promptgen.db import dispose_engines
from promptgen.settings import reset_settings_cache

UNREACHABLE = "postgresql+psycopg://postgres:secretpw@127.0.0.1:1/nope"


@pytest.fixture
def unreachable_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("DATABASE_URL", UNREACHABLE)
    reset_settings_cache()
    dispose_engines()
    yield UNREACHABLE
    dispose_engines()
    reset_settings_cache()


def test_health_is_ok_when_the_database_answers(db_url: str) -> None:
    with TestClient(build_api()) as client:
        response = client.get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert response.headers["cache-control"] == "no-store"


def test_health_is_503_without_credentials_when_the_database_is_down(
    unreachable_db: str,
) -> None:
    with TestClient(build_api()) as client:
        response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "unreachable"
    assert body["reason"]
    assert len(body["reason"]) <= 200
    assert "secretpw" not in response.text


def test_reasons_are_redacted(unreachable_db: str) -> None:
    reason = _redact(
        "OperationalError: could not use postgresql://bob:hunter2@db:5432/x, secretpw, "
        "password=topsecret"
    )
    assert "hunter2" not in reason
    assert "secretpw" not in reason
    assert "topsecret" not in reason
    assert "postgresql://***@db:5432/x" in reason


def test_each_build_is_a_fresh_app() -> None:
    first, second = build_api(), build_api()
    first.mount("", app=build_api())
    assert len(second.routes) == len(first.routes) - 1
