"""compare, cost and ratings: model prices, a comparison id and estimated cost per
generation, and the user's ratings

Model rows carry input/output prices per million tokens; each generation stores its estimated
cost (micro-dollars, written at finish) and, in compare mode, the comparison it belongs to.
`prompt_ratings` holds thumbs, notes and winners (user-owned: RLS from db_security).

Revision ID: 692a26e891aa
Revises: 76805f94564f
Create Date: 2026-11-25 20:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from promptgen.models import UTCDateTime

revision: str = "692a26e891aa"
down_revision: str | None = "76805f94564f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("supported_ai_models") as batch:
        batch.add_column(
            sa.Column("input_price_per_mtok", sa.Float(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("output_price_per_mtok", sa.Float(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("user_prompts") as batch:
        batch.add_column(sa.Column("comparison_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("estimated_cost_micros", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_user_prompts_comparison",
        "user_prompts",
        ["user_id", "comparison_id"],
        postgresql_where=sa.text("comparison_id IS NOT NULL"),
        sqlite_where=sa.text("comparison_id IS NOT NULL"),
    )
    op.create_table(
        "prompt_ratings",
        sa.Column("prompt_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("comparison_id", sa.Uuid(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("signature_id", sa.Integer(), nullable=True),
        sa.Column("template_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("model_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("signature_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("vote", sa.Integer(), nullable=False),
        sa.Column("is_winner", sa.Boolean(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["prompt_id"], ["user_prompts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("prompt_id"),
    )
    op.create_index("ix_prompt_ratings_user_template", "prompt_ratings", ["user_id", "template_id"])
    op.create_index(
        "ix_prompt_ratings_shared_template", "prompt_ratings", ["template_id", "shared"]
    )


def downgrade() -> None:
    op.drop_index("ix_prompt_ratings_shared_template", table_name="prompt_ratings")
    op.drop_index("ix_prompt_ratings_user_template", table_name="prompt_ratings")
    op.drop_table("prompt_ratings")
    op.drop_index("ix_user_prompts_comparison", table_name="user_prompts")
    with op.batch_alter_table("user_prompts") as batch:
        batch.drop_column("estimated_cost_micros")
        batch.drop_column("comparison_id")
    with op.batch_alter_table("supported_ai_models") as batch:
        batch.drop_column("output_price_per_mtok")
        batch.drop_column("input_price_per_mtok")
