"""Account rules that need no database: email normalisation, the lockout message."""

from __future__ import annotations

from promptgen.services import accounts
from promptgen.services.accounts import TooManyAttempts


def test_normalize_email_applies_nfkc_and_lowercases_the_whole_address() -> None:
    assert accounts.normalize_email("\uff21lice@Ex\uff41mple.COM") == "alice@example.com"
    assert accounts.normalize_email(" Bob.Smith+tag@Mail.Example.org\n") == (
        "bob.smith+tag@mail.example.org"
    )


def test_too_many_attempts_message_rounds_up_to_minutes() -> None:
    assert TooManyAttempts(1).message.endswith("Try again in 1 minute.")
    assert TooManyAttempts(60).message.endswith("Try again in 1 minute.")
    assert TooManyAttempts(61).message.endswith("Try again in 2 minutes.")
    assert TooManyAttempts(900).retry_after_seconds == 900
