"""Database engines and sessions. The only module that knows how a session is scoped."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

import psycopg
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
log = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """Use psycopg 3 for any PostgreSQL URL (plain postgres:// URLs would pick psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# --- how many connections this process may open -------------------------------------------

Role = Literal["owner", "user"]


@dataclass(frozen=True)
class ConnectionShare:
    """This process's part of DATABASE_MAX_CONNECTIONS: the most connections each of its
    pools opens."""

    owner: int  # the owner role's engine: admin and plain sessions, in threads
    user: int  # the user role's engine: user sessions, in threads
    generation: int  # the user role on the event loop: the generation's start and finish
    admin_async: int  # the owner on the event loop: session lookups, webhooks (which hold
    # theirs while Stripe is read)

    @property
    def total(self) -> int:
        return self.owner + self.user + self.generation + self.admin_async

    def for_role(self, role: Role) -> int:
        return self.owner if role == "owner" else self.user


def connection_share(budget: int, workers: int) -> ConnectionShare:
    """One instance's `budget` split evenly among its `workers` backend processes (at least
    one connection per pool), and each process's part among its pools: a quarter to each
    engine, 15% to the generation path, the rest to the owner's event-loop pool (whose
    webhooks hold a connection while Stripe answers)."""
    per_process = max(4, budget // max(1, workers))
    owner = user = max(1, per_process // 4)
    generation = max(1, per_process * 15 // 100)
    return ConnectionShare(owner, user, generation, per_process - owner - user - generation)


_backend_workers = 1


def share_connections_among(workers: int) -> None:
    """How many backend processes of this instance share DATABASE_MAX_CONNECTIONS. The app
    says so at import, before any connection opens; a CLI or test process is alone."""
    global _backend_workers
    _backend_workers = max(1, workers)


def current_share() -> ConnectionShare:
    return connection_share(get_settings().database_max_connections, _backend_workers)


_engines: dict[str, sa.Engine] = {}


def _create_engine(url: str, role: Role) -> sa.Engine:
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
    # At most this process's share of DATABASE_MAX_CONNECTIONS for the role, all kept pooled
    # (a connection opened per use costs a PostgreSQL backend start): the instance's
    # workers together stay within the budget however many users arrive at once; work
    # beyond it waits in the role's thread pool (`_db_executor`), not at the server.
    # No pre-ping (a round trip on every checkout): a unit of work that finds its pooled
    # connection dropped (database restart, failover, idle timeout) is run again once on a
    # fresh one (`_unit_of_work`); SQLAlchemy then drops the pool's other connections of
    # that age.
    return sa.create_engine(url, pool_size=current_share().for_role(role), max_overflow=0)


def get_engine(url: str | None = None, *, role: Role = "owner") -> sa.Engine:
    """The shared engine for `url`, or for the configured DATABASE_URL; `role` says which
    share of the connection budget it gets when this call creates it."""
    url = normalize_url(url or get_settings().database_url)
    if url not in _engines:
        _engines[url] = _create_engine(url, role)
    return _engines[url]


def dispose_engines() -> None:
    """Close every pooled connection (tests switch databases between cases)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    for pools in list(_async_pools.values()):
        for pool in pools.values():
            pool.close_idle()
    _async_pools.clear()
    _owner_url_of.clear()
    _user_scope_secrets.clear()
    for executor in _executors.values():  # sized from the settings of their time
        executor.shutdown(wait=False)
    _executors.clear()


def _dropped_connection(exc: BaseException) -> bool:
    """Whether `exc` is a pooled connection found dead (SQLAlchemy invalidated it)."""
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


@contextlib.contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One unit of work as the owner role: commits on success, rolls back on any error.

    On PostgreSQL, row-level security is forced on the owner too, so this session sees the
    catalog and the admin-only tables but no user's rows: use `admin_session_scope` for
    work that must, and `user_session_scope` for work on behalf of a user.
    """
    with _transaction(get_engine(url)) as session:
        yield session


@contextlib.contextmanager
def _transaction(engine: sa.Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
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
    engine = get_engine(target, role="user")
    _owner_url_of[engine] = owner_url
    with _transaction(engine) as session:
        if is_postgres(session):
            # One round trip. RESET ALL first: a pooled connection must not carry settings
            # an earlier request left on it (a search_path, another app.user_id). The id is
            # a UUID, so it can be written into the text; several statements need the simple
            # query protocol, which only a statement without parameters uses.
            user = str(uuid.UUID(str(user_id)))
            signature = user_scope_signature(_user_scope_secret(owner_url), user)
            statement = (
                f"RESET ALL; SELECT set_config('{USER_ID_SETTING}', '{user}', true), "
                f"set_config('{USER_SIG_SETTING}', '{signature}', true)"
            )
            connection = session.connection()
            raw = driver_connection(connection)
            try:
                raw.execute(statement)
            except psycopg.OperationalError as exc:
                if not (raw.broken or raw.closed):
                    raise
                # Straight to the driver, so tell SQLAlchemy the connection is gone, as it
                # does itself for statements it runs (the unit of work then retries once).
                connection.invalidate()
                raise sa.exc.OperationalError(
                    "RESET ALL", None, exc, connection_invalidated=True
                ) from exc
        yield session


_executors: dict[Role, ThreadPoolExecutor] = {}


def _db_executor(role: Role) -> ThreadPoolExecutor:
    """One thread per connection the role's engine may open: work beyond that waits here,
    in order and without a timeout, rather than in the engine's pool (which gives up after
    30 s) or at the server. Database work waits on I/O, not the CPU, so these may be more
    threads than asyncio's default (cores + 4)."""
    executor = _executors.get(role)
    if executor is None:
        executor = _executors[role] = ThreadPoolExecutor(
            max_workers=current_share().for_role(role), thread_name_prefix=f"promptgen-{role}"
        )
    return executor


def _unit_of_work(scope: Callable[[], Any], fn: Callable[..., T], **kwargs: Any) -> Callable[[], T]:
    """`fn` in one transaction of `scope`. No pre-ping on checkout: when the pooled
    connection turns out to be dead (database restart, failover, idle timeout) before the
    commit began, the work runs once more on a fresh connection (SQLAlchemy has dropped the
    pool's older connections by then). A commit cut off midway is not retried (it may have
    landed), and a second failure is an outage: both propagate."""

    def run() -> T:
        for attempt in (1, 2):
            committing = False
            try:
                with scope() as session:
                    result = fn(session=session, **kwargs)
                    committing = True  # the scope commits as the block ends
                return result
            except Exception as exc:
                if attempt == 2 or committing or not _dropped_connection(exc):
                    raise
                log.info("database connection was dropped; retrying once on a fresh one")
        raise AssertionError("unreachable")

    return run


async def run_in_session(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a sync service `fn(session=..., **kwargs)` in one transaction, off the event loop."""
    work = _unit_of_work(session_scope, fn, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_db_executor("owner"), work)


async def run_in_admin_session(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Like run_in_session, in an admin session (every user's rows; see admin_session_scope)."""
    work = _unit_of_work(admin_session_scope, fn, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_db_executor("owner"), work)


async def run_in_user_session(fn: Callable[..., T], /, *, user_id: uuid.UUID, **kwargs: Any) -> T:
    """Like run_in_session, in a session scoped to `user_id` (also passed on to `fn`)."""
    work = _unit_of_work(
        functools.partial(user_session_scope, user_id), fn, user_id=user_id, **kwargs
    )
    return await asyncio.get_running_loop().run_in_executor(_db_executor("user"), work)


# --- the generation's hot path: psycopg's async driver, no thread hop ---------------------


class _AsyncPool:
    """A few autocommit psycopg AsyncConnections of one login, for one event loop (`size`:
    this process's share for the role, `ConnectionShare`). No pre-ping: a reused
    connection found dead is replaced and the work runs once more."""

    def __init__(self, conninfo: str, size: int) -> None:
        self._conninfo = conninfo
        self._idle: collections.deque[psycopg.AsyncConnection] = collections.deque()
        self._slots = asyncio.Semaphore(size)

    async def run(self, work: Callable[[psycopg.AsyncConnection], Awaitable[T]]) -> T:
        async with self._slots:
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await self._connect()
            try:
                return await self._attempt(conn, work)
            except psycopg.OperationalError:
                if not (reused and (conn.broken or conn.closed)):
                    raise
                log.info("database connection was dropped; retrying once on a fresh one")
            return await self._attempt(await self._connect(), work)

    async def _connect(self) -> psycopg.AsyncConnection:
        return await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)

    async def _attempt(
        self, conn: psycopg.AsyncConnection, work: Callable[[psycopg.AsyncConnection], Awaitable[T]]
    ) -> T:
        try:
            result = await work(conn)
        except BaseException:
            await self._release_after_error(conn)
            raise
        self._idle.append(conn)
        return result

    async def _release_after_error(self, conn: psycopg.AsyncConnection) -> None:
        if conn.broken or conn.closed:
            return
        try:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                await asyncio.shield(conn.execute("ROLLBACK"))
        except BaseException:
            conn.pgconn.finish()  # cancelled or failed mid-query: its state is unknown
            return
        self._idle.append(conn)

    def close_idle(self) -> None:
        # Synchronous (dispose_engines): the connections' event loop may be gone already.
        while self._idle:
            self._idle.pop().pgconn.finish()


# Per event loop (an asyncio primitive belongs to one loop; tests run several), dropped
# with its loop, so a new loop never finds the pool of a dead one that had the same id.
_async_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _AsyncPool]] = (
    weakref.WeakKeyDictionary()
)


def _conninfo(url: str) -> str:
    parsed = sa.engine.make_url(url)
    params = {
        "host": parsed.host,
        "port": parsed.port,
        "dbname": parsed.database,
        "user": parsed.username,
        "password": parsed.password,
        **{k: v for k, v in parsed.query.items() if isinstance(v, str)},
    }
    return psycopg.conninfo.make_conninfo(
        "", **{k: str(v) for k, v in params.items() if v is not None}
    )


def _async_pool(url: str, role: Role) -> _AsyncPool:
    pools = _async_pools.setdefault(asyncio.get_running_loop(), {})
    pool = pools.get(url)
    if pool is None:
        share = current_share()
        size = share.admin_async if role == "owner" else share.generation
        pool = pools[url] = _AsyncPool(_conninfo(url), size)
    return pool


async def run_user_statement(
    user_id: uuid.UUID,
    sql: str,
    params: Sequence[Any],
    url: str | None = None,
    *,
    flush_wal: bool = True,
) -> list[tuple[Any, ...]]:
    """Run one statement for `user_id` in its own transaction on PostgreSQL, scoped exactly
    like `user_session_scope` (user role, RESET ALL, the signed user id for this transaction
    only), in a single round trip (psycopg pipeline) and without leaving the event loop.
    Returns the statement's rows.

    `flush_wal=False` commits without waiting for the WAL to reach the disk
    (`synchronous_commit = off` for this transaction): the commit is atomic and visible at
    once, and the next durable commit of any session flushes it too; only a crash of the
    PostgreSQL server itself in the next few hundred milliseconds can lose it."""
    owner_url = normalize_url(url or get_settings().database_url)
    if owner_url not in _user_scope_secrets:
        await asyncio.to_thread(_user_scope_secret, owner_url)
    user = str(uuid.UUID(str(user_id)))
    signature = user_scope_signature(_user_scope_secrets[owner_url], user)

    async def work(conn: psycopg.AsyncConnection) -> list[tuple[Any, ...]]:
        async with conn.pipeline():
            await conn.execute("BEGIN")
            await conn.execute("RESET ALL")
            await conn.execute(
                "SELECT set_config(%s, %s, true), set_config(%s, %s, true), "
                "set_config('synchronous_commit', %s, true)",
                (USER_ID_SETTING, user, USER_SIG_SETTING, signature, "on" if flush_wal else "off"),
            )
            cursor = await conn.execute(sql, params)
            await conn.execute("COMMIT")
        return await cursor.fetchall() if cursor.description else []

    return await _async_pool(user_database_url(owner_url), "user").run(work)


def uses_postgres(url: str | None = None) -> bool:
    """Whether `url` (default: DATABASE_URL) is PostgreSQL rather than the embedded SQLite."""
    return normalize_url(url or get_settings().database_url).startswith("postgresql")


async def run_in_admin_transaction(
    fn: Callable[..., Awaitable[T]], /, url: str | None = None, **kwargs: Any
) -> T:
    """`await fn(conn=..., **kwargs)` in one admin transaction on PostgreSQL, on psycopg's
    async driver without leaving the event loop: the scope of `admin_session_scope` (the
    owner role, `app.admin` for this transaction only).

    The connection is in pipeline mode: BEGIN and the admin flag go out with `fn`'s first
    statements, and COMMIT with its last, so work that reads, waits on something else and
    writes costs two round trips. `fn` raising rolls the transaction back. A reused
    connection found dropped runs the whole of `fn` once more on a fresh one (`fn` must
    be safe to repeat, as a unit of work that has not committed is)."""
    owner_url = normalize_url(url or get_settings().database_url)

    async def work(conn: psycopg.AsyncConnection) -> T:
        async with conn.pipeline():
            await conn.execute("BEGIN")
            # A pooled connection must not carry settings an earlier unit of work left.
            await conn.execute("RESET ALL")
            await conn.execute(f"SELECT set_config('{ADMIN_FLAG}', 'on', true)")
            result = await fn(conn=conn, **kwargs)
            await conn.execute("COMMIT")
        return result

    return await _async_pool(owner_url, "owner").run(work)


async def run_admin_statement(
    sql: str, params: Sequence[Any] | Mapping[str, Any], url: str | None = None
) -> list[tuple[Any, ...]]:
    """Run one statement in its own admin transaction on PostgreSQL, scoped exactly like
    `admin_session_scope` (the owner role, `app.admin` for this transaction only), after a
    RESET ALL, in a single round trip (psycopg pipeline) and without leaving the event loop.
    Returns the statement's rows."""
    owner_url = normalize_url(url or get_settings().database_url)

    async def work(conn: psycopg.AsyncConnection) -> list[tuple[Any, ...]]:
        async with conn.pipeline():
            await conn.execute("BEGIN")
            await conn.execute("RESET ALL")
            await conn.execute(f"SELECT set_config('{ADMIN_FLAG}', 'on', true)")
            cursor = await conn.execute(sql, params)
            await conn.execute("COMMIT")
        return await cursor.fetchall() if cursor.description else []

    return await _async_pool(owner_url, "owner").run(work)


def check_database(url: str | None = None) -> str | None:
    """None when the database answers, else a short reason."""
    try:
        with get_engine(url).connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except Exception as exc:
        return type(exc).__name__ + ": " + str(exc).splitlines()[0][:200]
    return None
