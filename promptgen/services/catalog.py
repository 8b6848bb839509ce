"""Reading the catalog: active plans, blueprints, signatures and models, as plain views.

Each process keeps the active catalog in memory (`CatalogSnapshot`), tagged with the
`catalog_version` row that a trigger on every catalog table bumps in the writing
transaction. A read checks that one number (one small query) and reloads when it moved, so
rows written while the app runs (seed, import, or by hand) show on the next page load, and
a retired blueprint or model is never served once the version changed. The generation path
does not even check here: it hands the version it compiled against to the database, which
refuses it when it is no longer current (services/generation).
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, SQLModel, col, select

from promptgen.db import normalize_url, table_of
from promptgen.models import (
    CatalogVersion,
    SubscriptionTier,
    SupportedAIModel,
    SupportedTemplate,
    VisualSignature,
)

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


@dataclass(frozen=True)
class CatalogSnapshot:
    """The active catalog at one `catalog_version` (None: the row is missing; never cached)."""

    version: int | None
    blueprints: dict[int, BlueprintView] = field(default_factory=dict)
    signatures: dict[int, SignatureView] = field(default_factory=dict)
    models: dict[int, ModelView] = field(default_factory=dict)
    tiers: tuple[TierView, ...] = ()


# One snapshot per database (host, port, name), whichever role reads it.
_snapshots: dict[str, CatalogSnapshot] = {}
_load_lock = threading.Lock()


def _database_key(session: Session) -> str:
    return _url_key(session.get_bind().engine.url)


def _url_key(url: sa.URL) -> str:
    return url.set(username=None, password=None).render_as_string()


def current_version(*, session: Session) -> int | None:
    versions = table_of(CatalogVersion)
    return session.execute(
        sa.select(versions.c.version).where(versions.c.id == 1)
    ).scalar_one_or_none()


def _load(session: Session, version: int | None) -> CatalogSnapshot:
    # The version is read before the rows: rows newer than it only cause one more reload,
    # while rows older than it would be cached as current.
    def active(model: Any, *order: Any) -> list[Any]:
        query = select(model).where(model.is_active).order_by(*(col(c) for c in order))
        return list(session.exec(query).all())

    return CatalogSnapshot(
        version=version,
        blueprints={
            r.id: _view(BlueprintView, r)
            for r in active(SupportedTemplate, SupportedTemplate.sort_order, SupportedTemplate.name)
        },
        signatures={
            r.id: _view(SignatureView, r)
            for r in active(VisualSignature, VisualSignature.sort_order, VisualSignature.name)
        },
        models={
            r.id: _view(ModelView, r)
            for r in active(
                SupportedAIModel, SupportedAIModel.sort_order, SupportedAIModel.display_name
            )
        },
        tiers=tuple(
            _view(TierView, r)
            for r in active(
                SubscriptionTier, SubscriptionTier.sort_order, SubscriptionTier.monthly_quota
            )
        ),
    )


def snapshot(*, session: Session) -> CatalogSnapshot:
    """The current catalog: the cached one when its version is still the database's."""
    key = _database_key(session)
    version = current_version(session=session)
    cached = _snapshots.get(key)
    if cached is not None and version is not None and cached.version == version:
        return cached
    with _load_lock:  # one reload at a time per process; the others then find it cached
        cached = _snapshots.get(key)
        if cached is not None and version is not None and cached.version == version:
            return cached
        fresh = _load(session, version)
        if version is not None:
            _snapshots[key] = fresh
        return fresh


def cached_snapshot_for(database_url: str) -> CatalogSnapshot | None:
    """The snapshot in memory for that database, unchecked: the caller hands its version to
    the database where it writes (promptgen_start_generation), which refuses a stale one."""
    return _snapshots.get(_url_key(sa.engine.make_url(normalize_url(database_url))))


def forget_snapshot_for(database_url: str, stale: CatalogSnapshot) -> None:
    """Drop `stale` from memory (the database said its version is no longer current)."""
    key = _url_key(sa.engine.make_url(normalize_url(database_url)))
    if _snapshots.get(key) is stale:
        del _snapshots[key]


def forget_snapshots() -> None:
    _snapshots.clear()


def list_blueprints(*, session: Session) -> list[BlueprintView]:
    return list(snapshot(session=session).blueprints.values())


def get_blueprint(*, session: Session, blueprint_id: int) -> BlueprintView | None:
    return snapshot(session=session).blueprints.get(blueprint_id)


def list_signatures(*, session: Session) -> list[SignatureView]:
    return list(snapshot(session=session).signatures.values())


def get_signature(*, session: Session, signature_id: int) -> SignatureView | None:
    return snapshot(session=session).signatures.get(signature_id)


def list_models(*, session: Session, tier_slug: str | None = None) -> list[ModelView]:
    """Active models; with `tier_slug`, only those that tier may use."""
    views = snapshot(session=session).models.values()
    return [v for v in views if tier_slug is None or v.allowed_for(tier_slug)]


def get_model(*, session: Session, model_id: int) -> ModelView | None:
    return snapshot(session=session).models.get(model_id)


def list_tiers(*, session: Session) -> list[TierView]:
    return list(snapshot(session=session).tiers)


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
    current = snapshot(session=session)  # one version check for the three lists
    return StudioCatalog(
        blueprints=list(current.blueprints.values()),
        signatures=list(current.signatures.values()),
        models=list(current.models.values()),
    )


def public_catalog(
    *, session: Session
) -> tuple[list[BlueprintView], list[SignatureView], list[TierView], list[ModelView]]:
    """What the landing and pricing pages show: blueprints, signatures, plans, and the
    models (each plan lists the ones it may use)."""
    current = snapshot(session=session)
    return (
        list(current.blueprints.values()),
        list(current.signatures.values()),
        list(current.tiers),
        list(current.models.values()),
    )
