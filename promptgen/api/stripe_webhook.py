"""POST /api/stripe/webhook: verify, apply in one transaction, then tell the user's pages.

400 for anything that is not a genuine Stripe event (nothing written); 500 when it could not
be applied, an unknown price or user included (the transaction rolls back whole, the event is
not recorded, so Stripe's retry starts clean); 200 once committed, including replays and event
types we do not handle. On PostgreSQL the work (row lock, Stripe read, write) runs on the
event loop with async drivers, awaiting the database and Stripe without a thread; on SQLite
it runs through the ORM in a worker thread.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse

from promptgen.db import run_in_admin_session, run_in_admin_transaction, uses_postgres
from promptgen.errors import UserFacingError
from promptgen.services import billing, subscription_sync

log = logging.getLogger(__name__)

# Called with the user id after a committed change; the app registers the live-badge push.
SubscriptionListener = Callable[[uuid.UUID], Awaitable[object]]
subscription_listeners: list[SubscriptionListener] = []


async def _apply(event: dict) -> subscription_sync.AppliedEvent:
    if uses_postgres():
        return await run_in_admin_transaction(subscription_sync.apply_event_async, event=event)
    return await run_in_admin_session(subscription_sync.apply_event, event=event)


async def stripe_webhook(request: Request) -> JSONResponse:
    payload = await request.body()
    try:
        event = subscription_sync.verify_event(payload, request.headers.get("stripe-signature"))
    except UserFacingError as exc:  # the webhook secret is not configured
        return JSONResponse({"error": exc.message}, status_code=503)
    except billing.InvalidWebhook as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    try:
        result = await _apply(event)
    except billing.EventNotApplied as exc:
        log.error("stripe event %s (%s) not applied: %s", event["id"], event["type"], exc)
        return JSONResponse({"error": f"not applied: {exc}; retry"}, status_code=500)
    except Exception:
        log.exception("stripe event %s (%s) could not be applied", event["id"], event["type"])
        return JSONResponse({"error": "could not apply the event; retry"}, status_code=500)
    # The worker's pid goes to the log, not to Stripe: the multi-worker browser test reads it
    # there to show that live updates cross workers.
    log.info(
        "stripe event %s (%s): %s (worker %d)",
        event["id"],
        event["type"],
        result.outcome,
        os.getpid(),
    )
    if result.changed and result.user_id is not None:
        for listener in subscription_listeners:
            try:
                await listener(result.user_id)
            except Exception:  # the change is committed; a failed push must not undo the 200
                log.exception("live update for user %s failed", result.user_id)
    return JSONResponse({"received": True, "outcome": result.outcome})
