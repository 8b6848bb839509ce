"""The refusals of account actions (sign-up, sign-in, password and email changes).

Their own module so both services/accounts.py and services/throttles.py can raise them;
`promptgen.services.accounts` re-exports them, so callers keep `accounts.AccountError`.
"""

from __future__ import annotations

from promptgen.errors import UserFacingError


class AccountError(UserFacingError):
    """A refusal the user may see: `message` is safe to show, `field` names the input, and
    `code` names the refusal in a URL (the forms post to HTTP routes that redirect back)."""

    code = "account"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message, field=field)
        if code is not None:
            self.code = code


class InvalidSignUp(AccountError):
    """The sign-up form cannot create an account (bad email, weak password, taken email)."""


class InvalidPassword(InvalidSignUp):
    """A new password breaks the password rules (sign-up or password change)."""


class InvalidCredentials(AccountError):
    """Wrong email or password; the same message whether or not the account exists."""

    code = "credentials"

    def __init__(
        self, message: str = "Email or password is incorrect.", *, field: str | None = None
    ) -> None:
        super().__init__(message, field=field)
