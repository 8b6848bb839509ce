"""Accounts service on real databases: sign-up, throttled sign-in, sessions, passwords."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import select

from promptgen.db import admin_session_scope
from promptgen.models import (
    SubscriptionTier,
    Throttle,
    User,
    UserProfile,
    UserSession,
    UserSubscription,
)
from promptgen.services import accounts, throttles
from promptgen.services.accounts import (
    AccountError,
    InvalidCredentials,
    InvalidSignUp,
    TooManyAttempts,
)
from promptgen.settings import reset_settings_cache
from tests.support.factories import DEFAULT_PASSWORD, ensure_tiers, make_user

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
EMAIL = "user@example.com"
NEUTRAL_SIGN_UP = (
    "We couldn't create an account with that email. If you already have one, sign in instead."
)


class RecordingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _sign_in(url: str, password: str, *, email: str = EMAIL, now=T0, sleep=None, ip=None):
    with admin_session_scope(url) as session:
        return accounts.sign_in(
            session=session,
            email=email,
            password=password,
            now=now,
            sleep=sleep or RecordingSleep(),
            client_ip=ip,
        )


def _make(url: str, email: str = EMAIL, password: str = DEFAULT_PASSWORD, now=T0):
    with admin_session_scope(url) as session:
        ensure_tiers(session)
        return accounts.sign_up(session=session, email=email, password=password, now=now)


def _resolve(url: str, token: str | None, now=T0):
    with admin_session_scope(url) as session:
        return accounts.resolve_session(session=session, token=token, now=now)


def _find(url: str, token: str | None, now=T0):
    """The events' and page loads' lookup (one statement on PostgreSQL)."""
    token_hash = accounts.hash_token(token) if token else None
    return asyncio.run(accounts.find_session_user(token_hash, now=now))


# Sessions are found by two implementations that must agree: the ORM one (sign-in routes,
# uploads) and the one-statement one (every Reflex event and page load).
both_lookups = pytest.mark.parametrize("lookup", [_resolve, _find], ids=["orm", "statement"])


def _throttle(url: str, email: str = EMAIL, ip: str | None = None) -> Throttle | None:
    """The (email, IP) sign-in counter; without an IP, the shared "unknown" address's."""
    key = throttles.throttle_key(email, throttles.client_address(ip))
    with admin_session_scope(url) as session:
        return session.get(Throttle, (throttles.SIGN_IN, key))


# --- sign-up ----------------------------------------------------------------------


def test_sign_up_normalises_email_and_creates_the_whole_account(db_url: str) -> None:
    signed_in = _make(db_url, email="  Alice@Example.COM ", now=T0)
    assert signed_in.email == "alice@example.com"
    assert signed_in.token and signed_in.token not in repr(signed_in)

    with admin_session_scope(db_url) as session:
        user = session.exec(select(User)).one()
        assert user.id == signed_in.user_id
        assert user.email == "alice@example.com"
        assert user.password_hash.startswith("$argon2id$")
        assert DEFAULT_PASSWORD not in user.password_hash
        assert session.get(UserProfile, user.id) is not None
        subscription, tier = session.exec(
            select(UserSubscription, SubscriptionTier).join(
                SubscriptionTier, SubscriptionTier.id == UserSubscription.tier_id
            )
        ).one()
        assert subscription.user_id == user.id
        assert tier.slug == "free"
        assert subscription.status == "active"
        assert subscription.billing_interval == "month"
        assert subscription.usage_count == 0
        assert subscription.usage_period_start == datetime(2026, 3, 1, tzinfo=UTC)
        assert len(session.exec(select(UserSession)).all()) == 1

    current = _resolve(db_url, signed_in.token)
    assert current is not None
    assert (current.user_id, current.email) == (signed_in.user_id, "alice@example.com")


@pytest.mark.parametrize(
    "email",
    [
        "",
        "   ",
        "alice",
        "alice@example",
        "@example.com",
        "alice@@example.com",
        "al ice@example.com",
        "alice@exa mple.com",
        "alice@example..com",
        "alice@.example.com",
        "a@b@example.com",
        "alice\x00@example.com",
        "a" * 65 + "@example.com",
        "alice@" + "a" * 320 + ".com",
    ],
)
def test_sign_up_rejects_a_malformed_email_on_the_email_field(sqlite_url: str, email: str) -> None:
    with pytest.raises(InvalidSignUp) as caught, admin_session_scope(sqlite_url) as session:
        ensure_tiers(session)
        accounts.sign_up(session=session, email=email, password=DEFAULT_PASSWORD)
    assert caught.value.field == "email"
    assert caught.value.message == "Enter a valid email address."


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "Use at least 10 characters for your password."),
        ("123456789", "Use at least 10 characters for your password."),
        ("x" * 1025, "Use at most 1024 characters for your password."),
    ],
)
def test_sign_up_rejects_a_bad_password_on_the_password_field(
    sqlite_url: str, password: str, message: str
) -> None:
    with pytest.raises(InvalidSignUp) as caught, admin_session_scope(sqlite_url) as session:
        ensure_tiers(session)
        accounts.sign_up(session=session, email=EMAIL, password=password)
    assert isinstance(caught.value, AccountError)
    assert (caught.value.field, caught.value.message) == ("password", message)
    with admin_session_scope(sqlite_url) as session:
        assert session.exec(select(User)).first() is None


