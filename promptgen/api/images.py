"""GET /api/images/drafts/{draft_id}: a reference image waiting for Generate, to its owner.

The dashboard shows thumbnails of attached images without putting their bytes in Reflex
state (pickled to disk or Redis): the browser loads them here, with the session cookie.
Another user's id, a junk id or no session all get the same 404.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from promptgen.db import admin_session_scope, user_session_scope
from promptgen.services import accounts, uploads


def _image(token: str, draft_id: str) -> tuple[str, bytes] | None:
    if not token:
        return None
    with admin_session_scope() as session:
        user = accounts.resolve_session(session=session, token=token)
    if user is None:
        return None
    with user_session_scope(user.user_id) as session:
        return uploads.draft_image(session=session, user_id=user.user_id, draft_id=draft_id)


async def draft_image(request: Request) -> Response:
    token = request.cookies.get(accounts.SESSION_COOKIE, "")
    found = await run_in_threadpool(_image, token, str(request.path_params.get("draft_id", "")))
    if found is None:
        return Response("Not found.", status_code=404, media_type="text/plain")
    mime_type, data = found
    return Response(
        data,
        media_type=mime_type,  # sniffed from the bytes when uploaded (PNG, JPEG or WebP)
        headers={"Cache-Control": "private, max-age=3600", "Content-Disposition": "inline"},
    )
