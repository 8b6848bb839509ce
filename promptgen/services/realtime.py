"""Which browser tabs each user has open, so a server-side change can reach them live.

Pages register their Reflex client token on load. With REDIS_URL the registry lives in Redis,
shared by every backend worker (a webhook may land on a worker other than the one holding a
tab's websocket); without it, in this process (one worker). Entries expire after a day
without a page load, and a token whose tab now belongs to someone else is dropped on use.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Protocol

from redis.asyncio import Redis

from promptgen.settings import get_settings

TAB_TTL_S = 24 * 3600
_KEY = "promptgen:tabs:{user_id}"


class TabRegistry(Protocol):
    async def register(self, user_id: uuid.UUID, token: str) -> None: ...
    async def forget(self, user_id: uuid.UUID, token: str) -> None: ...
    async def tokens(self, user_id: uuid.UUID) -> list[str]: ...


class MemoryTabRegistry:
    def __init__(self) -> None:
        self._tabs: dict[uuid.UUID, dict[str, float]] = {}

    async def register(self, user_id: uuid.UUID, token: str) -> None:
        self._tabs.setdefault(user_id, {})[token] = time.time() + TAB_TTL_S

    async def forget(self, user_id: uuid.UUID, token: str) -> None:
        self._tabs.get(user_id, {}).pop(token, None)

    async def tokens(self, user_id: uuid.UUID) -> list[str]:
        now = time.time()
        tabs = self._tabs.get(user_id, {})
        for token in [t for t, expires in tabs.items() if expires < now]:
            del tabs[token]
        return list(tabs)


class RedisTabRegistry:
    """A sorted set per user: token -> expiry time."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._clients: dict[asyncio.AbstractEventLoop, Redis] = {}

    def _redis(self) -> Redis:
        # redis.asyncio clients are bound to the event loop that first used them.
        loop = asyncio.get_running_loop()
        if loop not in self._clients:
            self._clients[loop] = Redis.from_url(self._url)
        return self._clients[loop]

    async def register(self, user_id: uuid.UUID, token: str) -> None:
        key = _KEY.format(user_id=user_id)
        redis = self._redis()
        async with redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {token: time.time() + TAB_TTL_S})
            pipe.expire(key, TAB_TTL_S)
            await pipe.execute()

    async def forget(self, user_id: uuid.UUID, token: str) -> None:
        await self._redis().zrem(_KEY.format(user_id=user_id), token)

    async def tokens(self, user_id: uuid.UUID) -> list[str]:
        key = _KEY.format(user_id=user_id)
        redis = self._redis()
        await redis.zremrangebyscore(key, "-inf", time.time())
        return [t.decode() if isinstance(t, bytes) else t for t in await redis.zrange(key, 0, -1)]


_registry: TabRegistry | None = None


def tab_registry() -> TabRegistry:
    global _registry
    if _registry is None:
        redis_url = get_settings().redis_url
        _registry = RedisTabRegistry(redis_url) if redis_url else MemoryTabRegistry()
    return _registry


# --- cancelling a generation from any instance ----------------------------------------------
#
# A generation runs as a task in the process whose websocket started it. The tab's Cancel may
# reach another instance (its websocket reconnected elsewhere behind a load balancer): the
# request travels on a Redis channel every instance listens to, and the instance running the
# tab's generation cancels it there, which stops the provider stream and refunds as usual.

CANCEL_CHANNEL = "promptgen:cancel-generation"
_running: dict[str, asyncio.Task] = {}
log = logging.getLogger(__name__)


def register_run(tab_token: str, task: asyncio.Task) -> None:
    """The generation `task` runs for the tab `tab_token` in this process."""
    _running[tab_token] = task


def forget_run(tab_token: str, task: asyncio.Task) -> None:
    if _running.get(tab_token) is task:
        del _running[tab_token]


def cancel_local_run(tab_token: str) -> bool:
    task = _running.get(tab_token)
    if task is None or task.done():
        return False
    task.cancel()
    return True


async def request_cancel(tab_token: str) -> None:
    """Cancel the tab's running generation, in this process or (with REDIS_URL) any other."""
    if cancel_local_run(tab_token):
        return
    redis_url = get_settings().redis_url
    if redis_url:
        client = Redis.from_url(redis_url)
        try:
            await client.publish(CANCEL_CHANNEL, tab_token)
        finally:
            await client.aclose()


async def listen_for_cancels() -> None:
    """Lifespan task: cancel this process's runs that another instance was asked to stop."""
    redis_url = get_settings().redis_url
    if not redis_url:
        return
    while True:
        client = Redis.from_url(redis_url)
        try:
            async with client.pubsub() as pubsub:
                await pubsub.subscribe(CANCEL_CHANNEL)
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    token = message["data"]
                    token = token.decode() if isinstance(token, bytes) else str(token)
                    if cancel_local_run(token):
                        log.info("cancelled a generation on request from another instance")
        except asyncio.CancelledError:
            raise
        except Exception:  # Redis restarting: listen again shortly
            log.warning("cancel listener lost Redis; reconnecting", exc_info=True)
            await asyncio.sleep(1)
        finally:
            await client.aclose()
