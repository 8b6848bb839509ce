"""The app's outer edge: one ASGI middleware in front of every page, route and socket.

Reflex serves the built frontend, its websocket (`/_event`), its upload endpoint (`/_upload`)
and our Starlette routes from one ASGI app; `promptgen.promptgen` wraps all of it in
`EdgeMiddleware` (through `rx.App(api_transformer=[...])`). It

- adds the security headers to every HTTP response: a Content-Security-Policy, frame
  refusal, nosniff, Referrer-Policy, Permissions-Policy, and HSTS when APP_URL is https;
- refuses a websocket handshake whose Origin is not APP_URL's;
- caps request bodies before they are read: by Content-Length up front, and by counting
  the bytes of a streamed (chunked) body as they arrive;
- lets only a signed-in session reach `/_upload`, with a cap per request and per file.

Plain ASGI and Starlette, so it is tested without starting Reflex.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from promptgen.db import admin_session_scope
from promptgen.services import accounts
from promptgen.services.images import MAX_IMAGE_BYTES, MAX_IMAGES
from promptgen.settings import origin_of

log = logging.getLogger(__name__)


UPLOAD_PATH = "/_upload"
# Any request body but an upload: the largest we take is a Stripe event (a few KB).
MAX_BODY_BYTES = 1024 * 1024
# An upload request carries at most MAX_IMAGES files of MAX_IMAGE_BYTES; each multipart part
# adds its headers, the request its boundaries.
PART_OVERHEAD_BYTES = 16 * 1024
MAX_UPLOAD_FILE_BYTES = MAX_IMAGE_BYTES + PART_OVERHEAD_BYTES
MAX_UPLOAD_REQUEST_BYTES = MAX_IMAGES * MAX_IMAGE_BYTES + 64 * 1024

PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), "
    "gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), usb=(), "
    "browsing-topics=()"
)
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL)


def inline_script_hashes(html_root: Path | None) -> list[str]:
    """CSP hashes ('sha256-...') of every inline <script> in the built pages under
    `html_root`: the prerendered pages' bootstrap scripts, the same for every visitor."""
    if html_root is None or not html_root.is_dir():
        return []
    hashes: set[str] = set()
    for page in sorted(html_root.rglob("*.html")):
        for body in _INLINE_SCRIPT.findall(page.read_bytes()):
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            hashes.add(f"'sha256-{digest}'")
    return sorted(hashes)


def content_security_policy(script_hashes: Iterable[str] = ()) -> str:
    """The policy every response carries, measured in Chromium against the built app
    (tests/e2e/test_edges.py walks every page and fails on any violation):
    - scripts only from this origin, inline ones only by hash, and no eval: client actions
      (copy, toasts) are bound in the pages, never sent by the backend as code to eval;
    - style-src 'unsafe-inline' is the one relaxation: Emotion (Radix Themes' styling)
      inserts <style> elements and style attributes at run time whose content follows the
      page's state, so no fixed list of hashes can allow them.
    Nothing may come from another origin, and nothing may frame the app."""
    scripts = " ".join(["'self'", *script_hashes])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "frame-src 'none'",
            "worker-src 'self' blob:",
            "manifest-src 'self'",
        ]
    )


