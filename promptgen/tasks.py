"""Background jobs run in the app's lifespan. Plain asyncio: no reflex imports."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from promptgen.db import run_in_admin_session, run_in_session
from promptgen.services.generation import abandoned_after, sweep_abandoned
from promptgen.services.retention import claim_run, purge_expired
from promptgen.services.throttles import purge_stale_throttles
from promptgen.settings import Settings, get_settings

log = logging.getLogger(__name__)
SWEEP_INTERVAL_S = 300


async def sweep_abandoned_generations() -> None:
    """Refund generations left pending by a crashed process, at start and every 5 minutes;
    drop sign-in and sign-up counters whose window is over on the same beat."""
    while True:
        try:
            await run_in_admin_session(sweep_abandoned, older_than=abandoned_after())
        except Exception:  # a database hiccup must not end the loop
            log.exception("sweeping abandoned generations failed")
        try:
            await run_in_admin_session(purge_stale_throttles)
        except Exception:
            log.exception("purging stale throttles failed")
        await asyncio.sleep(SWEEP_INTERVAL_S)


PURGE_JOB = "retention-purge"


async def _purge_job() -> None:
    try:
        # Every worker of every instance fires at the same minute: the first to claim the
        # day's run does it (the advisory lock inside also keeps a CLI purge apart).
        claimed = await run_in_session(
            claim_run, name=PURGE_JOB, now=datetime.now(UTC), not_within=timedelta(hours=12)
        )
        if not claimed:
            log.info("retention purge: already run by another worker")
            return
        report = await asyncio.to_thread(purge_expired)
    except Exception:
        log.exception("retention purge failed")
        return
    log.info("retention purge: %s", report.summary().replace("\n", "; "))


def retention_scheduler(settings: Settings | None = None) -> AsyncIOScheduler:
    """The scheduler holding the daily purge at PURGE_HOUR:PURGE_MINUTE in PURGE_TIMEZONE."""
    settings = settings or get_settings()
    scheduler = AsyncIOScheduler()
    scheduler.add_job(
        _purge_job,
        CronTrigger(
            hour=settings.purge_hour, minute=settings.purge_minute, timezone=settings.purge_timezone
        ),
        id=PURGE_JOB,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=3600,
    )
    return scheduler


async def retention_schedule() -> None:
    """Run the daily retention purge. Every worker schedules it; the day's run is claimed
    once in `job_runs`, so exactly one of them runs it."""
    scheduler = retention_scheduler()
    scheduler.start()
    try:
        await asyncio.Event().wait()  # until the app shuts down
    finally:
        scheduler.shutdown(wait=False)
