"""The Alembic history and the SQLModel tables describe the same schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from promptgen.db import get_engine
from promptgen.migrations import upgrade_database


def _diff(url: str) -> list:
    with get_engine(url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def test_migrations_match_models_on_both_backends(db_url: str) -> None:
    assert _diff(db_url) == []


def test_migrating_twice_is_a_no_op(db_url: str) -> None:
    upgrade_database(db_url)
    tables = set(sa.inspect(get_engine(db_url)).get_table_names())
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
    assert _diff(db_url) == []


def test_fresh_postgres_database_migrates_from_empty(postgres_server) -> None:
    url = postgres_server.create_database("promptgen_fresh")
    try:
        upgrade_database(url)
        assert _diff(url) == []
    finally:
        get_engine(url).dispose()
        postgres_server.drop_database(url)
