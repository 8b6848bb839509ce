"""The public REST API under /api/v1, authenticated by personal API tokens.

Every endpoint is declared once in `ENDPOINTS` (path, method, scope, schemas, handler): the
route table and the OpenAPI document (`/api/v1/openapi.json`, rendered at `/api/v1/docs`)
are both built from it, so they cannot drift apart.

Only `Authorization: Bearer pg_...` authenticates here; the session cookie is ignored, so a
page on another site cannot make a signed-in browser call the API (no CSRF surface). An
unknown or revoked token answers 401, a token without the scope 403, and a token over its
per-minute allowance 429 with `Retry-After`. Errors share one shape:
`{"error": {"code": ..., "message": ..., "field": ...}}`.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from promptgen.api.html_page import page
from promptgen.db import run_in_admin_session, run_in_session, run_in_user_session
from promptgen.services import api_tokens, public_api, rate_limit, shares, transfer
from promptgen.services.api_tokens import SCOPE_GENERATE, SCOPE_READ, TokenUser
from promptgen.services.generation import GenerationError, GenerationResult, run_generation
from promptgen.services.public_api import ApiProblem

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
MAX_JSON_BYTES = 256 * 1024
SSE_KEEPALIVE_S = 15.0
_NO_STORE = {"Cache-Control": "no-store"}

Handler = Callable[[Request, TokenUser], Awaitable[Response]]


def problem_response(problem: ApiProblem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.body(), status_code=problem.status, headers={**_NO_STORE, **(headers or {})}
    )


# --- authentication, scope and rate limit -----------------------------------------------


async def _token_user(request: Request) -> TokenUser:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiProblem(
            401,
            "missing_token",
            "Send a personal API token as 'Authorization: Bearer pg_...' (create one in Settings).",
        )
    user = await run_in_admin_session(api_tokens.authenticate, token=token.strip())
    if user is None:
        raise ApiProblem(401, "invalid_token", "This API token is not valid or was revoked.")
    return user


def _guarded(handler: Handler, scope: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            user = await _token_user(request)
            if not user.allows(scope):
                raise ApiProblem(
                    403,
                    "insufficient_scope",
                    "This token may only read. Create a token that may read and generate.",
                )
            decision = await run_in_threadpool(rate_limit.hit, str(user.token_id))
            limits = {
                "X-RateLimit-Limit": str(decision.limit),
                "X-RateLimit-Remaining": str(decision.remaining),
            }
            if not decision.allowed:
                return problem_response(
                    ApiProblem(
                        429,
                        "rate_limited",
                        f"Too many requests for this token: at most {decision.limit} a "
                        f"minute. Try again in {decision.retry_after_seconds} s.",
                    ),
                    headers={**limits, "Retry-After": str(decision.retry_after_seconds)},
                )
            response = await handler(request, user)
            response.headers.update(limits)
            return response
        except ApiProblem as problem:
            headers = {"WWW-Authenticate": "Bearer"} if problem.status == 401 else None
            return problem_response(problem, headers)

    return endpoint


async def _json_body(request: Request) -> dict[str, Any]:
    if int(request.headers.get("content-length") or 0) > MAX_JSON_BYTES:
        raise ApiProblem(413, "too_large", f"The body is over {MAX_JSON_BYTES // 1024} KB.")
    raw = await request.body()
    if len(raw) > MAX_JSON_BYTES:
        raise ApiProblem(413, "too_large", f"The body is over {MAX_JSON_BYTES // 1024} KB.")
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(400, "invalid_json", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiProblem(400, "invalid_json", "The body must be a JSON object.")
    return body


def _ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(data, status_code=status, headers=_NO_STORE)


# --- handlers ----------------------------------------------------------------------------


async def list_blueprints(request: Request, user: TokenUser) -> Response:
    found = await run_in_user_session(public_api.list_blueprints, user_id=user.user_id)
    return _ok({"data": [b.as_json() for b in found]})


async def get_blueprint(request: Request, user: TokenUser) -> Response:
    found = await run_in_user_session(
        public_api.get_blueprint, user_id=user.user_id, ref=request.path_params["blueprint"]
    )
    return _ok(found.as_json())


async def compile_blueprint(request: Request, user: TokenUser) -> Response:
    body = await _json_body(request)
    compiled = await run_in_user_session(
        public_api.compile_blueprint,
        user_id=user.user_id,
        ref=request.path_params["blueprint"],
        body=body,
    )
    return _ok(compiled)


async def list_models(request: Request, user: TokenUser) -> Response:
    return _ok({"data": await run_in_user_session(public_api.list_models, user_id=user.user_id)})


async def list_signatures(request: Request, user: TokenUser) -> Response:
    return _ok({"data": await run_in_session(public_api.list_signatures)})


def _result_json(result: GenerationResult) -> dict[str, Any]:
    return {
        "id": str(result.prompt_id),
        "output": result.output,
        "prompt": result.compiled_prompt,
        "model": result.model_display_name,
        "key_source": result.key_source,
        "ai_refined": result.ai_refined,
        "notice": result.notice,
        "usage": {"input_tokens": result.input_tokens, "output_tokens": result.output_tokens},
    }


_KIND_STATUS = {
    "invalid": (422, "invalid_parameters"),
    "limit": (402, "quota_exhausted"),
    "unavailable": (409, "no_key_for_model"),
    "provider": (502, "provider_error"),
    "database": (503, "database_unavailable"),
    "cancelled": (499, "cancelled"),
}


def _generation_problem(exc: GenerationError) -> ApiProblem:
    status, code = _KIND_STATUS.get(exc.kind, (500, "generation_failed"))
    fields = {f"parameters.{k}": v for k, v in exc.field_errors.items()}
    message = next(iter(exc.field_errors.values()), exc.message)
    return ApiProblem(status, code, message, field=next(iter(fields), None), fields=fields)


async def generate(request: Request, user: TokenUser) -> Response:
    body = await _json_body(request)
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise ApiProblem(422, "invalid_request", "stream must be true or false.", field="stream")
    generation = await run_in_user_session(
        public_api.generation_request, user_id=user.user_id, body=body
    )
    if stream:
        return EventStream(user, generation)
    try:
        result = await run_generation(user_id=user.user_id, request=generation)
    except GenerationError as exc:
        raise _generation_problem(exc) from None
    return _ok(_result_json(result))


def _sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


class EventStream(Response):
    """A generation streamed as server-sent events: `delta` ({"text"}) as the answer
    arrives, then `done` (the result) or `error` ({"error": ...}). A client that goes away
    cancels the generation, which records it and refunds as a cancel in the app does."""

    media_type = "text/event-stream"

    def __init__(self, user: TokenUser, generation: Any) -> None:
        super().__init__(
            content=None,
            headers={**_NO_STORE, "X-Accel-Buffering": "no"},
            media_type=self.media_type,
        )
        # A stream has no length: without this, Response would announce "Content-Length: 0"
        # and a client would hang up after the headers.
        self.raw_headers = [(k, v) for k, v in self.raw_headers if k != b"content-length"]
        self.user = user
        self.generation = generation

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        async def on_delta(text: str) -> None:
            await events.put(("delta", {"text": text}))

        async def run() -> None:
            try:
                result = await run_generation(
                    user_id=self.user.user_id, request=self.generation, on_delta=on_delta
                )
                await events.put(("done", _result_json(result)))
            except GenerationError as exc:
                await events.put(("error", _generation_problem(exc).body()))
            except Exception:
                log.exception("streamed generation failed")
                message = "Something went wrong while generating. Try again."
                await events.put(("error", ApiProblem(500, "internal", message).body()))

        async def watch_disconnect() -> None:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    log.info("API client disconnected; cancelling its generation")
                    task.cancel()
                    return
                await asyncio.sleep(0.05)  # a server that repeats empty bodies cannot spin us

        async def body(chunk: bytes) -> None:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

        task = asyncio.create_task(run())
        watcher: asyncio.Task[None] | None = None
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            await body(b": open\n\n")
            # Only once the response has begun: granian answers a receive() made before
            # that with a disconnect.
            watcher = asyncio.create_task(watch_disconnect())
            while True:
                try:
                    async with asyncio.timeout(SSE_KEEPALIVE_S):
                        event, data = await events.get()
                except TimeoutError:
                    if task.done() and events.empty():
                        break  # cancelled: nothing more will come
                    await body(b": keep-alive\n\n")
                    continue
                await body(_sse(event, data))
                if event in ("done", "error"):
                    break
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-send
        finally:
            if watcher is not None:
                watcher.cancel()
            if not task.done():
                task.cancel()
            # Let the generation record its cancellation and refund, whatever cancels us.
            with anyio.CancelScope(shield=True):
                await asyncio.gather(task, *filter(None, [watcher]), return_exceptions=True)


async def list_history(request: Request, user: TokenUser) -> Response:
    raw_limit = request.query_params.get("limit", str(public_api.DEFAULT_PAGE))
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= public_api.MAX_PAGE:
        raise ApiProblem(
            422,
            "invalid_request",
            f"limit must be a whole number from 1 to {public_api.MAX_PAGE}.",
            field="limit",
        )
    page = await run_in_user_session(
        public_api.list_history,
        user_id=user.user_id,
        limit=int(raw_limit),
        cursor=request.query_params.get("cursor") or None,
    )
    return _ok(page)


async def get_history(request: Request, user: TokenUser) -> Response:
    entry = await run_in_user_session(
        public_api.get_history, user_id=user.user_id, prompt_id=request.path_params["id"]
    )
    return _ok(entry)


async def get_share(request: Request, user: TokenUser) -> Response:
    shared = await run_in_admin_session(shares.get_shared, token=request.path_params["token"])
    if shared is None:
        raise ApiProblem(404, "not_found", "No such share, or it was revoked.", field="token")
    return _ok(shared.as_json())


async def export_account(request: Request, user: TokenUser) -> Response:
    data = await run_in_user_session(transfer.export_account, user_id=user.user_id)
    return _ok(data)


# --- the endpoint table, its routes and its OpenAPI document -----------------------------


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


@dataclass(frozen=True)
class Endpoint:
    path: str
    method: str
    handler: Handler
    scope: str
    operation_id: str
    summary: str
    description: str = ""
    response: dict[str, Any] = field(default_factory=dict)
    request: dict[str, Any] | None = None
    query: tuple[tuple[str, str, dict[str, Any]], ...] = ()
    streams: bool = False


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "/blueprints",
        "GET",
        list_blueprints,
        SCOPE_READ,
        "listBlueprints",
        "List blueprints",
        "The catalog's blueprints and your own, each with the JSON Schema of its parameters.",
        response={
            "type": "object",
            "properties": {"data": {"type": "array", "items": _ref("Blueprint")}},
        },
    ),
    Endpoint(
        "/blueprints/{blueprint}",
        "GET",
        get_blueprint,
        SCOPE_READ,
        "getBlueprint",
        "Get a blueprint",
        "A catalog blueprint by its id (slug), or one of yours by its UUID.",
        response=_ref("Blueprint"),
    ),
    Endpoint(
        "/blueprints/{blueprint}/compile",
        "POST",
        compile_blueprint,
        SCOPE_READ,
        "compileBlueprint",
        "Compile a blueprint offline",
        "The prompt the blueprint makes from these parameters. No model is called and no "
        "quota is used. Parameters are validated against the blueprint's JSON Schema.",
        request=_ref("CompileRequest"),
        response=_ref("Compiled"),
    ),
    Endpoint(
        "/models",
        "GET",
        list_models,
        SCOPE_READ,
        "listModels",
        "List models",
        response={
            "type": "object",
            "properties": {"data": {"type": "array", "items": _ref("Model")}},
        },
    ),
    Endpoint(
        "/signatures",
        "GET",
        list_signatures,
        SCOPE_READ,
        "listSignatures",
        "List visual signatures",
        response={
            "type": "object",
            "properties": {"data": {"type": "array", "items": _ref("Signature")}},
        },
    ),
    Endpoint(
        "/generate",
        "POST",
        generate,
        SCOPE_GENERATE,
        "generate",
        "Generate",
        "Compile the blueprint and refine it with the model, under the same rules as the "
        "app: a unit of your monthly quota on the platform key, else your own key "
        "(Settings); a failed or cancelled generation gives its unit back, and every "
        'generation is kept in your history. With "stream": true the answer arrives as '
        'server-sent events: `delta` ({"text"}), then `done` (the result) or `error`. '
        "Closing the connection cancels the generation. Needs a read-and-generate token.",
        request=_ref("GenerateRequest"),
        response=_ref("Generation"),
        streams=True,
    ),
    Endpoint(
        "/history",
        "GET",
        list_history,
        SCOPE_READ,
        "listHistory",
        "List history",
        "Your generations, newest first, a page at a time: pass `next_cursor` as `cursor`.",
        response=_ref("HistoryPage"),
        query=(
            (
                "limit",
                "Entries per page (1-100, default 20).",
                {"type": "integer", "minimum": 1, "maximum": 100},
            ),
            ("cursor", "The previous page's next_cursor.", {"type": "string"}),
        ),
    ),
    Endpoint(
        "/history/{id}",
        "GET",
        get_history,
        SCOPE_READ,
        "getHistoryEntry",
        "Get a history entry",
        response=_ref("HistoryEntry"),
    ),
    Endpoint(
        "/shares/{token}",
        "GET",
        get_share,
        SCOPE_READ,
        "getShare",
        "Get a share",
        "What a public share link shows: blueprint, inputs, signature, model and output.",
        response=_ref("Share"),
    ),
    Endpoint(
        "/export",
        "GET",
        export_account,
        SCOPE_READ,
        "exportAccount",
        "Export your blueprints and history",
        "One JSON document, which Settings → Import takes into another account.",
        response={"type": "object"},
    ),
)

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"], "description": "e.g. parameters.product"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
_JSON_SCHEMA = {"type": "object", "description": "A JSON Schema (2020-12) of the parameters."}
_SCHEMAS: dict[str, Any] = {
    "Error": _ERROR,
    "Blueprint": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "kind": {"enum": ["catalog", "own"]},
            "name": {"type": "string"},
            "category": {"type": "string"},
            "description": {"type": "string"},
            "template": {"type": "string"},
            "parameters_schema": _JSON_SCHEMA,
        },
    },
    "CompileRequest": {
        "type": "object",
        "properties": {
            "parameters": {"type": "object"},
            "signature": {"type": ["string", "null"], "description": "A signature id."},
        },
    },
    "Compiled": {
        "type": "object",
        "properties": {
            "blueprint": {"type": "string"},
            "parameters": {"type": "object"},
            "prompt": {"type": "string"},
        },
    },
    "Model": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "provider": {"type": "string"},
            "description": {"type": "string"},
            "accepts_images": {"type": "boolean"},
            "available_on_your_plan": {"type": "boolean"},
        },
    },
    "Signature": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "description": {"type": "string"},
        },
    },
    "GenerateRequest": {
        "type": "object",
        "required": ["blueprint", "model"],
        "properties": {
            "blueprint": {"type": "string"},
            "model": {"type": "string"},
            "signature": {"type": ["string", "null"]},
            "parameters": {"type": "object"},
            "stream": {"type": "boolean", "default": False},
        },
    },
    "Generation": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "output": {"type": "string"},
            "prompt": {"type": "string"},
            "model": {"type": "string"},
            "key_source": {"enum": ["platform", "own_key", "offline"]},
            "ai_refined": {"type": "boolean"},
            "notice": {"type": "string"},
            "usage": {"type": "object"},
        },
    },
    "HistoryEntry": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "created_at": {"type": "string", "format": "date-time"},
            "status": {"type": "string"},
            "blueprint": {"type": "string"},
            "signature": {"type": ["string", "null"]},
            "model": {"type": "string"},
            "parameters": {"type": "object"},
            "prompt": {"type": "string"},
            "output": {"type": "string"},
        },
    },
    "HistoryPage": {
        "type": "object",
        "properties": {
            "data": {"type": "array", "items": _ref("HistoryEntry")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
    "Share": {
        "type": "object",
        "properties": {
            "token": {"type": "string"},
            "blueprint": {"type": "object"},
            "signature": {"type": ["object", "null"]},
            "model": {"type": "object"},
            "parameters": {"type": "object"},
            "prompt": {"type": "string"},
            "output": {"type": "string"},
            "images": {"type": "array"},
        },
    },
}
_ERROR_RESPONSES = {
    "401": "Missing, unknown or revoked token.",
    "403": "The token lacks the scope.",
    "404": "Not found.",
    "422": "Invalid parameters; `field` names the one at fault.",
    "429": "Over the token's per-minute limit; see Retry-After.",
}


def openapi_document(blueprint_schemas: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document, built from ENDPOINTS. `blueprint_schemas` (catalog slug →
    parameter JSON Schema) are added as `Parameters_<slug>` components."""
    paths: dict[str, Any] = {}
    for endpoint in ENDPOINTS:
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _path_names(endpoint.path)
        ] + [
            {"name": name, "in": "query", "required": False, "description": text, "schema": schema}
            for name, text, schema in endpoint.query
        ]
        content: dict[str, Any] = {"application/json": {"schema": endpoint.response}}
        if endpoint.streams:
            content["text/event-stream"] = {"schema": {"type": "string"}}
        operation: dict[str, Any] = {
            "operationId": endpoint.operation_id,
            "summary": endpoint.summary,
            "description": endpoint.description,
            "security": [{"bearer": []}],
            "x-scope": endpoint.scope,
            "parameters": parameters,
            "responses": {
                "200": {"description": "OK", "content": content},
                **{
                    code: {
                        "description": text,
                        "content": {"application/json": {"schema": _ref("Error")}},
                    }
                    for code, text in _ERROR_RESPONSES.items()
                },
            },
        }
        if endpoint.request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": endpoint.request}},
            }
        paths.setdefault(PREFIX + endpoint.path, {})[endpoint.method.lower()] = operation
    schemas = dict(_SCHEMAS)
    for slug, schema in (blueprint_schemas or {}).items():
        schemas[f"Parameters_{slug}"] = schema
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "PromptGen API",
            "version": "1",
            "description": "Blueprints, generation and history of a PromptGen account, with "
            "a personal API token from Settings. Scopes: `read`, or `generate` (read and "
            "generate).",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "pg_ token"}
            },
        },
    }


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


