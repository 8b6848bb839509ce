"""Settings load from the environment and refuse to start production without secrets."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from promptgen.settings import Settings, SettingsError, parse_smtp_url

ROOT = Path(__file__).resolve().parents[2]


def test_local_defaults_to_an_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, database_url="")
    assert settings.database_url == f"sqlite:///{tmp_path / 'promptgen.db'}"
    assert settings.is_sqlite and not settings.is_production
    settings.check_production_secrets()  # local mode needs no secrets


def test_blank_optional_secrets_are_unset() -> None:
    settings = Settings(_env_file=None, openai_api_key="  ", stripe_secret_key="")
    assert settings.openai_api_key is None and settings.stripe_secret_key is None


def test_production_names_the_missing_variable() -> None:
    settings = Settings(
        _env_file=None, app_env="production", database_url="postgresql+psycopg://db/x"
    )
    with pytest.raises(SettingsError, match="KEY_ENCRYPTION_KEYS is required"):
        settings.check_production_secrets()


def test_production_refuses_placeholders_and_sqlite() -> None:
    with pytest.raises(SettingsError, match="KEY_ENCRYPTION_KEYS still holds a placeholder"):
        Settings(
            _env_file=None,
            app_env="production",
            database_url="postgresql+psycopg://db/x",
            key_encryption_keys="v1:changeme",
        ).check_production_secrets()
    with pytest.raises(SettingsError, match="DATABASE_URL must point at PostgreSQL"):
        Settings(
            _env_file=None,
            app_env="production",
            database_url="",
            key_encryption_keys="v1:" + "A" * 44,
        ).check_production_secrets()


def test_a_bad_value_names_its_variable() -> None:
    with pytest.raises(ValueError, match="purge_hour"):
        Settings(_env_file=None, purge_hour=25)


def test_cli_stops_at_start_in_production_without_secrets(tmp_path: Path) -> None:
    env = {
        "APP_ENV": "production",
        "DATABASE_URL": "postgresql+psycopg://nowhere/x",
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "promptgen", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "KEY_ENCRYPTION_KEYS is required when APP_ENV=production" in result.stderr


def test_production_requires_smtp_url() -> None:
    settings = Settings(
        _env_file=None,
        app_env="production",
        database_url="postgresql+psycopg://db/x",
        key_encryption_keys="v1:" + "A" * 44,
    )
    with pytest.raises(SettingsError, match="SMTP_URL is required when APP_ENV=production"):
        settings.check_production_secrets()
    Settings(
        _env_file=None,
        app_env="production",
        database_url="postgresql+psycopg://db/x",
        key_encryption_keys="v1:" + "A" * 44,
        smtp_url="smtps://mailer:s3cret@smtp.example.com",
    ).check_production_secrets()


def test_smtp_url_forms_and_a_bad_one_is_named_without_its_password() -> None:
    starttls = parse_smtp_url("smtp://me%40example.com:p%3Ass@mail.example.com:587?starttls=1")
    assert (starttls.host, starttls.port, starttls.starttls, starttls.ssl) == (
        "mail.example.com",
        587,
        True,
        False,
    )
    assert (starttls.username, starttls.password) == ("me@example.com", "p:ss")
    assert "p:ss" not in repr(starttls)
    implicit = parse_smtp_url("smtps://u:p@mail.example.com")
    assert (implicit.port, implicit.ssl, implicit.starttls) == (465, True, False)
    plain = parse_smtp_url("smtp://127.0.0.1:2525")
    assert (plain.port, plain.username, plain.starttls) == (2525, None, False)
    for bad in ("http://u:hunter2secret@host", "smtp://u:hunter2secret@", "smtp://h?starttls=2"):
        settings = Settings(_env_file=None, smtp_url=bad)
        with pytest.raises(SettingsError, match="SMTP_URL must look like") as refused:
            settings.check_production_secrets()  # checked in every mode, at start
        assert "hunter2secret" not in str(refused.value)


def test_mail_sender_defaults_to_the_app_host() -> None:
    assert Settings(_env_file=None, app_url="https://promptgen.example").mail_sender == (
        "PromptGen <no-reply@promptgen.example>"
    )
    assert Settings(_env_file=None, mail_from="Team <t@x.example>").mail_sender == (
        "Team <t@x.example>"
    )
