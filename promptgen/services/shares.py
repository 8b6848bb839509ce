"""Public share links: one history entry, read-only, for anyone holding the link.

The owner creates and revokes links in a user session. Reading a share is public (no
account), so it runs in an admin session and returns only what a share shows: the
blueprint, inputs, signature, model and output, and the images only when the owner opted in.
Never the owner's email, id, keys or key source.

A comparison (generations sharing `user_prompts.comparison_id`) is shared the same way:
`share_comparison` makes a `kind="comparison"` link and `get_shared_comparison` reads every
column back (blueprint and inputs once, then each column's model, signature, output, status
and rating). Remix and "save this blueprint" of a comparison use its first column's recipe.
"""

from __future__ import annotations

import base64
import dataclasses
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from promptgen.audit import audit
from promptgen.db import rows_affected
from promptgen.errors import UserFacingError
from promptgen.models import (
    PromptAttachment,
    PromptRating,
    Share,
    SupportedAIModel,
    SupportedTemplate,
    UserBlueprintVersion,
    UserPrompt,
    VisualSignature,
)

KIND_GENERATION = "generation"
KIND_COMPARISON = "comparison"
_TOKEN_BYTES = 32


class ShareError(UserFacingError):
    """An entry that cannot be shared; `message` says why."""


@dataclass(frozen=True)
class SharedImage:
    filename: str
    mime_type: str
    data: bytes

    @property
    def data_url(self) -> str:
        return f"data:{self.mime_type};base64,{base64.b64encode(self.data).decode()}"

    def __repr__(self) -> str:
        return f"SharedImage({self.filename!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class SharedGeneration:
    """What a share link shows. Nothing here identifies the owner."""

    token: str
    kind: str
    created_at: datetime
    blueprint_name: str
    blueprint_slug: str | None  # the catalog blueprint still offered, for Remix
    blueprint_description: str
    # The blueprint's text and schema: the catalog's, or the owner's version it used (a
    # shared entry shares its recipe). Empty when the blueprint is gone.
    blueprint_template: str
    blueprint_schema: dict[str, Any]
    blueprint_instructions: str
    from_own_blueprint: bool
    signature_name: str
    signature_slug: str | None
    model_name: str
    model_slug: str | None
    parameters: dict[str, Any]
    compiled_prompt: str
    output: str
    images: list[SharedImage] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "kind": self.kind,
            "created_at": self.created_at.isoformat(),
            "blueprint": {
                "name": self.blueprint_name,
                "id": f"catalog:{self.blueprint_slug}" if self.blueprint_slug else None,
                "description": self.blueprint_description,
                "template": self.blueprint_template,
                "parameters_schema": self.blueprint_schema,
            },
            "signature": {"name": self.signature_name, "id": self.signature_slug}
            if self.signature_name
            else None,
            "model": {"name": self.model_name, "id": self.model_slug},
            "parameters": self.parameters,
            "prompt": self.compiled_prompt,
            "output": self.output,
            "images": [{"filename": i.filename, "data_url": i.data_url} for i in self.images],
        }


@dataclass(frozen=True)
class ShareView:
    """An owner's view of their link."""

    token: str
    prompt_id: str  # "" for a comparison's link
    include_images: bool
    created_at: datetime
    comparison_id: str = ""  # "" for a single entry's link


def new_share_token() -> str:
    return secrets.token_urlsafe(_TOKEN_BYTES)


