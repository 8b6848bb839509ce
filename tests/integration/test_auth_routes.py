"""Sign-in, sign-up and sign-out through their HTTP routes: the session lives only in an
HttpOnly cookie, refusals come back as codes, and the websocket only ever sees a hash."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.api.auth import form_error_message
from promptgen.api.session_cookie import (
    SESSION_HASH_COOKIE,
    _rewrite,
    hide_session_token,
    session_hash_from_cookie_header,
)
from promptgen.db import admin_session_scope
from promptgen.services import accounts
from promptgen.settings import reset_settings_cache
from tests.support.factories import DEFAULT_PASSWORD, ensure_tiers

ORIGIN = "http://app.test"


@pytest.fixture
def client(db_url: str) -> TestClient:
    with admin_session_scope(db_url) as session:
        ensure_tiers(session)
    return TestClient(build_api(), base_url=ORIGIN, follow_redirects=False)


def _post(client: TestClient, path: str, origin: str = ORIGIN, **form: str):
    return client.post(path, data=form, headers={"origin": origin})


def _query(response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def _sessions(db_url: str) -> int:
    with admin_session_scope(db_url) as session:
        return session.execute(sa.text("SELECT count(*) FROM user_sessions")).scalar_one()


def test_sign_up_sets_an_httponly_cookie_and_goes_on(client: TestClient, db_url: str) -> None:
    answer = _post(
        client,
        "/api/auth/sign-up",
        email="new@example.com",
        password=DEFAULT_PASSWORD,
        next="/history",
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/history"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{accounts.SESSION_COOKIE}=")
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/"):
        assert attribute in cookie
    assert "Secure" not in cookie  # APP_URL is http here
    token = answer.cookies[accounts.SESSION_COOKIE]
    with admin_session_scope(db_url) as session:
        assert accounts.resolve_session(session=session, token=token) is not None


def test_a_submit_before_the_page_filled_in_next_still_goes_there(client: TestClient) -> None:
    """A quick user submits before the sign-in page's load fills its hidden `next`: the
    address of the page they were on still says where to go; a foreign one does not."""
    make = lambda email, referer: client.post(  # noqa: E731
        "/api/auth/sign-up",
        data={"email": email, "password": DEFAULT_PASSWORD, "next": ""},
        headers={"origin": ORIGIN, "referer": referer},
    )
    answer = make("quick@example.com", f"{ORIGIN}/sign-up?next=/share/abc/remix")
    assert answer.status_code == 303 and answer.headers["location"] == "/share/abc/remix"
    elsewhere = make("quick2@example.com", f"{ORIGIN}/pricing?next=/history")
    assert elsewhere.headers["location"] == "/dashboard"
    outside = make("quick3@example.com", f"{ORIGIN}/sign-up?next=https://evil.example/")
    assert outside.headers["location"] == "/dashboard"


def test_the_cookie_is_secure_when_the_app_is_served_over_https(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APP_URL", "https://promptgen.example")
    reset_settings_cache()
    answer = _post(client, "/api/auth/sign-up", email="s@example.com", password=DEFAULT_PASSWORD)
    assert "Secure" in answer.headers["set-cookie"]


def test_a_refused_sign_in_comes_back_with_a_code_never_the_password(client: TestClient) -> None:
    _post(client, "/api/auth/sign-up", email="a@example.com", password=DEFAULT_PASSWORD)
    client.cookies.clear()
    answer = _post(
        client,
        "/api/auth/sign-in",
        email="a@example.com",
        password="wrong password here",
        next="/settings",
    )
    assert answer.status_code == 303 and "set-cookie" not in answer.headers
    query = _query(answer)
    assert urlsplit(answer.headers["location"]).path == "/sign-in"
    assert query == {"error": "credentials", "email": "a@example.com", "next": "/settings"}
    assert "wrong password" not in answer.headers["location"]
    assert form_error_message("credentials") == ("", "Email or password is incorrect.")


@pytest.mark.parametrize(
    ("email", "password", "code", "field"),
    [
        ("not-an-email", DEFAULT_PASSWORD, "email_invalid", "email"),
        ("short@example.com", "short", "password_short", "password"),
        ("taken@example.com", DEFAULT_PASSWORD, "email_taken", "email"),
    ],
)
def test_sign_up_refusals_name_their_field(client, email, password, code, field) -> None:
    _post(client, "/api/auth/sign-up", email="taken@example.com", password=DEFAULT_PASSWORD)
    client.cookies.clear()
    answer = _post(client, "/api/auth/sign-up", email=email, password=password)
    assert _query(answer)["error"] == code
    shown_field, message = form_error_message(code)
    assert shown_field == field and message


def test_a_locked_email_says_when_to_come_back(client: TestClient, monkeypatch) -> None:
    monkeypatch.setenv("SIGNIN_LOCKOUT_AFTER", "2")
    monkeypatch.setenv("SIGNIN_SLOWDOWN_AFTER", "100")
    reset_settings_cache()
    for _ in range(2):
        answer = _post(client, "/api/auth/sign-in", email="x@example.com", password="nope" * 3)
    query = _query(answer)
    assert query["error"] == "locked" and int(query["retry"]) > 0
    assert "Try again in" in form_error_message("locked", query["retry"])[1]


def test_junk_codes_show_nothing() -> None:
    assert form_error_message("<script>alert(1)</script>") == ("", "")
    assert form_error_message("locked", "not-a-number")[1].startswith("Too many")


def test_cross_site_posts_are_refused(client: TestClient, db_url: str) -> None:
    answer = _post(
        client,
        "/api/auth/sign-up",
        origin="https://evil.example",
        email="csrf@example.com",
        password=DEFAULT_PASSWORD,
    )
    assert _query(answer)["error"] == "cross-site" and "set-cookie" not in answer.headers
    assert _sessions(db_url) == 0


def test_signing_in_over_another_users_session_ends_it(client: TestClient, db_url) -> None:
    _post(client, "/api/auth/sign-up", email="a@example.com", password=DEFAULT_PASSWORD)
    first = client.cookies[accounts.SESSION_COOKIE]
    _post(client, "/api/auth/sign-up", email="b@example.com", password=DEFAULT_PASSWORD)
    with admin_session_scope(db_url) as session:
        assert accounts.resolve_session(session=session, token=first) is None
    assert _sessions(db_url) == 1


def test_sign_out_ends_the_session_and_clears_the_cookie(client: TestClient, db_url) -> None:
    _post(client, "/api/auth/sign-up", email="out@example.com", password=DEFAULT_PASSWORD)
    assert _sessions(db_url) == 1
    assert client.post("/api/auth/sign-out", headers={"origin": "https://evil"}).status_code == 403
    answer = _post(client, "/api/auth/sign-out")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
    assert 'promptgen_session=""' in answer.headers["set-cookie"]
    assert "Max-Age=0" in answer.headers["set-cookie"]
    assert _sessions(db_url) == 0


def test_the_websocket_handshake_carries_the_hash_not_the_token() -> None:
    token = "t" * 43
    headers = [
        (b"host", b"app.test"),
        (b"cookie", f"theme=dark; {accounts.SESSION_COOKIE}={token}".encode()),
    ]
    rewritten = dict(_rewrite(headers))
    assert token.encode() not in rewritten[b"cookie"]
    assert b"theme" not in rewritten[b"cookie"]
    header = rewritten[b"cookie"].decode()
    assert session_hash_from_cookie_header(header) == accounts.hash_token(token)
    assert header == f"{SESSION_HASH_COOKIE}={accounts.hash_token(token)}"
    assert b"cookie" not in dict(_rewrite([(b"cookie", b"theme=dark")]))


async def test_the_middleware_rewrites_only_the_event_endpoint() -> None:
    seen: dict[str, list] = {}

    async def app(scope, receive, send):
        seen[scope["path"]] = scope["headers"]

    wrapped = hide_session_token(app)
    headers = [(b"cookie", f"{accounts.SESSION_COOKIE}=secret-token".encode())]
    for path in ("/_event/", "/api/keys"):
        await wrapped({"type": "websocket", "path": path, "headers": headers}, None, None)
    assert b"secret-token" not in b"".join(v for _, v in seen["/_event/"])
    assert seen["/api/keys"] == headers  # the HTTP routes still read the real cookie


async def test_a_page_load_renews_the_session_cookie() -> None:
    """An active user stays signed in past SESSION_IDLE_DAYS after sign-in: every page
    load renews the cookie (the server slides its own expiry the same way)."""
    sent: list[dict] = []

    async def page(scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )

    async def collect(message):
        sent.append(message)

    wrapped = hide_session_token(page)
    cookie = [(b"cookie", f"{accounts.SESSION_COOKIE}=tok-123".encode())]
    await wrapped(
        {"type": "http", "method": "GET", "path": "/history", "headers": cookie}, None, collect
    )
    [renewed] = [v for k, v in sent[0]["headers"] if k == b"set-cookie"]
    assert renewed.startswith(b"promptgen_session=tok-123; Max-Age=") and b"HttpOnly" in renewed
    sent.clear()
    await wrapped(
        {"type": "http", "method": "GET", "path": "/history", "headers": []}, None, collect
    )
    assert not [v for k, v in sent[0]["headers"] if k == b"set-cookie"]
