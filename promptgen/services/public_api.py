"""What the public REST API (/api/v1) reads and checks, as plain services.

Blueprints are named by user_blueprints' references: "catalog:<slug>" for the catalog,
"user:<uuid>" (optionally "@<version>") for the user's own; a bare slug or UUID is read as
one of those. Models and signatures are named by their slugs.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from promptgen.blueprints import SchemaError, coerce_and_validate, compile_prompt
from promptgen.models import (
    PromptAttachment,
    SupportedAIModel,
    UserPrompt,
    VisualSignature,
)
from promptgen.services import catalog, user_blueprints
from promptgen.services.generation import GenerationRequest
from promptgen.services.plans import get_plan_summary

MAX_PAGE = 100
DEFAULT_PAGE = 20


class ApiProblem(Exception):
    """A request the API refuses: `status`, a stable `code`, the user's `message`, and the
    `field` it concerns (dotted: "parameters.product"); `fields` for several at once."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.fields = fields or {}

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "field": self.field}
        if self.fields:
            error["fields"] = self.fields
        return {"error": error}


@dataclass(frozen=True)
class ApiBlueprint:
    id: str  # the reference: "catalog:<slug>" or "user:<uuid>"
    kind: str  # catalog | own
    name: str
    category: str
    description: str
    prompt_template: str
    parameter_schema: dict[str, Any]
    instructions: str
    version: int | None = None
    reference: str = ""  # what generation is given: pins an own blueprint's version

    def as_json(self, *, with_template: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "name": self.name,
            "category": self.category,
            "description": self.description,
            "version": self.version,
            "parameters_schema": self.parameter_schema,
        }
        if with_template:
            data["template"] = self.prompt_template
        return data


def _api_blueprint(resolved: user_blueprints.ResolvedBlueprint) -> ApiBlueprint:
    own = resolved.is_own
    return ApiBlueprint(
        id=user_blueprints.user_reference(resolved.user_blueprint_id or "")
        if own
        else resolved.reference,
        kind="own" if own else "catalog",
        name=resolved.name,
        category=resolved.category,
        description=resolved.description,
        prompt_template=resolved.prompt_template,
        parameter_schema=resolved.parameter_schema,
        instructions=resolved.instructions,
        version=resolved.version,
        reference=resolved.reference,
    )


def list_blueprints(*, session: Session, user_id: uuid.UUID) -> list[ApiBlueprint]:
    """The catalog's active blueprints, then the user's own (their newest versions)."""
    found = [
        ApiBlueprint(
            id=user_blueprints.catalog_reference(v.slug),
            kind="catalog",
            name=v.name,
            category=v.category,
            description=v.description,
            prompt_template=v.prompt_template,
            parameter_schema=v.parameter_schema,
            instructions=v.instructions,
            reference=user_blueprints.catalog_reference(v.slug),
        )
        for v in catalog.list_blueprints(session=session)
    ]
    for own in user_blueprints.list_blueprint_details(session=session, user_id=user_id):
        found.append(
            ApiBlueprint(
                id=user_blueprints.user_reference(own.id),
                kind="own",
                name=own.name,
                category=own.category,
                description=own.description,
                prompt_template=own.prompt_template,
                parameter_schema=own.parameter_schema,
                instructions=own.instructions,
                version=own.version,
                reference=own.reference,
            )
        )
    return found


def normalize_reference(ref: str) -> str:
    """A blueprint reference as user_blueprints reads it. Besides "catalog:<slug>" and
    "user:<uuid>[@<version>]", a bare slug names a catalog blueprint and a bare UUID one
    of the user's own."""
    if user_blueprints.parse_reference(ref) is not None:
        return ref
    try:
        return user_blueprints.user_reference(uuid.UUID(ref))
    except ValueError:
        return user_blueprints.catalog_reference(ref)


def get_blueprint(*, session: Session, user_id: uuid.UUID, ref: str) -> ApiBlueprint:
    """One blueprint by reference; ApiProblem 404 naming the field when there is none."""
    resolved = None
    if isinstance(ref, str) and 0 < len(ref) <= 120:
        resolved = user_blueprints.resolve_blueprint(
            session=session, user_id=user_id, reference=normalize_reference(ref)
        )
    if resolved is None:
        raise ApiProblem(404, "blueprint_not_found", f"No blueprint {ref!r}.", field="blueprint")
    return _api_blueprint(resolved)


def _by_slug(session: Session, model: Any, slug: str) -> Any:
    return session.exec(select(model).where(model.slug == slug, model.is_active)).first()


