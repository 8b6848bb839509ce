"""Shared benchmark plumbing: a migrated PostgreSQL database, percentiles, result files."""

from __future__ import annotations

import contextlib
import json
import statistics
from collections.abc import Iterator
from pathlib import Path

from promptgen.db import dispose_engines
from promptgen.migrations import upgrade_database
from promptgen.settings import reset_settings_cache
from tests.support.postgres import start_postgres

RESULTS = Path(__file__).parent / "results"


@contextlib.contextmanager
def postgres_database(monkeypatch_env: dict[str, str]) -> Iterator[str]:
    """A fresh migrated database (TEST_DATABASE_URL's server, or a throwaway cluster)."""
    import os

    server = start_postgres()
    url = server.create_database("promptgen_bench")
    saved = {k: os.environ.get(k) for k in ["DATABASE_URL", *monkeypatch_env]}
    os.environ.update(DATABASE_URL=url, **monkeypatch_env)
    reset_settings_cache()
    try:
        upgrade_database(url)
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
