"""What the dashboard (the studio) offers one user, and the prompt it would send.

Read in the page load's one user transaction (services/page_loads.py): the catalog, and for
each model whether this user can run it now, so the picker says so before anything is spent.
`preview` compiles a prompt offline, as `generation.prepare` will, for the live preview.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from promptgen import blueprints
from promptgen.services import catalog, keys
from promptgen.services.generation import OFFLINE
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


@dataclass(frozen=True)
class Studio:
    blueprints: list[catalog.BlueprintView]
    signatures: list[catalog.SignatureView]
    models: list[ModelAccess]


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
    if model.provider == OFFLINE or model.provider in own_key_providers:
        return ModelAccess(model, READY, "")
    quota_left = plan is None or plan.usage_count < plan.monthly_quota
    if settings.provider_key(model.provider) and quota_left:
        return ModelAccess(model, READY, "")
    return ModelAccess(model, NEEDS_KEY, "")


def studio(*, session: Session, user_id: uuid.UUID, plan: PlanSummary | None) -> Studio:
    settings = get_settings()
    own = {k.provider for k in keys.list_keys(session=session, user_id=user_id)}
    offered = catalog.studio_catalog(session=session)
    return Studio(
        blueprints=offered.blueprints,
        signatures=offered.signatures,
        models=[
            model_access(m, plan=plan, own_key_providers=own, settings=settings)
            for m in offered.models
        ],
    )


def preview(
    blueprint: catalog.BlueprintView,
    raw_values: dict[str, Any],
    signature: catalog.SignatureView | None = None,
) -> str:
    """The prompt as it stands: blank and invalid fields are left out rather than refused,
    so the preview follows the typing; Generate still validates everything."""
    values, errors = blueprints.coerce_and_validate(blueprint.parameter_schema, raw_values)
    for name in errors:
        values[name] = ""
    try:
        return blueprints.compile_prompt(
            prompt_template=blueprint.prompt_template,
            parameters=values,
            signature_name=signature.name if signature else None,
            signature_style=signature.style_prompt if signature else None,
        )
    except blueprints.SchemaError:
        return ""
