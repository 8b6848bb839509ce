"""Plain HTML form posts: the same-origin check and the redirect back to a page."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse


def same_origin(request: Request) -> bool:
    """Refuse cross-site posts: browsers send Origin on form posts (null or absent only
    from very old clients, which SameSite=Lax covers)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def redirect(path: str, **query: str) -> RedirectResponse:
    """A 303 to `path` (a local path) with `query`; empty values are left out."""
    values = {key: value for key, value in query.items() if value}
    target = f"{path}?{urlencode(values)}" if values else path
    return RedirectResponse(target, status_code=303)
