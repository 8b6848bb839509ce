"""The user's generation history. Every query is scoped to its owner."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from promptgen.models import UserPrompt

SNIPPET_LENGTH = 160


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


def _snippet(prompt: UserPrompt) -> str:
    text = prompt.output or prompt.error_message or prompt.compiled_prompt
    text = " ".join(text.split())
    return text if len(text) <= SNIPPET_LENGTH else text[: SNIPPET_LENGTH - 1] + "…"


def _item(prompt: UserPrompt) -> HistoryItem:
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
    )


def list_history(*, session: Session, user_id: uuid.UUID, limit: int = 100) -> list[HistoryItem]:
    """The user's generations, newest first."""
    prompts = session.exec(
        select(UserPrompt)
        .where(UserPrompt.user_id == user_id)
        .order_by(col(UserPrompt.created_at).desc(), col(UserPrompt.id).desc())
        .limit(limit)
    ).all()
    return [_item(p) for p in prompts]


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
    parsed = _parse_id(prompt_id)
    if parsed is None:
        return None
    prompt = session.exec(
        select(UserPrompt).where(UserPrompt.id == parsed, UserPrompt.user_id == user_id)
    ).first()
    if prompt is None:
        return None
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
    )
