"""Forgot password, choose a new password, and the answer to a verification link.

Each form is a plain HTML form posting to an HTTP route (promptgen/api/account.py), so a
password never passes through the websocket or a state var.
"""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.forms import post_form
from promptgen.components.shell import logo
from promptgen.state.recovery import RecoveryState


def _card(*children: rx.Component) -> rx.Component:
    return rx.center(
        rx.card(
            rx.vstack(logo(), *children, spacing="4", width="100%"),
            width="100%",
            max_width="420px",
            size="4",
        ),
        min_height="100vh",
        padding="1em",
    )


def _error() -> rx.Component:
    return rx.cond(
        RecoveryState.error != "",
        rx.callout(
            RecoveryState.error,
            icon="triangle-alert",
            color_scheme="red",
            width="100%",
            id="form-error",
        ),
    )


def _post_form(form_id: str, action: str, *children: rx.Component) -> rx.Component:
    return post_form(form_id, action, rx.vstack(*children, spacing="3", width="100%"), width="100%")


def _labelled(label: str, field: rx.Component, html_for: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, as_="label", html_for=html_for, weight="medium", size="2"),
        field,
        spacing="1",
        width="100%",
    )


def forgot_password() -> rx.Component:
    return _card(
        rx.heading("Forgot your password?", size="6"),
        rx.cond(
            RecoveryState.sent,
            rx.callout(
                "If an account exists for that email, we sent a link to reset its password. "
                "Check your inbox.",
                icon="mail",
                color_scheme="green",
                width="100%",
                id="reset-sent",
            ),
            rx.text(
                "Enter the email of your account and we'll send you a link to choose a new "
                "password.",
                color_scheme="gray",
                size="2",
            ),
        ),
        _error(),
        _post_form(
            "forgot-form",
            urls.API_FORGOT_PASSWORD,
            _labelled(
                "Email",
                rx.input(
                    id="email",
                    name="email",
                    type="email",
                    placeholder="you@example.com",
                    auto_complete="email",
                    required=True,
                    width="100%",
                    size="3",
                ),
                "email",
            ),
            rx.button("Send reset link", type="submit", width="100%", size="3", id="send-reset"),
        ),
        rx.text(rx.link("Back to sign in", href=urls.SIGN_IN), size="2"),
    )


def new_password() -> rx.Component:
    return _card(
        rx.heading("Choose a new password", size="6"),
        rx.cond(
            RecoveryState.done,
            rx.vstack(
                rx.callout(
                    "Your password is changed, and every device was signed out. Sign in with "
                    "your new password.",
                    icon="check",
                    color_scheme="green",
                    width="100%",
                    id="reset-done",
                ),
                rx.link(rx.button("Sign in", size="3"), href=urls.SIGN_IN),
                width="100%",
            ),
            rx.cond(
                RecoveryState.link_invalid,
                rx.vstack(
                    rx.callout(
                        "This link is invalid or has expired. Request a new one.",
                        icon="triangle-alert",
                        color_scheme="red",
                        width="100%",
                        id="link-invalid",
                    ),
                    rx.link("Request a new link", href=urls.FORGOT_PASSWORD),
                    width="100%",
                ),
                rx.vstack(
                    _error(),
                    _post_form(
                        "new-password-form",
                        urls.API_RESET_PASSWORD,
                        _labelled(
                            "New password",
                            rx.input(
                                id="password",
                                name="password",
                                type="password",
                                auto_complete="new-password",
                                required=True,
                                width="100%",
                                size="3",
                            ),
                            "password",
                        ),
                        rx.text("At least 10 characters.", size="1", color_scheme="gray"),
                        rx.button(
                            "Set new password",
                            type="submit",
                            width="100%",
                            size="3",
                            id="set-password",
                        ),
                    ),
                    width="100%",
                ),
            ),
        ),
    )


def email_verified() -> rx.Component:
    return _card(
        rx.cond(
            RecoveryState.verified,
            rx.callout(
                "Your email address is verified. Thank you!",
                icon="check",
                color_scheme="green",
                width="100%",
                id="email-verified",
            ),
            rx.callout(
                "This verification link is invalid or has expired. Sign in and send a new one "
                "from Settings.",
                icon="triangle-alert",
                color_scheme="red",
                width="100%",
                id="verification-invalid",
            ),
        ),
        rx.link(rx.button("Continue", size="3"), href=urls.SETTINGS),
    )
