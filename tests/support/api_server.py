"""Serve the HTTP routes (the Stripe webhook among them) with granian, as production does,
for tests and benchmarks that need real processes: several workers, real concurrency."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.app_server import free_port


@contextlib.contextmanager
def serve_api(
    env: dict[str, str],
    *,
    workers: int = 1,
    pythonpath: str | None = None,
    target: str = "promptgen.api.app:build_api",
) -> Iterator[str]:
    """`target` (an app factory answering `GET /api/health`; by default every HTTP route of
    PromptGen) on a free port; yields its base URL.

    `pythonpath` puts another copy of the `promptgen` package first (the benchmark runs the
    previous design from a checkout of an earlier commit).
    """
    port = free_port()
    full_env = {**os.environ, **env}
    if pythonpath:
        full_env["PYTHONPATH"] = pythonpath
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "granian"),
            "--interface",
            "asgi",
            "--factory",
            "--workers",
            str(workers),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            target,
        ],
        env=full_env,
        cwd=pythonpath or None,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError("granian exited early")
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start in 60 s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
