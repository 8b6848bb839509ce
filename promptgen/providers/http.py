"""HTTP clients shared by provider calls.

Building an SDK client from scratch loads the CA bundle into a new SSL context (50-100 ms
of CPU on the event loop), so calls share one connection pool per event loop and one SSL
context per process. Keys still travel per request, in each SDK client's headers; the
shared pools hold no key.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import weakref
from collections.abc import Callable
from typing import Any

import certifi

_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Any]] = (
    weakref.WeakKeyDictionary()
)


@functools.cache
def ssl_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())


def preload_transport() -> None:
    """What an async httpx client loads at its first request (its connection pool and
    anyio's asyncio backend), and the SSL context."""
    import anyio._backends._asyncio  # noqa: F401
    import httpcore  # noqa: F401

    ssl_context()


def per_loop(name: str, factory: Callable[[], Any]) -> Any:
    """One `factory()` result per running event loop (async HTTP clients are loop-bound)."""
    loop = asyncio.get_running_loop()
    clients = _per_loop.setdefault(loop, {})
    if name not in clients:
        clients[name] = factory()
    return clients[name]


_process_wide: dict[str, Any] = {}


def process_wide(name: str, factory: Callable[[], Any]) -> Any:
    """One `factory()` result per process, for sync clients an SDK insists on building."""
    if name not in _process_wide:
        _process_wide[name] = factory()
    return _process_wide[name]
