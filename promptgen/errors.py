"""The one vocabulary for failures a user may see.

A service raises a `UserFacingError` (or a subclass named for what went wrong) when it
refuses or fails for a reason the user can act on. `message` is written for the user and
safe to show as it is: no secret, no raw provider or database text. `field` names the form
input it concerns, when there is one. Each edge maps it once: Reflex states
(`state/base.py` `user_message`), HTTP routes (`api/`), the CLI (`cli.py`).

Operator errors (settings, database privileges, mail not configured) are not user-facing
and do not derive from it.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """A refusal or failure whose `message` the user may read; `field` names the input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message
