"""How an instance's connection budget is split among its backend workers, and what a
worker has loaded before its first event (issue 14)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

from promptgen.db import connection_share

ROOT = Path(__file__).resolve().parents[2]


def test_a_single_worker_takes_the_whole_budget_with_the_webhook_pool_the_largest() -> None:
    share = connection_share(40, 1)
    assert share.total == 40
    assert share.admin_async > max(share.owner, share.user) > share.generation


def test_each_workers_part_is_even_and_all_parts_fit_the_budget() -> None:
    for budget in (4, 10, 16, 40, 100, 1000):
        for workers in range(1, budget // 4 + 1):
            share = connection_share(budget, workers)
            assert min(dataclasses.astuple(share)) >= 1
            assert share.total * workers <= budget


_PROBE = """
import dataclasses, json, sys
import promptgen.promptgen
from promptgen import db
share = db.current_share()
print(json.dumps({
    "share": list(dataclasses.astuple(share)),
    "loaded": [m for m in sys.argv[1:] if m in sys.modules],
}))
"""
SDK_MODULES = ["openai.resources.chat.completions", "google.genai.models", "httpcore"]


def _app_process(**env: str) -> dict:
    """Import the app as a production worker does, in a fresh process."""
    environment = {k: v for k, v in os.environ.items() if k != "GRANIAN_WORKERS"}
    environment.update(env)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *SDK_MODULES],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_production_worker_takes_its_part_and_has_the_sdks_loaded() -> None:
    worker = _app_process(
        REFLEX_ENV_MODE="prod", GRANIAN_WORKERS="4", DATABASE_MAX_CONNECTIONS="40"
    )
    assert worker["share"] == list(dataclasses.astuple(connection_share(40, 4)))
    # Loaded at import, before the workers fork: a first generation no longer imports them
    # on the event loop while other tabs hold their state locks.
    assert worker["loaded"] == SDK_MODULES


def test_in_development_the_one_worker_takes_the_whole_budget() -> None:
    worker = _app_process(REFLEX_ENV_MODE="dev", DATABASE_MAX_CONNECTIONS="40")
    assert worker["share"] == list(dataclasses.astuple(connection_share(40, 1)))
