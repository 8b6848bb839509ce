"""The public REST API (/api/v1) through the real Starlette app, on SQLite and PostgreSQL:
tokens, scopes, schema errors, rate limits, generation (streamed through the real OpenAI
SDK against the fake server), history paging, shares, and the OpenAPI document."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from starlette.routing import Route
from starlette.testclient import TestClient

from promptgen.api import v1
from promptgen.api.app import build_api
from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import (
    ApiToken,
    PromptAttachment,
    SubscriptionTier,
    UserPrompt,
    UserSubscription,
)
from promptgen.services import api_tokens, shares, user_blueprints
from promptgen.services.catalog_import import seed_catalog
from promptgen.settings import reset_settings_cache
from promptgen.vault import new_master_key_text
from tests.support.factories import make_user
from tests.support.fake_providers import DEFAULT_KEY, FakeOpenAI

LAMP = {"product": "a walnut desk lamp"}


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def world(db_url: str, monkeypatch: pytest.MonkeyPatch, fake_openai: FakeOpenAI):
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", new_master_key_text())
    monkeypatch.setenv("OPENAI_API_KEY", DEFAULT_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.url + "/v1")
    monkeypatch.setenv("PROVIDER_TIMEOUT_SECONDS", "10")
    monkeypatch.setenv("APP_URL", "http://app.test")
    reset_settings_cache()
    fake_openai.reset()
    fake_openai.latency_s = 0
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        free = session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == "free")).one()
        free.monthly_quota = 10
        alice = make_user(session, "alice@example.com")
        bob = make_user(session, "bob@example.com")
    tokens = {}
    for name, user, scope in (
        ("alice", alice, "generate"),
        ("alice_read", alice, "read"),
        ("bob", bob, "generate"),
    ):
        with user_session_scope(user.user_id, db_url) as session:
            tokens[name] = api_tokens.create_token(
                session=session, user_id=user.user_id, name=name, scope=scope
            )
    client = TestClient(build_api(), base_url="http://app.test")
    yield {"db": db_url, "alice": alice, "bob": bob, "tokens": tokens, "client": client}
    reset_settings_cache()


def _auth(world, name: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {world['tokens'][name].secret}"}


def _usage(world, user) -> int:
    with admin_session_scope(world["db"]) as session:
        return session.exec(
            select(UserSubscription.usage_count).where(UserSubscription.user_id == user.user_id)
        ).one()


def _error(response) -> dict:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "field"} <= set(body["error"])
    return body["error"]


# --- tokens ---------------------------------------------------------------------------------


def test_a_token_is_shown_once_and_stored_only_as_its_hash(world) -> None:
    new = world["tokens"]["alice"]
    assert new.secret.startswith("pg_") and len(new.secret) > 40
    assert new.secret not in repr(new)
    with admin_session_scope(world["db"]) as session:
        rows = session.exec(select(ApiToken)).all()
    stored = {r.token_hash for r in rows}
    assert hashlib.sha256(new.secret.encode()).hexdigest() in stored
    assert all(new.secret not in (r.token_hash + r.prefix + r.name) for r in rows)
    assert new.view.prefix == new.secret[:10]


def test_missing_bad_and_revoked_tokens_are_refused_with_401(world) -> None:
    client = world["client"]
    missing = client.get("/api/v1/blueprints")
    assert missing.status_code == 401 and _error(missing)["code"] == "missing_token"
    assert missing.headers["www-authenticate"] == "Bearer"
    for junk in ("pg_" + "x" * 43, "not-a-token", "Basic abc"):
        answer = client.get("/api/v1/blueprints", headers={"Authorization": f"Bearer {junk}"})
        assert answer.status_code == 401, junk
    assert client.get("/api/v1/blueprints", headers=_auth(world)).status_code == 200

    alice = world["alice"]
    with user_session_scope(alice.user_id, world["db"]) as session:
        # Bob cannot revoke Alice's token; Alice can.
        token_id = world["tokens"]["alice"].view.id
        assert not api_tokens.revoke_token(
            session=session, user_id=world["bob"].user_id, token_id=token_id
        )
    with user_session_scope(alice.user_id, world["db"]) as session:
        assert api_tokens.revoke_token(session=session, user_id=alice.user_id, token_id=token_id)
        listed = api_tokens.list_tokens(session=session, user_id=alice.user_id)
    assert [t.name for t in listed] == ["alice_read"]
    revoked = client.get("/api/v1/blueprints", headers=_auth(world))
    assert revoked.status_code == 401 and _error(revoked)["code"] == "invalid_token"


def test_the_session_cookie_alone_does_not_reach_the_api(world) -> None:
    client = world["client"]
    client.cookies.set("promptgen_session", world["alice"].token)
    answer = client.get("/api/v1/history", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 401


def test_a_read_token_cannot_generate(world) -> None:
    answer = world["client"].post(
        "/api/v1/generate",
        headers=_auth(world, "alice_read"),
        json={"blueprint": "product-photo", "model": "blueprint-compiler", "parameters": LAMP},
    )
    assert answer.status_code == 403 and _error(answer)["code"] == "insufficient_scope"
    with admin_session_scope(world["db"]) as session:
        assert session.exec(select(UserPrompt)).all() == []


def test_models_and_signatures_are_listed_by_their_ids(world) -> None:
    client = world["client"]
    models = client.get("/api/v1/models", headers=_auth(world, "alice_read")).json()["data"]
    by_id = {m["id"]: m for m in models}
    assert by_id["gpt-4.1-mini"]["available_on_your_plan"] is True
    assert by_id["gpt-4.1"]["available_on_your_plan"] is False  # Pro and Studio only
    signatures = client.get("/api/v1/signatures", headers=_auth(world, "alice_read"))
    assert signatures.status_code == 200
    assert "golden-hour" in {s["id"] for s in signatures.json()["data"]}


def test_last_used_is_stamped(world) -> None:
    world["client"].get("/api/v1/models", headers=_auth(world))
    with user_session_scope(world["alice"].user_id, world["db"]) as session:
        views = api_tokens.list_tokens(session=session, user_id=world["alice"].user_id)
    used = {v.name: v.last_used_at for v in views}
    assert used["alice"] is not None and used["alice_read"] is None


# --- blueprints and compile ---------------------------------------------------------------------


def test_blueprints_are_listed_with_their_json_schemas(world) -> None:
    answer = world["client"].get("/api/v1/blueprints", headers=_auth(world, "alice_read"))
    assert answer.status_code == 200
    found = {b["id"]: b for b in answer.json()["data"]}
    lamp = found["catalog:product-photo"]
    assert lamp["kind"] == "catalog"
    assert lamp["parameters_schema"]["properties"]["product"]["type"] == "string"
    assert "product" in lamp["parameters_schema"]["required"]
    one = world["client"].get("/api/v1/blueprints/product-photo", headers=_auth(world))
    assert one.json()["template"].startswith("Product photograph of")
    missing = world["client"].get("/api/v1/blueprints/nope", headers=_auth(world))
    assert missing.status_code == 404 and _error(missing)["field"] == "blueprint"


def test_compile_offline_validates_against_the_schema(world) -> None:
    client = world["client"]
    ok = client.post(
        "/api/v1/blueprints/product-photo/compile",
        headers=_auth(world, "alice_read"),
        json={"parameters": LAMP, "signature": "golden-hour"},
    )
    assert ok.status_code == 200
    assert "a walnut desk lamp" in ok.json()["prompt"]
    assert ok.json()["parameters"]["setting"] == "clean studio"  # the schema default

    cases = [
        ({}, "parameters.product", "invalid_parameters"),
        ({"product": "x" * 500}, "parameters.product", "invalid_parameters"),
        ({**LAMP, "setting": "on the moon"}, "parameters.setting", "invalid_parameters"),
        ({**LAMP, "colour": "red"}, "parameters.colour", "unknown_parameter"),
    ]
    for parameters, field, code in cases:
        bad = client.post(
            "/api/v1/blueprints/product-photo/compile",
            headers=_auth(world),
            json={"parameters": parameters},
        )
        error = _error(bad)
        assert bad.status_code == 422 and error["field"] == field and error["code"] == code
    assert (
        "Product is required"
        in _error(
            client.post("/api/v1/blueprints/product-photo/compile", headers=_auth(world), json={})
        )["message"]
    )
    not_json = client.post(
        "/api/v1/blueprints/product-photo/compile",
        headers={**_auth(world), "Content-Type": "application/json"},
        content=b"{nope",
    )
    assert not_json.status_code == 400 and _error(not_json)["code"] == "invalid_json"
    signature = client.post(
        "/api/v1/blueprints/product-photo/compile",
        headers=_auth(world),
        json={"parameters": LAMP, "signature": "nope"},
    )
    assert _error(signature)["field"] == "signature"


def test_own_blueprints_are_listed_compiled_and_generated_by_reference(world) -> None:
    alice, bob = world["alice"], world["bob"]
    with user_session_scope(alice.user_id, world["db"]) as session:
        mine = user_blueprints.create_blueprint(
            session=session,
            user_id=alice.user_id,
            draft=user_blueprints.BlueprintDraft(
                name="Haiku",
                prompt_template="Write a haiku about {{ topic }}.",
                parameter_schema={
                    "type": "object",
                    "required": ["topic"],
                    "properties": {"topic": {"type": "string", "title": "Topic", "maxLength": 40}},
                },
            ),
        )
    client = world["client"]
    listed = {
        b["id"]: b for b in client.get("/api/v1/blueprints", headers=_auth(world)).json()["data"]
    }
    own = listed[f"user:{mine.id}"]
    assert own["kind"] == "own" and own["version"] == 1
    assert own["parameters_schema"]["properties"]["topic"]["maxLength"] == 40
    assert f"user:{mine.id}" not in {
        b["id"]
        for b in client.get("/api/v1/blueprints", headers=_auth(world, "bob")).json()["data"]
    }
    compiled = client.post(
        f"/api/v1/blueprints/user:{mine.id}/compile",
        headers=_auth(world),
        json={"parameters": {"topic": "rain"}},
    )
    assert compiled.json()["prompt"] == "Write a haiku about rain."
    too_long = client.post(
        f"/api/v1/blueprints/{mine.id}/compile",
        headers=_auth(world),
        json={"parameters": {"topic": "x" * 41}},
    )
    assert _error(too_long)["field"] == "parameters.topic"
    # Bob cannot see or use it.
    theirs = client.post(
        f"/api/v1/blueprints/user:{mine.id}/compile",
        headers=_auth(world, "bob"),
        json={"parameters": {"topic": "rain"}},
    )
    assert theirs.status_code == 404
    generated = client.post(
        "/api/v1/generate",
        headers=_auth(world),
        json={
            "blueprint": f"user:{mine.id}",
            "model": "blueprint-compiler",
            "parameters": {"topic": "rain"},
        },
    )
    assert generated.status_code == 200, generated.text
    with admin_session_scope(world["db"]) as session:
        row = session.get(UserPrompt, uuid.UUID(generated.json()["id"]))
    assert row.blueprint_version_id == uuid.UUID(mine.version_id) and row.template_name == "Haiku"
    with user_session_scope(bob.user_id, world["db"]) as session:
        assert (
            user_blueprints.resolve_blueprint(
                session=session, user_id=bob.user_id, reference=f"user:{mine.id}"
            )
            is None
        )


# --- generate ------------------------------------------------------------------------------------


def test_generate_uses_quota_and_keeps_history_like_the_app(world, fake_openai) -> None:
    fake_openai.reply = "A refined lamp prompt."
    answer = world["client"].post(
        "/api/v1/generate",
        headers=_auth(world),
        json={"blueprint": "product-photo", "model": "gpt-4.1-mini", "parameters": LAMP},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["output"] == "A refined lamp prompt." and body["key_source"] == "platform"
    assert _usage(world, world["alice"]) == 1
    entry = world["client"].get(f"/api/v1/history/{body['id']}", headers=_auth(world)).json()
    assert entry["status"] == "succeeded" and entry["parameters"]["product"] == LAMP["product"]
    # Bob cannot read it.
    other = world["client"].get(f"/api/v1/history/{body['id']}", headers=_auth(world, "bob"))
    assert other.status_code == 404


def test_a_failed_generation_refunds_and_says_why(world, fake_openai) -> None:
    fake_openai.fail_next(500, times=5)
    answer = world["client"].post(
        "/api/v1/generate",
        headers=_auth(world),
        json={"blueprint": "product-photo", "model": "gpt-4.1-mini", "parameters": LAMP},
    )
    assert answer.status_code == 502 and _error(answer)["code"] == "provider_error"
    assert _usage(world, world["alice"]) == 0


def test_generate_refuses_bad_parameters_before_touching_quota(world) -> None:
    client = world["client"]
    bad = client.post(
        "/api/v1/generate",
        headers=_auth(world),
        json={"blueprint": "product-photo", "model": "gpt-4.1-mini", "parameters": {}},
    )
    assert bad.status_code == 422 and _error(bad)["field"] == "parameters.product"
    model = client.post(
        "/api/v1/generate",
        headers=_auth(world),
        json={"blueprint": "product-photo", "model": "gpt-9", "parameters": LAMP},
    )
    assert _error(model)["field"] == "model"
    stream = client.post(
        "/api/v1/generate",
        headers=_auth(world),
        json={"blueprint": "product-photo", "model": "gpt-4.1-mini", "stream": "yes"},
    )
    assert _error(stream)["field"] == "stream"
    assert _usage(world, world["alice"]) == 0
    with admin_session_scope(world["db"]) as session:
        assert session.exec(select(UserPrompt)).all() == []


def _events(text: str) -> list[tuple[str, dict]]:
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_a_streamed_generation_arrives_as_server_sent_events(world, fake_openai) -> None:
    fake_openai.reply = "Walnut lamp, warm light, shallow depth of field, studio backdrop."
    fake_openai.chunks = 4
    with world["client"].stream(
        "POST",
        "/api/v1/generate",
        headers=_auth(world),
        json={
            "blueprint": "product-photo",
            "model": "gpt-4.1-mini",
            "parameters": LAMP,
            "stream": True,
        },
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")
        assert "content-length" not in answer.headers  # else clients stop after the headers
        text = "".join(answer.iter_text())
    events = _events(text)
    kinds = [kind for kind, _ in events]
    assert kinds[-1] == "done" and kinds.count("delta") >= 2
    streamed = "".join(data["text"] for kind, data in events if kind == "delta")
    assert streamed.strip() == fake_openai.reply
    done = events[-1][1]
    assert done["output"] == fake_openai.reply and done["key_source"] == "platform"
    assert _usage(world, world["alice"]) == 1
    [request] = [r for r in fake_openai.requests if r.path.endswith("/chat/completions")]
    assert request.json["stream"] is True and "walnut desk lamp" in json.dumps(request.json)


def test_a_streamed_failure_ends_with_an_error_event_and_a_refund(world, fake_openai) -> None:
    fake_openai.fail_next(401, times=3)
    with world["client"].stream(
        "POST",
        "/api/v1/generate",
        headers=_auth(world),
        json={
            "blueprint": "product-photo",
            "model": "gpt-4.1-mini",
            "parameters": LAMP,
            "stream": True,
        },
    ) as answer:
        text = "".join(answer.iter_text())
    kind, data = _events(text)[-1]
    assert kind == "error" and data["error"]["code"] == "provider_error"
    assert _usage(world, world["alice"]) == 0


def test_the_offline_compiler_generates_without_quota(world) -> None:
    answer = world["client"].post(
        "/api/v1/generate",
        headers=_auth(world),
        json={"blueprint": "product-photo", "model": "blueprint-compiler", "parameters": LAMP},
    )
    assert answer.status_code == 200 and answer.json()["key_source"] == "offline"
    assert _usage(world, world["alice"]) == 0


# --- history ------------------------------------------------------------------------------------


def test_history_pages_by_keyset_and_stays_the_owners(world) -> None:
    alice = world["alice"]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    with admin_session_scope(world["db"]) as session:
        for i in range(5):
            session.add(
                UserPrompt(
                    user_id=alice.user_id,
                    template_name="Product photo",
                    model_name="GPT-4.1 mini",
                    output=f"answer {i}",
                    status="succeeded",
                    created_at=start + timedelta(minutes=i),
                )
            )
        session.add(UserPrompt(user_id=world["bob"].user_id, output="bob's", status="succeeded"))
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = world["client"].get("/api/v1/history", headers=_auth(world), params=query).json()
        seen += [e["snippet"] for e in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"answer {i}" for i in reversed(range(5))]
    bad = world["client"].get("/api/v1/history?limit=0", headers=_auth(world))
    assert bad.status_code == 422 and _error(bad)["field"] == "limit"
    junk = world["client"].get("/api/v1/history?cursor=!!", headers=_auth(world))
    assert junk.status_code == 400 and _error(junk)["field"] == "cursor"
    assert world["client"].get("/api/v1/history/nope", headers=_auth(world)).status_code == 404


# --- shares ---------------------------------------------------------------------------------------


def _shared_entry(world, *, images: bool = False) -> str:
    alice = world["alice"]
    with admin_session_scope(world["db"]) as session:
        prompt = UserPrompt(
            user_id=alice.user_id,
            template_name="Product photo",
            model_name="GPT-4.1 mini",
            parameters=LAMP,
            compiled_prompt="Product photograph of a walnut desk lamp",
            output="A <b>warm</b> walnut lamp.",
            status="succeeded",
        )
        session.add(prompt)
        session.flush()
        session.add(
            PromptAttachment(
                prompt_id=prompt.id,
                user_id=alice.user_id,
                filename="ref.png",
                mime_type="image/png",
                size_bytes=4,
                sha256="0" * 64,
                data=b"\x89PNG",
            )
        )
        prompt_id = str(prompt.id)
    with user_session_scope(alice.user_id, world["db"]) as session:
        view = shares.share_generation(
            session=session, user_id=alice.user_id, prompt_id=prompt_id, include_images=images
        )
    return view.token


def test_a_share_reads_through_the_api_and_on_its_public_page(world) -> None:
    token = _shared_entry(world)
    shared = world["client"].get(f"/api/v1/shares/{token}", headers=_auth(world, "bob"))
    assert shared.status_code == 200
    body = shared.json()
    assert body["output"] == "A <b>warm</b> walnut lamp." and body["images"] == []
    assert "alice" not in json.dumps(body) and "key_source" not in body

    page = TestClient(build_api(), base_url="http://app.test").get(f"/share/{token}")
    assert page.status_code == 200
    html = page.text
    assert '<meta property="og:title" content="Product photo · GPT-4.1 mini · PromptGen">' in html
    assert 'property="og:description" content="A &lt;b&gt;warm&lt;/b&gt; walnut lamp."' in html
    assert "<script" not in html and "alice@example.com" not in html
    assert "data:image/png" not in html
    assert f'href="/dashboard?remix={token}"' not in html  # no catalog blueprint id stored


def test_images_show_only_when_the_owner_opted_in_and_revoking_ends_the_link(world) -> None:
    token = _shared_entry(world, images=True)
    client = TestClient(build_api(), base_url="http://app.test")
    assert "data:image/png;base64," in client.get(f"/share/{token}").text
    alice = world["alice"]
    with user_session_scope(alice.user_id, world["db"]) as session:
        prompt_id = session.exec(select(UserPrompt.id)).first()
        assert shares.revoke_share(session=session, user_id=alice.user_id, prompt_id=str(prompt_id))
    assert client.get(f"/share/{token}").status_code == 404
    gone = world["client"].get(f"/api/v1/shares/{token}", headers=_auth(world))
    assert gone.status_code == 404 and _error(gone)["field"] == "token"


def test_only_the_owner_can_share_and_only_a_finished_entry(world) -> None:
    _shared_entry(world)
    with user_session_scope(world["bob"].user_id, world["db"]) as session:
        prompt_id = str(
            session.exec(select(UserPrompt.id)).first() or "00000000-0000-0000-0000-000000000000"
        )
        with pytest.raises(shares.ShareError):
            shares.share_generation(
                session=session, user_id=world["bob"].user_id, prompt_id=prompt_id
            )


# --- rate limit -----------------------------------------------------------------------------------


def test_a_token_over_its_limit_gets_429_with_retry_after(world, monkeypatch) -> None:
    monkeypatch.setenv("API_RATE_LIMIT_PER_MINUTE", "3")
    reset_settings_cache()
    client = world["client"]
    answers = [client.get("/api/v1/models", headers=_auth(world)) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["x-ratelimit-remaining"] == "2"
    refused = answers[-1]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert _error(refused)["code"] == "rate_limited"
    # Another token has its own allowance.
    assert client.get("/api/v1/models", headers=_auth(world, "bob")).status_code == 200


# --- the OpenAPI document and docs ------------------------------------------------------------


def test_every_api_route_is_in_the_openapi_document_and_the_docs(world) -> None:
    client = world["client"]
    document = client.get("/api/v1/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = {
        (route.path, method)
        for route in build_api().routes
        if isinstance(route, Route)
        and route.path.startswith("/api/v1/")
        and "{rest:path}" not in route.path
        and route.path not in ("/api/v1/openapi.json", "/api/v1/docs")
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert served and served == documented
    assert document["components"]["schemas"]["Parameters_product-photo"]["required"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and "<script" not in docs.text
    for path, _method in documented:
        assert path in docs.text
    unknown = client.get("/api/v1/nothing-here", headers=_auth(world))
    assert unknown.status_code == 404 and _error(unknown)["code"] == "not_found"


def test_openapi_is_built_from_the_endpoint_table() -> None:
    document = v1.openapi_document()
    assert len([op for ops in document["paths"].values() for op in ops]) == len(v1.ENDPOINTS)
    generate = document["paths"]["/api/v1/generate"]["post"]
    assert "text/event-stream" in generate["responses"]["200"]["content"]
    assert generate["x-scope"] == "generate"
