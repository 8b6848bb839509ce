"""GET /share/{token}: a public, read-only page for a shared history entry or comparison.

Server-rendered, so the Open Graph tags are in the HTML a link preview bot fetches (a
Reflex page sets its head at build time, not per share). It shows the blueprint, inputs,
signature, model and output (images only when the owner opted in), never who shared it,
and offers Remix: the dashboard, prefilled with the recipe, in the viewer's own account.
A comparison shows its blueprint and inputs once, then its columns side by side; its Remix
is the first column's recipe (every column ran the same form).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from promptgen import urls
from promptgen.api.forms import same_origin
from promptgen.api.html_page import esc, page
from promptgen.db import admin_session_scope, run_in_admin_session, user_session_scope
from promptgen.errors import UserFacingError
from promptgen.models import UserBlueprint
from promptgen.services import accounts, shares, user_blueprints
from promptgen.settings import get_settings

_DESCRIPTION_LENGTH = 200
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}


def _value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _og(shared: shares.SharedGeneration, url: str, *, title: str = "", text: str = "") -> str:
    text = " ".join((text or shared.output).split())
    if len(text) > _DESCRIPTION_LENGTH:
        text = text[: _DESCRIPTION_LENGTH - 1] + "…"
    title = title or f"{shared.blueprint_name} · {shared.model_name} · PromptGen"
    tags = {
        "og:type": "article",
        "og:site_name": "PromptGen",
        "og:title": title,
        "og:description": text,
        "og:url": url,
    }
    meta = "".join(f'<meta property="{k}" content="{esc(v)}">' for k, v in tags.items())
    return (
        meta
        + '<meta name="twitter:card" content="summary">'
        + f'<meta name="twitter:title" content="{esc(title)}">'
        + f'<meta name="twitter:description" content="{esc(text)}">'
        + f'<meta name="description" content="{esc(text)}">'
        + '<meta name="robots" content="noindex">'
    )


def _inputs(shared: shares.SharedGeneration) -> str:
    return "".join(
        f"<dt>{esc(name)}</dt><dd>{esc(_value(value))}</dd>"
        for name, value in shared.parameters.items()
        if value not in ("", None, [])
    )


def _images(shared: shares.SharedGeneration) -> str:
    return "".join(
        f'<figure><img src="{image.data_url}" alt="{esc(image.filename)}">'
        f"<figcaption class=muted>{esc(image.filename)}</figcaption></figure>"
        for image in shared.images
    )


def _remix(shared: shares.SharedGeneration, what: str = "recipe") -> str:
    return (
        f'<p><a class="button" data-testid="remix" href="{esc(urls.remix(shared.token))}">'
        f"Remix in your account</a> <span class=muted>Opens your dashboard with this {what} "
        "(sign in or sign up first).</span></p>"
        f'<form method="post" action="{esc(urls.share_import(shared.token))}">'
        '<button class="button" type="submit" data-testid="import-blueprint">'
        "Save this blueprint to my blueprints</button></form>"
        if shared.blueprint_slug or shared.from_own_blueprint
        else "<p class=muted>This blueprint is no longer offered, so it cannot be remixed.</p>"
    )


def render_share(shared: shares.SharedGeneration, url: str) -> str:
    signature = (
        f"<p>Visual signature: <b>{esc(shared.signature_name)}</b></p>"
        if shared.signature_name
        else ""
    )
    return (
        '<p class=muted><a href="/">PromptGen</a> · shared generation</p>'
        f'<h1 data-testid="share-blueprint">{esc(shared.blueprint_name)}</h1>'
        f"<p class=muted>{esc(shared.blueprint_description)}</p>"
        f"<p>Model: <b>{esc(shared.model_name)}</b></p>{signature}"
        f'<section class=card><h2>Inputs</h2><dl data-testid="share-inputs">{_inputs(shared)}</dl>'
        f"{_images(shared)}</section>"
        f'<section class=card><h2>Output</h2><pre data-testid="share-output">'
        f"{esc(shared.output)}</pre></section>"
        f"<details class=card><summary>Compiled prompt</summary><pre>"
        f"{esc(shared.compiled_prompt)}</pre></details>{_remix(shared)}"
    )


# Columns side by side on a wide screen, stacked on a phone; inline CSS (no script), which
# the site's CSP allows.
_COLUMNS_STYLE = (
    "<style>body{max-width:80rem}.cols{display:grid;gap:1rem;"
    "grid-template-columns:repeat(auto-fit,minmax(16rem,1fr))}.cols>.card{margin:0}"
    ".cols h3{margin:0 0 .25rem}.win{border-color:#30a46c;border-width:2px}</style>"
)
_STATUS = {
    "succeeded": "",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "refused": "Could not run",
    "pending": "Did not finish",
}


def _column(index: int, column: shares.SharedColumn) -> str:
    badges = []
    if column.is_winner:
        badges.append("<b>Winner</b>")
    if column.vote:
        badges.append("Rated 👍" if column.vote > 0 else "Rated 👎")
    status = _STATUS.get(column.status, column.status)
    if status:
        badges.append(esc(status))
    signature = esc(column.signature_name) if column.signature_name else "No signature"
    heading_id = f"column-{index}"
    return (
        f'<section class="card{" win" if column.is_winner else ""}" data-testid="share-column" '
        f'aria-labelledby="{heading_id}"><h3 id="{heading_id}" data-testid="share-column-model">'
        f"{esc(column.model_name)}</h3><p class=muted>{signature}"
        f"{' · ' + ' · '.join(badges) if badges else ''}</p>"
        f'<pre data-testid="share-column-output">{esc(column.output) or "(no answer)"}</pre>'
        f"<details><summary>Compiled prompt</summary><pre>{esc(column.compiled_prompt)}</pre>"
        "</details></section>"
    )


def render_comparison(shared: shares.SharedComparison, url: str) -> str:
    recipe = shared.recipe
    columns = "".join(_column(i, c) for i, c in enumerate(shared.columns, start=1))
    return (
        '<p class=muted><a href="/">PromptGen</a> · shared comparison</p>'
        f'<h1 data-testid="share-blueprint">{esc(recipe.blueprint_name)}</h1>'
        f"<p class=muted>{esc(recipe.blueprint_description)}</p>"
        f"<section class=card><h2>Inputs</h2><p class=muted>Every column ran this form.</p>"
        f'<dl data-testid="share-inputs">{_inputs(recipe)}</dl>{_images(recipe)}</section>'
        f"<h2>{len(shared.columns)} columns</h2>"
        f'<div class="cols" data-testid="share-columns">{columns}</div>'
        f"{_remix(recipe, 'form and the first column')}"
    )


def _comparison_page(shared: shares.SharedComparison, url: str) -> Response:
    recipe = shared.recipe
    models = ", ".join(c.model_name for c in shared.columns)
    title = f"{recipe.blueprint_name} · compared: {models} · PromptGen"
    winner = next((c for c in shared.columns if c.is_winner), None)
    text = (winner or next((c for c in shared.columns if c.output), shared.columns[0])).output
    return page(
        f"{recipe.blueprint_name} · comparison · PromptGen",
        render_comparison(shared, url),
        head=_og(recipe, url, title=title, text=text) + _COLUMNS_STYLE,
        headers=_HEADERS,
    )


async def share_page(request: Request) -> Response:
    token = request.path_params["token"]
    shared = await run_in_admin_session(shares.get_shared, token=token)
    url = get_settings().app_url.rstrip("/") + urls.share(token)
    if shared is None:
        comparison = await run_in_admin_session(shares.get_shared_comparison, token=token)
        return _gone() if comparison is None else _comparison_page(comparison, url)
    return page(
        f"{shared.blueprint_name} · PromptGen",
        render_share(shared, url),
        head=_og(shared, url),
        headers=_HEADERS,
    )


def _viewer(request: Request) -> accounts.CurrentUser | None:
    token = request.cookies.get(accounts.SESSION_COOKIE, "")
    if not token:
        return None
    with admin_session_scope() as session:
        return accounts.resolve_session(session=session, token=token)


def _copy_blueprint(user_id: uuid.UUID, token: str) -> str | None:
    """The id of the viewer's own copy of a shared entry's blueprint, made once per link
    (a second Remix or Save reuses it); None when the link or its blueprint is gone."""
    with admin_session_scope() as session:
        found = shares.shared_blueprint_draft(session=session, token=token)
    if found is None:
        return None
    draft, _source = found
    source = f"share:{token}"
    with user_session_scope(user_id) as session:
        existing = session.exec(
            select(UserBlueprint.id).where(
                UserBlueprint.user_id == user_id, UserBlueprint.source == source
            )
        ).first()
        if existing is not None:
            return str(existing)
        made = user_blueprints.create_blueprint(
            session=session,
            user_id=user_id,
            draft=draft,
            note="Saved from a shared link",
            source=source,
        )
        return made.id


def _gone() -> Response:
    body = (
        "<h1>This link does not work</h1><p>The share was revoked, or the link is "
        'mistyped.</p><p><a href="/">PromptGen</a></p>'
    )
    return page("Share not found · PromptGen", body, status=404, headers=_HEADERS)


async def remix(request: Request) -> Response:
    """Remix: the dashboard, filled in with the recipe, in the viewer's own account. A
    sharer's own blueprint is copied into the viewer's blueprints first. A comparison
    remixes its first column."""
    token = request.path_params["token"]
    shared = await run_in_admin_session(shares.get_shared_recipe, token=token)
    if shared is None:
        return _gone()
    viewer = await run_in_threadpool(_viewer, request)
    if viewer is None:
        return RedirectResponse(urls.sign_in_then(urls.remix(token)), status_code=303)
    if shared.from_own_blueprint:
        copy = await run_in_threadpool(_copy_blueprint, viewer.user_id, token)
        if copy is None:
            return _gone()
        target = urls.dashboard_remix(token, user_blueprints.user_reference(copy))
    elif shared.blueprint_slug:
        target = urls.dashboard_remix(token)
    else:
        return _gone()
    return RedirectResponse(target, status_code=303, headers={"Referrer-Policy": "no-referrer"})


async def import_blueprint(request: Request) -> Response:
    """Save a shared entry's blueprint into the viewer's own blueprints (a form post)."""
    if not same_origin(request):
        return Response("Cross-site request refused.", status_code=403)
    token = request.path_params["token"]
    viewer = await run_in_threadpool(_viewer, request)
    if viewer is None:
        return RedirectResponse(urls.sign_in_then(urls.share(token)), status_code=303)
    try:
        copy = await run_in_threadpool(_copy_blueprint, viewer.user_id, token)
    except (
        UserFacingError,
        user_blueprints.BlueprintInvalid,
        user_blueprints.BlueprintLimit,
    ) as exc:  # e.g. the viewer already has the most blueprints
        body = f"<h1>Not saved</h1><p role=alert>{esc(exc.message)}</p>"
        return page("Not saved · PromptGen", body, status=422, headers=_HEADERS)
    if copy is None:
        return _gone()
    return RedirectResponse(urls.blueprint(copy), status_code=303)
