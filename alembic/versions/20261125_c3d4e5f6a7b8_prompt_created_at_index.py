"""index user_prompts.created_at for the retention purge

Revision ID: c3d4e5f6a7b8
Revises: b7c1d2e3f4a5
Create Date: 2026-11-25 10:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c3d4e5f6a7b8"
down_revision: str | None = "b7c1d2e3f4a5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_user_prompts_created_at", "user_prompts", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_user_prompts_created_at", table_name="user_prompts")
