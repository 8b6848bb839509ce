"""Reference images wait in the database, by owner, never in Reflex state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from promptgen.db import admin_session_scope, user_session_scope
from promptgen.services import uploads
from promptgen.services.images import ImageRejected
from tests.support.factories import make_user

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048


def _users(url: str):
    with admin_session_scope(url) as session:
        return make_user(session, "a@example.com").user_id, make_user(
            session, "b@example.com"
        ).user_id


def test_drafts_belong_to_their_owner(db_url: str) -> None:
    alice, bob = _users(db_url)
    with user_session_scope(alice, db_url) as session:
        [draft] = uploads.add_drafts(
            session=session, user_id=alice, kept_ids=[], files=[("a.png", PNG)]
        )
    assert draft.label == "a.png (2 KB)"
    with user_session_scope(bob, db_url) as session:
        assert uploads.draft_files(session=session, user_id=bob, draft_ids=[draft.id]) == []
        assert not uploads.remove_draft(session=session, user_id=bob, draft_id=draft.id)
        # Junk ids open nothing and raise nothing.
        assert uploads.draft_files(session=session, user_id=bob, draft_ids=["x", "1"]) == []
    with user_session_scope(alice, db_url) as session:
        assert uploads.draft_files(session=session, user_id=alice, draft_ids=[draft.id]) == [
            ("a.png", PNG)
        ]
        assert uploads.remove_draft(session=session, user_id=alice, draft_id=draft.id)


def test_limits_apply_to_the_kept_and_the_new_together(db_url: str) -> None:
    alice, _ = _users(db_url)
    with user_session_scope(alice, db_url) as session:
        kept = uploads.add_drafts(
            session=session, user_id=alice, kept_ids=[], files=[("k.png", PNG)] * 3
        )
    with (
        pytest.raises(ImageRejected, match="at most 4"),
        user_session_scope(alice, db_url) as session,
    ):
        uploads.add_drafts(
            session=session,
            user_id=alice,
            kept_ids=[d.id for d in kept],
            files=[("n.png", PNG)] * 2,
        )
    with (
        pytest.raises(ImageRejected, match="not a PNG"),
        user_session_scope(alice, db_url) as session,
    ):
        uploads.add_drafts(session=session, user_id=alice, kept_ids=[], files=[("x.png", b"no")])


def test_the_daily_purge_removes_drafts_older_than_a_day(db_url: str) -> None:
    alice, _ = _users(db_url)
    old = datetime.now(UTC) - timedelta(days=2)
    with user_session_scope(alice, db_url) as session:
        [stale] = uploads.add_drafts(
            session=session, user_id=alice, kept_ids=[], files=[("old.png", PNG)], now=old
        )
        [fresh] = uploads.add_drafts(
            session=session, user_id=alice, kept_ids=[], files=[("new.png", PNG)]
        )
    with admin_session_scope(db_url) as session:
        assert uploads.purge_old_drafts(session=session) == 1
    with user_session_scope(alice, db_url) as session:
        ids = [stale.id, fresh.id]
        assert [
            f for f, _ in uploads.draft_files(session=session, user_id=alice, draft_ids=ids)
        ] == ["new.png"]


def test_retry_copies_only_the_owners_history_images(db_url: str) -> None:
    from promptgen.models import PromptAttachment, UserPrompt

    alice, bob = _users(db_url)
    with admin_session_scope(db_url) as session:
        prompt = UserPrompt(user_id=alice, status="succeeded")
        session.add(prompt)
        session.flush()
        session.add(
            PromptAttachment(
                prompt_id=prompt.id,
                user_id=alice,
                filename="kept.png",
                mime_type="image/png",
                size_bytes=len(PNG),
                sha256="0" * 64,
                data=PNG,
            )
        )
        prompt_id = prompt.id
    with user_session_scope(bob, db_url) as session:
        assert uploads.drafts_from_history(session=session, user_id=bob, prompt_id=prompt_id) == []
    with user_session_scope(alice, db_url) as session:
        [draft] = uploads.drafts_from_history(session=session, user_id=alice, prompt_id=prompt_id)
        assert uploads.draft_files(session=session, user_id=alice, draft_ids=[draft.id]) == [
            ("kept.png", PNG)
        ]
