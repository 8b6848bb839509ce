"""Account recovery pages: what the forms' redirects say happened.

The forms post to HTTP routes (promptgen/api/account.py); these pages only read a code
from the query string and show its fixed text, so no token, password or free text from a
URL ever lands in state.
"""

from __future__ import annotations

from collections.abc import Mapping

import reflex as rx

from promptgen.services.recovery import MESSAGES


def _message(code: object) -> str:
    return MESSAGES.get(str(code), "") if code else ""


class RecoveryState(rx.State):
    sent: bool = False
    done: bool = False
    link_invalid: bool = False
    verified: bool = False
    error: str = ""

    def _query(self) -> Mapping[str, str]:
        return self.router.url.query_parameters

    @rx.event
    def load_forgot_password(self):
        query = self._query()
        self.sent = query.get("sent") == "1"
        self.error = _message(query.get("error"))

    @rx.event
    def load_new_password(self):
        query = self._query()
        self.done = query.get("done") == "1"
        self.link_invalid = query.get("link") == "invalid"
        self.error = _message(query.get("error"))

    @rx.event
    def load_email_verified(self):
        self.verified = self._query().get("status") == "ok"
