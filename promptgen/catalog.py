"""The catalog: plans, blueprints, visual signatures and AI models, loaded from JSON.

`seed_catalog` loads the bundled defaults (promptgen/data/default_catalog.json) and
`import_catalog` an operator's file; both upsert by slug. A file is validated completely
before anything is written, so a bad file changes nothing. Fields an entry leaves out
keep their stored values (so a seed never clears Stripe price ids set by an operator).
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlmodel import Session, SQLModel, select

from promptgen.blueprints import SchemaError, validate_parameter_schema
from promptgen.models import SubscriptionTier, SupportedAIModel, SupportedTemplate, VisualSignature

PROVIDERS = ("gemini", "openai", "offline")
_SLUG = r"^[a-z0-9][a-z0-9._-]{0,63}$"


class CatalogError(ValueError):
    """A catalog file that cannot be imported; the message names the entry and the field."""


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slug: str = Field(pattern=_SLUG)
    sort_order: int = 0
    is_active: bool = True


class TierEntry(_Entry):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    monthly_quota: int = Field(ge=0)
    retention_days: int = Field(ge=1)
    price_monthly_cents: int = Field(default=0, ge=0)
    price_yearly_cents: int = Field(default=0, ge=0)
    currency: str = Field(default="usd", pattern=r"^[a-z]{3}$")
    stripe_price_monthly_id: str | None = Field(default=None, max_length=255)
    stripe_price_yearly_id: str | None = Field(default=None, max_length=255)
    features: list[str] = []


class BlueprintEntry(_Entry):
    name: str = Field(min_length=1, max_length=120)
    category: str = Field(min_length=1, max_length=64)
    description: str = ""
    prompt_template: str = Field(min_length=1)
    parameter_schema: dict[str, Any]
    instructions: str = ""

    @field_validator("parameter_schema")
    @classmethod
    def _schema_is_usable(cls, schema: dict[str, Any], info: Any) -> dict[str, Any]:
        try:
            validate_parameter_schema(schema, prompt_template=info.data.get("prompt_template"))
        except SchemaError as exc:
            raise ValueError(exc.message) from None
        return schema


class SignatureEntry(_Entry):
    name: str = Field(min_length=1, max_length=120)
    description: str = ""
    style_prompt: str = Field(min_length=1)
    preview_image_url: str | None = Field(default=None, max_length=500)


class ModelEntry(_Entry):
    provider: Literal["gemini", "openai", "offline"]
    model_name: str = Field(min_length=1, max_length=120)
    display_name: str = Field(min_length=1, max_length=120)
    description: str = ""
    endpoint: str | None = Field(default=None, max_length=500, pattern=r"^https?://")
    supports_images: bool = False
    allowed_tiers: list[str] = []  # empty: every tier


class CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tiers: list[TierEntry] = []
    blueprints: list[BlueprintEntry] = []
    signatures: list[SignatureEntry] = []
    models: list[ModelEntry] = []


# section name -> (table, entry type)
_SECTIONS: dict[str, type[SQLModel]] = {
    "tiers": SubscriptionTier,
    "blueprints": SupportedTemplate,
    "signatures": VisualSignature,
    "models": SupportedAIModel,
}


@dataclass
class CatalogReport:
    """What an import did, per section: created, updated and unchanged slugs."""

    created: dict[str, list[str]] = field(default_factory=dict)
    updated: dict[str, list[str]] = field(default_factory=dict)
    unchanged: dict[str, list[str]] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values())

    def summary(self) -> str:
        parts = []
        for section in _SECTIONS:
            created = len(self.created.get(section, []))
            updated = len(self.updated.get(section, []))
            unchanged = len(self.unchanged.get(section, []))
            if created or updated or unchanged:
                parts.append(
                    f"{section}: {created} created, {updated} updated, {unchanged} unchanged"
                )
        return "Catalog: " + ("; ".join(parts) if parts else "nothing to import")


def _describe(error: dict[str, Any], data: Any) -> str:
    location = list(error["loc"])
    where = ""
    if len(location) >= 2 and isinstance(location[1], int):
        section, index = location[0], location[1]
        slug = None
        with contextlib.suppress(AttributeError, IndexError, KeyError, TypeError):
            slug = data[section][index].get("slug")
        where = f"{section}[{index}]" + (f" (slug '{slug}')" if slug else "")
        location = location[2:]
    elif location:
        where = str(location[0])
        location = location[1:]
    field_name = ".".join(str(p) for p in location)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "is not a known field"
    elif error["type"] == "missing":
        message = "is required"
    return f"{where}: field '{field_name}' {message}" if field_name else f"{where}: {message}"


def validate_catalog(data: Any, *, known_tiers: set[str] = frozenset()) -> CatalogFile:
    """Parse and check a whole catalog document; raise CatalogError on the first problem."""
    if not isinstance(data, dict):
        raise CatalogError(
            "the catalog file must be a JSON object with tiers, blueprints, signatures "
            "and/or models"
        )
    try:
        catalog = CatalogFile.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(_describe(exc.errors()[0], data)) from None
    for section in _SECTIONS:
        seen: set[str] = set()
        for index, entry in enumerate(getattr(catalog, section)):
            if entry.slug in seen:
                raise CatalogError(
                    f"{section}[{index}] (slug '{entry.slug}'): field 'slug' repeats an "
                    "earlier entry"
                )
            seen.add(entry.slug)
    tiers = set(known_tiers) | {t.slug for t in catalog.tiers}
    for index, model in enumerate(catalog.models):
        for slug in model.allowed_tiers:
            if slug not in tiers:
                raise CatalogError(
                    f"models[{index}] (slug '{model.slug}'): field 'allowed_tiers' names "
                    f"unknown tier '{slug}'"
                )
    return catalog


def import_catalog(*, session: Session, data: Any, now: datetime | None = None) -> CatalogReport:
    """Upsert every entry of `data` by slug. Validates everything before writing anything."""
    known_tiers = set(session.exec(select(SubscriptionTier.slug)).all())
    catalog = validate_catalog(data, known_tiers=known_tiers)
    now = now or datetime.now(UTC)
    report = CatalogReport()
    for section, table in _SECTIONS.items():
        for entry in getattr(catalog, section):
            values = entry.model_dump(exclude_unset=True)
            row = session.exec(select(table).where(table.slug == entry.slug)).first()
            if row is None:
                row = table(**entry.model_dump())
                if hasattr(row, "created_at"):
                    row.created_at = row.updated_at = now
                session.add(row)
                report.created.setdefault(section, []).append(entry.slug)
                continue
            changes = {k: v for k, v in values.items() if getattr(row, k) != v}
            if not changes:
                report.unchanged.setdefault(section, []).append(entry.slug)
                continue
            for key, value in changes.items():
                setattr(row, key, value)
            if hasattr(row, "updated_at"):
                row.updated_at = now
            session.add(row)
            report.updated.setdefault(section, []).append(entry.slug)
        # Tiers first, so models in the same file can name them.
        session.flush()
    return report


def default_catalog() -> dict[str, Any]:
    text = resources.files("promptgen.data").joinpath("default_catalog.json").read_text("utf-8")
    return json.loads(text)


def seed_catalog(*, session: Session) -> CatalogReport:
    """Load the default catalog. Running it again changes nothing."""
    return import_catalog(session=session, data=default_catalog())
