"""A fake Stripe API server that speaks Stripe's real wire format.

Point the real `stripe` SDK at it in tests:

    with FakeStripe() as fake:
        client = stripe.StripeClient(DEFAULT_KEY, base_addresses={"api": fake.url},
                                     max_network_retries=0)
        session = client.v1.checkout.sessions.create(params={...})

It is a stdlib `ThreadingHTTPServer` on 127.0.0.1 (a free port, HTTP/1.1 with keep-alive, one
daemon thread per connection), like the fakes in `fake_providers.py`.

Served endpoints (all need `Authorization: Bearer <key>` with a key in `valid_keys`):

- `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`
- `POST /v1/billing_portal/sessions`
- `GET|POST|DELETE /v1/subscriptions/{id}` (retrieve, update simple fields, cancel)

Behaviour is set through plain attributes: `valid_keys`, `customers` (known customer ids; while
empty any id starting with `cus_` is accepted), `subscriptions` (id -> Stripe subscription
dict, see `subscription_object`), `checkout_sessions` (filled by the fake), and the `fail_next`
queue. Every request is recorded in `requests` (a `RecordedRequest`: method, path, lower-cased
headers, query, raw body and the bracket-notation form parsed into nested dicts/lists).

Wire facts (stripe-python 16.1):
- v1 requests are `application/x-www-form-urlencoded` with bracket notation; lists are always
  indexed (`line_items[0][price]=...`), booleans are `true`/`false`, `None` values are left out.
  GET and DELETE send their params in the query string.
- Every request carries `Stripe-Version` (the SDK's pinned version unless `stripe_version=` is
  given) and every POST an `Idempotency-Key`; the fake replays a 2xx answer for a repeated key
  (with `Idempotent-Replayed: true`) like Stripe does.
- Errors are `{"error": {"message", "type", "code"?, "param"?, "doc_url"?}}`; the SDK maps
  401 -> AuthenticationError, 400/404 -> InvalidRequestError, 429 -> RateLimitError,
  402 -> CardError, 403 -> PermissionError, anything else -> APIError.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import secrets
import string
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.local_http import QuietHandler, ServedFake

DEFAULT_KEY = "sk_test_promptgen"
DOC_BASE = "https://stripe.com/docs/error-codes/"

_ID_ALPHABET = string.ascii_letters + string.digits


def stripe_id(prefix: str, length: int = 24) -> str:
    """A Stripe-looking object id such as `cs_test_a1B2...` or `sub_1Qx...`."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


# ---------------------------------------------------------------------------------------------
# Form decoding (Stripe bracket notation)
# ---------------------------------------------------------------------------------------------

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


def _split_key(key: str) -> list[str]:
    head, bracket, rest = key.partition("[")
    if not bracket:
        return [key]
    return [head, *_KEY_PART.findall("[" + rest)]


def _listify(node: Any) -> Any:
    if isinstance(node, dict):
        node = {k: _listify(v) for k, v in node.items()}
        if node and all(isinstance(k, str) and k.isdigit() for k in node):
            return [node[k] for k in sorted(node, key=int)]
        return node
    if isinstance(node, list):
        return [_listify(v) for v in node]
    return node