@dataclass
class EdgeConfig:
    app_url: str
    html_root: Path | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    max_upload_request_bytes: int = MAX_UPLOAD_REQUEST_BYTES
    max_upload_file_bytes: int = MAX_UPLOAD_FILE_BYTES
    # Finds the signed-in user behind a session token; None when there is none.
    resolve_user: Callable[[str], object | None] | None = None
    _headers: list[tuple[bytes, bytes]] | None = field(default=None, repr=False)

    @property
    def origin(self) -> str:
        return origin_of(self.app_url)

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The security headers, built once (the script hashes are read from the build)."""
        if self._headers is None:
            csp = content_security_policy(inline_script_hashes(self.html_root))
            values = {
                "content-security-policy": csp,
                "x-frame-options": "DENY",
                "x-content-type-options": "nosniff",
                "referrer-policy": "same-origin",
                "permissions-policy": PERMISSIONS_POLICY,
                "cross-origin-opener-policy": "same-origin",
            }
            if self.app_url.lower().startswith("https://"):
                values["strict-transport-security"] = "max-age=63072000; includeSubDomains"
            self._headers = [(k.encode(), v.encode()) for k, v in values.items()]
        return self._headers


def _resolve_session(token: str) -> object | None:
    with admin_session_scope() as session:
        return accounts.resolve_session(session=session, token=token)


class _TooLarge(Exception):
    pass


class _PartSizes:
    """Counts the bytes of each part of a multipart body as it streams past; `feed` says
    whether every part so far is within the limit."""

    def __init__(self, boundary: bytes, limit: int) -> None:
        self.delimiter = b"\r\n--" + boundary
        self.limit = limit
        self.current = 0
        self.tail = b""

    def feed(self, chunk: bytes) -> bool:
        data = self.tail + chunk
        start = 0
        while (index := data.find(self.delimiter, start)) != -1:
            self.current += index - start
            if self.current > self.limit:
                return False
            self.current = 0
            start = index + len(self.delimiter)
        rest = data[start:]
        keep = len(self.delimiter) - 1
        if len(rest) > keep:
            self.current += len(rest) - keep
            rest = rest[-keep:]
        self.tail = rest
        return self.current <= self.limit


def _boundary(headers: Headers) -> bytes | None:
    content_type = headers.get("content-type", "")
    match = re.search(r'boundary="?([^";,]+)"?', content_type, re.IGNORECASE)
    return match.group(1).encode("latin-1") if match else None


async def _refuse(send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                (b"connection", b"close"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class EdgeMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, config: EdgeConfig) -> None:
        self.app = app
        self.config = config
        self.resolve_user = config.resolve_user or _resolve_session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = Headers(scope=scope).get("origin")
        if origin is not None and origin_of(origin) != self.config.origin:
            log.warning("refused a websocket from origin %s", origin[:100])
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        security = self.config.headers()
        started = False
        refused = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if refused:
                return  # we already answered; whatever the app says now goes nowhere
            if message["type"] == "http.response.start":
                started = True
                # A route's own Referrer-Policy is stricter than ours (the emailed links send
                # none at all): keep it. Every other security header is ours.
                theirs = {k.lower() for k, _ in message.get("headers", [])}
                added = [
                    (k, v)
                    for k, v in security
                    if not (k == b"referrer-policy" and b"referrer-policy" in theirs)
                ]
                ours = {name for name, _ in added}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in ours]
                message = {**message, "headers": kept + added}
            await send(message)

        headers = Headers(scope=scope)
        is_upload = scope["path"] == UPLOAD_PATH or scope["path"].startswith(UPLOAD_PATH + "/")
        if is_upload:
            token = cookie_parser(headers.get("cookie", "")).get(accounts.SESSION_COOKIE, "")
            user = await run_in_threadpool(self.resolve_user, token) if token else None
            if user is None:
                await _refuse(send, 401, "Sign in to upload files.", security)
                return
            cap = self.config.max_upload_request_bytes
        else:
            cap = self.config.max_body_bytes

        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await _refuse(send, 400, "Bad Content-Length.", security)
                return
            if int(length) > cap:
                await _refuse(send, 413, f"The request is over {_mb(cap)}.", security)
                return

        if not is_upload:
            if length is None and "transfer-encoding" in headers:
                # A streamed body to an ordinary route: read it here (at most `cap` bytes),
                # so an oversized one is refused before the route sees any of it.
                buffered = await _read_capped(receive, cap)
                if buffered is None:
                    log.warning("refused a request body to %s: over %s", scope["path"], _mb(cap))
                    await _refuse(send, 413, f"The request is over {_mb(cap)}.", security)
                    return
                receive = _replay(buffered, receive)
            await self.app(scope, receive, send_with_headers)
            return

        parts = None
        if boundary := _boundary(headers):
            parts = _PartSizes(boundary, self.config.max_upload_file_bytes)
        received = 0

        async def counting_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] != "http.request" or refused:
                return message
            chunk = message.get("body", b"")
            received += len(chunk)
            problem = None
            if received > cap:
                problem = f"The request is over {_mb(cap)}."
            elif parts is not None and not parts.feed(chunk):
                problem = f"A file is over {_mb(MAX_IMAGE_BYTES)}."
            if problem is None:
                return message
            if not started:
                await _refuse(send, 413, problem, security)
            refused = True
            log.warning("refused an upload: %s", problem)
            # Reflex's upload endpoint sees the client go away and stops reading.
            return {"type": "http.disconnect"}

        await self.app(scope, counting_receive, send_with_headers)


async def _read_capped(receive: Receive, cap: int) -> bytes | None:
    """The whole request body, or None as soon as it passes `cap` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB"


def edge_transformer(config: EdgeConfig) -> Callable[[ASGIApp], ASGIApp]:
    """For `rx.App(api_transformer=[..., edge_transformer(config)])`: wraps Reflex's app."""

    def wrap(app: ASGIApp) -> ASGIApp:
        return EdgeMiddleware(app, config)

    return wrap
