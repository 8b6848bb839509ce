"""Reading the catalog: active plans, blueprints, signatures and models, as plain views.

Pages call these on every load, so catalog rows written while the app runs show at once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from sqlmodel import Session, SQLModel, col, select

from promptgen.models import SubscriptionTier, SupportedAIModel, SupportedTemplate, VisualSignature

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

V = TypeVar("V", bound="DataclassInstance")


@dataclass(frozen=True)
class BlueprintView:
    id: int
    slug: str
    name: str
    category: str
    description: str
    prompt_template: str
    parameter_schema: dict[str, Any]
    instructions: str
    takes_signature: bool


@dataclass(frozen=True)
class SignatureView:
    id: int
    slug: str
    name: str
    description: str
    style_prompt: str
    preview_image_url: str | None
    palette: tuple[str, ...]
    # Set when the signature has a stored preview image (the bytes stay in the database).
    preview_sha256: str | None


@dataclass(frozen=True)
class ModelView:
    id: int
    slug: str
    provider: str
    model_name: str
    display_name: str
    description: str
    endpoint: str | None
    supports_images: bool
    allowed_tiers: tuple[str, ...]
    input_price_per_mtok: float = 0.0
    output_price_per_mtok: float = 0.0

    def allowed_for(self, tier_slug: str | None) -> bool:
        return not self.allowed_tiers or tier_slug in self.allowed_tiers


@dataclass(frozen=True)
class TierView:
    id: int
    slug: str
    name: str
    description: str
    monthly_quota: int
    retention_days: int
    price_monthly_cents: int
    price_yearly_cents: int
    currency: str
    stripe_price_monthly_id: str | None
    stripe_price_yearly_id: str | None
    features: tuple[str, ...]


def _view(view: type[V], row: SQLModel) -> V:
    """The view of a catalog row: same-named fields, JSON lists frozen into tuples."""
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(view)}
    return view(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def list_blueprints(*, session: Session) -> list[BlueprintView]:
    rows = session.exec(
        select(SupportedTemplate)
        .where(SupportedTemplate.is_active)
        .order_by(col(SupportedTemplate.sort_order), col(SupportedTemplate.name))
    ).all()
    return [_view(BlueprintView, r) for r in rows]


def get_blueprint(*, session: Session, blueprint_id: int) -> BlueprintView | None:
    row = session.get(SupportedTemplate, blueprint_id)
    return _view(BlueprintView, row) if row is not None and row.is_active else None


def list_signatures(*, session: Session) -> list[SignatureView]:
    rows = session.exec(
        select(VisualSignature)
        .where(VisualSignature.is_active)
        .order_by(col(VisualSignature.sort_order), col(VisualSignature.name))
    ).all()
    return [_view(SignatureView, r) for r in rows]


def get_signature(*, session: Session, signature_id: int) -> SignatureView | None:
    row = session.get(VisualSignature, signature_id)
    return _view(SignatureView, row) if row is not None and row.is_active else None


def list_models(*, session: Session, tier_slug: str | None = None) -> list[ModelView]:
    """Active models; with `tier_slug`, only those that tier may use."""
    rows = session.exec(
        select(SupportedAIModel)
        .where(SupportedAIModel.is_active)
        .order_by(col(SupportedAIModel.sort_order), col(SupportedAIModel.display_name))
    ).all()
    views = [_view(ModelView, r) for r in rows]
    return [v for v in views if tier_slug is None or v.allowed_for(tier_slug)]


def get_model(*, session: Session, model_id: int) -> ModelView | None:
    row = session.get(SupportedAIModel, model_id)
    return _view(ModelView, row) if row is not None and row.is_active else None


def list_tiers(*, session: Session) -> list[TierView]:
    rows = session.exec(
        select(SubscriptionTier)
        .where(SubscriptionTier.is_active)
        .order_by(col(SubscriptionTier.sort_order), col(SubscriptionTier.monthly_quota))
    ).all()
    return [_view(TierView, r) for r in rows]


def get_tier_by_slug(*, session: Session, slug: str) -> TierView | None:
    row = session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == slug)).first()
    return _view(TierView, row) if row is not None else None


@dataclass(frozen=True)
class StudioCatalog:
    """What the dashboard offers: every active blueprint, signature and model (models a
    tier may not use included, so the page can say which plan they need)."""

    blueprints: list[BlueprintView]
    signatures: list[SignatureView]
    models: list[ModelView]


def studio_catalog(*, session: Session) -> StudioCatalog:
    return StudioCatalog(
        blueprints=list_blueprints(session=session),
        signatures=list_signatures(session=session),
        models=list_models(session=session),
    )


def public_catalog(
    *, session: Session
) -> tuple[list[BlueprintView], list[SignatureView], list[TierView], list[ModelView]]:
    """What the landing and pricing pages show: blueprints, signatures, plans, and the
    models (each plan lists the ones it may use)."""
    return (
        list_blueprints(session=session),
        list_signatures(session=session),
        list_tiers(session=session),
        list_models(session=session),
    )
