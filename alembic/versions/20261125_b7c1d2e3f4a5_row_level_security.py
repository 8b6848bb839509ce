"""row-level security (now applied by promptgen.db_security after every migrate)

This revision first created a NOLOGIN `promptgen_user` role and granted it to the connecting
role, which an ordinary managed-PostgreSQL login may not do. Roles, grants, policies and
the quota functions are now derived from the models and re-applied after every upgrade by
`promptgen.migrations.upgrade_database` (see promptgen/db_security.py), which also replaces
the policies this revision created on databases that ran it. It is kept, empty, so existing
databases keep a linear history.

Revision ID: b7c1d2e3f4a5
Revises: 687d9f951a13
Create Date: 2026-11-25 10:10:00
"""

from collections.abc import Sequence

revision: str = "b7c1d2e3f4a5"
down_revision: str | None = "687d9f951a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
