"""Fake OpenAI and Google Gemini HTTP servers that speak the providers' real wire formats.

Point the real SDK clients at them in tests and benchmarks:

    with FakeOpenAI() as fake:
        client = openai.AsyncOpenAI(api_key="test-platform-key", base_url=fake.url + "/v1",
                                    max_retries=0)

    with FakeGemini() as fake:
        client = genai.Client(api_key="test-platform-key",
                              http_options=types.HttpOptions(base_url=fake.url)).aio

Both servers are stdlib `ThreadingHTTPServer`s on 127.0.0.1 (a free port, HTTP/1.1 with
keep-alive, one daemon thread per connection, a deep accept queue for 100+ concurrent
requests). Streamed answers use `Transfer-Encoding: chunked` and flush every SSE event as it is
produced.

Behaviour is set through plain attributes (`valid_keys`, `latency_s`, `chunk_delay_s`, `reply`,
`chunks`, `known_models`) and the `fail_next` / `block_next` queue; every request is recorded in
`requests` (a `RecordedRequest`: method, path without the query, lower-cased headers, query,
parsed JSON body).

SDK facts the fakes accommodate (openai 3.57, google-genai 3.6):
- openai sends `Authorization: Bearer KEY` to `{base_url}/chat/completions` and `/models`.
- google-genai sends the key as the `x-goog-api-key` header (the `?key=` query parameter is
  accepted too, like the real API). Its default API version is `v1` unless
  `HttpOptions(api_version=...)` or GOOGLE_GENAI_API_VERSION=beta says otherwise, so the fake
  serves `/v1/...`, `/v1beta/...` and `/v1alpha/...` alike. Streaming calls
  `models/{model}:streamGenerateContent?alt=sse`; models.list calls `GET models`.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from tests.support.local_http import QuietHandler, ServedFake

DEFAULT_KEY = "test-platform-key"


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # header names lower-cased
    json: Any  # the parsed body, or None when there was none (or it was not JSON)
    query: dict[str, str] = field(default_factory=dict)


class _Reply(Exception):
    """Raised inside a handler to answer at once with a JSON body."""

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


class _Handler(QuietHandler):
    server_version = "FakeProvider/1.0"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            json=body,
            query={k: v[-1] for k, v in parse_qs(split.query).items()},
        )
        fake._record(request)
        try:
            fake._handle(self, request)
        except _Reply as reply:
            self.send_json(reply.status, reply.body, reply.headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- response helpers used by the fakes --

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def send_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

    def end_stream(self) -> None:
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def count_words(text: str) -> int:
    """The fakes' deterministic token count: whitespace-separated words."""
    return len(text.split())


def split_text(text: str, pieces: int) -> list[str]:
    """Split `text` into at most `pieces` non-empty parts that concatenate back to it."""
    pieces = max(1, min(pieces, len(text)))
    if not text:
        return [""]
    bounds = [round(i * len(text) / pieces) for i in range(pieces + 1)]
    return [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]


class FakeProvider(ServedFake):
    """What both provider fakes share: settable behaviour and the request log."""

    HANDLER = _Handler

    DEFAULT_MODELS: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self.valid_keys: set[str] = {DEFAULT_KEY}
        self.latency_s: float = 0.0
        self.chunk_delay_s: float = 0.0  # slept between streamed events
        self.reply: str | None = None
        self.chunks: int = 3
        self.known_models: set[str] = set(self.DEFAULT_MODELS)
        self.requests: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._queue: deque[int | str] = deque()  # HTTP statuses, or "block"

    # -- behaviour --

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next `times` generation requests answer `status` with the real error JSON."""
        with self._lock:
            self._queue.extend([status] * times)

    def block_next(self, times: int = 1) -> None:
        """The next `times` generation requests are refused by the safety filter."""
        with self._lock:
            self._queue.extend(["block"] * times)

    def reset(self) -> None:
        """Forget queued failures/blocks and recorded requests (settings stay)."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_action(self) -> int | str | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def _answer_text(self, last_user_text: str) -> str:
        return self.reply if self.reply is not None else "Refined: " + last_user_text

    def _sleep(self) -> None:
        if self.latency_s > 0:
            time.sleep(self.latency_s)

    def _chunk_pause(self) -> None:
        if self.chunk_delay_s > 0:
            time.sleep(self.chunk_delay_s)

    def _handle(self, handler: _Handler, request: RecordedRequest) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------------------------------
# OpenAI
# ---------------------------------------------------------------------------------------------


def _openai_error(message: str, type_: str | None, code: str | None, param: str | None = None):
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


