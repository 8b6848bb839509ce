"""Callouts that tell the user how something went: info, success, warning, error.

`notice` shows a message held in a state var only while it is not empty, which is how every
page reports the outcome of an action. Errors are announced by screen readers at once
(role="alert"); the others politely (role="status").
"""

from __future__ import annotations

from typing import Any, Literal

import reflex as rx

Tone = Literal["info", "success", "warning", "error"]

_TONES: dict[str, tuple[str, str | None, str]] = {
    # tone: (icon, colour scheme (None: the theme's accent), ARIA role)
    "info": ("info", None, "status"),
    "success": ("check", "green", "status"),
    "warning": ("triangle-alert", "amber", "status"),
    "error": ("triangle-alert", "red", "alert"),
}


def callout(
    *content: rx.Component | rx.Var | str,
    tone: Tone = "info",
    icon: str | None = None,
    **props: Any,
) -> rx.Component:
    """A callout in one of the four tones; `icon` overrides the tone's icon."""
    default_icon, color_scheme, role = _TONES[tone]
    if color_scheme:
        props.setdefault("color_scheme", color_scheme)
    props.setdefault("width", "100%")
    return rx.callout.root(
        rx.callout.icon(rx.icon(icon or default_icon)),
        rx.callout.text(*content),
        role=role,
        **props,
    )


def notice(message: rx.Var, *, tone: Tone = "info", **props: Any) -> rx.Component:
    """`message` in a callout, shown only while it is not empty."""
    return rx.cond(message != "", callout(message, tone=tone, **props))
