"""Google Gemini through the official google-genai SDK (async client), streamed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from google import genai
from google.genai import errors, types

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
    key_rejected,
    timed_out,
    unavailable,
)
from promptgen.providers.http import per_loop, process_wide, ssl_context

NAME = PROVIDER_NAMES[ProviderName.GEMINI]
_BLOCKED_FINISH = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "IMAGE_SAFETY"}


def _contents(request: ProviderRequest) -> list[types.Content]:
    parts = [types.Part.from_text(text=request.prompt)]
    parts += [types.Part.from_bytes(data=i.data, mime_type=i.mime_type) for i in request.images]
    return [types.Content(role="user", parts=parts)]


def _translate(exc: Exception, *, model_name: str, timeout_s: float) -> ProviderError:
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        return timed_out(NAME, timeout_s)
    if isinstance(exc, httpx.TransportError):
        return unavailable(NAME)
    if isinstance(exc, errors.APIError):
        # Gemini answers a bad key with 400 INVALID_ARGUMENT "API key not valid".
        text = f"{exc.status or ''} {exc.message or ''} {exc.details or ''}"
        if exc.code == 400 and ("API_KEY_INVALID" in text or "API key not valid" in text):
            return key_rejected(NAME)
        return error_for_status(NAME, exc.code, model_name=model_name, timeout_s=timeout_s)
    return error_for_status(NAME, None, model_name=model_name, timeout_s=timeout_s)


def _blocked(response: types.GenerateContentResponse) -> bool:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        return True
    for candidate in response.candidates or []:
        reason = candidate.finish_reason
        if reason is not None and str(getattr(reason, "value", reason)) in _BLOCKED_FINISH:
            return True
    return False


def preload() -> None:
    """Like openai.preload: the async client's model resources, loaded on first use."""
    options = types.HttpOptions(
        httpx_async_client=httpx.AsyncClient(verify=ssl_context()),
        httpx_client=process_wide("gemini-sync", lambda: httpx.Client(verify=ssl_context())),
    )
    _ = genai.Client(api_key="preload", http_options=options).aio.models


class GeminiProvider:
    name = NAME

    def _client(self, config: ProviderConfig) -> genai.Client:
        options = types.HttpOptions(
            base_url=config.base_url or None,
            timeout=int(config.timeout_s * 1000),
            # Retries are ours (one, for 5xx, in providers.stream_with_retry).
            retry_options=types.HttpRetryOptions(attempts=1),
            httpx_async_client=per_loop("gemini", lambda: httpx.AsyncClient(verify=ssl_context())),
            httpx_client=process_wide("gemini-sync", lambda: httpx.Client(verify=ssl_context())),
            async_client_args={"ssl": ssl_context()},
        )
        return genai.Client(api_key=config.api_key, http_options=options)

    async def stream(
        self, request: ProviderRequest, config: ProviderConfig
    ) -> AsyncIterator[TextDelta | Completed]:
        client = self._client(config)
        usage = None
        try:
            stream = await client.aio.models.generate_content_stream(
                model=request.model_name,
                contents=_contents(request),
                config=types.GenerateContentConfig(system_instruction=request.instructions or None),
            )
            async for response in stream:
                if _blocked(response):
                    raise content_blocked(NAME)
                if response.usage_metadata is not None:
                    usage = response.usage_metadata
                for candidate in response.candidates or []:
                    for part in (candidate.content.parts if candidate.content else None) or []:
                        if part.text and not part.thought:
                            yield TextDelta(part.text)
        except (errors.APIError, httpx.HTTPError, TimeoutError) as exc:
            # from None: the SDK exception (with its request) goes no further.
            raise _translate(
                exc, model_name=request.model_name, timeout_s=config.timeout_s
            ) from None
        yield Completed(
            input_tokens=usage.prompt_token_count if usage else None,
            output_tokens=usage.candidates_token_count if usage else None,
        )

    async def check_key(self, config: ProviderConfig) -> None:
        client = self._client(config)
        try:
            pager = await client.aio.models.list(config={"page_size": 1})
            async for _model in pager:
                break
        except (errors.APIError, httpx.HTTPError) as exc:
            raise _translate(exc, model_name="", timeout_s=config.timeout_s) from None
