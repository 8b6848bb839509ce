"""The one small interface every model provider implements, and its errors.

A provider streams `TextDelta`s and ends with one `Completed` carrying token counts. It
never touches the database and never logs or repeats a key: errors carry only a message
that is safe to show the user.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from promptgen.errors import UserFacingError


class ProviderName(StrEnum):
    """A model's `provider` column and a stored key's provider (the values are stored)."""

    GEMINI = "gemini"
    OPENAI = "openai"
    OFFLINE = "offline"  # the built-in provider that needs no key


# How each provider that takes a key is named to users.
PROVIDER_NAMES: dict[str, str] = {
    ProviderName.GEMINI: "Google Gemini",
    ProviderName.OPENAI: "OpenAI",
}


@dataclass(frozen=True)
class ImageInput:
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class ProviderRequest:
    model_name: str
    prompt: str
    instructions: str = ""
    images: tuple[ImageInput, ...] = ()


@dataclass(frozen=True)
class ProviderConfig:
    api_key: str | None
    base_url: str | None = None
    timeout_s: float = 60.0

    def __repr__(self) -> str:  # a config may be logged by accident; its key must not be
        return f"ProviderConfig(base_url={self.base_url!r}, timeout_s={self.timeout_s})"


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class Completed:
    input_tokens: int | None = None
    output_tokens: int | None = None


class ProviderError(UserFacingError):
    """A failed provider call. `message` is written for the user; nothing raw or secret."""

    retryable = False


class KeyRejected(ProviderError):
    pass


class RateLimited(ProviderError):
    pass


class ContentBlocked(ProviderError):
    pass


class ProviderTimeout(ProviderError):
    pass


class ProviderUnavailable(ProviderError):
    retryable = True


class ModelNotFound(ProviderError):
    pass


class ProviderFailed(ProviderError):
    pass


def key_rejected(provider_name: str) -> KeyRejected:
    return KeyRejected(
        f"{provider_name} rejected the API key. Check the key in Settings, or ask the "
        "administrator to check the platform key."
    )


def rate_limited(provider_name: str) -> RateLimited:
    return RateLimited(
        f"{provider_name} is rate limiting requests right now. Wait a minute and try again."
    )


def content_blocked(provider_name: str) -> ContentBlocked:
    return ContentBlocked(
        f"{provider_name}'s safety filter blocked this prompt. Rephrase it and try again."
    )


def timed_out(provider_name: str, timeout_s: float) -> ProviderTimeout:
    return ProviderTimeout(
        f"{provider_name} did not answer within {timeout_s:g} seconds. Try again."
    )


def unavailable(provider_name: str) -> ProviderUnavailable:
    return ProviderUnavailable(
        f"{provider_name} is unavailable right now. Try again in a few minutes."
    )


def model_not_found(provider_name: str, model_name: str) -> ModelNotFound:
    return ModelNotFound(f"{provider_name} does not offer the model {model_name!r}.")


def failed(provider_name: str, status: int | None) -> ProviderFailed:
    detail = f" (HTTP {status})" if status else ""
    return ProviderFailed(f"{provider_name} could not complete the request{detail}.")


def error_for_status(
    provider_name: str, status: int | None, *, model_name: str, timeout_s: float
) -> ProviderError:
    """Map an HTTP status from a provider to the error the user sees."""
    if status in (401, 403):
        return key_rejected(provider_name)
    if status == 404:
        return model_not_found(provider_name, model_name)
    if status == 408:
        return timed_out(provider_name, timeout_s)
    if status == 429:
        return rate_limited(provider_name)
    if status is not None and status >= 500:
        return unavailable(provider_name)
    return failed(provider_name, status)


class Provider(Protocol):
    name: str  # shown to users: "Google Gemini", "OpenAI"

    def stream(
        self, request: ProviderRequest, config: ProviderConfig
    ) -> AsyncIterator[TextDelta | Completed]:
        """Stream the refined prompt: text deltas, then one Completed."""
        ...

    async def check_key(self, config: ProviderConfig) -> None:
        """The cheapest real call that proves the key works; raises KeyRejected if not."""
        ...
