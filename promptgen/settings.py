"""Typed settings, read once from the environment.

Every setting is documented in README.md and .env.example. In production mode
(APP_ENV=production) missing or placeholder secrets stop the app at start with a
message naming the variable.
"""

from __future__ import annotations

import functools
import logging
import zoneinfo
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = PROJECT_ROOT / "data"

_PLACEHOLDER_MARKERS = ("changeme", "change-me", "placeholder", "xxx", "your-")


def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lowercased, default ports dropped."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or (scheme, port) in (("http", 80), ("https", 443)):
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{port}"


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names the variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    app_env: Literal["local", "production"] = "local"
    app_url: str = "http://localhost:3000"
    port: int = 3000
    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = ""
    # The login that user sessions use (a separate role; README "Database roles"). Unset:
    # DATABASE_URL with the user `<database>_user` and a password derived from the owner's.
    database_user_url: str | None = None
    redis_url: str | None = None
    log_level: str = "INFO"

    session_idle_days: int = 30
    signin_slowdown_after: int = 3
    signin_lockout_after: int = 8
    signin_window_minutes: int = 15
    signin_lockout_minutes: int = 15
    # Per client IP (an IPv6 address counts by its /64), within IP_WINDOW_MINUTES.
    signin_ip_limit: int = 30
    signup_ip_limit: int = 10
    password_reset_ip_limit: int = 10
    ip_window_minutes: int = 60

    gemini_api_key: str | None = None
    gemini_base_url: str | None = None
    openai_api_key: str | None = None
    openai_base_url: str | None = None
    provider_timeout_seconds: float = 60.0

    # Versioned AES-256 master keys for the BYOK vault: "v2:<base64>,v1:<base64>".
    key_encryption_keys: str | None = None

    stripe_secret_key: str | None = None
    stripe_webhook_secret: str | None = None
    stripe_api_base: str | None = None

    purge_hour: int = Field(default=3, ge=0, le=23)
    purge_minute: int = Field(default=0, ge=0, le=59)
    purge_timezone: str = "UTC"

    @field_validator(
        "gemini_api_key",
        "openai_api_key",
        "stripe_secret_key",
        "stripe_webhook_secret",
        "key_encryption_keys",
        "redis_url",
        "database_user_url",
        "gemini_base_url",
        "openai_base_url",
        "stripe_api_base",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _known_log_level(cls, value: object) -> object:
        name = str(value or "INFO").strip().upper()
        if name not in logging.getLevelNamesMapping():
            msg = f"unknown log level {value!r} (use DEBUG, INFO, WARNING, ERROR or CRITICAL)"
            raise ValueError(msg)
        return name

    @field_validator("purge_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            msg = f"unknown time zone {value!r} (use an IANA name like Europe/Paris)"
            raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _fill_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'promptgen.db'}"
        return self

    def provider_key(self, provider: str) -> str | None:
        """The platform API key for a provider ("gemini" or "openai"), if configured."""
        return {"gemini": self.gemini_api_key, "openai": self.openai_api_key}.get(provider)

    def provider_base_url(self, provider: str) -> str | None:
        """The configured API endpoint override for a provider, if any."""
        return {"gemini": self.gemini_base_url, "openai": self.openai_base_url}.get(provider)

    @property
    def app_origin(self) -> str:
        """APP_URL's origin: the only one CORS and the websocket accept."""
        return origin_of(self.app_url)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check_production_secrets(self) -> None:
        """Refuse to start in production without the secrets it needs."""
        if not self.is_production:
            return
        required = {"KEY_ENCRYPTION_KEYS": self.key_encryption_keys}
        if self.is_sqlite:
            raise SettingsError("DATABASE_URL must point at PostgreSQL when APP_ENV=production.")
        for name, value in required.items():
            if not value:
                raise SettingsError(f"{name} is required when APP_ENV=production.")
            if any(marker in value.lower() for marker in _PLACEHOLDER_MARKERS):
                raise SettingsError(f"{name} still holds a placeholder value; set a real secret.")


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded once."""
    return Settings()


def reset_settings_cache() -> None:
    """Forget the loaded settings (tests change the environment between cases)."""
    get_settings.cache_clear()
