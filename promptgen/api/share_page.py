"""GET /share/{token}: a public, read-only page for a shared history entry.

Server-rendered, so the Open Graph tags are in the HTML a link preview bot fetches (a
Reflex page sets its head at build time, not per share). It shows the blueprint, inputs,
signature, model and output (images only when the owner opted in), never who shared it,
and offers Remix: the dashboard, prefilled with the recipe, in the viewer's own account.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from promptgen import urls
from promptgen.api.html_page import esc, page
from promptgen.db import run_in_admin_session
from promptgen.services import shares
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


def _og(shared: shares.SharedGeneration, url: str) -> str:
    text = " ".join(shared.output.split())
    if len(text) > _DESCRIPTION_LENGTH:
        text = text[: _DESCRIPTION_LENGTH - 1] + "…"
    title = f"{shared.blueprint_name} · {shared.model_name} · PromptGen"
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


def render_share(shared: shares.SharedGeneration, url: str) -> str:
    inputs = "".join(
        f"<dt>{esc(name)}</dt><dd>{esc(_value(value))}</dd>"
        for name, value in shared.parameters.items()
        if value not in ("", None, [])
    )
    images = "".join(
        f'<figure><img src="{image.data_url}" alt="{esc(image.filename)}">'
        f"<figcaption class=muted>{esc(image.filename)}</figcaption></figure>"
        for image in shared.images
    )
    signature = (
        f"<p>Visual signature: <b>{esc(shared.signature_name)}</b></p>"
        if shared.signature_name
        else ""
    )
    remix = (
        f'<p><a class="button" data-testid="remix" href="{esc(urls.remix(shared.token))}">'
        "Remix in your account</a> <span class=muted>Opens the dashboard with this recipe; "
        "sign in or sign up first.</span></p>"
        if shared.blueprint_slug
        else "<p class=muted>This blueprint is no longer offered, so it cannot be remixed.</p>"
    )
    return (
        '<p class=muted><a href="/">PromptGen</a> · shared generation</p>'
        f'<h1 data-testid="share-blueprint">{esc(shared.blueprint_name)}</h1>'
        f"<p class=muted>{esc(shared.blueprint_description)}</p>"
        f"<p>Model: <b>{esc(shared.model_name)}</b></p>{signature}"
        f'<section class=card><h2>Inputs</h2><dl data-testid="share-inputs">{inputs}</dl>'
        f"{images}</section>"
        f'<section class=card><h2>Output</h2><pre data-testid="share-output">'
        f"{esc(shared.output)}</pre></section>"
        f"<details class=card><summary>Compiled prompt</summary><pre>"
        f"{esc(shared.compiled_prompt)}</pre></details>{remix}"
    )


async def share_page(request: Request) -> Response:
    token = request.path_params["token"]
    shared = await run_in_admin_session(shares.get_shared, token=token)
    if shared is None:
        body = (
            "<h1>This link does not work</h1><p>The share was revoked, or the link is "
            'mistyped.</p><p><a href="/">PromptGen</a></p>'
        )
        return page("Share not found · PromptGen", body, status=404, headers=_HEADERS)
    url = get_settings().app_url.rstrip("/") + urls.share(token)
    return page(
        f"{shared.blueprint_name} · PromptGen",
        render_share(shared, url),
        head=_og(shared, url),
        headers=_HEADERS,
    )
