"""Run Alembic programmatically (the CLI, `make run` and the tests share this).

On PostgreSQL a migration is three steps in one transaction: make sure the user role exists
(db_security.ensure_user_role), apply the Alembic revisions, then re-apply the grants,
policies and quota functions derived from the models (db_security.apply_row_security).
"""

from __future__ import annotations

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from promptgen.db import get_engine, normalize_url, user_database_url
from promptgen.db_security import (
    DatabasePrivilegeError,
    apply_row_security,
    ensure_user_role,
    quote_ident,
)
from promptgen.settings import PROJECT_ROOT, get_settings


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    # ConfigParser reads "%" as interpolation: a percent-encoded password must be escaped.
    url = normalize_url(url or get_settings().database_url)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def _configured_user_url(url: str) -> str | None:
    settings = get_settings()
    if settings.database_user_url and url == normalize_url(settings.database_url):
        return normalize_url(settings.database_user_url)
    return None


def upgrade_database(url: str | None = None) -> None:
    """Bring the database at `url` (default DATABASE_URL) to the newest revision.

    Raises DatabasePrivilegeError, naming the statement a DBA must run, when the connecting
    role lacks a privilege.
    """
    url = normalize_url(url or get_settings().database_url)
    config = alembic_config(url)
    postgres = url.startswith("postgresql")
    try:
        with get_engine(url).begin() as connection:
            login = None
            if postgres:
                # One migrate at a time: several instances starting together would race on
                # the same grants ("tuple concurrently updated").
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
                check_table_owners(connection)
                login = ensure_user_role(connection, url, _configured_user_url(url))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            if login is not None:
                apply_row_security(
                    connection, login.role, grace_days=get_settings().past_due_grace_days
                )
    except sa.exc.DBAPIError as exc:
        if isinstance(exc.orig, psycopg.errors.InsufficientPrivilege):
            raise DatabasePrivilegeError(
                f"The database refused a migration step: {str(exc.orig).splitlines()[0]}. "
                f"The refused statement was:\n\n{(exc.statement or '').strip()};\n\n"
                "The role in DATABASE_URL must own the database and its tables."
            ) from None
        raise
    if postgres:
        check_user_login(url)


_LOCK = 0x70726F6D7074  # pg_advisory_xact_lock key for migrations ("prompt")


def check_table_owners(conn: sa.Connection) -> None:
    """Every table and sequence in public must belong to the migrating role (a database
    moved from a superuser to an ordinary owner keeps the old owner on its tables)."""
    foreign = conn.execute(
        sa.text(
            "SELECT c.relkind, c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S') "
            "AND NOT pg_has_role(current_user, c.relowner, 'USAGE') ORDER BY c.relname"
        )
    ).all()
    if not foreign:
        return
    me = conn.execute(sa.text("SELECT current_user")).scalar_one()
    statements = "\n".join(
        f"ALTER {'SEQUENCE' if kind == 'S' else 'TABLE'} public.{quote_ident(name)} "
        f"OWNER TO {quote_ident(me)};"
        for kind, name in foreign
    )
    raise DatabasePrivilegeError(
        f"{len(foreign)} tables or sequences in this database belong to another role, so "
        f"{me!r} cannot migrate them.",
        statement=statements,
    )


def check_user_login(url: str) -> None:
    """Log in as the user role once, so a wrong password shows at migrate, not at sign-in."""
    user_url = user_database_url(url)
    try:
        with sa.create_engine(user_url, poolclass=sa.pool.NullPool).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        role = sa.engine.make_url(user_url).username
        reason = str(exc.orig).strip().splitlines()[-1] if exc.orig else str(exc)
        raise DatabasePrivilegeError(
            f"User sessions cannot log in as {role!r}: {reason}. Set DATABASE_USER_URL to "
            "that role's URL, or let migrate set its password (needs CREATEROLE)."
        ) from None
