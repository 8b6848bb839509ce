"""Sign-in and sign-up pages."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.feedback import notice
from promptgen.components.forms import post_form
from promptgen.components.layout import centered_card, field_label
from promptgen.components.shell import logo
from promptgen.pages import page
from promptgen.state.auth import AuthFormState, SignInState, SignUpState


def _field_error(message: rx.Var, error_id: str) -> rx.Component:
    return rx.cond(message != "", rx.text(message, color_scheme="red", size="2", id=error_id))


def _auth_card(
    *,
    action: str,
    title: str,
    subtitle: str,
    submit_label: str,
    password_hint: str,
    switch_text: str,
    switch_label: str,
    switch_href: str,
    form_id: str,
    auto_complete: str,
    below_password: rx.Component | None = None,
) -> rx.Component:
    state = AuthFormState
    return centered_card(
        # A plain HTML form posting to an HTTP route, which sets the HttpOnly session
        # cookie: the password and the token never pass through Reflex state.
        post_form(
            form_id,
            action,
            rx.vstack(
                logo(),
                rx.heading(title, size="6"),
                rx.text(subtitle, color_scheme="gray", size="2"),
                notice(state.form_error, tone="error", id="form-error"),
                rx.vstack(
                    field_label("Email", "email"),
                    rx.input(
                        id="email",
                        name="email",
                        type="email",
                        placeholder="you@example.com",
                        auto_complete="email",
                        required=True,
                        width="100%",
                        size="3",
                        default_value=state.email_value,
                        # A new key remounts the input when the refused email comes back.
                        key=state.email_value,
                        aria_invalid=rx.cond(state.email_error != "", "true", "false"),
                        aria_describedby=rx.cond(state.email_error != "", "email-error", ""),
                    ),
                    _field_error(state.email_error, "email-error"),
                    spacing="1",
                    width="100%",
                ),
                rx.vstack(
                    field_label("Password", "password"),
                    rx.input(
                        id="password",
                        name="password",
                        type="password",
                        auto_complete=auto_complete,
                        required=True,
                        aria_invalid=rx.cond(state.password_error != "", "true", "false"),
                        aria_describedby=rx.cond(state.password_error != "", "password-error", ""),
                        width="100%",
                        size="3",
                    ),
                    rx.text(password_hint, size="1", color_scheme="gray")
                    if password_hint
                    else rx.fragment(),
                    _field_error(state.password_error, "password-error"),
                    below_password or rx.fragment(),
                    spacing="1",
                    width="100%",
                ),
                rx.el.input(type="hidden", name="next", value=state.next_path),
                rx.button(submit_label, type="submit", width="100%", size="3", id="submit"),
                rx.text(
                    switch_text + " ",
                    # Underlined: a link inside a sentence must not rely on colour alone.
                    rx.link(switch_label, href=switch_href, underline="always"),
                    size="2",
                ),
                spacing="4",
                width="100%",
            ),
        ),
    )


@page(urls.SIGN_IN, "Sign in", SignInState.load)
def sign_in() -> rx.Component:
    return _auth_card(
        action="/api/auth/sign-in",
        auto_complete="current-password",
        title="Welcome back",
        subtitle="Sign in to your PromptGen account.",
        submit_label="Sign in",
        password_hint="",
        switch_text="New to PromptGen?",
        switch_label="Create an account",
        switch_href=urls.SIGN_UP,
        form_id="sign-in-form",
        below_password=rx.link(
            "Forgot password?", href=urls.FORGOT_PASSWORD, size="2", id="forgot-password"
        ),
    )


@page(urls.SIGN_UP, "Sign up", SignUpState.load)
def sign_up() -> rx.Component:
    return _auth_card(
        action="/api/auth/sign-up",
        auto_complete="new-password",
        title="Create your account",
        subtitle="Start on the Free plan. No card needed.",
        submit_label="Create account",
        password_hint="At least 10 characters.",  # noqa: S106 - help text, not a secret
        switch_text="Already have an account?",
        switch_label="Sign in",
        switch_href=urls.SIGN_IN,
        form_id="sign-up-form",
    )
