"""The user's generation history. Every query is scoped to its owner."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from promptgen.blueprints import FieldSpec, describe_fields
from promptgen.models import (
    KeySource,
    PromptAttachment,
    PromptRating,
    SupportedTemplate,
    UserBlueprintVersion,
    UserPrompt,
)
from promptgen.services.csv_cells import neutralise_row

SNIPPET_LENGTH = 160
# Rows per history page; the next page continues after the last row shown (keyset paging).
PAGE_SIZE = 50


_KEY_SOURCE_LABELS: dict[str, str] = {
    KeySource.PLATFORM: "Platform key",
    KeySource.OWN_KEY: "Your own key (billed to your key, not your plan)",
    KeySource.OFFLINE: "Offline (no key)",
}


def key_source_label(key_source: str) -> str:
    """How a history row names whose key paid for it."""
    return _KEY_SOURCE_LABELS.get(key_source, _KEY_SOURCE_LABELS[KeySource.OFFLINE])


@dataclass(frozen=True)
class HistoryItem:
    id: str
    created_at: datetime
    template_name: str
    signature_name: str
    model_name: str
    status: str
    key_source: str
    snippet: str
    is_favorite: bool
    comparison_id: str = ""  # set on a compare-mode column: open the comparison as a whole
    rating: str = ""  # "up", "down", "winner", "winner, up"... ("" unrated)


@dataclass(frozen=True)
class AttachmentView:
    filename: str
    mime_type: str
    size_bytes: int
    data: bytes

    def __repr__(self) -> str:
        return f"AttachmentView({self.filename!r}, {self.size_bytes} bytes)"


@dataclass(frozen=True)
class HistoryDetail:
    item: HistoryItem
    template_id: int | None
    signature_id: int | None
    model_id: int | None
    parameters: dict[str, Any]
    compiled_prompt: str
    output: str
    input_tokens: int | None
    output_tokens: int | None
    error_message: str | None
    latency_ms: int | None
    attachments: list[AttachmentView]
    estimated_cost_micros: int | None = None
    # The user blueprint version it was made with (None for a catalog blueprint).
    blueprint_version_id: uuid.UUID | None = None
    # ... which blueprint and which version number that is (None once it is deleted).
    user_blueprint_id: str | None = None
    blueprint_version: int | None = None
    # The blueprint's form fields (labels, choice labels), for showing the inputs by name.
    fields: tuple[FieldSpec, ...] = ()


def _snippet(prompt: UserPrompt) -> str:
    text = prompt.output or prompt.error_message or prompt.compiled_prompt
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_LENGTH else text[: SNIPPET_LENGTH - 1] + "…"


def _item(prompt: UserPrompt, rating: str = "") -> HistoryItem:
    return HistoryItem(
        id=str(prompt.id),
        created_at=prompt.created_at,
        template_name=prompt.template_name,
        signature_name=prompt.signature_name,
        model_name=prompt.model_name,
        status=prompt.status,
        key_source=prompt.key_source,
        snippet=_snippet(prompt),
        is_favorite=prompt.is_favorite,
        comparison_id=str(prompt.comparison_id) if prompt.comparison_id else "",
        rating=rating,
    )


RATING_FILTERS = ("up", "down", "winner", "rated", "unrated")


def _rating_condition(user_id: uuid.UUID, rating: str) -> sa.ColumnElement:
    """Generations whose rating matches `rating` (one of RATING_FILTERS)."""
    rated = select(PromptRating.prompt_id).where(
        PromptRating.user_id == user_id, PromptRating.prompt_id == UserPrompt.id
    )
    if rating == "up":
        rated = rated.where(PromptRating.vote > 0)
    elif rating == "down":
        rated = rated.where(PromptRating.vote < 0)
    elif rating == "winner":
        rated = rated.where(col(PromptRating.is_winner).is_(True))
    else:
        rated = rated.where(
            sa.or_(col(PromptRating.vote) != 0, col(PromptRating.is_winner).is_(True))
        )
    exists = rated.exists()
    return sa.not_(exists) if rating == "unrated" else exists


def _rating_label(vote: int, winner: bool) -> str:
    parts = (["winner"] if winner else []) + ({1: ["up"], -1: ["down"]}.get(vote, []))
    return ", ".join(parts)


@dataclass(frozen=True)
class HistoryFilters:
    blueprints: list[str]
    models: list[str]


def _owned(user_id: uuid.UUID):
    return select(UserPrompt).where(UserPrompt.user_id == user_id)


def _search(
    user_id: uuid.UUID,
    *,
    query: str = "",
    blueprint: str = "",
    model: str = "",
    favorites_only: bool = False,
    rating: str = "",
):
    """The user's generations matching the history page's search and filters."""
    statement = _owned(user_id)
    text = " ".join(query.split()).lower()
    if text:
        # The user's text is matched literally: LIKE's wildcards are escaped.
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        needle = f"%{escaped}%"
        statement = statement.where(
            sa.or_(
                *(
                    sa.func.lower(column).like(needle, escape="\\")
                    for column in (
                        UserPrompt.output,
                        UserPrompt.compiled_prompt,
                        UserPrompt.template_name,
                    )
                )
            )
        )
    if blueprint:
        statement = statement.where(UserPrompt.template_name == blueprint)
    if model:
        statement = statement.where(UserPrompt.model_name == model)
    if favorites_only:
        statement = statement.where(UserPrompt.is_favorite)
    if rating in RATING_FILTERS:
        statement = statement.where(_rating_condition(user_id, rating))
    return statement


def page_cursor(item: HistoryItem) -> str:
    """Where the next page starts: after this row, in the (created_at desc, id desc) order."""
    return f"{item.created_at.isoformat()}|{item.id}"


def _parse_cursor(cursor: str) -> tuple[datetime, uuid.UUID] | None:
    created, _, prompt_id = (cursor or "").partition("|")
    try:
        return datetime.fromisoformat(created), uuid.UUID(prompt_id)
    except (ValueError, TypeError):
        return None  # a junk cursor starts from the top


def list_history(
    *,
    session: Session,
    user_id: uuid.UUID,
    after: str = "",
    limit: int = PAGE_SIZE,
    **search: Any,
) -> list[HistoryItem]:
    """The user's generations, newest first, optionally searched and filtered (`search`:
    query, blueprint, model, favorites_only, rating); `after` (a `page_cursor`) continues.

    Keyset paging on (created_at, id): a page never repeats or skips a row when newer
    generations arrive in between, and costs the same at any depth."""
    statement = _search(user_id, **search)
    position = _parse_cursor(after) if after else None
    if position is not None:
        created, prompt_id = position
        statement = statement.where(
            sa.or_(
                col(UserPrompt.created_at) < created,
                sa.and_(col(UserPrompt.created_at) == created, col(UserPrompt.id) < prompt_id),
            )
        )
    prompts = session.exec(
        statement.order_by(col(UserPrompt.created_at).desc(), col(UserPrompt.id).desc()).limit(
            max(1, min(limit, 500))
        )
    ).all()
    ratings = (
        {
            r.prompt_id: _rating_label(r.vote, r.is_winner)
            for r in session.exec(
                select(PromptRating).where(
                    PromptRating.user_id == user_id,
                    col(PromptRating.prompt_id).in_([p.id for p in prompts]),
                )
            ).all()
        }
        if prompts
        else {}
    )
    return [_item(p, ratings.get(p.id, "")) for p in prompts]


def count_history(*, session: Session, user_id: uuid.UUID, **search: Any) -> int:
    """How many generations match `search` (the total the history page shows)."""
    matching = _search(user_id, **search).subquery()
    return session.exec(select(sa.func.count()).select_from(matching)).one()


def history_rows(
    *, session: Session, user_id: uuid.UUID, after: str = "", limit: int = PAGE_SIZE, **search: Any
) -> tuple[list[HistoryItem], int]:
    """A page of `list_history` and the number of matches in all, in one unit of work."""
    items = list_history(session=session, user_id=user_id, after=after, limit=limit, **search)
    return items, count_history(session=session, user_id=user_id, **search)


def history_filters(*, session: Session, user_id: uuid.UUID) -> HistoryFilters:
    """The blueprints and models that appear in the user's history, for the filter menus."""
    rows = session.exec(
        select(UserPrompt.template_name, UserPrompt.model_name)
        .where(UserPrompt.user_id == user_id)
        .distinct()
    ).all()
    return HistoryFilters(
        blueprints=sorted({r[0] for r in rows if r[0]}),
        models=sorted({r[1] for r in rows if r[1]}),
    )


