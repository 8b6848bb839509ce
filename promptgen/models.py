"""SQLModel tables for the whole product.

Plain `sqlmodel.SQLModel` (not `rx.Model`) so services, the CLI and Alembic load
them without Reflex. User-owned rows carry `user_id`; ids a browser may see are
UUIDs so they cannot be guessed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC timestamp on every backend (SQLite drops the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ts(*, nullable: bool = False, index: bool = False) -> Any:
    return Field(
        **({"default": None} if nullable else {"default_factory": utcnow}),
        sa_type=UTCDateTime(),
        nullable=nullable,
        index=index,
    )


def _owner(*, index: bool = True) -> Any:
    return Field(foreign_key="users.id", index=index, nullable=False, ondelete="CASCADE")


def _json(default_factory: Any) -> Any:
    return Field(default_factory=default_factory, sa_type=sa.JSON(), nullable=False)


def _text(*, nullable: bool = False, default: str | None = "") -> Any:
    return Field(default=default, sa_type=sa.Text(), nullable=nullable)


# --- accounts -----------------------------------------------------------------


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: str = Field(max_length=320, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    created_at: datetime = _ts()
    last_sign_in_at: datetime | None = _ts(nullable=True)
    # Set when the user followed a link sent to `email`; cleared when the email changes.
    email_verified_at: datetime | None = _ts(nullable=True)


class UserSession(SQLModel, table=True):
    """A signed-in browser. Only the SHA-256 of the token is stored."""

    __tablename__ = "user_sessions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = _owner()
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = _ts()
    last_seen_at: datetime = _ts()
    user_agent: str = Field(default="", max_length=255)


class AccountToken(SQLModel, table=True):
    """A single-use link sent by email: a password reset or an email verification.

    Only the SHA-256 of the token is stored. `email` is the address the link went to, so a
    link stops working once the account's email has changed.
    """

    __tablename__ = "account_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = _owner()
    purpose: str = Field(max_length=16)  # reset_password | verify_email
    token_hash: str = Field(max_length=64, unique=True, index=True)
    email: str = Field(max_length=320)
    created_at: datetime = _ts()
    expires_at: datetime = _ts()
    used_at: datetime | None = _ts(nullable=True)


class Throttle(SQLModel, table=True):
    """Counted attempts for one throttle: failed sign-ins per (email, IP) pair or per IP,
    sign-ups and password-reset requests per IP. Admin-only (no user_id); the key is a
    SHA-256, so no email or address is stored in the clear."""

    __tablename__ = "throttles"

    scope: str = Field(max_length=32, primary_key=True)
    key: str = Field(max_length=64, primary_key=True)
    count: int = Field(default=0)
    window_start: datetime | None = _ts(nullable=True)
    locked_until: datetime | None = _ts(nullable=True)


class UserProfile(SQLModel, table=True):
    __tablename__ = "user_profiles"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True, ondelete="CASCADE")
    display_name: str = Field(default="", max_length=120)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


# --- catalog ------------------------------------------------------------------


class SubscriptionTier(SQLModel, table=True):
    __tablename__ = "subscription_tiers"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=120)
    description: str = _text()
    monthly_quota: int = Field(ge=0)
    retention_days: int = Field(ge=1)
    price_monthly_cents: int = Field(default=0, ge=0)
    price_yearly_cents: int = Field(default=0, ge=0)
    currency: str = Field(default="usd", max_length=3)
    stripe_price_monthly_id: str | None = Field(default=None, max_length=255, index=True)
    stripe_price_yearly_id: str | None = Field(default=None, max_length=255, index=True)
    features: list[str] = _json(list)
    sort_order: int = Field(default=0)
    is_active: bool = Field(default=True)


class SupportedTemplate(SQLModel, table=True):
    """A blueprint: prompt text with placeholders and a JSON Schema for its parameters."""

    __tablename__ = "supported_templates"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=120)
    category: str = Field(max_length=64, index=True)
    description: str = _text()
    prompt_template: str = _text()
    parameter_schema: dict[str, Any] = _json(dict)
    instructions: str = _text()
    # Whether the form offers visual signatures: an image prompt does, a code review does not.
    takes_signature: bool = Field(
        default=False,
        sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    is_active: bool = Field(default=True)
    sort_order: int = Field(default=0)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class VisualSignature(SQLModel, table=True):
    __tablename__ = "visual_signatures"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=120)
    description: str = _text()
    style_prompt: str = _text()
    preview_image_url: str | None = Field(default=None, max_length=500)
    # "#rrggbb" colours: the swatch drawn when the signature has no preview image.
    palette: list[str] = _json(list)
    # The preview image itself (checked PNG/JPEG/WebP), served by /api/signatures/{slug}/preview;
    # in the database so an imported catalog shows it without a redeploy.
    preview_image: bytes | None = Field(default=None, sa_type=sa.LargeBinary(), nullable=True)
    preview_mime_type: str | None = Field(default=None, max_length=32)
    preview_sha256: str | None = Field(default=None, max_length=64)
    is_active: bool = Field(default=True)
    sort_order: int = Field(default=0)


class SupportedAIModel(SQLModel, table=True):
    __tablename__ = "supported_ai_models"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True, index=True)
    provider: str = Field(max_length=32)  # gemini | openai | offline
    model_name: str = Field(max_length=120)
    display_name: str = Field(max_length=120)
    description: str = _text()
    endpoint: str | None = Field(default=None, max_length=500)
    supports_images: bool = Field(default=False)
    # Tier slugs allowed to use the model; empty means every tier.
    allowed_tiers: list[str] = _json(list)
    # Estimated price in US dollars per million tokens, for the cost shown per generation
    # (services/pricing.py); 0 for the offline compiler or an unpriced model.
    input_price_per_mtok: float = Field(default=0.0, ge=0, sa_column_kwargs={"server_default": "0"})
    output_price_per_mtok: float = Field(
        default=0.0, ge=0, sa_column_kwargs={"server_default": "0"}
    )
    is_active: bool = Field(default=True)
    sort_order: int = Field(default=0)


class UserBlueprint(SQLModel, table=True):
    """A blueprint a user made (or copied from the catalog). Its content lives in immutable
    versions (`user_blueprint_versions`); this row names the newest one, for listing."""

    __tablename__ = "user_blueprints"
    __table_args__ = (
        sa.Index("ix_user_blueprints_user_updated", "user_id", "updated_at"),
        # The target of the versions' (blueprint, owner) key.
        sa.UniqueConstraint("id", "user_id", name="uq_user_blueprints_id_owner"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = _owner(index=False)
    name: str = Field(max_length=120)
    category: str = Field(default="", max_length=64)
    description: str = _text()
    # The newest version's number: every save increments it with one conditional UPDATE.
    current_version: int = Field(default=1)
    # Where it came from when duplicated: "catalog:<slug>" or "user:<uuid>@<version>".
    source: str = Field(default="", max_length=200)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class UserBlueprintVersion(SQLModel, table=True):
    """One saved state of a user blueprint. Never updated (the user role has no UPDATE
    grant); a restore writes a new version, so history stays linear."""

    __tablename__ = "user_blueprint_versions"
    __table_args__ = (
        sa.UniqueConstraint("blueprint_id", "version", name="uq_user_blueprint_versions_number"),
        # A version belongs to a blueprint of the same owner: without the owner in the key,
        # SQL in one user's session could add versions under another user's blueprint.
        sa.ForeignKeyConstraint(
            ["blueprint_id", "user_id"],
            ["user_blueprints.id", "user_blueprints.user_id"],
            name="fk_user_blueprint_versions_blueprint_owner",
            ondelete="CASCADE",
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    blueprint_id: uuid.UUID = Field(nullable=False)
    # The owner again, so row-level security applies to versions directly.
    user_id: uuid.UUID = _owner()
    version: int
    name: str = Field(max_length=120)
    category: str = Field(default="", max_length=64)
    description: str = _text()
    prompt_template: str = _text()
    parameter_schema: dict[str, Any] = _json(dict)
    instructions: str = _text()
    note: str = Field(default="", max_length=500)
    # Set when this version was made by restoring an older one.
    restored_from: int | None = Field(default=None)
    created_at: datetime = _ts()


# --- billing ------------------------------------------------------------------


class UserSubscription(SQLModel, table=True):
    __tablename__ = "user_subscriptions"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(
        foreign_key="users.id", unique=True, index=True, nullable=False, ondelete="CASCADE"
    )
    tier_id: int = Field(foreign_key="subscription_tiers.id", index=True)
    status: str = Field(default="active", max_length=32)
    billing_interval: str = Field(default="month", max_length=16)  # month | year
    stripe_customer_id: str | None = Field(default=None, max_length=255, index=True)
    stripe_subscription_id: str | None = Field(default=None, max_length=255, index=True)
    current_period_start: datetime | None = _ts(nullable=True)
    current_period_end: datetime | None = _ts(nullable=True)
    cancel_at_period_end: bool = Field(default=False)
    # A scheduled end (Stripe's `cancel_at`, also set with cancel_at_period_end).
    cancel_at: datetime | None = _ts(nullable=True)
    # When this row first showed `past_due`: the grace period counts from here.
    past_due_since: datetime | None = _ts(nullable=True)
    # The monthly quota boundary: the first paid subscription's start. Invoices never move it;
    # None counts calendar months (a user who never paid).
    quota_anchor: datetime | None = _ts(nullable=True)
    usage_count: int = Field(default=0, ge=0)
    usage_period_start: datetime | None = _ts(nullable=True)
    # When a Stripe event last changed this row (diagnostics only: never used for ordering).
    last_stripe_event_at: datetime | None = _ts(nullable=True)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class DatabaseSecret(SQLModel, table=True):
    """Secrets the database itself checks against: `user_scope` signs the user id a user
    session sets (db_security), so SQL in one user's session cannot claim another's id.
    Admin-only: the user role has no grant on it."""

    __tablename__ = "database_secrets"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=128)


class CatalogVersion(SQLModel, table=True):
    """One row whose `version` goes up with every write to a catalog table (a trigger on
    each, so rows an operator writes by hand count too). Processes cache the catalog and
    check this number instead of re-reading it (services/catalog)."""

    __tablename__ = "catalog_version"

    id: int = Field(primary_key=True)
    version: int = Field(sa_type=sa.BigInteger(), default=1)


class JobRun(SQLModel, table=True):
    """When a scheduled job last ran. Every worker of every instance schedules the daily jobs;
    the first to claim the day's run here runs it, the others skip (tasks.py). Admin-only."""

    __tablename__ = "job_runs"

    name: str = Field(primary_key=True, max_length=64)
    ran_at: datetime = _ts()


