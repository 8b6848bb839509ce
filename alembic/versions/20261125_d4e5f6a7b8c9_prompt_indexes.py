"""user_prompts: a partial index for the crash sweep, no redundant user_id index, and a
server default for quota_reserved

The sweep reads pending rows only, so a partial index on created_at WHERE status = 'pending'
stays tiny. ix_user_prompts_user_created (user_id, created_at) already serves every lookup
by user, so ix_user_prompts_user_id only cost writes. The user role inserts history rows without
naming quota_reserved (it may not write it), so the column needs a server default.

Revision ID: d4e5f6a7b8c9
Revises: c3d4e5f6a7b8
Create Date: 2026-11-25 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4e5f6a7b8c9"
down_revision: str | None = "c3d4e5f6a7b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    with op.batch_alter_table("user_prompts") as batch:
        batch.alter_column("quota_reserved", server_default=sa.false())
    op.drop_index("ix_user_prompts_user_id", table_name="user_prompts")
    op.create_index(
        "ix_user_prompts_pending",
        "user_prompts",
        ["created_at"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_index("ix_user_prompts_pending", table_name="user_prompts")
    op.create_index("ix_user_prompts_user_id", "user_prompts", ["user_id"])
    with op.batch_alter_table("user_prompts") as batch:
        batch.alter_column("quota_reserved", server_default=None)
