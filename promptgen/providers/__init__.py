"""Model providers behind one small interface (see base.py). Only this package imports
the AI SDKs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from promptgen.providers.base import (
    Completed,
    ImageInput,
    Provider,
    ProviderConfig,
    ProviderError,
    ProviderName,
    ProviderRequest,
    TextDelta,
)

__all__ = [
    "Completed",
    "ImageInput",
    "Provider",
    "ProviderConfig",
    "ProviderError",
    "ProviderName",
    "ProviderRequest",
    "TextDelta",
    "get_provider",
    "preload_sdks",
    "stream_with_retry",
]

RETRY_BACKOFF_S = 0.5


def get_provider(name: str) -> Provider:
    """The provider for a model row's `provider` column."""
    if name == ProviderName.OPENAI:
        from promptgen.providers.openai import OpenAIProvider

        return OpenAIProvider()
    if name == ProviderName.GEMINI:
        from promptgen.providers.gemini import GeminiProvider

        return GeminiProvider()
    if name == ProviderName.OFFLINE:
        from promptgen.providers.offline import OfflineProvider

        return OfflineProvider()
    raise LookupError(f"unknown provider {name!r}")


def preload_sdks() -> None:
    """Import the AI SDKs and what their first call loads. Imported at a first generation
    instead, they held a fresh worker's event loop for seconds (more on a busy machine), and
    tabs holding their state lock meanwhile lost it (Reflex's LockExpiredError): the app
    calls this at import, so workers forked from it share the loaded modules."""
    from promptgen.providers import gemini, http, openai

    http.preload_transport()
    openai.preload()
    gemini.preload()


async def stream_with_retry(
    provider: Provider,
    request: ProviderRequest,
    config: ProviderConfig,
    *,
    backoff_s: float = RETRY_BACKOFF_S,
) -> AsyncIterator[TextDelta | Completed]:
    """Stream from the provider; a retryable failure (5xx) before any text arrived is
    retried once after a short back-off. The caller applies the overall timeout (a timeout
    inside an async generator would fire in whatever the consumer is awaiting)."""
    attempts = 2
    for attempt in range(1, attempts + 1):
        produced = False
        try:
            async for item in provider.stream(request, config):
                produced = True
                yield item
            return
        except ProviderError as exc:
            if not exc.retryable or produced or attempt == attempts:
                raise
        await asyncio.sleep(backoff_s * attempt)
