"""The edge middleware on a real Starlette app: headers, origins and body caps, as a browser
or an attacker's script would meet them."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket, WebSocketDisconnect

from promptgen.api.app import build_api
from promptgen.api.edge import (
    MAX_UPLOAD_FILE_BYTES,
    MAX_UPLOAD_REQUEST_BYTES,
    EdgeConfig,
    EdgeMiddleware,
    inline_script_hashes,
)
from promptgen.db import admin_session_scope
from tests.support.factories import make_user

APP_URL = "http://app.test"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


class FakeUpload:
    """Stands in for Reflex's /_upload: parses the form, as Reflex does, and records it."""

    def __init__(self) -> None:
        self.calls = 0
        self.files: list[int] = []

    async def endpoint(self, request: Request) -> Response:
        self.calls += 1
        try:
            form = await request.form(max_part_size=50 * 1024 * 1024)
        except ClientDisconnect:
            return Response()
        self.files = [len(await f.read()) for f in form.getlist("files")]
        return JSONResponse({"files": self.files})


async def _socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


@pytest.fixture
def upload() -> FakeUpload:
    return FakeUpload()


def _client(upload: FakeUpload, app_url: str = APP_URL, html_root=None) -> TestClient:
    api = build_api()
    inner = Starlette(
        routes=[
            Route("/_upload", upload.endpoint, methods=["POST"]),
            WebSocketRoute("/_event/", _socket),
            Route("/page", lambda r: Response("<h1>hi</h1>", media_type="text/html")),
        ]
    )
    api.mount("", inner)
    app = EdgeMiddleware(api, EdgeConfig(app_url=app_url, html_root=html_root))
    return TestClient(app, base_url=APP_URL)


def _signed_in(client: TestClient, url: str) -> None:
    with admin_session_scope(url) as session:
        user = make_user(session)
    client.cookies.set("promptgen_session", user.token)


def test_every_response_carries_the_security_headers(db_url: str, upload, tmp_path) -> None:
    (tmp_path / "index.html").write_text("<html><script>boot()</script><script src=/a.js>")
    client = _client(upload, html_root=tmp_path)
    for answer in (client.get("/page"), client.get("/api/health"), client.get("/nowhere")):
        headers = answer.headers
        csp = headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        assert "default-src 'self'" in csp and "base-uri 'none'" in csp
        assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
        assert "'unsafe-eval'" not in csp
        assert inline_script_hashes(tmp_path)[0] in csp  # the inline script, by hash
        assert headers["x-frame-options"] == "DENY"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "same-origin"
        assert "camera=()" in headers["permissions-policy"]
        assert "strict-transport-security" not in headers
    https = _client(upload, app_url="https://promptgen.example")
    assert https.get("/page").headers["strict-transport-security"].startswith("max-age=")


def test_inline_script_hashes_match_what_browsers_compute(tmp_path) -> None:
    (tmp_path / "a.html").write_text("<script>alert(1)</script><script type=module>x</script>")
    # sha256 of "alert(1)", as Chromium reports it in a CSP violation.
    assert "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='" in inline_script_hashes(tmp_path)
    assert len(inline_script_hashes(tmp_path)) == 2


def test_a_websocket_from_another_origin_is_refused(upload) -> None:
    client = _client(upload)
    with client.websocket_connect("/_event/", headers={"Origin": APP_URL}) as ws:
        assert ws.receive_text() == "hello"
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/_event/", headers={"Origin": "https://evil.example"}),
    ):
        pass
    assert refused.value.code == 1008


def test_uploads_need_a_session(db_url: str, upload) -> None:
    client = _client(upload)
    answer = client.post("/_upload", files={"files": ("a.png", PNG, "image/png")})
    assert answer.status_code == 401 and upload.calls == 0
    client.cookies.set("promptgen_session", "not-a-real-token")
    assert client.post("/_upload", files={"files": ("a.png", PNG)}).status_code == 401
    assert upload.calls == 0
    _signed_in(client, db_url)
    answer = client.post("/_upload", files=[("files", ("a.png", PNG)), ("files", ("b.png", PNG))])
    assert answer.status_code == 200 and answer.json() == {"files": [len(PNG), len(PNG)]}
    assert "content-security-policy" in answer.headers


def test_an_oversized_upload_is_refused_before_the_body_is_read(db_url: str, upload) -> None:
    client = _client(upload)
    _signed_in(client, db_url)
    sent = 0

    def body():
        nonlocal sent
        for _ in range(30):
            sent += 1024 * 1024
            yield b"x" * (1024 * 1024)

    answer = client.post(
        "/_upload",
        content=body(),
        headers={
            "Content-Length": str(MAX_UPLOAD_REQUEST_BYTES + 1),
            "Content-Type": "multipart/form-data; boundary=b",
        },
    )
    assert answer.status_code == 413 and upload.calls == 0
    assert "over 20 MB" in answer.json()["detail"]


def test_a_streamed_upload_is_cut_off_at_the_request_cap(db_url: str, upload) -> None:
    client = _client(upload)
    _signed_in(client, db_url)
    # Four files within the per-file cap but one more than the request allows.
    files = [("files", (f"{n}.png", PNG + b"\0" * (5 * 1024 * 1024 - 200))) for n in range(5)]
    answer = client.post("/_upload", files=files, headers={"Transfer-Encoding": "chunked"})
    assert answer.status_code == 413
    assert upload.files == []  # the handler never got the files


def test_one_file_over_the_per_file_cap_is_refused(db_url: str, upload) -> None:
    client = _client(upload)
    _signed_in(client, db_url)
    big = PNG + b"\0" * MAX_UPLOAD_FILE_BYTES
    answer = client.post("/_upload", files=[("files", ("a.png", PNG)), ("files", ("b.png", big))])
    assert answer.status_code == 413
    assert answer.json()["detail"] == "A file is over 5 MB."
    assert upload.files == []


def test_other_routes_refuse_bodies_over_one_megabyte(db_url: str, upload) -> None:
    client = _client(upload)
    big = b"{" + b" " * (1024 * 1024) + b"}"
    answer = client.post("/api/stripe/webhook", content=big)
    assert answer.status_code == 413

    def streamed():
        yield big

    answer = client.post("/api/stripe/webhook", content=streamed())
    assert answer.status_code == 413
    # A normal-sized one still reaches the route (which says no webhook secret is set).
    assert client.post("/api/stripe/webhook", content=b"{}").status_code == 503
