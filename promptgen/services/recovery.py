"""Account recovery: email verification, password reset, and changing email or password.

A link sent by email carries a random token; only its SHA-256 is stored (`account_tokens`).
Each link works once, expires, names the address it was sent to (so it dies when the
account's email changes), and a new link of the same kind replaces older ones. The caller
sends the email (`promptgen.mail`) after its transaction commits. Nothing here logs or
returns a token except inside `IssuedLink`, whose repr hides it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from promptgen.audit import audit
from promptgen.db import owner_engine, rows_affected
from promptgen.models import AccountToken, User, UserSession
from promptgen.services.accounts import (
    MAX_PASSWORD_LENGTH,
    MAX_TOKEN_LENGTH,
    MIN_PASSWORD_LENGTH,
    AccountError,
    InvalidSignUp,
    TooManyAttempts,
    _check_new_password,
    _hasher,
    confirm_password,
    hash_token,
    normalize_email,
    sign_out_everywhere,
)
from promptgen.services.throttles import clear_pair, client_address
from promptgen.settings import get_settings

# One link of a kind per account per minute: asking again sooner sends nothing new, so a
# stranger cannot flood someone's inbox through the forms.
RESEND_AFTER = timedelta(seconds=60)

RESET_PASSWORD = "reset_password"  # noqa: S105 - the kind of link, not a secret
VERIFY_EMAIL = "verify_email"

# What a page may say after a redirect, by the code in its query string: pages show only
# these fixed texts, never text taken from a URL.
MESSAGES: dict[str, str] = {
    "email-invalid": "Enter a valid email address.",
    "wrong-password": "That password is incorrect.",
    "locked": "Too many failed attempts. Try again in a few minutes.",
    "network": "Too many requests from your network. Try again later.",
    "password-short": f"Use at least {MIN_PASSWORD_LENGTH} characters for your password.",
    "password-long": f"Use at most {MAX_PASSWORD_LENGTH} characters for your password.",
    "email-same": "That is already your email address.",
    "email-unavailable": "We couldn't change your email to that address.",
    "link-invalid": "This link is invalid or has expired. Request a new one.",
    "failed": "That did not work. Try again.",
}


class InvalidLink(AccountError):
    """The link's token is unknown, used, expired, or for an address the account left."""

    def __init__(self) -> None:
        super().__init__(MESSAGES["link-invalid"], field=None)


class LinkRecentlySent(AccountError):
    """A link of this kind went out less than RESEND_AFTER ago; it still works."""

    def __init__(self) -> None:
        super().__init__("We sent you a link less than a minute ago. Check your inbox.")


class EmailUnavailable(AccountError):
    """The new email cannot be used (taken, or the current one)."""


def error_code(error: AccountError) -> str:
    """The MESSAGES code for an error a form route redirects with."""
    if isinstance(error, TooManyAttempts):
        return "locked"
    for code, text in MESSAGES.items():
        if text == error.message:
            return code
    return "failed"


@dataclass(frozen=True)
class IssuedLink:
    """A token to mail once; only its hash is stored."""

    user_id: uuid.UUID
    email: str
    token: str
    expires_at: datetime

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"IssuedLink(user_id={self.user_id!r}, email={self.email!r}, token='***')"


@dataclass(frozen=True)
class EmailChanged:
    old_email: str
    verification: IssuedLink


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def _lifetime(purpose: str) -> timedelta:
    settings = get_settings()
    if purpose == RESET_PASSWORD:
        return timedelta(minutes=settings.password_reset_minutes)
    return timedelta(hours=settings.email_verification_hours)


def _forget_links(session: Session, user_id: uuid.UUID, *purposes: str) -> None:
    session.execute(
        sa.delete(AccountToken).where(
            col(AccountToken.user_id) == user_id, col(AccountToken.purpose).in_(purposes)
        )
    )


