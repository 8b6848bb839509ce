"""Sign-in and sign-up pages. The forms post to HTTP routes (api/auth.py), which set the
HttpOnly session cookie; a refusal comes back as a code in the URL, shown here."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.api.auth import form_error_message
from promptgen.state.base import AuthState


class AuthFormState(AuthState):
    form_error: str = ""
    email_error: str = ""
    password_error: str = ""
    email_value: str = ""
    next_path: str = ""

    @rx.event
    async def load(self):
        """Signed in already: go on. Otherwise show what the last attempt was refused for."""
        query = self.router.url.query_parameters
        self.next_path = urls.safe_next(str(query.get("next", "")))
        if await self._refresh_user() is not None:
            return rx.redirect(self.next_path)
        field, message = form_error_message(
            str(query.get("error", "")), str(query.get("retry", ""))
        )
        self.form_error = message if not field else ""
        self.email_error = message if field == "email" else ""
        self.password_error = message if field == "password" else ""
        if "error" in query:
            # Only after a refusal: a new value remounts the email box (its key), which
            # would wipe what someone is already typing on a fresh visit.
            self.email_value = str(query.get("email", ""))[:320]
        return None


class SignInState(AuthFormState):
    pass


class SignUpState(AuthFormState):
    pass
