"""Accounts: sign-up, sign-in with throttling, browser sessions, passwords.

Passwords are hashed with argon2id; a session token is handed to the browser once and
only its SHA-256 is stored. Hashing is CPU-heavy: callers run these functions in a
thread (`asyncio.to_thread`). Nothing here logs a password or a token.
"""

from __future__ import annotations

import functools
import hashlib
import math
import secrets
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, select

from promptgen.db import insert_with_on_conflict, owner_engine
from promptgen.models import (
    SignInThrottle,
    SubscriptionTier,
    User,
    UserProfile,
    UserSession,
    UserSubscription,
    UTCDateTime,
)
from promptgen.periods import calendar_month_start
from promptgen.settings import get_settings

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
MAX_EMAIL_LENGTH = 320
MAX_TOKEN_LENGTH = 256
# A session's last_seen_at is rewritten at most once a minute, not on every request.
TOUCH_INTERVAL = timedelta(seconds=60)
SLOWDOWN_STEP_SECONDS = 0.5
SLOWDOWN_CAP_SECONDS = 3.0

# The browser cookie holding the raw session token (the database keeps only its hash).
SESSION_COOKIE = "promptgen_session"

_hasher = PasswordHasher()  # argon2id with the library's (RFC 9106 low-memory) parameters


# --- errors -----------------------------------------------------------------------


class AccountError(Exception):
    """A refusal the user may see: `message` is safe to show, `field` names the input, and
    `code` names the refusal in a URL (the forms post to HTTP routes that redirect back)."""

    code = "account"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
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


class TooManyAttempts(AccountError):
    """Sign-in for this email is locked for a while after repeated failures."""

    code = "locked"

    def __init__(self, retry_after_seconds: int) -> None:
        self.retry_after_seconds = max(1, int(retry_after_seconds))
        minutes = max(1, math.ceil(self.retry_after_seconds / 60))
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed sign-in attempts. Try again in {minutes} {unit}.", field=None
        )


# --- results ----------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    user_id: uuid.UUID
    email: str
    token: str  # the raw session token, given to the browser once; only its hash is stored

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"SignedIn(user_id={self.user_id!r}, email={self.email!r}, token='***')"


@dataclass(frozen=True)
class CurrentUser:
    user_id: uuid.UUID
    email: str
    session_id: uuid.UUID