def test_duplicate_sign_up_in_another_case_is_refused_neutrally(db_url: str) -> None:
    _make(db_url, email="alice@example.com")
    with admin_session_scope(db_url) as session:
        with pytest.raises(InvalidSignUp) as caught:
            accounts.sign_up(session=session, email="ALICE@example.com", password="another one!")
        assert caught.value.field == "email"
        assert caught.value.message == NEUTRAL_SIGN_UP
        # The caller's transaction survives the refusal and can still be used.
        session.add(SubscriptionTier(slug="extra", name="Extra", monthly_quota=1, retention_days=1))
    with admin_session_scope(db_url) as session:
        assert len(session.exec(select(User)).all()) == 1
        assert session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == "extra")).one()
        assert len(session.exec(select(UserSession)).all()) == 1


def test_sign_up_without_a_catalog_says_how_to_seed(db_url: str) -> None:
    with (
        pytest.raises(RuntimeError, match="python -m promptgen seed"),
        admin_session_scope(db_url) as session,
    ):
        accounts.sign_up(session=session, email=EMAIL, password=DEFAULT_PASSWORD)


def test_sign_up_falls_back_to_the_first_active_tier_without_a_free_slug(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        session.add(
            SubscriptionTier(slug="b", name="B", monthly_quota=1, retention_days=1, sort_order=2)
        )
        session.add(
            SubscriptionTier(
                slug="old",
                name="Old",
                monthly_quota=1,
                retention_days=1,
                sort_order=0,
                is_active=False,
            )
        )
        session.add(
            SubscriptionTier(slug="a", name="A", monthly_quota=1, retention_days=1, sort_order=1)
        )
        session.flush()
        signed_in = accounts.sign_up(session=session, email=EMAIL, password=DEFAULT_PASSWORD)
        tier = session.exec(
            select(SubscriptionTier)
            .join(UserSubscription, UserSubscription.tier_id == SubscriptionTier.id)
            .where(UserSubscription.user_id == signed_in.user_id)
        ).one()
        assert tier.slug == "a"


def test_concurrent_duplicate_sign_ups_create_exactly_one_account(pg_url: str) -> None:
    with admin_session_scope(pg_url) as session:
        ensure_tiers(session)
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def attempt(email: str) -> None:
        try:
            with admin_session_scope(pg_url) as session:
                barrier.wait(timeout=10)
                outcomes.append(
                    accounts.sign_up(session=session, email=email, password=DEFAULT_PASSWORD)
                )
        except Exception as exc:
            outcomes.append(exc)

    threads = [
        threading.Thread(target=attempt, args=(email,))
        for email in ("race@example.com", "RACE@example.com")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    successes = [o for o in outcomes if isinstance(o, accounts.SignedIn)]
    refusals = [o for o in outcomes if isinstance(o, InvalidSignUp)]
    assert (len(successes), len(refusals)) == (1, 1), outcomes
    assert refusals[0].message == NEUTRAL_SIGN_UP
    with admin_session_scope(pg_url) as session:
        users = session.exec(select(User)).all()
        assert [u.email for u in users] == ["race@example.com"]
        assert len(session.exec(select(UserSubscription)).all()) == 1
        assert len(session.exec(select(UserProfile)).all()) == 1


# --- sign-in ----------------------------------------------------------------------


def test_sign_in_returns_a_token_that_resolves_and_only_its_hash_is_stored(db_url: str) -> None:
    signed_up = _make(db_url)
    signed_in = _sign_in(db_url, DEFAULT_PASSWORD, email="  USER@example.com")
    assert signed_in.user_id == signed_up.user_id
    assert signed_in.token != signed_up.token
    assert len(signed_in.token) >= 40

    current = _resolve(db_url, signed_in.token)
    assert current is not None and current.user_id == signed_up.user_id

    with admin_session_scope(db_url) as session:
        rows = session.execute(sa.text("SELECT * FROM user_sessions")).all()
        dump = repr([tuple(str(v) for v in row) for row in rows])
    assert len(rows) == 2
    for token in (signed_up.token, signed_in.token):
        assert token not in dump
        assert accounts.hash_token(token) in dump
    with admin_session_scope(db_url) as session:
        assert session.get(User, signed_up.user_id).last_sign_in_at == T0


def test_wrong_password_and_unknown_email_look_the_same_and_both_count(db_url: str) -> None:
    _make(db_url)
    with pytest.raises(InvalidCredentials) as wrong:
        _sign_in(db_url, "not the password")
    with pytest.raises(InvalidCredentials) as unknown:
        _sign_in(db_url, "not the password", email="nobody@example.com")
    assert wrong.value.message == unknown.value.message == "Email or password is incorrect."
    assert wrong.value.field is unknown.value.field is None
    assert _throttle(db_url).count == 1
    assert _throttle(db_url, "nobody@example.com").count == 1


@pytest.mark.parametrize("email", ["not-an-email", "", "a@b"])
def test_a_malformed_email_on_sign_in_is_just_incorrect_credentials(
    sqlite_url: str, email: str
) -> None:
    with pytest.raises(InvalidCredentials) as caught:
        _sign_in(sqlite_url, DEFAULT_PASSWORD, email=email)
    assert caught.value.message == "Email or password is incorrect."


def test_failures_slow_down_then_lock_even_the_correct_password(db_url: str) -> None:
    _make(db_url)
    sleep = RecordingSleep()
    for _ in range(7):
        with pytest.raises(InvalidCredentials):
            _sign_in(db_url, "wrong password", sleep=sleep)
    # Three free failures, then 0.5 s more per failure (capped at 3 s), before verifying.
    assert sleep.calls == [0.5, 1.0, 1.5, 2.0]

    with pytest.raises(TooManyAttempts) as eighth:
        _sign_in(db_url, "wrong password", sleep=sleep)
    assert eighth.value.retry_after_seconds == 15 * 60
    assert eighth.value.message == "Too many failed sign-in attempts. Try again in 15 minutes."
    assert sleep.calls[-1] == 2.5

    calls_before = len(sleep.calls)
    later = T0 + timedelta(minutes=14, seconds=30)
    with pytest.raises(TooManyAttempts) as locked:
        _sign_in(db_url, DEFAULT_PASSWORD, now=later, sleep=sleep)
    assert locked.value.retry_after_seconds == 30
    assert locked.value.message == "Too many failed sign-in attempts. Try again in 1 minute."
    assert len(sleep.calls) == calls_before  # refused before any delay or verification

    after_lock = T0 + timedelta(minutes=15, seconds=1)
    signed_in = _sign_in(db_url, DEFAULT_PASSWORD, now=after_lock, sleep=sleep)
    assert _resolve(db_url, signed_in.token, now=after_lock) is not None
    assert _throttle(db_url) is None  # success clears the counter
    assert len(sleep.calls) == calls_before


def test_unknown_email_is_locked_out_the_same_way(sqlite_url: str) -> None:
    for _ in range(7):
        with pytest.raises(InvalidCredentials):
            _sign_in(sqlite_url, "whatever123", email="ghost@example.com")
    with pytest.raises(TooManyAttempts):
        _sign_in(sqlite_url, "whatever123", email="ghost@example.com")
    assert _throttle(sqlite_url, "ghost@example.com").count == 8


def test_slowdown_caps_at_three_seconds(sqlite_url: str, monkeypatch) -> None:
    monkeypatch.setenv("SIGNIN_SLOWDOWN_AFTER", "1")
    monkeypatch.setenv("SIGNIN_LOCKOUT_AFTER", "10")
    reset_settings_cache()
    sleep = RecordingSleep()
    for _ in range(9):
        with pytest.raises(InvalidCredentials):
            _sign_in(sqlite_url, "wrong password", sleep=sleep)
    assert sleep.calls == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.0, 3.0]


def test_an_old_failure_window_resets_the_count(db_url: str) -> None:
    _make(db_url)
    sleep = RecordingSleep()
    for _ in range(3):
        with pytest.raises(InvalidCredentials):
            _sign_in(db_url, "wrong password", sleep=sleep)
    assert sleep.calls == []
    later = T0 + timedelta(minutes=16)
    with pytest.raises(InvalidCredentials):
        _sign_in(db_url, "wrong password", now=later, sleep=sleep)
    assert sleep.calls == []  # the fourth failure is the first of a new window
    row = _throttle(db_url)
    assert (row.count, row.window_start) == (1, later)


def test_a_failure_counts_even_when_the_callers_transaction_rolls_back(db_url: str) -> None:
    _make(db_url)
    with pytest.raises(InvalidCredentials), admin_session_scope(db_url) as session:
        accounts.sign_in(session=session, email=EMAIL, password="wrong password", now=T0)
    with pytest.raises(ValueError), admin_session_scope(db_url) as session:
        with pytest.raises(InvalidCredentials):
            accounts.sign_in(session=session, email=EMAIL, password="wrong password", now=T0)
        raise ValueError("the caller fails afterwards")
    assert _throttle(db_url).count == 2


def test_sign_in_rehashes_a_hash_with_outdated_parameters(sqlite_url: str) -> None:
    signed_up = _make(sqlite_url)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1)
    with admin_session_scope(sqlite_url) as session:
        user = session.get(User, signed_up.user_id)
        user.password_hash = weak.hash(DEFAULT_PASSWORD)
        session.add(user)
    _sign_in(sqlite_url, DEFAULT_PASSWORD)
    with admin_session_scope(sqlite_url) as session:
        new_hash = session.get(User, signed_up.user_id).password_hash
    assert new_hash.startswith("$argon2id$")
    assert not PasswordHasher().check_needs_rehash(new_hash)


