"""Sharing a comparison: a real comparison (two Gemini columns, through the fake) shared by
its owner, read signed out through the HTTP route, refused for another user's id, revoked,
images only when opted in; on SQLite and PostgreSQL (RLS on the shares table)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import select
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import (
    Share,
    SubscriptionTier,
    SupportedAIModel,
    SupportedTemplate,
    UserPrompt,
    VisualSignature,
)
from promptgen.services import compare, shares
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.compare import ColumnSpec
from promptgen.services.generation import ImageUpload
from promptgen.settings import Settings, reset_settings_cache
from tests.support.factories import make_user
from tests.support.fake_providers import DEFAULT_KEY, FakeGemini

APP = "http://app.test"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
FORM = {
    "product": "a walnut desk lamp",
    "setting": "clean studio",
    "angle": "eye level",
    "aspect_ratio": "1:1",
}


@pytest.fixture(scope="module")
def fake_gemini() -> Iterator[FakeGemini]:
    with FakeGemini() as fake:
        yield fake


@pytest.fixture
def world(db_url: str, monkeypatch: pytest.MonkeyPatch, fake_gemini):
    monkeypatch.setenv("APP_URL", APP)
    reset_settings_cache()
    fake_gemini.reset()
    fake_gemini.chunks, fake_gemini.chunk_delay_s, fake_gemini.latency_s = 3, 0, 0
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        free = session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == "free")).one()
        free.monthly_quota = 10
        alice = make_user(session, "alice@example.com")
        bob = make_user(session, "bob@example.com")
        blueprint = session.exec(
            select(SupportedTemplate).where(SupportedTemplate.slug == "product-photo")
        ).one()
        models = {m.slug: m.id for m in session.exec(select(SupportedAIModel)).all()}
        signature = session.exec(select(VisualSignature).order_by(VisualSignature.id)).first()
        ids = (blueprint.id, signature.id, signature.name)
    yield {
        "db": db_url,
        "alice": alice,
        "bob": bob,
        "blueprint_id": ids[0],
        "flash_id": models["gemini-2.5-flash"],
        "signature_id": ids[1],
        "signature_name": ids[2],
        "settings": Settings(
            _env_file=None,
            gemini_api_key=DEFAULT_KEY,
            gemini_base_url=fake_gemini.url,
            provider_timeout_seconds=10,
        ),
    }
    reset_settings_cache()


def _browser(user=None) -> TestClient:
    client = TestClient(build_api(), base_url=APP, follow_redirects=False)
    if user is not None:
        client.cookies.set("promptgen_session", user.token)
    return client


async def _compare(world, user) -> str:
    """A finished two-column comparison of `user`'s (no signature vs a signature), with a
    reference image, and the signed column voted the winner."""
    comparison_id = uuid.uuid4()
    outcomes = await compare.run_comparison(
        user_id=user.user_id,
        comparison_id=comparison_id,
        blueprint_id=world["blueprint_id"],
        parameters=FORM,
        columns=[
            ColumnSpec(world["flash_id"], None),
            ColumnSpec(world["flash_id"], world["signature_id"]),
        ],
        images=(ImageUpload("lamp-ref.png", PNG),),
        settings=world["settings"],
    )
    assert [o.status for o in outcomes] == ["succeeded", "succeeded"], outcomes
    with user_session_scope(user.user_id, world["db"]) as session:
        compare.set_winner(session=session, user_id=user.user_id, prompt_id=outcomes[1].prompt_id)
    return str(comparison_id)


def _share(world, user, comparison_id: str, images: bool = False) -> shares.ShareView:
    with user_session_scope(user.user_id, world["db"]) as session:
        return shares.share_comparison(
            session=session,
            user_id=user.user_id,
            comparison_id=comparison_id,
            include_images=images,
        )


async def test_a_shared_comparison_shows_every_column_signed_out(world) -> None:
    alice = world["alice"]
    comparison_id = await _compare(world, alice)
    view = _share(world, alice, comparison_id)
    assert view.comparison_id == comparison_id and view.prompt_id == ""
    assert len(view.token) >= 40
    # One live link per comparison: sharing again gives the same link.
    assert _share(world, alice, comparison_id).token == view.token
    with user_session_scope(alice.user_id, world["db"]) as session:
        columns = compare.load_comparison(
            session=session, user_id=alice.user_id, comparison_id=comparison_id
        )
        found = shares.get_share_for_comparison(
            session=session, user_id=alice.user_id, comparison_id=comparison_id
        )
    assert found is not None and found.token == view.token

    page = _browser().get(f"/share/{view.token}")
    assert page.status_code == 200
    text = page.text
    assert "shared comparison" in text and "Product photo" in text
    assert text.count('data-testid="share-column"') == 2
    for column in columns:
        assert column.output.strip() and column.output.strip()[:40] in text
    assert "No signature" in text and world["signature_name"] in text
    assert text.count('data-testid="share-column-model">Gemini 2.5 Flash<') == 2
    assert "Winner" in text
    # The form once, not per column.
    assert text.count("a walnut desk lamp") >= 1 and text.count("<dt>product</dt>") == 1
    assert "alice@example.com" not in text and str(alice.user_id) not in text
    assert "key_source" not in text and "own_key" not in text and "Billed" not in text
    # No images unless opted in, no script, and an Open Graph preview.
    assert "lamp-ref.png" not in text and "data:image" not in text
    assert "<script" not in text
    assert '<meta property="og:title" content="Product photo · compared: ' in text
    assert f'<meta property="og:url" content="{APP}/share/{view.token}">' in text
    assert page.headers["cache-control"] == "no-store"

    # Remix opens the dashboard with the first column's recipe, in the viewer's account.
    signed_out = _browser().get(f"/share/{view.token}/remix")
    assert signed_out.headers["location"] == f"/sign-in?next=/share/{view.token}/remix"
    remix = _browser(world["bob"]).get(f"/share/{view.token}/remix")
    assert remix.status_code == 303
    assert remix.headers["location"].startswith(f"/dashboard?remix={view.token}")
    with admin_session_scope(world["db"]) as session:
        recipe = shares.remix_recipe(session=session, token=view.token)
        single = shares.get_shared(session=session, token=view.token)
    assert recipe is not None and recipe.parameters == columns[0].parameters
    assert FORM.items() <= recipe.parameters.items()
    assert recipe.blueprint_id == world["blueprint_id"]
    assert (recipe.model_id, recipe.signature_id) == (columns[0].model_id, columns[0].signature_id)
    assert single is None  # a comparison's link is not a single entry's


async def test_images_only_when_opted_in(world) -> None:
    alice = world["alice"]
    comparison_id = await _compare(world, alice)
    view = _share(world, alice, comparison_id, images=True)
    page = _browser().get(f"/share/{view.token}")
    assert "lamp-ref.png" in page.text and "data:image/png;base64," in page.text
    # Turning the opt-in off keeps the link and hides the images again.
    again = _share(world, alice, comparison_id, images=False)
    assert again.token == view.token and not again.include_images
    page = _browser().get(f"/share/{view.token}")
    assert page.status_code == 200 and "lamp-ref.png" not in page.text


async def test_another_users_comparison_is_refused_and_revoke_kills_the_link(world) -> None:
    alice, bob = world["alice"], world["bob"]
    comparison_id = await _compare(world, alice)
    for junk in (comparison_id, str(uuid.uuid4()), "not-an-id", ""):
        with pytest.raises(shares.ShareError) as refused:
            _share(world, bob, junk)
        assert refused.value.message == "That comparison is not in your history."
    with user_session_scope(bob.user_id, world["db"]) as session:
        assert not shares.revoke_comparison_share(
            session=session, user_id=bob.user_id, comparison_id=comparison_id
        )
    with admin_session_scope(world["db"]) as session:
        assert session.exec(select(Share)).all() == []

    view = _share(world, alice, comparison_id)
    with user_session_scope(bob.user_id, world["db"]) as session:
        # Bob cannot end Alice's link, nor see it.
        assert not shares.revoke_comparison_share(
            session=session, user_id=bob.user_id, comparison_id=comparison_id
        )
        assert (
            shares.get_share_for_comparison(
                session=session, user_id=bob.user_id, comparison_id=comparison_id
            )
            is None
        )
    assert _browser().get(f"/share/{view.token}").status_code == 200
    with user_session_scope(alice.user_id, world["db"]) as session:
        assert shares.revoke_comparison_share(
            session=session, user_id=alice.user_id, comparison_id=comparison_id
        )
        assert (
            shares.get_share_for_comparison(
                session=session, user_id=alice.user_id, comparison_id=comparison_id
            )
            is None
        )
    assert _browser().get(f"/share/{view.token}").status_code == 404
    assert _browser(bob).get(f"/share/{view.token}/remix").status_code == 404
    # Sharing again makes a new, different link; the old one stays dead.
    fresh = _share(world, alice, comparison_id)
    assert fresh.token != view.token
    assert _browser().get(f"/share/{view.token}").status_code == 404
    assert _browser().get(f"/share/{fresh.token}").status_code == 200


async def test_comparison_shares_are_under_row_level_security(world) -> None:
    if not world["db"].startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's")
    alice, bob = world["alice"], world["bob"]
    comparison_id = await _compare(world, alice)
    view = _share(world, alice, comparison_id)
    with user_session_scope(bob.user_id, world["db"]) as session:
        # Even an unscoped raw query sees none of Alice's links in Bob's session.
        assert session.execute(sa.text("SELECT count(*) FROM shares")).scalar_one() == 0
        assert shares.get_shared_comparison(session=session, token=view.token) is None
    with user_session_scope(alice.user_id, world["db"]) as session:
        assert session.execute(sa.text("SELECT count(*) FROM shares")).scalar_one() == 1


async def test_a_comparison_still_running_or_without_answers_is_not_shared(world) -> None:
    alice = world["alice"]
    comparison_id = await _compare(world, alice)
    with admin_session_scope(world["db"]) as session:
        first = session.exec(
            select(UserPrompt).where(UserPrompt.comparison_id == uuid.UUID(comparison_id))
        ).first()
        first.status = "pending"
        session.add(first)
    with pytest.raises(shares.ShareError) as running:
        _share(world, alice, comparison_id)
    assert running.value.message.startswith("Wait for every column to finish")
    with admin_session_scope(world["db"]) as session:
        session.execute(
            sa.update(UserPrompt)
            .where(UserPrompt.comparison_id == uuid.UUID(comparison_id))
            .values(status="failed", output="")
        )
    with pytest.raises(shares.ShareError) as empty:
        _share(world, alice, comparison_id)
    assert empty.value.message == "Only a comparison with at least one answer can be shared."