# --- helpers ----------------------------------------------------------------------


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def hash_token(token: str) -> str:
    """The SHA-256 hex digest stored for a session token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    """The canonical form of an email address (NFKC, trimmed, lowercase), or InvalidSignUp."""
    value = unicodedata.normalize("NFKC", email or "").strip().lower()
    local, at, domain = value.rpartition("@")
    labels = domain.split(".")
    valid = (
        bool(at)
        and 0 < len(value) <= MAX_EMAIL_LENGTH
        and value.count("@") == 1
        and 0 < len(local) <= 64
        and len(labels) >= 2
        and all(labels)
        and not any(ch.isspace() or unicodedata.category(ch)[0] == "C" for ch in value)
    )
    if not valid:
        raise InvalidSignUp("Enter a valid email address.", field="email", code="email_invalid")
    return value


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidPassword(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for your password.",
            field="password",
            code="password_short",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidPassword(
            f"Use at most {MAX_PASSWORD_LENGTH} characters for your password.",
            field="password",
            code="password_long",
        )


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy() -> str:
    """A hash of a random secret, verified against for unknown emails (same work, no match)."""
    return _hasher.hash(secrets.token_urlsafe(32))


def free_tier(session: Session) -> SubscriptionTier:
    """The plan every new account starts on, and every ended subscription returns to."""
    tier = session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == "free")).first()
    if tier is None:
        tier = session.exec(
            select(SubscriptionTier)
            .where(col(SubscriptionTier.is_active).is_(True))
            .order_by(col(SubscriptionTier.sort_order), col(SubscriptionTier.id))
        ).first()
    if tier is None:
        raise RuntimeError("catalog not seeded: run python -m promptgen seed")
    return tier


def _start_session(session: Session, *, user_id: uuid.UUID, user_agent: str, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user_id,
            token_hash=hash_token(token),
            created_at=now,
            last_seen_at=now,
            user_agent=(user_agent or "")[:255],
        )
    )
    session.flush()
    return token


# --- sign-in throttle (own short transactions, so failures count even on rollback) --


@dataclass(frozen=True)
class _ThrottleState:
    failures: int
    locked_until: datetime | None


def _throttle_state(row: SignInThrottle | None, now: datetime) -> _ThrottleState:
    if row is None:
        return _ThrottleState(0, None)
    if row.locked_until is not None:
        locked_until = _aware(row.locked_until)
        if locked_until > now:
            return _ThrottleState(row.failed_count, locked_until)
        return _ThrottleState(0, None)  # an expired lock starts afresh
    window = timedelta(minutes=get_settings().signin_window_minutes)
    if row.first_failed_at is None or _aware(row.first_failed_at) < now - window:
        return _ThrottleState(0, None)
    return _ThrottleState(row.failed_count, None)


def _read_throttle(engine: sa.Engine, email: str) -> SignInThrottle | None:
    with Session(engine) as short:
        return short.get(SignInThrottle, email)


def _record_failure(engine: sa.Engine, email: str, now: datetime) -> datetime | None:
    """Count one failure atomically; returns locked_until when this failure locks the email."""
    settings = get_settings()
    table = SignInThrottle.__table__
    c = table.c
    now_value = sa.literal(now, UTCDateTime())
    lock_value = sa.literal(now + timedelta(minutes=settings.signin_lockout_minutes), UTCDateTime())
    window_start = now - timedelta(minutes=settings.signin_window_minutes)
    stale = sa.or_(
        c.first_failed_at.is_(None),
        c.first_failed_at < window_start,
        sa.and_(c.locked_until.is_not(None), c.locked_until <= now),
    )
    new_count = sa.case((stale, 1), else_=c.failed_count + 1)
    insert = insert_with_on_conflict(engine)
    statement = insert(table).values(
        email=email,
        failed_count=1,
        first_failed_at=now,
        locked_until=(
            now + timedelta(minutes=settings.signin_lockout_minutes)
            if settings.signin_lockout_after <= 1
            else None
        ),
    )
    statement = statement.on_conflict_do_update(
        index_elements=[c.email],
        set_={
            "failed_count": new_count,
            "first_failed_at": sa.case((stale, now_value), else_=c.first_failed_at),
            "locked_until": sa.case(
                (new_count >= settings.signin_lockout_after, lock_value), else_=None
            ),
        },
    )
    with Session(engine) as short:
        short.exec(statement)
        row = short.get(SignInThrottle, email)
        locked_until = _aware(row.locked_until) if row and row.locked_until else None
        short.commit()
    return locked_until if locked_until is not None and locked_until > now else None


def _clear_throttle(engine: sa.Engine, email: str) -> None:
    with Session(engine) as short:
        short.exec(delete(SignInThrottle).where(col(SignInThrottle.email) == email))
        short.commit()


def _retry_after(locked_until: datetime, now: datetime) -> int:
    return max(1, math.ceil((locked_until - now).total_seconds()))


# --- public API -------------------------------------------------------------------


def sign_up(
    *,
    session: Session,
    email: str,
    password: str,
    user_agent: str = "",
    now: datetime | None = None,
) -> SignedIn:
    """Create an account on the Free tier and sign it in."""
    now = _aware(now) if now else _utcnow()
    email = normalize_email(email)
    _check_new_password(password)
    tier = free_tier(session)
    password_hash = _hasher.hash(password)
    user_id = uuid.uuid4()
    # ON CONFLICT DO NOTHING settles two simultaneous sign-ups for one email without an
    # error, so the caller's transaction stays usable (no SAVEPOINT needed on either backend).
    statement = (
        insert_with_on_conflict(session)(User)
        .values(
            id=user_id,
            email=email,
            password_hash=password_hash,
            created_at=now,
            last_sign_in_at=now,
        )
        .on_conflict_do_nothing(index_elements=["email"])
        .returning(User.__table__.c.id)
    )
    if session.exec(statement).first() is None:
        raise InvalidSignUp(
            "We couldn't create an account with that email. "
            "If you already have one, sign in instead.",
            field="email",
            code="email_taken",
        )
    session.add(UserProfile(user_id=user_id, created_at=now, updated_at=now))
    session.add(
        UserSubscription(
            user_id=user_id,
            tier_id=tier.id,
            status="active",
            billing_interval="month",
            usage_count=0,
            usage_period_start=calendar_month_start(now),
            created_at=now,
            updated_at=now,
        )
    )
    session.flush()
    token = _start_session(session, user_id=user_id, user_agent=user_agent, now=now)
    return SignedIn(user_id=user_id, email=email, token=token)


def sign_in(
    *,
    session: Session,
    email: str,
    password: str,
    user_agent: str = "",
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SignedIn:
    """Check email and password (throttled per email) and start a session.

    Failed attempts are recorded in their own short transactions on the same database,
    so they count even though the caller's transaction rolls back on the exception.
    Call it in a unit of work that has not written yet (SQLite allows one writer).
    """
    now = _aware(now) if now else _utcnow()
    try:
        email = normalize_email(email)
    except InvalidSignUp:
        raise InvalidCredentials() from None
    settings = get_settings()
    engine = owner_engine(session)
    throttle_row = _read_throttle(engine, email)
    state = _throttle_state(throttle_row, now)
    if state.locked_until is not None:
        raise TooManyAttempts(_retry_after(state.locked_until, now))
    if not password:
        raise InvalidCredentials()
    if state.failures >= settings.signin_slowdown_after:
        steps = state.failures - settings.signin_slowdown_after + 1
        sleep(min(SLOWDOWN_STEP_SECONDS * steps, SLOWDOWN_CAP_SECONDS))
    user = session.exec(select(User).where(User.email == email)).first()
    acceptable = len(password) <= MAX_PASSWORD_LENGTH
    if user is None or not acceptable:
        _verify(_dummy(), password[:MAX_PASSWORD_LENGTH])  # the same work as a real check
        verified = False
    else:
        verified = _verify(user.password_hash, password)
    if not verified:
        locked_until = _record_failure(engine, email, now)
        if locked_until is not None:
            raise TooManyAttempts(_retry_after(locked_until, now))
        raise InvalidCredentials()
    assert user is not None
    if throttle_row is not None:
        _clear_throttle(engine, email)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_sign_in_at = now
    session.add(user)
    session.flush()
    token = _start_session(session, user_id=user.id, user_agent=user_agent, now=now)
    return SignedIn(user_id=user.id, email=user.email, token=token)


def resolve_session(
    *, session: Session, token: str | None, now: datetime | None = None
) -> CurrentUser | None:
    """The user behind a session token, or None; idle sessions expire, active ones slide."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return resolve_session_hash(session=session, token_hash=hash_token(token), now=now)


