"""GET /api/signatures/{slug}/preview: a visual signature's preview image.

The image lives in the database (imported with the catalog), so a new one shows without a
redeploy. Its URL carries the content hash (`?v=`), so a matching request may be cached for
a year; any other is revalidated by ETag. The content type is the one the import sniffed
from the bytes (PNG, JPEG or WebP only), and `nosniff` (edge headers) keeps browsers to it.
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from promptgen.db import session_scope
from promptgen.services import signatures

_SLUG = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
YEAR_SECONDS = 365 * 24 * 3600


def _load(slug: str) -> signatures.Preview | None:
    with session_scope() as session:
        return signatures.get_preview(session=session, slug=slug)


async def signature_preview(request: Request) -> Response:
    slug = request.path_params["slug"]
    if not _SLUG.match(slug):
        return Response("No such signature.", status_code=404, media_type="text/plain")
    preview = await run_in_threadpool(_load, slug)
    if preview is None:
        return Response(
            "This signature has no preview image.",
            status_code=404,
            media_type="text/plain",
            headers={"Cache-Control": "no-cache"},
        )
    etag = f'"{preview.sha256[:32]}"'
    version = request.query_params.get("v", "")
    cache = (
        f"public, max-age={YEAR_SECONDS}, immutable"
        if version and preview.sha256.startswith(version)
        else "public, max-age=300, must-revalidate"
    )
    headers = {"ETag": etag, "Cache-Control": cache}
    if etag in {t.strip() for t in request.headers.get("if-none-match", "").split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(preview.data, media_type=preview.mime_type, headers=headers)