def _recently_issued(session: Session, user_id: uuid.UUID, purpose: str, now: datetime) -> bool:
    return (
        session.exec(
            select(AccountToken.id).where(
                col(AccountToken.user_id) == user_id,
                col(AccountToken.purpose) == purpose,
                col(AccountToken.used_at).is_(None),
                col(AccountToken.created_at) > now - RESEND_AFTER,
            )
        ).first()
        is not None
    )


def _issue(
    session: Session, *, user: User, purpose: str, now: datetime, keep_older: bool = False
) -> IssuedLink:
    """A new link of `purpose` for the user's current email; older ones stop working unless
    `keep_older` (a reset requested by anyone who knows the email must not kill the link
    the owner is about to use)."""
    if not keep_older:
        _forget_links(session, user.id, purpose)
    token = secrets.token_urlsafe(32)
    expires_at = now + _lifetime(purpose)
    session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=hash_token(token),
            email=user.email,
            created_at=now,
            expires_at=expires_at,
        )
    )
    session.flush()
    return IssuedLink(user_id=user.id, email=user.email, token=token, expires_at=expires_at)


def _live_token(
    session: Session, *, token: str, purpose: str, now: datetime
) -> tuple[AccountToken, User] | None:
    """The unused, unexpired token row and its user, when the user still has that email."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = session.exec(
        select(AccountToken, User)
        .join(User, col(User.id) == col(AccountToken.user_id))
        .where(
            col(AccountToken.token_hash) == hash_token(token),
            col(AccountToken.purpose) == purpose,
            col(AccountToken.used_at).is_(None),
            col(AccountToken.expires_at) > now,
        )
    ).first()
    if row is None or row[1].email != row[0].email:
        return None
    return row[0], row[1]


def _consume(session: Session, *, token: str, purpose: str, now: datetime) -> User | None:
    """Use the token once: one conditional UPDATE, so two concurrent uses cannot both win."""
    found = _live_token(session, token=token, purpose=purpose, now=now)
    if found is None:
        return None
    row, user = found
    used = session.execute(
        sa.update(AccountToken)
        .where(col(AccountToken.id) == row.id, col(AccountToken.used_at).is_(None))
        .values(used_at=now)
    )
    session.flush()
    return user if rows_affected(used) == 1 else None


# --- email verification -----------------------------------------------------------


def email_verified(*, session: Session, user_id: uuid.UUID) -> bool:
    """Whether the user's current email address is verified."""
    user = session.get(User, user_id)
    return user is not None and user.email_verified_at is not None


def issue_email_verification(
    *, session: Session, user_id: uuid.UUID, now: datetime | None = None
) -> IssuedLink | None:
    """A verification link for the user's email, or None when it is verified already.
    Raises LinkRecentlySent when one went out less than RESEND_AFTER ago."""
    now = _now(now)
    user = session.get(User, user_id)
    if user is None or user.email_verified_at is not None:
        return None
    if _recently_issued(session, user.id, VERIFY_EMAIL, now):
        raise LinkRecentlySent()
    return _issue(session, user=user, purpose=VERIFY_EMAIL, now=now)


def verify_email(*, session: Session, token: str, now: datetime | None = None) -> bool:
    """Mark the address the link was sent to as verified; False for a dead link."""
    now = _now(now)
    user = _consume(session, token=token, purpose=VERIFY_EMAIL, now=now)
    if user is None:
        return False
    user.email_verified_at = now
    session.add(user)
    session.flush()
    return True


# --- password reset ---------------------------------------------------------------


def request_password_reset(
    *, session: Session, email: str, now: datetime | None = None
) -> IssuedLink | None:
    """A reset link for the account with this email, or None when there is none (or one
    went out less than RESEND_AFTER ago: that one still works).

    The caller answers the same either way, and should run this after answering (so the
    time taken reveals nothing either). Per-IP throttling belongs in front of this call.
    """
    now = _now(now)
    try:
        email = normalize_email(email)
    except InvalidSignUp:
        return None
    user = session.exec(select(User).where(col(User.email) == email)).first()
    if user is None or _recently_issued(session, user.id, RESET_PASSWORD, now):
        return None
    return _issue(session, user=user, purpose=RESET_PASSWORD, now=now, keep_older=True)


