"""Sessions as people share computers and attackers look for tokens: the session cookie is
HttpOnly and reaches no script, frame, state file or Redis key; a tab signed out and signed
into by someone else keeps nothing of the first user."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import redis
from playwright.sync_api import Page, expect

from tests.e2e.test_foundation import PASSWORD, sign_up
from tests.e2e.test_generation import _pick
from tests.e2e.test_recovery import sign_in
from tests.support.app_server import AppServer
from tests.support.postgres import admin_connect

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048
# A marker that shows up only in the first user's generation.
ALICE_PRODUCT = "an alpine cedar music box"


def _capture_frames(page: Page) -> list[str]:
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framereceived", lambda payload: frames.append(str(payload))),
            ws.on("framesent", lambda payload: frames.append(str(payload))),
        ),
    )
    return frames


def _session_token(page: Page) -> str:
    [cookie] = [c for c in page.context.cookies() if c["name"] == "promptgen_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/"
    return cookie["value"]


def test_the_session_token_reaches_no_script_frame_or_state_file(
    page: Page, app_server: AppServer, tmp_path: Path
) -> None:
    frames = _capture_frames(page)
    sign_up(page, app_server)
    token = _session_token(page)
    assert "promptgen_session" not in page.evaluate("document.cookie")

    # A full session: a generation with an image, history, settings.
    _pick(page, "Gemini 2.5 Flash", "a glass paperweight")
    picture = tmp_path / "paperweight.png"
    picture.write_bytes(PNG + b"IMAGE-BYTES-MARKER")
    page.locator("#reference-images input[type=file]").set_input_files(str(picture))
    expect(page.locator(".attached-image")).to_contain_text("paperweight.png")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("a glass paperweight")
    page.get_by_role("link", name="History").first.click()
    expect(page.locator(".history-row")).to_have_count(1)
    page.get_by_role("link", name="Settings").first.click()
    expect(page.get_by_role("heading", name="Your API keys")).to_be_visible()

    assert frames and not [f for f in frames if token in f]
    assert token not in app_server.log_path.read_text()
    page.close()  # the tab goes away, as people leave; the app keeps its state on disk
    state_files: list[Path] = []
    for _ in range(100):
        state_files = [p for p in (app_server.workdir / ".states").rglob("*") if p.is_file()]
        if state_files:
            break
        time.sleep(0.1)
    assert state_files, "the app kept no state files to search"
    for path in state_files:
        data = path.read_bytes()
        assert token.encode() not in data, path
        assert b"IMAGE-BYTES-MARKER" not in data, path


def test_redis_holds_no_session_token(page: Page, multi_worker_app: AppServer, redis_server):
    sign_up(page, multi_worker_app)
    token = _session_token(page)
    page.get_by_role("link", name="History").first.click()
    expect(page.get_by_role("heading", name="History")).to_be_visible()
    client = redis.Redis.from_url(redis_server.url)
    keys = list(client.scan_iter(count=1000))
    assert keys, "Redis held no state to search"
    for key in keys:
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"hash":
            values = [v for pair in client.hgetall(key).items() for v in pair]
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"list":
            values = list(client.lrange(key, 0, -1))
        else:
            values = []
        assert not [v for v in [key, *values] if token.encode() in v], key


def test_a_shared_tab_keeps_nothing_of_the_previous_user(
    page: Page, app_server: AppServer, tmp_path: Path
) -> None:
    alice = sign_up(page, app_server)
    _pick(page, "Gemini 2.5 Flash", ALICE_PRODUCT)
    picture = tmp_path / "alice-reference.png"
    picture.write_bytes(PNG)
    page.locator("#reference-images input[type=file]").set_input_files(str(picture))
    expect(page.locator(".attached-image")).to_contain_text("alice-reference.png")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text(ALICE_PRODUCT)

    page.click("#sign-out")
    expect(page).to_have_url(re.compile(r"/$"))
    frames = _capture_frames(page)  # from here on, everything Bob's tab is sent
    bob = sign_up(page, app_server)

    expect(page.locator("#result-output")).to_have_count(0)
    expect(page.locator(".attached-image")).to_have_count(0)
    page.get_by_role("link", name="History").first.click()
    expect(page.locator(".history-row")).to_have_count(0)
    page.get_by_role("link", name="Dashboard").first.click()
    _pick(page, "Gemini 2.5 Flash", "a plain tin cup")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("a plain tin cup")

    seen = "\n".join(frames)
    assert frames and ALICE_PRODUCT not in seen
    assert alice not in seen and "alice-reference" not in seen
    with admin_connect(app_server.database_url) as conn:
        attachments = conn.execute(
            "SELECT count(*) FROM prompt_attachments a JOIN users u ON u.id = a.user_id "
            "WHERE u.email = %s",
            (bob,),
        ).fetchone()[0]
    assert attachments == 0  # Alice's image went nowhere near Bob's generation

    # And back: Alice signs in on the same tab and sees her own history, not Bob's.
    page.click("#sign-out")
    expect(page).to_have_url(re.compile(r"/$"))
    sign_in(page, app_server, alice, PASSWORD)
    page.get_by_role("link", name="History").first.click()
    expect(page.locator(".history-row")).to_have_count(1)
    expect(page.locator(".history-row")).to_contain_text(ALICE_PRODUCT[:20])


def test_signing_out_clears_the_users_other_open_tabs(page: Page, app_server: AppServer):
    sign_up(page, app_server)
    _pick(page, "Gemini 2.5 Flash", ALICE_PRODUCT)
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text(ALICE_PRODUCT)
    other = page.context.new_page()  # a second tab of the same browser
    other.goto(app_server.url + "/settings")
    expect(other.get_by_role("heading", name="Your API keys")).to_be_visible()
    other.click("#sign-out")
    expect(other).to_have_url(re.compile(r"/$"))
    # The first tab forgets the user without anyone touching it.
    expect(page.locator("#result-output")).to_have_count(0)
    expect(page.locator("#user-email")).not_to_contain_text("@")


def _tab_to(page: Page, element_id: str, limit: int = 15) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
            return
    raise AssertionError(f"Tab never reached #{element_id}")


def test_sign_up_and_sign_in_by_keyboard_alone_on_a_phone(browser, app_server: AppServer):
    """The form posts work without a mouse at 390 px: Tab, type, Enter."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        email = f"keys-{uuid.uuid4().hex[:8]}@example.com"
        page.goto(app_server.url + "/sign-up")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        _tab_to(page, "email")
        page.keyboard.type(email)
        _tab_to(page, "password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/dashboard/?$"))
        context.clear_cookies()  # a new visit, signed out
        page.goto(app_server.url + "/sign-in")
        _tab_to(page, "email")
        page.keyboard.type(email)
        _tab_to(page, "password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    finally:
        context.close()