def history_page(
    *, session: Session, user_id: uuid.UUID, **search: Any
) -> tuple[HistoryFilters, list[HistoryItem], int]:
    """What the history page shows on load: its filter choices, the first page of rows
    `list_history` finds with `search` (query, blueprint, model, favorites_only, rating),
    and how many match in all."""
    filters = history_filters(session=session, user_id=user_id)
    items = list_history(session=session, user_id=user_id, **search)
    return filters, items, count_history(session=session, user_id=user_id, **search)


def _own_prompt(session: Session, user_id: uuid.UUID, prompt_id: str | uuid.UUID):
    parsed = _parse_id(prompt_id)
    if parsed is None:
        return None
    return session.exec(_owned(user_id).where(UserPrompt.id == parsed)).first()


def set_favorite(
    *, session: Session, user_id: uuid.UUID, prompt_id: str | uuid.UUID, favorite: bool
) -> bool:
    prompt = _own_prompt(session, user_id, prompt_id)
    if prompt is None:
        return False
    prompt.is_favorite = favorite
    session.add(prompt)
    return True


def delete_prompt(*, session: Session, user_id: uuid.UUID, prompt_id: str | uuid.UUID) -> bool:
    """Delete one of the user's generations with its images."""
    prompt = _own_prompt(session, user_id, prompt_id)
    if prompt is None:
        return False
    session.execute(
        sa.delete(PromptAttachment).where(
            col(PromptAttachment.prompt_id) == prompt.id, col(PromptAttachment.user_id) == user_id
        )
    )
    session.delete(prompt)
    return True


