"""Every event a browser sends is checked against its handler's signature before it runs.

Any public event handler can be called from the browser with any arguments. Instead of each
handler defending itself, `EventGuard` (a Reflex middleware, so it sees every event: websocket
frames, uploads and chained events alike) checks the event against the handler's annotations:
known handler, no missing or unexpected arguments, each value of its annotated type and within
sane bounds (ids fit the database's 32-bit integers, strings and forms are bounded). Junk is
answered with one warning line and nothing else: the handler does not run, the state does not
change, no traceback is logged. `setvar`, which would let a client call any `set_*` handler
past these checks, is refused on our states (no page uses it).

A websocket frame that names no handler at all never reaches a middleware, so
`guard_socket` also wraps the socket's event entry point with the same one-line refusal.
"""

from __future__ import annotations

import inspect
import logging
import math
import types
import typing
from collections.abc import Callable
from typing import Any

import reflex as rx
from reflex.middleware import Middleware
from reflex.state import StateUpdate
from reflex_base.registry import RegistrationContext
from reflex_base.utils.form import FORM_DATA_ENTRIES_KEY

log = logging.getLogger(__name__)

MAX_INT = 2**31 - 1  # ids and indexes are 32-bit integers in the database
MAX_STRING = 2_000  # ids, slugs, providers, filter values
MAX_FORM_FIELDS = 200
MAX_FORM_VALUE = 100_000  # a long-text field of a blueprint form
MAX_LIST_ITEMS = 200
OUR_PACKAGE = "promptgen."


class LongText(str):
    """The annotation of an event argument that carries a long text the user types (a
    prompt template, a list of choices): text of up to MAX_FORM_VALUE characters rather
    than MAX_STRING. Reflex passes the browser's string through unchanged."""


class Junk(ValueError):
    """An event argument the handler cannot take; the message says which, briefly."""


def _check_int(name: str, value: object) -> None:
    if isinstance(value, bool):
        raise Junk(f"{name} is not an integer")
    if isinstance(value, str):
        text = value.strip()
        if not (text.lstrip("-").isdigit() and len(text) <= 11):
            raise Junk(f"{name} is not an integer")
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise Junk(f"{name} is not an integer")
    if abs(value) > MAX_INT:
        raise Junk(f"{name} is out of range")


