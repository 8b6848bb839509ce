"""database_secrets: the secret that signs the user id of a user session

Row-level security trusted `app.user_id`, which SQL in a user session could set to anyone's
id. Policies now accept it only with a signature made with this secret (promptgen_current_
user_id in promptgen.db_security), which only the owner can read. The secret itself is
created by the security step that runs after every migrate.

Revision ID: c9e1f3a5b7d2
Revises: b8d4f0a2c6e1
Create Date: 2026-11-25 18:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "c9e1f3a5b7d2"
down_revision: str | None = "b8d4f0a2c6e1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "database_secrets",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("value", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("database_secrets")