def resolve_session_hash(
    *, session: Session, token_hash: str | None, now: datetime | None = None
) -> CurrentUser | None:
    """Like resolve_session, from the token's hash: the websocket only ever carries that
    (promptgen.api.session_cookie), so the raw token never reaches Reflex's state."""
    if not token_hash or len(token_hash) != 64:
        return None
    now = _aware(now) if now else _utcnow()
    row = session.exec(
        select(UserSession, User)
        .join(User, col(User.id) == col(UserSession.user_id))
        .where(UserSession.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    user_session, user = row
    last_seen = _aware(user_session.last_seen_at)
    if now - last_seen > timedelta(days=get_settings().session_idle_days):
        session.delete(user_session)
        session.flush()
        return None
    if now - last_seen > TOUCH_INTERVAL:
        user_session.last_seen_at = now
        session.add(user_session)
        session.flush()
    return CurrentUser(user_id=user.id, email=user.email, session_id=user_session.id)


def sign_out(*, session: Session, token: str | None) -> None:
    """End the session behind this token (nothing happens for an unknown token)."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return
    session.exec(delete(UserSession).where(col(UserSession.token_hash) == hash_token(token)))
    session.flush()


def sign_out_everywhere(*, session: Session, user_id: uuid.UUID) -> int:
    """End every session of the user; returns how many there were."""
    result = session.exec(delete(UserSession).where(col(UserSession.user_id) == user_id))
    session.flush()
    return result.rowcount or 0


def verify_password(*, session: Session, user_id: uuid.UUID, password: str) -> bool:
    """Whether `password` is the user's current password."""
    user = session.get(User, user_id)
    if user is None or not password or len(password) > MAX_PASSWORD_LENGTH:
        _verify(_dummy(), password[:MAX_PASSWORD_LENGTH])
        return False
    return _verify(user.password_hash, password)


def confirm_password(
    *, session: Session, user_id: uuid.UUID, password: str, now: datetime | None = None
) -> None:
    """Re-check a signed-in user's password before a sensitive action, under the same
    per-email throttle as sign-in, so a stolen session cannot guess the password."""
    now = _aware(now) if now else _utcnow()
    user = session.get(User, user_id)
    if user is None:
        raise InvalidCredentials("That password is incorrect.", field="password")
    engine = owner_engine(session)
    state = _throttle_state(_read_throttle(engine, user.email), now)
    if state.locked_until is not None:
        raise TooManyAttempts(_retry_after(state.locked_until, now))
    if verify_password(session=session, user_id=user_id, password=password):
        return
    locked_until = _record_failure(engine, user.email, now)
    if locked_until is not None:
        raise TooManyAttempts(_retry_after(locked_until, now))
    raise InvalidCredentials("That password is incorrect.", field="password")
