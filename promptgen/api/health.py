"""`/api/health`: liveness and database reachability, with no secret in the reason."""

from __future__ import annotations

import re

import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

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
