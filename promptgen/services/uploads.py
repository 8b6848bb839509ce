"""Reference images between upload and Generate, kept in the database by owner.

A tab holds only the drafts' ids and names; the bytes never enter Reflex state (which is
pickled to disk or Redis). Every read and delete is scoped to the owner (and to RLS on
PostgreSQL), so an id from another user's tab opens nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from promptgen.db import rows_affected
from promptgen.models import PromptAttachment, UploadDraft, UserPrompt
from promptgen.services.images import check_images, human_size

# Drafts nobody generated with are removed by the daily purge after this long.
DRAFT_LIFETIME = timedelta(days=1)


@dataclass(frozen=True)
class DraftView:
    id: str
    filename: str
    size_bytes: int

    @property
    def label(self) -> str:
        return f"{self.filename} ({human_size(self.size_bytes)})"


def _ids(values: list[str]) -> list[uuid.UUID]:
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return ids


def _rows(session: Session, user_id: uuid.UUID, draft_ids: list[str]) -> list[UploadDraft]:
    ids = _ids(draft_ids)
    if not ids:
        return []
    rows = session.exec(
        select(UploadDraft).where(col(UploadDraft.user_id) == user_id, col(UploadDraft.id).in_(ids))
    ).all()
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]  # in the order the user chose them


def add_drafts(
    *,
    session: Session,
    user_id: uuid.UUID,
    kept_ids: list[str],
    files: list[tuple[str, bytes]],
    now: datetime | None = None,
) -> list[DraftView]:
    """Check the new files together with the drafts kept (count and size limits apply to
    the whole set) and store them; returns every draft, kept ones first. Raises
    ImageRejected with the user's message, storing nothing."""
    kept = _rows(session, user_id, kept_ids)
    checked = check_images([(row.filename, row.data) for row in kept] + files)[len(kept) :]
    now = now or datetime.now(UTC)
    added = [
        UploadDraft(
            user_id=user_id,
            filename=image.filename,
            mime_type=image.mime_type,
            size_bytes=len(image.data),
            sha256=image.sha256,
            data=image.data,
            created_at=now,
        )
        for image in checked
    ]
    session.add_all(added)
    session.flush()
    return [DraftView(str(row.id), row.filename, row.size_bytes) for row in [*kept, *added]]


def draft_files(
    *, session: Session, user_id: uuid.UUID, draft_ids: list[str]
) -> list[tuple[str, bytes]]:
    """(filename, bytes) of the user's drafts, for a generation."""
    return [(row.filename, row.data) for row in _rows(session, user_id, draft_ids)]


def draft_image(*, session: Session, user_id: uuid.UUID, draft_id: str) -> tuple[str, bytes] | None:
    """(MIME type, bytes) of one of the user's drafts; None for anyone else's or a junk id."""
    rows = _rows(session, user_id, [draft_id])
    return (rows[0].mime_type, rows[0].data) if rows else None


def remove_draft(*, session: Session, user_id: uuid.UUID, draft_id: str) -> bool:
    ids = _ids([draft_id])
    if not ids:
        return False
    result = session.execute(
        sa.delete(UploadDraft).where(
            col(UploadDraft.user_id) == user_id, col(UploadDraft.id) == ids[0]
        )
    )
    return rows_affected(result) > 0


def drafts_from_history(
    *, session: Session, user_id: uuid.UUID, prompt_id: uuid.UUID, now: datetime | None = None
) -> list[DraftView]:
    """Copy an earlier generation's images into new drafts (Retry from history)."""
    attachments = session.exec(
        select(PromptAttachment)
        .join(UserPrompt, col(UserPrompt.id) == col(PromptAttachment.prompt_id))
        .where(col(PromptAttachment.prompt_id) == prompt_id, col(UserPrompt.user_id) == user_id)
        .order_by(col(PromptAttachment.created_at))
    ).all()
    return add_drafts(
        session=session,
        user_id=user_id,
        kept_ids=[],
        files=[(a.filename, a.data) for a in attachments],
        now=now,
    )


def purge_old_drafts(*, session: Session, now: datetime | None = None) -> int:
    """Delete drafts older than DRAFT_LIFETIME (admin session; the daily purge)."""
    cutoff = (now or datetime.now(UTC)) - DRAFT_LIFETIME
    return rows_affected(
        session.execute(sa.delete(UploadDraft).where(col(UploadDraft.created_at) < cutoff))
    )