class StripeEvent(SQLModel, table=True):
    __tablename__ = "stripe_events"

    id: str = Field(primary_key=True, max_length=255)
    type: str = Field(max_length=120)
    created: datetime = _ts()
    received_at: datetime = _ts()
    processed_at: datetime | None = _ts(nullable=True)


# --- BYOK and history ---------------------------------------------------------


class UserApiKey(SQLModel, table=True):
    """A user's own provider key: AES-256-GCM ciphertext only, never the key."""

    __tablename__ = "user_api_keys"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "provider", name="uq_user_api_keys_user_provider"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = _owner()
    provider: str = Field(max_length=32)
    key_version: str = Field(max_length=32)
    nonce: bytes = Field(sa_type=sa.LargeBinary())
    ciphertext: bytes = Field(sa_type=sa.LargeBinary())
    last_four: str = Field(max_length=4)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()
    last_used_at: datetime | None = _ts(nullable=True)


class PromptStatus(StrEnum):
    """`user_prompts.status` (stored as these strings)."""

    PENDING = "pending"  # running, or left by a crashed process until the sweep fails it
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class KeySource(StrEnum):
    """`user_prompts.key_source`: whose key paid for a generation (stored as these strings)."""

    PLATFORM = "platform"  # the server's key, counted against the plan's quota
    OWN_KEY = "own_key"
    OFFLINE = "offline"  # the offline provider, no key at all


