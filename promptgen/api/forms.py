"""Plain HTML form posts: the same-origin check and the redirect back to a page."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse

from promptgen.settings import get_settings


def same_origin(request: Request) -> bool:
    """Refuse cross-site posts: browsers send Origin on form posts (null or absent only
    from very old clients, which SameSite=Lax covers)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    # APP_URL's origin, or this request's Host (a proxy may forward either).
    if origin.rstrip("/") == get_settings().app_origin:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def client_ip(request: Request) -> str | None:
    """The client's address, for the per-address limits. Behind TRUSTED_PROXY_HOPS reverse
    proxies it is the address the outermost trusted proxy saw (the same rule Reflex applies
    to the websocket, which rxconfig feeds the same setting); X-Forwarded-For is ignored
    otherwise, since a client can write anything there."""
    address = request.client.host if request.client else None
    hops = get_settings().trusted_proxy_hops
    if hops:
        forwarded = [
            part.strip()
            for part in request.headers.get("x-forwarded-for", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= hops:
            address = forwarded[-hops]
    return address


def redirect(path: str, **query: str) -> RedirectResponse:
    """A 303 to `path` (a local path) with `query`; empty values are left out."""
    values = {key: value for key, value in query.items() if value}
    target = f"{path}?{urlencode(values)}" if values else path
    return RedirectResponse(target, status_code=303)