def check_reset_link(*, session: Session, token: str, now: datetime | None = None) -> bool:
    """Whether a reset link still works (without using it)."""
    return _live_token(session, token=token, purpose=RESET_PASSWORD, now=_now(now)) is not None


def reset_password(
    *,
    session: Session,
    token: str,
    new_password: str,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> User:
    """Set a new password through a reset link, and end every session of the user. The
    sign-in lockout of this account from `client_ip` ends too: whoever opened the link owns
    the mailbox, so the failures from their address were theirs (elsewhere it stays).

    Raises InvalidLink for a dead link, InvalidPassword for a password that breaks the
    rules (the link stays usable, so the user can try again).
    """
    now = _now(now)
    live = _live_token(session, token=token, purpose=RESET_PASSWORD, now=now)
    if live is None:
        raise InvalidLink()
    _check_new_password(new_password)
    # Before this transaction writes: the throttle has its own (SQLite allows one writer).
    clear_pair(owner_engine(session), live[1].email, client_address(client_ip))
    user = _consume(session, token=token, purpose=RESET_PASSWORD, now=now)
    if user is None:
        raise InvalidLink()
    user.password_hash = _hasher.hash(new_password)
    if user.email_verified_at is None:
        user.email_verified_at = now  # the link reached this mailbox: that is verification
    session.add(user)
    _forget_links(session, user.id, RESET_PASSWORD)
    ended = sign_out_everywhere(session=session, user_id=user.id)
    audit("password_reset", user=user.id, sessions_ended=ended)
    return user


# --- changes from Settings (signed in, current password required) -----------------


def change_password(
    *,
    session: Session,
    user_id: uuid.UUID,
    current_password: str,
    new_password: str,
    keep_session_id: uuid.UUID | None = None,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> str:
    """Replace the password after checking the current one (under the sign-in throttle);
    every other session and any pending reset link are ended. Returns the user's email."""
    confirm_password(
        session=session,
        user_id=user_id,
        password=current_password,
        client_ip=client_ip,
        now=_now(now),
    )
    _check_new_password(new_password)
    user = session.get(User, user_id)
    assert user is not None  # confirm_password refuses an unknown user
    user.password_hash = _hasher.hash(new_password)
    session.add(user)
    others = sa.delete(UserSession).where(col(UserSession.user_id) == user_id)
    if keep_session_id is not None:
        others = others.where(col(UserSession.id) != keep_session_id)
    ended = rows_affected(session.execute(others))
    _forget_links(session, user_id, RESET_PASSWORD)
    session.flush()
    audit("password_changed", user=user_id, sessions_ended=ended)
    return user.email


def change_email(
    *,
    session: Session,
    user_id: uuid.UUID,
    current_password: str,
    new_email: str,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> EmailChanged:
    """Move the account to a new address after checking the password (under the sign-in
    throttle). The new address is unverified until its link is followed; links sent to
    the old address stop working.

    Needs a session that sees every user (an admin session): whether the address is taken
    is a question about other accounts.
    """
    now = _now(now)
    confirm_password(
        session=session,
        user_id=user_id,
        password=current_password,
        client_ip=client_ip,
        now=now,
    )
    email = normalize_email(new_email)
    user = session.get(User, user_id)
    assert user is not None  # confirm_password refuses an unknown user
    if email == user.email:
        raise EmailUnavailable(MESSAGES["email-same"], field="email")
    taken = session.exec(
        select(User.id).where(col(User.email) == email, col(User.id) != user_id)
    ).first()
    if taken is not None:
        raise EmailUnavailable(MESSAGES["email-unavailable"], field="email")
    old_email = user.email
    user.email = email
    user.email_verified_at = None
    session.add(user)
    session.flush()
    audit("email_changed", user=user_id)
    _forget_links(session, user_id, RESET_PASSWORD, VERIFY_EMAIL)
    link = _issue(session, user=user, purpose=VERIFY_EMAIL, now=now)
    return EmailChanged(old_email=old_email, verification=link)
