"""The fake providers against the real OpenAI and google-genai SDK clients (no SDK mocking)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Iterator

import httpx
import openai
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from tests.support.fake_providers import DEFAULT_KEY, FakeGemini, FakeOpenAI

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="module")
def fake_gemini_server() -> Iterator[FakeGemini]:
    with FakeGemini() as fake:
        yield fake


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    fake_openai_server.reset()
    fake_openai_server.reply = None
    fake_openai_server.chunks = 3
    yield fake_openai_server
    fake_openai_server.reset()


@pytest.fixture
def fake_gemini(fake_gemini_server: FakeGemini) -> Iterator[FakeGemini]:
    fake_gemini_server.reset()
    fake_gemini_server.reply = None
    fake_gemini_server.chunks = 3
    yield fake_gemini_server
    fake_gemini_server.reset()


def openai_client(fake: FakeOpenAI, key: str = DEFAULT_KEY) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key=key, base_url=fake.url + "/v1", max_retries=0)


@pytest.fixture
async def oai(fake_openai: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai_client(fake_openai)
    yield client
    await client.close()


def gemini_client(fake: FakeGemini, key: str = DEFAULT_KEY) -> genai.Client:
    # retry_options=None (the default) is google-genai's "never retry": one attempt only.
    return genai.Client(
        api_key=key, http_options=types.HttpOptions(base_url=fake.url, retry_options=None)
    )


@pytest.fixture
async def gem(fake_gemini: FakeGemini) -> AsyncIterator[genai.client.AsyncClient]:
    client = gemini_client(fake_gemini)
    yield client.aio
    await client.aio.aclose()


USER = [
    {"role": "system", "content": "You refine prompts."},
    {"role": "user", "content": "a cat on a mat"},
]


# -- OpenAI ---------------------------------------------------------------------------------


async def test_openai_chat_completion(oai: openai.AsyncOpenAI, fake_openai: FakeOpenAI) -> None:
    completion = await oai.chat.completions.create(model="gpt-4.1-mini", messages=USER)

    assert completion.object == "chat.completion"
    assert completion.model == "gpt-4.1-mini"
    assert completion.choices[0].message.role == "assistant"
    assert completion.choices[0].message.content == "Refined: a cat on a mat"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 8  # "You refine prompts." + "a cat on a mat"
    assert completion.usage.completion_tokens == 6  # "Refined: a cat on a mat"
    assert completion.usage.total_tokens == 14

    [request] = fake_openai.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == f"Bearer {DEFAULT_KEY}"
    assert request.json["messages"] == USER


async def test_openai_stream_with_usage(oai: openai.AsyncOpenAI, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = "one two three four"
    fake_openai.chunks = 4
    stream = await oai.chat.completions.create(
        model="gpt-4.1",
        messages=USER,
        stream=True,
        stream_options={"include_usage": True},
    )
    pieces, finish, usage, roles = [], None, None, []
    async for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        if chunk.usage is not None:
            usage = chunk.usage
            assert chunk.choices == []
            continue
        choice = chunk.choices[0]
        if choice.delta.role:
            roles.append(choice.delta.role)
        if choice.delta.content:
            pieces.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason

    assert "".join(pieces) == "one two three four"
    assert len(pieces) == 4
    assert roles == ["assistant"]
    assert finish == "stop"
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (8, 4, 12)
    assert fake_openai.requests[-1].json["stream"] is True


async def test_openai_stream_helper_final_message(oai: openai.AsyncOpenAI) -> None:
    async with oai.chat.completions.stream(model="gpt-4.1-mini", messages=USER) as stream:
        async for _event in stream:
            pass
        final = await stream.get_final_completion()
    assert final.choices[0].message.content == "Refined: a cat on a mat"


async def test_openai_models_list(oai: openai.AsyncOpenAI) -> None:
    ids = [model.id async for model in oai.models.list()]
    assert sorted(ids) == ["gpt-4.1", "gpt-4.1-mini"]


async def test_openai_bad_key_is_authentication_error(fake_openai: FakeOpenAI) -> None:
    client = openai_client(fake_openai, key="sk-wrong-key-123456")
    with pytest.raises(openai.AuthenticationError) as info:
        await client.chat.completions.create(model="gpt-4.1-mini", messages=USER)
    await client.close()
    assert info.value.status_code == 401
    assert info.value.code == "invalid_api_key"


async def test_openai_rate_limit(oai: openai.AsyncOpenAI, fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(429)
    with pytest.raises(openai.RateLimitError) as info:
        await oai.chat.completions.create(model="gpt-4.1-mini", messages=USER)
    assert info.value.code == "rate_limit_exceeded"
    # Only the next request failed.
    ok = await oai.chat.completions.create(model="gpt-4.1-mini", messages=USER)
    assert ok.choices[0].message.content == "Refined: a cat on a mat"


async def test_openai_server_errors(oai: openai.AsyncOpenAI, fake_openai: FakeOpenAI) -> None:
    fake_openai.fail_next(503, times=2)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await oai.chat.completions.create(model="gpt-4.1-mini", messages=USER, stream=True)
    fake_openai.fail_next(400)
    with pytest.raises(openai.BadRequestError):
        await oai.chat.completions.create(model="gpt-4.1-mini", messages=USER)


async def test_openai_unknown_model(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as info:
        await oai.chat.completions.create(model="gpt-9", messages=USER)
    assert info.value.code == "model_not_found"


async def test_openai_block_next(oai: openai.AsyncOpenAI, fake_openai: FakeOpenAI) -> None:
    fake_openai.block_next()
    with pytest.raises(openai.BadRequestError) as info:
        await oai.chat.completions.create(model="gpt-4.1-mini", messages=USER)
    assert info.value.code == "content_filter"


async def test_openai_image_url_recorded(oai: openai.AsyncOpenAI, fake_openai: FakeOpenAI) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    completion = await oai.chat.completions.create(
        model="gpt-4.1-mini",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "describe this"},
                    {"type": "image_url", "image_url": {"url": data_url}},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == "Refined: describe this"
    parts = fake_openai.requests[-1].json["messages"][0]["content"]
    assert parts[1] == {"type": "image_url", "image_url": {"url": data_url}}


async def test_openai_concurrent_requests(fake_openai: FakeOpenAI) -> None:
    fake_openai.latency_s = 0.2
    client = openai_client(fake_openai)
    try:
        results = await asyncio.gather(
            *(
                client.chat.completions.create(
                    model="gpt-4.1-mini", messages=[{"role": "user", "content": f"n{i}"}]
                )
                for i in range(120)
            )
        )
    finally:
        fake_openai.latency_s = 0.0
        await client.close()
    assert sorted(r.choices[0].message.content for r in results) == sorted(
        f"Refined: n{i}" for i in range(120)
    )
    assert len(fake_openai.requests) == 120


# -- Gemini ---------------------------------------------------------------------------------


async def test_gemini_generate_content(gem, fake_gemini: FakeGemini) -> None:
    response = await gem.models.generate_content(
        model="gemini-2.5-flash",
        contents="a cat on a mat",
        config=types.GenerateContentConfig(system_instruction="You refine prompts."),
    )
    assert response.text == "Refined: a cat on a mat"
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.model_version == "gemini-2.5-flash"
    usage = response.usage_metadata
    assert (usage.prompt_token_count, usage.candidates_token_count) == (8, 6)
    assert usage.total_token_count == 14

    [request] = fake_gemini.requests
    assert request.method == "POST"
    assert request.path.endswith("/models/gemini-2.5-flash:generateContent")
    assert request.headers["x-goog-api-key"] == DEFAULT_KEY
    assert request.json["contents"][0]["parts"][0]["text"] == "a cat on a mat"


async def test_gemini_generate_content_stream(gem, fake_gemini: FakeGemini) -> None:
    fake_gemini.reply = "one two three four"
    fake_gemini.chunks = 4
    texts, usage, finish = [], None, None
    async for chunk in await gem.models.generate_content_stream(
        model="gemini-2.5-pro", contents="a cat on a mat"
    ):
        texts.append(chunk.text)
        assert chunk.usage_metadata is not None
        usage = chunk.usage_metadata
        if chunk.candidates[0].finish_reason:
            finish = chunk.candidates[0].finish_reason
    assert "".join(texts) == "one two three four"
    assert len(texts) == 4
    assert finish == types.FinishReason.STOP
    assert (usage.prompt_token_count, usage.candidates_token_count) == (5, 4)
    assert usage.total_token_count == 9
    request = fake_gemini.requests[-1]
    assert request.path == "/v1/models/gemini-2.5-pro:streamGenerateContent"  # SDK default: v1
    assert request.path.endswith("/models/gemini-2.5-pro:streamGenerateContent")
    assert request.query == {"alt": "sse"}


async def test_gemini_models_list(gem) -> None:
    names = [model.name async for model in await gem.models.list()]
    assert sorted(names) == ["models/gemini-2.5-flash", "models/gemini-2.5-pro"]


async def test_gemini_bad_key_is_400_api_key_invalid(fake_gemini: FakeGemini) -> None:
    client = gemini_client(fake_gemini, key="AIza-wrong")
    with pytest.raises(genai_errors.ClientError) as info:
        await client.aio.models.generate_content(model="gemini-2.5-flash", contents="hi")
    await client.aio.aclose()
    assert info.value.code == 400
    assert info.value.status == "INVALID_ARGUMENT"
    assert info.value.message == "API key not valid. Please pass a valid API key."
    assert info.value.details["error"]["details"][0]["reason"] == "API_KEY_INVALID"


async def test_gemini_key_as_query_param(fake_gemini: FakeGemini) -> None:
    async with httpx.AsyncClient(base_url=fake_gemini.url) as http:
        response = await http.post(
            "/v1beta/models/gemini-2.5-flash:generateContent",
            params={"key": DEFAULT_KEY},
            json={"contents": [{"role": "user", "parts": [{"text": "x"}]}]},
        )
        missing = await http.get("/v1beta/models")
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == "Refined: x"
    assert missing.status_code == 403
    assert missing.json()["error"]["status"] == "PERMISSION_DENIED"


async def test_gemini_rate_limit(gem, fake_gemini: FakeGemini) -> None:
    fake_gemini.fail_next(429)
    with pytest.raises(genai_errors.ClientError) as info:
        await gem.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert info.value.code == 429
    assert info.value.status == "RESOURCE_EXHAUSTED"
    ok = await gem.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert ok.text == "Refined: hi"


async def test_gemini_unavailable_is_server_error(gem, fake_gemini: FakeGemini) -> None:
    fake_gemini.fail_next(503, times=2)
    with pytest.raises(genai_errors.ServerError) as info:
        await gem.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert info.value.code == 503
    assert info.value.status == "UNAVAILABLE"
    with pytest.raises(genai_errors.ServerError):
        async for _chunk in await gem.models.generate_content_stream(
            model="gemini-2.5-flash", contents="hi"
        ):
            pass


async def test_gemini_unknown_model(gem) -> None:
    with pytest.raises(genai_errors.ClientError) as info:
        await gem.models.generate_content(model="gemini-9", contents="hi")
    assert info.value.code == 404
    assert info.value.status == "NOT_FOUND"


async def test_gemini_block_next(gem, fake_gemini: FakeGemini) -> None:
    fake_gemini.block_next(times=2)
    response = await gem.models.generate_content(model="gemini-2.5-flash", contents="bad")
    assert response.prompt_feedback.block_reason == types.BlockedReason.SAFETY
    assert not response.candidates
    assert response.text is None
    chunks = [
        chunk
        async for chunk in await gem.models.generate_content_stream(
            model="gemini-2.5-flash", contents="bad"
        )
    ]
    assert [c.prompt_feedback.block_reason for c in chunks] == [types.BlockedReason.SAFETY]


async def test_gemini_image_recorded_as_inline_data(gem, fake_gemini: FakeGemini) -> None:
    response = await gem.models.generate_content(
        model="gemini-2.5-flash",
        contents=[
            types.Part.from_bytes(data=PNG, mime_type="image/png"),
            "describe this",
        ],
    )
    assert response.text == "Refined: describe this"
    parts = fake_gemini.requests[-1].json["contents"][0]["parts"]
    inline = next(p["inlineData"] for p in parts if "inlineData" in p)
    # google-genai 3.6 camel-cases `inlineData` but sends its field as `mime_type`; the real
    # API (proto JSON) accepts either spelling.
    assert inline.get("mimeType", inline.get("mime_type")) == "image/png"
    assert base64.b64decode(inline["data"]) == PNG


async def test_gemini_concurrent_streams(fake_gemini: FakeGemini) -> None:
    fake_gemini.latency_s = 0.2
    client = gemini_client(fake_gemini)

    async def one(i: int) -> str:
        stream = await client.aio.models.generate_content_stream(
            model="gemini-2.5-flash", contents=f"n{i}"
        )
        return "".join([chunk.text async for chunk in stream])

    try:
        results = await asyncio.gather(*(one(i) for i in range(120)))
    finally:
        fake_gemini.latency_s = 0.0
        await client.aio.aclose()
    assert sorted(results) == sorted(f"Refined: n{i}" for i in range(120))