# --- sessions ---------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "", "not-a-token", "x" * 10_000])
def test_resolve_session_ignores_missing_and_unknown_tokens(sqlite_url: str, token) -> None:
    _make(sqlite_url)
    assert _resolve(sqlite_url, token) is None


@both_lookups
def test_a_session_idle_for_thirty_days_expires_and_is_deleted(db_url: str, lookup) -> None:
    signed_in = _make(db_url)
    assert lookup(db_url, signed_in.token, now=T0 + timedelta(days=30)) is not None
    # The check above touched last_seen_at; idle again from there.
    idle_from = T0 + timedelta(days=30)
    assert lookup(db_url, signed_in.token, now=idle_from + timedelta(days=30, seconds=1)) is None
    with admin_session_scope(db_url) as session:
        assert session.exec(select(UserSession)).first() is None
    assert lookup(db_url, signed_in.token, now=idle_from) is None


@both_lookups
def test_activity_slides_the_expiry(db_url: str, lookup) -> None:
    signed_in = _make(db_url)
    assert lookup(db_url, signed_in.token, now=T0 + timedelta(days=20)) is not None
    current = lookup(db_url, signed_in.token, now=T0 + timedelta(days=45))
    assert current is not None and current.user_id == signed_in.user_id
    with admin_session_scope(db_url) as session:
        assert session.exec(select(UserSession)).one().last_seen_at == T0 + timedelta(days=45)


