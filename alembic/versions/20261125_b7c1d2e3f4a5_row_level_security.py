"""row-level security: a user role, grants and owner policies (PostgreSQL only)

Requests on behalf of a user run as `promptgen_user` (no BYPASSRLS) with `app.user_id` set
for the transaction; every user-owned table lets that role see and write only rows whose
owner is that user, and nothing when no user is set. Catalog tables are read-only for it.
The admin session (webhook, purge, CLI, sign-in) keeps the connecting role. On SQLite this
revision does nothing: the services scope every query by owner.

Revision ID: b7c1d2e3f4a5
Revises: 687d9f951a13
Create Date: 2026-11-25 10:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b7c1d2e3f4a5"
down_revision: str | None = "687d9f951a13"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLE = "promptgen_user"
# table -> the column holding the owning user's id
OWNED = {
    "users": "id",
    "user_sessions": "user_id",
    "user_profiles": "user_id",
    "user_subscriptions": "user_id",
    "user_api_keys": "user_id",
    "user_prompts": "user_id",
    "prompt_attachments": "user_id",
}
CATALOG = ("subscription_tiers", "supported_templates", "visual_signatures", "supported_ai_models")
CURRENT_USER = "nullif(current_setting('app.user_id', true), '')::uuid"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    # Roles belong to the cluster, so another database may have created it already.
    op.execute(
        f"""DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN
                CREATE ROLE {ROLE} NOLOGIN NOBYPASSRLS;
            END IF;
        END $$"""
    )
    # The role the app connects as must be able to SET ROLE to it.
    op.execute(f"GRANT {ROLE} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {ROLE}")
    for table in CATALOG:
        op.execute(f"GRANT SELECT ON {table} TO {ROLE}")
    for table, owner in OWNED.items():
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {ROLE}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY {table}_owner ON {table} TO {ROLE} "
            f"USING ({owner} = {CURRENT_USER}) WITH CHECK ({owner} = {CURRENT_USER})"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in OWNED:
        op.execute(f"DROP POLICY IF EXISTS {table}_owner ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"REVOKE ALL ON {table} FROM {ROLE}")
    for table in CATALOG:
        op.execute(f"REVOKE ALL ON {table} FROM {ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {ROLE}")
