"""One generation: validate, compile, route to a key, call the provider, keep it in history.

The path (docs/architecture.md):
1. `prepare` (one transaction): load the blueprint, signature and model; validate the
   parameters and images; compile; choose the key — reserve a unit of quota for the
   platform key, else the user's own key, else refuse — and save a pending history row
   with the reservation, so a crash can be refunded by `sweep_abandoned`.
2. The provider call, outside any transaction, streamed to `on_delta`, under a timeout.
3. `finish_success` or `finish_failure` (one transaction each): the output and tokens, or
   the error and the refund. A cancelled call is a failure too.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from promptgen.blueprints import SchemaError, coerce_and_validate, compile_prompt
from promptgen.db import run_in_user_session
from promptgen.models import PromptAttachment, UserPrompt, UserSubscription
from promptgen.providers import (
    Completed,
    ImageInput,
    ProviderConfig,
    ProviderError,
    ProviderRequest,
    TextDelta,
    get_provider,
    stream_with_retry,
)
from promptgen.providers.base import PROVIDER_NAMES, timed_out
from promptgen.services import catalog, keys
from promptgen.services.images import CheckedImage, ImageRejected, check_images
from promptgen.services.quota import refund_quota, reserve_quota
from promptgen.services.subscriptions import get_plan_summary
from promptgen.settings import Settings, get_settings
from promptgen.vault import VaultError

log = logging.getLogger(__name__)

OFFLINE = "offline"
OFFLINE_NOTICE = "Compiled offline by the Blueprint compiler — not AI-refined."
LIMIT_MESSAGE = "Monthly limit reached — add your own API key in Settings to keep generating."
CANCELLED_MESSAGE = "Cancelled. Your inputs are kept and no quota was used."
INTERRUPTED_MESSAGE = "Interrupted before it finished. No quota was used; try again."


class GenerationError(Exception):
    """A generation that cannot run or failed; `message` is what the user sees.

    `kind`: "invalid" (fix the inputs), "limit" (quota used up, no own key), "unavailable"
    (no key for this provider), "provider" (the call failed), "cancelled".
    """

    def __init__(
        self,
        message: str,
        *,
        kind: str = "invalid",
        field_errors: dict[str, str] | None = None,
        prompt_id: uuid.UUID | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.field_errors = field_errors or {}
        self.prompt_id = prompt_id

    @property
    def needs_own_key(self) -> bool:
        return self.kind in ("limit", "unavailable")


@dataclass(frozen=True)
class ImageUpload:
    filename: str
    data: bytes

    def __repr__(self) -> str:
        return f"ImageUpload({self.filename!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class GenerationRequest:
    blueprint_id: int
    model_id: int
    signature_id: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    images: tuple[ImageUpload, ...] = ()


@dataclass(frozen=True)
class GenerationResult:
    prompt_id: uuid.UUID
    output: str
    compiled_prompt: str
    key_source: str
    model_display_name: str
    ai_refined: bool
    notice: str
    input_tokens: int | None
    output_tokens: int | None


@dataclass(frozen=True)
class Prepared:
    """Everything the provider call needs. Lives only for the call (it holds the key)."""

    prompt_id: uuid.UUID
    provider: str
    model_display_name: str
    request: ProviderRequest
    config: ProviderConfig
    key_source: str
    compiled_prompt: str

    def __repr__(self) -> str:
        return f"Prepared({self.prompt_id}, {self.provider}, {self.key_source})"


def _checked_images(request: GenerationRequest, supports_images: bool) -> list[CheckedImage]:
    if not request.images:
        return []
    if not supports_images:
        raise GenerationError("This model does not accept images. Remove them or pick another.")
    try:
        return check_images([(i.filename, i.data) for i in request.images])
    except ImageRejected as exc:
        raise GenerationError(exc.message) from None


def prepare(
    *,
    session: Session,
    user_id: uuid.UUID,
    request: GenerationRequest,
    settings: Settings | None = None,
    now: datetime | None = None,
) -> Prepared:
    """Validate and compile, choose the key, and save the pending history row."""
    settings = settings or get_settings()
    now = now or datetime.now(UTC)
    blueprint = catalog.get_blueprint(session=session, blueprint_id=request.blueprint_id)
    if blueprint is None:
        raise GenerationError("That blueprint is no longer available. Pick another one.")
    signature = None
    if request.signature_id:
        signature = catalog.get_signature(session=session, signature_id=request.signature_id)
        if signature is None:
            raise GenerationError("That visual signature is no longer available.")
    model = catalog.get_model(session=session, model_id=request.model_id)
    if model is None:
        raise GenerationError("That model is no longer available. Pick another one.")
    if model.allowed_tiers:  # most models are open to every plan: skip the lookup
        plan = get_plan_summary(session=session, user_id=user_id)
        # The plan's models while its status entitles it (see services/subscriptions).
        if not model.allowed_for(plan.entitled_slug if plan else None):
            raise GenerationError(f"{model.display_name} is not included in your plan.")

    values, errors = coerce_and_validate(blueprint.parameter_schema, request.parameters)
    if errors:
        raise GenerationError("Check the highlighted fields.", field_errors=errors)
    images = _checked_images(request, model.supports_images)
    try:
        compiled = compile_prompt(
            prompt_template=blueprint.prompt_template,
            parameters=values,
            signature_name=signature.name if signature else None,
            signature_style=signature.style_prompt if signature else None,
        )
    except SchemaError as exc:
        raise GenerationError(f"This blueprint could not be compiled: {exc.message}") from None

    api_key, key_source, reserved = _route_key(
        session=session, user_id=user_id, model=model, settings=settings, now=now
    )
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
        key_source=key_source,
        quota_reserved=reserved,
        status="pending",
        created_at=now,
    )
    session.add(prompt)
    session.flush()
    for image in images:
        session.add(
            PromptAttachment(
                prompt_id=prompt.id,
                user_id=user_id,
                filename=image.filename,
                mime_type=image.mime_type,
                size_bytes=len(image.data),
                sha256=image.sha256,
                data=image.data,
                created_at=now,
            )
        )
    return Prepared(
        prompt_id=prompt.id,
        provider=model.provider,
        model_display_name=model.display_name,
        request=ProviderRequest(
            model_name=model.model_name,
            prompt=compiled,
            instructions=blueprint.instructions,
            images=tuple(ImageInput(i.mime_type, i.data) for i in images),
        ),
        config=ProviderConfig(
            api_key=api_key,
            base_url=model.endpoint or settings.provider_base_url(model.provider),
            timeout_s=settings.provider_timeout_seconds,
        ),
        key_source=key_source,
        compiled_prompt=compiled,
    )


def _route_key(
    *,
    session: Session,
    user_id: uuid.UUID,
    model: catalog.ModelView,
    settings: Settings,
    now: datetime,
) -> tuple[str | None, str, bool]:
    """(api key, key source, quota reserved): the seed's routing, in order."""
    if model.provider == OFFLINE:
        return None, "offline", False
    provider_name = PROVIDER_NAMES.get(model.provider, model.provider)
    platform_key = settings.provider_key(model.provider)
    if platform_key and reserve_quota(session=session, user_id=user_id, now=now) is not None:
        return platform_key, "platform", True
    try:
        own_key = keys.open_key(session=session, user_id=user_id, provider=model.provider)
    except VaultError:
        log.error("stored %s key of user %s does not open", model.provider, user_id)
        raise GenerationError(
            f"Your saved {provider_name} key can no longer be read. Add it again in Settings.",
            kind="unavailable",
        ) from None
    if own_key:
        return own_key, "own_key", False
    if platform_key:
        raise GenerationError(LIMIT_MESSAGE, kind="limit")
    raise GenerationError(
        f"{model.display_name} is not available on this server. Add your own "
        f"{provider_name} API key in Settings to use it, or pick another model.",
        kind="unavailable",
    )


