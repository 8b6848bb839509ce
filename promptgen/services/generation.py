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
from enum import StrEnum
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlmodel import Session, col, select

from promptgen.blueprints import SchemaError, coerce_and_validate, compile_prompt
from promptgen.db import (
    is_postgres,
    run_in_session,
    run_in_user_session,
    run_user_statement,
    uses_postgres,
)
from promptgen.errors import UserFacingError
from promptgen.models import KeySource, PromptAttachment, PromptStatus, UserPrompt
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
from promptgen.providers.base import PROVIDER_NAMES, ProviderName, timed_out
from promptgen.services import catalog, drafts, keys, user_blueprints
from promptgen.services.images import CheckedImage, ImageRejected, check_images
from promptgen.services.plans import get_plan_summary
from promptgen.services.pricing import cost_expression
from promptgen.services.quota import refund_reservation, reserve_quota
from promptgen.services.signatures import (
    DEFAULT_WEIGHT,
    SignatureChoice,
    SignatureChoiceError,
    StyleClause,
    WeightedStyle,
    check_choices,
    combine,
)
from promptgen.settings import Settings, get_settings
from promptgen.vault import VaultError

log = logging.getLogger(__name__)

OFFLINE_NOTICE = "Compiled offline by the Blueprint compiler — not AI-refined."
LIMIT_MESSAGE = "Monthly limit reached — add your own API key in Settings to keep generating."
CANCELLED_MESSAGE = "Cancelled. Your inputs are kept and no quota was used."
CANCELLED_AFTER_OUTPUT_MESSAGE = (
    "Cancelled. The part of the answer that arrived is kept in your history and counts as a "
    "generation."
)
INTERRUPTED_MESSAGE = "Interrupted before it finished. No quota was used; try again."
DATABASE_DOWN_MESSAGE = (
    "PromptGen's database is not answering just now. Your inputs are kept and no quota was "
    "used; try again in a moment."
)
NOT_SAVED_YET_NOTICE = (
    "The database is not answering, so this answer is not in your history yet; it is saved "
    "as soon as the database is back."
)


class FailureKind(StrEnum):
    """Why a generation did not run or did not finish."""

    INVALID = "invalid"  # fix the inputs
    LIMIT = "limit"  # the plan's quota is used up and there is no own key
    UNAVAILABLE = "unavailable"  # no key for this provider
    PROVIDER = "provider"  # the provider call failed
    DATABASE = "database"  # the database did not answer; try again


