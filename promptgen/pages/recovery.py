"""Forgot password, choose a new password, and the answer to a verification link.

Each form is a plain HTML form posting to an HTTP route (promptgen/api/account.py), so a
password never passes through the websocket or a state var.
"""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.feedback import callout, notice
from promptgen.components.forms import post_form
from promptgen.components.layout import centered_card, labelled
from promptgen.components.shell import link_button, logo
from promptgen.pages import page
from promptgen.state.recovery import RecoveryState


def _card(*children: rx.Component) -> rx.Component:
    return centered_card(rx.vstack(logo(), *children, spacing="4", width="100%"))


def _error() -> rx.Component:
    return notice(RecoveryState.error, tone="error", id="form-error")


def _post_form(form_id: str, action: str, *children: rx.Component) -> rx.Component:
    return post_form(form_id, action, rx.vstack(*children, spacing="3", width="100%"), width="100%")


@page(urls.FORGOT_PASSWORD, "Forgot password", RecoveryState.load_forgot_password)
def forgot_password() -> rx.Component:
    return _card(
        rx.heading("Forgot your password?", size="6"),
        rx.cond(
            RecoveryState.sent,
            callout(
                "If an account exists for that email, we sent a link to reset its password. "
                "Check your inbox.",
                tone="success",
                icon="mail",
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
            labelled(
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
        rx.text(rx.link("Back to sign in", href=urls.SIGN_IN, underline="always"), size="2"),
    )


@page(urls.NEW_PASSWORD, "New password", RecoveryState.load_new_password)
def new_password() -> rx.Component:
    return _card(
        rx.heading("Choose a new password", size="6"),
        rx.cond(
            RecoveryState.done,
            rx.vstack(
                callout(
                    "Your password is changed, and every device was signed out. Sign in with "
                    "your new password.",
                    tone="success",
                    id="reset-done",
                ),
                link_button("Sign in", urls.SIGN_IN, size="3"),
                width="100%",
            ),
            rx.cond(
                RecoveryState.link_invalid,
                rx.vstack(
                    callout(
                        "This link is invalid or has expired. Request a new one.",
                        tone="error",
                        id="link-invalid",
                    ),
                    rx.link("Request a new link", href=urls.FORGOT_PASSWORD, underline="always"),
                    width="100%",
                ),
                rx.vstack(
                    _error(),
                    _post_form(
                        "new-password-form",
                        urls.API_RESET_PASSWORD,
                        labelled(
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


@page(urls.EMAIL_VERIFIED, "Email verification", RecoveryState.load_email_verified)
def email_verified() -> rx.Component:
    return _card(
        rx.cond(
            RecoveryState.verified,
            callout(
                "Your email address is verified. Thank you!", tone="success", id="email-verified"
            ),
            callout(
                "This verification link is invalid or has expired. Sign in and send a new one "
                "from Settings.",
                tone="error",
                id="verification-invalid",
            ),
        ),
        link_button("Continue", urls.SETTINGS, size="3"),
    )
