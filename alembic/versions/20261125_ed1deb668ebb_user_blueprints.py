"""user_blueprints and user_blueprint_versions; history rows name the version they used

Users build their own blueprints; every save is an immutable version (the user role may
insert and read versions, never update them). A history row records the user blueprint
version it was generated from (NULL for catalog blueprints).

Revision ID: ed1deb668ebb
Revises: c9e1f3a5b7d2
Create Date: 2026-11-25 20:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from promptgen.models import UTCDateTime

revision: str = "ed1deb668ebb"
down_revision: str | None = "c9e1f3a5b7d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_blueprints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("id", "user_id", name="uq_user_blueprints_id_owner"),
    )
    op.create_index("ix_user_blueprints_user_updated", "user_blueprints", ["user_id", "updated_at"])
    op.create_table(
        "user_blueprint_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("blueprint_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("prompt_template", sa.Text(), nullable=False),
        sa.Column("parameter_schema", sa.JSON(), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("restored_from", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["blueprint_id", "user_id"],
            ["user_blueprints.id", "user_blueprints.user_id"],
            name="fk_user_blueprint_versions_blueprint_owner",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("blueprint_id", "version", name="uq_user_blueprint_versions_number"),
    )
    op.create_index("ix_user_blueprint_versions_user_id", "user_blueprint_versions", ["user_id"])
    with op.batch_alter_table("user_prompts") as batch:
        batch.add_column(sa.Column("blueprint_version_id", sa.Uuid(), nullable=True))
        batch.create_index("ix_user_prompts_blueprint_version_id", ["blueprint_version_id"])
        batch.create_foreign_key(
            "fk_user_prompts_blueprint_version_id",
            "user_blueprint_versions",
            ["blueprint_version_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("user_prompts") as batch:
        batch.drop_constraint("fk_user_prompts_blueprint_version_id", type_="foreignkey")
        batch.drop_index("ix_user_prompts_blueprint_version_id")
        batch.drop_column("blueprint_version_id")
    op.drop_index("ix_user_blueprint_versions_user_id", table_name="user_blueprint_versions")
    op.drop_table("user_blueprint_versions")
    op.drop_index("ix_user_blueprints_user_updated", table_name="user_blueprints")
    op.drop_table("user_blueprints")