EXPORT_FIELDS = (
    "id",
    "created_at",
    "status",
    "blueprint",
    "signature",
    "model",
    "key_source",
    "parameters",
    "compiled_prompt",
    "output",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "error",
    "favorite",
    "images",
)


def _export_rows(session: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
    prompts = session.exec(_owned(user_id).order_by(col(UserPrompt.created_at).desc())).all()
    names: dict[uuid.UUID, list[str]] = {}
    for prompt_id, filename in session.exec(
        select(PromptAttachment.prompt_id, PromptAttachment.filename).where(
            PromptAttachment.user_id == user_id
        )
    ).all():
        names.setdefault(prompt_id, []).append(filename)
    return [
        {
            "id": str(p.id),
            "created_at": p.created_at.isoformat(),
            "status": p.status,
            "blueprint": p.template_name,
            "signature": p.signature_name,
            "model": p.model_name,
            "key_source": p.key_source,
            "parameters": p.parameters,
            "compiled_prompt": p.compiled_prompt,
            "output": p.output,
            "input_tokens": p.input_tokens,
            "output_tokens": p.output_tokens,
            "latency_ms": p.latency_ms,
            "error": p.error_message,
            "favorite": p.is_favorite,
            "images": names.get(p.id, []),
        }
        for p in prompts
    ]


def export_history(*, session: Session, user_id: uuid.UUID, fmt: str) -> tuple[str, str]:
    """(file name, content) of the user's whole history as JSON or CSV."""
    rows = _export_rows(session, user_id)
    if fmt == "json":
        return "promptgen-history.json", json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt != "csv":
        raise ValueError(f"unknown export format {fmt!r}")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow(
            neutralise_row(
                {
                    **row,
                    "parameters": json.dumps(row["parameters"], ensure_ascii=False),
                    "images": "; ".join(row["images"]),
                }
            )
        )
    return "promptgen-history.csv", buffer.getvalue()


def _parse_id(prompt_id: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(prompt_id, uuid.UUID):
        return prompt_id
    try:
        return uuid.UUID(prompt_id)
    except (ValueError, TypeError):
        return None


def get_history_item(
    *, session: Session, user_id: uuid.UUID, prompt_id: str | uuid.UUID
) -> HistoryDetail | None:
    """One of the user's generations; None for another user's or an unknown id."""
    prompt = _own_prompt(session, user_id, prompt_id)
    if prompt is None:
        return None
    attachments = session.exec(
        select(PromptAttachment)
        .where(PromptAttachment.prompt_id == prompt.id, PromptAttachment.user_id == user_id)
        .order_by(PromptAttachment.filename)
    ).all()
    version = None
    if prompt.blueprint_version_id is not None:
        version = session.exec(
            select(UserBlueprintVersion.blueprint_id, UserBlueprintVersion.version).where(
                UserBlueprintVersion.id == prompt.blueprint_version_id,
                UserBlueprintVersion.user_id == user_id,
            )
        ).first()
    return HistoryDetail(
        item=_item(prompt),
        template_id=prompt.template_id,
        signature_id=prompt.signature_id,
        model_id=prompt.model_id,
        parameters=dict(prompt.parameters),
        compiled_prompt=prompt.compiled_prompt,
        output=prompt.output,
        input_tokens=prompt.input_tokens,
        output_tokens=prompt.output_tokens,
        error_message=prompt.error_message,
        latency_ms=prompt.latency_ms,
        attachments=[
            AttachmentView(a.filename, a.mime_type, a.size_bytes, a.data) for a in attachments
        ],
        estimated_cost_micros=prompt.estimated_cost_micros,
        blueprint_version_id=prompt.blueprint_version_id,
        user_blueprint_id=str(version[0]) if version else None,
        blueprint_version=version[1] if version else None,
        fields=_fields(session, user_id, prompt),
    )


def _fields(session: Session, user_id: uuid.UUID, prompt: UserPrompt) -> tuple[FieldSpec, ...]:
    """The form fields of the blueprint (version) the generation used, if it still exists."""
    schema: Mapping[str, Any] | None = None
    if prompt.blueprint_version_id is not None:
        schema = session.exec(
            select(UserBlueprintVersion.parameter_schema).where(
                UserBlueprintVersion.id == prompt.blueprint_version_id,
                UserBlueprintVersion.user_id == user_id,
            )
        ).first()
    elif prompt.template_id is not None:
        schema = session.exec(
            select(SupportedTemplate.parameter_schema).where(
                SupportedTemplate.id == prompt.template_id
            )
        ).first()
    if not schema:
        return ()
    try:
        return tuple(describe_fields(dict(schema)))
    except (KeyError, TypeError, ValueError, AttributeError):
        return ()  # an unreadable old schema: the inputs keep their own names