def finish_success(
    *,
    session: Session,
    user_id: uuid.UUID,
    prompt_id: uuid.UUID,
    output: str,
    input_tokens: int | None,
    output_tokens: int | None,
    latency_ms: int,
) -> None:
    # One UPDATE, scoped to the owner: this runs once per generation, on the hot path.
    session.execute(
        sa.update(UserPrompt)
        .where(UserPrompt.id == prompt_id, UserPrompt.user_id == user_id)
        .values(
            output=output,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            status="succeeded",
            latency_ms=latency_ms,
            completed_at=datetime.now(UTC),
        )
    )


def finish_failure(
    *,
    session: Session,
    user_id: uuid.UUID,
    prompt_id: uuid.UUID,
    message: str,
    status: str = "failed",
    output: str = "",
    latency_ms: int | None = None,
) -> None:
    """Record the failure and give back the unit of quota it reserved."""
    prompt = _own_prompt(session, user_id, prompt_id)
    if prompt.quota_reserved:
        _refund_for(session, prompt)
        prompt.quota_reserved = False
    prompt.status = status
    prompt.error_message = message
    prompt.output = output
    prompt.latency_ms = latency_ms
    prompt.completed_at = datetime.now(UTC)
    session.add(prompt)


def _own_prompt(session: Session, user_id: uuid.UUID, prompt_id: uuid.UUID) -> UserPrompt:
    prompt = session.exec(
        select(UserPrompt).where(UserPrompt.id == prompt_id, UserPrompt.user_id == user_id)
    ).one()
    return prompt


