"""The daily purge is scheduled at the configured local time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from promptgen.settings import Settings
from promptgen.tasks import retention_scheduler


def test_the_purge_runs_daily_at_the_configured_time_and_zone() -> None:
    settings = Settings(_env_file=None, purge_hour=3, purge_minute=30, purge_timezone="Asia/Tokyo")
    job = retention_scheduler(settings).get_job("retention-purge")
    after = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # 21:00 in Tokyo
    first = job.trigger.get_next_fire_time(None, after)
    assert first == datetime(2026, 11, 25, 18, 30, tzinfo=UTC)  # 03:30 next day in Tokyo
    second = job.trigger.get_next_fire_time(first, first)
    assert second - first == timedelta(days=1)


def test_an_unknown_time_zone_names_the_setting() -> None:
    with pytest.raises(ValueError, match="purge_timezone"):
        Settings(_env_file=None, purge_timezone="Mars/Olympus")
