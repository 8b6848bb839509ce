"""Sign-in and per-address throttles: counters in `throttles`, each hit in its own short
transaction so an attempt counts even when the caller's transaction rolls back.

Accounts (sign-in, sign-up, password checks) and recovery (reset requests) call these;
nothing here knows about users or passwords.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, delete

from promptgen.audit import audit
from promptgen.db import insert_with_on_conflict, owner_engine, table_of
from promptgen.models import Throttle, UTCDateTime
from promptgen.periods import as_utc
from promptgen.services.account_errors import AccountError
from promptgen.settings import get_settings


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


class TooManyRequests(TooManyAttempts):
    """This client address has used up its allowance for an action for a while."""

    code = "network"

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(retry_after_seconds)
        minutes = max(1, math.ceil(self.retry_after_seconds / 60))
        unit = "minute" if minutes == 1 else "minutes"
        self.message = f"Too many attempts from your network. Try again in {minutes} {unit}."
        self.args = (self.message,)


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
        locked_until = as_utc(row.locked_until)
        if locked_until > now:
            return _ThrottleState(row.count, locked_until)
        return _ThrottleState(0, None)  # an expired lock starts afresh
    if row.window_start is None or as_utc(row.window_start) < now - window:
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
        locked_until = as_utc(row.locked_until) if row and row.locked_until else None
        short.commit()
    return locked_until if locked_until is not None and locked_until > now else None


def _clear(engine: sa.Engine, scope: str, key: str) -> None:
    with Session(engine) as short:
        short.exec(delete(Throttle).where(col(Throttle.scope) == scope, col(Throttle.key) == key))
        short.commit()


def retry_after(locked_until: datetime, now: datetime) -> int:
    return max(1, math.ceil((locked_until - now).total_seconds()))


def _ip_limit(action: str) -> int:
    settings = get_settings()
    return {
        SIGN_IN_IP: settings.signin_ip_limit,
        "sign_up": settings.signup_ip_limit,
        "password_reset": settings.password_reset_ip_limit,
    }[action]


def check_ip(engine: sa.Engine, action: str, address: str, now: datetime) -> None:
    """Refuse (TooManyRequests) while this address is over its allowance for `action`."""
    if address == UNKNOWN_IP:
        return
    window = timedelta(minutes=get_settings().ip_window_minutes)
    _, state = _read(engine, action, throttle_key(address), now, window)
    if state.locked_until is not None:
        audit("ip_throttled", action=action, ip=address)
        raise TooManyRequests(retry_after(state.locked_until, now))


def count_ip(engine: sa.Engine, action: str, address: str, now: datetime) -> datetime | None:
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
    now = as_utc(now) if now else datetime.now(UTC)
    engine = owner_engine(session)
    address = client_address(client_ip)
    check_ip(engine, action, address, now)
    # The attempt that reaches the limit goes ahead; the next one is refused above.
    count_ip(engine, action, address, now)


def purge_stale_throttles(*, session: Session, now: datetime | None = None) -> int:
    """Delete counters whose window and lock are both over; returns how many went."""
    now = as_utc(now) if now else datetime.now(UTC)
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


def record_failure(engine: sa.Engine, email: str, address: str, now: datetime) -> datetime | None:
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
    count_ip(engine, SIGN_IN_IP, address, now)
    audit("sign_in_failed", email=email, ip=address)
    if locked_until is not None:
        audit("sign_in_locked", email=email, ip=address, until=locked_until.isoformat())
    return locked_until


def check_pair(engine: sa.Engine, email: str, address: str, now: datetime):
    row, state = _read(engine, SIGN_IN, _pair_key(email, address), now, _sign_in_window())
    if state.locked_until is not None:
        audit("sign_in_refused_locked", email=email, ip=address)
        raise TooManyAttempts(retry_after(state.locked_until, now))
    return row, state


def clear_pair(engine: sa.Engine, email: str, address: str) -> None:
    """Forget the failures of (email, address) after a successful sign-in."""
    _clear(engine, SIGN_IN, _pair_key(email, address))
