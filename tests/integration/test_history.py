"""History through the service: search, filters, favourites, delete, export, owner scoping."""

from __future__ import annotations

import csv
import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from promptgen.db import admin_session_scope
from promptgen.models import PromptAttachment, UserPrompt
from promptgen.services import history
from tests.support.factories import make_user


def _prompt(session, user_id, minutes: int, **values) -> UserPrompt:
    prompt = UserPrompt(
        user_id=user_id,
        template_name=values.pop("template_name", "Product photo"),
        model_name=values.pop("model_name", "GPT-4.1 mini"),
        status=values.pop("status", "succeeded"),
        created_at=datetime.now(UTC) - timedelta(minutes=minutes),
        parameters={"product": values.get("output", "")},
        **values,
    )
    session.add(prompt)
    session.flush()
    return prompt


@dataclass(frozen=True)
class Shelf:
    """Alice's three generations (the kettle has an image) and Bob's one."""

    url: str
    alice: uuid.UUID
    bob: uuid.UUID
    lamp: uuid.UUID
    kettle: uuid.UUID


@pytest.fixture
def shelf(db_url: str) -> Shelf:
    with admin_session_scope(db_url) as session:
        alice = make_user(session, "alice@example.com").user_id
        bob = make_user(session, "bob@example.com").user_id
        lamp = _prompt(session, alice, 3, output="A brass LAMP on walnut")
        _prompt(session, alice, 2, output="Blog about 100% coffee", template_name="Blog outline")
        kettle = _prompt(session, alice, 1, output="A copper kettle", model_name="Gemini 2.5 Flash")
        session.add(
            PromptAttachment(
                prompt_id=kettle.id,
                user_id=alice,
                filename="ref.png",
                mime_type="image/png",
                size_bytes=3,
                sha256="x" * 64,
                data=b"abc",
            )
        )
        _prompt(session, bob, 0, output="Bob's brass lamp")
        return Shelf(db_url, alice, bob, lamp.id, kettle.id)


def _snippets(shelf: Shelf, **filters) -> list[str]:
    with admin_session_scope(shelf.url) as session:
        items = history.list_history(session=session, user_id=shelf.alice, **filters)
        return [i.snippet for i in items]


def test_history_lists_the_users_own_rows_newest_first(shelf: Shelf) -> None:
    assert _snippets(shelf) == [
        "A copper kettle",
        "Blog about 100% coffee",
        "A brass LAMP on walnut",
    ]


def test_search_ignores_case(shelf: Shelf) -> None:
    assert _snippets(shelf, query="lamp") == ["A brass LAMP on walnut"]


def test_search_wildcards_are_literal(shelf: Shelf) -> None:
    # "%" matches only a real percent sign, "_" only an underscore.
    assert _snippets(shelf, query="100%") == ["Blog about 100% coffee"]
    assert _snippets(shelf, query="_") == []


def test_filters_by_blueprint_and_model(shelf: Shelf) -> None:
    assert _snippets(shelf, blueprint="Blog outline") == ["Blog about 100% coffee"]
    assert _snippets(shelf, model="Gemini 2.5 Flash") == ["A copper kettle"]
    with admin_session_scope(shelf.url) as session:
        filters = history.history_filters(session=session, user_id=shelf.alice)
    assert filters.models == ["GPT-4.1 mini", "Gemini 2.5 Flash"]


def test_a_favourite_is_listed_among_favourites(shelf: Shelf) -> None:
    with admin_session_scope(shelf.url) as session:
        assert history.set_favorite(
            session=session, user_id=shelf.alice, prompt_id=shelf.lamp, favorite=True
        )
    assert _snippets(shelf, favorites_only=True) == ["A brass LAMP on walnut"]


def test_another_user_cannot_touch_the_rows_by_id(shelf: Shelf) -> None:
    with admin_session_scope(shelf.url) as session:
        assert not history.set_favorite(
            session=session, user_id=shelf.bob, prompt_id=shelf.kettle, favorite=True
        )
        assert not history.delete_prompt(session=session, user_id=shelf.bob, prompt_id=shelf.kettle)
        found = history.get_history_item(session=session, user_id=shelf.bob, prompt_id=shelf.kettle)
        assert found is None
    assert _snippets(shelf, favorites_only=True) == []
    assert len(_snippets(shelf)) == 3


def test_the_detail_lists_the_images(shelf: Shelf) -> None:
    with admin_session_scope(shelf.url) as session:
        detail = history.get_history_item(
            session=session, user_id=shelf.alice, prompt_id=shelf.kettle
        )
    assert detail is not None and [a.filename for a in detail.attachments] == ["ref.png"]


def test_the_json_export_holds_the_users_rows_and_image_names(shelf: Shelf) -> None:
    with admin_session_scope(shelf.url) as session:
        name, content = history.export_history(session=session, user_id=shelf.alice, fmt="json")
    exported = json.loads(content)
    assert name == "promptgen-history.json" and len(exported) == 3
    assert exported[0]["images"] == ["ref.png"] and "Bob" not in content


