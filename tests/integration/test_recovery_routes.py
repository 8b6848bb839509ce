"""Account recovery over HTTP, through the real Starlette app and a real SMTP server:
forgot password, the emailed reset and verification links, changes from Settings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from starlette.testclient import TestClient

from promptgen import mail
from promptgen.api.app import build_api
from promptgen.db import admin_session_scope
from promptgen.services import accounts, recovery
from promptgen.settings import Settings, reset_settings_cache
from tests.support.factories import DEFAULT_PASSWORD, make_user
from tests.support.smtp_sink import SmtpSink, body, link_in

APP = "http://app.test"
EMAIL = "user@example.com"
NEW_PASSWORD = "a brand new password"
SAME_SITE = {"Origin": APP}


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    with SmtpSink() as server:
        yield server


@pytest.fixture
def client(db_url: str, sink: SmtpSink, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    sink.messages.clear()
    monkeypatch.setenv("SMTP_URL", sink.url)
    monkeypatch.setenv("APP_URL", APP)
    monkeypatch.setenv("MAIL_FROM", "PromptGen <no-reply@app.test>")
    reset_settings_cache()
    return TestClient(build_api(), base_url=APP, follow_redirects=False)


@pytest.fixture
def user(db_url: str) -> accounts.SignedIn:
    with admin_session_scope(db_url) as session:
        return make_user(session, email=EMAIL)


def _sign_in(url: str, password: str, email: str = EMAIL) -> accounts.SignedIn:
    with admin_session_scope(url) as session:
        return accounts.sign_in(session=session, email=email, password=password, sleep=lambda s: 0)


def _resolve(url: str, token: str):
    with admin_session_scope(url) as session:
        return accounts.resolve_session(session=session, token=token)


def _path(link: str) -> str:
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


# --- forgot and reset ---------------------------------------------------------------


def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(
    client: TestClient, sink: SmtpSink, user
) -> None:
    known = client.post("/api/password/forgot", data={"email": EMAIL}, headers=SAME_SITE)
    unknown = client.post(
        "/api/password/forgot", data={"email": "nobody@example.com"}, headers=SAME_SITE
    )
    for answer in (known, unknown):
        assert answer.status_code == 303
        assert answer.headers["location"] == "/forgot-password?sent=1"
    assert known.text == unknown.text
    assert set(known.headers) == set(unknown.headers)
    [message] = sink.messages
    assert message["To"] == EMAIL and message["From"] == "PromptGen <no-reply@app.test>"
    assert "expires in 60 minutes" in body(message)
    assert link_in(message).startswith(f"{APP}/reset-password?token=")


def test_reset_through_the_emailed_link_ends_every_session(
    client: TestClient, sink: SmtpSink, db_url: str, user
) -> None:
    client.post("/api/password/forgot", data={"email": EMAIL}, headers=SAME_SITE)
    link = link_in(sink.wait_for(EMAIL, "Reset your PromptGen password"))
    token = link.split("token=", 1)[1]

    opened = client.get(_path(link))
    assert opened.status_code == 303 and opened.headers["location"] == "/new-password"
    assert token not in opened.headers["location"]
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith("promptgen_reset=") and "HttpOnly" in cookie
    assert "Path=/api/password/reset" in cookie and "SameSite=strict" in cookie

    weak = client.post("/api/password/reset", data={"password": "short"}, headers=SAME_SITE)
    assert weak.headers["location"] == "/new-password?error=password-short"
    done = client.post("/api/password/reset", data={"password": NEW_PASSWORD}, headers=SAME_SITE)
    assert done.status_code == 303 and done.headers["location"] == "/new-password?done=1"

    assert _resolve(db_url, user.token) is None
    with pytest.raises(accounts.InvalidCredentials):
        _sign_in(db_url, DEFAULT_PASSWORD)
    assert _sign_in(db_url, NEW_PASSWORD).user_id == user.user_id
    assert "password was changed" in sink.wait_for(EMAIL, "password was changed")["Subject"]

    # The link worked once.
    again = client.get(_path(link))
    assert again.headers["location"] == "/new-password?link=invalid"
    client.cookies.set("promptgen_reset", token, path="/api/password/reset")
    replay = client.post("/api/password/reset", data={"password": "another new password"})
    assert replay.headers["location"] == "/new-password?link=invalid"


def test_a_reset_ends_the_lockout_its_owner_ran_into(
    client: TestClient, sink: SmtpSink, db_url: str, user, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locked out after forgetting the password, the owner resets it through the emailed
    link and can sign in at once from the same address; another address stays locked."""
    monkeypatch.setenv("SIGNIN_SLOWDOWN_AFTER", "100")
    monkeypatch.setenv("SIGNIN_LOCKOUT_AFTER", "3")
    reset_settings_cache()

    def sign_in(password: str, address: str = "testclient"):
        with admin_session_scope(db_url) as session:
            return accounts.sign_in(
                session=session,
                email=EMAIL,
                password=password,
                client_ip=address,
                sleep=lambda s: 0,
            )

    for address in ("testclient", "203.0.113.9"):
        for _ in range(2):
            with pytest.raises(accounts.InvalidCredentials):
                sign_in("a guess that is wrong", address)
        with pytest.raises(accounts.TooManyAttempts):  # the third failure locks
            sign_in("a guess that is wrong", address)
        with pytest.raises(accounts.TooManyAttempts):  # even the right password now
            sign_in(DEFAULT_PASSWORD, address)

    client.post("/api/password/forgot", data={"email": EMAIL}, headers=SAME_SITE)
    client.get(_path(link_in(sink.wait_for(EMAIL, "Reset your PromptGen password"))))
    done = client.post("/api/password/reset", data={"password": NEW_PASSWORD}, headers=SAME_SITE)
    assert done.headers["location"] == "/new-password?done=1"

    assert sign_in(NEW_PASSWORD).user_id == user.user_id
    with pytest.raises(accounts.TooManyAttempts):
        sign_in(NEW_PASSWORD, "203.0.113.9")


