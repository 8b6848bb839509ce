"""Regression tests from a hostile review of the sessions, edges and recovery code: each
failed before its fix."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.api.edge import EdgeConfig, EdgeMiddleware
from promptgen.api.session_cookie import (
    hide_session_token,
    session_hash_from_cookie_header,
)
from promptgen.db import admin_session_scope
from promptgen.models import Throttle
from promptgen.services import accounts, throttles
from promptgen.settings import reset_settings_cache
from tests.support.factories import make_user

APP = "http://app.test"
SAME_SITE = {"Origin": APP}


# 1. The websocket loses the session when any other cookie is not RFC-6265-strict.
@pytest.mark.parametrize("other", ['prefs={"theme":"dark"}', "pref=dark mode", "ab[1]=x"])
def test_an_odd_cookie_from_another_app_does_not_hide_the_session(other: str) -> None:
    seen: dict = {}

    async def inner(scope, receive, send):
        seen["cookie"] = dict(scope["headers"]).get(b"cookie", b"").decode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    client = TestClient(hide_session_token(inner))
    header = f"{other}; promptgen_session=valid-token-from-sign-in"
    client.get("/_event/?EIO=4&transport=polling", headers={"Cookie": header})
    # Starlette (every HTTP route, the upload guard) reads the session from this header...
    from starlette.requests import cookie_parser

    assert cookie_parser(header)["promptgen_session"] == "valid-token-from-sign-in"
    # ...and so does the websocket: the states get the token's hash.
    expected = accounts.hash_token("valid-token-from-sign-in")
    assert session_hash_from_cookie_header(seen["cookie"]) == expected


# 2. EdgeMiddleware replaces a route's stricter Referrer-Policy with its own.
def test_the_edge_keeps_a_routes_stricter_referrer_policy(db_url: str, monkeypatch) -> None:
    monkeypatch.setenv("APP_URL", APP)
    reset_settings_cache()
    app = EdgeMiddleware(build_api(), EdgeConfig(app_url=APP))
    answer = TestClient(app, base_url=APP, follow_redirects=False).get("/reset-password?token=x")
    assert answer.status_code == 303
    # account.py asks for no-referrer on every recovery redirect; the edge keeps it.
    assert answer.headers["referrer-policy"] == "no-referrer"


# 3. Settings' password re-check ignores the client address entirely.
def test_the_settings_password_check_counts_the_callers_address(db_url, monkeypatch) -> None:
    monkeypatch.setenv("APP_URL", APP)
    reset_settings_cache()
    with admin_session_scope(db_url) as session:
        user = make_user(session, email="victim@example.com")
    api = build_api()
    attacker = TestClient(api, base_url=APP, follow_redirects=False, client=("198.51.100.7", 1))
    attacker.cookies.set(accounts.SESSION_COOKIE, user.token)
    for _ in range(8):
        r = attacker.post(
            "/api/account/password",
            data={"current_password": "wrong guess 123", "new_password": "another password 1"},
            headers=SAME_SITE,
        )
    assert "account_error=locked" in r.headers["location"]
    with admin_session_scope(db_url) as session:
        rows = session.query(Throttle).all()
        scopes = {row.scope for row in rows}
        # Recorded under (email, the caller's address), and charged to its per-IP budget.
        assert throttles.throttle_key("victim@example.com", "198.51.100.7") in {r.key for r in rows}
        assert throttles.SIGN_IN_IP in scopes


# 4. Behind a reverse proxy, README's REFLEX_TRUSTED_PROXY_HOPS does not reach the form
#    routes: every client counts as the proxy, so 8 bad guesses lock the owner out.
def test_behind_a_proxy_a_burst_from_one_address_does_not_lock_the_owner_out(
    db_url: str, monkeypatch
) -> None:
    from tests.support.factories import DEFAULT_PASSWORD

    monkeypatch.setenv("APP_URL", APP)
    monkeypatch.setenv("TRUSTED_PROXY_HOPS", "1")  # as the README says
    monkeypatch.setenv("SIGNIN_SLOWDOWN_AFTER", "100")  # keep the test fast
    reset_settings_cache()
    with admin_session_scope(db_url) as session:
        make_user(session, email="owner@example.com")
    proxy = TestClient(build_api(), base_url=APP, follow_redirects=False, client=("10.0.0.2", 1))
    for _ in range(8):
        proxy.post(
            "/api/auth/sign-in",
            data={"email": "owner@example.com", "password": "guess guess guess"},
            headers={**SAME_SITE, "X-Forwarded-For": "203.0.113.66"},  # the attacker
        )
    owner = proxy.post(
        "/api/auth/sign-in",
        data={"email": "owner@example.com", "password": DEFAULT_PASSWORD},
        headers={**SAME_SITE, "X-Forwarded-For": "198.51.100.20"},  # the owner, elsewhere
    )
    assert owner.headers["location"] == "/dashboard"
    assert accounts.SESSION_COOKIE in owner.cookies


# 5. Only /api/auth/sign-out tells the user's other tabs; the other ways a session ends
#    (sign-in as someone else over it, password change, password reset) do not.
def test_every_way_a_session_ends_clears_the_users_open_tabs(db_url: str, monkeypatch) -> None:
    from promptgen.api import session_events
    from tests.support.factories import DEFAULT_PASSWORD

    monkeypatch.setenv("APP_URL", APP)
    reset_settings_cache()
    told: list = []

    async def record(user_id):
        told.append(user_id)

    monkeypatch.setattr(session_events, "session_ended_listeners", [record])
    with admin_session_scope(db_url) as session:
        a = make_user(session, email="a@example.com")
        make_user(session, email="b@example.com")
    browser = TestClient(build_api(), base_url=APP, follow_redirects=False)
    browser.cookies.set(accounts.SESSION_COOKIE, a.token)
    # B signs in on the shared browser: A's session is ended by _enter ...
    r = browser.post(
        "/api/auth/sign-in",
        data={"email": "b@example.com", "password": DEFAULT_PASSWORD},
        headers=SAME_SITE,
    )
    assert r.status_code == 303
    with admin_session_scope(db_url) as session:
        assert accounts.resolve_session(session=session, token=a.token) is None
    # ... and A's open tabs are told, as a sign-out would.
    assert told == [a.user_id]
    # Password change from Settings ends A2's other sessions, also without telling them.
    with admin_session_scope(db_url) as session:
        a2 = accounts.sign_in(
            session=session, email="a@example.com", password=DEFAULT_PASSWORD, sleep=lambda s: 0
        )
        other = accounts.sign_in(
            session=session, email="a@example.com", password=DEFAULT_PASSWORD, sleep=lambda s: 0
        )
    settings = TestClient(build_api(), base_url=APP, follow_redirects=False)
    settings.cookies.set(accounts.SESSION_COOKIE, a2.token)
    r = settings.post(
        "/api/account/password",
        data={"current_password": DEFAULT_PASSWORD, "new_password": "a brand new password"},
        headers=SAME_SITE,
    )
    assert "account=password-changed" in r.headers["location"]
    with admin_session_scope(db_url) as session:
        assert accounts.resolve_session(session=session, token=other.token) is None
    assert told == [a.user_id, a.user_id]


# 6. A stranger's "Forgot password" for the victim's email kills the victim's pending link.
def test_a_strangers_forgot_request_leaves_the_owners_reset_link_working(db_url: str) -> None:
    from datetime import UTC, datetime, timedelta

    from promptgen.services import recovery

    t0 = datetime.now(UTC)
    with admin_session_scope(db_url) as session:
        make_user(session, email="victim@example.com")
    with admin_session_scope(db_url) as session:  # the victim asks for a link
        mine = recovery.request_password_reset(session=session, email="victim@example.com", now=t0)
    with admin_session_scope(db_url) as session:  # 61 s later, anyone asks again
        recovery.request_password_reset(
            session=session, email="victim@example.com", now=t0 + timedelta(seconds=61)
        )
    with admin_session_scope(db_url) as session:  # the owner's link still works
        assert recovery.check_reset_link(
            session=session, token=mine.token, now=t0 + timedelta(seconds=90)
        )


# 7. Form posts compare Origin with the Host header, not APP_URL: behind a proxy that
#    forwards its upstream Host (nginx's default), every same-site sign-in is "cross-site".
def test_a_proxy_rewriting_host_does_not_make_sign_in_cross_site(db_url, monkeypatch) -> None:
    from tests.support.factories import DEFAULT_PASSWORD

    monkeypatch.setenv("APP_URL", "https://promptgen.example")
    reset_settings_cache()
    with admin_session_scope(db_url) as session:
        make_user(session, email="owner@example.com")
    upstream = TestClient(build_api(), base_url="http://127.0.0.1:3000", follow_redirects=False)
    r = upstream.post(
        "/api/auth/sign-in",
        data={"email": "owner@example.com", "password": DEFAULT_PASSWORD},
        headers={"Origin": "https://promptgen.example"},  # the browser, on APP_URL
    )
    assert r.headers["location"] == "/dashboard"
