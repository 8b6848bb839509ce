"""Background jobs run in the app's lifespan. Plain asyncio: no reflex imports."""

from __future__ import annotations

import asyncio
import logging

from promptgen.db import run_in_session
from promptgen.services.generation import abandoned_after, sweep_abandoned

log = logging.getLogger(__name__)
SWEEP_INTERVAL_S = 300


async def sweep_abandoned_generations() -> None:
    """Refund generations left pending by a crashed process, at start and every 5 minutes."""
    while True:
        try:
            await run_in_session(sweep_abandoned, older_than=abandoned_after())
        except Exception:  # a database hiccup must not end the loop
            log.exception("sweeping abandoned generations failed")
        await asyncio.sleep(SWEEP_INTERVAL_S)
