"""POST /api/keys through the real Starlette app: auth, same-origin, validation."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.db import admin_session_scope
from promptgen.services import keys
from promptgen.settings import reset_settings_cache
from promptgen.vault import new_master_key_text
from tests.support.factories import make_user

KEY = "sk-route-test-key-0123456789-ABCD"


@pytest.fixture
def client(db_url: str, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", new_master_key_text())
    reset_settings_cache()
    return TestClient(build_api(), base_url="http://app.test", follow_redirects=False)


def test_saves_the_key_for_the_signed_in_user(client: TestClient, db_url: str, caplog) -> None:
    caplog.set_level(logging.INFO, logger="promptgen.audit")
    with admin_session_scope(db_url) as session:
        user = make_user(session)
    client.cookies.set("promptgen_session", user.token)
    answer = client.post(
        "/api/keys",
        data={"provider": "openai", "api_key": KEY},
        headers={"Origin": "http://app.test"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/settings?key_saved=openai"
    assert KEY not in answer.text and KEY not in answer.headers["location"]
    with admin_session_scope(db_url) as session:
        [view] = keys.list_keys(session=session, user_id=user.user_id)
    assert view.provider == "openai" and view.last_four == "ABCD"
    with admin_session_scope(db_url) as session:
        keys.delete_key(session=session, user_id=user.user_id, provider="openai")
    lines = [r.getMessage() for r in caplog.records if "event=key_" in r.getMessage()]
    assert lines == [
        f"audit event=key_saved user={user.user_id} provider=openai",
        f"audit event=key_deleted user={user.user_id} provider=openai",
    ]
    assert not any(KEY in line or KEY[-8:] in line for line in lines)


def test_refuses_cross_site_posts_signed_out_users_and_bad_keys(
    client: TestClient, db_url: str
) -> None:
    with admin_session_scope(db_url) as session:
        user = make_user(session)
    form = {"provider": "openai", "api_key": KEY}
    assert client.post("/api/keys", data=form).headers["location"].startswith("/sign-in")

    client.cookies.set("promptgen_session", user.token)
    cross_site = client.post("/api/keys", data=form, headers={"Origin": "https://evil.example"})
    assert cross_site.status_code == 403
    bad = client.post("/api/keys", data={"provider": "openai", "api_key": "short"})
    assert bad.status_code == 303 and "key_error=" in bad.headers["location"]
    with admin_session_scope(db_url) as session:
        assert keys.list_keys(session=session, user_id=user.user_id) == []