def list_models(*, session: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
    plan = get_plan_summary(session=session, user_id=user_id)
    tier = plan.entitled_slug if plan else None
    return [
        {
            "id": m.slug,
            "name": m.display_name,
            "provider": m.provider,
            "description": m.description,
            "accepts_images": m.supports_images,
            "available_on_your_plan": m.allowed_for(tier),
        }
        for m in catalog.list_models(session=session)
    ]


def list_signatures(*, session: Session) -> list[dict[str, Any]]:
    return [
        {"id": s.slug, "name": s.name, "description": s.description}
        for s in catalog.list_signatures(session=session)
    ]


def _check_parameters(blueprint: ApiBlueprint, parameters: Any) -> dict[str, Any]:
    if not isinstance(parameters, dict):
        raise ApiProblem(
            422, "invalid_request", "parameters must be an object.", field="parameters"
        )
    known = set(blueprint.parameter_schema.get("properties", {}))
    unknown = sorted(set(parameters) - known)
    if unknown:
        raise ApiProblem(
            422,
            "unknown_parameter",
            f"The blueprint {blueprint.id!r} has no parameter {unknown[0]!r}.",
            field=f"parameters.{unknown[0]}",
        )
    values, errors = coerce_and_validate(blueprint.parameter_schema, parameters)
    if errors:
        name = next(iter(errors))
        raise ApiProblem(
            422,
            "invalid_parameters",
            errors[name],
            field=f"parameters.{name}",
            fields={f"parameters.{k}": v for k, v in errors.items()},
        )
    return values


def _signature(session: Session, slug: Any) -> VisualSignature | None:
    if slug in (None, ""):
        return None
    row = _by_slug(session, VisualSignature, str(slug)) if isinstance(slug, str) else None
    if row is None:
        raise ApiProblem(
            422, "signature_not_found", f"No visual signature {slug!r}.", field="signature"
        )
    return row


def compile_blueprint(
    *, session: Session, user_id: uuid.UUID, ref: str, body: dict[str, Any]
) -> dict[str, Any]:
    """Compile offline: the prompt the blueprint makes from these parameters. No quota."""
    blueprint = get_blueprint(session=session, user_id=user_id, ref=ref)
    values = _check_parameters(blueprint, body.get("parameters", {}))
    signature = _signature(session, body.get("signature"))
    try:
        prompt = compile_prompt(
            prompt_template=blueprint.prompt_template,
            parameters=values,
            signature_name=signature.name if signature else None,
            signature_style=signature.style_prompt if signature else None,
        )
    except SchemaError as exc:
        raise ApiProblem(422, "compile_failed", exc.message, field="template") from None
    return {"blueprint": blueprint.id, "parameters": values, "prompt": prompt}


def generation_request(
    *, session: Session, user_id: uuid.UUID, body: dict[str, Any]
) -> GenerationRequest:
    """Check a generate request's blueprint, model, signature and parameters before any
    quota is touched; run_generation checks them again in its own transaction."""
    ref = body.get("blueprint")
    if not isinstance(ref, str) or not ref:
        raise ApiProblem(422, "invalid_request", "Name a blueprint.", field="blueprint")
    blueprint = get_blueprint(session=session, user_id=user_id, ref=ref)
    model_slug = body.get("model")
    model = _by_slug(session, SupportedAIModel, model_slug) if isinstance(model_slug, str) else None
    if model is None:
        raise ApiProblem(422, "model_not_found", f"No model {model_slug!r}.", field="model")
    signature = _signature(session, body.get("signature"))
    values = _check_parameters(blueprint, body.get("parameters", {}))
    return GenerationRequest(
        blueprint_id=0,
        blueprint_ref=blueprint.reference,
        model_id=model.id,
        signature_id=signature.id if signature else None,
        parameters=values,
    )


# --- history -------------------------------------------------------------------------


def _history_json(prompt: UserPrompt, *, full: bool, images: list[str] | None = None):
    data: dict[str, Any] = {
        "id": str(prompt.id),
        "created_at": prompt.created_at.isoformat(),
        "status": prompt.status,
        "blueprint": prompt.template_name,
        "signature": prompt.signature_name or None,
        "model": prompt.model_name,
        "key_source": prompt.key_source,
        "favorite": prompt.is_favorite,
    }
    if full:
        data.update(
            {
                "parameters": prompt.parameters,
                "prompt": prompt.compiled_prompt,
                "output": prompt.output,
                "error": prompt.error_message,
                "usage": {
                    "input_tokens": prompt.input_tokens,
                    "output_tokens": prompt.output_tokens,
                },
                "latency_ms": prompt.latency_ms,
                "images": images or [],
            }
        )
    else:
        text = " ".join((prompt.output or prompt.error_message or "").split())
        data["snippet"] = text[:160]
    return data


def encode_cursor(created_at: datetime, prompt_id: uuid.UUID) -> str:
    raw = f"{created_at.isoformat()}|{prompt_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, prompt_id = base64.urlsafe_b64decode(padded).decode().split("|")
        return datetime.fromisoformat(created), uuid.UUID(prompt_id)
    except (ValueError, UnicodeDecodeError):
        raise ApiProblem(
            400, "invalid_cursor", "That cursor is not valid.", field="cursor"
        ) from None


def list_history(
    *, session: Session, user_id: uuid.UUID, limit: int = DEFAULT_PAGE, cursor: str | None = None
) -> dict[str, Any]:
    """One page of the user's history, newest first; `next_cursor` continues (keyset
    paging on created_at and id, so new entries never shift a page)."""
    statement = select(UserPrompt).where(col(UserPrompt.user_id) == user_id)
    if cursor:
        created, prompt_id = decode_cursor(cursor)
        statement = statement.where(
            sa.or_(
                col(UserPrompt.created_at) < created,
                sa.and_(col(UserPrompt.created_at) == created, col(UserPrompt.id) < prompt_id),
            )
        )
    rows = session.exec(
        statement.order_by(col(UserPrompt.created_at).desc(), col(UserPrompt.id).desc()).limit(
            limit + 1
        )
    ).all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return {"data": [_history_json(p, full=False) for p in page], "next_cursor": next_cursor}


def get_history(*, session: Session, user_id: uuid.UUID, prompt_id: str) -> dict[str, Any]:
    try:
        parsed = uuid.UUID(prompt_id)
    except ValueError:
        parsed = None
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
        raise ApiProblem(404, "not_found", "No such entry in your history.", field="id")
    names = session.exec(
        select(PromptAttachment.filename).where(
            col(PromptAttachment.prompt_id) == prompt.id, col(PromptAttachment.user_id) == user_id
        )
    ).all()
    return _history_json(prompt, full=True, images=list(names))
