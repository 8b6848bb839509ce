"""Users' own blueprints on SQLite and PostgreSQL, through the service and in user sessions:
validation naming the field, versions, restore, duplicate, delete, and generating with one
(quota and refund rules as for the catalog; history records the version used). The raw-SQL
row-level-security checks of the new tables are at the end (PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg.errors
import pytest
import sqlalchemy as sa
from sqlmodel import select

from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import (
    SupportedAIModel,
    UserBlueprint,
    UserBlueprintVersion,
    UserPrompt,
    UserSubscription,
)
from promptgen.services import generation, user_blueprints
from promptgen.services.blueprint_builder import BuilderField, fields_from_schema
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.generation import GenerationError, GenerationRequest
from promptgen.services.user_blueprints import (
    BlueprintConflict,
    BlueprintDraft,
    BlueprintInvalid,
    BlueprintNotFound,
)
from promptgen.settings import Settings
from tests.support.factories import make_user
from tests.support.fake_providers import DEFAULT_KEY, FakeOpenAI

TEMPLATE = "Paint {{ subject }} in {{ colour }}.{% if framed %} Framed.{% endif %}"


def _fields() -> list[BuilderField]:
    return [
        BuilderField(name="subject", label="Subject", kind="text", required=True),
        BuilderField(name="colour", label="Colour", kind="select", options="red\nblue | Deep blue"),
        BuilderField(name="framed", label="Framed", kind="boolean", default="true"),
    ]


def _draft(**changes) -> BlueprintDraft:
    return user_blueprints.draft_from_builder(
        name=changes.pop("name", "Painting"),
        fields=changes.pop("fields", _fields()),
        prompt_template=changes.pop("prompt_template", TEMPLATE),
        **changes,
    )


@pytest.fixture
def people(db_url: str) -> Iterator[dict]:
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        alice = make_user(session, "alice@example.com").user_id
        bob = make_user(session, "bob@example.com").user_id
    yield {"db": db_url, "alice": alice, "bob": bob}


def _as(people, who: str):
    return user_session_scope(people[who], people["db"])


def _create(people, who: str = "alice", **changes) -> user_blueprints.UserBlueprintDetail:
    with _as(people, who) as session:
        return user_blueprints.create_blueprint(
            session=session, user_id=people[who], draft=_draft(**changes), note="first"
        )


# --- validation: every problem names its field -------------------------------------------


def _problems(**changes) -> list[str]:
    with pytest.raises(BlueprintInvalid) as caught:
        _draft(**changes)
    return [str(p) for p in caught.value.problems]


def test_builder_problems_name_the_field_by_position() -> None:
    fields = _fields()
    fields[2] = BuilderField(name="framed", label="", kind="boolean")
    fields.append(BuilderField(name="subject", label="Again", kind="text"))
    fields.append(
        BuilderField(name="size", label="Size", kind="integer", minimum="10", maximum="2")
    )
    fields.append(BuilderField(name="tone", label="Tone", kind="select", options=""))
    problems = _problems(fields=fields)
    assert "fields[2].label: required" in problems
    assert "fields[3].name: 'subject' is already used by fields[0]" in problems
    assert "fields[4].maximum: must be at least the minimum (10)" in problems
    assert "fields[5].options: add at least one choice, one per line" in problems


def test_template_problems_name_the_template_and_the_variable() -> None:
    assert _problems(prompt_template="Paint {{ subject }} in {{ colour }} with {{ brush }}.") == [
        "template: unknown variable {{ brush }}"
    ]
    [syntax] = _problems(prompt_template="Paint {{ subject ")
    assert syntax.startswith("template: the prompt text has a template error on line 1")
    # The sandbox's test render, as at catalog import: a loop past the limits is refused.
    [bomb] = _problems(prompt_template="{% for i in range(10**9) %}{{ subject }}{% endfor %}")
    assert bomb.startswith("template: fails a test render with sample values")
    [blank] = _problems(prompt_template="   ")
    assert blank.startswith("template: required")


def test_size_limits_and_storable_text_name_the_part() -> None:
    assert _problems(name="x" * 121) == ["name: String should have at most 120 characters"]
    [nul] = _problems(description="bad \x00 byte")
    assert nul.startswith("description: ") and "NUL" in nul
    [huge] = _problems(prompt_template="{{ subject }}" + "x" * 50_001)
    assert huge.startswith("template: ") and "50,000" in huge


def test_a_raw_schema_names_the_problem_by_its_path() -> None:
    draft = BlueprintDraft(
        name="Raw",
        prompt_template="{{ n }}",
        parameter_schema={
            "type": "object",
            "properties": {"n": {"type": "integer", "minimum": 1, "default": 0}},
        },
    )
    with pytest.raises(BlueprintInvalid) as caught:
        user_blueprints.check_draft(draft)
    assert str(caught.value).startswith("parameter_schema.properties.n.default: ")


def test_the_builder_round_trips_a_catalog_schema_keeping_what_it_does_not_edit() -> None:
    from promptgen.services.blueprint_builder import schema_from_fields
    from promptgen.services.catalog_import import default_catalog

    for entry in default_catalog()["blueprints"]:
        schema = entry["parameter_schema"]
        rebuilt, problems = schema_from_fields(fields_from_schema(schema))
        assert problems == [], entry["slug"]
        for name, prop in schema["properties"].items():
            for key, value in prop.items():
                if key != "items":
                    assert rebuilt["properties"][name][key] == value, (entry["slug"], name, key)
        assert set(rebuilt["required"]) == set(schema.get("required", []))


# --- versions ----------------------------------------------------------------------------


def test_every_save_is_a_version_and_restore_appends_one(people) -> None:
    first = _create(people)
    assert first.version == 1 and first.note == "first"
    with _as(people, "alice") as session:
        second = user_blueprints.save_version(
            session=session,
            user_id=people["alice"],
            blueprint_id=first.id,
            draft=_draft(prompt_template="Draw {{ subject }}, {{ colour }}."),
            note="shorter",
            expected_version=1,
        )
    assert second.version == 2 and second.prompt_template == "Draw {{ subject }}, {{ colour }}."
    with _as(people, "alice") as session:
        restored = user_blueprints.restore_version(
            session=session, user_id=people["alice"], blueprint_id=first.id, version=1
        )
        versions = user_blueprints.list_versions(
            session=session, user_id=people["alice"], blueprint_id=first.id
        )
        newest = user_blueprints.get_blueprint(
            session=session, user_id=people["alice"], blueprint_id=first.id
        )
        old = user_blueprints.get_blueprint(
            session=session, user_id=people["alice"], blueprint_id=first.id, version=2
        )
    assert restored.version == 3 and restored.restored_from == 1
    assert restored.prompt_template == TEMPLATE
    assert [(v.version, v.note, v.restored_from) for v in versions] == [
        (3, "Restored version 1", 1),
        (2, "shorter", None),
        (1, "first", None),
    ]
    assert newest.version == 3 and newest.current_version == 3
    assert old.prompt_template.startswith("Draw")  # older versions are kept as they were


def test_concurrent_saves_get_consecutive_versions(pg_url: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with admin_session_scope(pg_url) as session:
        seed_catalog(session=session)
        alice = make_user(session, "alice@example.com").user_id
    people = {"db": pg_url, "alice": alice}
    first = _create(people)

    def save(number: int) -> int:
        with _as(people, "alice") as session:
            return user_blueprints.save_version(
                session=session,
                user_id=alice,
                blueprint_id=first.id,
                draft=_draft(name=f"Save {number}"),
            ).version

    with ThreadPoolExecutor(max_workers=8) as pool:
        versions = sorted(pool.map(save, range(8)))
    assert versions == list(range(2, 10))
    with _as(people, "alice") as session:
        [detail] = user_blueprints.list_blueprint_details(session=session, user_id=alice)
    assert detail.version == detail.current_version == 9
    assert detail.parameter_schema == first.parameter_schema


def test_a_save_from_a_stale_editor_is_refused_and_changes_nothing(people) -> None:
    first = _create(people)
    with _as(people, "alice") as session:
        user_blueprints.save_version(
            session=session,
            user_id=people["alice"],
            blueprint_id=first.id,
            draft=_draft(name="Tab one"),
            expected_version=1,
        )
    with pytest.raises(BlueprintConflict) as caught, _as(people, "alice") as session:
        user_blueprints.save_version(
            session=session,
            user_id=people["alice"],
            blueprint_id=first.id,
            draft=_draft(name="Tab two"),
            expected_version=1,
        )
    assert caught.value.current_version == 2
    with _as(people, "alice") as session:
        [summary] = user_blueprints.list_blueprints(session=session, user_id=people["alice"])
    assert (summary.name, summary.current_version) == ("Tab one", 2)


def test_duplicate_own_and_catalog_blueprints(people) -> None:
    first = _create(people)
    with _as(people, "alice") as session:
        copy = user_blueprints.duplicate_blueprint(
            session=session, user_id=people["alice"], blueprint_id=first.id
        )
        from_catalog = user_blueprints.duplicate_catalog_blueprint(
            session=session, user_id=people["alice"], slug="portrait"
        )
        listed = user_blueprints.list_blueprints(session=session, user_id=people["alice"])
    names = {b.name for b in listed}
    assert copy.id != first.id and copy.version == 1 and copy.source == first.reference
    assert copy.parameter_schema == first.parameter_schema
    assert from_catalog.source == "catalog:portrait" and from_catalog.name == "Portrait (copy)"
    assert names == {"Painting", "Painting (copy)", "Portrait (copy)"}


def test_another_users_blueprint_is_not_found_for_any_operation(people) -> None:
    first = _create(people)
    bob = people["bob"]
    with _as(people, "bob") as session:
        assert user_blueprints.list_blueprints(session=session, user_id=bob) == []
        found = user_blueprints.get_blueprint(session=session, user_id=bob, blueprint_id=first.id)
        assert found is None
        assert not user_blueprints.list_versions(
            session=session, user_id=bob, blueprint_id=first.id
        )
        assert (
            user_blueprints.resolve_blueprint(
                session=session, user_id=bob, reference=f"user:{first.id}"
            )
            is None
        )
        assert not user_blueprints.delete_blueprint(
            session=session, user_id=bob, blueprint_id=first.id
        )
        for action in (
            lambda: user_blueprints.save_version(
                session=session, user_id=bob, blueprint_id=first.id, draft=_draft()
            ),
            lambda: user_blueprints.restore_version(
                session=session, user_id=bob, blueprint_id=first.id, version=1
            ),
            lambda: user_blueprints.duplicate_blueprint(
                session=session, user_id=bob, blueprint_id=first.id
            ),
        ):
            with pytest.raises(BlueprintNotFound):
                action()
    with _as(people, "alice") as session:
        detail = user_blueprints.get_blueprint(
            session=session, user_id=people["alice"], blueprint_id=first.id
        )
    assert detail is not None and detail.version == 1 and detail.name == "Painting"


def test_references_resolve_catalog_and_own_versions(people) -> None:
    first = _create(people)
    with _as(people, "alice") as session:
        user_blueprints.save_version(
            session=session, user_id=people["alice"], blueprint_id=first.id, draft=_draft(name="V2")
        )
        resolve = lambda ref: user_blueprints.resolve_blueprint(  # noqa: E731
            session=session, user_id=people["alice"], reference=ref
        )
        assert resolve(f"user:{first.id}").version == 2
        assert resolve(f"user:{first.id}@1").name == "Painting"
        assert resolve(f"user:{first.id}@9") is None
        catalog = resolve("catalog:portrait")
        assert catalog.catalog_id and catalog.version_id is None and not catalog.is_own
        for junk in ("catalog:nope", "user:not-a-uuid", "user:", "portrait", f"user:{first.id}@0"):
            assert resolve(junk) is None


# --- generating with a user blueprint ----------------------------------------------------


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def _models(db: str) -> dict[str, int]:
    with admin_session_scope(db) as session:
        return {m.slug: m.id for m in session.exec(select(SupportedAIModel)).all()}


def _usage(people) -> int:
    with admin_session_scope(people["db"]) as session:
        return session.exec(
            select(UserSubscription.usage_count).where(UserSubscription.user_id == people["alice"])
        ).one()


async def test_generating_with_a_user_blueprint_records_its_version(people, fake_openai) -> None:
    fake_openai.reset()
    first = _create(people)
    models = _models(people["db"])
    settings = Settings(
        openai_api_key=DEFAULT_KEY,
        openai_base_url=fake_openai.url + "/v1",
        provider_timeout_seconds=10,
    )
    request = GenerationRequest(
        blueprint_id=0,
        blueprint_ref=f"user:{first.id}",
        model_id=models["blueprint-compiler"],
        parameters={"subject": "a heron", "colour": "blue"},
    )
    result = await generation.run_generation(
        user_id=people["alice"], request=request, settings=settings
    )
    assert "Paint a heron in blue. Framed." in result.output
    # The platform key: one unit, refunded when the call fails.
    request_ai = GenerationRequest(
        blueprint_id=0,
        blueprint_ref=f"user:{first.id}",
        model_id=models["gpt-4.1-mini"],
        parameters={"subject": "a heron"},
    )
    await generation.run_generation(user_id=people["alice"], request=request_ai, settings=settings)
    assert _usage(people) == 1
    fake_openai.fail_next(500)
    fake_openai.fail_next(500)
    with pytest.raises(GenerationError):
        await generation.run_generation(
            user_id=people["alice"], request=request_ai, settings=settings
        )
    assert _usage(people) == 1
    with pytest.raises(GenerationError) as caught:
        await generation.run_generation(
            user_id=people["alice"],
            request=GenerationRequest(
                blueprint_id=0,
                blueprint_ref=f"user:{first.id}",
                model_id=models["blueprint-compiler"],
                parameters={"subject": ""},
            ),
            settings=settings,
        )
    assert caught.value.field_errors == {"subject": "Subject is required."}
    with admin_session_scope(people["db"]) as session:
        rows = session.exec(select(UserPrompt).order_by(UserPrompt.created_at)).all()
        version_ids = {r.blueprint_version_id for r in rows}
        assert [r.template_id for r in rows] == [None, None, None]
        assert [r.template_name for r in rows] == ["Painting"] * 3
    assert version_ids == {uuid.UUID(first.version_id)}
    with _as(people, "alice") as session:
        entries = user_blueprints.list_blueprint_history(
            session=session, user_id=people["alice"], blueprint_id=first.id
        )
        assert [e.version for e in entries] == [1, 1, 1]
        # Deleting the blueprint keeps the history rows, unlinked from the version.
        assert user_blueprints.delete_blueprint(
            session=session, user_id=people["alice"], blueprint_id=first.id
        )
    with admin_session_scope(people["db"]) as session:
        rows = session.exec(select(UserPrompt)).all()
        assert len(rows) == 3 and {r.blueprint_version_id for r in rows} == {None}
        assert session.exec(select(UserBlueprintVersion)).all() == []


async def test_another_users_blueprint_reference_cannot_generate(people, fake_openai) -> None:
    first = _create(people)
    models = _models(people["db"])
    with pytest.raises(GenerationError) as caught:
        await generation.run_generation(
            user_id=people["bob"],
            request=GenerationRequest(
                blueprint_id=0,
                blueprint_ref=f"user:{first.id}",
                model_id=models["blueprint-compiler"],
                parameters={"subject": "x"},
            ),
        )
    assert "no longer available" in caught.value.message


# --- row-level security on the new tables, by raw SQL (PostgreSQL) -----------------------


@pytest.fixture
def pg_people(pg_url: str) -> dict:
    with admin_session_scope(pg_url) as session:
        seed_catalog(session=session)
        alice = make_user(session, "alice@example.com").user_id
        bob = make_user(session, "bob@example.com").user_id
    people = {"db": pg_url, "alice": alice, "bob": bob}
    people["alice_bp"] = _create(people, "alice")
    people["bob_bp"] = _create(people, "bob")
    return people


def test_rls_a_user_reads_only_their_blueprints_and_versions(pg_people) -> None:
    with _as(pg_people, "alice") as session:
        for table in ("user_blueprints", "user_blueprint_versions"):
            owners = session.execute(sa.text(f"SELECT user_id FROM {table}")).scalars().all()
            assert owners and set(owners) == {pg_people["alice"]}, table
        bob_id = uuid.UUID(pg_people["bob_bp"].id)
        assert (
            session.execute(
                sa.text("SELECT name FROM user_blueprints WHERE id = :id"), {"id": bob_id}
            ).first()
            is None
        )
        changed = session.execute(
            sa.text("UPDATE user_blueprints SET name = 'mine' WHERE id = :id"), {"id": bob_id}
        )
        assert changed.rowcount == 0
        deleted = session.execute(
            sa.text("DELETE FROM user_blueprints WHERE id = :id"), {"id": bob_id}
        )
        assert deleted.rowcount == 0
    with admin_session_scope(pg_people["db"]) as session:
        assert session.get(UserBlueprint, uuid.UUID(pg_people["bob_bp"].id)).name == "Painting"


def test_rls_versions_are_immutable_even_for_their_owner(pg_people) -> None:
    own = uuid.UUID(pg_people["alice_bp"].version_id)
    for statement in (
        "UPDATE user_blueprint_versions SET prompt_template = 'rewritten' WHERE id = :id",
        "UPDATE user_blueprint_versions SET note = 'x' WHERE id = :id",
        "DELETE FROM user_blueprint_versions WHERE id = :id",
    ):
        with (
            pytest.raises(sa.exc.ProgrammingError, match="permission denied"),
            _as(pg_people, "alice") as session,
        ):
            session.execute(sa.text(statement), {"id": own})


def test_rls_a_user_cannot_add_a_version_to_someone_elses_blueprint(pg_people) -> None:
    insert = (
        "INSERT INTO user_blueprint_versions (id, blueprint_id, user_id, version, name, "
        "category, description, prompt_template, parameter_schema, instructions, note, "
        "created_at) VALUES (:id, :blueprint, :owner, 99, 'x', '', '', 'x', '{}', '', '', now())"
    )
    bob_blueprint = uuid.UUID(pg_people["bob_bp"].id)
    # Claiming Bob as the owner: refused by the policy.
    with (
        pytest.raises(sa.exc.ProgrammingError) as caught,
        _as(pg_people, "alice") as session,
    ):
        session.execute(
            sa.text(insert),
            {"id": uuid.uuid4(), "blueprint": bob_blueprint, "owner": pg_people["bob"]},
        )
    assert isinstance(caught.value.orig, psycopg.errors.InsufficientPrivilege)
    assert "row-level security" in str(caught.value.orig)
    # Claiming herself as the owner of a version of Bob's blueprint: the (blueprint, owner)
    # key refuses it, so Bob's version numbers cannot be squatted.
    with (
        pytest.raises(sa.exc.IntegrityError) as caught,
        _as(pg_people, "alice") as session,
    ):
        session.execute(
            sa.text(insert),
            {"id": uuid.uuid4(), "blueprint": bob_blueprint, "owner": pg_people["alice"]},
        )
    assert isinstance(caught.value.orig, psycopg.errors.ForeignKeyViolation)
    with _as(pg_people, "bob") as session:
        count = session.execute(
            sa.text("SELECT count(*) FROM user_blueprint_versions WHERE blueprint_id = :b"),
            {"b": bob_blueprint},
        ).scalar_one()
    assert count == 1
