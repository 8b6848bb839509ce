"""Account recovery services on real databases: links hashed, single use, expiring,
replaced by newer ones; resets end every session; changes from Settings."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import AccountToken, User
from promptgen.services import accounts, recovery
from promptgen.services.accounts import InvalidCredentials, InvalidPassword, TooManyAttempts
from promptgen.settings import reset_settings_cache
from tests.support.factories import DEFAULT_PASSWORD, make_user

T0 = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
EMAIL = "user@example.com"
NEW_PASSWORD = "a brand new password"


def _user(url: str, email: str = EMAIL) -> accounts.SignedIn:
    with admin_session_scope(url) as session:
        return make_user(session, email=email)


def _request_reset(url: str, email: str = EMAIL, now: datetime = T0):
    with admin_session_scope(url) as session:
        return recovery.request_password_reset(session=session, email=email, now=now)


def _reset(url: str, token: str, password: str = NEW_PASSWORD, now: datetime = T0):
    with admin_session_scope(url) as session:
        return recovery.reset_password(session=session, token=token, new_password=password, now=now)


def _resolve(url: str, token: str):
    with admin_session_scope(url) as session:
        return accounts.resolve_session(session=session, token=token)


def _sign_in(url: str, password: str, email: str = EMAIL) -> accounts.SignedIn:
    with admin_session_scope(url) as session:
        return accounts.sign_in(
            session=session, email=email, password=password, sleep=lambda _seconds: None
        )


def _stored_tokens(url: str) -> list[AccountToken]:
    with admin_session_scope(url) as session:
        return list(session.exec(select(AccountToken)).all())


def _verified(url: str, user_id) -> bool:
    with admin_session_scope(url) as session:
        return recovery.email_verified(session=session, user_id=user_id)


# --- password reset ---------------------------------------------------------------


def test_reset_link_is_random_and_stored_only_as_its_sha256(db_url: str) -> None:
    user = _user(db_url)
    first = _request_reset(db_url, "  USER@example.com ")
    assert first is not None and first.user_id == user.user_id and first.email == EMAIL
    assert first.token not in repr(first)
    [row] = _stored_tokens(db_url)
    assert row.token_hash == hashlib.sha256(first.token.encode()).hexdigest()
    assert first.token not in {row.token_hash, row.email, row.purpose}
    assert len(first.token) >= 40  # 32 random bytes, URL-safe
    assert _request_reset(db_url, now=T0 + timedelta(minutes=2)).token != first.token


def test_unknown_or_malformed_email_gets_no_link_and_stores_nothing(db_url: str) -> None:
    _user(db_url)
    assert _request_reset(db_url, "nobody@example.com") is None
    assert _request_reset(db_url, "not an email") is None
    assert _stored_tokens(db_url) == []


def test_reset_sets_the_password_and_ends_every_session(db_url: str) -> None:
    user = _user(db_url)
    other = _sign_in(db_url, DEFAULT_PASSWORD)
    link = _request_reset(db_url)
    _reset(db_url, link.token)
    assert _resolve(db_url, user.token) is None
    assert _resolve(db_url, other.token) is None
    with pytest.raises(InvalidCredentials):
        _sign_in(db_url, DEFAULT_PASSWORD)
    assert _sign_in(db_url, NEW_PASSWORD).user_id == user.user_id
    assert _verified(db_url, user.user_id)  # the link reached the mailbox


def test_a_reset_link_works_once(db_url: str) -> None:
    _user(db_url)
    link = _request_reset(db_url)
    _reset(db_url, link.token)
    with pytest.raises(recovery.InvalidLink):
        _reset(db_url, link.token, "yet another password")
    assert _sign_in(db_url, NEW_PASSWORD)


def test_a_reset_link_expires_after_the_configured_minutes(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PASSWORD_RESET_MINUTES", "30")
    reset_settings_cache()
    _user(db_url)
    link = _request_reset(db_url, now=T0)
    with admin_session_scope(db_url) as session:
        assert recovery.check_reset_link(session=session, token=link.token, now=T0)
        late = T0 + timedelta(minutes=30, seconds=1)
        assert not recovery.check_reset_link(session=session, token=link.token, now=late)
    with pytest.raises(recovery.InvalidLink):
        _reset(db_url, link.token, now=T0 + timedelta(minutes=30, seconds=1))
    _reset(db_url, link.token, now=T0 + timedelta(minutes=29))


def test_a_new_request_leaves_older_links_working_until_one_is_used(db_url: str) -> None:
    # Anyone who knows the email can ask for a link; that must not kill the one the owner
    # is about to use. Using any of them ends the others.
    _user(db_url)
    old = _request_reset(db_url, now=T0)
    new = _request_reset(db_url, now=T0 + timedelta(minutes=2))
    _reset(db_url, new.token, now=T0 + timedelta(minutes=2))
    with pytest.raises(recovery.InvalidLink):
        _reset(db_url, old.token, now=T0 + timedelta(minutes=3))


def test_asking_again_within_a_minute_sends_nothing_new(db_url: str) -> None:
    _user(db_url)
    first = _request_reset(db_url, now=T0)
    assert _request_reset(db_url, now=T0 + timedelta(seconds=30)) is None
    _reset(db_url, first.token, now=T0 + timedelta(seconds=40))  # the first one still works


def test_a_weak_password_keeps_the_link_usable(db_url: str) -> None:
    _user(db_url)
    link = _request_reset(db_url)
    with pytest.raises(InvalidPassword) as weak:
        _reset(db_url, link.token, "short")
    assert recovery.error_code(weak.value) == "password-short"
    _reset(db_url, link.token)


def test_junk_tokens_are_refused(db_url: str) -> None:
    _user(db_url)
    _request_reset(db_url)
    for junk in ("", "x", "a" * 5000):
        with pytest.raises(recovery.InvalidLink):
            _reset(db_url, junk)


def test_reset_links_sent_to_an_old_address_stop_working(db_url: str) -> None:
    user = _user(db_url)
    link = _request_reset(db_url)
    with admin_session_scope(db_url) as session:
        recovery.change_email(
            session=session,
            user_id=user.user_id,
            current_password=DEFAULT_PASSWORD,
            new_email="moved@example.com",
        )
    with pytest.raises(recovery.InvalidLink):
        _reset(db_url, link.token)


# --- email verification -----------------------------------------------------------


def test_verification_link_verifies_once(db_url: str) -> None:
    user = _user(db_url)
    assert not _verified(db_url, user.user_id)
    with admin_session_scope(db_url) as session:
        link = recovery.issue_email_verification(session=session, user_id=user.user_id)
    with admin_session_scope(db_url) as session:
        assert recovery.verify_email(session=session, token=link.token)
    assert _verified(db_url, user.user_id)
    with admin_session_scope(db_url) as session:
        assert not recovery.verify_email(session=session, token=link.token)
        # Verified already: nothing more to send.
        assert recovery.issue_email_verification(session=session, user_id=user.user_id) is None


def test_verification_links_expire_and_are_replaced(db_url: str) -> None:
    user = _user(db_url)
    later = T0 + timedelta(minutes=2)
    with admin_session_scope(db_url) as session:
        old = recovery.issue_email_verification(session=session, user_id=user.user_id, now=T0)
        with pytest.raises(recovery.LinkRecentlySent):
            recovery.issue_email_verification(
                session=session, user_id=user.user_id, now=T0 + timedelta(seconds=30)
            )
        new = recovery.issue_email_verification(session=session, user_id=user.user_id, now=later)
    with admin_session_scope(db_url) as session:
        assert not recovery.verify_email(session=session, token=old.token, now=later)
        assert not recovery.verify_email(
            session=session, token=new.token, now=later + timedelta(hours=48, seconds=1)
        )
        assert recovery.verify_email(session=session, token=new.token, now=later)


# --- from Settings ----------------------------------------------------------------


def test_change_password_needs_the_current_one_and_keeps_only_this_session(db_url: str) -> None:
    user = _user(db_url)
    here = _sign_in(db_url, DEFAULT_PASSWORD)
    keep = _resolve(db_url, here.token)
    pending_reset = _request_reset(db_url)
    with pytest.raises(InvalidCredentials), user_session_scope(user.user_id, db_url) as session:
        recovery.change_password(
            session=session,
            user_id=user.user_id,
            current_password="not my password",
            new_password=NEW_PASSWORD,
        )
    with pytest.raises(InvalidPassword), user_session_scope(user.user_id, db_url) as session:
        recovery.change_password(
            session=session,
            user_id=user.user_id,
            current_password=DEFAULT_PASSWORD,
            new_password="short",
        )
    with user_session_scope(user.user_id, db_url) as session:
        email = recovery.change_password(
            session=session,
            user_id=user.user_id,
            current_password=DEFAULT_PASSWORD,
            new_password=NEW_PASSWORD,
            keep_session_id=keep.session_id,
        )
    assert email == EMAIL
    assert _resolve(db_url, user.token) is None  # the other session ended
    assert _resolve(db_url, here.token) is not None  # this one goes on
    with pytest.raises(recovery.InvalidLink):  # a pending reset link dies with the old password
        _reset(db_url, pending_reset.token)
    assert _sign_in(db_url, NEW_PASSWORD).user_id == user.user_id


def test_change_password_shares_the_sign_in_throttle(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIGNIN_LOCKOUT_AFTER", "2")
    reset_settings_cache()
    user = _user(db_url)

    def attempt(password: str) -> None:
        with user_session_scope(user.user_id, db_url) as session:
            recovery.change_password(
                session=session,
                user_id=user.user_id,
                current_password=password,
                new_password=NEW_PASSWORD,
            )

    with pytest.raises(InvalidCredentials):
        attempt("guess number one")
    with pytest.raises(TooManyAttempts):
        attempt("guess number two")
    with pytest.raises(TooManyAttempts):  # even the right one, while locked
        attempt(DEFAULT_PASSWORD)


def test_change_email_unverifies_and_sends_a_link_to_the_new_address(db_url: str) -> None:
    user = _user(db_url)
    _user(db_url, "taken@example.com")
    with admin_session_scope(db_url) as session:
        link = recovery.issue_email_verification(session=session, user_id=user.user_id)
        recovery.verify_email(session=session, token=link.token)

    def change(password: str, new_email: str):
        with admin_session_scope(db_url) as session:
            return recovery.change_email(
                session=session,
                user_id=user.user_id,
                current_password=password,
                new_email=new_email,
            )

    with pytest.raises(InvalidCredentials):
        change("not my password", "new@example.com")
    for bad, code in (
        ("taken@example.com", "email-unavailable"),
        (EMAIL, "email-same"),
        ("nope", "email-invalid"),
    ):
        with pytest.raises(accounts.AccountError) as refused:
            change(DEFAULT_PASSWORD, bad)
        assert recovery.error_code(refused.value) == code
    changed = change(DEFAULT_PASSWORD, " New@Example.com ")
    assert changed.old_email == EMAIL
    assert changed.verification.email == "new@example.com"
    with admin_session_scope(db_url) as session:
        stored = session.get(User, user.user_id)
        assert stored.email == "new@example.com" and stored.email_verified_at is None
        assert recovery.verify_email(session=session, token=changed.verification.token)
    assert _verified(db_url, user.user_id)
    assert _sign_in(db_url, DEFAULT_PASSWORD, email="new@example.com")


def test_deleting_the_account_removes_its_links(db_url: str) -> None:
    from promptgen.services import account_deletion

    user = _user(db_url)
    _request_reset(db_url)
    with user_session_scope(user.user_id, db_url) as session:
        account_deletion.delete_account(
            session=session, user_id=user.user_id, password=DEFAULT_PASSWORD
        )
    assert _stored_tokens(db_url) == []
