"""A PostgreSQL server for the tests.

TEST_DATABASE_URL (a URL to any database on a server where we may CREATE DATABASE)
is used when set. Otherwise a throwaway cluster is created in a temporary folder
with Debian's postgresql binaries, started on a free port, and removed at exit.
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

    def create_database(self, prefix: str = "promptgen_test") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self._conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return (
            sa.engine.make_url(self.base_url)
            .set(database=name)
            .render_as_string(hide_password=False)
        )

    def drop_database(self, url: str) -> None:
        name = sa.engine.make_url(url).database
        with psycopg.connect(self._conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

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


def _start_throwaway_cluster() -> PostgresServer:
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
    port = _free_port()
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
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    return PostgresServer(
        base_url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres",
        _cluster_dir=cluster_dir,
        _bin_dir=bin_dir,
        _run_as=run_as,
    )


def start_postgres() -> PostgresServer:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        from promptgen.db import normalize_url

        return PostgresServer(base_url=normalize_url(url))
    return _start_throwaway_cluster()