class GenerationError(UserFacingError):
    """A generation that cannot run or failed; `message` is what the user sees.

    `kind` says what the user can do about it (a FailureKind).
    """

    def __init__(
        self,
        message: str,
        *,
        kind: FailureKind = FailureKind.INVALID,
        field_errors: dict[str, str] | None = None,
        prompt_id: uuid.UUID | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.field_errors = field_errors or {}
        self.prompt_id = prompt_id

    @property
    def needs_own_key(self) -> bool:
        return self.kind in (FailureKind.LIMIT, FailureKind.UNAVAILABLE)


@dataclass(frozen=True)
class ImageUpload:
    filename: str
    data: bytes

    def __repr__(self) -> str:
        return f"ImageUpload({self.filename!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class GenerationRequest:
    blueprint_id: int  # a catalog blueprint's id; 0 with blueprint_ref
    model_id: int
    signature_id: int | None = None  # one signature at the default weight
    parameters: dict[str, Any] = field(default_factory=dict)
    images: tuple[ImageUpload, ...] = ()
    # "catalog:<slug>", "user:<uuid>" or "user:<uuid>@<version>" (services/user_blueprints);
    # when set it names the blueprint instead of blueprint_id.
    blueprint_ref: str = ""
    # Up to three weighted signatures (services/signatures.py); wins over signature_id.
    signatures: tuple[SignatureChoice, ...] = ()

    def signature_choices(self) -> tuple[SignatureChoice, ...]:
        if self.signatures:
            return self.signatures
        if self.signature_id:
            return (SignatureChoice(self.signature_id, DEFAULT_WEIGHT),)
        return ()

    # The side-by-side comparison this generation is a column of (services/compare.py).
    comparison_id: uuid.UUID | None = None


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

    @property
    def counted_against_quota(self) -> bool:
        """Whether this generation used a unit of the plan's quota (the platform key)."""
        return self.key_source == KeySource.PLATFORM


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


AnyBlueprint = catalog.BlueprintView | user_blueprints.ResolvedBlueprint


@dataclass(frozen=True)
class Compiled:
    """A request checked against the catalog and compiled: what the pending row records."""

    blueprint: AnyBlueprint
    model: catalog.ModelView
    clause: StyleClause | None
    signature_id: int | None  # the leading signature; the clause's name records the mix
    values: dict[str, Any]
    prompt: str
    images: list[CheckedImage]


def _compile(
    request: GenerationRequest,
    *,
    blueprint: AnyBlueprint | None,
    model_of: Callable[[int], catalog.ModelView | None],
    signature_of: Callable[[int], catalog.SignatureView | None],
) -> Compiled:
    """Check the request (blueprint, signatures, model, parameters, images) and compile it.
    Both paths call this: `prepare` looks rows up in its session, the PostgreSQL fast path
    in the cached catalog snapshot."""
    if blueprint is None:
        raise GenerationError("That blueprint is no longer available. Pick another one.")
    signatures: list[tuple[catalog.SignatureView, int]] = []
    # A blueprint that takes no signature gets none, whatever the request says: a code
    # review must never end with a visual style.
    if blueprint.takes_signature:
        try:
            choices = check_choices(request.signature_choices())
        except SignatureChoiceError as exc:
            raise GenerationError(exc.message) from None
        for choice in choices:
            view = signature_of(choice.signature_id)
            if view is None:
                raise GenerationError("That visual signature is no longer available.")
            signatures.append((view, choice.weight))
        # Leading (heaviest) first; stable, so equal weights keep the order they were picked.
        signatures.sort(key=lambda pair: -pair[1])
    model = model_of(request.model_id)
    if model is None:
        raise GenerationError("That model is no longer available. Pick another one.")
    values, errors = coerce_and_validate(blueprint.parameter_schema, request.parameters)
    if errors:
        raise GenerationError("Check the highlighted fields.", field_errors=errors)
    images = _checked_images(request, model.supports_images)
    clause = combine(
        [WeightedStyle(view.name, view.style_prompt, weight) for view, weight in signatures]
    )
    try:
        prompt = compile_prompt(
            prompt_template=blueprint.prompt_template,
            parameters=values,
            signature_name=clause.name if clause else None,
            signature_style=clause.style if clause else None,
        )
    except SchemaError as exc:
        raise GenerationError(f"This blueprint could not be compiled: {exc.message}") from None
    return Compiled(
        blueprint=blueprint,
        model=model,
        clause=clause,
        signature_id=signatures[0][0].id if signatures else None,
        values=values,
        prompt=prompt,
        images=images,
    )


def _plan_allows(*, session: Session, user_id: uuid.UUID, model: catalog.ModelView) -> bool:
    """Whether the user's plan, while its status entitles it (services/plans), includes
    `model`. Most models are open to every plan, and callers skip this for them."""
    plan = get_plan_summary(session=session, user_id=user_id)
    return model.allowed_for(plan.entitled_slug if plan else None)


def _not_in_plan(model: catalog.ModelView) -> GenerationError:
    return GenerationError(f"{model.display_name} is not included in your plan.")


def _prepared(
    prompt_id: uuid.UUID,
    compiled: Compiled,
    *,
    api_key: str | None,
    key_source: str,
    settings: Settings,
) -> Prepared:
    model = compiled.model
    return Prepared(
        prompt_id=prompt_id,
        provider=model.provider,
        model_display_name=model.display_name,
        request=ProviderRequest(
            model_name=model.model_name,
            prompt=compiled.prompt,
            instructions=compiled.blueprint.instructions,
            images=tuple(ImageInput(i.mime_type, i.data) for i in compiled.images),
        ),
        config=ProviderConfig(
            api_key=api_key,
            base_url=model.endpoint or settings.provider_base_url(model.provider),
            timeout_s=settings.provider_timeout_seconds,
        ),
        key_source=key_source,
        compiled_prompt=compiled.prompt,
    )


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
    blueprint: AnyBlueprint | None
    template_id: int | None = request.blueprint_id
    version_id: uuid.UUID | None = None
    if request.blueprint_ref:
        blueprint = user_blueprints.resolve_blueprint(
            session=session, user_id=user_id, reference=request.blueprint_ref
        )
        if blueprint is not None:
            template_id, version_id = blueprint.catalog_id, blueprint.version_id
    else:
        blueprint = catalog.get_blueprint(session=session, blueprint_id=request.blueprint_id)
    compiled = _compile(
        request,
        blueprint=blueprint,
        model_of=lambda model_id: catalog.get_model(session=session, model_id=model_id),
        signature_of=lambda sig_id: catalog.get_signature(session=session, signature_id=sig_id),
    )
    model = compiled.model
    if model.allowed_tiers and not _plan_allows(session=session, user_id=user_id, model=model):
        raise _not_in_plan(model)

    # The row goes in first: a platform-key reservation is recorded on it (quota module).
    # A core INSERT naming its columns: the user role may not write quota_reserved, which
    # takes its server default (false).
    prompt_id = uuid.uuid4()
    session.execute(
        sa.insert(UserPrompt).values(
            id=prompt_id,
            user_id=user_id,
            template_id=template_id,
            blueprint_version_id=version_id,
            signature_id=compiled.signature_id,
            model_id=model.id,
            template_name=compiled.blueprint.name,
            signature_name=compiled.clause.name[:120] if compiled.clause else "",
            model_name=model.display_name,
            parameters=compiled.values,
            compiled_prompt=compiled.prompt,
            key_source=KeySource.OFFLINE
            if model.provider == ProviderName.OFFLINE
            else KeySource.OWN_KEY,
            status=PromptStatus.PENDING,
            created_at=now,
            comparison_id=request.comparison_id,
        )
    )
    api_key, key_source = _route_key(
        session=session,
        user_id=user_id,
        prompt_id=prompt_id,
        model=model,
        settings=settings,
        now=now,
    )
    for image in compiled.images:
        session.add(
            PromptAttachment(
                prompt_id=prompt_id,
                user_id=user_id,
                filename=image.filename,
                mime_type=image.mime_type,
                size_bytes=len(image.data),
                sha256=image.sha256,
                data=image.data,
                created_at=now,
            )
        )
    return _prepared(prompt_id, compiled, api_key=api_key, key_source=key_source, settings=settings)


def _route_key(
    *,
    session: Session,
    user_id: uuid.UUID,
    prompt_id: uuid.UUID,
    model: catalog.ModelView,
    settings: Settings,
    now: datetime,
) -> tuple[str | None, str]:
    """(api key, key source): the seed's routing, in order. A platform-key reservation
    marks the pending row `prompt_id` (quota_reserved, key_source "platform")."""
    if model.provider == ProviderName.OFFLINE:
        return None, KeySource.OFFLINE
    platform_key = settings.provider_key(model.provider)
    if platform_key and reserve_quota(
        session=session, user_id=user_id, now=now, prompt_id=prompt_id
    ):
        return platform_key, KeySource.PLATFORM
    own_key = _open_own_key(
        session=session, user_id=user_id, model=model, platform_key_set=bool(platform_key)
    )
    return own_key, KeySource.OWN_KEY


# --- PostgreSQL: `prepare` in one round trip, on the event loop (issue 14) -----------------

_START_SQL = (
    "SELECT outcome, used FROM promptgen_start_generation("
    "%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
STALE_CATALOG_RETRIES = 3


_snapshot_locks: dict[int, asyncio.Lock] = {}


async def _checked_snapshot() -> catalog.CatalogSnapshot:
    """The catalog checked against its version, read by one request at a time: a burst of
    generations after a catalog change waits for one reload instead of each opening a
    connection of its own to read the same rows."""
    loop_id = id(asyncio.get_running_loop())
    lock = _snapshot_locks.setdefault(loop_id, asyncio.Lock())
    async with lock:
        return await run_in_session(catalog.snapshot)


def _fast_path_applies(request: GenerationRequest) -> bool:
    """The common request: a catalog blueprint, no images, not part of a comparison.
    Anything else takes `prepare` (one ORM transaction in a thread): own blueprints are not
    in the catalog snapshot, and images and comparison ids are more than the one statement
    writes."""
    return not request.blueprint_ref and request.comparison_id is None and not request.images


def _open_own_key(
    *, session: Session, user_id: uuid.UUID, model: catalog.ModelView, platform_key_set: bool
) -> str:
    """The user's own key for the model's provider, or the GenerationError `_route_key`
    raises when there is none."""
    provider_name = PROVIDER_NAMES.get(model.provider, model.provider)
    try:
        own_key = keys.open_key(session=session, user_id=user_id, provider=model.provider)
    except VaultError:
        log.error("stored %s key of user %s does not open", model.provider, user_id)
        raise GenerationError(
            f"Your saved {provider_name} key can no longer be read. Add it again in Settings.",
            kind=FailureKind.UNAVAILABLE,
        ) from None
    if own_key:
        return own_key
    if platform_key_set:
        raise GenerationError(LIMIT_MESSAGE, kind=FailureKind.LIMIT)
    raise GenerationError(
        f"{model.display_name} is not available on this server. Add your own "
        f"{provider_name} API key in Settings to use it, or pick another model.",
        kind=FailureKind.UNAVAILABLE,
    )


async def _prepare_on_postgres(
    *, user_id: uuid.UUID, request: GenerationRequest, settings: Settings
) -> Prepared:
    """`prepare` without an ORM session or a thread: the catalog from memory, and one
    statement (promptgen_start_generation) that checks the catalog version the prompt was
    compiled against, reserves the unit and saves the pending row, in one round trip. A
    changed catalog is reloaded and the request compiled again; a failure judged against the
    unchecked memory is judged again against a checked snapshot. The user's own key is read
    only when the platform key cannot be used."""
    snapshot = catalog.cached_snapshot_for(get_settings().database_url)
    for _ in range(STALE_CATALOG_RETRIES):
        verified = snapshot is None
        if snapshot is None:
            snapshot = await _checked_snapshot()
        try:
            compiled = _compile(
                request,
                blueprint=snapshot.blueprints.get(request.blueprint_id),
                model_of=snapshot.models.get,
                signature_of=snapshot.signatures.get,
            )
        except GenerationError:
            if verified:
                raise
            snapshot = None  # the memory may be behind (a blueprint added just now)
            continue
        model, blueprint, clause = compiled.model, compiled.blueprint, compiled.clause
        if model.allowed_tiers and not await run_in_user_session(
            _plan_allows, user_id=user_id, model=model
        ):
            raise _not_in_plan(model)
        prompt_id = uuid.uuid4()
        platform_key = settings.provider_key(model.provider)
        routes: list[tuple[bool, str]]
        if model.provider == ProviderName.OFFLINE:
            routes = [(False, KeySource.OFFLINE)]
        elif platform_key:
            routes = [(True, KeySource.PLATFORM), (False, KeySource.OWN_KEY)]
        else:
            routes = [(False, KeySource.OWN_KEY)]
        outcome, api_key, key_source = "", None, ""
        for reserve, key_source in routes:
            if key_source == KeySource.OWN_KEY:
                api_key = await run_in_user_session(
                    _open_own_key,
                    user_id=user_id,
                    model=model,
                    platform_key_set=bool(platform_key),
                )
            rows = await run_user_statement(
                user_id,
                _START_SQL,
                (
                    prompt_id,
                    snapshot.version,
                    reserve,
                    str(key_source),
                    request.blueprint_id,
                    compiled.signature_id,
                    model.id,
                    blueprint.name,
                    clause.name[:120] if clause else "",
                    model.display_name,
                    Jsonb(compiled.values),
                    compiled.prompt,
                    datetime.now(UTC),
                ),
                # The pending row and its unit need not wait for the disk: the finish's
                # durable commit flushes them too. Only a crash of PostgreSQL itself in
                # between can lose them, and then nothing is charged.
                flush_wal=False,
            )
            outcome = rows[0][0]
            if outcome == "reserved":
                api_key = platform_key
            if outcome != "no_quota":
                break
        if outcome == "stale":
            catalog.forget_snapshot_for(get_settings().database_url, snapshot)
            snapshot = None  # written since it was read: reload and compile again
            continue
        return _prepared(
            prompt_id, compiled, api_key=api_key, key_source=key_source, settings=settings
        )
    raise GenerationError(
        "The catalog is being updated just now. Your inputs are kept; try again.",
        kind=FailureKind.DATABASE,
    )


@dataclass(frozen=True)
class Outcome:
    """How one generation ended: what `finish_success`/`finish_failure` record."""

    prompt_id: uuid.UUID
    status: PromptStatus
    output: str = ""
    error: str | None = None
    latency_ms: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    # Give back the reserved unit: only when no output reached the user (output delivered
    # is output paid).
    refund: bool = False


# The SECURITY DEFINER function records the outcome, settles the unit (given back only when
# nothing was delivered; db_security) and, on success, drops the form's draft: one statement,
# which the user role may not do by hand.
_FINISH_SQL = "SELECT promptgen_finish_generation(%s, %s, %s, %s, %s, %s, %s)"


def _finish_params(outcome: Outcome) -> tuple[Any, ...]:
    # The function refunds exactly when nothing was delivered (an empty output).
    output = "" if outcome.refund else outcome.output
    return (
        outcome.prompt_id,
        str(outcome.status),
        output,
        outcome.error,
        outcome.latency_ms,
        outcome.input_tokens,
        outcome.output_tokens,
    )


def record_outcome(*, session: Session, user_id: uuid.UUID, outcome: Outcome) -> None:
    """Record `outcome` in one transaction of a user session (SQLite, and PostgreSQL callers
    that hold a session; the generation path itself uses `_write_outcome`)."""
    if is_postgres(session):
        session.connection().exec_driver_sql(_FINISH_SQL, _finish_params(outcome))
        return
    if outcome.status == PromptStatus.SUCCEEDED:
        # The form's draft did its job (services/drafts.py); a failure keeps it.
        drafts.clear_after_generation(session=session, user_id=user_id, prompt_id=outcome.prompt_id)
    elif outcome.refund:
        # The refund first: only a row that is still pending can give its unit back.
        refund_reservation(session=session, prompt_id=outcome.prompt_id)
    # One UPDATE, scoped to the owner: this runs once per generation, on the hot path.
    values: dict[str, Any] = {
        "status": outcome.status,
        "output": outcome.output,
        "latency_ms": outcome.latency_ms,
        "completed_at": datetime.now(UTC),
    }
    if outcome.status == PromptStatus.SUCCEEDED:
        values.update(
            input_tokens=outcome.input_tokens,
            output_tokens=outcome.output_tokens,
            estimated_cost_micros=cost_expression(
                col(UserPrompt.model_id), outcome.input_tokens, outcome.output_tokens
            ),
        )
    else:
        values["error_message"] = outcome.error
    session.execute(
        sa.update(UserPrompt)
        .where(col(UserPrompt.id) == outcome.prompt_id, col(UserPrompt.user_id) == user_id)
        .values(**values)
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
    record_outcome(
        session=session,
        user_id=user_id,
        outcome=Outcome(
            prompt_id=prompt_id,
            status=PromptStatus.SUCCEEDED,
            output=output,
            latency_ms=latency_ms,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
        ),
    )


def finish_failure(
    *,
    session: Session,
    user_id: uuid.UUID,
    prompt_id: uuid.UUID,
    message: str,
    status: PromptStatus = PromptStatus.FAILED,
    output: str = "",
    latency_ms: int | None = None,
    refund: bool = True,
) -> None:
    """Record the failure, and give back the unit of quota it reserved when `refund` (only
    when no output reached the user: output delivered is output paid)."""
    record_outcome(
        session=session,
        user_id=user_id,
        outcome=Outcome(
            prompt_id=prompt_id,
            status=status,
            output=output,
            error=message,
            latency_ms=latency_ms,
            refund=refund,
        ),
    )


def sweep_abandoned(*, session: Session, older_than: timedelta, now: datetime | None = None) -> int:
    """Fail pending rows a crashed process left behind and refund their quota. Admin session."""
    cutoff = (now or datetime.now(UTC)) - older_than
    prompt_ids = session.exec(
        select(UserPrompt.id)
        .where(col(UserPrompt.status) == PromptStatus.PENDING, col(UserPrompt.created_at) < cutoff)
        .with_for_update(skip_locked=True)
    ).all()
    for prompt_id in prompt_ids:
        refund_reservation(session=session, prompt_id=prompt_id)
    if prompt_ids:
        session.execute(
            sa.update(UserPrompt)
            .where(col(UserPrompt.id).in_(prompt_ids))
            .values(
                status=PromptStatus.FAILED,
                error_message=INTERRUPTED_MESSAGE,
                completed_at=datetime.now(UTC),
            )
        )
        log.info("refunded %d abandoned generations", len(prompt_ids))
    return len(prompt_ids)


def abandoned_after(settings: Settings | None = None) -> timedelta:
    """A pending row older than this belongs to a process that died."""
    settings = settings or get_settings()
    return timedelta(seconds=settings.provider_timeout_seconds * 2 + 60)


DeltaCallback = Callable[[str], Awaitable[None]]

# Pending writes waiting for the database to answer again (kept so they are not collected).
_pending_records: set[asyncio.Task[None]] = set()
RECORD_RETRY_FIRST_S = 0.5
RECORD_RETRY_MAX_S = 10.0


def database_unreachable(exc: BaseException) -> bool:
    """Whether `exc` means the database could not be reached (not a bug, not bad data)."""
    if isinstance(exc, (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)):
        return True
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError, OSError)):
        return True  # the generation path's async driver (db.run_user_statement)
    return isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated


async def _write_outcome(user_id: uuid.UUID, outcome: Outcome) -> None:
    """One transaction: on PostgreSQL a single statement on the event loop (no thread, no
    ORM: this is on every generation's path), elsewhere `record_outcome` in a session."""
    if uses_postgres():
        await run_user_statement(user_id, _FINISH_SQL, _finish_params(outcome))
    else:
        await run_in_user_session(record_outcome, user_id=user_id, outcome=outcome)


async def _record_until_done(user_id: uuid.UUID, outcome: Outcome, give_up_after: float) -> None:
    delay, waited = RECORD_RETRY_FIRST_S, 0.0
    while True:
        await asyncio.sleep(delay)
        waited += delay
        try:
            await _write_outcome(user_id, outcome)
        except Exception as exc:
            if not database_unreachable(exc) or waited >= give_up_after:
                # The crash sweep refunds a reservation left pending; nothing else is lost.
                log.error("gave up recording generation %s: %s", outcome.prompt_id, exc)
                return
            delay = min(delay * 2, RECORD_RETRY_MAX_S)
            continue
        log.info("recorded generation %s once the database answered", outcome.prompt_id)
        return


async def _record(user_id: uuid.UUID, outcome: Outcome, settings: Settings) -> bool:
    """Write a generation's outcome; while the database is down, keep retrying in the
    background (so a refund lands as soon as it answers) and return False."""
    try:
        await _write_outcome(user_id, outcome)
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        log.warning("database unreachable recording generation %s", outcome.prompt_id)
        task = asyncio.get_running_loop().create_task(
            _record_until_done(user_id, outcome, abandoned_after(settings).total_seconds())
        )
        _pending_records.add(task)
        task.add_done_callback(_pending_records.discard)
        return False
    return True


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
    # The transaction runs in a worker thread and commits even if this task is cancelled
    # meanwhile (a compare column's Cancel can land that early): wait for it, then record
    # the cancellation, so no pending row keeps a unit until the crash sweep.
    if uses_postgres() and _fast_path_applies(request):
        start = _prepare_on_postgres(user_id=user_id, request=request, settings=settings)
    else:
        start = run_in_user_session(prepare, user_id=user_id, request=request, settings=settings)
    preparing = asyncio.ensure_future(start)
    try:
        prepared = await asyncio.shield(preparing)
    except asyncio.CancelledError:
        await asyncio.shield(_cancelled_while_preparing(preparing, user_id, settings))
        raise
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        # Nothing was reserved: the transaction that would have reserved never committed.
        log.warning("database unreachable preparing a generation: %s: %s", type(exc).__name__, exc)
        raise GenerationError(DATABASE_DOWN_MESSAGE, kind=FailureKind.DATABASE) from None
    provider = get_provider(prepared.provider)
    parts: list[str] = []
    usage = Completed()

    def elapsed_ms() -> int:
        return round((time.perf_counter() - started) * 1000)

    async def fail(message: str, status: PromptStatus = PromptStatus.FAILED) -> None:
        # Output delivered is output paid: only a call that showed the user nothing gives
        # its unit back. Anything that arrived is kept in history with the failure.
        # Shielded: a cancelled task must still record the failure and refund.
        output = "".join(parts)
        outcome = Outcome(
            prompt_id=prepared.prompt_id,
            status=status,
            output=output,
            error=message,
            latency_ms=elapsed_ms(),
            refund=not output.strip(),
        )
        await asyncio.shield(_record(user_id, outcome, settings))

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
        raise GenerationError(
            exc.message, kind=FailureKind.PROVIDER, prompt_id=prepared.prompt_id
        ) from None
    except TimeoutError:
        message = timed_out(provider.name, prepared.config.timeout_s).message
        await fail(message)
        raise GenerationError(
            message, kind=FailureKind.PROVIDER, prompt_id=prepared.prompt_id
        ) from None
    except asyncio.CancelledError:
        await fail(
            cancelled_message(delivered=bool("".join(parts).strip())), status=PromptStatus.CANCELLED
        )
        raise
    except Exception:
        # Unknown failure: record and refund, keep the details in the server log only.
        log.exception("generation %s failed unexpectedly", prepared.prompt_id)
        message = "Something went wrong while generating. Your inputs are kept; try again."
        await fail(message)
        raise GenerationError(
            message, kind=FailureKind.PROVIDER, prompt_id=prepared.prompt_id
        ) from None

    output = "".join(parts).strip()
    if not output:
        message = f"{provider.name} returned an empty answer. Try again."
        await fail(message)
        raise GenerationError(message, kind=FailureKind.PROVIDER, prompt_id=prepared.prompt_id)
    success = Outcome(
        prompt_id=prepared.prompt_id,
        status=PromptStatus.SUCCEEDED,
        output=output,
        latency_ms=elapsed_ms(),
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
    )
    saved = await asyncio.shield(_record(user_id, success, settings))
    offline = prepared.provider == ProviderName.OFFLINE
    notice = OFFLINE_NOTICE if offline else _key_notice(prepared.key_source)
    if not saved:
        notice = f"{notice} {NOT_SAVED_YET_NOTICE}"
    return GenerationResult(
        prompt_id=prepared.prompt_id,
        output=output,
        compiled_prompt=prepared.compiled_prompt,
        key_source=prepared.key_source,
        model_display_name=prepared.model_display_name,
        ai_refined=not offline,
        notice=notice,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
    )


async def _cancelled_while_preparing(
    preparing: asyncio.Future[Prepared], user_id: uuid.UUID, settings: Settings
) -> None:
    try:
        prepared = await preparing
    except Exception:
        return  # nothing was prepared, so nothing was reserved
    cancelled = Outcome(
        prompt_id=prepared.prompt_id,
        status=PromptStatus.CANCELLED,
        error=CANCELLED_MESSAGE,
        refund=True,
    )
    await _record(user_id, cancelled, settings)


def cancelled_message(*, delivered: bool) -> str:
    """What a cancelled generation says, depending on whether any answer reached the user."""
    return CANCELLED_AFTER_OUTPUT_MESSAGE if delivered else CANCELLED_MESSAGE


def _key_notice(key_source: str) -> str:
    if key_source == KeySource.OWN_KEY:
        return "Refined with your own API key (no quota used)."
    return "Refined with the platform key (1 generation used)."
