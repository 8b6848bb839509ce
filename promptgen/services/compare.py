"""Compare mode: one blueprint form, several models or signatures side by side.

A comparison is nothing but ordinary generations sharing a `comparison_id`: each column runs
`generation.run_generation` on its own task, so quota, own keys, refunds and cancellation
apply to each column exactly as to a single generation (a column's failure or Cancel touches
no other column). Before running, `plan_columns` predicts from the same rules which columns
would use the plan, the user's own keys, or cannot run, for the sentence the page shows.

Ratings (thumbs, a note, a winner per comparison) live in `prompt_ratings`, one row per rated
generation with its model, signature and blueprint copied in, so the personal leaderboard is
one GROUP BY. Every query here is scoped to the owner (and by RLS on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from promptgen.blueprints import coerce_and_validate
from promptgen.models import PromptRating, UserPrompt
from promptgen.providers.base import PROVIDER_NAMES, ProviderName
from promptgen.services import catalog, generation, keys
from promptgen.services.generation import GenerationError, GenerationRequest
from promptgen.services.plans import get_plan_summary
from promptgen.services.pricing import format_cost
from promptgen.settings import Settings, get_settings

MIN_TARGETS = 2
MAX_TARGETS = 4
MAX_NOTE = 1000


class CompareError(Exception):
    """A comparison that cannot start; `message` is what the user sees."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ColumnSpec:
    """One column: a model, with a signature or none."""

    model_id: int
    signature_id: int | None = None

    @property
    def key(self) -> str:
        return f"{self.model_id}:{self.signature_id or 0}"


def check_columns(columns: list[ColumnSpec], *, baseline: bool) -> None:
    """2 to 4 distinct targets (the offline baseline comes on top)."""
    targets = len(columns) - (1 if baseline else 0)
    if targets < MIN_TARGETS:
        raise CompareError(f"Pick at least {MIN_TARGETS} targets to compare.")
    if targets > MAX_TARGETS:
        raise CompareError(f"Compare at most {MAX_TARGETS} targets at a time.")
    if len({c.key for c in columns}) != len(columns):
        raise CompareError("Two columns are the same model and signature. Change one of them.")


def check_parameters(
    *, session: Session, blueprint_id: int, parameters: dict[str, Any]
) -> dict[str, str]:
    """The form's field errors (empty when valid), checked once before any column starts:
    the same validation every column's generation runs again."""
    blueprint = catalog.get_blueprint(session=session, blueprint_id=blueprint_id)
    if blueprint is None:
        raise CompareError("That blueprint is no longer available. Pick another one.")
    _, errors = coerce_and_validate(blueprint.parameter_schema, parameters)
    return errors


# --- what it will cost ------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnRoute:
    model_id: int
    route: str  # offline | platform | own_key | refused
    provider: str


@dataclass(frozen=True)
class CostPlan:
    routes: list[ColumnRoute]
    plan_units: int
    left_before: int
    own_key_units: dict[str, int]  # provider display name -> columns on the user's key
    refused: int
    free: int
    statement: str


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def plan_columns(
    *,
    session: Session,
    user_id: uuid.UUID,
    model_ids: list[int],
    settings: Settings | None = None,
) -> CostPlan:
    """Which key each column would use, by `generation._route_key`'s rules in column order:
    the plan while units are left and the platform has a key for the provider, else the
    user's own key for it, else the column cannot run. Columns run in parallel, so which
    of two same-provider columns gets the last unit may differ; the totals do not."""
    settings = settings or get_settings()
    plan = get_plan_summary(session=session, user_id=user_id)
    left = max(0, plan.monthly_quota - plan.usage_count) if plan else 0
    left_before = left
    own = {k.provider for k in keys.list_keys(session=session, user_id=user_id)}
    routes: list[ColumnRoute] = []
    for model_id in model_ids:
        model = catalog.get_model(session=session, model_id=model_id)
        if model is None:
            routes.append(ColumnRoute(model_id, "refused", ""))
            continue
        if model.provider == ProviderName.OFFLINE:
            routes.append(ColumnRoute(model_id, "offline", ProviderName.OFFLINE))
        elif settings.provider_key(model.provider) and left > 0:
            left -= 1
            routes.append(ColumnRoute(model_id, "platform", model.provider))
        elif model.provider in own:
            routes.append(ColumnRoute(model_id, "own_key", model.provider))
        else:
            routes.append(ColumnRoute(model_id, "refused", model.provider))
    plan_units = sum(r.route == "platform" for r in routes)
    own_units: dict[str, int] = {}
    for r in routes:
        if r.route == "own_key":
            name = PROVIDER_NAMES.get(r.provider, r.provider)
            own_units[name] = own_units.get(name, 0) + 1
    refused = sum(r.route == "refused" for r in routes)
    free = sum(r.route == "offline" for r in routes)
    return CostPlan(
        routes=routes,
        plan_units=plan_units,
        left_before=left_before,
        own_key_units=own_units,
        refused=refused,
        free=free,
        statement=_statement(plan_units, left_before, own_units, refused, free),
    )


