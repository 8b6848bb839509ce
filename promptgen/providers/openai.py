"""OpenAI (and any OpenAI-compatible server) through the official async SDK, streamed."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from promptgen.providers.base import (
    PROVIDER_NAMES,
    Completed,
    ProviderConfig,
    ProviderError,
    ProviderName,
    ProviderRequest,
    TextDelta,
    content_blocked,
    error_for_status,
    timed_out,
    unavailable,
)
from promptgen.providers.http import per_loop, ssl_context

NAME = PROVIDER_NAMES[ProviderName.OPENAI]


def _messages(request: ProviderRequest) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = [{"type": "text", "text": request.prompt}]
    for image in request.images:
        encoded = base64.b64encode(image.data).decode()
        content.append(
            {"type": "image_url", "image_url": {"url": f"data:{image.mime_type};base64,{encoded}"}}
        )
    messages: list[dict[str, Any]] = []
    if request.instructions:
        messages.append({"role": "system", "content": request.instructions})
    messages.append({"role": "user", "content": content})
    return messages


def _translate(exc: Exception, *, model_name: str, timeout_s: float) -> ProviderError:
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return timed_out(NAME, timeout_s)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return unavailable(NAME)
    if isinstance(exc, openai.BadRequestError) and getattr(exc, "code", None) == "content_filter":
        return content_blocked(NAME)
    if isinstance(exc, openai.APIStatusError):
        return error_for_status(NAME, exc.status_code, model_name=model_name, timeout_s=timeout_s)
    return error_for_status(NAME, None, model_name=model_name, timeout_s=timeout_s)


def preload() -> None:
    """Load now what the SDK loads at its first call (its chat resources, the transport,
    the SSL context): seconds of CPU that would otherwise block a fresh worker's event loop
    while other tabs hold their state locks."""
    client = openai.AsyncOpenAI(
        api_key="preload",
        max_retries=0,
        http_client=openai.DefaultAsyncHttpxClient(verify=ssl_context()),
    )
    _ = client.chat.completions


class OpenAIProvider:
    name = NAME

    def _client(self, config: ProviderConfig) -> openai.AsyncOpenAI:
        # Retries are ours (one, for 5xx, in providers.stream_with_retry), not the SDK's.
        return openai.AsyncOpenAI(
            api_key=config.api_key,
            base_url=config.base_url,
            timeout=config.timeout_s,
            max_retries=0,
            http_client=per_loop(
                "openai", lambda: openai.DefaultAsyncHttpxClient(verify=ssl_context())
            ),
        )

    async def stream(
        self, request: ProviderRequest, config: ProviderConfig
    ) -> AsyncIterator[TextDelta | Completed]:
        client = self._client(config)
        usage = None
        try:
            stream = await client.chat.completions.create(
                model=request.model_name,
                messages=cast("list[ChatCompletionMessageParam]", _messages(request)),
                stream=True,
                stream_options={"include_usage": True},
            )
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = chunk.usage
                for choice in chunk.choices:
                    if choice.delta and choice.delta.content:
                        yield TextDelta(choice.delta.content)
                    if choice.finish_reason == "content_filter":
                        raise content_blocked(NAME)
        except (openai.OpenAIError, httpx.HTTPError, TimeoutError) as exc:
            # from None: the SDK exception (with its request) goes no further.
            raise _translate(
                exc, model_name=request.model_name, timeout_s=config.timeout_s
            ) from None
        yield Completed(
            input_tokens=usage.prompt_tokens if usage else None,
            output_tokens=usage.completion_tokens if usage else None,
        )

    async def check_key(self, config: ProviderConfig) -> None:
        client = self._client(config)
        try:
            await client.models.list()
        except openai.OpenAIError as exc:
            raise _translate(exc, model_name="", timeout_s=config.timeout_s) from None