def parse_form(body: str | bytes) -> dict[str, Any]:
    """Decode Stripe's bracket-notation form body into nested dicts and lists.

    `line_items[0][price]=p&metadata[user_id]=7&expand[]=x` becomes
    `{"line_items": [{"price": "p"}], "metadata": {"user_id": "7"}, "expand": ["x"]}`.
    Values stay strings (Stripe sends `true`/`false` and numbers as text).
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8")
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = _split_key(key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":  # `expand[]=x`: append to a list
                # The parent created this slot as a dict; an empty-bracket key appends.
                index = str(len(node))
                part = index
            if last:
                node[part] = value
            else:
                nxt = node.get(part)
                if not isinstance(nxt, dict):
                    nxt = {}
                    node[part] = nxt
                node = nxt
    return _listify(root)


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"


# ---------------------------------------------------------------------------------------------
# Objects
# ---------------------------------------------------------------------------------------------

_INTERVAL_SECONDS = {"day": 86_400, "week": 7 * 86_400, "month": 30 * 86_400, "year": 365 * 86_400}


def price_object(
    price_id: str,
    *,
    interval: str = "month",
    unit_amount: int = 1000,
    currency: str = "usd",
    product: str | None = None,
    created: int | None = None,
) -> dict[str, Any]:
    """A recurring Stripe `price` object."""
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "created": created if created is not None else int(time.time()) - 86_400,
        "currency": currency,
        "custom_unit_amount": None,
        "livemode": False,
        "lookup_key": None,
        "metadata": {},
        "nickname": None,
        "product": product or "prod_" + price_id.removeprefix("price_"),
        "recurring": {
            "aggregate_usage": None,
            "interval": interval,
            "interval_count": 1,
            "meter": None,
            "trial_period_days": None,
            "usage_type": "licensed",
        },
        "tax_behavior": "unspecified",
        "tiers_mode": None,
        "transform_quantity": None,
        "type": "recurring",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def _plan_from_price(price: dict[str, Any]) -> dict[str, Any]:
    """The legacy `plan` mirror of a recurring price (still sent on subscriptions)."""
    recurring = price.get("recurring") or {}
    return {
        "id": price["id"],
        "object": "plan",
        "active": True,
        "amount": price.get("unit_amount"),
        "amount_decimal": price.get("unit_amount_decimal"),
        "billing_scheme": "per_unit",
        "created": price.get("created"),
        "currency": price.get("currency", "usd"),
        "interval": recurring.get("interval", "month"),
        "interval_count": recurring.get("interval_count", 1),
        "livemode": False,
        "metadata": {},
        "meter": None,
        "nickname": None,
        "product": price.get("product"),
        "tiers_mode": None,
        "transform_usage": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }


_FIXTURES = Path(__file__).with_name("stripe_fixtures3.json")


@functools.cache
def _fixtures() -> dict[str, Any]:
    return json.loads(_FIXTURES.read_text())["resources"]


def stripe_shape(resource: str) -> dict[str, Any]:
    """A fresh copy of Stripe's own example object (`stripe_fixtures3.json`, copied from
    stripe/openapi's fixtures3.json): every field real Stripe sends, placeholder values."""
    return copy.deepcopy(_fixtures()[resource])


def customer_object(
    customer_id: str, *, email: str | None = None, metadata: dict[str, str] | None = None
) -> dict[str, Any]:
    """A Stripe `customer` (fixtures3 shape) as a fresh live one carries it."""
    customer = stripe_shape("customer")
    customer.update(
        id=customer_id,
        created=int(time.time()),
        email=email,
        metadata=dict(metadata or {}),
        discount=None,
        invoice_prefix=customer_id[-7:].upper(),
    )
    return customer


PERIOD_PLACEMENTS = ("items", "subscription", "both")


def subscription_object(
    id: str,
    customer: str,
    price_id: str,
    interval: str = "month",
    status: str = "active",
    current_period_start: int | None = None,
    current_period_end: int | None = None,
    cancel_at_period_end: bool = False,
    metadata: dict[str, str] | None = None,
    *,
    unit_amount: int = 1000,
    product: str | None = None,
    created: int | None = None,
    cancel_at: int | None = None,
    period_placement: str = "items",
) -> dict[str, Any]:
    """A Stripe `subscription` with one item, built on fixtures3's example object with the
    placeholders replaced by what a live subscription in `status` carries.

    `current_period_start`/`current_period_end` default to now and now + one interval (a month
    is 30 days). `period_placement` says where they go: "items" (`items.data[0]`, API versions
    from 2025-03-31.basil on, as in fixtures3), "subscription" (top level, older versions; the
    item then has none), or "both".
    """
    if period_placement not in PERIOD_PLACEMENTS:
        raise ValueError(f"period_placement must be one of {PERIOD_PLACEMENTS}")
    now = int(time.time())
    start = current_period_start if current_period_start is not None else now
    end = (
        current_period_end
        if current_period_end is not None
        else start + _INTERVAL_SECONDS.get(interval, _INTERVAL_SECONDS["month"])
    )
    created_at = created if created is not None else start
    price = price_object(
        price_id,
        interval=interval,
        unit_amount=unit_amount,
        product=product,
        created=created_at - 86_400,
    )
    sub = stripe_shape("subscription")
    item = sub["items"]["data"][0]
    item.update(
        id=stripe_id("si_", 14),
        created=created_at,
        price=price,
        plan=_plan_from_price(price),
        subscription=id,
        billing_thresholds=None,
        current_period_start=start,
        current_period_end=end,
    )
    ending = cancel_at if cancel_at is not None else (end if cancel_at_period_end else None)
    sub.update(
        id=id,
        customer=customer,
        status=status,
        created=created_at,
        start_date=created_at,
        billing_cycle_anchor=start,
        billing_cycle_anchor_config=None,
        billing_thresholds=None,
        cancel_at=ending,
        cancel_at_period_end=cancel_at_period_end,
        canceled_at=now if ending else None,
        cancellation_details={
            "comment": None,
            "feedback": None,
            "reason": "cancellation_requested" if ending else None,
        },
        currency=price["currency"],
        ended_at=None,
        metadata=dict(metadata or {}),
        next_pending_invoice_item_invoice=None,
        pause_collection=None,
        pending_invoice_item_interval=None,
        pending_update=None,
        transfer_data=None,
        trial_end=None,
        trial_start=None,
        billing_schedules=[],
        managed_payments=None,
        latest_invoice=None,
    )
    sub["automatic_tax"] = {"disabled_reason": None, "enabled": False, "liability": None}
    sub["items"].update(total_count=1, url=f"/v1/subscription_items?subscription={id}")
    if period_placement in ("subscription", "both"):
        sub["current_period_start"], sub["current_period_end"] = start, end
    if period_placement == "subscription":
        del item["current_period_start"], item["current_period_end"]
    return sub


