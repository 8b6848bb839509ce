"""One generation: validate the inputs, compile the prompt, refine it, keep it in history.

The offline Blueprint compiler needs no key and consumes no quota. Gemini and OpenAI
models are listed from the catalog; until their providers are wired in they answer
with a clear "not configured" message.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session

from promptgen.blueprints import SchemaError, coerce_and_validate, compile_prompt
from promptgen.models import UserPrompt
from promptgen.services import catalog
from promptgen.services.subscriptions import get_plan_summary

OFFLINE_PROVIDER = "offline"
OFFLINE_NOTICE = "Compiled offline by the Blueprint compiler — not AI-refined."


class GenerationError(Exception):
    """A generation that cannot run; `message` is what the user sees."""

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


@dataclass(frozen=True)
class GenerationRequest:
    blueprint_id: int
    model_id: int
    signature_id: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerationResult:
    prompt_id: uuid.UUID
    output: str
    compiled_prompt: str
    key_source: str
    model_display_name: str
    ai_refined: bool
    notice: str


def generate(
    *, session: Session, user_id: uuid.UUID, request: GenerationRequest
) -> GenerationResult:
    """Run one generation for the user and save it to their history."""
    started = time.perf_counter()
    blueprint = catalog.get_blueprint(session=session, blueprint_id=request.blueprint_id)
    if blueprint is None:
        raise GenerationError("That blueprint is no longer available. Pick another one.")
    signature = None
    if request.signature_id is not None:
        signature = catalog.get_signature(session=session, signature_id=request.signature_id)
        if signature is None:
            raise GenerationError("That visual signature is no longer available.")
    model = catalog.get_model(session=session, model_id=request.model_id)
    if model is None:
        raise GenerationError("That model is no longer available. Pick another one.")
    plan = get_plan_summary(session=session, user_id=user_id)
    tier_slug = plan.tier_slug if plan else None
    if model.allowed_tiers and tier_slug not in model.allowed_tiers:
        raise GenerationError(f"{model.display_name} is not included in your plan.")

    values, errors = coerce_and_validate(blueprint.parameter_schema, request.parameters)
    if errors:
        raise GenerationError("Check the highlighted fields.", field_errors=errors)
    try:
        compiled = compile_prompt(
            prompt_template=blueprint.prompt_template,
            parameters=values,
            signature_name=signature.name if signature else None,
            signature_style=signature.style_prompt if signature else None,
        )
    except SchemaError as exc:
        raise GenerationError(f"This blueprint could not be compiled: {exc}") from exc

    if model.provider != OFFLINE_PROVIDER:
        raise GenerationError(
            f"{model.display_name} is not configured on this server yet. "
            "Choose the Blueprint compiler (offline) to compile your prompt."
        )

    now = datetime.now(UTC)
    prompt = UserPrompt(
        user_id=user_id,
        template_id=blueprint.id,
        signature_id=signature.id if signature else None,
        model_id=model.id,
        template_name=blueprint.name,
        signature_name=signature.name if signature else "",
        model_name=model.display_name,
        parameters=values,
        compiled_prompt=compiled,
        output=compiled,
        key_source="offline",
        status="succeeded",
        latency_ms=round((time.perf_counter() - started) * 1000),
        created_at=now,
        completed_at=now,
    )
    session.add(prompt)
    session.flush()
    return GenerationResult(
        prompt_id=prompt.id,
        output=compiled,
        compiled_prompt=compiled,
        key_source="offline",
        model_display_name=model.display_name,
        ai_refined=False,
        notice=OFFLINE_NOTICE,
    )