@both_lookups
def test_last_seen_is_not_rewritten_within_a_minute(db_url: str, lookup) -> None:
    signed_in = _make(db_url)

    def last_seen() -> datetime:
        with admin_session_scope(db_url) as session:
            return session.exec(select(UserSession)).one().last_seen_at

    assert lookup(db_url, signed_in.token, now=T0 + timedelta(seconds=59)) is not None
    assert last_seen() == T0
    assert lookup(db_url, signed_in.token, now=T0 + timedelta(seconds=61)) is not None
    assert last_seen() == T0 + timedelta(seconds=61)


def test_sign_out_ends_only_that_session(db_url: str) -> None:
    first = _make(db_url)
    second = _sign_in(db_url, DEFAULT_PASSWORD)
    with admin_session_scope(db_url) as session:
        accounts.sign_out(session=session, token=first.token)
        accounts.sign_out(session=session, token=None)
        accounts.sign_out(session=session, token="unknown")
    assert _resolve(db_url, first.token) is None
    assert _resolve(db_url, second.token) is not None


def test_sign_out_everywhere_ends_every_session_of_the_user(db_url: str) -> None:
    first = _make(db_url)
    second = _sign_in(db_url, DEFAULT_PASSWORD)
    other = _make(db_url, email="other@example.com")
    with admin_session_scope(db_url) as session:
        assert accounts.sign_out_everywhere(session=session, user_id=first.user_id) == 2
    assert _resolve(db_url, first.token) is None
    assert _resolve(db_url, second.token) is None
    assert _resolve(db_url, other.token) is not None


# --- passwords --------------------------------------------------------------------


def test_verify_password(sqlite_url: str) -> None:
    # Changing the password: tests/integration/test_recovery.py.
    first = _make(sqlite_url)
    with admin_session_scope(sqlite_url) as session:
        assert accounts.verify_password(
            session=session, user_id=first.user_id, password=DEFAULT_PASSWORD
        )
        assert not accounts.verify_password(
            session=session, user_id=first.user_id, password="nope nope nope"
        )


def test_make_user_factory_sets_the_tier(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        signed_in = make_user(session, email="pro@example.com", tier_slug="pro")
        tier = session.exec(
            select(SubscriptionTier)
            .join(UserSubscription, UserSubscription.tier_id == SubscriptionTier.id)
            .where(UserSubscription.user_id == signed_in.user_id)
        ).one()
        assert tier.slug == "pro"
