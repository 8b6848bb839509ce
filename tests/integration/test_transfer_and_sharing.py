"""Settings' forms (tokens, export, import) and share links (page, remix, save blueprint)
through the real Starlette app, as a browser posts them, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import UserBlueprint, UserPrompt
from promptgen.services import api_tokens, shares, transfer, user_blueprints
from promptgen.services.catalog_import import seed_catalog
from promptgen.settings import reset_settings_cache
from tests.support.factories import make_user

APP = "http://app.test"
ORIGIN = {"Origin": APP}
HAIKU = user_blueprints.BlueprintDraft(
    name="Haiku",
    prompt_template="Write a haiku about {{ topic }}.",
    parameter_schema={
        "type": "object",
        "required": ["topic"],
        "properties": {"topic": {"type": "string", "title": "Topic"}},
    },
)


@pytest.fixture
def world(db_url: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("APP_URL", APP)
    reset_settings_cache()
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        alice = make_user(session, "alice@example.com")
        bob = make_user(session, "bob@example.com")
    yield {"db": db_url, "alice": alice, "bob": bob}
    reset_settings_cache()


def _browser(user=None) -> TestClient:
    client = TestClient(build_api(), base_url=APP, follow_redirects=False)
    if user is not None:
        client.cookies.set("promptgen_session", user.token)
    return client


def _alice_content(world) -> dict:
    """Alice's blueprint (two versions) and two history entries, one made with it."""
    alice = world["alice"]
    with user_session_scope(alice.user_id, world["db"]) as session:
        made = user_blueprints.create_blueprint(
            session=session, user_id=alice.user_id, draft=HAIKU, note="first"
        )
        second = user_blueprints.save_version(
            session=session,
            user_id=alice.user_id,
            blueprint_id=made.id,
            draft=user_blueprints.BlueprintDraft(
                name="Haiku",
                prompt_template="Write a haiku about {{ topic }}, in autumn.",
                parameter_schema=HAIKU.parameter_schema,
            ),
            note="autumn",
        )
    with admin_session_scope(world["db"]) as session:
        own = UserPrompt(
            user_id=alice.user_id,
            template_name="Haiku",
            model_name="Blueprint compiler (offline)",
            blueprint_version_id=uuid.UUID(second.version_id),
            parameters={"topic": "rain"},
            compiled_prompt="Write a haiku about rain, in autumn.",
            output="Rain on red maples",
            status="succeeded",
            key_source="offline",
        )
        session.add(own)
        session.add(
            UserPrompt(
                user_id=alice.user_id,
                template_name="Product photo",
                template_id=1,
                model_name="GPT-4.1 mini",
                parameters={"product": "a lamp"},
                output="A lamp.",
                status="succeeded",
                key_source="platform",
            )
        )
        session.flush()
        own_id = str(own.id)
    return {"blueprint": made.id, "prompt": own_id}


# --- tokens through Settings' forms --------------------------------------------------------


