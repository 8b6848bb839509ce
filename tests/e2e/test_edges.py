"""The hardened edges of the running app (`reflex run --env prod`): the CSP holds in Chromium
with no violation, pages cannot be framed, the websocket and uploads refuse strangers."""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.e2e.test_foundation import sign_up
from tests.support.app_server import AppServer

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`);
}, true);
"""


def _violations(page: Page) -> list[str]:
    return page.evaluate("window.__csp || []")


def test_every_page_runs_under_the_csp_without_a_violation(
    page: Page, app_server: AppServer, tmp_path: Path
) -> None:
    page.add_init_script(WATCH_CSP)
    console: list[str] = []
    page.on(
        "console",
        lambda m: console.append(m.text) if "Content Security Policy" in m.text else None,
    )
    seen: list[str] = []
    page.on("pageerror", lambda e: console.append(f"page error: {e}"))

    def check(where: str) -> None:
        page.wait_for_timeout(300)  # let late violations (styles, evals) be reported
        seen.extend(f"{where}: {v}" for v in _violations(page))
        page.evaluate("window.__csp = []")

    answer = page.goto(app_server.url + "/")
    csp = answer.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "sha256-" in csp
    assert answer.headers["x-frame-options"] == "DENY"
    expect(page.locator(".plan-card")).to_have_count(3)
    page.click("#billing-period >> text=Yearly")
    check("landing")
    page.goto(app_server.url + "/pricing")
    expect(page.locator(".plan-card")).to_have_count(3)
    check("pricing")

    sign_up(page, app_server)
    check("sign-up")
    page.locator(".blueprint-card", has_text="Product photo").click()
    page.fill("#field-product", "a ceramic vase")
    page.locator('.model-card[data-model="Gemini 2.5 Flash"]').click()
    picture = tmp_path / "vase.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048)
    page.locator("#reference-images input[type=file]").set_input_files(str(picture))
    expect(page.locator(".attached-image")).to_contain_text("vase.png")  # through /_upload
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("a ceramic vase")
    page.click("#copy-result")  # a backend-sent client action and a toast
    expect(page.get_by_text("Copied to clipboard")).to_be_visible()
    check("dashboard")

    page.get_by_role("link", name="History").first.click()
    page.locator(".history-row .history-open").first.click()
    expect(page.locator(".detail-image")).to_contain_text("vase.png")
    check("history")
    page.goto(app_server.url + "/settings")
    expect(page.locator("#key-form")).to_be_visible()
    check("settings")
    page.goto(app_server.url + "/usage")
    expect(page.locator("#usage-chart .recharts-wrapper")).to_be_visible()
    check("usage")
    page.goto(app_server.url + "/compare")
    expect(page.locator("#compare-cost")).to_contain_text("generations from your plan")
    check("compare")
    page.goto(app_server.url + "/no-such-page")
    check("404")

    assert seen == []
    assert console == []


def test_settings_cannot_be_framed_by_another_site(page: Page, app_server: AppServer) -> None:
    sign_up(page, app_server)
    attacker = "http://attacker.test/"
    page.route(
        attacker,
        lambda route: route.fulfill(
            content_type="text/html",
            body=f'<h1>win a prize</h1><iframe src="{app_server.url}/settings"></iframe>',
        ),
    )
    page.goto(attacker)
    page.wait_for_timeout(2000)
    [child] = page.main_frame.child_frames
    # Chromium refuses to render it: no byte of the app (its title says PromptGen) shows.
    assert "PromptGen" not in child.content()


def _handshake(url: str, origin: str) -> str:
    """Open Reflex's websocket as a script would, with the given Origin; the first frame
    (engine.io's "open"), or how the handshake was refused."""
    ws_url = url.replace("http://", "ws://") + "/_event/?EIO=4&transport=websocket"
    try:
        with connect(ws_url, origin=origin, open_timeout=10) as ws:
            return str(ws.recv(timeout=10))
    except InvalidStatus as refused:
        return f"refused {refused.response.status_code}"


def test_a_cross_origin_websocket_handshake_is_refused(app_server: AppServer) -> None:
    assert _handshake(app_server.url, app_server.url).startswith("0{")  # engine.io "open"
    assert _handshake(app_server.url, "https://evil.example").startswith("refused 403")


def test_cors_allows_only_the_apps_origin(app_server: AppServer) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    foreign = httpx.options(
        app_server.url + "/api/keys", headers={"Origin": "https://evil.example", **preflight}
    )
    assert foreign.headers.get("access-control-allow-origin") is None
    ours = httpx.options(
        app_server.url + "/api/keys", headers={"Origin": app_server.url, **preflight}
    )
    assert ours.headers.get("access-control-allow-origin") == app_server.url


@pytest.mark.parametrize("signed_in", [False, True])
def test_uploads_are_refused_to_strangers_and_capped(
    page: Page, app_server: AppServer, signed_in: bool
) -> None:
    cookies = {}
    if signed_in:
        sign_up(page, app_server)
        cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    headers = {"Reflex-Client-Token": "x", "Reflex-Event-Handler": "x"}
    small = httpx.post(
        app_server.url + "/_upload",
        files={"files": ("a.png", b"\x89PNG\r\n\x1a\n")},
        headers=headers,
        cookies=cookies,
    )
    # Announce 40 MB and send none of it: the answer comes from the headers alone.
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    huge = _raw_request(
        app_server.url,
        "POST /_upload HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; "
        f"boundary=b\r\nContent-Length: {40 * 1024 * 1024}\r\nCookie: {cookie}\r\n\r\n",
    )
    if signed_in:
        assert small.status_code != 401  # past the guard (Reflex itself answers)
        assert huge.startswith("HTTP/1.1 413")
    else:
        assert small.status_code == 401
        assert huge.startswith("HTTP/1.1 401")
    assert "frame-ancestors 'none'" in huge


def _raw_request(url: str, request: str) -> str:
    host = url.removeprefix("http://")
    name, port = host.split(":")
    with socket.create_connection((name, int(port)), timeout=10) as sock:
        sock.sendall(request.replace("{host}", host).encode())
        return sock.recv(65536).decode("latin-1")


def _handler(qualname: str) -> str:
    from promptgen.promptgen import app

    names = [
        name
        for name, registered in app._registration_context.event_handlers.items()
        if registered.handler.fn.__qualname__ == qualname
    ]
    return names[0]


def test_junk_event_arguments_get_one_warning_line_each_and_no_traceback(
    app_server: AppServer,
) -> None:
    dashboard = _handler("DashboardState.load").rsplit(".", 1)[0]
    junk = [
        (_handler("DashboardState.choose_blueprint"), {"blueprint_id": "abc"}),
        (_handler("DashboardState.choose_blueprint"), {"blueprint_id": 10**12}),
        (_handler("DashboardState.remove_image"), {"index": {"x": 1}}),
        (_handler("DashboardState.generate"), {"form_data": "junk"}),
        (_handler("HistoryState.delete"), {"prompt_id": ["a"]}),
        (_handler("HistoryState.export"), {"fmt": "json", "extra": 1}),
        (_handler("PublicState.set_billing_period"), {"value": 5}),
        (_handler("SettingsState.delete_key"), {}),
        (dashboard + ".setvar", {"var_name": "fields", "value": "junk"}),
        (dashboard + ".no_such_handler", {}),
        (_handler("DashboardState.choose_model"), [1, 2]),
    ]
    frames = [
        json.dumps(["event", {"name": name, "payload": payload, "router_data": {}}])
        for name, payload in junk
    ]
    frames.append(json.dumps(["event", "not an event"]))
    log_before = app_server.log_path.stat().st_size
    ws_url = app_server.url.replace("http://", "ws://") + "/_event/?EIO=4&transport=websocket"
    with connect(f"{ws_url}&token={uuid.uuid4()}", origin=app_server.url) as ws:
        assert ws.recv(timeout=10).startswith("0")
        ws.send("40/_event,")
        assert ws.recv(timeout=10).startswith("40/_event,")
        for frame in frames:
            ws.send("42/_event," + frame)
        # A valid event afterwards is still served: the socket survived the junk.
        valid = {"name": _handler("DashboardState.choose_model"), "payload": {"model_id": "1"}}
        ws.send("42/_event," + json.dumps(["event", {**valid, "router_data": {}}]))
        deadline = time.monotonic() + 15
        log = ""
        while time.monotonic() < deadline:
            with app_server.log_path.open() as handle:
                handle.seek(log_before)
                log = handle.read()
            if log.count("refused event") >= len(frames):
                break
            time.sleep(0.5)
    time.sleep(1)  # anything Reflex would log after the refusals
    with app_server.log_path.open() as handle:
        handle.seek(log_before)
        log = handle.read()
    refusals = [line for line in log.splitlines() if "refused event" in line]
    assert len(refusals) == len(frames), log[-3000:]
    assert all(line.count("refused event") == 1 and "WARNING" in line for line in refusals)
    assert "Traceback" not in log and "Error" not in log, log[-3000:]