_OPENAI_ERRORS: dict[int, tuple[str, str | None, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: (
        "Incorrect API key provided. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        "invalid_request_error",
        "invalid_api_key",
    ),
    403: (
        "Country, region, or territory not supported",
        "request_forbidden",
        "unsupported_country_region_territory",
    ),
    404: ("The requested resource does not exist.", "invalid_request_error", None),
    429: (
        "Rate limit reached for requests. Please try again in 1s. Visit "
        "https://platform.openai.com/account/rate-limits to learn more.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        None,
    ),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
}

# OpenAI's safety refusal of a *prompt* is the Azure OpenAI content-management error: HTTP 400,
# code "content_filter", param "prompt", with the filter verdicts in `innererror`. (A refusal of
# the *completion* instead ends a 200 answer with finish_reason "content_filter"; the prompt
# refusal is the one that reaches callers as an error, so block_next produces it.)
_OPENAI_CONTENT_FILTER = {
    "error": {
        "message": (
            "The response was filtered due to the prompt triggering Azure OpenAI's content "
            "management policy. Please modify your prompt and retry. To learn more about our "
            "content filtering policies please read our documentation: "
            "https://go.microsoft.com/fwlink/?linkid=2198766"
        ),
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {
                "hate": {"filtered": False, "severity": "safe"},
                "self_harm": {"filtered": False, "severity": "safe"},
                "sexual": {"filtered": False, "severity": "safe"},
                "violence": {"filtered": True, "severity": "high"},
            },
        },
    }
}


def _openai_message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "")
            for part in content
            if isinstance(part, dict) and part.get("type") in ("text", "input_text")
        )
    return ""


