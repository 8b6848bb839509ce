"""Shared benchmark plumbing: a migrated PostgreSQL database, an earlier design's sources,
the fake OpenAI in its own process, percentiles, result files, Chromium, signing up
through the real form, ports and the load average."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from promptgen.db import dispose_engines
from promptgen.migrations import upgrade_database
from promptgen.settings import reset_settings_cache
from tests.support.postgres import start_postgres

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

RESULTS = Path(__file__).parent / "results"
PASSWORD = "a long enough password"
ROOT = Path(__file__).resolve().parent.parent
# What `start_app` and granian need to serve a design, and its CLI to migrate and seed.
DESIGN_ENTRIES = ("promptgen", "assets", "alembic", "alembic.ini", "rxconfig.py", "pyproject.toml")


@contextlib.contextmanager
def design_sources(commit: str) -> Iterator[Path]:
    """The sources of `commit` (an earlier design, measured beside this one in the same
    run), taken with `git archive` into a temporary folder that is removed afterwards."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit, *DESIGN_ENTRIES],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tempfile.TemporaryDirectory(prefix="promptgen-baseline-") as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


@contextlib.contextmanager
def postgres_database(
    monkeypatch_env: dict[str, str],
    *,
    previous_design: Path | None = None,
    migrated: bool = True,
    private_server: dict[str, int] | None = None,
) -> Iterator[str]:
    """A fresh migrated database (TEST_DATABASE_URL's server, or a throwaway cluster), owned
    by an ordinary role. With `previous_design` (an earlier commit's sources), one owned by
    the superuser: the design before the role model needed one. With `migrated=False` the
    database is left empty, for a design that migrates it with its own CLI. With
    `private_server` (start_postgres's `max_connections` and `port`), on a throwaway
    cluster of its own rather than TEST_DATABASE_URL's server."""
    import os

    server = start_postgres(**({"throwaway": True, **private_server} if private_server else {}))
    if previous_design is None:
        url = server.create_database("promptgen_bench")
    else:
        url = server.create_superuser_database("promptgen_bench_prev")
    saved = {k: os.environ.get(k) for k in ["DATABASE_URL", *monkeypatch_env]}
    os.environ.update(DATABASE_URL=url, **monkeypatch_env)
    reset_settings_cache()
    try:
        if migrated:
            upgrade_database(url)
        if previous_design is not None:
            _legacy_user_role(server, url)
        yield url
    finally:
        dispose_engines()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings_cache()
        server.drop_database(url)
        server.stop()


def _legacy_user_role(server, url: str) -> None:
    """What the previous design's RLS migration set up: user sessions SET ROLE promptgen_user
    and set app.user_id (unsigned), with full rights on the owned tables. Rebuilt on today's
    schema so the previous design can be measured beside the current one."""
    from promptgen.models import CATALOG_TABLES, owned_tables

    database = sa.engine.make_url(url).database
    statements = [
        """DO $$ BEGIN
            IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'promptgen_user') THEN
                CREATE ROLE promptgen_user NOLOGIN NOBYPASSRLS;
            END IF;
        END $$""",
        "GRANT USAGE ON SCHEMA public TO promptgen_user",
    ]
    statements += [f"GRANT SELECT ON {table} TO promptgen_user" for table in CATALOG_TABLES]
    for table, owner in owned_tables().items():
        statements += [
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO promptgen_user",
            f"DROP POLICY IF EXISTS legacy_user_rows ON {table}",
            f"CREATE POLICY legacy_user_rows ON {table} TO promptgen_user USING "
            f"({owner} = nullif(current_setting('app.user_id', true), '')::uuid)",
        ]
    server.run_as_superuser(";\n".join(statements), database=database)


_FAKE_SCRIPT = """
import sys, time
from tests.support.fake_providers import FakeOpenAI
fake = FakeOpenAI().start()
fake.latency_s = float(sys.argv[1])
print(fake.url, flush=True)
while True:
    time.sleep(3600)
"""


@contextlib.contextmanager
def fake_openai_process(latency_s: float) -> Iterator[str]:
    """The fake OpenAI server in its own process, so its CPU does not share our GIL."""
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-c", _FAKE_SCRIPT, str(latency_s)],
        cwd=root,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield process.stdout.readline().strip()
    finally:
        process.kill()
        process.wait()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(samples_s: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def save(name: str, figures: dict) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    return path


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, printed beside every timing (the machine is
    shared)."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench_port(offset: int) -> int | None:
    """`BENCH_PORT` + offset when BENCH_PORT is set (machines where ports are handed out),
    else None: a free port is picked."""
    base = os.environ.get("BENCH_PORT")
    return int(base) + offset if base else None


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium under Playwright, as the browser tests run it."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_up(page: Page, base_url: str, email: str) -> None:
    """A new account through the real sign-up form; returns on the dashboard."""
    page.goto(base_url + "/sign-up")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(re.compile(r"/dashboard/?$"))
