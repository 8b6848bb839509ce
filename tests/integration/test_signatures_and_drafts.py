"""Signatures 2.0 and form drafts through the services, the catalog import, the CLI and the
preview route, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from promptgen.api.app import build_api
from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import FormDraft, SupportedAIModel, SupportedTemplate, VisualSignature
from promptgen.services import catalog, drafts, generation, signatures, user_blueprints
from promptgen.services.catalog_import import CatalogError, import_catalog, seed_catalog
from promptgen.services.generation import GenerationError, GenerationRequest
from promptgen.services.signatures import SignatureChoice
from tests.support.factories import make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


@pytest.fixture
def world(db_url: str):
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        user = make_user(session)
        blueprints = {b.slug: b.id for b in session.exec(select(SupportedTemplate)).all()}
        sigs = {s.slug: s.id for s in session.exec(select(VisualSignature)).all()}
        models = {m.slug: m.id for m in session.exec(select(SupportedAIModel)).all()}
    return {
        "db": db_url,
        "user_id": user.user_id,
        "blueprints": blueprints,
        "signatures": sigs,
        "offline": models["blueprint-compiler"],
    }


def _generate(world, blueprint: str, parameters: dict, choices=()) -> generation.GenerationResult:
    request = GenerationRequest(
        blueprint_id=world["blueprints"][blueprint],
        model_id=world["offline"],
        parameters=parameters,
        signatures=tuple(choices),
    )
    return asyncio.run(generation.run_generation(user_id=world["user_id"], request=request))


# --- which blueprints take a signature --------------------------------------------


def test_the_default_catalog_offers_signatures_to_image_blueprints_only(world) -> None:
    with admin_session_scope(world["db"]) as session:
        takes = {b.slug: b.takes_signature for b in catalog.list_blueprints(session=session)}
        views = catalog.list_signatures(session=session)
    assert takes == {
        "product-photo": True,
        "portrait": True,
        "landscape": True,
        "blog-outline": False,
        "code-review": False,
        "marketing-email": False,
    }
    # Every default signature ships a preview image and a palette.
    assert all(v.preview_sha256 and len(v.palette) >= 3 for v in views)


def test_a_non_visual_prompt_never_gets_a_signature_clause(world) -> None:
    parameters = {"language": "Python", "code": "def f(x):\n    return x * 2"}
    neon = world["signatures"]["neon-cyberpunk"]
    # Even a request that names signatures (an old tab, a crafted event) gets none.
    result = _generate(world, "code-review", parameters, [SignatureChoice(neon, 10)])
    assert "Visual signature" not in result.compiled_prompt
    assert "neon" not in result.compiled_prompt.lower()
    with admin_session_scope(world["db"]) as session:
        prompt = session.exec(select(generation.UserPrompt)).one()
    assert prompt.signature_id is None and prompt.signature_name == ""


def test_two_weighted_signatures_make_one_clause_in_the_prompt(world) -> None:
    noir, neon = world["signatures"]["cinematic-noir"], world["signatures"]["neon-cyberpunk"]
    result = _generate(
        world,
        "product-photo",
        {"product": "a walnut desk lamp"},
        [SignatureChoice(neon, 2), SignatureChoice(noir, 8)],
    )
    assert (
        "Visual signature — Cinematic Noir (80%) + Neon Cyberpunk (20%): dominant (80%) "
        "Cinematic Noir: high-contrast black-and-white" in result.compiled_prompt
    )
    assert "secondary (20%) Neon Cyberpunk: cyberpunk, neon magenta" in result.compiled_prompt
    with admin_session_scope(world["db"]) as session:
        prompt = session.exec(select(generation.UserPrompt)).one()
    assert prompt.signature_id == noir  # the leading one
    assert prompt.signature_name == "Cinematic Noir (80%) + Neon Cyberpunk (20%)"


def test_a_bad_mix_is_refused_and_costs_nothing(world) -> None:
    ids = list(world["signatures"].values())
    with pytest.raises(GenerationError, match="Pick at most 3 visual signatures"):
        _generate(world, "product-photo", {"product": "a lamp"}, map(SignatureChoice, ids[:4]))
    with pytest.raises(GenerationError, match="picked only once"):
        _generate(
            world,
            "product-photo",
            {"product": "a lamp"},
            [SignatureChoice(ids[0]), SignatureChoice(ids[0], 3)],
        )
    with admin_session_scope(world["db"]) as session:
        assert session.exec(select(generation.UserPrompt)).all() == []


# --- previews: import, storage, route ------------------------------------------------


def _catalog_file(tmp_path: Path, signature: dict) -> Path:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"signatures": [signature]}))
    return path


def test_an_imported_preview_is_stored_and_served_with_caching(world, tmp_path: Path) -> None:
    (tmp_path / "art").mkdir()
    (tmp_path / "art" / "mist.png").write_bytes(PNG)
    entry = {
        "slug": "mist",
        "name": "Mist",
        "style_prompt": "soft morning mist",
        "preview_image": "art/mist.png",
        "palette": ["#DDE3E8", "#9aa5ad"],
    }
    with admin_session_scope(world["db"]) as session:
        report = import_catalog(session=session, data={"signatures": [entry]}, base_dir=tmp_path)
        assert report.created == {"signatures": ["mist"]}
        view = next(v for v in catalog.list_signatures(session=session) if v.slug == "mist")
    assert view.palette == ("#dde3e8", "#9aa5ad")
    url = signatures.preview_url("mist", view.preview_sha256)
    with TestClient(build_api()) as client:
        response = client.get(url)
        assert response.status_code == 200
        assert response.content == PNG
        assert response.headers["content-type"] == "image/png"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        etag = response.headers["etag"]
        again = client.get("/api/signatures/mist/preview", headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.headers["cache-control"] == "public, max-age=300, must-revalidate"
        # A default signature's real preview, and one with none.
        noir = client.get("/api/signatures/cinematic-noir/preview")
        assert noir.status_code == 200 and noir.headers["content-type"] == "image/webp"
        assert noir.content.startswith(b"RIFF")
        assert client.get("/api/signatures/nope/preview").status_code == 404
        assert client.get("/api/signatures/..%2Fx/preview").status_code == 404


def test_a_signature_without_an_image_keeps_its_palette_swatch(world) -> None:
    entry = {"slug": "mist", "name": "Mist", "style_prompt": "mist", "palette": ["#102030"]}
    with admin_session_scope(world["db"]) as session:
        import_catalog(session=session, data={"signatures": [entry]})
        view = next(v for v in catalog.list_signatures(session=session) if v.slug == "mist")
    assert view.preview_sha256 is None
    assert signatures.swatch_gradient(view.palette) == "#102030"


@pytest.mark.parametrize(
    ("file", "content", "path", "message"),
    [
        ("evil.svg", SVG, "evil.svg", "evil.svg is not a PNG, JPEG or WebP image"),
        ("big.png", PNG + b"\x00" * 600_000, "big.png", "a preview image may be at most 512 KB"),
        (None, None, "missing.png", "missing.png does not exist"),
        (None, None, "../outside.png", "must be a path inside the catalog file's folder"),
        (None, None, "/etc/passwd", "must be a path inside the catalog file's folder"),
    ],
)
def test_a_bad_preview_is_refused_naming_the_entry_and_nothing_is_written(
    world, tmp_path: Path, file, content, path, message
) -> None:
    if file:
        (tmp_path / file).write_bytes(content)
    entry = {"slug": "mist", "name": "Mist", "style_prompt": "mist", "preview_image": path}
    with pytest.raises(CatalogError) as caught, admin_session_scope(world["db"]) as session:
        import_catalog(session=session, data={"signatures": [entry]}, base_dir=tmp_path)
    assert "signatures[0] (slug 'mist'): field 'preview_image'" in str(caught.value)
    assert message in str(caught.value)
    with admin_session_scope(world["db"]) as session:
        assert "mist" not in {v.slug for v in catalog.list_signatures(session=session)}


def test_a_palette_must_be_hex_colours(world) -> None:
    entry = {"slug": "mist", "name": "Mist", "style_prompt": "mist", "palette": ["red"]}
    with (
        pytest.raises(CatalogError, match="'red', which is not a #rrggbb colour"),
        admin_session_scope(world["db"]) as session,
    ):
        import_catalog(session=session, data={"signatures": [entry]})


def test_the_cli_reads_preview_paths_relative_to_the_catalog_file(world, tmp_path) -> None:
    (tmp_path / "mist.png").write_bytes(PNG)
    path = _catalog_file(
        tmp_path, {"slug": "mist", "name": "Mist", "style_prompt": "m", "preview_image": "mist.png"}
    )
    env = {**os.environ, "DATABASE_URL": world["db"]}
    result = subprocess.run(
        [sys.executable, "-m", "promptgen", "catalog", "import", str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd="/",  # not the catalog's folder: the path is resolved from the file
        check=False,
    )
    assert result.returncode == 0, result.stderr
    with admin_session_scope(world["db"]) as session:
        row = session.exec(select(VisualSignature).where(VisualSignature.slug == "mist")).one()
    assert row.preview_image == PNG and row.preview_mime_type == "image/png"


# --- favourites ---------------------------------------------------------------------


def test_favourites_are_per_user_and_toggle(world) -> None:
    noir = world["signatures"]["cinematic-noir"]
    with user_session_scope(world["user_id"], world["db"]) as session:
        assert signatures.set_favorite(
            session=session, user_id=world["user_id"], signature_id=noir, favorite=True
        ) == {noir}
        # Twice is still once.
        signatures.set_favorite(
            session=session, user_id=world["user_id"], signature_id=noir, favorite=True
        )
        assert signatures.favorite_ids(session=session, user_id=world["user_id"]) == {noir}
        assert (
            signatures.set_favorite(
                session=session, user_id=world["user_id"], signature_id=noir, favorite=False
            )
            == set()
        )
        # An unknown signature is not starred.
        assert (
            signatures.set_favorite(
                session=session, user_id=world["user_id"], signature_id=99_999, favorite=True
            )
            == set()
        )


# --- drafts -------------------------------------------------------------------------


def _save(world, blueprint: str, values: dict, choices=()) -> bool:
    with user_session_scope(world["user_id"], world["db"]) as session:
        return drafts.save_draft(
            session=session,
            user_id=world["user_id"],
            blueprint_id=world["blueprints"][blueprint],
            values=values,
            signatures=tuple(choices),
        )


def _load(world, blueprint: str) -> drafts.Draft | None:
    with user_session_scope(world["user_id"], world["db"]) as session:
        return drafts.load_draft(
            session=session, user_id=world["user_id"], blueprint_id=world["blueprints"][blueprint]
        )


def test_a_draft_keeps_form_values_per_blueprint_and_drops_unknown_fields(world) -> None:
    noir = world["signatures"]["cinematic-noir"]
    assert _save(
        world,
        "product-photo",
        {"product": "a lamp", "props": ["plants"], "soft_shadows": True, "api_key": "sk-x"},
        [SignatureChoice(noir, 7)],
    )
    assert _save(world, "code-review", {"code": "print(1)"}, [SignatureChoice(noir, 7)])
    draft = _load(world, "product-photo")
    assert draft.values == {"product": "a lamp", "props": ["plants"], "soft_shadows": True}
    assert draft.signatures == (SignatureChoice(noir, 7),)
    review = _load(world, "code-review")
    assert review.values == {"code": "print(1)"}
    assert review.signatures == ()  # a code review takes no signature, even in a draft
    # Saving again replaces it.
    _save(world, "product-photo", {"product": "a kettle"})
    assert _load(world, "product-photo").values == {"product": "a kettle"}
    with user_session_scope(world["user_id"], world["db"]) as session:
        ids = drafts.drafted_blueprint_ids(session=session, user_id=world["user_id"])
    assert ids == [world["blueprints"]["product-photo"], world["blueprints"]["code-review"]]


def test_a_draft_past_the_size_limit_is_refused_and_the_old_one_kept(world) -> None:
    _save(world, "blog-outline", {"topic": "kept"})
    with admin_session_scope(world["db"]) as session:
        schema = session.get(SupportedTemplate, world["blueprints"]["blog-outline"])
        names = [n for n in schema.parameter_schema["properties"]]
    huge = {name: "x" * 19_000 for name in names}
    if len(names) * 19_000 <= drafts.MAX_DRAFT_BYTES:
        pytest.skip("the blueprint has too few fields to go past the limit")
    with pytest.raises(drafts.DraftTooLarge, match="over the 64 KB a draft may keep"):
        _save(world, "blog-outline", huge)
    assert _load(world, "blog-outline").values == {"topic": "kept"}


def test_a_successful_generation_removes_the_draft_and_a_failed_one_keeps_it(world) -> None:
    _save(world, "product-photo", {"product": ""})
    with pytest.raises(GenerationError):  # the required product is empty
        _generate(world, "product-photo", {"product": ""})
    assert _load(world, "product-photo") is not None
    _save(world, "code-review", {"code": "x"})
    _generate(world, "product-photo", {"product": "a lamp"})
    assert _load(world, "product-photo") is None
    assert _load(world, "code-review") is not None  # other blueprints' drafts stay


def test_clear_removes_only_that_draft(world) -> None:
    _save(world, "product-photo", {"product": "a lamp"})
    _save(world, "portrait", {"subject": "a chef"})
    with user_session_scope(world["user_id"], world["db"]) as session:
        drafts.clear_draft(
            session=session,
            user_id=world["user_id"],
            blueprint_id=world["blueprints"]["product-photo"],
        )
    assert _load(world, "product-photo") is None
    with admin_session_scope(world["db"]) as session:
        assert len(session.exec(select(FormDraft)).all()) == 1


@pytest.mark.parametrize(("category", "has_clause"), [("Image", True), ("Writing", False)])
def test_a_users_own_blueprint_takes_signatures_only_as_an_image_one(
    world, category: str, has_clause: bool
) -> None:
    with user_session_scope(world["user_id"], world["db"]) as session:
        detail = user_blueprints.create_blueprint(
            session=session,
            user_id=world["user_id"],
            draft=user_blueprints.BlueprintDraft(
                name="Mine",
                category=category,
                prompt_template="About {{ topic }}.",
                parameter_schema={
                    "type": "object",
                    "properties": {"topic": {"type": "string", "title": "Topic"}},
                },
            ),
        )
    request = GenerationRequest(
        blueprint_id=0,
        blueprint_ref=user_blueprints.user_reference(detail.id),
        model_id=world["offline"],
        parameters={"topic": "rain"},
        signatures=(SignatureChoice(world["signatures"]["golden-hour"]),),
    )
    result = asyncio.run(generation.run_generation(user_id=world["user_id"], request=request))
    assert ("Visual signature — Golden Hour" in result.compiled_prompt) is has_clause
    # Catalog blueprints by reference follow their own flag.
    request = GenerationRequest(
        blueprint_id=0,
        blueprint_ref=user_blueprints.catalog_reference("code-review"),
        model_id=world["offline"],
        parameters={"language": "Python", "code": "x = 1"},
        signatures=(SignatureChoice(world["signatures"]["golden-hour"]),),
    )
    result = asyncio.run(generation.run_generation(user_id=world["user_id"], request=request))
    assert "Visual signature" not in result.compiled_prompt
