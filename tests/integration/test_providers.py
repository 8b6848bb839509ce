"""Our providers, through the real SDKs, against the fake Gemini and OpenAI servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from promptgen.providers import (
    Completed,
    ImageInput,
    ProviderConfig,
    ProviderRequest,
    TextDelta,
    get_provider,
    stream_with_retry,
)
from promptgen.providers.base import (
    ContentBlocked,
    KeyRejected,
    ModelNotFound,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
)
from tests.support.fake_providers import DEFAULT_KEY, FakeGemini, FakeOpenAI

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
MODELS = {"openai": "gpt-4.1-mini", "gemini": "gemini-2.5-flash"}


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeOpenAI | FakeGemini]]:
    with FakeOpenAI() as openai_fake, FakeGemini() as gemini_fake:
        yield {"openai": openai_fake, "gemini": gemini_fake}


@pytest.fixture(params=["openai", "gemini"])
def provider_name(request: pytest.FixtureRequest, fakes) -> Iterator[str]:
    fake = fakes[request.param]
    fake.reset()
    fake.latency_s = 0
    fake.reply = None
    yield request.param
    fake.reset()


def _config(fakes, name: str, key: str = DEFAULT_KEY, timeout_s: float = 10) -> ProviderConfig:
    base = fakes[name].url + ("/v1" if name == "openai" else "")
    return ProviderConfig(api_key=key, base_url=base, timeout_s=timeout_s)


async def _collect(name: str, config: ProviderConfig, request: ProviderRequest | None = None):
    request = request or ProviderRequest(
        model_name=MODELS[name], prompt="a red bicycle at dawn", instructions="Refine it."
    )
    text, completed = "", None
    async for item in stream_with_retry(get_provider(name), request, config, backoff_s=0.01):
        if isinstance(item, TextDelta):
            text += item.text
        else:
            assert isinstance(item, Completed)
            completed = item
    return text, completed


async def test_streams_text_and_token_usage(fakes, provider_name: str) -> None:
    text, completed = await _collect(provider_name, _config(fakes, provider_name))
    assert text == "Refined: a red bicycle at dawn"
    assert completed.input_tokens and completed.input_tokens > 0
    assert completed.output_tokens == 6  # the fakes count words


async def test_images_travel_in_the_providers_native_format(fakes, provider_name: str) -> None:
    request = ProviderRequest(
        model_name=MODELS[provider_name],
        prompt="match this",
        images=(ImageInput("image/png", PNG),),
    )
    await _collect(provider_name, _config(fakes, provider_name), request)
    body = str(fakes[provider_name].requests[-1].json)
    if provider_name == "openai":
        assert "data:image/png;base64," in body
    else:
        assert "inlineData" in body or "inline_data" in body


@pytest.mark.parametrize(
    ("arrange", "error", "fragment"),
    [
        (lambda fake: None, KeyRejected, "rejected the API key"),
        (lambda fake: fake.fail_next(429), RateLimited, "rate limiting"),
        (lambda fake: fake.block_next(), ContentBlocked, "safety filter"),
        (lambda fake: fake.fail_next(503, times=2), ProviderUnavailable, "unavailable"),
    ],
    ids=["bad-key", "rate-limited", "blocked", "unavailable"],
)
async def test_failures_become_clear_messages(
    fakes, provider_name: str, arrange, error: type[ProviderError], fragment: str
) -> None:
    fake = fakes[provider_name]
    arrange(fake)
    key = "sk-wrong-key-000000000000" if error is KeyRejected else DEFAULT_KEY
    with pytest.raises(error) as caught:
        await _collect(provider_name, _config(fakes, provider_name, key=key))
    assert fragment in caught.value.message
    assert key not in caught.value.message


async def test_unknown_model_is_reported(fakes, provider_name: str) -> None:
    request = ProviderRequest(model_name="no-such-model", prompt="x")
    with pytest.raises(ModelNotFound, match="no-such-model"):
        await _collect(provider_name, _config(fakes, provider_name), request)


async def test_a_5xx_is_retried_once(fakes, provider_name: str) -> None:
    fake = fakes[provider_name]
    fake.fail_next(503)
    text, _ = await _collect(provider_name, _config(fakes, provider_name))
    assert text.startswith("Refined:")
    generation_calls = [r for r in fake.requests if r.method == "POST"]
    assert len(generation_calls) == 2


async def test_check_key(fakes, provider_name: str) -> None:
    provider = get_provider(provider_name)
    await provider.check_key(_config(fakes, provider_name))
    with pytest.raises(KeyRejected):
        await provider.check_key(_config(fakes, provider_name, key="sk-bad-key-0000000000000"))


async def test_offline_provider_returns_the_compiled_prompt() -> None:
    text, completed = await _collect(
        "offline",
        ProviderConfig(api_key=None),
        ProviderRequest(model_name="blueprint-compiler", prompt="compiled text"),
    )
    assert text == "compiled text"
    assert completed == Completed()


def test_a_config_never_shows_its_key() -> None:
    config = ProviderConfig(api_key="sk-secret-value-1234", base_url="http://x")
    assert "sk-secret" not in repr(config) and "sk-secret" not in str(config)
