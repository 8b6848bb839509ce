"""Seeding and importing the catalog, on SQLite and PostgreSQL, through services and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import func, select

from promptgen.db import admin_session_scope
from promptgen.models import SubscriptionTier, SupportedAIModel, SupportedTemplate, VisualSignature
from promptgen.services import catalog as catalog_service
from promptgen.services.catalog_import import (
    INT32_MAX,
    MAX_CATALOG_BYTES,
    CatalogError,
    default_catalog,
    default_catalog_dir,
    import_catalog,
    seed_catalog,
)

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


RANGE_BOMB = "{% for i in range(10**9) %}{{ subject }}{% endfor %}"
NEW_TIER = {"slug": "gold", "name": "Gold", "monthly_quota": 100, "retention_days": 30}
NEW_SIGNATURE = {"slug": "mist", "name": "Mist", "style_prompt": "soft morning mist"}


def _with_template(template: str, slug: str = "bomb") -> dict:
    return {**NEW_BLUEPRINT, "slug": slug, "prompt_template": template}


def _with_schema_title(title: object) -> dict:
    schema = {
        "type": "object",
        "required": ["subject"],
        "properties": {"subject": {"type": "string", "title": title}},
    }
    return {**NEW_BLUEPRINT, "slug": "odd", "parameter_schema": schema}


def _nested(depth: int) -> object:
    value: object = []
    for _ in range(depth):
        value = [value]
    return value


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
            session=session,
            data={"blueprints": [NEW_BLUEPRINT], "signatures": [changed_signature]},
            base_dir=default_catalog_dir(),  # its preview image sits beside the default catalog
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
        # What PostgreSQL cannot store: NUL in text and JSON, integers past INTEGER.
        (
            {"blueprints": [NEW_BLUEPRINT, {**NEW_BLUEPRINT, "slug": "x", "name": "Ha\x00iku"}]},
            "blueprints[1] (slug 'x'): field 'name' contains a NUL character",
        ),
        (
            {"blueprints": [_with_schema_title("Sub\x00ject")]},
            "blueprints[0] (slug 'odd'): field 'parameter_schema.properties.subject.title' "
            "contains a NUL character",
        ),
        (
            {"signatures": [{**NEW_SIGNATURE, "style_prompt": "mist \ud800"}]},
            "signatures[0] (slug 'mist'): field 'style_prompt' contains an unpaired surrogate",
        ),
        (
            {"tiers": [{**NEW_TIER, "monthly_quota": INT32_MAX + 1}]},
            "tiers[0] (slug 'gold'): field 'monthly_quota' Input should be less than or equal "
            "to 2147483647",
        ),
        (
            {"tiers": [{**NEW_TIER, "price_yearly_cents": 10**12}]},
            "tiers[0] (slug 'gold'): field 'price_yearly_cents' Input should be less than",
        ),
        (
            {"signatures": [{**NEW_SIGNATURE, "sort_order": -(2**31) - 1}]},
            "signatures[0] (slug 'mist'): field 'sort_order' Input should be greater than",
        ),
        (
            {"tiers": [{**NEW_TIER, "retention_days": 10**7}]},
            "tiers[0] (slug 'gold'): field 'retention_days' Input should be less than or equal "
            "to 36500",
        ),
        (
            {"tiers": [{**NEW_TIER, "monthly_quota": 10**30}]},
            "tiers[0] (slug 'gold'): field 'monthly_quota' is 1000000000000000000000000000000, "
            "too large",
        ),
        (
            {
                "models": [
                    {
                        "slug": "m",
                        "provider": "openai",
                        "model_name": "m",
                        "display_name": "M",
                        "sort_order": float("nan"),
                    }
                ]
            },
            "models[0] (slug 'm'): field 'sort_order' is nan; numbers must be finite",
        ),
        (
            {"blueprints": [_with_schema_title(_nested(40))]},
            "blueprints[0] (slug 'odd'): field 'parameter_schema.properties.subject.title.0.0",
        ),
        ({"tiers\x00": []}, "the catalog has a key 'tiers\\x00' that contains a NUL character"),
        (
            {"signatures": [{**NEW_SIGNATURE, "description": b"bytes"}]},
            "signatures[0] (slug 'mist'): field 'description' is of type bytes",
        ),
        (
            {
                "signatures": [
                    {**NEW_SIGNATURE, "description": "x" * 15_000, "slug": f"s{i}"}
                    for i in range(MAX_CATALOG_BYTES // 15_000 + 1)
                ]
            },
            "the catalog is larger than 5 MB",
        ),
        # Templates that fail the test render, so never reach a user's generation.
        (
            {"blueprints": [NEW_BLUEPRINT, _with_template("{{ subject.__class__.__mro__ }}")]},
            "blueprints[1] (slug 'bomb'): field 'prompt_template' fails a test render with "
            "sample values: the prompt text cannot be rendered: access to attribute '__class__'",
        ),
        (
            {"blueprints": [_with_template(RANGE_BOMB)]},
            "field 'prompt_template' fails a test render with sample values: the prompt text "
            "cannot be rendered: Range too big",
        ),
        (
            {"blueprints": [_with_template("{{ subject }}{{ 'x' * 10**9 }}")]},
            "field 'prompt_template' fails a test render with sample values: the prompt text "
            "repeats a value to more than the 200,000 characters allowed",
        ),
        (
            {"blueprints": [_with_template("{{ range(10**8)|list }}{{ subject }}")]},
            "Range too big",
        ),
        (
            {
                "blueprints": [
                    _with_template(
                        "{{ subject }}{% for i in range(100000) %}{% for j in range(100000) %}"
                        "{% endfor %}{% endfor %}"
                    )
                ]
            },
            "the prompt text runs more than 200,000 steps",
        ),
        (
            {
                "blueprints": [
                    {
                        **_with_template("{{ subject }}: {{ extra.upper()[0] }}"),
                        "parameter_schema": {
                            "type": "object",
                            "required": ["subject"],
                            "properties": {
                                "subject": {"type": "string"},
                                "extra": {"type": "string"},
                            },
                        },
                    }
                ]
            },
            "fails a test render with optional fields left blank",
        ),
        (
            {"blueprints": [_with_template("{{ subject }}" + "{{ subject }}" * 4_000)]},
            "field 'prompt_template' String should have at most 50000 characters",
        ),
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


def test_a_refused_import_keeps_what_an_earlier_import_wrote(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        import_catalog(session=session, data={"tiers": [NEW_TIER], "blueprints": [NEW_BLUEPRINT]})
    before = _snapshot(db_url)
    changed = {**NEW_BLUEPRINT, "name": "Haiku, changed"}
    bomb = _with_template(RANGE_BOMB)
    with pytest.raises(CatalogError), admin_session_scope(db_url) as session:
        import_catalog(
            session=session,
            data={"tiers": [{**NEW_TIER, "monthly_quota": 5}], "blueprints": [changed, bomb]},
        )
    assert _snapshot(db_url) == before


def test_values_at_the_column_limits_are_stored(db_url: str) -> None:
    # The bounds are the columns' own: the largest accepted values round-trip.
    tier = {
        **NEW_TIER,
        "monthly_quota": INT32_MAX,
        "price_yearly_cents": INT32_MAX,
        "retention_days": 36_500,
        "sort_order": -(2**31),
    }
    with admin_session_scope(db_url) as session:
        report = import_catalog(session=session, data={"tiers": [tier]})
    assert report.created == {"tiers": ["gold"]}
    with admin_session_scope(db_url) as session:
        stored = session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == "gold")).one()
    assert (stored.monthly_quota, stored.price_yearly_cents, stored.sort_order) == (
        INT32_MAX,
        INT32_MAX,
        -(2**31),
    )


def _json_bytes(data: object) -> bytes:
    return json.dumps(data, indent=1).encode()


@pytest.mark.parametrize(
    ("content", "exit_code", "message"),
    [
        pytest.param(
            b'{"signatures": [\n {"slug": "s", "name": "Caf\xe9", "style_prompt": "x"}]}',
            2,
            "is not UTF-8 text: byte 0xe9 at offset 44 (line 2)",
            id="latin-1",
        ),
        pytest.param(
            _json_bytes({"signatures": [{**NEW_SIGNATURE, "style_prompt": "mist\u0000"}]}),
            1,
            "signatures[0] (slug 'mist'): field 'style_prompt' contains a NUL character",
            id="nul-escape",
        ),
        pytest.param(
            b'{"signatures": [{"slug": "s", "name": "S", "style_prompt": "a\x00b"}]}',
            2,
            "is not valid JSON (line 1: Invalid control character",
            id="nul-byte",
        ),
        pytest.param(
            b"{}" + b" " * (MAX_CATALOG_BYTES - 1),
            2,
            "is larger than 5 MB",
            id="oversized",
        ),
        pytest.param(
            _json_bytes({"tiers": [{**NEW_TIER, "monthly_quota": 99_999_999_999}]}),
            1,
            "tiers[0] (slug 'gold'): field 'monthly_quota' Input should be less than or equal "
            "to 2147483647",
            id="int-past-column",
        ),
        pytest.param(
            b'{"tiers": [{"slug": "gold", "name": "G", "retention_days": 3, "monthly_quota": '
            + b"9" * 5000
            + b"}]}",
            1,
            "tiers[0] (slug 'gold'): field 'monthly_quota' is a 5,000-digit number",
            id="int-past-python",
        ),
        pytest.param(
            _json_bytes({"blueprints": [NEW_BLUEPRINT, _with_template(RANGE_BOMB)]}),
            1,
            "blueprints[1] (slug 'bomb'): field 'prompt_template' fails a test render with "
            "sample values: the prompt text cannot be rendered: Range too big",
            id="range-bomb",
        ),
        pytest.param(
            b'{"blueprints": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            2,
            "is nested too deeply to read",
            id="nested-past-the-parser",
        ),
    ],
)
def test_the_cli_refuses_a_bad_file_clearly_and_writes_nothing(
    db_url: str, tmp_path: Path, content: bytes, exit_code: int, message: str
) -> None:
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
    before = _snapshot(db_url)
    path = tmp_path / "catalog.json"
    path.write_bytes(content)
    refused = _cli("catalog", "import", str(path), url=db_url)
    assert refused.returncode == exit_code, refused.stderr
    assert message in refused.stderr
    assert "Nothing was written." in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _snapshot(db_url) == before


def test_the_cli_accepts_a_file_just_under_the_size_limit(db_url: str, tmp_path: Path) -> None:
    text = json.dumps({"blueprints": [NEW_BLUEPRINT]})
    path = tmp_path / "catalog.json"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode() + b" " * (MAX_CATALOG_BYTES - len(text) - 3))
    assert path.stat().st_size == MAX_CATALOG_BYTES
    imported = _cli("catalog", "import", str(path), url=db_url)
    assert imported.returncode == 0, imported.stderr
    assert "blueprints: 1 created" in imported.stdout


def test_the_cli_reports_a_database_error_in_one_line(tmp_path: Path) -> None:
    # An unmigrated database: whatever validation cannot foresee gets one line, no traceback.
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"blueprints": [NEW_BLUEPRINT]}))
    refused = _cli("catalog", "import", str(path), url=f"sqlite:///{tmp_path / 'empty.db'}")
    assert refused.returncode == 1
    assert "error: the database refused the import: no such table" in refused.stderr
    assert "Nothing was written." in refused.stderr
    assert "Traceback" not in refused.stderr
