"""Account settings."""

from __future__ import annotations

import reflex as rx

from promptgen import routes
from promptgen.components.shell import app_shell, page_header
from promptgen.state.base import AuthState


def settings() -> rx.Component:
    return app_shell(
        page_header("Settings", "Your account and plan."),
        rx.card(
            rx.data_list.root(
                rx.data_list.item(
                    rx.data_list.label("Email"), rx.data_list.value(AuthState.user_email)
                ),
                rx.data_list.item(
                    rx.data_list.label("Plan"), rx.data_list.value(AuthState.plan_name)
                ),
                rx.data_list.item(
                    rx.data_list.label("Status"), rx.data_list.value(AuthState.plan_status)
                ),
                rx.data_list.item(
                    rx.data_list.label("This month"), rx.data_list.value(AuthState.usage_label)
                ),
            ),
            rx.hstack(
                rx.link(rx.button("See plans", variant="soft"), href=routes.PRICING),
                margin_top="1em",
            ),
            width="100%",
            max_width="640px",
        ),
    )
