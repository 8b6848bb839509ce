"""Run Alembic programmatically (the CLI, `make run` and the tests share this)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from promptgen.db import get_engine, normalize_url
from promptgen.settings import PROJECT_ROOT, get_settings


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", normalize_url(url or get_settings().database_url))
    config.attributes["configure_logging"] = False
    return config


def upgrade_database(url: str | None = None) -> None:
    """Bring the database at `url` (default DATABASE_URL) to the newest revision."""
    config = alembic_config(url)
    with get_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
