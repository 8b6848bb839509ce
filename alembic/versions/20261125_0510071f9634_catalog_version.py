"""catalog_version: a number every catalog write bumps, so processes can cache the catalog;
job_runs: the daily jobs run once across every worker and instance

Each process keeps the catalog (tiers, blueprints, signatures, models) in memory and checks
this one row instead of re-reading four tables on every page load and generation. A trigger
on each catalog table bumps it in the writing transaction, so seeds, imports and rows an
operator writes by hand all invalidate every cache.

Revision ID: 0510071f9634
Revises: 692a26e891aa
Create Date: 2026-11-25 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import promptgen.models

revision: str = "0510071f9634"
down_revision: str | None = "692a26e891aa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATALOG_TABLES = (
    "subscription_tiers",
    "supported_templates",
    "visual_signatures",
    "supported_ai_models",
)


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ran_at", promptgen.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.execute("INSERT INTO catalog_version (id, version) VALUES (1, 1)")
    if op.get_bind().dialect.name == "postgresql":
        # From a sequence, so the number never repeats, even after the row itself was
        # truncated with the catalog (a cache holding version 5 must never meet a new 5).
        op.execute("CREATE SEQUENCE catalog_version_seq START 2")
        op.execute(
            """CREATE FUNCTION promptgen_bump_catalog_version() RETURNS trigger
            LANGUAGE plpgsql SET search_path = pg_catalog, public AS $$
            BEGIN
                INSERT INTO public.catalog_version (id, version)
                VALUES (1, nextval('public.catalog_version_seq'))
                ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version;
                RETURN NULL;
            END
            $$"""
        )
        for table in CATALOG_TABLES:
            op.execute(
                f"CREATE TRIGGER bump_catalog_version AFTER INSERT OR UPDATE OR DELETE "
                f"OR TRUNCATE ON {table} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION promptgen_bump_catalog_version()"
            )
        return
    for table in CATALOG_TABLES:  # SQLite: row triggers only
        for action in ("INSERT", "UPDATE", "DELETE"):
            name = f"bump_catalog_version_{table}_{action.lower()}"
            body = (
                "INSERT OR IGNORE INTO catalog_version (id, version) VALUES (1, 0); "
                "UPDATE catalog_version SET version = version + 1 WHERE id = 1;"
            )
            op.execute(f"CREATE TRIGGER {name} AFTER {action} ON {table} BEGIN {body} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in CATALOG_TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS bump_catalog_version ON {table}")
        op.execute("DROP FUNCTION IF EXISTS promptgen_bump_catalog_version()")
        op.execute("DROP SEQUENCE IF EXISTS catalog_version_seq")
    else:
        for table in CATALOG_TABLES:
            for action in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS bump_catalog_version_{table}_{action}")
    op.drop_table("catalog_version")
    op.drop_table("job_runs")