def _parse(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _view(row: Share) -> ShareView:
    return ShareView(
        token=row.token,
        prompt_id=str(row.prompt_id) if row.prompt_id else "",
        include_images=row.include_images,
        created_at=row.created_at,
        comparison_id=str(row.comparison_id) if row.comparison_id else "",
    )


def _active_share(session: Session, user_id: uuid.UUID, prompt_id: uuid.UUID) -> Share | None:
    return session.exec(
        select(Share).where(
            col(Share.user_id) == user_id,
            col(Share.prompt_id) == prompt_id,
            col(Share.revoked_at).is_(None),
        )
    ).first()


def get_share_for_prompt(
    *, session: Session, user_id: uuid.UUID, prompt_id: str
) -> ShareView | None:
    """The live link of one of the user's entries, if it has one."""
    parsed = _parse(prompt_id)
    if parsed is None:
        return None
    row = _active_share(session, user_id, parsed)
    return _view(row) if row else None


def share_generation(
    *, session: Session, user_id: uuid.UUID, prompt_id: str, include_images: bool = False
) -> ShareView:
    """Share one of the user's finished generations (or update whether its link shows the
    images); one live link per entry. Raises ShareError for another user's or an unknown
    entry, or one with no output to show."""
    parsed = _parse(prompt_id)
    prompt = (
        session.exec(
            select(UserPrompt).where(
                col(UserPrompt.id) == parsed, col(UserPrompt.user_id) == user_id
            )
        ).first()
        if parsed
        else None
    )
    if prompt is None:
        raise ShareError("That generation is not in your history.")
    if prompt.status != "succeeded" or not prompt.output.strip():
        raise ShareError("Only a finished generation with an answer can be shared.")
    row = _active_share(session, user_id, prompt.id)
    if row is None:
        row = Share(
            user_id=user_id,
            token=new_share_token(),
            kind=KIND_GENERATION,
            prompt_id=prompt.id,
            include_images=include_images,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        audit("share_created", user=user_id, prompt=prompt.id)
    elif row.include_images != include_images:
        row.include_images = include_images
        session.add(row)
    session.flush()
    return _view(row)


def _revoke(
    session: Session, user_id: uuid.UUID, *which: Any, audit_fields: dict[str, Any]
) -> bool:
    """End the user's live link that `which` selects; it stops working at once."""
    result = session.execute(
        sa.update(Share)
        .where(col(Share.user_id) == user_id, col(Share.revoked_at).is_(None), *which)
        .values(revoked_at=datetime.now(UTC))
    )
    changed = rows_affected(result)
    if changed:
        audit("share_revoked", user=user_id, **audit_fields)
    return bool(changed)


def revoke_share(*, session: Session, user_id: uuid.UUID, prompt_id: str) -> bool:
    """End the live link of one of the user's entries; the link stops working at once."""
    parsed = _parse(prompt_id)
    if parsed is None:
        return False
    return _revoke(
        session, user_id, col(Share.prompt_id) == parsed, audit_fields={"prompt": parsed}
    )


def _slug(session: Session, model: type, row_id: int | None) -> tuple[str | None, Any]:
    row = session.get(model, row_id) if row_id is not None else None
    if row is None or not row.is_active:
        return None, None
    return row.slug, row


def _live_share(session: Session, token: str) -> Share | None:
    if not token or len(token) > 64:
        return None
    return session.exec(
        select(Share).where(col(Share.token) == token, col(Share.revoked_at).is_(None))
    ).first()


def _images(session: Session, owner: uuid.UUID, prompt_id: uuid.UUID) -> list[SharedImage]:
    return [
        SharedImage(a.filename, a.mime_type, a.data)
        for a in session.exec(
            select(PromptAttachment)
            .where(
                col(PromptAttachment.prompt_id) == prompt_id,
                col(PromptAttachment.user_id) == owner,
            )
            .order_by(PromptAttachment.filename)
        ).all()
    ]


def _shared_entry(session: Session, share: Share, prompt: UserPrompt) -> SharedGeneration:
    """One of the sharer's entries as a share shows it (images only when opted in)."""
    blueprint_slug, blueprint = _slug(session, SupportedTemplate, prompt.template_id)
    version = (
        session.exec(
            select(UserBlueprintVersion).where(
                col(UserBlueprintVersion.id) == prompt.blueprint_version_id,
                col(UserBlueprintVersion.user_id) == share.user_id,
            )
        ).first()
        if prompt.blueprint_version_id is not None
        else None
    )
    recipe = version if version is not None else blueprint
    signature_slug, _ = _slug(session, VisualSignature, prompt.signature_id)
    model_slug, _ = _slug(session, SupportedAIModel, prompt.model_id)
    images = _images(session, share.user_id, prompt.id) if share.include_images else []
    return SharedGeneration(
        token=share.token,
        kind=share.kind,
        created_at=prompt.created_at,
        blueprint_name=prompt.template_name,
        blueprint_slug=blueprint_slug,
        blueprint_description=recipe.description if recipe is not None else "",
        blueprint_template=recipe.prompt_template if recipe is not None else "",
        blueprint_schema=dict(recipe.parameter_schema) if recipe is not None else {},
        blueprint_instructions=recipe.instructions if recipe is not None else "",
        from_own_blueprint=version is not None,
        signature_name=prompt.signature_name,
        signature_slug=signature_slug,
        model_name=prompt.model_name,
        model_slug=model_slug,
        parameters=dict(prompt.parameters),
        compiled_prompt=prompt.compiled_prompt,
        output=prompt.output,
        images=images,
    )


def _comparison_prompts(session: Session, share: Share) -> list[UserPrompt]:
    """The sharer's columns of a comparison share, in the compare page's order."""
    if share.kind != KIND_COMPARISON or share.comparison_id is None:
        return []
    return list(
        session.exec(
            select(UserPrompt)
            .where(
                col(UserPrompt.user_id) == share.user_id,
                col(UserPrompt.comparison_id) == share.comparison_id,
            )
            .order_by(col(UserPrompt.created_at), col(UserPrompt.model_name))
        ).all()
    )


def get_shared(*, session: Session, token: str) -> SharedGeneration | None:
    """What the link `token` shows, or None when it is unknown, revoked, or a comparison's
    link (see `get_shared_comparison`). Admin session."""
    share = _live_share(session, token)
    if share is None or share.kind != KIND_GENERATION or share.prompt_id is None:
        return None
    prompt = session.get(UserPrompt, share.prompt_id)
    if prompt is None or prompt.user_id != share.user_id:
        return None
    return _shared_entry(session, share, prompt)


def get_shared_recipe(*, session: Session, token: str) -> SharedGeneration | None:
    """The entry whose recipe Remix and "save this blueprint" use: the shared entry, or a
    shared comparison's first column. Admin session."""
    shared = get_shared(session=session, token=token)
    if shared is not None:
        return shared
    share = _live_share(session, token)
    if share is None:
        return None
    columns = _comparison_prompts(session, share)
    return _shared_entry(session, share, columns[0]) if columns else None


# --- comparisons ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedColumn:
    model_name: str
    signature_name: str
    status: str
    output: str
    compiled_prompt: str
    vote: int  # the owner's thumbs: 1, -1 or 0
    is_winner: bool


@dataclass(frozen=True)
class SharedComparison:
    """What a comparison's link shows: the recipe and inputs once (every column ran the same
    form), then each column. Nothing here identifies the owner; no key source, no note."""

    token: str
    created_at: datetime
    recipe: SharedGeneration  # the first column: blueprint, inputs, images (if opted in)
    columns: list[SharedColumn]


def _active_comparison_share(
    session: Session, user_id: uuid.UUID, comparison_id: uuid.UUID
) -> Share | None:
    return session.exec(
        select(Share).where(
            col(Share.user_id) == user_id,
            col(Share.kind) == KIND_COMPARISON,
            col(Share.comparison_id) == comparison_id,
            col(Share.revoked_at).is_(None),
        )
    ).first()


def get_share_for_comparison(
    *, session: Session, user_id: uuid.UUID, comparison_id: str
) -> ShareView | None:
    """The live link of one of the user's comparisons, if it has one."""
    parsed = _parse(comparison_id)
    if parsed is None:
        return None
    row = _active_comparison_share(session, user_id, parsed)
    return _view(row) if row else None


def share_comparison(
    *, session: Session, user_id: uuid.UUID, comparison_id: str, include_images: bool = False
) -> ShareView:
    """Share one of the user's finished comparisons (or update whether its link shows the
    images); one live link per comparison. Raises ShareError for another user's or an
    unknown comparison, one still running, or one with no answer at all."""
    parsed = _parse(comparison_id)
    statuses = (
        session.exec(
            select(UserPrompt.status, UserPrompt.output).where(
                col(UserPrompt.user_id) == user_id, col(UserPrompt.comparison_id) == parsed
            )
        ).all()
        if parsed
        else []
    )
    if parsed is None or not statuses:
        raise ShareError("That comparison is not in your history.")
    if any(status == "pending" for status, _ in statuses):
        raise ShareError("Wait for every column to finish before sharing this comparison.")
    if not any(status == "succeeded" and output.strip() for status, output in statuses):
        raise ShareError("Only a comparison with at least one answer can be shared.")
    row = _active_comparison_share(session, user_id, parsed)
    if row is None:
        row = Share(
            user_id=user_id,
            token=new_share_token(),
            kind=KIND_COMPARISON,
            comparison_id=parsed,
            include_images=include_images,
            created_at=datetime.now(UTC),
        )
        session.add(row)
        audit("share_created", user=user_id, comparison=parsed)
    elif row.include_images != include_images:
        row.include_images = include_images
        session.add(row)
    session.flush()
    return _view(row)


def revoke_comparison_share(*, session: Session, user_id: uuid.UUID, comparison_id: str) -> bool:
    """End the live link of one of the user's comparisons; it stops working at once."""
    parsed = _parse(comparison_id)
    if parsed is None:
        return False
    return _revoke(
        session,
        user_id,
        col(Share.kind) == KIND_COMPARISON,
        col(Share.comparison_id) == parsed,
        audit_fields={"comparison": parsed},
    )


def get_shared_comparison(*, session: Session, token: str) -> SharedComparison | None:
    """What a comparison's link shows, or None when it is unknown, revoked, not a
    comparison's, or its columns are gone. Admin session."""
    share = _live_share(session, token)
    if share is None:
        return None
    prompts = _comparison_prompts(session, share)
    if not prompts:
        return None
    ratings = {
        r.prompt_id: r
        for r in session.exec(
            select(PromptRating).where(
                col(PromptRating.user_id) == share.user_id,
                col(PromptRating.prompt_id).in_([p.id for p in prompts]),
            )
        ).all()
    }
    recipe = _shared_entry(session, share, prompts[0])
    if share.include_images and not recipe.images:
        # Every column got the same form; show the first column's images that has any.
        for prompt in prompts[1:]:
            images = _images(session, share.user_id, prompt.id)
            if images:
                recipe = dataclasses.replace(recipe, images=images)
                break
    return SharedComparison(
        token=share.token,
        created_at=prompts[0].created_at,
        recipe=recipe,
        columns=[
            SharedColumn(
                model_name=p.model_name,
                signature_name=p.signature_name,
                status=p.status,
                output=p.output,
                compiled_prompt=p.compiled_prompt,
                vote=ratings[p.id].vote if p.id in ratings else 0,
                is_winner=ratings[p.id].is_winner if p.id in ratings else False,
            )
            for p in prompts
        ],
    )


@dataclass(frozen=True)
class RemixRecipe:
    """A shared entry's recipe, as ids of this catalog, for prefilling the dashboard."""

    blueprint_id: int | None
    signature_id: int | None
    model_id: int | None
    parameters: dict[str, Any]
    blueprint_name: str


def remix_recipe(*, session: Session, token: str) -> RemixRecipe | None:
    """The recipe behind a live share link (admin session: the viewer is not its owner); a
    comparison's link remixes its first column (every column ran the same form)."""
    share = _live_share(session, token)
    if share is None:
        return None
    if share.prompt_id is not None:
        prompt = session.get(UserPrompt, share.prompt_id)
    else:
        columns = _comparison_prompts(session, share)
        prompt = columns[0] if columns else None
    if prompt is None or prompt.user_id != share.user_id:
        return None
    return RemixRecipe(
        blueprint_id=prompt.template_id,
        signature_id=prompt.signature_id,
        model_id=prompt.model_id,
        parameters=dict(prompt.parameters),
        blueprint_name=prompt.template_name,
    )


def shared_blueprint_draft(*, session: Session, token: str) -> tuple[Any, str] | None:
    """(BlueprintDraft, source) to copy a shared entry's blueprint into the viewer's own
    blueprints; None when the link is dead or its blueprint is gone. Admin session."""
    from promptgen.services.user_blueprints import BlueprintDraft

    shared = get_shared_recipe(session=session, token=token)
    if shared is None or not shared.blueprint_template:
        return None
    draft = BlueprintDraft(
        name=shared.blueprint_name[:120] or "Shared blueprint",
        prompt_template=shared.blueprint_template,
        parameter_schema=shared.blueprint_schema,
        description=shared.blueprint_description,
        category="Shared with me",
        instructions=shared.blueprint_instructions,
    )
    source = f"catalog:{shared.blueprint_slug}" if shared.blueprint_slug else "share"
    return draft, source
