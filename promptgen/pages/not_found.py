"""The page for any address the app does not have: says so plainly and offers the way back.

Reflex serves the page registered at its "404" route for unknown paths (the production
export writes it as 404.html).
"""

from __future__ import annotations

import reflex as rx
from reflex.constants import Page404

from promptgen import urls
from promptgen.components.shell import link_button, public_shell
from promptgen.pages import page
from promptgen.state.base import AuthState


@page(Page404.SLUG, "Page not found", AuthState.load_optional_user)
def not_found() -> rx.Component:
    return public_shell(
        rx.center(
            rx.vstack(
                rx.icon("compass", size=48, color=rx.color("accent", 9), aria_hidden="true"),
                rx.text("404", size="2", weight="bold", color_scheme="gray"),
                rx.heading("This page doesn't exist", as_="h1", size="8", text_align="center"),
                rx.text(
                    "The link may be old or mistyped. Everything else is where you left it.",
                    color_scheme="gray",
                    text_align="center",
                ),
                rx.hstack(
                    link_button("Back to the home page", urls.LANDING, size="3", id="go-home"),
                    rx.cond(
                        AuthState.signed_in,
                        link_button("Open dashboard", urls.DASHBOARD, size="3", variant="soft"),
                        link_button("Pricing", urls.PRICING, size="3", variant="soft"),
                    ),
                    spacing="3",
                    wrap="wrap",
                    justify="center",
                ),
                align="center",
                spacing="4",
                max_width="520px",
            ),
            padding_y="6em",
            width="100%",
        )
    )
