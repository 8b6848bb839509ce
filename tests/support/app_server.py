"""Start the real app (`reflex run --env prod`) for browser tests, and stop it after."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
BUN_BIN = ROOT / ".tools" / "node_modules" / ".bin"
START_TIMEOUT_S = 600  # the first production build installs the frontend packages


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def app_environment(database_url: str, port: int, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        PORT=str(port),
        APP_URL=f"http://localhost:{port}",
        PATH=f"{BUN_BIN}:{Path(sys.executable).parent}:{env.get('PATH', '')}",
        REFLEX_USE_SYSTEM_BUN="1",
        REFLEX_CHECK_LATEST_VERSION="0",
        PYTHONUNBUFFERED="1",
        # Every test user signs up and in from 127.0.0.1; the per-address limits are tested
        # at the service level (tests/integration/test_throttles.py).
        SIGNUP_IP_LIMIT="100000",
        SIGNIN_IP_LIMIT="100000",
    )
    env.update(extra)
    return env


def run_cli(env: dict[str, str], *args: str, root: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """`python -m promptgen ARGS` with the sources in `root` (this checkout by default)."""
    return subprocess.run(
        [sys.executable, "-m", "promptgen", *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@dataclass
class AppServer:
    url: str
    database_url: str
    env: dict[str, str]
    process: subprocess.Popen
    log_path: Path
    workdir: Path | None = None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


_PROJECT_ENTRIES = (
    "promptgen",
    "assets",
    "rxconfig.py",
    "alembic",
    "alembic.ini",
    "pyproject.toml",
)


def _private_workdir(name: str, root: Path = ROOT) -> Path:
    """A project directory of the app's own: Reflex bakes the backend URL into the built
    frontend in .web/, so two apps built in one directory would talk to each other's
    backend. Sources are symlinked (from `root`: the benchmarks also run an earlier commit's
    sources); a previous build's .web is copied to save time."""
    workdir = Path(tempfile.mkdtemp(prefix=f"promptgen-{name}-"))
    for entry in _PROJECT_ENTRIES:
        (workdir / entry).symlink_to(root / entry)
    if (ROOT / ".web").is_dir():
        shutil.copytree(ROOT / ".web", workdir / ".web", symlinks=True)
    return workdir


def start_app(
    database_url: str,
    *,
    name: str = "app",
    root: Path = ROOT,
    port: int | None = None,
    own_cli: bool = False,
    **extra_env: str,
) -> AppServer:
    """Migrate, seed and serve the app (sources from `root`) on `port` (default: a free
    one); wait until it answers. The migrations and seed are this checkout's, or with
    `own_cli` those of `root` (an earlier design on its own schema)."""
    port = port or free_port()
    env = app_environment(database_url, port, **extra_env)
    for command in (("migrate",), ("seed",)):
        result = run_cli(env, *command, root=root if own_cli else ROOT)
        if result.returncode != 0:
            raise RuntimeError(f"promptgen {command[0]} failed:\n{result.stderr}")
    return serve_reflex(
        _private_workdir(name, root), env, port, name=name, database_url=database_url
    )


def serve_reflex(
    cwd: Path,
    env: dict[str, str],
    port: int,
    *,
    name: str,
    database_url: str = "",
    ready_paths: tuple[str, ...] = ("/api/health", "/"),
    own_workdir: bool = True,
) -> AppServer:
    """`reflex run --env prod` in `cwd` on one port, as `make run` does; returns once every
    path in `ready_paths` answers 200. With `own_workdir`, `cwd` is removed at stop."""
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / f"reflex-{name}.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "reflex"),
            "run",
            "--env",
            "prod",
            "--frontend-port",
            str(port),
            "--backend-port",
            str(port),
        ],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = AppServer(
        f"http://localhost:{port}",
        database_url,
        env,
        process,
        log_path,
        cwd if own_workdir else None,
    )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"reflex exited early:\n{log_path.read_text()[-4000:]}")
        try:
            if all(
                httpx.get(server.url + path, timeout=5).status_code == 200 for path in ready_paths
            ):
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1)
    server.stop()
    raise RuntimeError(f"app did not start in {START_TIMEOUT_S}s:\n{log_path.read_text()[-4000:]}")
