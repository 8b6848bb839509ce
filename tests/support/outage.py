"""A database outage for one test: the database refuses new connections and the app's
open ones are cut, the way a failover or a restart looks from the app."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import psycopg
import sqlalchemy as sa

from promptgen.db import dispose_engines


@contextlib.contextmanager
def database_outage(owner_url: str) -> Iterator[None]:
    """While inside, `owner_url`'s database accepts no connection. As the owner role (no
    superuser needed): it may refuse connections to its database and end its own backends;
    the user role's pooled connections are closed from the app's side."""
    url = sa.engine.make_url(owner_url)
    name = url.database
    maintenance = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND usename = current_user AND pid <> pg_backend_pid()",
            (name,),
        )
        dispose_engines()
        try:
            yield
        finally:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