def _refund_for(session: Session, prompt: UserPrompt) -> None:
    period_start = session.exec(
        select(UserSubscription.usage_period_start).where(
            UserSubscription.user_id == prompt.user_id
        )
    ).first()
    # The unit belongs to the period the row was created in; once a new period began,
    # the count was reset and there is nothing to give back.
    if period_start is not None and prompt.created_at >= period_start:
        refund_quota(session=session, user_id=prompt.user_id, period_start=period_start)


def sweep_abandoned(*, session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Fail pending rows a crashed process left behind and refund their quota."""
    cutoff = (now or datetime.now(UTC)) - older_than
    rows = session.exec(
        select(UserPrompt)
        .where(UserPrompt.status == "pending", UserPrompt.created_at < cutoff)
        .with_for_update(skip_locked=True)
    ).all()
    for prompt in rows:
        if prompt.quota_reserved:
            _refund_for(session, prompt)
            prompt.quota_reserved = False
        prompt.status = "failed"
        prompt.error_message = INTERRUPTED_MESSAGE
        prompt.completed_at = datetime.now(UTC)
        session.add(prompt)
    if rows:
        log.info("refunded %d abandoned generations", len(rows))
    return len(rows)


def abandoned_after(settings: Settings | None = None) -> timedelta:
    """A pending row older than this belongs to a process that died."""
    settings = settings or get_settings()
    return timedelta(seconds=settings.provider_timeout_seconds * 2 + 60)


DeltaCallback = Callable[[str], Awaitable[None]]


async def run_generation(
    *,
    user_id: uuid.UUID,
    request: GenerationRequest,
    on_delta: DeltaCallback | None = None,
    settings: Settings | None = None,
) -> GenerationResult:
    """Run one generation end to end; raises GenerationError with the user's message."""
    settings = settings or get_settings()
    started = time.perf_counter()
    prepared = await run_in_user_session(
        prepare, user_id=user_id, request=request, settings=settings
    )
    provider = get_provider(prepared.provider)
    parts: list[str] = []
    usage = Completed()

    def elapsed_ms() -> int:
        return round((time.perf_counter() - started) * 1000)

    async def fail(message: str, status: str = "failed") -> None:
        # Shielded: a cancelled task must still record the failure and refund.
        await asyncio.shield(
            run_in_user_session(
                finish_failure,
                user_id=user_id,
                prompt_id=prepared.prompt_id,
                message=message,
                status=status,
                output="".join(parts),
                latency_ms=elapsed_ms(),
            )
        )

    try:
        async with asyncio.timeout(prepared.config.timeout_s):
            async for item in stream_with_retry(provider, prepared.request, prepared.config):
                if isinstance(item, TextDelta):
                    parts.append(item.text)
                    if on_delta is not None:
                        await on_delta(item.text)
                elif isinstance(item, Completed):
                    usage = item
    except ProviderError as exc:
        await fail(exc.message)
        raise GenerationError(exc.message, kind="provider", prompt_id=prepared.prompt_id) from None
    except TimeoutError:
        message = timed_out(provider.name, prepared.config.timeout_s).message
        await fail(message)
        raise GenerationError(message, kind="provider", prompt_id=prepared.prompt_id) from None
    except asyncio.CancelledError:
        await fail(CANCELLED_MESSAGE, status="cancelled")
        raise
    except Exception:
        # Unknown failure: record and refund, keep the details in the server log only.
        log.exception("generation %s failed unexpectedly", prepared.prompt_id)
        message = "Something went wrong while generating. Your inputs are kept; try again."
        await fail(message)
        raise GenerationError(message, kind="provider", prompt_id=prepared.prompt_id) from None

    output = "".join(parts).strip()
    if not output:
        message = f"{provider.name} returned an empty answer. Try again."
        await fail(message)
        raise GenerationError(message, kind="provider", prompt_id=prepared.prompt_id)
    await asyncio.shield(
        run_in_user_session(
            finish_success,
            user_id=user_id,
            prompt_id=prepared.prompt_id,
            output=output,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            latency_ms=elapsed_ms(),
        )
    )
    offline = prepared.provider == OFFLINE
    return GenerationResult(
        prompt_id=prepared.prompt_id,
        output=output,
        compiled_prompt=prepared.compiled_prompt,
        key_source=prepared.key_source,
        model_display_name=prepared.model_display_name,
        ai_refined=not offline,
        notice=OFFLINE_NOTICE if offline else _key_notice(prepared.key_source),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
    )


def _key_notice(key_source: str) -> str:
    if key_source == "own_key":
        return "Refined with your own API key (no quota used)."
    return "Refined with the platform key (1 generation used)."