class FakeOpenAI(FakeProvider):
    """OpenAI Chat Completions and Models API. SDK base url: `fake.url + "/v1"`."""

    DEFAULT_MODELS: ClassVar[frozenset[str]] = frozenset({"gpt-4.1-mini", "gpt-4.1"})

    def _error(self, status: int, message: str | None = None) -> _Reply:
        default_message, type_, code = _OPENAI_ERRORS.get(
            status, ("The server had an error processing your request.", "server_error", None)
        )
        headers = {"x-request-id": f"req_{uuid.uuid4().hex}"}
        return _Reply(status, _openai_error(message or default_message, type_, code), headers)

    def _check_auth(self, request: RecordedRequest) -> None:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not auth[len("Bearer ") :].strip():
            raise _Reply(
                401,
                _openai_error(
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)"
                    ", or as the password field (with blank username) if you're accessing the API "
                    "from your browser and are prompted for a username and password. You can "
                    "obtain an API key from https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    None,
                ),
            )
        key = auth[len("Bearer ") :].strip()
        if key not in self.valid_keys:
            masked = key[:3] + "*" * max(0, len(key) - 7) + key[-4:] if len(key) > 7 else "***"
            raise _Reply(
                401,
                _openai_error(
                    f"Incorrect API key provided: {masked}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            )

    def _handle(self, handler: _Handler, request: RecordedRequest) -> None:
        path = request.path.rstrip("/")
        if request.method == "POST" and path == "/v1/chat/completions":
            self._check_auth(request)
            self._chat(handler, request)
        elif request.method == "GET" and path == "/v1/models":
            self._check_auth(request)
            handler.send_json(
                200, {"object": "list", "data": [self._model(m) for m in sorted(self.known_models)]}
            )
        elif request.method == "GET" and path.startswith("/v1/models/"):
            self._check_auth(request)
            model = path[len("/v1/models/") :]
            if model not in self.known_models:
                raise self._model_not_found(model)
            handler.send_json(200, self._model(model))
        else:
            raise _Reply(
                404,
                _openai_error(
                    f"Invalid URL ({request.method} {request.path})", "invalid_request_error", None
                ),
            )

    @staticmethod
    def _model(model: str) -> dict[str, Any]:
        return {"id": model, "object": "model", "created": 1744316542, "owned_by": "system"}

    @staticmethod
    def _model_not_found(model: str) -> _Reply:
        return _Reply(
            404,
            _openai_error(
                f"The model `{model}` does not exist or you do not have access to it.",
                "invalid_request_error",
                "model_not_found",
            ),
        )

    def _chat(self, handler: _Handler, request: RecordedRequest) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise _Reply(
                400,
                _openai_error(
                    "Missing required parameter: 'messages'.",
                    "invalid_request_error",
                    "missing_required_parameter",
                    "messages",
                ),
            )
        model = str(body.get("model", ""))
        if model not in self.known_models:
            raise self._model_not_found(model)
        self._sleep()
        action = self._next_action()
        if action == "block":
            raise _Reply(400, _OPENAI_CONTENT_FILTER)
        if isinstance(action, int):
            raise self._error(action)

        texts = [_openai_message_text(m) for m in messages if isinstance(m, dict)]
        user_texts = [
            _openai_message_text(m)
            for m in messages
            if isinstance(m, dict) and m.get("role") == "user"
        ]
        answer = self._answer_text(user_texts[-1] if user_texts else "")
        prompt_tokens = sum(count_words(t) for t in texts)
        completion_tokens = count_words(answer)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:29]}"
        created = int(time.time())
        common = {
            "id": completion_id,
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_fake0001",
        }
        if not body.get("stream"):
            handler.send_json(
                200,
                {
                    **common,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {
                                "role": "assistant",
                                "content": answer,
                                "refusal": None,
                                "annotations": [],
                            },
                            "logprobs": None,
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": usage,
                },
                {"x-request-id": f"req_{uuid.uuid4().hex}"},
            )
            return

        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            event: dict[str, Any] = {
                **common,
                "object": "chat.completion.chunk",
                "choices": [
                    {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            if include_usage:
                event["usage"] = None
            return b"data: " + json.dumps(event).encode() + b"\n\n"

        handler.start_stream()
        handler.send_chunk(chunk({"role": "assistant", "content": "", "refusal": None}, None))
        for piece in split_text(answer, self.chunks):
            self._chunk_pause()
            handler.send_chunk(chunk({"content": piece}, None))
        self._chunk_pause()
        handler.send_chunk(chunk({}, "stop"))
        if include_usage:
            final = {**common, "object": "chat.completion.chunk", "choices": [], "usage": usage}
            handler.send_chunk(b"data: " + json.dumps(final).encode() + b"\n\n")
        handler.send_chunk(b"data: [DONE]\n\n")
        handler.end_stream()


# ---------------------------------------------------------------------------------------------
# Gemini
# ---------------------------------------------------------------------------------------------

_GEMINI_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

_GEMINI_MESSAGES = {
    400: "Request contains an invalid argument.",
    401: (
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
        "cookie or other valid authentication credential."
    ),
    403: "The caller does not have permission",
    404: "Requested entity was not found.",
    429: (
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits."
    ),
    500: (
        "An internal error has occurred. Please retry or report in "
        "https://developers.generativeai.google/guide/troubleshooting"
    ),
    503: "The model is overloaded. Please try again later.",
    504: "The request timed out. Please try again.",
}

_GEMINI_ROUTE = re.compile(r"^/(v1|v1beta|v1alpha)/models(?:/([^/:]+)(?::(\w+))?)?/?$")


def _gemini_error(status: int, message: str | None = None, details: list | None = None):
    error: dict[str, Any] = {
        "code": status,
        "message": message or _GEMINI_MESSAGES.get(status, "Unknown error."),
        "status": _GEMINI_STATUS.get(status, "UNKNOWN"),
    }
    if details:
        error["details"] = details
    return {"error": error}


def _gemini_parts_text(content: Any) -> str:
    if not isinstance(content, dict):
        return ""
    return " ".join(
        part["text"]
        for part in content.get("parts") or []
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    )


class FakeGemini(FakeProvider):
    """Gemini Developer API (generativelanguage). SDK `HttpOptions(base_url=fake.url)`."""

    DEFAULT_MODELS: ClassVar[frozenset[str]] = frozenset({"gemini-2.5-flash", "gemini-2.5-pro"})

    def _check_auth(self, request: RecordedRequest) -> None:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if not key:
            # The real API answers a keyless call with 403 PERMISSION_DENIED.
            raise _Reply(
                403,
                _gemini_error(
                    403,
                    "Method doesn't allow unregistered callers (callers without established "
                    "identity). Please use API Key or other form of API consumer identity to call "
                    "this API.",
                ),
            )
        if key not in self.valid_keys:
            # The real API answers a wrong key with 400 INVALID_ARGUMENT (not 401) and
            # reason API_KEY_INVALID in an ErrorInfo detail.
            message = "API key not valid. Please pass a valid API key."
            raise _Reply(
                400,
                _gemini_error(
                    400,
                    message,
                    [
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com",
                            "metadata": {"service": "generativelanguage.googleapis.com"},
                        },
                        {
                            "@type": "type.googleapis.com/google.rpc.LocalizedMessage",
                            "locale": "en-US",
                            "message": message,
                        },
                    ],
                ),
            )

    def _handle(self, handler: _Handler, request: RecordedRequest) -> None:
        match = _GEMINI_ROUTE.match(request.path)
        if match is None:
            raise _Reply(404, _gemini_error(404, f"Method not found: {request.path}"))
        version, model, method = match.groups()
        self._check_auth(request)
        if request.method == "GET" and model is None:
            handler.send_json(200, {"models": [self._model(m) for m in sorted(self.known_models)]})
            return
        if request.method == "GET" and model is not None and method is None:
            if model not in self.known_models:
                raise _Reply(404, _gemini_error(404, f"models/{model} is not found"))
            handler.send_json(200, self._model(model))
            return
        if request.method == "POST" and method in ("generateContent", "streamGenerateContent"):
            if model not in self.known_models:
                raise _Reply(
                    404,
                    _gemini_error(
                        404,
                        f"models/{model} is not found for API version {version}, or is not "
                        f"supported for {method}. Call ListModels to see the list of available "
                        "models and their supported methods.",
                    ),
                )
            self._generate(handler, request, model, stream=method == "streamGenerateContent")
            return
        raise _Reply(404, _gemini_error(404, f"Method not found: {request.path}"))

    @staticmethod
    def _model(model: str) -> dict[str, Any]:
        return {
            "name": f"models/{model}",
            "baseModelId": model,
            "version": "001",
            "displayName": model.replace("-", " ").title(),
            "description": f"Fake {model}",
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
            "temperature": 1,
            "topP": 0.95,
            "topK": 64,
            "maxTemperature": 2,
            "thinking": True,
        }

    def _generate(
        self, handler: _Handler, request: RecordedRequest, model: str, *, stream: bool
    ) -> None:
        body = request.json if isinstance(request.json, dict) else {}
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise _Reply(
                400,
                _gemini_error(
                    400, "* GenerateContentRequest.contents: contents is not specified\n"
                ),
            )
        self._sleep()
        action = self._next_action()
        if isinstance(action, int):
            details = None
            if action == 429:
                details = [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"}
                ]
            raise _Reply(action, _gemini_error(action, details=details))

        texts = [_gemini_parts_text(c) for c in contents]
        texts.append(_gemini_parts_text(body.get("systemInstruction")))
        prompt_tokens = sum(count_words(t) for t in texts)
        response_id = uuid.uuid4().hex[:22]
        common = {"modelVersion": model, "responseId": response_id}

        if action == "block":
            blocked = {
                "promptFeedback": {
                    "blockReason": "SAFETY",
                    "safetyRatings": [
                        {
                            "category": "HARM_CATEGORY_SEXUALLY_EXPLICIT",
                            "probability": "NEGLIGIBLE",
                        },
                        {"category": "HARM_CATEGORY_HATE_SPEECH", "probability": "NEGLIGIBLE"},
                        {"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"},
                        {
                            "category": "HARM_CATEGORY_DANGEROUS_CONTENT",
                            "probability": "HIGH",
                            "blocked": True,
                        },
                    ],
                },
                "usageMetadata": {
                    "promptTokenCount": prompt_tokens,
                    "totalTokenCount": prompt_tokens,
                },
                **common,
            }
            if stream:
                handler.start_stream()
                handler.send_chunk(b"data: " + json.dumps(blocked).encode() + b"\r\n\r\n")
                handler.end_stream()
            else:
                handler.send_json(200, blocked)
            return

        user_texts = [
            _gemini_parts_text(c)
            for c in contents
            if isinstance(c, dict) and c.get("role", "user") == "user"
        ]
        answer = self._answer_text(user_texts[-1] if user_texts else "")
        completion_tokens = count_words(answer)
        full_usage = {
            "promptTokenCount": prompt_tokens,
            "candidatesTokenCount": completion_tokens,
            "totalTokenCount": prompt_tokens + completion_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt_tokens}],
        }

        def response(text: str, final: bool) -> dict[str, Any]:
            candidate: dict[str, Any] = {
                "content": {"parts": [{"text": text}], "role": "model"},
                "index": 0,
            }
            if final:
                candidate["finishReason"] = "STOP"
            # Like Google, every streamed chunk carries usageMetadata; only the last one has the
            # candidates count.
            usage = (
                full_usage
                if final
                else {"promptTokenCount": prompt_tokens, "totalTokenCount": prompt_tokens}
            )
            return {"candidates": [candidate], "usageMetadata": usage, **common}

        if not stream:
            handler.send_json(200, response(answer, final=True))
            return
        pieces = split_text(answer, self.chunks)
        handler.start_stream()
        for i, piece in enumerate(pieces):
            if i:
                self._chunk_pause()
            event = response(piece, final=i == len(pieces) - 1)
            handler.send_chunk(b"data: " + json.dumps(event).encode() + b"\r\n\r\n")
        handler.end_stream()
