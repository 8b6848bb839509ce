"""Coalescing a generation's streamed text before it goes to the page.

Providers send a delta per token, often hundreds a second. Each state change in a Reflex
event is a websocket message and a React render, so the dashboard hands deltas to a
`DeltaCoalescer`: the first delta of a batch starts a short timer (`COALESCE_S`), every
delta until it fires joins the batch, and the batch reaches the page as one update. The
page still sees text within about 30 ms of its arrival; `aclose` sends what is left at once.
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
        self._lock = asyncio.Lock()  # one flush at a time, in arrival order
        self.flushes = 0

    async def add(self, text: str) -> None:
        self._parts.append(text)
        if self._timer is None or self._timer.done():
            self._timer = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(self._interval_s)
        await self._send()

    async def _send(self) -> None:
        async with self._lock:
            if not self._parts:
                return
            text, self._parts = "".join(self._parts), []
            self.flushes += 1
            await self._flush(text)

    async def aclose(self) -> None:
        """Send whatever is waiting now (the stream ended, failed or was cancelled)."""
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self._send()
