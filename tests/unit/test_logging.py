"""LOG_LEVEL is applied, and audit lines are one structured line with no secrets."""

from __future__ import annotations

import logging
import uuid

import pytest

from promptgen.audit import audit, email_hash
from promptgen.logs import configure_logging
from promptgen.settings import Settings, reset_settings_cache


@pytest.fixture
def restore_levels():
    ours, root = logging.getLogger("promptgen"), logging.getLogger()
    saved = (ours.level, root.level)
    yield
    ours.setLevel(saved[0])
    root.setLevel(saved[1])
    reset_settings_cache()


def test_log_level_is_applied(monkeypatch, restore_levels) -> None:
    monkeypatch.setenv("LOG_LEVEL", "warning")
    reset_settings_cache()
    configure_logging()
    log = logging.getLogger("promptgen.services.example")
    assert not log.isEnabledFor(logging.INFO)
    assert log.isEnabledFor(logging.WARNING)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    reset_settings_cache()
    configure_logging()
    assert log.isEnabledFor(logging.DEBUG)


def test_an_unknown_log_level_is_refused_naming_it(monkeypatch) -> None:
    monkeypatch.setenv("LOG_LEVEL", "LOUD")
    with pytest.raises(ValueError, match="unknown log level 'LOUD'"):
        Settings()


def test_audit_lines_cannot_be_forged_and_refuse_secret_fields(caplog) -> None:
    caplog.set_level(logging.INFO, logger="promptgen.audit")
    user = uuid.uuid4()
    audit("key_saved", user=user, provider="openai\nevent=forged x=1", email="A@Example.com")
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith(f"audit event=key_saved email_hash={email_hash('a@example.com')} ")
    assert f"user={user}" in line
    assert "\n" not in line and 'provider="openai\\nevent=forged x=1"' in line
    assert "A@Example.com" not in line and "a@example.com" not in line
    with pytest.raises(ValueError):
        audit("oops", password="hunter2")
    with pytest.raises(ValueError):
        audit("oops", session_token="abc")
