"""POST /api/keys: save a user's own API key from a plain HTML form.

The key travels once, in this POST, and never through the Reflex websocket or any state
var; the settings page only ever receives its last four characters. The session cookie
identifies the user (SameSite=Lax keeps it off cross-site POSTs), and the Origin header,
when present, must be this site's.
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from promptgen import urls
from promptgen.api.forms import same_origin
from promptgen.db import admin_session_scope, user_session_scope
from promptgen.errors import UserFacingError
from promptgen.services import accounts, keys

log = logging.getLogger(__name__)


def _back(**query: str) -> RedirectResponse:
    return RedirectResponse(f"{urls.SETTINGS}?{urlencode(query)}", status_code=303)


def _save(token: str, provider: str, api_key: str) -> str | None:
    """Save the key; None when done, else the message for the user."""
    with admin_session_scope() as session:
        user = accounts.resolve_session(session=session, token=token)
    if user is None:
        return "signed-out"
    try:
        with user_session_scope(user.user_id) as session:
            keys.save_key(session=session, user_id=user.user_id, provider=provider, api_key=api_key)
    except UserFacingError as exc:
        return exc.message
    return None


async def save_key(request: Request) -> Response:
    if not same_origin(request):
        return Response("Cross-site request refused.", status_code=403)
    form = await request.form()
    provider = str(form.get("provider", ""))
    api_key = str(form.get("api_key", ""))
    token = request.cookies.get(accounts.SESSION_COOKIE, "")
    problem = await run_in_threadpool(_save, token, provider, api_key)
    if problem == "signed-out":
        return RedirectResponse(urls.sign_in_then(urls.SETTINGS), status_code=303)
    if problem:
        return _back(key_error=problem, provider=provider)
    log.info("user key saved for provider %s", provider)
    return _back(key_saved=provider)
