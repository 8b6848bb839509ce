"""GET /api/images/drafts/{id} through the real Starlette app: the dashboard's thumbnails
are served to the image's owner only."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from promptgen import urls
from promptgen.api.app import build_api
from promptgen.db import admin_session_scope
from promptgen.services import uploads
from tests.support.factories import make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def client(db_url: str) -> TestClient:
    return TestClient(build_api(), base_url="http://app.test", follow_redirects=False)


def test_a_draft_image_is_shown_to_its_owner_and_to_nobody_else(
    client: TestClient, db_url: str
) -> None:
    with admin_session_scope(db_url) as session:
        alice = make_user(session, "thumbs-a@example.com")
        bob = make_user(session, "thumbs-b@example.com")
        [draft] = uploads.add_drafts(
            session=session, user_id=alice.user_id, kept_ids=[], files=[("vase.png", PNG)]
        )
    assert draft.label == "vase.png (72 bytes)"  # a true size, never "(0 KB)"

    client.cookies.set("promptgen_session", alice.token)
    answer = client.get(urls.draft_image(draft.id))
    assert answer.status_code == 200
    assert answer.content == PNG and answer.headers["content-type"] == "image/png"
    assert answer.headers["cache-control"].startswith("private")

    client.cookies.set("promptgen_session", bob.token)
    assert client.get(urls.draft_image(draft.id)).status_code == 404
    assert client.get(urls.draft_image("not-a-uuid")).status_code == 404
    client.cookies.clear()
    assert client.get(urls.draft_image(draft.id)).status_code == 404
