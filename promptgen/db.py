"""Database engines and sessions. The only module that knows how a session is scoped."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from promptgen.db_security import (
    ADMIN_FLAG,
    USER_ID_SETTING,
    USER_SCOPE_SECRET_NAME,
    USER_SIG_SETTING,
    derive_user_url,
    driver_connection,
    user_scope_signature,
)
from promptgen.settings import get_settings

T = TypeVar("T")


def normalize_url(url: str) -> str:
    """Use psycopg 3 for any PostgreSQL URL (plain postgres:// URLs would pick psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


_engines: dict[str, sa.Engine] = {}
DB_THREADS = 30
POOL_SIZE = 20


def _create_engine(url: str) -> sa.Engine:
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # Most of the threads' connections stay pooled: a webhook holds its connection while it
    # reads Stripe, and an overflow connection costs a PostgreSQL backend start on every use.
    # Not all of them: each process has two engines (owner and user role), and several
    # workers must stay under a managed server's max_connections.
    return sa.create_engine(
        url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=DB_THREADS - POOL_SIZE
    )


def get_engine(url: str | None = None) -> sa.Engine:
    """The shared engine for `url`, or for the configured DATABASE_URL."""
    url = normalize_url(url or get_settings().database_url)
    if url not in _engines:
        _engines[url] = _create_engine(url)
    return _engines[url]


def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases between cases)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _owner_url_of.clear()
    _user_scope_secrets.clear()


@contextlib.contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work as the owner role: commits on success, rolls back on any error.

    On PostgreSQL, row-level security is forced on the owner too, so this session sees the
    catalog and the admin-only tables but no user's rows: use `admin_session_scope` for
    work that must, and `user_session_scope` for work on behalf of a user.
    """
    with Session(get_engine(url), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def rows_affected(result: sa.Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched (its result is a CursorResult at runtime;
    SQLAlchemy's types only say Result)."""
    return cast("sa.CursorResult[Any]", result).rowcount or 0


def table_of(model: type[Any]) -> sa.Table:
    """A SQLModel class's Core table (SQLModel sets `__table__` on table models at runtime)."""
    return cast(sa.Table, model.__table__)


def stored_id(row: Any) -> int:
    """The integer id of a row read from the database (the model says `int | None` because
    a row not yet inserted has none)."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has not been stored yet")
    return int(row.id)


def insert_with_on_conflict(bind: sa.Engine | sa.Connection | Session) -> Any:
    """The dialect's INSERT construct, which has ON CONFLICT (PostgreSQL and SQLite)."""
    if isinstance(bind, Session):
        bind = bind.get_bind()
    name = bind.dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"unsupported database dialect: {name}")


def is_postgres(session: Session) -> bool:
    """Whether `session` talks to PostgreSQL (RLS, roles and the quota functions apply)."""
    return session.get_bind().dialect.name == "postgresql"


@contextlib.contextmanager
def admin_session_scope(url: str | None = None) -> Iterator[Session]:
    """A unit of work that sees every user's rows: sign-in, webhooks, purge, sweep, CLI.

    It says so to the database (`app.admin` for this transaction only), and only the owner
    role's policies honour that; a plain `session_scope` that forgot its scope sees nothing.
    """
    with session_scope(url) as session:
        if is_postgres(session):
            session.execute(sa.text(f"SELECT set_config('{ADMIN_FLAG}', 'on', true)"))
        yield session


def user_database_url(url: str | None = None) -> str:
    """The URL user sessions connect with: DATABASE_USER_URL when it belongs to `url` (or
    `url` is the configured database), else derived from the owner's URL (db_security)."""
    settings = get_settings()
    owner_url = normalize_url(url or settings.database_url)
    if settings.database_user_url and owner_url == normalize_url(settings.database_url):
        return normalize_url(settings.database_user_url)
    return derive_user_url(owner_url)


_owner_url_of: dict[sa.Engine, str] = {}
_user_scope_secrets: dict[str, str] = {}


