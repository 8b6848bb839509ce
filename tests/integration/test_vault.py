"""The BYOK vault: AES-256-GCM bound to user and provider, versioned master keys, rotation."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlmodel import select

from promptgen import vault
from promptgen.db import admin_session_scope
from promptgen.models import UserApiKey
from promptgen.services import keys
from promptgen.settings import reset_settings_cache
from tests.support.factories import make_user

SECRET = "sk-test-secret-key-0123456789-WXYZ"


def test_a_ciphertext_moved_to_another_users_row_fails(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", vault.new_master_key_text())
    reset_settings_cache()
    with admin_session_scope(db_url) as session:
        alice = make_user(session, "alice@example.com")
        bob = make_user(session, "bob@example.com")
        keys.save_key(session=session, user_id=alice.user_id, provider="openai", api_key=SECRET)
        keys.save_key(
            session=session, user_id=bob.user_id, provider="openai", api_key="sk-" + "b" * 30
        )
    with admin_session_scope(db_url) as session:
        rows = {r.user_id: r for r in session.exec(select(UserApiKey)).all()}
        a, b = rows[alice.user_id], rows[bob.user_id]
        b.nonce, b.ciphertext, b.key_version = a.nonce, a.ciphertext, a.key_version
        session.add(b)
    with admin_session_scope(db_url) as session, pytest.raises(vault.VaultError):
        keys.open_key(session=session, user_id=bob.user_id, provider="openai")
    with admin_session_scope(db_url) as session:
        assert keys.open_key(session=session, user_id=alice.user_id, provider="openai") == SECRET
        [view] = keys.list_keys(session=session, user_id=alice.user_id)
    assert view.last_four == "WXYZ" and SECRET not in repr(view)


def test_rotate_re_encrypts_under_the_newest_key_through_the_cli(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = vault.new_master_key_text("v1")
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", old)
    reset_settings_cache()
    with admin_session_scope(db_url) as session:
        user = make_user(session)
        keys.save_key(session=session, user_id=user.user_id, provider="gemini", api_key=SECRET)

    both = vault.new_master_key_text("v2") + "," + old
    env = {**os.environ, "DATABASE_URL": db_url, "KEY_ENCRYPTION_KEYS": both}
    result = subprocess.run(
        [sys.executable, "-m", "promptgen", "keys", "rotate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Re-encrypted 1 stored keys under v2" in result.stdout
    assert SECRET not in result.stdout + result.stderr

    # Only the new key is needed from now on.
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", both.split(",")[0])
    reset_settings_cache()
    with admin_session_scope(db_url) as session:
        row = session.exec(select(UserApiKey)).one()
        assert row.key_version == "v2"
        assert keys.open_key(session=session, user_id=user.user_id, provider="gemini") == SECRET


def test_keys_with_a_bad_shape_are_refused(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        user = make_user(session)
        for bad, message in [
            ("", "Paste your API key."),
            ("short", "does not look like"),
            ("sk has spaces in it 12345", "contains spaces"),
        ]:
            with pytest.raises(keys.InvalidApiKey, match=message):
                keys.save_key(session=session, user_id=user.user_id, provider="openai", api_key=bad)
