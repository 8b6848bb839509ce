"""Seeding and importing the catalog, on SQLite and PostgreSQL, through services and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import func, select

from promptgen.catalog import CatalogError, default_catalog, import_catalog, seed_catalog
from promptgen.db import admin_session_scope
from promptgen.models import SubscriptionTier, SupportedAIModel, SupportedTemplate, VisualSignature
from promptgen.services import catalog as catalog_service

NEW_BLUEPRINT = {
    "slug": "haiku",
    "name": "Haiku",
    "category": "Writing",
    "description": "A three-line poem.",
    "prompt_template": "Write a haiku about {{ subject }}.",
    "parameter_schema": {
        "type": "object",
        "required": ["subject"],
        "properties": {"subject": {"type": "string", "title": "Subject"}},
    },
}


def _counts(url: str) -> dict[str, int]:
    with admin_session_scope(url) as session:
        return {
            table.__tablename__: session.exec(select(func.count()).select_from(table)).one()
            for table in (SubscriptionTier, SupportedTemplate, VisualSignature, SupportedAIModel)
        }


def _snapshot(url: str) -> list[tuple]:
    with admin_session_scope(url) as session:
        rows = []
        for table in (SubscriptionTier, SupportedTemplate, VisualSignature, SupportedAIModel):
            for row in session.exec(select(table).order_by(table.slug)).all():
                rows.append(tuple(sorted(row.model_dump().items(), key=lambda kv: kv[0])))
        return rows


def test_seed_loads_the_default_catalog_and_running_it_twice_changes_nothing(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        first = seed_catalog(session=session)
    assert first.changed
    counts = _counts(db_url)
    assert counts["subscription_tiers"] >= 3
    assert counts["supported_templates"] >= 6
    assert counts["visual_signatures"] >= 8
    assert counts["supported_ai_models"] == 5
    before = _snapshot(db_url)

    with admin_session_scope(db_url) as session:
        second = seed_catalog(session=session)
    assert not second.changed
    assert "0 created, 0 updated" in second.summary()
    assert _snapshot(db_url) == before

    with admin_session_scope(db_url) as session:
        providers = sorted(m.provider for m in catalog_service.list_models(session=session))
        free_models = catalog_service.list_models(session=session, tier_slug="free")
        tiers = [t.slug for t in catalog_service.list_tiers(session=session)]
    assert providers == ["gemini", "gemini", "offline", "openai", "openai"]
    assert "Gemini 2.5 Pro" not in {m.display_name for m in free_models}
    assert free_models[0].display_name == "Blueprint compiler (offline)"
    assert tiers == ["free", "pro", "studio"]


def test_seed_keeps_stripe_price_ids_set_by_an_operator(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        import_catalog(
            session=session,
            data={"tiers": [{**default_catalog()["tiers"][1], "stripe_price_monthly_id": "p_1"}]},
        )
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
    with admin_session_scope(db_url) as session:
        assert (
            catalog_service.get_tier_by_slug(session=session, slug="pro").stripe_price_monthly_id
            == "p_1"
        )


def test_import_creates_new_entries_and_updates_existing_ones_by_slug(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
    changed_signature = {**default_catalog()["signatures"][0], "name": "Noir, Revisited"}
    with admin_session_scope(db_url) as session:
        report = import_catalog(
            session=session, data={"blueprints": [NEW_BLUEPRINT], "signatures": [changed_signature]}
        )
    assert report.created == {"blueprints": ["haiku"]}
    assert report.updated == {"signatures": [changed_signature["slug"]]}
    with admin_session_scope(db_url) as session:
        names = [b.name for b in catalog_service.list_blueprints(session=session)]
        signatures = [s.name for s in catalog_service.list_signatures(session=session)]
    assert "Haiku" in names
    assert "Noir, Revisited" in signatures


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "blueprints": [
                    NEW_BLUEPRINT,
                    {**NEW_BLUEPRINT, "slug": "bad", "prompt_template": "{{ nope }}"},
                ]
            },
            "blueprints[1] (slug 'bad'): field 'parameter_schema' the prompt text uses nope",
        ),
        (
            {
                "blueprints": [
                    NEW_BLUEPRINT,
                    {
                        **NEW_BLUEPRINT,
                        "slug": "bad-type",
                        "parameter_schema": {
                            "type": "object",
                            "properties": {"subject": {"type": "strin"}},
                        },
                    },
                ]
            },
            "blueprints[1] (slug 'bad-type'): field 'parameter_schema' not valid JSON Schema",
        ),
        (
            {"blueprints": [{**NEW_BLUEPRINT, "colour": "red"}]},
            "blueprints[0] (slug 'haiku'): field 'colour' is not a known field",
        ),
        (
            {"tiers": [{"slug": "gold", "name": "Gold", "retention_days": 30}]},
            "tiers[0] (slug 'gold'): field 'monthly_quota' is required",
        ),
        (
            {"models": [{"slug": "m", "provider": "acme", "model_name": "m", "display_name": "M"}]},
            "models[0] (slug 'm'): field 'provider' Input should be 'gemini'",
        ),
        (
            {
                "models": [
                    {
                        "slug": "m",
                        "provider": "openai",
                        "model_name": "m",
                        "display_name": "M",
                        "allowed_tiers": ["platinum"],
                    }
                ]
            },
            "models[0] (slug 'm'): field 'allowed_tiers' names unknown tier 'platinum'",
        ),
        (
            {"blueprints": [NEW_BLUEPRINT, NEW_BLUEPRINT]},
            "blueprints[1] (slug 'haiku'): field 'slug' repeats an earlier entry",
        ),
        ({"plans": []}, "plans: is not a known field"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_a_bad_file_names_the_entry_and_field_and_writes_nothing(
    db_url: str, data: object, message: str
) -> None:
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
    before = _snapshot(db_url)
    with pytest.raises(CatalogError) as caught, admin_session_scope(db_url) as session:
        import_catalog(session=session, data=data)
    assert message in str(caught.value)
    assert _snapshot(db_url) == before


def _cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "promptgen", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_cli_seeds_and_imports(db_url: str, tmp_path: Path) -> None:
    seeded = _cli("seed", url=db_url)
    assert seeded.returncode == 0, seeded.stderr
    assert "blueprints: 6 created" in seeded.stdout

    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps({"blueprints": [NEW_BLUEPRINT, {**NEW_BLUEPRINT, "slug": "x", "name": ""}]})
    )
    refused = _cli("catalog", "import", str(bad), url=db_url)
    assert refused.returncode == 1
    assert "blueprints[1] (slug 'x'): field 'name'" in refused.stderr
    assert "Nothing was written." in refused.stderr
    assert _counts(db_url)["supported_templates"] == 6

    broken = tmp_path / "broken.json"
    broken.write_text('{"blueprints": [')
    assert "is not valid JSON" in _cli("catalog", "import", str(broken), url=db_url).stderr

    good = tmp_path / "good.json"
    good.write_text(json.dumps({"blueprints": [NEW_BLUEPRINT]}))
    imported = _cli("catalog", "import", str(good), url=db_url)
    assert imported.returncode == 0, imported.stderr
    assert "blueprints: 1 created" in imported.stdout
    assert _counts(db_url)["supported_templates"] == 7
