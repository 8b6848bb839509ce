"""Shared fixtures: real databases (PostgreSQL and SQLite), migrated by Alembic.

`db_url` runs a test on both backends; `pg_url` and `sqlite_url` on one. Each test
gets empty tables and DATABASE_URL pointing at its database.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from promptgen import models  # noqa: F401 - registers the tables
from promptgen.db import dispose_engines, get_engine
from promptgen.migrations import upgrade_database
from promptgen.settings import reset_settings_cache
from tests.support.postgres import PostgresServer, start_postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _pg_migrated(postgres_server: PostgresServer) -> Iterator[str]:
    url = postgres_server.create_database()
    upgrade_database(url)
    yield url
    dispose_engines()
    postgres_server.drop_database(url)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "migrated.db"
    upgrade_database(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()
    return path


def _use_database(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    reset_settings_cache()


def _empty_tables(url: str) -> None:
    # database_secrets is the database's configuration (made at migrate), not test data.
    names = ", ".join(
        f'"{t.name}"' for t in SQLModel.metadata.sorted_tables if t.name != "database_secrets"
    )
    with get_engine(url).begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
def pg_url(_pg_migrated: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    _use_database(monkeypatch, _pg_migrated)
    yield _pg_migrated
    _empty_tables(_pg_migrated)
    reset_settings_cache()


@pytest.fixture
def sqlite_url(
    _sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    path = tmp_path / "promptgen.db"
    shutil.copy(_sqlite_template, path)
    url = f"sqlite:///{path}"
    _use_database(monkeypatch, url)
    yield url
    get_engine(url).dispose()
    reset_settings_cache()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sqlite-only",
        action="store_true",
        help="run only what needs no PostgreSQL: db_url tests on SQLite, no pg_url tests "
        "(`make test-fast`)",
    )


def _needs_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and callspec.params.get("db_url") == "postgresql":
        return True
    return "postgres_server" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests last: Playwright's sync API keeps an event loop running in the main
    thread for the rest of the session, which async tests after it cannot share.
    With --sqlite-only, every test that would need PostgreSQL is deselected."""
    if config.getoption("--sqlite-only"):
        skipped = [item for item in items if _needs_postgres(item)]
        if skipped:
            config.hook.pytest_deselected(items=skipped)
            items[:] = [item for item in items if not _needs_postgres(item)]
    items.sort(key=lambda item: "tests/e2e/" in str(item.fspath))
