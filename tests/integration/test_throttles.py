"""Throttles an attacker cannot turn against users: failures lock an (email, IP) pair, not the
account, and every client address has its own budgets for sign-in, sign-up and reset."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from promptgen.db import admin_session_scope
from promptgen.services import accounts, throttles
from promptgen.services.accounts import InvalidCredentials, TooManyAttempts, TooManyRequests
from promptgen.settings import reset_settings_cache
from tests.support.factories import DEFAULT_PASSWORD, ensure_tiers

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
OWNER = "owner@example.com"
ATTACKER_IP = "203.0.113.66"
OWNER_IP = "198.51.100.7"


def _no_sleep(_seconds: float) -> None:
    pass


def _sign_up(url: str, email: str = OWNER, *, ip: str | None = None, now=T0):
    with admin_session_scope(url) as session:
        ensure_tiers(session)
    with admin_session_scope(url) as session:
        return accounts.sign_up(
            session=session, email=email, password=DEFAULT_PASSWORD, client_ip=ip, now=now
        )


def _sign_in(url: str, password: str, *, ip: str | None, email: str = OWNER, now=T0):
    with admin_session_scope(url) as session:
        return accounts.sign_in(
            session=session,
            email=email,
            password=password,
            client_ip=ip,
            now=now,
            sleep=_no_sleep,
        )


def test_a_burst_from_one_address_does_not_lock_the_owner_out_elsewhere(db_url: str) -> None:
    _sign_up(db_url)
    for _ in range(7):
        with pytest.raises(InvalidCredentials):
            _sign_in(db_url, "guess-guess", ip=ATTACKER_IP)
    with pytest.raises(TooManyAttempts):
        _sign_in(db_url, "guess-guess", ip=ATTACKER_IP)
    # The attacker's address is locked out of this account, even with the right password...
    with pytest.raises(TooManyAttempts):
        _sign_in(db_url, DEFAULT_PASSWORD, ip=ATTACKER_IP)
    # ...while the owner, from their own address, signs in at once.
    signed_in = _sign_in(db_url, DEFAULT_PASSWORD, ip=OWNER_IP)
    assert signed_in.email == OWNER


def test_an_ipv6_subscriber_cannot_dodge_the_pair_lock_by_changing_address(db_url: str) -> None:
    _sign_up(db_url)
    for n in range(7):
        with pytest.raises(InvalidCredentials):
            _sign_in(db_url, "guess-guess", ip=f"2001:db8:1:2::{n + 1:x}")
    with pytest.raises(TooManyAttempts):
        _sign_in(db_url, "guess-guess", ip="2001:db8:1:2:ffff::99")
    # Another /64 is another subscriber.
    assert _sign_in(db_url, DEFAULT_PASSWORD, ip="2001:db8:1:3::1").email == OWNER


def test_one_address_spraying_many_accounts_is_stopped(db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("SIGNIN_IP_LIMIT", "5")
    reset_settings_cache()
    _sign_up(db_url)
    for n in range(4):
        with pytest.raises(InvalidCredentials):
            _sign_in(db_url, "guess-guess", ip=ATTACKER_IP, email=f"victim{n}@example.com")
    with pytest.raises(InvalidCredentials):  # the fifth failure uses up the allowance
        _sign_in(db_url, "guess-guess", ip=ATTACKER_IP, email="victim5@example.com")
    with pytest.raises(TooManyRequests) as refused:
        _sign_in(db_url, DEFAULT_PASSWORD, ip=ATTACKER_IP)
    assert refused.value.message == "Too many attempts from your network. Try again in 60 minutes."
    # Everybody else is unaffected, the owner included.
    assert _sign_in(db_url, DEFAULT_PASSWORD, ip=OWNER_IP).email == OWNER
    # An hour later the address may try again.
    later = T0 + timedelta(minutes=61)
    assert _sign_in(db_url, DEFAULT_PASSWORD, ip=ATTACKER_IP, now=later).email == OWNER


def test_sign_ups_are_limited_per_address(db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("SIGNUP_IP_LIMIT", "3")
    reset_settings_cache()
    for n in range(3):
        _sign_up(db_url, f"new{n}@example.com", ip=ATTACKER_IP)
    with pytest.raises(TooManyRequests):
        _sign_up(db_url, "new3@example.com", ip=ATTACKER_IP)
    with admin_session_scope(db_url) as session:
        count = session.execute(sa.text("SELECT count(*) FROM users")).scalar_one()
    assert count == 3
    assert _sign_up(db_url, "new3@example.com", ip=OWNER_IP).email == "new3@example.com"


def test_password_reset_requests_are_limited_per_address(db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("PASSWORD_RESET_IP_LIMIT", "2")
    reset_settings_cache()

    def ask(ip: str, now=T0) -> None:
        with admin_session_scope(db_url) as session:
            throttles.check_ip_allowance(
                session=session, action="password_reset", client_ip=ip, now=now
            )

    ask(ATTACKER_IP)
    ask(ATTACKER_IP)
    with pytest.raises(TooManyRequests):
        ask(ATTACKER_IP)
    with pytest.raises(TooManyRequests):
        ask(ATTACKER_IP, now=T0 + timedelta(minutes=30))
    ask(OWNER_IP)
    ask(ATTACKER_IP, now=T0 + timedelta(minutes=61))
    with pytest.raises(ValueError), admin_session_scope(db_url) as session:
        throttles.check_ip_allowance(session=session, action="launch", client_ip=OWNER_IP)


def test_stale_counters_are_purged_but_live_locks_stay(db_url: str) -> None:
    _sign_up(db_url)
    for _ in range(8):
        with pytest.raises((InvalidCredentials, TooManyAttempts)):
            _sign_in(db_url, "guess-guess", ip=ATTACKER_IP)
    with pytest.raises(InvalidCredentials):
        _sign_in(db_url, "guess-guess", ip=OWNER_IP, now=T0 + timedelta(minutes=50))

    def purge(now) -> int:
        with admin_session_scope(db_url) as session:
            return throttles.purge_stale_throttles(session=session, now=now)

    assert purge(T0 + timedelta(minutes=10)) == 0  # everything is still counting
    # After an hour the first address's counters are over; the later failure's stay.
    assert purge(T0 + timedelta(minutes=61)) == 2  # its (email, IP) pair and its IP budget
    with admin_session_scope(db_url) as session:
        assert session.execute(sa.text("SELECT count(*) FROM throttles")).scalar_one() == 2


def test_the_throttle_stores_no_email_or_address(db_url: str) -> None:
    _sign_up(db_url, ip=OWNER_IP)
    with pytest.raises(InvalidCredentials):
        _sign_in(db_url, "guess-guess", ip=ATTACKER_IP)
    with admin_session_scope(db_url) as session:
        rows = session.execute(sa.text("SELECT * FROM throttles")).all()
    dump = repr(rows)
    assert {row.scope for row in rows} == {"sign_in", "sign_in_ip", "sign_up"}
    for clear_text in (OWNER, ATTACKER_IP, OWNER_IP):
        assert clear_text not in dump


def test_security_events_are_logged_without_secrets(db_url: str, caplog) -> None:
    caplog.set_level(logging.INFO, logger="promptgen.audit")
    signed_up = _sign_up(db_url, ip=OWNER_IP)
    for _ in range(8):
        with pytest.raises((InvalidCredentials, TooManyAttempts)):
            _sign_in(db_url, "wrong-password-1", ip=ATTACKER_IP)
    signed_in = _sign_in(db_url, DEFAULT_PASSWORD, ip=OWNER_IP)
    lines = [r.getMessage() for r in caplog.records if r.name == "promptgen.audit"]
    events = [line.split()[1] for line in lines]
    assert events.count("event=sign_in_failed") == 8
    assert "event=sign_in_locked" in events
    assert "event=sign_in_succeeded" in events
    assert "event=signed_up" in events
    text = "\n".join(lines)
    for secret in (OWNER, "wrong-password-1", DEFAULT_PASSWORD, signed_in.token, signed_up.token):
        assert secret not in text
    assert f"ip={ATTACKER_IP}" in text
    assert all(line.startswith("audit event=") and "\n" not in line for line in lines)
