"""Plain server-rendered HTML pages (API docs, share links, a new token shown once).

No script at all, so the site's Content-Security-Policy (scripts by hash only) holds; the
style is inline, which the policy allows. Every value is escaped by the caller with `esc`.
"""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:56rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1b1f}code,pre{font-family:ui-monospace,monospace;font-size:.9em}"
    "pre{background:#f4f4f6;padding:1rem;overflow:auto;border-radius:6px;white-space:pre-wrap}"
    ".card{border:1px solid #ddd;border-radius:8px;padding:1rem;margin:1rem 0}"
    ".m{font-weight:700;padding:.1rem .5rem;border-radius:4px;background:#e8eefc;"
    "margin-right:.5rem}.muted{color:#666;font-size:.9em}"
    ".button{display:inline-block;padding:.5rem 1rem;border-radius:6px;background:#3e63dd;"
    "color:#fff;text-decoration:none;font-weight:600;border:0;font-size:1rem;cursor:pointer}"
    "dt{font-weight:600}dd{margin:0 0 .5rem 0}img{max-width:100%;border-radius:6px}"
)


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def page(
    title: str,
    body: str,
    *,
    head: str = "",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    document = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title>{head}<style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=headers)