async def _catalog_schemas() -> dict[str, Any]:
    from promptgen.db import run_in_session
    from promptgen.services import catalog

    views = await run_in_session(catalog.list_blueprints)
    return {v.slug: v.parameter_schema for v in views}


async def openapi_json(request: Request) -> Response:
    try:
        schemas = await _catalog_schemas()
    except Exception:  # the document stays useful when the database is down
        log.warning("openapi: catalog unavailable", exc_info=True)
        schemas = {}
    return JSONResponse(openapi_document(schemas), headers={"Cache-Control": "no-cache"})


def docs_page() -> str:
    """The API's reference, from the same table as the OpenAPI document. Plain HTML with
    no script, so the site's Content-Security-Policy holds."""
    ops = []
    for e in ENDPOINTS:
        request = ""
        if e.request is not None:
            name = e.request.get("$ref", "").rsplit("/", 1)[-1]
            request = (
                f"<p>Body: <code>{html.escape(name)}</code></p>"
                f"<pre>{html.escape(json.dumps(_SCHEMAS.get(name, e.request), indent=2))}</pre>"
            )
        query = "".join(
            f"<li><code>{html.escape(n)}</code>: {html.escape(t)}</li>" for n, t, _ in e.query
        )
        ops.append(
            f'<section class="card" id="{e.operation_id}"><h3><span class="m">{e.method}</span>'
            f"<code>{html.escape(PREFIX + e.path)}</code></h3><p><b>{html.escape(e.summary)}</b>"
            f' <span class="muted">scope: {e.scope}</span></p><p>{html.escape(e.description)}</p>'
            f"{f'<ul>{query}</ul>' if query else ''}{request}</section>"
        )
    example = (
        "curl -H 'Authorization: Bearer pg_...' -H 'Content-Type: application/json' \\\n"
        '  -d \'{"blueprint": "product-photo", "model": "gpt-4.1-mini", '
        '"parameters": {"product": "a walnut desk lamp"}}\' \\\n'
        "  https://YOUR-HOST/api/v1/generate"
    )
    return (
        "<h1>PromptGen API v1</h1><p>Authenticate with a personal API token from "
        "<a href=/settings>Settings</a>: <code>Authorization: Bearer pg_...</code>. Errors are "
        '<code>{"error": {"code", "message", "field"}}</code>. Each token may make a limited '
        "number of requests a minute; beyond it the answer is 429 with "
        "<code>Retry-After</code>. Machine-readable: "
        f'<a href="{PREFIX}/openapi.json">openapi.json</a> (OpenAPI 3.1).</p>'
        f"<pre>{html.escape(example)}</pre>{''.join(ops)}"
    )


async def docs(request: Request) -> Response:
    return page("PromptGen API", docs_page())


async def not_found(request: Request) -> Response:
    return problem_response(ApiProblem(404, "not_found", "No such API endpoint."))


def routes() -> list[Route]:
    """The /api/v1 routes: every endpoint of ENDPOINTS, and the document and docs."""
    table = [
        Route(PREFIX + e.path, _guarded(e.handler, e.scope), methods=[e.method]) for e in ENDPOINTS
    ]
    return [
        *table,
        Route(PREFIX + "/openapi.json", openapi_json, methods=["GET"]),
        Route(PREFIX + "/docs", docs, methods=["GET"]),
        # Anything else under /api/v1 answers in the API's error shape, not with a page.
        Route(
            PREFIX + "/{rest:path}", not_found, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
        ),
    ]
