"""Form drafts: what a user typed into a blueprint's form, kept until Generate or Clear.

One row per (user, blueprint), in the database rather than the browser, so a draft survives
a reload, a trip to Settings, a switch to another blueprint and back, and a second device.
Only form values and signature picks are kept: each value is checked against the
blueprint's fields (unknown names are dropped), and the whole draft is size-limited. Keys
never pass through the dashboard form, and reference images have their own table.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from promptgen import blueprints
from promptgen.db import insert_with_on_conflict
from promptgen.models import FormDraft, SupportedTemplate, UserPrompt
from promptgen.services.signatures import SignatureChoice, SignatureChoiceError, check_choices

# A blueprint form is a few short fields and a long text or two; 64 KB of JSON is plenty
# and keeps a hostile client from parking megabytes per blueprint.
MAX_DRAFT_BYTES = 64 * 1024
MAX_VALUE_CHARS = 20_000


class DraftTooLarge(ValueError):
    """A draft past MAX_DRAFT_BYTES; not saved, and the message says so."""


@dataclass(frozen=True)
class Draft:
    values: dict[str, Any]
    signatures: tuple[SignatureChoice, ...]


def _clean_value(value: Any) -> Any:
    """A form value as the browser sends it: text, a boolean, or a list of option texts."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return value[:MAX_VALUE_CHARS]
    if isinstance(value, list):
        return [str(v)[:MAX_VALUE_CHARS] for v in value if isinstance(v, str | int | float)][:200]
    return None


def clean_values(schema: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Only the blueprint's own fields, each as plain form data."""
    names = {spec.name for spec in blueprints.describe_fields(schema)}
    cleaned = {}
    for name, value in values.items():
        if name in names and (kept := _clean_value(value)) is not None:
            cleaned[name] = kept
    return cleaned


def _signature_rows(choices: tuple[SignatureChoice, ...]) -> list[dict[str, int]]:
    return [{"id": c.signature_id, "weight": c.weight} for c in choices]


def save_draft(
    *,
    session: Session,
    user_id: uuid.UUID,
    blueprint_id: int,
    values: dict[str, Any],
    signatures: tuple[SignatureChoice, ...] = (),
    now: datetime | None = None,
) -> bool:
    """Keep the draft; False when the blueprint is gone. Raises DraftTooLarge past the limit
    and SignatureChoiceError for a mix that could not be generated either."""
    blueprint = session.get(SupportedTemplate, blueprint_id)
    if blueprint is None or not blueprint.is_active:
        return False
    cleaned = clean_values(blueprint.parameter_schema, values)
    picks = check_choices(signatures) if blueprint.takes_signature else ()
    rows = _signature_rows(picks)
    size = len(json.dumps(cleaned, ensure_ascii=False).encode()) + len(json.dumps(rows))
    if size > MAX_DRAFT_BYTES:
        raise DraftTooLarge(
            f"This draft is {size // 1024} KB, over the {MAX_DRAFT_BYTES // 1024} KB a draft "
            "may keep; it was not saved."
        )
    now = now or datetime.now(UTC)
    insert = insert_with_on_conflict(session)
    statement = insert(FormDraft).values(
        user_id=user_id,
        template_id=blueprint_id,
        field_values=cleaned,
        signatures=rows,
        updated_at=now,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["user_id", "template_id"],
            set_={
                "field_values": statement.excluded.field_values,
                "signatures": statement.excluded.signatures,
                "updated_at": statement.excluded.updated_at,
            },
        )
    )
    return True


def load_draft(*, session: Session, user_id: uuid.UUID, blueprint_id: int) -> Draft | None:
    row = session.exec(
        select(FormDraft).where(
            col(FormDraft.user_id) == user_id, col(FormDraft.template_id) == blueprint_id
        )
    ).first()
    return None if row is None else draft_from_row(row)


def draft_from_row(row: FormDraft) -> Draft:
    """A stored draft as the form uses it; picks that no longer pass the rules are dropped."""
    choices = []
    for item in row.signatures or []:
        try:
            choices.append(SignatureChoice(int(item["id"]), int(item["weight"])))
        except (KeyError, TypeError, ValueError):
            continue
    try:
        picks = check_choices(choices)
    except SignatureChoiceError:
        picks = ()
    return Draft(dict(row.field_values or {}), picks)


def drafted_blueprint_ids(*, session: Session, user_id: uuid.UUID) -> list[int]:
    """Blueprints with a draft, newest first (the dashboard reopens the newest)."""
    return list(
        session.exec(
            select(FormDraft.template_id)
            .where(col(FormDraft.user_id) == user_id)
            .order_by(col(FormDraft.updated_at).desc())
        ).all()
    )


def clear_draft(*, session: Session, user_id: uuid.UUID, blueprint_id: int) -> None:
    session.execute(
        delete(FormDraft).where(
            col(FormDraft.user_id) == user_id, col(FormDraft.template_id) == blueprint_id
        )
    )


def clear_after_generation(*, session: Session, user_id: uuid.UUID, prompt_id: uuid.UUID) -> None:
    """A successful generation used the draft of its blueprint: drop it."""
    template_id = (
        sa.select(col(UserPrompt.template_id))
        .where(col(UserPrompt.id) == prompt_id, col(UserPrompt.user_id) == user_id)
        .scalar_subquery()
    )
    session.execute(
        delete(FormDraft).where(
            col(FormDraft.user_id) == user_id, col(FormDraft.template_id) == template_id
        )
    )
