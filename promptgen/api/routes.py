"""HTTP routes served next to the Reflex app (mounted with `rx.App(api_transformer=...)`).

A plain Starlette app, testable without Reflex. Each route parses the request, calls a
service and maps the outcome to a response; more routes join `ROUTES`.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from promptgen import routes
from promptgen.api import account, auth
from promptgen.api.keys import save_key
from promptgen.api.stripe_webhook import stripe_webhook
from promptgen.db import check_database
from promptgen.settings import get_settings

_MAX_REASON_LENGTH = 200
_NO_STORE = {"Cache-Control": "no-store"}
# user:password@ in any URL-like text, in case a driver echoes its connection string.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)


def _redact(reason: str) -> str:
    """The reason without credentials: no URL user info, no configured password."""
    reason = _URL_CREDENTIALS.sub(r"\g<scheme>***@", reason)
    try:
        password = sa.engine.make_url(get_settings().database_url).password
    except Exception:  # an unparsable URL has no password for us to hide
        password = None
    if password:
        reason = reason.replace(str(password), "***")
    for keyword in ("password=", "password ="):
        index = reason.lower().find(keyword)
        if index != -1:
            reason = reason[: index + len(keyword)] + "***"
    return reason[:_MAX_REASON_LENGTH]


async def health(request: Request) -> JSONResponse:
    """Liveness and database reachability, for load balancers and `make run` checks."""
    reason = await run_in_threadpool(check_database)
    if reason is None:
        return JSONResponse({"status": "ok", "database": "ok"}, headers=_NO_STORE)
    return JSONResponse(
        {"status": "error", "database": "unreachable", "reason": _redact(reason)},
        status_code=503,
        headers=_NO_STORE,
    )


ROUTES: list[BaseRoute] = [
    Route("/api/health", health, methods=["GET"]),
    Route("/api/keys", save_key, methods=["POST"]),
    Route("/api/auth/sign-in", auth.sign_in, methods=["POST"]),
    Route("/api/auth/sign-up", auth.sign_up, methods=["POST"]),
    Route("/api/auth/sign-out", auth.sign_out, methods=["POST"]),
    Route("/api/stripe/webhook", stripe_webhook, methods=["POST"]),
    # Account recovery: emailed links and form posts (api/account.py).
    Route(routes.RESET_PASSWORD_LINK, account.open_reset_link, methods=["GET"]),
    Route(routes.VERIFY_EMAIL_LINK, account.open_verification_link, methods=["GET"]),
    Route(routes.API_FORGOT_PASSWORD, account.forgot_password, methods=["POST"]),
    Route(routes.API_RESET_PASSWORD, account.reset_password, methods=["POST"]),
    Route(routes.API_RESEND_VERIFICATION, account.resend_verification, methods=["POST"]),
    Route(routes.API_CHANGE_EMAIL, account.change_email, methods=["POST"]),
    Route(routes.API_CHANGE_PASSWORD, account.change_password, methods=["POST"]),
]


def build_api() -> Starlette:
    """A fresh Starlette app with every HTTP route (Reflex mounts itself inside it)."""
    return Starlette(routes=list(ROUTES))
