"""The dashboard's way into compare mode."""

from __future__ import annotations

import reflex as rx

from promptgen import urls


def compare_entry() -> rx.Component:
    return rx.hstack(
        rx.button(rx.icon("square", size=14), "Single prompt", variant="solid", size="2"),
        rx.link(
            rx.button(
                rx.icon("columns-3", size=14), "Compare side by side", variant="outline", size="2"
            ),
            href=urls.COMPARE,
            id="open-compare",
        ),
        spacing="2",
        margin_bottom="1em",
    )