def test_reset_without_a_link_or_from_another_site_is_refused(client: TestClient, user) -> None:
    no_link = client.post("/api/password/reset", data={"password": NEW_PASSWORD})
    assert no_link.headers["location"] == "/new-password?link=invalid"
    junk = client.get("/reset-password?token=not-a-token")
    assert junk.headers["location"] == "/new-password?link=invalid"
    for path in (
        "/api/password/forgot",
        "/api/password/reset",
        "/api/account/verification",
        "/api/account/email",
        "/api/account/password",
    ):
        answer = client.post(path, data={"email": EMAIL}, headers={"Origin": "https://evil.test"})
        assert answer.status_code == 403, path


# --- verification -------------------------------------------------------------------


def test_resend_and_follow_the_verification_link(
    client: TestClient, sink: SmtpSink, db_url: str, user
) -> None:
    client.cookies.set("promptgen_session", user.token)
    sent = client.post("/api/account/verification", headers=SAME_SITE)
    assert sent.headers["location"] == "/settings?account=verification-sent"
    soon = client.post("/api/account/verification", headers=SAME_SITE)
    assert soon.headers["location"] == "/settings?account=verification-recent"
    [message] = sink.to(EMAIL)  # one link, not two
    link = link_in(message)
    assert link.startswith(f"{APP}/verify-email?token=")

    client.cookies.clear()  # the link works in any browser, signed in or not
    assert client.get(_path(link)).headers["location"] == "/email-verified?status=ok"
    with admin_session_scope(db_url) as session:
        assert recovery.email_verified(session=session, user_id=user.user_id)
    assert client.get(_path(link)).headers["location"] == "/email-verified?status=invalid"

    client.cookies.set("promptgen_session", user.token)
    again = client.post("/api/account/verification", headers=SAME_SITE)
    assert again.headers["location"] == "/settings?account=already-verified"


def test_signed_out_posts_go_to_sign_in(client: TestClient) -> None:
    for path in ("/api/account/verification", "/api/account/email", "/api/account/password"):
        answer = client.post(path, data={"password": "x"}, headers=SAME_SITE)
        assert answer.headers["location"] == "/sign-in?next=/settings", path


# --- changes from Settings ----------------------------------------------------------


def test_change_password_keeps_this_session_only(
    client: TestClient, sink: SmtpSink, db_url: str, user
) -> None:
    here = _sign_in(db_url, DEFAULT_PASSWORD)
    client.cookies.set("promptgen_session", here.token)
    wrong = client.post(
        "/api/account/password",
        data={"current_password": "not my password", "new_password": NEW_PASSWORD},
        headers=SAME_SITE,
    )
    assert wrong.headers["location"] == "/settings?account_error=wrong-password"
    changed = client.post(
        "/api/account/password",
        data={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        headers=SAME_SITE,
    )
    assert changed.headers["location"] == "/settings?account=password-changed"
    assert NEW_PASSWORD not in changed.headers["location"]
    assert _resolve(db_url, here.token) is not None
    assert _resolve(db_url, user.token) is None
    sink.wait_for(EMAIL, "password was changed")
    assert _sign_in(db_url, NEW_PASSWORD).user_id == user.user_id


def test_change_email_verifies_the_new_address_and_tells_the_old_one(
    client: TestClient, sink: SmtpSink, db_url: str, user
) -> None:
    client.cookies.set("promptgen_session", user.token)
    refused = client.post(
        "/api/account/email",
        data={"new_email": "new@example.com", "password": "not my password"},
        headers=SAME_SITE,
    )
    assert refused.headers["location"] == "/settings?account_error=wrong-password"
    changed = client.post(
        "/api/account/email",
        data={"new_email": "new@example.com", "password": DEFAULT_PASSWORD},
        headers=SAME_SITE,
    )
    assert changed.headers["location"] == "/settings?account=email-changed"
    notice = sink.wait_for(EMAIL, "email address was changed")
    assert "new@example.com" in body(notice) and "http" not in body(notice).split("support")[0]
    link = link_in(sink.wait_for("new@example.com", "Confirm your email address"))
    assert client.get(_path(link)).headers["location"] == "/email-verified?status=ok"
    assert _resolve(db_url, user.token).email == "new@example.com"


# --- mail without SMTP ----------------------------------------------------------------


def test_local_mode_without_smtp_logs_only_the_link(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(_env_file=None, app_url=APP)
    link = recovery.IssuedLink(user_id=None, email=EMAIL, token="tok-123", expires_at=None)  # type: ignore[arg-type]
    message = mail.reset_mail(link, settings)
    with caplog.at_level(logging.INFO, logger="promptgen.mail"):
        mail.deliver(message, settings)
    [record] = caplog.records
    assert record.levelno == logging.INFO
    assert record.getMessage().endswith(f"Link: {APP}/reset-password?token=tok-123")
    assert "someone asked" not in record.getMessage().lower()  # the link, not the email

    production = Settings(
        _env_file=None, app_env="production", database_url="postgresql+psycopg://db/x"
    )
    caplog.clear()
    with pytest.raises(mail.MailNotConfigured):
        mail.deliver(message, production)
    assert caplog.records == []
