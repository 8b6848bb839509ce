"""Accounts: sign-up, sign-in with throttling, browser sessions, passwords.

Passwords are hashed with argon2id; a session token is handed to the browser once and
only its SHA-256 is stored. Hashing is CPU-heavy: callers run these functions in a
thread (`asyncio.to_thread`). Nothing here logs a password or a token.
"""

from __future__ import annotations

import functools
import hashlib
import ipaddress
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

from promptgen.audit import audit
from promptgen.db import insert_with_on_conflict, owner_engine, stored_id, table_of
from promptgen.errors import UserFacingError
from promptgen.models import (
    Throttle,
    User,
    UserProfile,
    UserSession,
    UserSubscription,
    UTCDateTime,
)
from promptgen.periods import calendar_month_start
from promptgen.services.plans import free_tier
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


# --- throttles (own short transactions, so attempts count even on rollback) --------
#
# Failed sign-ins are counted per (email, client IP): a burst from one address locks that
# address out of that account, never the owner signing in from elsewhere. Each client IP
# also has its own budgets (failed sign-ins across all emails, sign-ups, password-reset
# requests), so one address cannot spray guesses over many accounts either. An IPv6
# address counts by its /64, which one subscriber usually holds whole.

SIGN_IN = "sign_in"  # failures per (email, IP)
SIGN_IN_IP = "sign_in_ip"  # failures per IP, any email
IP_ACTIONS = ("sign_up", "password_reset")  # attempts per IP, for check_ip_allowance

UNKNOWN_IP = "unknown"


class TooManyRequests(TooManyAttempts):
    """This client address has used up its allowance for an action for a while."""

    code = "network"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(retry_after_seconds)
        minutes = max(1, math.ceil(self.retry_after_seconds / 60))
        unit = "minute" if minutes == 1 else "minutes"
        self.message = f"Too many attempts from your network. Try again in {minutes} {unit}."
        self.args = (self.message,)


@dataclass(frozen=True)
class _ThrottleState:
    count: int
    locked_until: datetime | None