def test_the_csv_export_keeps_parameters_as_json(shelf: Shelf) -> None:
    with admin_session_scope(shelf.url) as session:
        name, content = history.export_history(session=session, user_id=shelf.alice, fmt="csv")
    rows = list(csv.DictReader(io.StringIO(content)))
    assert name.endswith(".csv") and len(rows) == 3
    assert json.loads(rows[2]["parameters"]) == {"product": "A brass LAMP on walnut"}


def test_deleting_a_generation_deletes_its_images_and_nothing_else(shelf: Shelf) -> None:
    with admin_session_scope(shelf.url) as session:
        assert history.delete_prompt(session=session, user_id=shelf.alice, prompt_id=shelf.kettle)
    with admin_session_scope(shelf.url) as session:
        assert len(history.list_history(session=session, user_id=shelf.alice)) == 2
        assert session.exec(select(PromptAttachment)).all() == []
        assert len(history.list_history(session=session, user_id=shelf.bob)) == 1


def test_the_csv_export_keeps_formulas_as_text(shelf: Shelf) -> None:
    """Model output can be steered by whoever wrote the prompt: a cell that a spreadsheet
    would run as a formula is exported with a leading apostrophe."""
    with admin_session_scope(shelf.url) as session:
        _prompt(session, shelf.alice, 0, output='=HYPERLINK("http://evil.example","x")')
        _prompt(session, shelf.alice, 0, output="@SUM(1)", template_name="+cmd|' /C calc'!A0")
    with admin_session_scope(shelf.url) as session:
        _, content = history.export_history(session=session, user_id=shelf.alice, fmt="csv")
    cells = [cell for row in csv.reader(io.StringIO(content)) for cell in row]
    assert '\'=HYPERLINK("http://evil.example","x")' in cells
    assert "'@SUM(1)" in cells and "'+cmd|' /C calc'!A0" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@")]


def test_keyset_pages_cover_every_row_once_with_a_total(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        alice = make_user(session, "pages@example.com").user_id
        bob = make_user(session, "other@example.com").user_id
        same_moment = datetime.now(UTC) - timedelta(hours=1)
        made = [_prompt(session, alice, minutes, output=f"row {minutes}") for minutes in range(7)]
        # Rows created at the same instant still page in one stable order (by id).
        for i in range(4):
            made.append(_prompt(session, alice, 0, output=f"tie {i}"))
            made[-1].created_at = same_moment
        _prompt(session, bob, 0, output="not alice's")
        session.flush()

    with admin_session_scope(db_url) as session:
        seen: list[str] = []
        after = ""
        while True:
            page, total = history.history_rows(session=session, user_id=alice, after=after, limit=3)
            assert total == 11
            seen += [i.id for i in page]
            if len(page) < 3:
                break
            after = history.page_cursor(page[-1])
        assert sorted(seen) == sorted(str(p.id) for p in made) and len(seen) == 11
        everything = history.list_history(session=session, user_id=alice, limit=100)
        assert [i.id for i in everything] == seen  # the same order as one long page
        # A new generation meanwhile does not shift the next page.
        first, _ = history.history_rows(session=session, user_id=alice, limit=3)
        _prompt(session, alice, -5, output="brand new")
        second, total = history.history_rows(
            session=session, user_id=alice, after=history.page_cursor(first[-1]), limit=3
        )
        assert [i.id for i in second] == seen[3:6] and total == 12
        # Filters apply to the total too; a junk cursor starts from the top.
        ties, total = history.history_rows(session=session, user_id=alice, query="tie")
        assert total == 4 and len(ties) == 4
        junk, _ = history.history_rows(session=session, user_id=alice, after="junk|junk")
        assert junk[0].snippet == "brand new"


def test_a_generation_shows_its_inputs_under_the_blueprints_labels(db_url: str) -> None:
    from promptgen.models import SupportedTemplate

    schema = {
        "type": "object",
        "properties": {
            "time_of_day": {
                "type": "string",
                "title": "Time of day",
                "enum": ["golden_hour", "night"],
                "x-enumLabels": ["Golden hour", "Night"],
            },
            "product": {"type": "string", "title": "Product"},
        },
    }
    with admin_session_scope(db_url) as session:
        alice = make_user(session, "labels@example.com").user_id
        template = SupportedTemplate(
            slug="label-test",
            category="Image",
            name="Label test",
            description="",
            prompt_template="{{ product }} at {{ time_of_day }}",
            parameter_schema=schema,
        )
        session.add(template)
        session.flush()
        prompt = _prompt(session, alice, 0, template_id=template.id)
        prompt.parameters = {"time_of_day": "golden_hour", "product": "a vase", "old_field": 1}
        session.flush()
        prompt_id = prompt.id

    with admin_session_scope(db_url) as session:
        detail = history.get_history_item(session=session, user_id=alice, prompt_id=prompt_id)
        assert [(f.name, f.title) for f in detail.fields] == [
            ("time_of_day", "Time of day"),
            ("product", "Product"),
        ]
        from promptgen.state.history import _parameter_rows

        shown = [(r.name, r.value) for r in _parameter_rows(detail)]
        # Labels, choice labels and the form's order; a field the blueprint lost reads
        # as words, never as a raw key.
        assert shown == [("Time of day", "Golden hour"), ("Product", "a vase"), ("Old field", "1")]
