"""HTTP routes served next to the Reflex app (mounted with `rx.App(api_transformer=...)`).

A plain Starlette app, testable without Reflex. Each route parses the request, calls a
service and maps the outcome to a response; more routes join `ROUTES`.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from promptgen import urls
from promptgen.api import account, auth, personal, share_page, v1
from promptgen.api.health import health
from promptgen.api.images import draft_image
from promptgen.api.keys import save_key
from promptgen.api.signature_previews import signature_preview
from promptgen.api.stripe_webhook import stripe_webhook

ROUTES: list[BaseRoute] = [
    Route("/api/health", health, methods=["GET"]),
    Route("/api/keys", save_key, methods=["POST"]),
    Route(urls.API_DRAFT_IMAGE + "/{draft_id}", draft_image, methods=["GET"]),
    Route("/api/auth/sign-in", auth.sign_in, methods=["POST"]),
    Route("/api/auth/sign-up", auth.sign_up, methods=["POST"]),
    Route("/api/auth/sign-out", auth.sign_out, methods=["POST"]),
    Route("/api/stripe/webhook", stripe_webhook, methods=["POST"]),
    Route("/api/signatures/{slug}/preview", signature_preview, methods=["GET", "HEAD"]),
    # Account recovery: emailed links and form posts (api/account.py).
    Route(urls.RESET_PASSWORD_LINK, account.open_reset_link, methods=["GET"]),
    Route(urls.VERIFY_EMAIL_LINK, account.open_verification_link, methods=["GET"]),
    Route(urls.API_FORGOT_PASSWORD, account.forgot_password, methods=["POST"]),
    Route(urls.API_RESET_PASSWORD, account.reset_password, methods=["POST"]),
    Route(urls.API_RESEND_VERIFICATION, account.resend_verification, methods=["POST"]),
    Route(urls.API_CHANGE_EMAIL, account.change_email, methods=["POST"]),
    Route(urls.API_CHANGE_PASSWORD, account.change_password, methods=["POST"]),
    # Personal API tokens, export and import (Settings' forms), and public share links.
    Route(urls.API_TOKENS, personal.create_token, methods=["POST"]),
    Route(urls.API_TOKENS_REVOKE, personal.revoke_token, methods=["POST"]),
    Route(urls.API_EXPORT, personal.export_account, methods=["GET"]),
    Route(urls.API_IMPORT, personal.import_account, methods=["POST"]),
    Route(urls.SHARE, share_page.share_page, methods=["GET"]),
    Route(urls.SHARE + "/remix", share_page.remix, methods=["GET"]),
    Route(urls.SHARE + "/import", share_page.import_blueprint, methods=["POST"]),
    # The public REST API (bearer tokens only; api/v1.py).
    *v1.routes(),
]


def build_api() -> Starlette:
    """A fresh Starlette app with every HTTP route (Reflex mounts itself inside it)."""
    return Starlette(routes=list(ROUTES))
