"""billing: scheduled end, past-due grace start, quota anchor owned by PromptGen

Revision ID: f6a7b8c9d0e1
Revises: e5f6a7b8c9d0
Create Date: 2026-11-25 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import promptgen.models

revision: str = "f6a7b8c9d0e1"
down_revision: str | None = "e5f6a7b8c9d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("cancel_at", "past_due_since", "quota_anchor")


def upgrade() -> None:
    with op.batch_alter_table("user_subscriptions") as batch:
        for name in _COLUMNS:
            batch.add_column(
                sa.Column(name, promptgen.models.UTCDateTime(timezone=True), nullable=True)
            )
    # Paid rows keep the boundary they had: from now on it no longer moves with invoices.
    op.execute(
        "UPDATE user_subscriptions SET quota_anchor = current_period_start "
        "WHERE stripe_subscription_id IS NOT NULL"
    )
    op.execute(
        "UPDATE user_subscriptions SET past_due_since = updated_at WHERE status = 'past_due'"
    )


def downgrade() -> None:
    with op.batch_alter_table("user_subscriptions") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