def _statement(
    plan_units: int, left: int, own_units: dict[str, int], refused: int, free: int
) -> str:
    if plan_units:
        parts = [f"Uses {_plural(plan_units, 'generation')} from your plan ({left} left)"]
    else:
        parts = [f"Uses no generations from your plan ({left} left)"]
    for name, n in sorted(own_units.items()):
        parts.append(f"{n} with your own {name} key")
    if free:
        parts.append(f"{free} free (Blueprint compiler)")
    text = ", ".join(parts) + "."
    if refused:
        text += (
            f" {_plural(refused, 'column')} cannot run: monthly limit reached and no own key "
            "for its provider (add one in Settings)."
        )
    return text


# --- running ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnOutcome:
    index: int
    status: str  # succeeded | failed | cancelled | refused
    message: str
    output: str
    needs_own_key: bool
    prompt_id: str


DeltaSink = Callable[[int, str], Awaitable[None]]
DoneSink = Callable[[ColumnOutcome], Awaitable[None]]


async def run_comparison(
    *,
    user_id: uuid.UUID,
    comparison_id: uuid.UUID,
    blueprint_id: int,
    parameters: dict[str, Any],
    columns: list[ColumnSpec],
    images: tuple[generation.ImageUpload, ...] = (),
    on_delta: DeltaSink | None = None,
    on_done: DoneSink | None = None,
    on_task: Callable[[int, asyncio.Task], None] | None = None,
    settings: Settings | None = None,
) -> list[ColumnOutcome]:
    """Run every column at once, each an ordinary generation on its own task. `on_task`
    receives each column's task so one can be cancelled alone; a column's failure or
    cancellation is its outcome, never another column's."""

    async def column(index: int, spec: ColumnSpec) -> ColumnOutcome:
        request = GenerationRequest(
            blueprint_id=blueprint_id,
            model_id=spec.model_id,
            signature_id=spec.signature_id,
            parameters=parameters,
            images=images,
            comparison_id=comparison_id,
        )

        async def delta(text: str) -> None:
            if on_delta is not None:
                await on_delta(index, text)

        try:
            result = await generation.run_generation(
                user_id=user_id, request=request, on_delta=delta, settings=settings
            )
            outcome = ColumnOutcome(
                index, "succeeded", result.notice, result.output, False, str(result.prompt_id)
            )
        except GenerationError as exc:
            status = "failed" if exc.prompt_id else "refused"
            outcome = ColumnOutcome(
                index, status, exc.message, "", exc.needs_own_key, str(exc.prompt_id or "")
            )
        except asyncio.CancelledError:
            # This column alone was cancelled (its generation recorded it and refunded when
            # nothing was shown); the others keep running.
            outcome = ColumnOutcome(index, "cancelled", "Cancelled.", "", False, "")
        if on_done is not None:
            await on_done(outcome)
        return outcome

    tasks = [asyncio.create_task(column(i, spec)) for i, spec in enumerate(columns)]
    if on_task is not None:
        for index, task in enumerate(tasks):
            on_task(index, task)
    try:
        results = await asyncio.gather(*tasks, return_exceptions=True)
    except asyncio.CancelledError:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    outcomes = []
    for index, result in enumerate(results):
        if isinstance(result, ColumnOutcome):
            outcomes.append(result)
            continue
        if not isinstance(result, asyncio.CancelledError):
            raise result
        # Cancelled before its first step: nothing was prepared, nothing reserved.
        outcome = ColumnOutcome(index, "cancelled", "Cancelled.", "", False, "")
        if on_done is not None:
            await on_done(outcome)
        outcomes.append(outcome)
    return outcomes


# --- reading a comparison back ------------------------------------------------------------


