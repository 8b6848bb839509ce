"""The quota warning callout (dashboard) and its badge text (navigation)."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.state.base import AuthState
from promptgen.state.quota_warning import QuotaWarningState


def quota_badge_warning() -> rx.Component:
    return rx.cond(
        QuotaWarningState.show_quota_warning,
        rx.text("· " + QuotaWarningState.quota_badge_warning, id="plan-quota-warning"),
    )


def quota_warning() -> rx.Component:
    return rx.cond(
        QuotaWarningState.show_quota_warning,
        rx.callout.root(
            rx.callout.icon(rx.icon("gauge")),
            rx.callout.text(
                rx.text(QuotaWarningState.quota_warning_text, id="quota-warning-text"),
                rx.hstack(
                    rx.button(
                        rx.cond(QuotaWarningState.is_paying, "Change plan", "Upgrade"),
                        size="1",
                        on_click=QuotaWarningState.upgrade,
                        id="quota-upgrade",
                    ),
                    rx.link(
                        rx.button("Add your own key", size="1", variant="soft"),
                        href=urls.SETTINGS,
                        id="quota-add-key",
                    ),
                    rx.button(
                        "Dismiss",
                        size="1",
                        variant="ghost",
                        color_scheme="gray",
                        on_click=QuotaWarningState.dismiss_quota_warning,
                        id="quota-dismiss",
                    ),
                    spacing="2",
                    margin_top="0.5em",
                ),
                rx.cond(
                    AuthState.billing_portal_error != "",
                    rx.text(AuthState.billing_portal_error, color_scheme="red", size="2"),
                ),
            ),
            color_scheme=rx.cond(QuotaWarningState.quota_warning_level == 100, "red", "amber"),
            width="100%",
            margin_bottom="1em",
            id="quota-warning",
        ),
    )
