"""Plain HTML forms that post to the HTTP routes (api/), not through the websocket."""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex.vars.function import FunctionVar


def post_natively(form_id: str) -> rx.event.EventSpec:
    """Reflex forms cancel native submission; this posts the form the browser's way.

    The prototype's submit: a control named or id'd "submit" shadows `form.submit`.
    """
    # A function, not a script string: the CSP allows no eval (api/edge.py).
    return rx.call_function(
        rx.Var(
            f"() => HTMLFormElement.prototype.submit.call(document.getElementById('{form_id}'))"
        ).to(FunctionVar)
    )


def post_form(form_id: str, action: str, *children: rx.Component, **props: Any) -> rx.Component:
    """A plain HTML form posting to an HTTP route: what is typed into it (passwords, keys)
    never passes through Reflex state or the websocket; no input is bound to a state var."""
    return rx.el.form(
        *children,
        action=action,
        method="post",
        id=form_id,
        on_submit=post_natively(form_id),
        **props,
    )
