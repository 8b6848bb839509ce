"""Typed settings, read once from the environment.

Every setting is documented in README.md and .env.example. In production mode
(APP_ENV=production) missing or placeholder secrets stop the app at start with a
message naming the variable.
"""

from __future__ import annotations

import functools
import logging
import zoneinfo
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, unquote, urlsplit

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


@dataclass(frozen=True)
class SmtpConfig:
    """Where mail goes, parsed from SMTP_URL. The password is kept out of repr."""

    host: str
    port: int
    username: str | None
    password: str | None
    ssl: bool  # smtps://: TLS from the first byte
    starttls: bool  # smtp://...?starttls=1: upgrade the plain connection before logging in
    timeout: float

    def __repr__(self) -> str:
        return (
            f"SmtpConfig(host={self.host!r}, port={self.port}, username={self.username!r}, "
            f"password={'***' if self.password else None}, ssl={self.ssl}, "
            f"starttls={self.starttls})"
        )


def parse_smtp_url(url: str) -> SmtpConfig:
    """`smtp://user:pass@host:587?starttls=1` or `smtps://user:pass@host:465`.

    Raises SettingsError naming SMTP_URL, never echoing the URL (it holds a password).
    """
    bad = SettingsError(
        "SMTP_URL must look like smtp://user:password@host:587?starttls=1 or "
        "smtps://user:password@host:465."
    )
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise bad from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise bad
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    flag = query.get("starttls", "0").lower()
    if flag not in ("0", "1", "true", "false", "yes", "no"):
        raise bad
    try:
        timeout = float(query.get("timeout", "30"))
    except ValueError:
        raise bad from None
    ssl = parts.scheme == "smtps"
    return SmtpConfig(
        host=parts.hostname,
        port=port or (465 if ssl else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ssl=ssl,
        starttls=flag in ("1", "true", "yes") and not ssl,
        timeout=timeout,
    )


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
    # The most PostgreSQL connections one instance opens, over all its backend workers (Reflex
    # starts several with REDIS_URL) and both roles: each worker takes an even part.
    database_max_connections: int = Field(default=40, ge=4, le=100_000)
    redis_url: str | None = None
    log_level: str = "INFO"

    session_idle_days: int = 30
    signin_slowdown_after: int = 3
    signin_lockout_after: int = 8
    signin_window_minutes: int = 15
    signin_lockout_minutes: int = 15
    # How long a password-reset link works, and an email-verification link.
    password_reset_minutes: int = Field(default=60, ge=1, le=24 * 60)
    email_verification_hours: int = Field(default=48, ge=1, le=30 * 24)

    # Outgoing mail (verification, password reset, notices). Unset: a local run logs the
    # link instead of sending; production refuses to start.
    smtp_url: str | None = None
    mail_from: str | None = None
    # Per client IP (an IPv6 address counts by its /64), within IP_WINDOW_MINUTES.
    signin_ip_limit: int = 30
    signup_ip_limit: int = 10
    password_reset_ip_limit: int = 10
    ip_window_minutes: int = 60
    # Requests per minute one personal API token may make (/api/v1; 429 beyond it).
    api_rate_limit_per_minute: int = Field(default=60, ge=1, le=100_000)
    # Reverse proxies in front of the app whose X-Forwarded-For entries are trusted (0: none).
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)

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
    # A past_due subscription keeps its plan this many days, then has Free limits.
    past_due_grace_days: int = Field(default=3, ge=0, le=60)

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
        "smtp_url",
        "mail_from",
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

    def smtp_config(self) -> SmtpConfig | None:
        """The parsed SMTP_URL, or None when mail is not configured."""
        return parse_smtp_url(self.smtp_url) if self.smtp_url else None

    @property
    def mail_sender(self) -> str:
        """MAIL_FROM, or no-reply@ the host of APP_URL."""
        if self.mail_from:
            return self.mail_from
        host = urlsplit(self.app_url).hostname or "localhost"
        return f"PromptGen <no-reply@{host}>"

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
        """Refuse to start in production without the secrets it needs (and anywhere with a
        malformed SMTP_URL)."""
        self.smtp_config()
        if not self.is_production:
            return
        required = {"KEY_ENCRYPTION_KEYS": self.key_encryption_keys, "SMTP_URL": self.smtp_url}
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
