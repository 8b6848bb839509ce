"""Coalescing a generation's streamed text before it goes to the page.

Providers send a delta per token, often hundreds a second. Each state change in a Reflex
event is a websocket message and a React render, so the dashboard hands deltas to a
`DeltaCoalescer`, which sends at most one update per `COALESCE_S` (30 ms): the first delta
after a quiet interval goes out at once (the answer starts showing without waiting, and an
answer that arrives whole, such as the offline compiler's, shows as soon as it exists);
every delta that follows within the interval joins one batch, sent when the interval since
the last update is over. `aclose` sends what is left at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

COALESCE_S = 0.03


class DeltaCoalescer:
    def __init__(
        self, flush: Callable[[str], Awaitable[None]], interval_s: float = COALESCE_S
    ) -> None:
        self._flush = flush
        self._interval_s = interval_s
        self._parts: list[str] = []
        self._timer: asyncio.Task[None] | None = None
        self._waiting = False  # the timer is still in its sleep (not sending yet)
        self._lock = asyncio.Lock()  # one flush at a time, in arrival order
        self._last_flush = float("-inf")  # loop time of the last update sent
        self.flushes = 0

    async def add(self, text: str) -> None:
        self._parts.append(text)
        if self._timer is None or self._timer.done():
            # A task, not an await: the provider's stream is never held up by the page.
            loop = asyncio.get_running_loop()
            wait = max(0.0, self._last_flush + self._interval_s - loop.time())
            self._timer = loop.create_task(self._flush_later(wait))

    async def _flush_later(self, wait_s: float) -> None:
        if wait_s > 0:
            self._waiting = True
            try:
                await asyncio.sleep(wait_s)
            finally:
                self._waiting = False
        await self._send()

    async def _send(self) -> None:
        async with self._lock:
            if not self._parts:
                return
            text, self._parts = "".join(self._parts), []
            self._last_flush = asyncio.get_running_loop().time()
            self.flushes += 1
            await self._flush(text)

    async def aclose(self) -> None:
        """Send whatever is waiting now (the stream ended, failed or was cancelled)."""
        timer = self._timer
        if timer is not None and not timer.done():
            if self._waiting:
                timer.cancel()  # no need to wait out the interval
            # A timer already sending finishes: cancelling it could drop its batch.
            with contextlib.suppress(asyncio.CancelledError):
                await timer
        await self._send()
