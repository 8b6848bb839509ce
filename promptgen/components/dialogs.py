"""A confirm dialog for actions that cannot be undone (delete a key, a generation)."""

from __future__ import annotations

from typing import Any

import reflex as rx


def confirm_dialog(
    trigger: rx.Component,
    *,
    title: str,
    description: str,
    confirm_label: str,
    on_confirm: Any,
    cancel_label: str = "Cancel",
    confirm_class: str = "",
) -> rx.Component:
    """`trigger` opens a dialog; only its red confirm button runs `on_confirm`."""
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(trigger),
        rx.alert_dialog.content(
            rx.alert_dialog.title(title),
            rx.alert_dialog.description(description),
            rx.hstack(
                rx.alert_dialog.cancel(rx.button(cancel_label, variant="soft")),
                rx.alert_dialog.action(
                    rx.button(
                        confirm_label,
                        color_scheme="red",
                        on_click=on_confirm,
                        class_name=confirm_class,
                    )
                ),
                justify="end",
                spacing="3",
                margin_top="1em",
            ),
        ),
    )
