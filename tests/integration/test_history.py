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