# ---------------------------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the query string
    headers: dict[str, str]  # header names lower-cased
    form: dict[str, Any]  # the bracket-notation body (or query for GET/DELETE), parsed
    raw: bytes = b""  # the body as sent
    query: dict[str, Any] = field(default_factory=dict)  # the query string, parsed likewise


class StripeErrorReply(Exception):
    """Raised inside a handler to answer at once with Stripe's error JSON."""

    def __init__(
        self,
        status: int,
        message: str,
        type_: str = "invalid_request_error",
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, message)
        self.status = status
        error: dict[str, Any] = {"message": message, "type": type_}
        if code:
            error["code"] = code
            error["doc_url"] = DOC_BASE + code
        if param:
            error["param"] = param
        self.body = {"error": error}
        self.headers = headers or {}


def _missing(param: str) -> StripeErrorReply:
    return StripeErrorReply(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def _no_such(kind: str, object_id: str, status: int, param: str) -> StripeErrorReply:
    return StripeErrorReply(
        status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


_FAILURES: dict[int, tuple[str, str, str | None]] = {
    400: ("Invalid request.", "invalid_request_error", None),
    401: ("Invalid API Key provided: sk_test_****1234", "invalid_request_error", None),
    402: ("Your card was declined.", "card_error", "card_declined"),
    403: (
        "The provided key does not have the required permissions for this endpoint.",
        "invalid_request_error",
        None,
    ),
    404: ("Unrecognized request URL.", "invalid_request_error", None),
    409: (
        "This object cannot be accessed right now because another API request or Stripe "
        "process is currently accessing it.",
        "invalid_request_error",
        "lock_timeout",
    ),
    429: (
        "Request rate limit exceeded. Learn more about rate limits here "
        "https://stripe.com/docs/rate-limits.",
        "invalid_request_error",
        "rate_limit",
    ),
    500: ("An unknown error occurred", "api_error", None),
    502: ("An unknown error occurred", "api_error", None),
    503: ("An unknown error occurred", "api_error", None),
}


class _Handler(QuietHandler):
    server_version = "FakeStripe/1.0"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        fake = self.server.fake
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        query = parse_form(split.query)
        try:
            form = parse_form(raw) if raw else dict(query)
        except UnicodeDecodeError:
            form = {}
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            form=form,
            raw=raw,
            query=query,
        )
        fake._record(request)
        headers = {
            "Request-Id": "req_" + stripe_id("", 14),
            "Stripe-Version": request.headers.get("stripe-version", "2025-03-31.basil"),
        }
        idem = request.headers.get("idempotency-key")
        if idem:
            headers["Idempotency-Key"] = idem
        try:
            status, body, extra = fake._handle(request)
            headers.update(extra)
        except StripeErrorReply as reply:
            status, body = reply.status, reply.body
            headers.update(reply.headers)
        try:
            self._send_json(status, body, headers)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _send_json(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = json.dumps(body, indent=2).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, no-store")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()


_Answer = tuple[int, Any, dict[str, str]]

_SUBSCRIPTION_PATH = re.compile(r"^/v1/subscriptions/([^/]+)$")
_CHECKOUT_PATH = re.compile(r"^/v1/checkout/sessions/([^/]+)$")
_CHECKOUT_EXPIRE_PATH = re.compile(r"^/v1/checkout/sessions/([^/]+)/expire$")
_CUSTOMER_PATH = re.compile(r"^/v1/customers/([^/]+)$")

# Subscription update params the fake applies; the others it accepts and ignores.
_SUBSCRIPTION_IGNORED = frozenset(
    {"expand", "proration_behavior", "proration_date", "payment_behavior", "billing_cycle_anchor"}
)
_SUBSCRIPTION_SIMPLE = frozenset(
    {"description", "default_payment_method", "default_source", "days_until_due"}
)


class FakeStripe(ServedFake):
    """Fake Stripe API (checkout, billing portal, subscriptions). SDK base: `fake.url`."""

    HANDLER = _Handler

    def __init__(self, valid_keys: set[str] | None = None) -> None:
        self.valid_keys: set[str] = set(valid_keys) if valid_keys else {DEFAULT_KEY}
        self.customers: set[str] = set()  # empty: any id starting with "cus_" exists
        # Customers created through POST /v1/customers (they always exist).
        self.customer_objects: dict[str, dict[str, Any]] = {}
        self.subscriptions: dict[str, dict[str, Any]] = {}
        # Seconds every read (GET) waits before answering, like a real network round trip.
        self.read_latency: float = 0.0
        self._checkout_forms: dict[str, dict[str, Any]] = {}
        self.checkout_sessions: dict[str, dict[str, Any]] = {}
        self.portal_sessions: dict[str, dict[str, Any]] = {}
        self.requests: list[RecordedRequest] = []
        self._lock = threading.RLock()
        self._failures: deque[int] = deque()
        self._idempotent: dict[str, tuple[str, bytes, _Answer]] = {}

    # -- behaviour --

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next `times` authenticated requests answer `status` with Stripe's error JSON."""
        with self._lock:
            self._failures.extend([status] * times)

    def reset(self) -> None:
        """Forget queued failures, recorded requests, created sessions and idempotency keys.

        Customers created through the API are forgotten too; `valid_keys`, `customers`,
        `subscriptions` and `read_latency` stay as the test set them.
        """
        with self._lock:
            self._failures.clear()
            self.requests.clear()
            self.checkout_sessions.clear()
            self._checkout_forms.clear()
            self.portal_sessions.clear()
            self.customer_objects.clear()
            self._idempotent.clear()

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        """The recorded requests with this method and path."""
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def customer_exists(self, customer: str) -> bool:
        with self._lock:
            if customer in self.customer_objects:
                return True
            if self.customers:
                return customer in self.customers
        return customer.startswith("cus_")

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _next_failure(self) -> int | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    # -- dispatch --

    def _check_auth(self, request: RecordedRequest) -> None:
        auth = request.headers.get("authorization", "")
        key = auth[len("Bearer ") :].strip() if auth.startswith("Bearer ") else ""
        if not key:
            raise StripeErrorReply(
                401,
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
                "or we can help at https://support.stripe.com/.",
                headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
            )
        if key not in self.valid_keys:
            prefix = key[:8] if key.startswith(("sk_test_", "sk_live_", "rk_test_")) else ""
            masked = f"{prefix}****{key[-4:]}" if len(key) > 4 else "****"
            raise StripeErrorReply(
                401,
                f"Invalid API Key provided: {masked}",
                headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
            )

    def _handle(self, request: RecordedRequest) -> _Answer:
        self._check_auth(request)
        failure = self._next_failure()
        if failure is not None:
            message, type_, code = _FAILURES.get(failure, _FAILURES[500])
            raise StripeErrorReply(failure, message, type_, code=code)

        idem = request.headers.get("idempotency-key") if request.method == "POST" else None
        if idem:
            with self._lock:
                seen = self._idempotent.get(idem)
            if seen is not None:
                path, raw, answer = seen
                if path != request.path or raw != request.raw:
                    raise StripeErrorReply(
                        400,
                        "Keys for idempotent requests can only be used with the same "
                        "parameters they were first used with. Try using a key other than "
                        f"'{idem}' if you meant to execute a different request.",
                        "idempotency_error",
                    )
                status, body, headers = answer
                return status, body, {**headers, "Idempotent-Replayed": "true"}

        answer = self._route(request)
        if idem and 200 <= answer[0] < 300:
            with self._lock:
                self._idempotent[idem] = (request.path, request.raw, answer)
        return answer

    def _route(self, request: RecordedRequest) -> _Answer:
        method, path = request.method, request.path.rstrip("/")
        if method == "GET" and self.read_latency:
            time.sleep(self.read_latency)
        if path == "/v1/checkout/sessions" and method == "POST":
            return 200, self._create_checkout_session(request.form), {}
        if path == "/v1/checkout/sessions" and method == "GET":
            return 200, self._list_checkout_sessions(request.form), {}
        if (match := _CHECKOUT_EXPIRE_PATH.match(path)) and method == "POST":
            return 200, self._expire_checkout_session(match[1]), {}
        if path == "/v1/customers" and method == "POST":
            return 200, self._create_customer(request.form), {}
        if (match := _CUSTOMER_PATH.match(path)) and method == "GET":
            return 200, self._customer(match[1]), {}
        if path == "/v1/subscriptions" and method == "GET":
            return 200, self._list_subscriptions(request.form), {}
        if (match := _CHECKOUT_PATH.match(path)) and method == "GET":
            with self._lock:
                found = self.checkout_sessions.get(match[1])
            if found is None:
                raise _no_such("checkout.session", match[1], 404, "session")
            return 200, found, {}
        if path == "/v1/billing_portal/sessions" and method == "POST":
            return 200, self._create_portal_session(request.form), {}
        if match := _SUBSCRIPTION_PATH.match(path):
            sub_id = match[1]
            if method == "GET":
                return 200, self._subscription(sub_id), {}
            if method == "DELETE":
                return 200, self._cancel_subscription(sub_id), {}
            if method == "POST":
                return 200, self._update_subscription(sub_id, request.form), {}
        raise StripeErrorReply(
            404,
            f"Unrecognized request URL ({method}: {request.path}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        )

    # -- checkout --

    def _create_checkout_session(self, form: dict[str, Any]) -> dict[str, Any]:
        mode = form.get("mode")
        if not mode:
            raise _missing("mode")
        if mode not in ("payment", "setup", "subscription"):
            raise StripeErrorReply(
                400,
                f"Invalid mode: must be one of payment, setup, or subscription (got '{mode}')",
                code="parameter_invalid_string",
                param="mode",
            )
        ui_mode = form.get("ui_mode", "hosted")
        if ui_mode == "hosted" and not form.get("success_url"):
            raise _missing("success_url")
        line_items = form.get("line_items") or []
        if mode != "setup" and not line_items:
            raise _missing("line_items")
        for i, item in enumerate(line_items):
            if not isinstance(item, dict) or not (item.get("price") or item.get("price_data")):
                raise _missing(f"line_items[{i}][price]")
        customer = form.get("customer") or None
        customer_email = form.get("customer_email") or None
        if customer and customer_email:
            raise StripeErrorReply(
                400,
                "You may only specify one of these parameters: customer, customer_email.",
                param="customer_email",
            )
        if customer and not self.customer_exists(customer):
            raise _no_such("customer", customer, 400, "customer")

        session_id = stripe_id("cs_test_", 58)
        now = int(time.time())
        session = {
            "id": session_id,
            "object": "checkout.session",
            "adaptive_pricing": None,
            "after_expiration": None,
            "allow_promotion_codes": _truthy(form.get("allow_promotion_codes")) or None,
            "amount_subtotal": None,
            "amount_total": None,
            "automatic_tax": {"enabled": False, "liability": None, "status": None},
            "billing_address_collection": form.get("billing_address_collection"),
            "cancel_url": form.get("cancel_url"),
            "client_reference_id": form.get("client_reference_id"),
            "client_secret": None,
            "consent": None,
            "consent_collection": None,
            "created": now,
            "currency": None,
            "custom_fields": [],
            "custom_text": {
                "after_submit": None,
                "shipping_address": None,
                "submit": None,
                "terms_of_service_acceptance": None,
            },
            "customer": customer,
            "customer_creation": None if customer or mode == "subscription" else "if_required",
            "customer_details": {"email": customer_email} if customer_email else None,
            "customer_email": customer_email,
            "discounts": [],
            "expires_at": now + 24 * 3600,
            "invoice": None,
            "invoice_creation": None,
            "livemode": False,
            "locale": form.get("locale"),
            "metadata": dict(form.get("metadata") or {}),
            "mode": mode,
            "payment_intent": None,
            "payment_link": None,
            "payment_method_collection": "always",
            "payment_method_types": ["card"],
            "payment_status": "unpaid" if mode != "setup" else "no_payment_required",
            "phone_number_collection": {"enabled": False},
            "recovered_from": None,
            "setup_intent": None,
            "shipping_address_collection": None,
            "shipping_cost": None,
            "shipping_options": [],
            "status": "open",
            "submit_type": None,
            "subscription": None,
            "success_url": form.get("success_url"),
            "total_details": None,
            "ui_mode": ui_mode,
            "url": f"https://checkout.stripe.test/c/pay/{session_id}"
            if ui_mode == "hosted"
            else None,
        }
        with self._lock:
            self.checkout_sessions[session_id] = session
            self._checkout_forms[session_id] = form
        return session

    @staticmethod
    def _list(data: list[dict[str, Any]], url: str) -> dict[str, Any]:
        return {"object": "list", "data": data, "has_more": False, "url": url}

    def _list_checkout_sessions(self, query: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            found = [
                copy.deepcopy(s)
                for s in reversed(self.checkout_sessions.values())
                if (not query.get("customer") or s.get("customer") == query["customer"])
                and (not query.get("status") or s.get("status") == query["status"])
            ]
        return self._list(found, "/v1/checkout/sessions")

    def _expire_checkout_session(self, session_id: str) -> dict[str, Any]:
        with self._lock:
            session = self.checkout_sessions.get(session_id)
            if session is None:
                raise _no_such("checkout.session", session_id, 404, "session")
            if session["status"] != "open":
                raise StripeErrorReply(
                    400,
                    f'Only Checkout Sessions with a status in ["open"] can be expired. '
                    f'This Checkout Session has a status of "{session["status"]}".',
                )
            session.update(status="expired", url=None)
            return copy.deepcopy(session)

    def complete_checkout(
        self, session_id: str, *, status: str = "active", period_placement: str = "items"
    ) -> dict[str, Any]:
        """What Stripe does when the customer pays: the subscription is created (price and
        metadata from the session) and the session completes. Returns the subscription.
        Raises if the session is no longer open (a second payment is refused)."""
        with self._lock:
            session = self.checkout_sessions[session_id]
            if session["status"] != "open":
                raise ValueError(f"checkout session {session_id} is {session['status']}")
            form = self._checkout_forms[session_id]
            price = form["line_items"][0]["price"]
            customer = session["customer"] or stripe_id("cus_", 14)
            metadata = (form.get("subscription_data") or {}).get("metadata") or {}
            sub = subscription_object(
                stripe_id("sub_", 24),
                customer,
                price,
                interval="year" if "year" in price else "month",
                status=status,
                metadata=metadata,
                period_placement=period_placement,
            )
            self.subscriptions[sub["id"]] = sub
            session.update(
                status="complete",
                payment_status="paid",
                subscription=sub["id"],
                customer=customer,
                url=None,
            )
            return sub

    # -- customers and subscription lists --

    def _create_customer(self, form: dict[str, Any]) -> dict[str, Any]:
        customer = customer_object(
            stripe_id("cus_", 14),
            email=form.get("email"),
            metadata=dict(form.get("metadata") or {}),
        )
        with self._lock:
            self.customer_objects[customer["id"]] = customer
        return customer

    def _customer(self, customer_id: str) -> dict[str, Any]:
        with self._lock:
            found = self.customer_objects.get(customer_id)
        if found is not None:
            return found
        if self.customer_exists(customer_id):
            return customer_object(customer_id)
        raise _no_such("customer", customer_id, 404, "id")

    def _list_subscriptions(self, query: dict[str, Any]) -> dict[str, Any]:
        wanted = query.get("status")
        with self._lock:
            found = [
                copy.deepcopy(s)
                for s in self.subscriptions.values()
                if (not query.get("customer") or s.get("customer") == query["customer"])
                and (
                    wanted == "all"
                    or (wanted and s.get("status") == wanted)
                    or (not wanted and s.get("status") != "canceled")
                )
            ]
        found.sort(key=lambda s: s.get("created", 0), reverse=True)
        return self._list(found, "/v1/subscriptions")

    # -- billing portal --

    def _create_portal_session(self, form: dict[str, Any]) -> dict[str, Any]:
        customer = form.get("customer")
        if not customer:
            raise _missing("customer")
        if not self.customer_exists(customer):
            raise _no_such("customer", customer, 400, "customer")
        session_id = stripe_id("bps_", 24)
        session = {
            "id": session_id,
            "object": "billing_portal.session",
            "configuration": form.get("configuration") or stripe_id("bpc_", 24),
            "created": int(time.time()),
            "customer": customer,
            "flow": None,
            "livemode": False,
            "locale": form.get("locale"),
            "on_behalf_of": None,
            "return_url": form.get("return_url"),
            "url": f"https://billing.stripe.test/p/session/{session_id}",
        }
        with self._lock:
            self.portal_sessions[session_id] = session
        return session

    # -- subscriptions --

    def _subscription(self, sub_id: str) -> dict[str, Any]:
        with self._lock:
            found = self.subscriptions.get(sub_id)
        if found is None:
            raise _no_such("subscription", sub_id, 404, "id")
        return found

    def _cancel_subscription(self, sub_id: str) -> dict[str, Any]:
        with self._lock:
            sub = self._subscription(sub_id)
            if sub.get("status") != "canceled":
                now = int(time.time())
                sub["status"] = "canceled"
                sub["canceled_at"] = now
                sub["ended_at"] = now
                details = sub.get("cancellation_details") or {}
                sub["cancellation_details"] = {
                    "comment": details.get("comment"),
                    "feedback": details.get("feedback"),
                    "reason": "cancellation_requested",
                }
            return sub

    def _update_subscription(self, sub_id: str, form: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            sub = self._subscription(sub_id)
            if sub.get("status") == "canceled" and set(form) - {"metadata", "expand"}:
                raise StripeErrorReply(
                    400,
                    "A canceled subscription can only update its cancellation_details and "
                    "metadata.",
                )
            for key, value in form.items():
                if key in _SUBSCRIPTION_IGNORED:
                    continue
                if key == "cancel_at_period_end":
                    flag = _truthy(value)
                    sub["cancel_at_period_end"] = flag
                    period_end = sub.get("current_period_end")
                    items = (sub.get("items") or {}).get("data") or []
                    if period_end is None and items:
                        period_end = items[0].get("current_period_end")
                    sub["cancel_at"] = period_end if flag else None
                    sub["canceled_at"] = int(time.time()) if flag else None
                    details = sub.get("cancellation_details") or {}
                    details["reason"] = "cancellation_requested" if flag else None
                    sub["cancellation_details"] = details
                elif key == "cancel_at":
                    sub["cancel_at"] = int(value) if value else None
                elif key == "metadata":
                    metadata = sub.setdefault("metadata", {})
                    if isinstance(value, dict):
                        for mk, mv in value.items():
                            if mv == "":
                                metadata.pop(mk, None)
                            else:
                                metadata[mk] = mv
                    elif value == "":
                        metadata.clear()
                elif key == "items":
                    self._update_items(sub, value)
                elif key in _SUBSCRIPTION_SIMPLE:
                    sub[key] = value or None
                else:
                    raise StripeErrorReply(400, f"Received unknown parameter: {key}", param=key)
            return sub

    @staticmethod
    def _update_items(sub: dict[str, Any], items: Any) -> None:
        data = (sub.get("items") or {}).get("data") or []
        for i, change in enumerate(items if isinstance(items, list) else []):
            target = next((it for it in data if it.get("id") == change.get("id")), None)
            if target is None:
                raise StripeErrorReply(
                    400,
                    f"No such subscription item: '{change.get('id')}'",
                    code="resource_missing",
                    param=f"items[{i}][id]",
                )
            if change.get("price"):
                price = dict(target["price"], id=change["price"])
                target["price"] = price
                target["plan"] = _plan_from_price(price)
                if "plan" in sub:  # API versions before basil mirror the single item
                    sub["plan"] = target["plan"]
            if change.get("quantity"):
                target["quantity"] = int(change["quantity"])
