"""Sign-in and sign-up forms."""

from __future__ import annotations

from typing import Any

import reflex as rx

from promptgen import routes
from promptgen.services import accounts
from promptgen.state.base import AuthState, run_admin_service


class AuthFormState(AuthState):
    form_error: str = ""
    email_error: str = ""
    password_error: str = ""
    submitting: bool = False

    def _clear_errors(self) -> None:
        self.form_error = ""
        self.email_error = ""
        self.password_error = ""

    def _show_error(self, error: accounts.AccountError) -> None:
        if error.field == "email":
            self.email_error = error.message
        elif error.field == "password":
            self.password_error = error.message
        else:
            self.form_error = error.message

    def _next_path(self) -> str:
        return routes.safe_next(self.router.url.query_parameters.get("next"))

    @rx.event
    async def redirect_if_signed_in(self):
        self._clear_errors()
        if await self._refresh_user() is not None:
            return rx.redirect(self._next_path())
        return None

    def _user_agent(self) -> str:
        return (self.router.headers.user_agent or "")[:255]

    async def _complete(self, call: Any, form_data: dict[str, Any]):
        self._clear_errors()
        self.submitting = True
        yield
        try:
            signed_in = await run_admin_service(
                call,
                email=str(form_data.get("email", "")),
                password=str(form_data.get("password", "")),
                user_agent=self._user_agent(),
                client_ip=self.router.session.client_ip,
            )
        except accounts.AccountError as error:
            self._show_error(error)
            return
        finally:
            self.submitting = False
        self.session_token = signed_in.token
        self.signed_in = True
        self.user_email = signed_in.email
        yield rx.redirect(self._next_path())


class SignInState(AuthFormState):
    @rx.event
    async def submit(self, form_data: dict[str, Any]):
        async for update in self._complete(accounts.sign_in, form_data):
            yield update


class SignUpState(AuthFormState):
    @rx.event
    async def submit(self, form_data: dict[str, Any]):
        async for update in self._complete(accounts.sign_up, form_data):
            yield update
