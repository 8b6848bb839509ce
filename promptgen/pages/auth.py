"""Sign-in and sign-up pages."""

from __future__ import annotations

import reflex as rx

from promptgen import routes
from promptgen.components.shell import logo
from promptgen.state.auth import AuthFormState, SignInState, SignUpState


def _field_error(message: rx.Var) -> rx.Component:
    return rx.cond(message != "", rx.text(message, color_scheme="red", size="2"))


def _auth_card(
    state: type[AuthFormState],
    *,
    title: str,
    subtitle: str,
    submit_label: str,
    password_hint: str,
    switch_text: str,
    switch_label: str,
    switch_href: str,
    form_id: str,
    below_password: rx.Component | None = None,
) -> rx.Component:
    return rx.center(
        rx.card(
            rx.form(
                rx.vstack(
                    logo(),
                    rx.heading(title, size="6"),
                    rx.text(subtitle, color_scheme="gray", size="2"),
                    rx.cond(
                        state.form_error != "",
                        rx.callout(
                            state.form_error,
                            icon="triangle-alert",
                            color_scheme="red",
                            width="100%",
                            id="form-error",
                        ),
                    ),
                    rx.vstack(
                        rx.text("Email", as_="label", html_for="email", weight="medium", size="2"),
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
                        _field_error(state.email_error),
                        spacing="1",
                        width="100%",
                    ),
                    rx.vstack(
                        rx.text(
                            "Password", as_="label", html_for="password", weight="medium", size="2"
                        ),
                        rx.input(
                            id="password",
                            name="password",
                            type="password",
                            auto_complete="current-password",
                            required=True,
                            width="100%",
                            size="3",
                        ),
                        rx.text(password_hint, size="1", color_scheme="gray")
                        if password_hint
                        else rx.fragment(),
                        _field_error(state.password_error),
                        below_password or rx.fragment(),
                        spacing="1",
                        width="100%",
                    ),
                    rx.button(
                        submit_label,
                        type="submit",
                        width="100%",
                        size="3",
                        loading=state.submitting,
                        id="submit",
                    ),
                    rx.text(
                        switch_text + " ",
                        rx.link(switch_label, href=switch_href),
                        size="2",
                    ),
                    spacing="4",
                    width="100%",
                ),
                on_submit=state.submit,
                id=form_id,
            ),
            width="100%",
            max_width="420px",
            size="4",
        ),
        min_height="100vh",
        padding="1em",
    )


def sign_in() -> rx.Component:
    return _auth_card(
        SignInState,
        title="Welcome back",
        subtitle="Sign in to your PromptGen account.",
        submit_label="Sign in",
        password_hint="",
        switch_text="New to PromptGen?",
        switch_label="Create an account",
        switch_href=routes.SIGN_UP,
        form_id="sign-in-form",
        below_password=rx.link(
            "Forgot password?", href=routes.FORGOT_PASSWORD, size="2", id="forgot-password"
        ),
    )


def sign_up() -> rx.Component:
    return _auth_card(
        SignUpState,
        title="Create your account",
        subtitle="Start on the Free plan. No card needed.",
        submit_label="Create account",
        password_hint="At least 10 characters.",  # noqa: S106 - help text, not a secret
        switch_text="Already have an account?",
        switch_label="Sign in",
        switch_href=routes.SIGN_IN,
        form_id="sign-up-form",
    )