def _user_scope_secret(owner_url: str) -> str:
    """The secret that signs user ids for the database (db_security), read once by the owner
    (the user role cannot read it)."""
    if owner_url not in _user_scope_secrets:
        with get_engine(owner_url).connect() as conn:
            value = conn.execute(
                sa.text("SELECT value FROM database_secrets WHERE name = :name"),
                {"name": USER_SCOPE_SECRET_NAME},
            ).scalar_one_or_none()
        if value is None:
            raise RuntimeError("the database is not migrated: run python -m promptgen migrate")
        _user_scope_secrets[owner_url] = value
    return _user_scope_secrets[owner_url]


def owner_engine(session: Session) -> sa.Engine:
    """The owner role's engine for the database behind `session` (which may be a user
    session): for the admin-only tables, such as the sign-in throttle."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    owner_url = _owner_url_of.get(engine)
    return get_engine(owner_url) if owner_url else engine


@contextlib.contextmanager
def user_session_scope(user_id: uuid.UUID, url: str | None = None) -> Iterator[Session]:
    """A unit of work on behalf of one user.

    On PostgreSQL it runs on the user role's own connection pool (a separate login that is
    a member of no other role, so no SQL can climb out of it) with `app.user_id` set for
    this transaction only: row-level security shows and accepts only that user's rows
    (promptgen.db_security). SQLite has no RLS; there the services' owner filters scope.
    """
    owner_url = normalize_url(url or get_settings().database_url)
    target = owner_url if owner_url.startswith("sqlite") else user_database_url(owner_url)
    _owner_url_of[get_engine(target)] = owner_url
    with session_scope(target) as session:
        if is_postgres(session):
            # One round trip. RESET ALL first: a pooled connection must not carry settings
            # an earlier request left on it (a search_path, another app.user_id). The id is
            # a UUID, so it can be written into the text; several statements need the simple
            # query protocol, which only a statement without parameters uses.
            user = str(uuid.UUID(str(user_id)))
            signature = user_scope_signature(_user_scope_secret(owner_url), user)
            driver_connection(session.connection()).execute(
                f"RESET ALL; SELECT set_config('{USER_ID_SETTING}', '{user}', true), "
                f"set_config('{USER_SIG_SETTING}', '{signature}', true)"
            )
        yield session


@functools.cache
def _db_executor() -> ThreadPoolExecutor:
    # Database work waits on I/O, not the CPU: more threads than asyncio's default
    # (cores + 4) let concurrent requests overlap their round trips. Matches the pool size.
    return ThreadPoolExecutor(max_workers=DB_THREADS, thread_name_prefix="promptgen-db")


async def run_in_session(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a sync service `fn(session=..., **kwargs)` in one transaction, off the event loop."""

    def unit_of_work() -> T:
        with session_scope() as session:
            return fn(session=session, **kwargs)

    return await asyncio.get_running_loop().run_in_executor(_db_executor(), unit_of_work)


async def run_in_admin_session(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Like run_in_session, in an admin session (every user's rows; see admin_session_scope)."""

    def unit_of_work() -> T:
        with admin_session_scope() as session:
            return fn(session=session, **kwargs)

    return await asyncio.get_running_loop().run_in_executor(_db_executor(), unit_of_work)


async def run_in_user_session(fn: Callable[..., T], /, *, user_id: uuid.UUID, **kwargs: Any) -> T:
    """Like run_in_session, in a session scoped to `user_id` (also passed on to `fn`)."""

    def unit_of_work() -> T:
        with user_session_scope(user_id) as session:
            return fn(session=session, user_id=user_id, **kwargs)

    return await asyncio.get_running_loop().run_in_executor(_db_executor(), unit_of_work)


def check_database(url: str | None = None) -> str | None:
    """None when the database answers, else a short reason."""
    try:
        with get_engine(url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        return type(exc).__name__ + ": " + str(exc).splitlines()[0][:200]
    return None
