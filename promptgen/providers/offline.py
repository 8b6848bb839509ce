"""The Blueprint compiler: no AI, no key. The compiled prompt is the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator

from promptgen.providers.base import Completed, ProviderConfig, ProviderRequest, TextDelta


class OfflineProvider:
    name = "Blueprint compiler"

    async def stream(
        self, request: ProviderRequest, config: ProviderConfig
    ) -> AsyncIterator[TextDelta | Completed]:
        yield TextDelta(request.prompt)
        yield Completed(input_tokens=None, output_tokens=None)

    async def check_key(self, config: ProviderConfig) -> None:
        return None
