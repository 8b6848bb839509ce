"""Keep the raw session token out of Reflex.

Reflex keeps the websocket handshake's headers in every state (and so in `.states` and
Redis). This ASGI middleware rewrites that one request's Cookie header so it carries only
`promptgen_session_hash=<sha256 of the token>`: the states resolve the user from the hash
(accounts.resolve_session_hash), and the token, which alone opens a session, stays in the
browser's HttpOnly cookie and the HTTP routes that read it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import cookie_parser

from promptgen.services.accounts import MAX_TOKEN_LENGTH, SESSION_COOKIE, hash_token
from promptgen.settings import get_settings

SESSION_HASH_COOKIE = "promptgen_session_hash"
EVENT_PATH = "/_event"  # Reflex's websocket endpoint (reflex.constants.Endpoint.EVENT)


def session_hash_from_cookie_header(header: str) -> str:
    """The hash this middleware put in the websocket's Cookie header, or ""."""
    return _cookies(header).get(SESSION_HASH_COOKIE, "")


def _cookies(header: str) -> dict[str, str]:
    # Starlette's lenient parser, as the HTTP routes use: one odd cookie from another app
    # (a space, JSON) must not hide the session.
    return cookie_parser(header)


def _rewrite(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    kept = [(name, value) for name, value in headers if name.lower() != b"cookie"]
    cookie_header = "; ".join(
        value.decode("latin-1") for name, value in headers if name.lower() == b"cookie"
    )
    token = _cookies(cookie_header).get(SESSION_COOKIE, "")
    if token:
        kept.append((b"cookie", f"{SESSION_HASH_COOKIE}={hash_token(token)}".encode()))
    return kept


def session_cookie_header(token: str) -> bytes:
    """The Set-Cookie value for the session: HttpOnly, SameSite=Lax, Secure on https, as
    long as a session may stay idle. Sign-in sets it; every page load renews it."""
    settings = get_settings()
    cookie = (
        f"{SESSION_COOKIE}={token}; Max-Age={settings.session_idle_days * 86_400}; Path=/; "
        "HttpOnly; SameSite=lax"
    )
    return (cookie + ("; Secure" if settings.app_url.startswith("https://") else "")).encode()


def _with_renewed_cookie(message: dict, token: str) -> dict:
    headers = list(message.get("headers", []))
    html = any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers)
    if not html or any(k.lower() == b"set-cookie" for k, _ in headers):
        return message
    return {**message, "headers": [*headers, (b"set-cookie", session_cookie_header(token))]}


def hide_session_token(app: Any) -> Any:
    """ASGI middleware: the websocket handshake carries the token's hash, never the token
    (and no other cookie: Reflex reads none from headers). A page load also renews the
    cookie, so an active session lasts as the server's sliding expiry says (a session
    unused for SESSION_IDLE_DAYS ends), not a fixed time after sign-in."""

    async def middleware(scope: dict, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] in ("websocket", "http") and path.startswith(EVENT_PATH):
            scope = {**scope, "headers": _rewrite(list(scope.get("headers", [])))}
            await app(scope, receive, send)
            return
        token = ""
        if scope["type"] == "http" and scope.get("method") == "GET":
            header = "; ".join(
                v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == b"cookie"
            )
            token = _cookies(header).get(SESSION_COOKIE, "")
        if not token or len(token) > MAX_TOKEN_LENGTH:
            await app(scope, receive, send)
            return

        async def renewing_send(message: dict) -> None:
            if message["type"] == "http.response.start":
                message = _with_renewed_cookie(message, token)
            await send(message)

        await app(scope, receive, renewing_send)

    return middleware
