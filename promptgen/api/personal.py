"""Settings' plain HTML form posts for the public API and for moving data between accounts.

- POST /api/tokens creates a personal API token and answers with a page that shows it once:
  the token never passes through the Reflex websocket or a state var (which is pickled to
  disk or Redis), only through this response, marked no-store.
- POST /api/tokens/revoke revokes one (the service checks it is the user's own).
- GET /api/account/export downloads the user's blueprints and history as one JSON file.
- POST /api/account/import takes such a file (or a Langfuse prompt) into this account.

Each identifies the user by the session cookie (SameSite=Lax) and refuses a cross-site
Origin, like /api/keys.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from promptgen import urls
from promptgen.api.forms import redirect, same_origin
from promptgen.api.html_page import esc, page
from promptgen.db import admin_session_scope, user_session_scope
from promptgen.services import accounts, api_tokens, transfer

_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _user(request: Request) -> accounts.CurrentUser | None:
    token = request.cookies.get(accounts.SESSION_COOKIE, "")
    if not token:
        return None
    with admin_session_scope() as session:
        return accounts.resolve_session(session=session, token=token)


def _refused() -> Response:
    return Response("Cross-site request refused.", status_code=403)


def _back_to_settings(**query: str) -> RedirectResponse:
    return redirect(urls.SETTINGS, **query)


def _create(user_id, name: str, scope: str) -> api_tokens.NewToken:
    with user_session_scope(user_id) as session:
        return api_tokens.create_token(session=session, user_id=user_id, name=name, scope=scope)


async def create_token(request: Request) -> Response:
    if not same_origin(request):
        return _refused()
    user = await run_in_threadpool(_user, request)
    if user is None:
        return RedirectResponse(urls.sign_in_then(urls.SETTINGS), status_code=303)
    form = await request.form(max_files=0, max_fields=5)
    try:
        created = await run_in_threadpool(
            _create, user.user_id, str(form.get("name", ""))[:200], str(form.get("scope", ""))
        )
    except api_tokens.ApiTokenError as exc:
        return _back_to_settings(token_error=exc.code)
    body = (
        "<h1>Your new API token</h1>"
        f"<p><b>{esc(created.view.name)}</b> · {esc(api_tokens.SCOPES[created.view.scope])}</p>"
        "<p>Copy it now: it is shown only this once. PromptGen keeps only a hash of it.</p>"
        f'<pre id="new-token" data-testid="new-token">{esc(created.secret)}</pre>'
        f'<p>Use it as <code>Authorization: Bearer …</code>; see the <a href="/api/v1/docs">'
        f'API reference</a>.</p><p><a class="button" href="{urls.SETTINGS}#api-tokens">'
        "Back to Settings</a></p>"
    )
    return page("New API token · PromptGen", body, headers=_NO_STORE)


def _revoke(user_id, token_id: str) -> bool:
    with user_session_scope(user_id) as session:
        return api_tokens.revoke_token(session=session, user_id=user_id, token_id=token_id)


async def revoke_token(request: Request) -> Response:
    if not same_origin(request):
        return _refused()
    user = await run_in_threadpool(_user, request)
    if user is None:
        return RedirectResponse(urls.sign_in_then(urls.SETTINGS), status_code=303)
    form = await request.form(max_files=0, max_fields=5)
    done = await run_in_threadpool(_revoke, user.user_id, str(form.get("token_id", ""))[:64])
    return _back_to_settings(token_revoked="1" if done else "0")


def _export(user_id) -> dict:
    with user_session_scope(user_id) as session:
        return transfer.export_account(session=session, user_id=user_id)


async def export_account(request: Request) -> Response:
    user = await run_in_threadpool(_user, request)
    if user is None:
        return RedirectResponse(urls.sign_in_then(urls.SETTINGS), status_code=303)
    data = await run_in_threadpool(_export, user.user_id)
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False),
        media_type="application/json",
        headers={
            **_NO_STORE,
            "Content-Disposition": f'attachment; filename="promptgen-export-{day}.json"',
        },
    )


def _import(user_id, raw: bytes, filename: str) -> transfer.ImportReport:
    data = transfer.parse_import(raw, filename=filename)
    with user_session_scope(user_id) as session:
        return transfer.import_account(session=session, user_id=user_id, data=data)


def _result_page(title: str, message: str, *, ok: bool) -> Response:
    body = (
        f"<h1>{esc(title)}</h1>"
        f'<p data-testid="import-result" role="{"status" if ok else "alert"}">{esc(message)}</p>'
        f'<p><a class="button" href="{urls.SETTINGS}#import-export">Back to Settings</a></p>'
    )
    return page(f"{title} · PromptGen", body, status=200 if ok else 422, headers=_NO_STORE)


async def import_account(request: Request) -> Response:
    if not same_origin(request):
        return _refused()
    user = await run_in_threadpool(_user, request)
    if user is None:
        return RedirectResponse(urls.sign_in_then(urls.SETTINGS), status_code=303)
    form = await request.form(max_files=1, max_fields=3, max_part_size=transfer.MAX_IMPORT_BYTES)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        return _result_page("Nothing imported", "Choose a file to import.", ok=False)
    raw = await upload.read(transfer.MAX_IMPORT_BYTES + 1)
    try:
        report = await run_in_threadpool(_import, user.user_id, raw, upload.filename or "")
    except transfer.TransferError as exc:
        return _result_page("Nothing imported", f"The file was not imported: {exc}", ok=False)
    return _result_page("Import finished", report.summary(), ok=True)
