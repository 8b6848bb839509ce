"""The yardsticks of the webhook throughput benchmark: the unavoidable part of each event,
served exactly like PromptGen's routes (granian, one worker, the same Starlette), with none of
PromptGen's code on the way.

- `POST /floor/ack`: Stripe's signature check and the JSON parse, then 200. The floor of the
  server stack and the delivering client.
- `POST /floor/refetch`: the same, plus the one read the re-fetch design needs: the event's
  subscription, read through the stripe SDK (`raw_request_async` on one shared
  `HTTPXClient`, the client PromptGen uses) from the same fake Stripe. No database.

Settings come straight from the environment (`STRIPE_WEBHOOK_SECRET`, `STRIPE_SECRET_KEY`,
`STRIPE_API_BASE`), as a bare script would read them.
"""

from __future__ import annotations

import json
import os

import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_clients: list[stripe.StripeClient] = []


def _client() -> stripe.StripeClient:
    # Made on first use, on the worker's event loop (an httpx pool belongs to one loop).
    if not _clients:
        _clients.append(
            stripe.StripeClient(
                os.environ["STRIPE_SECRET_KEY"],
                base_addresses={"api": os.environ["STRIPE_API_BASE"]},
                http_client=stripe.HTTPXClient(timeout=20),
                max_network_retries=1,
            )
        )
    return _clients[0]


def _verified(payload: bytes, signature: str | None) -> dict | None:
    try:
        stripe.WebhookSignature.verify_header(
            payload.decode("utf-8"),
            signature or "",
            os.environ["STRIPE_WEBHOOK_SECRET"],
            stripe.Webhook.DEFAULT_TOLERANCE,
        )
    except stripe.SignatureVerificationError:
        return None
    return json.loads(payload)


def _subscription_id(event: dict) -> str:
    obj = event["data"]["object"]
    if event["type"].startswith("customer.subscription."):
        return obj["id"]
    details = (obj.get("parent") or {}).get("subscription_details") or {}
    return details.get("subscription") or obj["subscription"]


async def ack(request: Request) -> JSONResponse:
    event = _verified(await request.body(), request.headers.get("stripe-signature"))
    if event is None:
        return JSONResponse({"error": "signature does not verify"}, status_code=400)
    return JSONResponse({"received": True})


async def refetch(request: Request) -> JSONResponse:
    event = _verified(await request.body(), request.headers.get("stripe-signature"))
    if event is None:
        return JSONResponse({"error": "signature does not verify"}, status_code=400)
    path = f"/v1/subscriptions/{_subscription_id(event)}"
    subscription = json.loads((await _client().raw_request_async("get", path)).body)
    return JSONResponse({"received": True, "status": subscription["status"]})


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def build_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/api/health", health, methods=["GET"]),
            Route("/floor/ack", ack, methods=["POST"]),
            Route("/floor/refetch", refetch, methods=["POST"]),
        ]
    )
