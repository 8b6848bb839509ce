"""Accounts: sign-up, sign-in with throttling, browser sessions, passwords.

Passwords are hashed with argon2id; a session token is handed to the browser once and
only its SHA-256 is stored. Hashing is CPU-heavy: callers run these functions in a
thread (`asyncio.to_thread`). Nothing here logs a password or a token.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, col, delete, select

from promptgen.audit import audit
from promptgen.db import (
    insert_with_on_conflict,
    owner_engine,
    run_admin_statement,
    run_in_admin_session,
    stored_id,
    table_of,
    uses_postgres,
)
from promptgen.models import (
    User,
    UserProfile,
    UserSession,
    UserSubscription,
)
from promptgen.periods import as_utc, calendar_month_start
from promptgen.services.account_errors import (
    AccountError as AccountError,
)
from promptgen.services.account_errors import (
    InvalidCredentials as InvalidCredentials,
)
from promptgen.services.account_errors import (
    InvalidPassword as InvalidPassword,
)
from promptgen.services.account_errors import (
    InvalidSignUp as InvalidSignUp,
)
from promptgen.services.plans import free_tier
from promptgen.services.throttles import (
    SIGN_IN_IP,
    check_ip,
    check_ip_allowance,
    check_pair,
    clear_pair,
    client_address,
    count_ip,
    record_failure,
    retry_after,
)
from promptgen.services.throttles import (
    TooManyAttempts as TooManyAttempts,
)
from promptgen.services.throttles import (
    TooManyRequests as TooManyRequests,
)
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


# --- public API -------------------------------------------------------------------


def sign_up(
    *,
    session: Session,
    email: str,
    password: str,
    user_agent: str = "",
    client_ip: str | None = None,
    now: datetime | None = None,
) -> SignedIn:
    """Create an account on the Free tier and sign it in (SIGNUP_IP_LIMIT per client IP).
    The attempt is counted in its own short transaction: call it in a unit of work that has
    not written yet (SQLite allows one writer)."""
    now = as_utc(now) if now else datetime.now(UTC)
    check_ip_allowance(session=session, action="sign_up", client_ip=client_ip, now=now)
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
        .returning(table_of(User).c.id)
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
            tier_id=stored_id(tier),
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
    audit("signed_up", user=user_id, ip=client_address(client_ip))
    return SignedIn(user_id=user_id, email=email, token=token)


def sign_in(
    *,
    session: Session,
    email: str,
    password: str,
    user_agent: str = "",
    client_ip: str | None = None,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SignedIn:
    """Check email and password and start a session. Throttled per (email, client IP):
    slowed after SIGNIN_SLOWDOWN_AFTER failures, locked after SIGNIN_LOCKOUT_AFTER; and per
    client IP over all emails (SIGNIN_IP_LIMIT failures). Pass the client's IP: without one
    every caller shares a single "unknown" address.

    Failed attempts are recorded in their own short transactions on the same database,
    so they count even though the caller's transaction rolls back on the exception.
    Call it in a unit of work that has not written yet (SQLite allows one writer).
    """
    now = as_utc(now) if now else datetime.now(UTC)
    address = client_address(client_ip)
    engine = owner_engine(session)
    check_ip(engine, SIGN_IN_IP, address, now)
    try:
        email = normalize_email(email)
    except InvalidSignUp:
        count_ip(engine, SIGN_IN_IP, address, now)
        raise InvalidCredentials() from None
    settings = get_settings()
    throttle_row, state = check_pair(engine, email, address, now)
    if not password:
        raise InvalidCredentials()
    if state.count >= settings.signin_slowdown_after:
        steps = state.count - settings.signin_slowdown_after + 1
        sleep(min(SLOWDOWN_STEP_SECONDS * steps, SLOWDOWN_CAP_SECONDS))
    user = session.exec(select(User).where(User.email == email)).first()
    acceptable = len(password) <= MAX_PASSWORD_LENGTH
    if user is None or not acceptable:
        _verify(_dummy(), password[:MAX_PASSWORD_LENGTH])  # the same work as a real check
        verified = False
    else:
        verified = _verify(user.password_hash, password)
    if not verified:
        locked_until = record_failure(engine, email, address, now)
        if locked_until is not None:
            raise TooManyAttempts(retry_after(locked_until, now))
        raise InvalidCredentials()
    assert user is not None
    if throttle_row is not None:
        clear_pair(engine, email, address)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_sign_in_at = now
    session.add(user)
    session.flush()
    token = _start_session(session, user_id=user.id, user_agent=user_agent, now=now)
    audit("sign_in_succeeded", user=user.id, ip=address)
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
    now = as_utc(now) if now else datetime.now(UTC)
    row = session.exec(
        select(UserSession, User)
        .join(User, col(User.id) == col(UserSession.user_id))
        .where(UserSession.token_hash == token_hash)
    ).first()
    if row is None:
        return None
    user_session, user = row
    last_seen = as_utc(user_session.last_seen_at)
    if now - last_seen > timedelta(days=get_settings().session_idle_days):
        session.delete(user_session)
        session.flush()
        return None
    if now - last_seen > TOUCH_INTERVAL:
        user_session.last_seen_at = now
        session.add(user_session)
        session.flush()
    return CurrentUser(user_id=user.id, email=user.email, session_id=user_session.id)


# `resolve_session_hash` as one statement: the same rules (an idle session is deleted and
# finds no one, an active one slides at most once a TOUCH_INTERVAL), in one round trip.
_SESSION_SQL = """
WITH found AS (
    SELECT s.id, s.user_id, s.last_seen_at, u.email
    FROM user_sessions s JOIN users u ON u.id = s.user_id
    WHERE s.token_hash = %(token_hash)s
), expired AS (
    DELETE FROM user_sessions
    WHERE id IN (SELECT id FROM found WHERE last_seen_at < %(idle_before)s)
), touched AS (
    UPDATE user_sessions SET last_seen_at = %(now)s
    WHERE id IN (SELECT id FROM found
                 WHERE last_seen_at >= %(idle_before)s AND last_seen_at < %(touch_before)s)
)
SELECT user_id, email, id FROM found WHERE last_seen_at >= %(idle_before)s
"""


async def find_session_user(
    token_hash: str | None, *, now: datetime | None = None
) -> CurrentUser | None:
    """`resolve_session_hash` in its own admin transaction, for events and page loads. On
    PostgreSQL one statement on the event loop (no thread, one round trip), elsewhere the
    ORM in a worker thread."""
    if not token_hash or len(token_hash) != 64:
        return None
    if not uses_postgres():
        return await run_in_admin_session(resolve_session_hash, token_hash=token_hash, now=now)
    now = as_utc(now) if now else datetime.now(UTC)
    params = {
        "token_hash": token_hash,
        "now": now,
        "idle_before": now - timedelta(days=get_settings().session_idle_days),
        "touch_before": now - TOUCH_INTERVAL,
    }
    rows = await run_admin_statement(_SESSION_SQL, params)
    if not rows:
        return None
    user_id, email, session_id = rows[0]
    return CurrentUser(user_id=user_id, email=email, session_id=session_id)


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
    *,
    session: Session,
    user_id: uuid.UUID,
    password: str,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """Re-check a signed-in user's password before a sensitive action, under the same
    (email, client IP) throttle as sign-in, so a stolen session cannot guess the password."""
    now = as_utc(now) if now else datetime.now(UTC)
    user = session.get(User, user_id)
    if user is None:
        raise InvalidCredentials("That password is incorrect.", field="password")
    engine = owner_engine(session)
    address = client_address(client_ip)
    check_pair(engine, user.email, address, now)
    if verify_password(session=session, user_id=user_id, password=password):
        return
    locked_until = record_failure(engine, user.email, address, now)
    if locked_until is not None:
        raise TooManyAttempts(retry_after(locked_until, now))
    raise InvalidCredentials("That password is incorrect.", field="password")
