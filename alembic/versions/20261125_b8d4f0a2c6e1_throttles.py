"""throttles: attempts per (email, IP) pair and per IP, replacing the per-email
sign_in_throttles

Counting failures per email alone let anyone lock a user out with a few requests. The new
table keys each counter by a scope (sign_in, sign_in_ip, sign_up_ip, password_reset_ip) and
the SHA-256 of what it counts, so no email or address is stored in the clear. The old
counters are short-lived (15 minutes) and are not carried over.

Revision ID: b8d4f0a2c6e1
Revises: a7c3e9f1b2d4
Create Date: 2026-11-25 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import promptgen.models

revision: str = "b8d4f0a2c6e1"
down_revision: str | None = "a7c3e9f1b2d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "throttles",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("window_start", promptgen.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", promptgen.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("scope", "key"),
    )
    op.drop_table("sign_in_throttles")


def downgrade() -> None:
    op.create_table(
        "sign_in_throttles",
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("first_failed_at", promptgen.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", promptgen.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("email"),
    )
    op.drop_table("throttles")
