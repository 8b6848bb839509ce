"""A PostgreSQL server for the tests, used the way a managed service is.

TEST_DATABASE_URL (a role that may create databases and roles: `.ci/run` makes an ordinary
`promptgen_ci` one) is used when set. Otherwise a throwaway cluster is created in a
temporary folder with Debian's postgresql binaries, started on a free port, removed at exit,
and given the same ordinary role.

Every test database belongs to its own ordinary login role (`NOSUPERUSER NOBYPASSRLS`, with
or without CREATEROLE), and that role's URL is what the app and the tests connect with:
the bootstrap role only creates and drops databases and roles, as a DBA would.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import sqlalchemy as sa

CI_ROLE = "promptgen_ci"
# The same statements .ci/run runs: a role that creates databases and roles, and may end a
# test database's leftover connections when dropping it (pg_signal_backend), nothing more.
CI_ROLE_SQL = f"""DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{CI_ROLE}') THEN
        CREATE ROLE {CI_ROLE} LOGIN CREATEDB CREATEROLE NOSUPERUSER NOBYPASSRLS;
    END IF;
END $$;
GRANT pg_signal_backend TO {CI_ROLE}"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class PostgresServer:
    base_url: str  # postgresql+psycopg://user@host:port/dbname
    _cluster_dir: Path | None = None
    _bin_dir: Path | None = None
    _run_as: str | None = None

    def _conninfo(self, dbname: str | None = None) -> str:
        url = sa.engine.make_url(self.base_url)
        if dbname:
            url = url.set(database=dbname)
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def create_database(self, prefix: str = "promptgen_test", *, createrole: bool = True) -> str:
        """A new database owned by a new ordinary login role; returns that role's URL.

        `createrole=False` is a managed service's stricter variant: run `run_as_dba` with
        the bootstrap SQL before migrating.
        """
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        owner = f"{name}_owner"
        attributes = "CREATEROLE" if createrole else "NOCREATEROLE"
        with psycopg.connect(self._conninfo(), autocommit=True) as conn:
            conn.execute(
                f'CREATE ROLE "{owner}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB {attributes}'
            )
            # The bootstrap role must be a member to create (and later drop) its database.
            conn.execute(f'GRANT "{owner}" TO CURRENT_USER')
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
        return (
            sa.engine.make_url(self.base_url)
            .set(database=name, username=owner, password=None)
            .render_as_string(hide_password=False)
        )

    def _superuser_conninfo(self) -> str:
        superuser = sa.engine.make_url(self.base_url).set(username="postgres", password=None)
        return superuser.set(drivername="postgresql").render_as_string(hide_password=False)

    def create_superuser_database(self, prefix: str) -> str:
        """A database owned by the cluster's superuser `postgres`: only for benchmarking the
        design before the role model (it needed a superuser). Local trust auth assumed."""
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self._superuser_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        superuser = sa.engine.make_url(self.base_url).set(username="postgres", password=None)
        return superuser.set(database=name).render_as_string(hide_password=False)

    def run_as_superuser(self, sql: str, database: str | None = None) -> None:
        """For the benchmarks' previous-design set-up only (see create_superuser_database)."""
        conninfo = self._superuser_conninfo()
        if database:
            conninfo = sa.engine.make_url(conninfo).set(database=database).render_as_string(False)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql)

    def run_as_dba(self, sql: str, database: str | None = None) -> None:
        """Run `sql` as the bootstrap role (the DBA of a managed service)."""
        with psycopg.connect(self._conninfo(database), autocommit=True) as conn:
            conn.execute(sql)

    def drop_database(self, url: str) -> None:
        name = sa.engine.make_url(url).database
        superuser_owned = sa.engine.make_url(url).username == "postgres"
        conninfo = self._superuser_conninfo() if superuser_owned else self._conninfo()
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for role in (f"{name}_user", f"{name}_owner"):
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')

    def stop(self) -> None:
        if self._cluster_dir is None:
            return
        subprocess.run(
            [
                "runuser",
                "-u",
                self._run_as,
                "--",
                str(self._bin_dir / "pg_ctl"),
                "-D",
                str(self._cluster_dir / "data"),
                "-m",
                "immediate",
                "stop",
            ],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(self._cluster_dir, ignore_errors=True)
        self._cluster_dir = None


def _start_throwaway_cluster(max_connections: int = 200, port: int | None = None) -> PostgresServer:
    initdbs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not initdbs:
        raise RuntimeError(
            "TEST_DATABASE_URL is unset and no PostgreSQL binaries were found: "
            "install Debian's postgresql package (make test does this)."
        )
    bin_dir = Path(initdbs[-1]).parent
    # initdb refuses to run as root, so the cluster belongs to an unprivileged user.
    run_as = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    cluster_dir = Path(tempfile.mkdtemp(prefix="promptgen-pg-"))
    if os.geteuid() == 0:
        shutil.chown(cluster_dir, user=run_as)
    port = port or _free_port()
    as_user = ["runuser", "-u", run_as, "--"] if os.geteuid() == 0 else []
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "initdb"),
            "-D",
            str(cluster_dir / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_user,
            str(bin_dir / "pg_ctl"),
            "-D",
            str(cluster_dir / "data"),
            "-w",
            "-l",
            str(cluster_dir / "server.log"),
            "-o",
            f"-p {port} -k {cluster_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off "
            f"-c max_connections={max_connections}",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    # Like .ci/run: the tests' bootstrap role is an ordinary one, not the superuser.
    with psycopg.connect(f"host=127.0.0.1 port={port} user=postgres dbname=postgres") as conn:
        conn.execute(CI_ROLE_SQL)
    return PostgresServer(
        base_url=f"postgresql+psycopg://{CI_ROLE}@127.0.0.1:{port}/postgres",
        _cluster_dir=cluster_dir,
        _bin_dir=bin_dir,
        _run_as=run_as,
    )


def admin_connect(url: str, **kwargs) -> psycopg.Connection:
    """A raw connection as the database's owner that sees every user's rows, as the app's
    admin session does (row-level security is forced on the owner too)."""
    conninfo = sa.engine.make_url(url).set(drivername="postgresql")
    return psycopg.connect(
        conninfo.render_as_string(hide_password=False), options="-c app.admin=on", **kwargs
    )


def start_postgres(
    *, throwaway: bool = False, max_connections: int = 200, port: int | None = None
) -> PostgresServer:
    """TEST_DATABASE_URL's server, else (or with `throwaway`) a throwaway cluster of our own
    accepting `max_connections`, on `port` (default: a free one)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url and not throwaway:
        from promptgen.db import normalize_url

        return PostgresServer(base_url=normalize_url(url))
    return _start_throwaway_cluster(max_connections, port)