@dataclass(frozen=True)
class ColumnView:
    prompt_id: str
    key: str
    model_id: int | None
    signature_id: int | None
    template_id: int | None
    template_name: str
    model_name: str
    signature_name: str
    parameters: dict[str, Any]
    compiled_prompt: str
    output: str
    status: str
    error_message: str
    key_source: str
    input_tokens: int | None
    output_tokens: int | None
    latency_ms: int | None
    cost_micros: int | None
    created_at: datetime
    vote: int
    is_winner: bool
    note: str

    @property
    def cost_label(self) -> str:
        return format_cost(self.cost_micros)


def parse_id(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def load_comparison(
    *, session: Session, user_id: uuid.UUID, comparison_id: str | uuid.UUID
) -> list[ColumnView]:
    """The comparison's columns (the user's own), oldest first, with their ratings."""
    parsed = parse_id(comparison_id)
    if parsed is None:
        return []
    rows = session.exec(
        select(UserPrompt, PromptRating)
        .join(
            PromptRating,
            sa.and_(
                col(PromptRating.prompt_id) == col(UserPrompt.id),
                col(PromptRating.user_id) == user_id,
            ),
            isouter=True,
        )
        .where(col(UserPrompt.user_id) == user_id, col(UserPrompt.comparison_id) == parsed)
        .order_by(col(UserPrompt.created_at), col(UserPrompt.model_name))
    ).all()
    return [
        ColumnView(
            prompt_id=str(p.id),
            key=f"{p.model_id or 0}:{p.signature_id or 0}",
            model_id=p.model_id,
            signature_id=p.signature_id,
            template_id=p.template_id,
            template_name=p.template_name,
            model_name=p.model_name,
            signature_name=p.signature_name,
            parameters=dict(p.parameters),
            compiled_prompt=p.compiled_prompt,
            output=p.output,
            status=p.status,
            error_message=p.error_message or "",
            key_source=p.key_source,
            input_tokens=p.input_tokens,
            output_tokens=p.output_tokens,
            latency_ms=p.latency_ms,
            cost_micros=p.estimated_cost_micros,
            created_at=p.created_at,
            vote=r.vote if r else 0,
            is_winner=r.is_winner if r else False,
            note=r.note if r else "",
        )
        for p, r in rows
    ]


# --- ratings ------------------------------------------------------------------------------


def _rating_for(session: Session, user_id: uuid.UUID, prompt: UserPrompt) -> PromptRating:
    rating = session.exec(
        select(PromptRating).where(
            col(PromptRating.prompt_id) == prompt.id, col(PromptRating.user_id) == user_id
        )
    ).first()
    if rating is None:
        rating = PromptRating(
            prompt_id=prompt.id,
            user_id=user_id,
            comparison_id=prompt.comparison_id,
            template_id=prompt.template_id,
            model_id=prompt.model_id,
            signature_id=prompt.signature_id,
            template_name=prompt.template_name,
            model_name=prompt.model_name,
            signature_name=prompt.signature_name,
        )
    return rating


def _own_finished(session: Session, user_id: uuid.UUID, prompt_id: str) -> UserPrompt | None:
    parsed = parse_id(prompt_id)
    if parsed is None:
        return None
    return session.exec(
        select(UserPrompt).where(
            col(UserPrompt.id) == parsed,
            col(UserPrompt.user_id) == user_id,
            col(UserPrompt.status) != "pending",
        )
    ).first()


def rate(
    *,
    session: Session,
    user_id: uuid.UUID,
    prompt_id: str,
    vote: int | None = None,
    note: str | None = None,
) -> bool:
    """Set the thumbs (1, -1, or 0 to clear) and/or the note of one of the user's finished
    generations. False for an unknown, another user's or a still-running one."""
    prompt = _own_finished(session, user_id, prompt_id)
    if prompt is None:
        return False
    rating = _rating_for(session, user_id, prompt)
    if vote is not None:
        if vote not in (-1, 0, 1):
            raise CompareError("A rating is thumbs up or thumbs down.")
        rating.vote = vote
    if note is not None:
        note = note.strip()
        if len(note) > MAX_NOTE:
            raise CompareError(f"A note is at most {MAX_NOTE} characters.")
        rating.note = note
    rating.updated_at = datetime.now(UTC)
    session.add(rating)
    return True


def set_winner(*, session: Session, user_id: uuid.UUID, prompt_id: str) -> bool:
    """Mark one column the winner of its comparison (the others lose the mark)."""
    prompt = _own_finished(session, user_id, prompt_id)
    if prompt is None or prompt.comparison_id is None:
        return False
    session.execute(
        sa.update(PromptRating)
        .where(
            col(PromptRating.user_id) == user_id,
            col(PromptRating.comparison_id) == prompt.comparison_id,
            col(PromptRating.prompt_id) != prompt.id,
            col(PromptRating.is_winner).is_(True),
        )
        .values(is_winner=False, updated_at=datetime.now(UTC))
    )
    rating = _rating_for(session, user_id, prompt)
    rating.is_winner = True
    rating.updated_at = datetime.now(UTC)
    session.add(rating)
    return True


@dataclass(frozen=True)
class LeaderRow:
    name: str
    wins: int
    ups: int
    downs: int

    @property
    def score(self) -> int:
        return self.wins * 2 + self.ups - self.downs


@dataclass(frozen=True)
class Leaderboard:
    models: list[LeaderRow]
    signatures: list[LeaderRow]


def leaderboard(*, session: Session, user_id: uuid.UUID, template_id: int) -> Leaderboard:
    """Which models and signatures the user's own votes prefer for one blueprint (a win
    counts as two votes up), with counts. Only the user's ratings: aggregate votes across
    users would read `shared` rows instead, once users can opt in."""

    def board(name_column) -> list[LeaderRow]:
        rows = session.execute(
            sa.select(
                name_column,
                sa.func.count().filter(col(PromptRating.is_winner).is_(True)),
                sa.func.count().filter(col(PromptRating.vote) > 0),
                sa.func.count().filter(col(PromptRating.vote) < 0),
            )
            .where(
                col(PromptRating.user_id) == user_id,
                col(PromptRating.template_id) == template_id,
                sa.or_(col(PromptRating.vote) != 0, col(PromptRating.is_winner).is_(True)),
            )
            .group_by(name_column)
        ).all()
        board_rows = [LeaderRow(r[0] or "No signature", r[1], r[2], r[3]) for r in rows]
        return sorted(board_rows, key=lambda r: (-r.score, -r.wins, r.name))

    return Leaderboard(
        models=board(col(PromptRating.model_name)),
        signatures=board(col(PromptRating.signature_name)),
    )


# --- export -------------------------------------------------------------------------------

EXPORT_FIELDS = (
    "comparison_id",
    "prompt_id",
    "created_at",
    "blueprint",
    "model",
    "signature",
    "status",
    "key_source",
    "billed_to",
    "parameters",
    "compiled_prompt",
    "output",
    "error",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "estimated_cost_usd",
    "vote",
    "winner",
    "note",
)


def _billed_to(key_source: str) -> str:
    return {"platform": "plan", "own_key": "own key", "offline": "free"}.get(key_source, "")


def export_comparison(
    *, session: Session, user_id: uuid.UUID, comparison_id: str, fmt: str
) -> tuple[str, str] | None:
    """(file name, content) of one comparison as JSON or CSV; None when it is not the
    user's."""
    if fmt not in ("json", "csv"):
        raise CompareError("Export as JSON or CSV.")
    columns = load_comparison(session=session, user_id=user_id, comparison_id=comparison_id)
    if not columns:
        return None
    rows = [
        {
            "comparison_id": str(comparison_id),
            "prompt_id": c.prompt_id,
            "created_at": c.created_at.isoformat(),
            "blueprint": c.template_name,
            "model": c.model_name,
            "signature": c.signature_name,
            "status": c.status,
            "key_source": c.key_source,
            "billed_to": _billed_to(c.key_source),
            "parameters": c.parameters,
            "compiled_prompt": c.compiled_prompt,
            "output": c.output,
            "error": c.error_message,
            "input_tokens": c.input_tokens,
            "output_tokens": c.output_tokens,
            "latency_ms": c.latency_ms,
            "estimated_cost_usd": None if c.cost_micros is None else c.cost_micros / 1_000_000,
            "vote": {1: "up", -1: "down"}.get(c.vote, ""),
            "winner": c.is_winner,
            "note": c.note,
        }
        for c in columns
    ]
    stem = f"promptgen-comparison-{str(comparison_id)[:8]}"
    if fmt == "json":
        return f"{stem}.json", json.dumps(rows, indent=2, ensure_ascii=False)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "parameters": json.dumps(row["parameters"], ensure_ascii=False)})
    return f"{stem}.csv", buffer.getvalue()
