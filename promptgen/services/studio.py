"""What the dashboard (the studio) reads at page load, in the user's one transaction: the
catalog on offer, for each model whether this user can run it now, the user's favourite
signatures, and the draft to reopen (services/page_loads.py); and the prompt it would send.

`preview` compiles offline, as `generation.prepare` will, for the live preview.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from promptgen import blueprints
from promptgen.models import FormDraft
from promptgen.providers.base import ProviderName
from promptgen.services import catalog, drafts, keys, signatures
from promptgen.services.plans import PlanSummary
from promptgen.settings import Settings, get_settings

READY = "ready"
NEEDS_KEY = "needs_key"  # no platform key (or the month's quota is used) and no own key
UPGRADE = "upgrade"  # not included in the plan that applies now


@dataclass(frozen=True)
class ModelAccess:
    model: catalog.ModelView
    access: str  # READY, NEEDS_KEY or UPGRADE
    plan_needed: str  # the plan that includes it ("Pro"), when access is UPGRADE


def model_access(
    model: catalog.ModelView,
    *,
    plan: PlanSummary | None,
    own_key_providers: set[str],
    settings: Settings,
) -> ModelAccess:
    """Whether a model runs for this user now, the way generation routes keys."""
    if not model.allowed_for(plan.entitled_slug if plan else None):
        needed = model.allowed_tiers[0].replace("_", " ").title() if model.allowed_tiers else ""
        return ModelAccess(model, UPGRADE, needed)
    if model.provider == ProviderName.OFFLINE or model.provider in own_key_providers:
        return ModelAccess(model, READY, "")
    quota_left = plan is None or plan.usage_count < plan.monthly_quota
    if settings.provider_key(model.provider) and quota_left:
        return ModelAccess(model, READY, "")
    return ModelAccess(model, NEEDS_KEY, "")


@dataclass(frozen=True)
class StudioPage:
    catalog: catalog.StudioCatalog
    models: list[ModelAccess]
    favorite_signature_ids: set[int]
    # The blueprint to open and its draft: the one the tab was on, else the newest draft.
    draft_blueprint_id: int
    draft: drafts.Draft | None


def load_studio(
    *,
    session: Session,
    user_id: uuid.UUID,
    plan: PlanSummary | None = None,
    preferred_blueprint_id: int = 0,
) -> StudioPage:
    offered = catalog.studio_catalog(session=session)
    own = {k.provider for k in keys.list_keys(session=session, user_id=user_id)}
    settings = get_settings()
    models = [
        model_access(m, plan=plan, own_key_providers=own, settings=settings) for m in offered.models
    ]
    favorites: set[int] = set()
    if len(offered.signatures) > signatures.SEARCH_THRESHOLD:
        favorites = signatures.favorite_ids(session=session, user_id=user_id)
    # One statement: the preferred blueprint's draft when there is one, else the newest.
    row = session.exec(
        select(FormDraft)
        .where(col(FormDraft.user_id) == user_id)
        .order_by(
            (col(FormDraft.template_id) == preferred_blueprint_id).desc(),
            col(FormDraft.updated_at).desc(),
        )
        .limit(1)
    ).first()
    blueprint_id = preferred_blueprint_id or (row.template_id if row is not None else 0)
    draft = None
    if row is not None and row.template_id == blueprint_id:
        draft = drafts.draft_from_row(row)
    return StudioPage(offered, models, favorites, blueprint_id, draft)


def preview(
    blueprint: catalog.BlueprintView,
    raw_values: dict[str, Any],
    styles: Sequence[tuple[catalog.SignatureView, int]] = (),
) -> str:
    """The prompt as it stands, with the picked signatures (heaviest first) combined as
    generation combines them: blank and invalid fields are left out rather than refused, so
    the preview follows the typing; Generate still validates everything."""
    values, errors = blueprints.coerce_and_validate(blueprint.parameter_schema, raw_values)
    for name in errors:
        values[name] = ""
    ordered = sorted(styles, key=lambda pair: -pair[1])
    clause = signatures.combine(
        [signatures.WeightedStyle(view.name, view.style_prompt, weight) for view, weight in ordered]
    )
    try:
        return blueprints.compile_prompt(
            prompt_template=blueprint.prompt_template,
            parameters=values,
            signature_name=clause.name if clause else None,
            signature_style=clause.style if clause else None,
        )
    except blueprints.SchemaError:
        return ""