def test_a_token_made_in_settings_is_shown_once_and_works(world) -> None:
    browser = _browser(world["alice"])
    made = browser.post("/api/tokens", data={"name": "ci", "scope": "read"}, headers=ORIGIN)
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    token = re.search(r"(pg_[A-Za-z0-9_-]{40,})", made.text).group(1)
    assert "<script" not in made.text
    api = _browser()
    answer = api.get("/api/v1/history", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    with user_session_scope(world["alice"].user_id, world["db"]) as session:
        [view] = api_tokens.list_tokens(session=session, user_id=world["alice"].user_id)
    assert token not in repr(view) and view.prefix == token[:10]

    # Bob's form cannot revoke Alice's token; Alice's can.
    assert (
        _browser(world["bob"])
        .post("/api/tokens/revoke", data={"token_id": view.id}, headers=ORIGIN)
        .headers["location"]
        .endswith("token_revoked=0")
    )
    revoked = browser.post("/api/tokens/revoke", data={"token_id": view.id}, headers=ORIGIN)
    assert revoked.headers["location"] == "/settings?token_revoked=1"
    assert (
        api.get("/api/v1/history", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )


def test_token_form_refusals_come_back_as_codes(world) -> None:
    browser = _browser(world["alice"])
    blank = browser.post("/api/tokens", data={"name": " ", "scope": "read"}, headers=ORIGIN)
    assert blank.headers["location"] == "/settings?token_error=name_missing"
    scope = browser.post("/api/tokens", data={"name": "x", "scope": "admin"}, headers=ORIGIN)
    assert scope.headers["location"] == "/settings?token_error=scope"
    signed_out = _browser().post("/api/tokens", data={"name": "x", "scope": "read"})
    assert signed_out.headers["location"].startswith("/sign-in")
    cross = browser.post(
        "/api/tokens",
        data={"name": "x", "scope": "read"},
        headers={"Origin": "https://evil.example"},
    )
    assert cross.status_code == 403


# --- export and import ---------------------------------------------------------------------


def test_export_then_import_into_another_account_twice(world) -> None:
    made = _alice_content(world)
    exported = _browser(world["alice"]).get("/api/account/export")
    assert exported.status_code == 200
    assert exported.headers["content-disposition"].startswith("attachment;")
    document = exported.json()
    assert document["format"] == "promptgen-export"
    [blueprint] = document["blueprints"]
    assert blueprint["id"] == f"user:{made['blueprint']}"
    assert [v["note"] for v in blueprint["versions"]] == ["first", "autumn"]
    assert {h["blueprint"]["id"] for h in document["history"]} == {
        f"user:{made['blueprint']}@2",
        "catalog:product-photo",
    }
    assert "alice@example.com" not in exported.text

    bob = world["bob"]
    browser = _browser(bob)
    files = {"file": ("export.json", exported.content, "application/json")}
    first = browser.post("/api/account/import", files=files, headers=ORIGIN)
    assert first.status_code == 200, first.text
    assert "2 history entries imported" in first.text and "1 of 1 blueprints imported" in first.text
    again = browser.post("/api/account/import", files=files, headers=ORIGIN)
    assert "0 history entries imported, 2 already there" in again.text

    with user_session_scope(bob.user_id, world["db"]) as session:
        [copy] = user_blueprints.list_blueprints(session=session, user_id=bob.user_id)
        versions = user_blueprints.list_versions(
            session=session, user_id=bob.user_id, blueprint_id=copy.id
        )
        rows = session.exec(select(UserPrompt).where(UserPrompt.user_id == bob.user_id)).all()
    assert copy.current_version == 2 and [v.note for v in versions] == ["autumn", "first"]
    haiku = next(r for r in rows if r.template_name == "Haiku")
    assert str(haiku.blueprint_version_id) == versions[0].version_id  # v2, in Bob's account
    lamp = next(r for r in rows if r.template_name == "Product photo")
    assert lamp.template_id is not None and lamp.output == "A lamp."


def test_a_bad_import_names_the_item_and_writes_nothing(world) -> None:
    bob = world["bob"]
    document = {
        "format": "promptgen-export",
        "version": 1,
        "blueprints": [],
        "history": [
            {
                "id": str(uuid.uuid4()),
                "created_at": "2026-11-01T10:00:00+00:00",
                "status": "succeeded",
                "output": "fine",
            },
            {"id": str(uuid.uuid4()), "created_at": "yesterday", "status": "succeeded"},
        ],
    }
    answer = _browser(bob).post(
        "/api/account/import",
        files={"file": ("x.json", json.dumps(document).encode(), "application/json")},
        headers=ORIGIN,
    )
    assert answer.status_code == 422 and "history[1].created_at" in answer.text
    bad_blueprint = {
        "format": "promptgen-export",
        "version": 1,
        "blueprints": [
            {
                "id": f"user:{uuid.uuid4()}",
                "versions": [
                    {
                        "name": "Broken",
                        "template": "Hi {{ who }}",
                        "parameters_schema": {
                            "type": "object",
                            "properties": {"name": {"type": "string"}},
                        },
                    }
                ],
            }
        ],
    }
    with (
        user_session_scope(bob.user_id, world["db"]) as session,
        pytest.raises(transfer.TransferError) as caught,
    ):
        transfer.import_account(session=session, user_id=bob.user_id, data=bad_blueprint)
    assert caught.value.item.startswith("blueprints[0].versions[0].template")
    assert "who" in caught.value.message
    with pytest.raises(transfer.TransferError, match="not valid JSON"):
        transfer.parse_import(b"{nope")
    with pytest.raises(transfer.TransferError, match="KB"):
        transfer.parse_import(b" " * (transfer.MAX_IMPORT_BYTES + 1))
    with admin_session_scope(world["db"]) as session:
        assert session.exec(select(UserPrompt).where(UserPrompt.user_id == bob.user_id)).all() == []


def test_langfuse_text_prompts_become_blueprints_with_text_fields(world) -> None:
    text = "Summarise {{document}} for {{ audience }} in {{max-words}} words. Keep {% this %}."
    data = transfer.parse_import(text.encode(), filename="Summary.txt")
    bob = world["bob"]
    with user_session_scope(bob.user_id, world["db"]) as session:
        report = transfer.import_account(session=session, user_id=bob.user_id, data=data)
        [made] = user_blueprints.list_blueprints(session=session, user_id=bob.user_id)
        detail = user_blueprints.get_blueprint(
            session=session, user_id=bob.user_id, blueprint_id=made.id
        )
    assert report.blueprints_added == 1 and made.name == "Summary"
    properties = detail.parameter_schema["properties"]
    assert list(properties) == ["document", "audience", "max_words"]
    assert properties["max_words"]["title"] == "max-words"
    assert all(p["type"] == "string" for p in properties.values())
    assert detail.parameter_schema["required"] == ["document", "audience", "max_words"]
    from promptgen.blueprints import compile_prompt

    compiled = compile_prompt(
        prompt_template=detail.prompt_template,
        parameters={"document": "the memo", "audience": "execs", "max_words": "50"},
    )
    assert compiled == "Summarise the memo for execs in 50 words. Keep {% this %}."

    langfuse = [
        {
            "name": "greeter",
            "type": "chat",
            "version": 3,
            "prompt": [
                {"role": "system", "content": "You greet people."},
                {"role": "user", "content": "Greet {{name}}."},
            ],
        },
        {"name": "plain", "type": "text", "prompt": "No variables here"},
    ]
    data = transfer.parse_import(json.dumps(langfuse).encode(), filename="prompts.json")
    with (
        user_session_scope(bob.user_id, world["db"]) as session,
        pytest.raises(transfer.TransferError) as caught,
    ):
        transfer.import_account(session=session, user_id=bob.user_id, data=data)
    assert caught.value.item == "prompts[1].prompt" and "no {{variable}}" in caught.value.message


# --- share links ---------------------------------------------------------------------------


def _share(world, prompt_id: str, images: bool = False) -> str:
    alice = world["alice"]
    with user_session_scope(alice.user_id, world["db"]) as session:
        return shares.share_generation(
            session=session, user_id=alice.user_id, prompt_id=prompt_id, include_images=images
        ).token


def test_remix_signs_in_first_then_opens_the_dashboard_with_a_copy(world) -> None:
    made = _alice_content(world)
    token = _share(world, made["prompt"])
    page = _browser().get(f"/share/{token}")
    assert page.status_code == 200
    assert "Rain on red maples" in page.text and "alice@example.com" not in page.text
    assert f'href="/share/{token}/remix"' in page.text
    assert (
        '<meta property="og:title" content="Haiku · Blueprint compiler (offline) · PromptGen">'
        in page.text
    )

    signed_out = _browser().get(f"/share/{token}/remix")
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == f"/sign-in?next=/share/{token}/remix"

    bob = world["bob"]
    remix = _browser(bob).get(f"/share/{token}/remix")
    location = remix.headers["location"]
    assert location.startswith(f"/dashboard?remix={token}&blueprint=user:")
    with user_session_scope(bob.user_id, world["db"]) as session:
        [copy] = user_blueprints.list_blueprints(session=session, user_id=bob.user_id)
        recipe = shares.remix_recipe(session=session, token=token)
    assert location.endswith(f"user:{copy.id}") and copy.name == "Haiku"
    # RLS: Bob's user session cannot read the share or Alice's row: remix reads them as admin.
    if world["db"].startswith("postgresql"):
        assert recipe is None
    # A second remix reuses the copy.
    _browser(bob).get(f"/share/{token}/remix")
    with user_session_scope(bob.user_id, world["db"]) as session:
        assert len(user_blueprints.list_blueprints(session=session, user_id=bob.user_id)) == 1
    with admin_session_scope(world["db"]) as session:
        recipe = shares.remix_recipe(session=session, token=token)
    assert recipe.parameters == {"topic": "rain"}


def test_saving_a_shared_blueprint_and_revoking_the_link(world) -> None:
    made = _alice_content(world)
    token = _share(world, made["prompt"])
    bob = world["bob"]
    saved = _browser(bob).post(f"/share/{token}/import", headers=ORIGIN)
    assert saved.status_code == 303 and saved.headers["location"].startswith("/blueprints/")
    with admin_session_scope(world["db"]) as session:
        copies = session.exec(
            select(UserBlueprint).where(UserBlueprint.user_id == bob.user_id)
        ).all()
    assert [c.source for c in copies] == [f"share:{token}"]
    cross = _browser(bob).post(f"/share/{token}/import", headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403

    alice = world["alice"]
    with user_session_scope(alice.user_id, world["db"]) as session:
        assert shares.revoke_share(session=session, user_id=alice.user_id, prompt_id=made["prompt"])
    assert _browser().get(f"/share/{token}").status_code == 404
    assert _browser(bob).get(f"/share/{token}/remix").status_code == 404