def _check_scalar(name: str, value: object, limit: int) -> None:
    if value is None or isinstance(value, bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Junk(f"{name} is not a finite number")
        return
    if isinstance(value, str):
        if len(value) > limit:
            raise Junk(f"{name} is too long")
        _check_text(name, value)
        return
    raise Junk(f"{name} has an unexpected type")


def _check_text(name: str, value: str) -> None:
    """PostgreSQL text holds neither NUL nor a lone surrogate (JSON can carry "\\ud800"):
    either would fail the event deep in a service with a DataError or UnicodeEncodeError."""
    if "\x00" in value:
        raise Junk(f"{name} contains a NUL character")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Junk(f"{name} is not valid text") from None


def _check_form(name: str, value: object) -> None:
    """A submitted form: text keys to text, numbers, booleans or lists of text. The browser
    sends a form as its ordered entries ({"__reflex_form_data__": [[name, value], ...]})."""
    if not isinstance(value, dict):
        raise Junk(f"{name} is not a form")
    if FORM_DATA_ENTRIES_KEY in value:
        entries = value[FORM_DATA_ENTRIES_KEY]
        if len(value) != 1 or not isinstance(entries, list) or len(entries) > MAX_FORM_FIELDS:
            raise Junk(f"{name} is not a form")
        if not all(isinstance(e, list) and len(e) == 2 for e in entries):
            raise Junk(f"{name} is not a form")
        value = dict(entries)
    if len(value) > MAX_FORM_FIELDS:
        raise Junk(f"{name} has too many fields")
    for key, item in value.items():
        if not isinstance(key, str) or len(key) > MAX_STRING:
            raise Junk(f"{name} has a bad field name")
        if isinstance(item, list):
            if len(item) > MAX_LIST_ITEMS:
                raise Junk(f"{name} has too many values")
            for element in item:
                _check_scalar(name, element, MAX_FORM_VALUE)
        else:
            _check_scalar(name, item, MAX_FORM_VALUE)


def check_value(
    name: str, value: object, hint: Any, *, max_string: int = MAX_STRING, forms: bool = True
) -> None:
    """Raise Junk unless `value` fits the annotation `hint` (as the browser sends it). With
    `forms`, a dict must be a flat form; without, any dict (Reflex's own handlers)."""
    if hint is Any or hint is inspect.Parameter.empty:
        return
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        problems = []
        for option in typing.get_args(hint):
            try:
                check_value(name, value, option, max_string=max_string, forms=forms)
                return
            except Junk as exc:
                problems.append(str(exc))
        raise Junk(problems[0] if problems else f"{name} has an unexpected type")
    if hint is type(None):
        if value is not None:
            raise Junk(f"{name} is not empty")
        return
    if hint is int:
        _check_int(name, value)
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise Junk(f"{name} is not a number")
        try:
            number = float(value)
        except ValueError:
            raise Junk(f"{name} is not a number") from None
        if not math.isfinite(number):
            raise Junk(f"{name} is not a finite number")
    elif hint is bool:
        if not isinstance(value, bool):
            raise Junk(f"{name} is not true or false")
    elif hint is str:
        if not isinstance(value, str):
            raise Junk(f"{name} is not text")
        if len(value) > max_string:
            raise Junk(f"{name} is too long")
        if forms:  # ours only; Reflex's own handlers keep theirs
            _check_text(name, value)
    elif hint is LongText:
        if not isinstance(value, str):
            raise Junk(f"{name} is not text")
        if len(value) > MAX_FORM_VALUE:
            raise Junk(f"{name} is too long")
        if forms:
            _check_text(name, value)
    elif hint is dict or origin is dict:
        if forms:
            _check_form(name, value)
        elif not isinstance(value, dict):
            raise Junk(f"{name} is not an object")
    elif hint is list or origin is list:
        if not isinstance(value, list):
            raise Junk(f"{name} is not a list")
        if len(value) > MAX_LIST_ITEMS:
            raise Junk(f"{name} has too many items")
        (item_hint,) = typing.get_args(hint) or (Any,)
        for item in value:
            check_value(name, item, item_hint, max_string=max_string, forms=forms)
    elif isinstance(hint, type) and not isinstance(value, hint):
        raise Junk(f"{name} has an unexpected type")
    # Anything more exotic is left to the handler (none of ours takes one).


def check_event(
    fn: Callable[..., Any],
    hints: dict[str, Any],
    payload: object,
    *,
    max_string: int = MAX_STRING,
    forms: bool = True,
) -> None:
    """Raise Junk unless `payload` is a valid set of arguments for the handler `fn`."""
    if not isinstance(payload, dict):
        raise Junk("the arguments are not an object")
    parameters = list(inspect.signature(fn).parameters.values())[1:]  # without self
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    named = {p.name: p for p in parameters if p.kind is not inspect.Parameter.VAR_KEYWORD}
    for key in payload:
        if key not in named and not takes_any:
            raise Junk(f"unexpected argument {str(key)[:40]!r}")
    for name, parameter in named.items():
        if name not in payload:
            if parameter.default is inspect.Parameter.empty:
                raise Junk(f"missing argument {name!r}")
            continue
        check_value(name, payload[name], hints.get(name, Any), max_string=max_string, forms=forms)


def _short(name: object) -> str:
    """The handler's last two name parts, enough for a log line (no user input beyond 80)."""
    text = str(name)[:300]
    return ".".join(text.split(".")[-2:])[:80]


def _refuse(event_name: object, reason: str, token: str | None) -> None:
    log.warning(
        "refused event %s from tab %s: %s", _short(event_name), (token or "?")[:8], reason[:120]
    )


def _hints(registered: Any) -> dict[str, Any]:
    hints = registered.handler._type_hints
    if hints is None:
        try:
            hints = typing.get_type_hints(registered.handler.fn)
        except Exception:  # unresolvable annotations: check names and counts only
            hints = {}
    return hints


def _tab(state: Any) -> str | None:
    try:
        return state.router.session.client_token
    except Exception:  # a state without router data yet
        return None


def _is_ours(registered: Any) -> bool:
    return any(state.__module__.startswith(OUR_PACKAGE) for state in registered.states)


class EventGuard(Middleware):
    """Checks each event's arguments before its handler runs (see the module docstring)."""

    async def preprocess(self, app: rx.App, state: Any, event: Any) -> StateUpdate | None:
        token = _tab(state)
        registered = RegistrationContext.get().event_handlers.get(event.name)
        if registered is None:
            _refuse(event.name, "no such handler", token)
            return StateUpdate()
        fn = registered.handler.fn
        try:
            if fn.__name__ == "setvar" and _is_ours(registered):
                raise Junk("setvar is not offered")
            # Reflex's own handlers (hydration, client storage, frontend error reports) take
            # longer text and free-form objects; ours take ids, short text and flat forms.
            ours = _is_ours(registered)
            check_event(
                fn,
                _hints(registered),
                event.payload,
                max_string=MAX_STRING if ours else MAX_FORM_VALUE,
                forms=ours,
            )
        except Junk as exc:
            _refuse(event.name, str(exc), token)
            return StateUpdate()
        return None


def guard_socket(app: rx.App) -> None:
    """Refuse, with one warning line, websocket frames that are not an event for a known
    handler; they would otherwise fail deep in Reflex with a traceback."""
    namespace = app.event_namespace
    if namespace is None:
        return
    original = namespace.on_event

    async def on_event(sid: str, data: Any) -> None:
        token = namespace.sid_to_token.get(sid)
        name = data.get("name") if isinstance(data, dict) else None
        if not isinstance(name, str):
            _refuse("?", "not an event", token)
            return
        if name not in app._registration_context.event_handlers:
            _refuse(name, "no such handler", token)
            return
        if not isinstance(data.get("payload", {}), dict):
            _refuse(name, "the arguments are not an object", token)
            return
        await original(sid, data)

    # socket.io finds handlers by attribute (on_<event>), so the method is replaced.
    namespace.on_event = on_event  # type: ignore[method-assign]


def log_backend_exception(exception: Exception) -> None:
    """A bug in an event handler: logged once with its traceback, and nothing sent to the
    page. Reflex's default answers with a toast that the browser would have to eval, which
    the CSP forbids; handlers set their own error message before re-raising."""
    log.error(
        "event handler failed: %s",
        type(exception).__name__,
        exc_info=(type(exception), exception, exception.__traceback__),
    )