def client_address(client_ip: str | None) -> str:
    """What a client IP counts as: the address itself, an IPv6 address's /64, or "unknown"."""
    text = (client_ip or "").strip()
    if not text:
        return UNKNOWN_IP
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def throttle_key(*parts: str) -> str:
    """The stored key of a throttle: the SHA-256 of its parts (no email or IP in the clear)."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()


def _state(row: Throttle | None, now: datetime, window: timedelta) -> _ThrottleState:
    if row is None:
        return _ThrottleState(0, None)
    if row.locked_until is not None:
        locked_until = _aware(row.locked_until)
        if locked_until > now:
            return _ThrottleState(row.count, locked_until)
        return _ThrottleState(0, None)  # an expired lock starts afresh
    if row.window_start is None or _aware(row.window_start) < now - window:
        return _ThrottleState(0, None)
    return _ThrottleState(row.count, None)


def _read(engine: sa.Engine, scope: str, key: str, now: datetime, window: timedelta):
    with Session(engine) as short:
        row = short.get(Throttle, (scope, key))
        return row, _state(row, now, window)


def _hit(
    engine: sa.Engine,
    scope: str,
    key: str,
    now: datetime,
    *,
    limit: int,
    window: timedelta,
    lock_for: timedelta,
) -> datetime | None:
    """Count one attempt atomically; returns locked_until when this attempt reaches `limit`
    (the counter is then locked for `lock_for`)."""
    table = table_of(Throttle)
    c = table.c
    now_value = sa.literal(now, UTCDateTime())
    lock_value = sa.literal(now + lock_for, UTCDateTime())
    stale = sa.or_(
        c.window_start.is_(None),
        c.window_start < now - window,
        sa.and_(c.locked_until.is_not(None), c.locked_until <= now),
    )
    new_count = sa.case((stale, 1), else_=c.count + 1)
    statement = insert_with_on_conflict(engine)(table).values(
        scope=scope,
        key=key,
        count=1,
        window_start=now,
        locked_until=now + lock_for if limit <= 1 else None,
    )
    statement = statement.on_conflict_do_update(
        index_elements=[c.scope, c.key],
        set_={
            "count": new_count,
            "window_start": sa.case((stale, now_value), else_=c.window_start),
            "locked_until": sa.case((new_count >= limit, lock_value), else_=None),
        },
    )
    with Session(engine) as short:
        short.exec(statement)
        row = short.get(Throttle, (scope, key))
        locked_until = _aware(row.locked_until) if row and row.locked_until else None
        short.commit()
    return locked_until if locked_until is not None and locked_until > now else None


def _clear(engine: sa.Engine, scope: str, key: str) -> None:
    with Session(engine) as short:
        short.exec(delete(Throttle).where(col(Throttle.scope) == scope, col(Throttle.key) == key))
        short.commit()


def _retry_after(locked_until: datetime, now: datetime) -> int:
    return max(1, math.ceil((locked_until - now).total_seconds()))


def _ip_limit(action: str) -> int:
    settings = get_settings()
    return {
        SIGN_IN_IP: settings.signin_ip_limit,
        "sign_up": settings.signup_ip_limit,
        "password_reset": settings.password_reset_ip_limit,
    }[action]


def _check_ip(engine: sa.Engine, action: str, address: str, now: datetime) -> None:
    """Refuse (TooManyRequests) while this address is over its allowance for `action`."""
    if address == UNKNOWN_IP:
        return
    window = timedelta(minutes=get_settings().ip_window_minutes)
    _, state = _read(engine, action, throttle_key(address), now, window)
    if state.locked_until is not None:
        audit("ip_throttled", action=action, ip=address)
        raise TooManyRequests(_retry_after(state.locked_until, now))


def _count_ip(engine: sa.Engine, action: str, address: str, now: datetime) -> datetime | None:
    if address == UNKNOWN_IP:
        return None
    window = timedelta(minutes=get_settings().ip_window_minutes)
    locked_until = _hit(
        engine,
        action,
        throttle_key(address),
        now,
        limit=_ip_limit(action),
        window=window,
        lock_for=window,
    )
    if locked_until is not None:
        audit("ip_limit_reached", action=action, ip=address)
    return locked_until


def check_ip_allowance(
    *, session: Session, action: str, client_ip: str | None, now: datetime | None = None
) -> None:
    """Count one `action` ("sign_up" or "password_reset") from this client address, and
    raise TooManyRequests when the address is over its allowance (SIGNUP_IP_LIMIT,
    PASSWORD_RESET_IP_LIMIT per IP_WINDOW_MINUTES). An unknown address is not limited.
    Counts in its own transaction, so a refusal later in the caller still counts."""
    if action not in IP_ACTIONS:
        raise ValueError(f"unknown throttled action {action!r}")
    now = _aware(now) if now else _utcnow()
    engine = owner_engine(session)
    address = client_address(client_ip)
    _check_ip(engine, action, address, now)
    # The attempt that reaches the limit goes ahead; the next one is refused above.
    _count_ip(engine, action, address, now)


def purge_stale_throttles(*, session: Session, now: datetime | None = None) -> int:
    """Delete counters whose window and lock are both over; returns how many went."""
    now = _aware(now) if now else _utcnow()
    settings = get_settings()
    longest = max(
        settings.signin_window_minutes, settings.ip_window_minutes, settings.signin_lockout_minutes
    )
    result = session.exec(
        delete(Throttle).where(
            col(Throttle.window_start) < now - timedelta(minutes=longest),
            sa.or_(col(Throttle.locked_until).is_(None), col(Throttle.locked_until) < now),
        )
    )
    session.flush()
    return result.rowcount or 0


def _pair_key(email: str, address: str) -> str:
    return throttle_key(email, address)


def _sign_in_window() -> timedelta:
    return timedelta(minutes=get_settings().signin_window_minutes)


def _record_failure(engine: sa.Engine, email: str, address: str, now: datetime) -> datetime | None:
    """Count one failed sign-in for (email, address) and for the address alone; returns
    locked_until when this failure locks the pair."""
    settings = get_settings()
    locked_until = _hit(
        engine,
        SIGN_IN,
        _pair_key(email, address),
        now,
        limit=settings.signin_lockout_after,
        window=_sign_in_window(),
        lock_for=timedelta(minutes=settings.signin_lockout_minutes),
    )
    _count_ip(engine, SIGN_IN_IP, address, now)
    audit("sign_in_failed", email=email, ip=address)
    if locked_until is not None:
        audit("sign_in_locked", email=email, ip=address, until=locked_until.isoformat())
    return locked_until


def _check_pair(engine: sa.Engine, email: str, address: str, now: datetime):
    row, state = _read(engine, SIGN_IN, _pair_key(email, address), now, _sign_in_window())
    if state.locked_until is not None:
        audit("sign_in_refused_locked", email=email, ip=address)
        raise TooManyAttempts(_retry_after(state.locked_until, now))
    return row, state


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
    now = _aware(now) if now else _utcnow()
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
    now = _aware(now) if now else _utcnow()
    address = client_address(client_ip)
    engine = owner_engine(session)
    _check_ip(engine, SIGN_IN_IP, address, now)
    try:
        email = normalize_email(email)
    except InvalidSignUp:
        _count_ip(engine, SIGN_IN_IP, address, now)
        raise InvalidCredentials() from None
    settings = get_settings()
    throttle_row, state = _check_pair(engine, email, address, now)
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
        locked_until = _record_failure(engine, email, address, now)
        if locked_until is not None:
            raise TooManyAttempts(_retry_after(locked_until, now))
        raise InvalidCredentials()
    assert user is not None
    if throttle_row is not None:
        _clear(engine, SIGN_IN, _pair_key(email, address))
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
    *,
    session: Session,
    user_id: uuid.UUID,
    password: str,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """Re-check a signed-in user's password before a sensitive action, under the same
    (email, client IP) throttle as sign-in, so a stolen session cannot guess the password."""
    now = _aware(now) if now else _utcnow()
    user = session.get(User, user_id)
    if user is None:
        raise InvalidCredentials("That password is incorrect.", field="password")
    engine = owner_engine(session)
    address = client_address(client_ip)
    _check_pair(engine, user.email, address, now)
    if verify_password(session=session, user_id=user_id, password=password):
        return
    locked_until = _record_failure(engine, user.email, address, now)
    if locked_until is not None:
        raise TooManyAttempts(_retry_after(locked_until, now))
    raise InvalidCredentials("That password is incorrect.", field="password")