class UserPrompt(SQLModel, table=True):
    """One generation attempt, successful or not."""

    __tablename__ = "user_prompts"
    __table_args__ = (
        # Serves every per-user lookup too, so user_id has no index of its own.
        sa.Index("ix_user_prompts_user_created", "user_id", "created_at"),
        # The crash sweep reads pending rows only: a small partial index.
        sa.Index(
            "ix_user_prompts_pending",
            "created_at",
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        # The columns of one comparison (compare mode), found together.
        sa.Index(
            "ix_user_prompts_comparison",
            "user_id",
            "comparison_id",
            postgresql_where=sa.text("comparison_id IS NOT NULL"),
            sqlite_where=sa.text("comparison_id IS NOT NULL"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = _owner(index=False)
    template_id: int | None = Field(
        default=None, foreign_key="supported_templates.id", ondelete="SET NULL"
    )
    signature_id: int | None = Field(
        default=None, foreign_key="visual_signatures.id", ondelete="SET NULL"
    )
    model_id: int | None = Field(
        default=None, foreign_key="supported_ai_models.id", ondelete="SET NULL"
    )
    # The user blueprint version used (None for a catalog blueprint, or once it is deleted).
    blueprint_version_id: uuid.UUID | None = Field(
        default=None, foreign_key="user_blueprint_versions.id", index=True, ondelete="SET NULL"
    )
    # Names at the time of generation, so history reads well after catalog edits.
    template_name: str = Field(default="", max_length=120)
    signature_name: str = Field(default="", max_length=120)
    model_name: str = Field(default="", max_length=120)
    parameters: dict[str, Any] = _json(dict)
    compiled_prompt: str = _text()
    output: str = _text()
    input_tokens: int | None = Field(default=None)
    output_tokens: int | None = Field(default=None)
    key_source: str = Field(default=KeySource.OFFLINE, max_length=16)  # a KeySource
    # True while a pending row holds a unit of quota (see services/quota.py). Only the
    # owner role writes it; user-role inserts take the server default.
    quota_reserved: bool = Field(
        default=False,
        # No client-side default, so an INSERT that leaves it out does not send it.
        sa_column=sa.Column(sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    status: str = Field(default=PromptStatus.PENDING, max_length=16)  # a PromptStatus
    error_message: str | None = _text(nullable=True, default=None)
    latency_ms: int | None = Field(default=None)
    is_favorite: bool = Field(default=False)
    created_at: datetime = _ts(index=True)  # the retention purge scans by age
    completed_at: datetime | None = _ts(nullable=True)
    # Set on each column of a side-by-side comparison (services/compare.py).
    comparison_id: uuid.UUID | None = Field(default=None)
    # Estimated cost in millionths of a US dollar, from the tokens and the model's prices,
    # written when the generation finishes (services/pricing.py; SQL twin in db_security).
    # Own-key generations carry it too: billed to the user's key, not to the plan.
    estimated_cost_micros: int | None = Field(default=None, sa_type=sa.BigInteger())


class PromptRating(SQLModel, table=True):
    """The user's verdict on one generation: thumbs up or down, an optional note, and whether
    it won its comparison. Model, signature and blueprint are copied in so a leaderboard is a
    GROUP BY over this table alone. `shared` is the opt-in for aggregate votes across users
    (not built yet): False until the user agrees, so no vote is pooled without consent."""

    __tablename__ = "prompt_ratings"
    __table_args__ = (
        sa.Index("ix_prompt_ratings_user_template", "user_id", "template_id"),
        sa.Index("ix_prompt_ratings_shared_template", "template_id", "shared"),
    )

    prompt_id: uuid.UUID = Field(
        foreign_key="user_prompts.id", primary_key=True, ondelete="CASCADE"
    )
    user_id: uuid.UUID = _owner(index=False)
    comparison_id: uuid.UUID | None = Field(default=None)
    template_id: int | None = Field(default=None)
    model_id: int | None = Field(default=None)
    signature_id: int | None = Field(default=None)
    template_name: str = Field(default="", max_length=120)
    model_name: str = Field(default="", max_length=120)
    signature_name: str = Field(default="", max_length=120)
    vote: int = Field(default=0)  # 1 thumbs up, -1 thumbs down, 0 none (a winner or a note)
    is_winner: bool = Field(default=False)
    note: str = Field(default="", max_length=1000)
    shared: bool = Field(default=False)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class PromptAttachment(SQLModel, table=True):
    """A reference image sent with a generation, kept with its history row."""

    __tablename__ = "prompt_attachments"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    prompt_id: uuid.UUID = Field(
        foreign_key="user_prompts.id", index=True, nullable=False, ondelete="CASCADE"
    )
    user_id: uuid.UUID = _owner()
    filename: str = Field(max_length=255)
    mime_type: str = Field(max_length=64)
    size_bytes: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_type=sa.LargeBinary())
    created_at: datetime = _ts()


class UploadDraft(SQLModel, table=True):
    """A reference image chosen on the dashboard, kept until it is used or removed.

    In the database, not in Reflex state: state is pickled to disk or Redis, and image
    bytes (like secrets) have no place there. Old drafts go with the daily purge.
    """

    __tablename__ = "upload_drafts"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = _owner()
    filename: str = Field(max_length=255)
    mime_type: str = Field(max_length=64)
    size_bytes: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_type=sa.LargeBinary())
    created_at: datetime = _ts()


class SignatureFavorite(SQLModel, table=True):
    """A visual signature a user starred, listed first in the picker."""

    __tablename__ = "signature_favorites"

    user_id: uuid.UUID = Field(
        foreign_key="users.id", primary_key=True, nullable=False, ondelete="CASCADE"
    )
    signature_id: int = Field(
        foreign_key="visual_signatures.id", primary_key=True, nullable=False, ondelete="CASCADE"
    )
    created_at: datetime = _ts()


class FormDraft(SQLModel, table=True):
    """What a user typed into one blueprint's form, kept until Generate succeeds or Clear.

    Form values and signature picks only (services/drafts.py checks the size): never keys,
    never image bytes (reference images have upload_drafts).
    """

    __tablename__ = "form_drafts"

    user_id: uuid.UUID = Field(
        foreign_key="users.id", primary_key=True, nullable=False, ondelete="CASCADE"
    )
    template_id: int = Field(
        foreign_key="supported_templates.id", primary_key=True, nullable=False, ondelete="CASCADE"
    )
    field_values: dict[str, Any] = _json(dict)
    # [{"id": signature id, "weight": 1..10}, ...]
    signatures: list[dict[str, int]] = _json(list)
    updated_at: datetime = _ts()


CATALOG_TABLES = (
    "subscription_tiers",
    "supported_templates",
    "visual_signatures",
    "supported_ai_models",
)
# Readable by the user role like the catalog; written only by the catalog tables' triggers.
CATALOG_VERSION_TABLE = "catalog_version"


def owned_tables() -> dict[str, str]:
    """Every user-owned table and its owner column, read from the models: the users table
    itself and every table with a `user_id` that references it. Row-level security and the
    user role's grants are derived from this, so a new owned table cannot be missed."""
    owned: dict[str, str] = {}
    for table in SQLModel.metadata.sorted_tables:
        if table.name == User.__tablename__:
            owned[table.name] = "id"
        elif "user_id" in table.c and any(
            fk.column.table.name == User.__tablename__ for fk in table.c.user_id.foreign_keys
        ):
            owned[table.name] = "user_id"
    return owned
