"""account recovery: email verification and single-use links sent by email

users.email_verified_at records that the user followed a link sent to their address.
account_tokens holds password-reset and email-verification links, by SHA-256 only; it is
user-owned, so `migrate` gives it row-level security and the user role's grants
(db_security.USER_GRANTS).

Revision ID: a7c3e9f1b2d4
Revises: f6a7b8c9d0e1
Create Date: 2026-11-25 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import promptgen.models

revision: str = "a7c3e9f1b2d4"
down_revision: str | None = "f6a7b8c9d0e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column(
                "email_verified_at", promptgen.models.UTCDateTime(timezone=True), nullable=True
            )
        )
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("created_at", promptgen.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", promptgen.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", promptgen.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("account_tokens") as batch:
        batch.create_index(batch.f("ix_account_tokens_token_hash"), ["token_hash"], unique=True)
        batch.create_index(batch.f("ix_account_tokens_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("account_tokens") as batch:
        batch.drop_index(batch.f("ix_account_tokens_user_id"))
        batch.drop_index(batch.f("ix_account_tokens_token_hash"))
    op.drop_table("account_tokens")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
