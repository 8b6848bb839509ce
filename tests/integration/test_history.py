"""History through the service: search, filters, favourites, delete, export, owner scoping."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

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


def test_search_filter_favourite_delete_export(db_url: str) -> None:
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

    with admin_session_scope(db_url) as session:
        newest_first = history.list_history(session=session, user_id=alice)
        assert [i.snippet for i in newest_first] == [
            "A copper kettle",
            "Blog about 100% coffee",
            "A brass LAMP on walnut",
        ]
        assert [
            i.snippet for i in history.list_history(session=session, user_id=alice, query="lamp")
        ] == ["A brass LAMP on walnut"]
        # Wildcards are literal: "%" matches only a real percent sign.
        assert len(history.list_history(session=session, user_id=alice, query="100%")) == 1
        assert history.list_history(session=session, user_id=alice, query="_") == []
        by_blueprint = history.list_history(
            session=session, user_id=alice, blueprint="Blog outline"
        )
        assert [i.template_name for i in by_blueprint] == ["Blog outline"]
        by_model = history.list_history(session=session, user_id=alice, model="Gemini 2.5 Flash")
        assert [i.snippet for i in by_model] == ["A copper kettle"]
        filters = history.history_filters(session=session, user_id=alice)
        assert filters.models == ["GPT-4.1 mini", "Gemini 2.5 Flash"]

        assert history.set_favorite(
            session=session, user_id=alice, prompt_id=lamp.id, favorite=True
        )
        # Bob cannot touch Alice's rows, by id or otherwise.
        assert not history.set_favorite(
            session=session, user_id=bob, prompt_id=kettle.id, favorite=True
        )
        assert not history.delete_prompt(session=session, user_id=bob, prompt_id=kettle.id)
        assert history.get_history_item(session=session, user_id=bob, prompt_id=kettle.id) is None

    with admin_session_scope(db_url) as session:
        favourites = history.list_history(session=session, user_id=alice, favorites_only=True)
        assert [i.snippet for i in favourites] == ["A brass LAMP on walnut"]
        detail = history.get_history_item(session=session, user_id=alice, prompt_id=kettle.id)
        assert [a.filename for a in detail.attachments] == ["ref.png"]

        name, content = history.export_history(session=session, user_id=alice, fmt="json")
        exported = json.loads(content)
        assert name == "promptgen-history.json" and len(exported) == 3
        assert exported[0]["images"] == ["ref.png"] and "Bob" not in content
        name, content = history.export_history(session=session, user_id=alice, fmt="csv")
        rows = list(csv.DictReader(io.StringIO(content)))
        assert name.endswith(".csv") and len(rows) == 3
        assert json.loads(rows[2]["parameters"]) == {"product": "A brass LAMP on walnut"}

        assert history.delete_prompt(session=session, user_id=alice, prompt_id=kettle.id)
    with admin_session_scope(db_url) as session:
        assert len(history.list_history(session=session, user_id=alice)) == 2
        assert session.exec(select(PromptAttachment)).all() == []
        assert len(history.list_history(session=session, user_id=bob)) == 1


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
