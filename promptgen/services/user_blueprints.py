"""Users' own blueprints: create, edit (every save is an immutable version), duplicate,
delete, restore, and resolving a blueprint reference for a generation.

Every query names its owner, and on PostgreSQL row-level security scopes the rows again
(the user role may insert and read versions, never update them). A blueprint is checked
exactly as a catalog import checks one (services/catalog_import: storable values, a
usable schema, sizes, a test render in the sandbox), and every problem names its field.

References name a blueprint wherever one is chosen (dashboard, API):
    catalog:<slug>            a catalog blueprint
    user:<uuid>               a user blueprint, newest version
    user:<uuid>@<version>     a user blueprint at one version
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jinja2
import sqlalchemy as sa
from jinja2 import meta
from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from promptgen.blueprints import (
    SIGNATURE_VARIABLES,
    SchemaError,
    check_template_renders,
    validate_parameter_schema,
    validate_prompt_template,
)
from promptgen.db import rows_affected
from promptgen.errors import UserFacingError
from promptgen.models import (
    SupportedTemplate,
    UserBlueprint,
    UserBlueprintVersion,
    UserPrompt,
)
from promptgen.services import studio
from promptgen.services.blueprint_builder import (
    BuilderField,
    FieldProblem,
    schema_from_fields,
    schema_problem,
)
from promptgen.services.catalog_import import BlueprintEntry, CatalogError, check_storable
from promptgen.services.plans import PlanSummary

MAX_BLUEPRINTS_PER_USER = 200
MAX_VERSIONS_PER_BLUEPRINT = 1_000
MAX_NOTE_CHARS = 500
# The parameter schema as JSON; 50 fields with 100 choices each fit well within it.
MAX_SCHEMA_CHARS = 200_000
DEFAULT_CATEGORY = "My blueprints"
CATALOG_PREFIX = "catalog:"
USER_PREFIX = "user:"
_USER_REFERENCE = re.compile(r"^user:([0-9a-fA-F-]{32,36})(?:@([1-9][0-9]{0,8}))?$")
_CATALOG_REFERENCE = re.compile(r"^catalog:([a-z0-9][a-z0-9._-]{0,63})$")
# Names a draft's parts have in problems (the builder's, and the API's JSON keys).
_PART_NAMES = {
    "prompt_template": "template",
    "parameter_schema": "parameter_schema",
    "name": "name",
    "category": "category",
    "description": "description",
    "instructions": "instructions",
}


class BlueprintInvalid(UserFacingError, ValueError):
    """A blueprint that cannot be saved; `problems` name each field at fault (`field` is
    the first one's)."""

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(
            "; ".join(str(p) for p in problems), field=problems[0].field if problems else None
        )
        self.problems = problems


class BlueprintNotFound(UserFacingError, LookupError):
    """No such blueprint (or version) among the user's own."""

    def __init__(self) -> None:
        super().__init__("That blueprint does not exist, or is not yours.")


class BlueprintConflict(UserFacingError, ValueError):
    """The blueprint changed since the editor loaded it (saved from another tab)."""

    def __init__(self, current_version: int) -> None:
        super().__init__(
            f"This blueprint was saved elsewhere meanwhile (now at version {current_version}). "
            "Reload it to see that version; your edits here are not saved."
        )
        self.current_version = current_version


class BlueprintLimit(UserFacingError, ValueError):
    """Past a per-account or per-blueprint limit (blueprints, versions)."""


@dataclass(frozen=True)
class BlueprintDraft:
    """What a save writes: a blueprint's content, as the API and the builder send it."""

    name: str
    prompt_template: str
    parameter_schema: dict[str, Any]
    description: str = ""
    category: str = ""
    instructions: str = ""


@dataclass(frozen=True)
class UserBlueprintSummary:
    id: str
    name: str
    category: str
    description: str
    current_version: int
    source: str
    created_at: datetime
    updated_at: datetime

    @property
    def reference(self) -> str:
        return f"{USER_PREFIX}{self.id}"


@dataclass(frozen=True)
class UserBlueprintDetail:
    """One version of a user blueprint (the newest unless asked otherwise)."""

    id: str
    version: int
    version_id: str
    current_version: int
    name: str
    category: str
    description: str
    prompt_template: str
    parameter_schema: dict[str, Any]
    instructions: str
    note: str
    restored_from: int | None
    source: str
    created_at: datetime  # of this version

    @property
    def reference(self) -> str:
        return f"{USER_PREFIX}{self.id}@{self.version}"

    @property
    def takes_signature(self) -> bool:
        """Whether visual signatures are offered with it: an Image blueprint, or one whose
        template places the signature itself."""
        return self.category.strip().casefold() == "image" or bool(
            _template_variables(self.prompt_template) & SIGNATURE_VARIABLES
        )


@dataclass(frozen=True)
class VersionSummary:
    version: int
    version_id: str
    name: str
    note: str
    restored_from: int | None
    created_at: datetime


@dataclass(frozen=True)
class ResolvedBlueprint:
    """A blueprint ready to compile, from the catalog or the user's own: the fields
    generation needs, plus where it came from (for the history row)."""

    reference: str
    name: str
    description: str
    category: str
    prompt_template: str
    parameter_schema: dict[str, Any]
    instructions: str
    catalog_id: int | None = None  # supported_templates.id
    user_blueprint_id: str | None = None
    version: int | None = None
    version_id: uuid.UUID | None = None
    # Whether visual signatures apply (services/signatures.py): the catalog row's flag; for a
    # user's own blueprint, whether it is an Image one (it has no flag of its own yet).
    takes_signature: bool = False

    @property
    def is_own(self) -> bool:
        return self.user_blueprint_id is not None


@dataclass(frozen=True)
class BlueprintHistoryEntry:
    """A history row generated from some version of a user blueprint."""

    id: str
    created_at: datetime
    version: int
    status: str
    model_name: str
    parameters: dict[str, Any]
    output: str


# --- references ---------------------------------------------------------------------


@dataclass(frozen=True)
class BlueprintReference:
    kind: str  # "catalog" | "user"
    slug: str = ""
    blueprint_id: uuid.UUID | None = None
    version: int | None = None


def parse_reference(reference: str) -> BlueprintReference | None:
    """The parts of "catalog:<slug>", "user:<uuid>" or "user:<uuid>@<version>"; None when
    `reference` is none of these."""
    if not isinstance(reference, str):
        return None
    if match := _CATALOG_REFERENCE.match(reference):
        return BlueprintReference(kind="catalog", slug=match.group(1))
    if match := _USER_REFERENCE.match(reference):
        try:
            blueprint_id = uuid.UUID(match.group(1))
        except ValueError:
            return None
        version = int(match.group(2)) if match.group(2) else None
        return BlueprintReference(kind="user", blueprint_id=blueprint_id, version=version)
    return None


def user_reference(blueprint_id: str | uuid.UUID, version: int | None = None) -> str:
    return f"{USER_PREFIX}{blueprint_id}" + (f"@{version}" if version else "")


def catalog_reference(slug: str) -> str:
    return f"{CATALOG_PREFIX}{slug}"


# --- validation ---------------------------------------------------------------------


def _template_variables(prompt_template: str) -> set[str]:
    """The variables a template uses (none when it does not parse)."""
    try:
        # Parsing only (nothing renders here), so autoescape is irrelevant.
        parsed = jinja2.Environment().parse(prompt_template)  # noqa: S701
    except (jinja2.TemplateError, ValueError, RecursionError):
        return set()
    return set(meta.find_undeclared_variables(parsed))


def _unknown_variables(prompt_template: str, names: set[str]) -> list[str]:
    """Variables the template uses that no field defines ([] when it does not parse:
    the sandbox's own check reports the syntax error)."""
    try:
        # Parsing only (nothing renders here), so autoescape is irrelevant.
        parsed = jinja2.Environment().parse(prompt_template)  # noqa: S701
    except (jinja2.TemplateError, ValueError, RecursionError):
        return []
    return sorted(meta.find_undeclared_variables(parsed) - names - SIGNATURE_VARIABLES)


def check_draft(draft: BlueprintDraft, *, builder_names: list[str] | None = None) -> BlueprintDraft:
    """The draft, trimmed, when it would import into the catalog; else BlueprintInvalid.

    `builder_names` (the builder's fields in order) names schema problems "fields[i]..."
    instead of by their path in the parameter schema.
    """
    draft = BlueprintDraft(
        name=draft.name.strip() if isinstance(draft.name, str) else draft.name,
        prompt_template=draft.prompt_template,
        parameter_schema=draft.parameter_schema,
        description=draft.description.strip() if isinstance(draft.description, str) else "",
        category=(draft.category.strip() if isinstance(draft.category, str) else "")
        or DEFAULT_CATEGORY,
        instructions=draft.instructions.strip() if isinstance(draft.instructions, str) else "",
    )
    values = {
        "name": draft.name,
        "category": draft.category,
        "description": draft.description,
        "prompt_template": draft.prompt_template,
        "parameter_schema": draft.parameter_schema,
        "instructions": draft.instructions,
    }
    problems: list[FieldProblem] = []
    if not isinstance(draft.name, str) or not draft.name:
        problems.append(FieldProblem("name", "required"))
    if not isinstance(draft.prompt_template, str) or not draft.prompt_template.strip():
        problems.append(FieldProblem("template", "required: write the prompt text"))
    for key, value in values.items():
        try:
            check_storable(value)
        except CatalogError as exc:
            problems.append(FieldProblem(_PART_NAMES[key], str(exc).removeprefix("the catalog ")))
    if problems:
        raise BlueprintInvalid(problems)
    schema_size = len(json.dumps(draft.parameter_schema, ensure_ascii=False))
    if schema_size > MAX_SCHEMA_CHARS:
        raise BlueprintInvalid(
            [FieldProblem("parameter_schema", f"is over {MAX_SCHEMA_CHARS:,} characters of JSON")]
        )
    try:
        validate_parameter_schema(draft.parameter_schema)
    except SchemaError as exc:
        raise BlueprintInvalid([schema_problem(exc, builder_names)]) from None
    names = set(draft.parameter_schema["properties"])
    unknown = _unknown_variables(draft.prompt_template, names)
    if unknown:
        raise BlueprintInvalid(
            [FieldProblem("template", f"unknown variable {{{{ {name} }}}}") for name in unknown]
        )
    try:
        validate_prompt_template(draft.prompt_template, parameter_names=names)
    except SchemaError as exc:
        raise BlueprintInvalid([FieldProblem("template", exc.message)]) from None
    # The catalog's own entry: its size limits, and the template checked in the sandbox.
    try:
        BlueprintEntry.model_validate({"slug": "user-blueprint", **values})
    except ValidationError as exc:
        found = []
        for error in exc.errors():
            key = str(error["loc"][0]) if error["loc"] else "name"
            message = error["msg"].removeprefix("Value error, ")
            found.append(FieldProblem(_PART_NAMES.get(key, key), message))
        raise BlueprintInvalid(found) from None
    try:
        check_template_renders(draft.parameter_schema, draft.prompt_template)
    except SchemaError as exc:
        raise BlueprintInvalid([FieldProblem("template", exc.message)]) from None
    return draft


def draft_from_builder(
    *,
    name: str,
    fields: list[BuilderField],
    prompt_template: str,
    description: str = "",
    category: str = "",
    instructions: str = "",
) -> BlueprintDraft:
    """The checked draft the builder's fields describe; BlueprintInvalid naming every
    field at fault ("fields[2].label: required")."""
    schema, problems = schema_from_fields(fields)
    if not name.strip():
        problems.insert(0, FieldProblem("name", "required"))
    if problems:
        raise BlueprintInvalid(problems)
    draft = BlueprintDraft(
        name=name,
        prompt_template=prompt_template,
        parameter_schema=schema,
        description=description,
        category=category,
        instructions=instructions,
    )
    return check_draft(draft, builder_names=[f.name.strip() for f in fields])


def _note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > MAX_NOTE_CHARS:
        raise BlueprintInvalid([FieldProblem("note", f"at most {MAX_NOTE_CHARS} characters")])
    if "\x00" in note:
        raise BlueprintInvalid([FieldProblem("note", "contains a NUL character")])
    return note


# --- reading ------------------------------------------------------------------------


def _as_uuid(value: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _owned_blueprint(
    session: Session, user_id: uuid.UUID, blueprint_id: str | uuid.UUID
) -> UserBlueprint | None:
    key = _as_uuid(blueprint_id)
    if key is None:
        return None
    return session.exec(
        select(UserBlueprint).where(UserBlueprint.id == key, UserBlueprint.user_id == user_id)
    ).first()


def _summary(row: UserBlueprint) -> UserBlueprintSummary:
    return UserBlueprintSummary(
        id=str(row.id),
        name=row.name,
        category=row.category,
        description=row.description,
        current_version=row.current_version,
        source=row.source,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _detail(head: UserBlueprint, version: UserBlueprintVersion) -> UserBlueprintDetail:
    return UserBlueprintDetail(
        id=str(head.id),
        version=version.version,
        version_id=str(version.id),
        current_version=head.current_version,
        name=version.name,
        category=version.category,
        description=version.description,
        prompt_template=version.prompt_template,
        parameter_schema=version.parameter_schema,
        instructions=version.instructions,
        note=version.note,
        restored_from=version.restored_from,
        source=head.source,
        created_at=version.created_at,
    )


def list_blueprints(*, session: Session, user_id: uuid.UUID) -> list[UserBlueprintSummary]:
    """The user's own blueprints, most recently saved first."""
    rows = session.exec(
        select(UserBlueprint)
        .where(UserBlueprint.user_id == user_id)
        .order_by(col(UserBlueprint.updated_at).desc(), UserBlueprint.name)
    ).all()
    return [_summary(r) for r in rows]


def list_blueprint_details(*, session: Session, user_id: uuid.UUID) -> list[UserBlueprintDetail]:
    """The user's own blueprints at their newest version, content and schema included (for
    an API listing), most recently saved first. One query."""
    rows = session.exec(
        select(UserBlueprint, UserBlueprintVersion)
        .join(
            UserBlueprintVersion,
            sa.and_(
                col(UserBlueprintVersion.blueprint_id) == col(UserBlueprint.id),
                col(UserBlueprintVersion.version) == col(UserBlueprint.current_version),
            ),
        )
        .where(UserBlueprint.user_id == user_id, UserBlueprintVersion.user_id == user_id)
        .order_by(col(UserBlueprint.updated_at).desc(), UserBlueprint.name)
    ).all()
    return [_detail(head, version) for head, version in rows]


def _version_row(
    session: Session, user_id: uuid.UUID, blueprint_id: uuid.UUID, version: int
) -> UserBlueprintVersion | None:
    return session.exec(
        select(UserBlueprintVersion).where(
            UserBlueprintVersion.blueprint_id == blueprint_id,
            UserBlueprintVersion.user_id == user_id,
            UserBlueprintVersion.version == version,
        )
    ).first()


def get_blueprint(
    *,
    session: Session,
    user_id: uuid.UUID,
    blueprint_id: str | uuid.UUID,
    version: int | None = None,
) -> UserBlueprintDetail | None:
    """One of the user's blueprints at `version` (default: the newest); None when it is
    not theirs or there is no such version."""
    head = _owned_blueprint(session, user_id, blueprint_id)
    if head is None:
        return None
    row = _version_row(session, user_id, head.id, version or head.current_version)
    return _detail(head, row) if row is not None else None


def list_versions(
    *, session: Session, user_id: uuid.UUID, blueprint_id: str | uuid.UUID
) -> list[VersionSummary]:
    """Every version of one of the user's blueprints, newest first ([] when not theirs)."""
    key = _as_uuid(blueprint_id)
    if key is None:
        return []
    rows = session.exec(
        select(UserBlueprintVersion)
        .where(UserBlueprintVersion.blueprint_id == key, UserBlueprintVersion.user_id == user_id)
        .order_by(col(UserBlueprintVersion.version).desc())
    ).all()
    return [
        VersionSummary(
            version=r.version,
            version_id=str(r.id),
            name=r.name,
            note=r.note,
            restored_from=r.restored_from,
            created_at=r.created_at,
        )
        for r in rows
    ]


def list_blueprint_history(
    *, session: Session, user_id: uuid.UUID, blueprint_id: str | uuid.UUID, limit: int = 100
) -> list[BlueprintHistoryEntry]:
    """The user's history rows made with any version of this blueprint, newest first."""
    key = _as_uuid(blueprint_id)
    if key is None:
        return []
    rows = session.exec(
        select(UserPrompt, UserBlueprintVersion.version)
        .join(
            UserBlueprintVersion,
            col(UserBlueprintVersion.id) == UserPrompt.blueprint_version_id,
        )
        .where(
            UserPrompt.user_id == user_id,
            UserBlueprintVersion.user_id == user_id,
            UserBlueprintVersion.blueprint_id == key,
        )
        .order_by(col(UserPrompt.created_at).desc())
        .limit(max(1, min(limit, 500)))
    ).all()
    return [
        BlueprintHistoryEntry(
            id=str(prompt.id),
            created_at=prompt.created_at,
            version=version,
            status=prompt.status,
            model_name=prompt.model_name,
            parameters=prompt.parameters,
            output=prompt.output or prompt.error_message or "",
        )
        for prompt, version in rows
    ]


# --- writing ------------------------------------------------------------------------


def _add_version(
    session: Session,
    *,
    user_id: uuid.UUID,
    blueprint_id: uuid.UUID,
    version: int,
    draft: BlueprintDraft,
    note: str,
    restored_from: int | None,
    now: datetime,
) -> UserBlueprintVersion:
    row = UserBlueprintVersion(
        blueprint_id=blueprint_id,
        user_id=user_id,
        version=version,
        name=draft.name,
        category=draft.category,
        description=draft.description,
        prompt_template=draft.prompt_template,
        parameter_schema=draft.parameter_schema,
        instructions=draft.instructions,
        note=note,
        restored_from=restored_from,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _check_room(session: Session, user_id: uuid.UUID) -> None:
    count = session.exec(
        select(func.count()).select_from(UserBlueprint).where(UserBlueprint.user_id == user_id)
    ).one()
    if count >= MAX_BLUEPRINTS_PER_USER:
        raise BlueprintLimit(
            f"You have {count} blueprints, the most one account can keep. Delete one first."
        )


def create_blueprint(
    *,
    session: Session,
    user_id: uuid.UUID,
    draft: BlueprintDraft,
    note: str = "",
    source: str = "",
    builder_names: list[str] | None = None,
    now: datetime | None = None,
) -> UserBlueprintDetail:
    """A new private blueprint, at version 1. Checked as a catalog import would be."""
    draft = check_draft(draft, builder_names=builder_names)
    note = _note(note)
    _check_room(session, user_id)
    now = now or datetime.now(UTC)
    head = UserBlueprint(
        user_id=user_id,
        name=draft.name,
        category=draft.category,
        description=draft.description,
        current_version=1,
        source=source[:200],
        created_at=now,
        updated_at=now,
    )
    session.add(head)
    session.flush()
    version = _add_version(
        session,
        user_id=user_id,
        blueprint_id=head.id,
        version=1,
        draft=draft,
        note=note,
        restored_from=None,
        now=now,
    )
    return _detail(head, version)


def _bump_version(
    session: Session,
    *,
    user_id: uuid.UUID,
    blueprint_id: uuid.UUID,
    draft: BlueprintDraft,
    expected_version: int | None,
    now: datetime,
) -> UserBlueprint:
    """Claim the next version number with one conditional UPDATE (it locks the row, so
    concurrent saves get consecutive numbers, or a conflict when `expected_version`)."""
    head = _owned_blueprint(session, user_id, blueprint_id)
    if head is None:
        raise BlueprintNotFound()
    if head.current_version >= MAX_VERSIONS_PER_BLUEPRINT:
        raise BlueprintLimit(
            f"This blueprint has {head.current_version:,} versions, the most one can keep. "
            "Duplicate it to keep editing."
        )
    statement = (
        sa.update(UserBlueprint)
        .where(col(UserBlueprint.id) == head.id, col(UserBlueprint.user_id) == user_id)
        .values(
            current_version=UserBlueprint.current_version + 1,
            name=draft.name,
            category=draft.category,
            description=draft.description,
            updated_at=now,
        )
    )
    if expected_version is not None:
        statement = statement.where(col(UserBlueprint.current_version) == expected_version)
    updated = rows_affected(session.execute(statement))
    session.expire(head)
    session.refresh(head)
    if not updated:
        raise BlueprintConflict(head.current_version)
    return head


def save_version(
    *,
    session: Session,
    user_id: uuid.UUID,
    blueprint_id: str | uuid.UUID,
    draft: BlueprintDraft,
    note: str = "",
    expected_version: int | None = None,
    builder_names: list[str] | None = None,
    now: datetime | None = None,
) -> UserBlueprintDetail:
    """Edit: save `draft` as the blueprint's next version. With `expected_version` (the
    version the editor started from), refuse with BlueprintConflict when another save
    came first."""
    draft = check_draft(draft, builder_names=builder_names)
    note = _note(note)
    key = _as_uuid(blueprint_id)
    if key is None:
        raise BlueprintNotFound()
    now = now or datetime.now(UTC)
    head = _bump_version(
        session,
        user_id=user_id,
        blueprint_id=key,
        draft=draft,
        expected_version=expected_version,
        now=now,
    )
    version = _add_version(
        session,
        user_id=user_id,
        blueprint_id=head.id,
        version=head.current_version,
        draft=draft,
        note=note,
        restored_from=None,
        now=now,
    )
    return _detail(head, version)


def restore_version(
    *,
    session: Session,
    user_id: uuid.UUID,
    blueprint_id: str | uuid.UUID,
    version: int,
    note: str = "",
    now: datetime | None = None,
) -> UserBlueprintDetail:
    """A new version with the content of `version`: history stays linear, nothing is
    rewritten."""
    old = get_blueprint(
        session=session, user_id=user_id, blueprint_id=blueprint_id, version=version
    )
    if old is None:
        raise BlueprintNotFound()
    note = _note(note) or f"Restored version {version}"
    draft = BlueprintDraft(
        name=old.name,
        prompt_template=old.prompt_template,
        parameter_schema=old.parameter_schema,
        description=old.description,
        category=old.category,
        instructions=old.instructions,
    )
    now = now or datetime.now(UTC)
    head = _bump_version(
        session,
        user_id=user_id,
        blueprint_id=uuid.UUID(old.id),
        draft=draft,
        expected_version=None,
        now=now,
    )
    row = _add_version(
        session,
        user_id=user_id,
        blueprint_id=head.id,
        version=head.current_version,
        draft=draft,
        note=note,
        restored_from=version,
        now=now,
    )
    return _detail(head, row)


def _copy_name(name: str) -> str:
    return (name if len(name) <= 113 else name[:112] + "…") + " (copy)"


def _copy_of(source: UserBlueprintDetail | SupportedTemplate) -> BlueprintDraft:
    """A draft with `source`'s content under a "(copy)" name."""
    return BlueprintDraft(
        name=_copy_name(source.name),
        prompt_template=source.prompt_template,
        parameter_schema=source.parameter_schema,
        description=source.description,
        category=source.category,
        instructions=source.instructions,
    )


def duplicate_blueprint(
    *,
    session: Session,
    user_id: uuid.UUID,
    blueprint_id: str | uuid.UUID,
    version: int | None = None,
) -> UserBlueprintDetail:
    """A new private blueprint copied from one of the user's own (at `version`)."""
    old = get_blueprint(
        session=session, user_id=user_id, blueprint_id=blueprint_id, version=version
    )
    if old is None:
        raise BlueprintNotFound()
    return create_blueprint(
        session=session,
        user_id=user_id,
        draft=_copy_of(old),
        note=f"Copied from {old.name} v{old.version}",
        source=old.reference,
    )


def duplicate_catalog_blueprint(
    *, session: Session, user_id: uuid.UUID, catalog_id: int | None = None, slug: str = ""
) -> UserBlueprintDetail:
    """A private copy of an active catalog blueprint (by id or slug)."""
    statement = select(SupportedTemplate).where(SupportedTemplate.is_active)
    if catalog_id is not None:
        statement = statement.where(SupportedTemplate.id == catalog_id)
    else:
        statement = statement.where(SupportedTemplate.slug == slug)
    row = session.exec(statement).first()
    if row is None:
        raise BlueprintNotFound()
    return create_blueprint(
        session=session,
        user_id=user_id,
        draft=_copy_of(row),
        note=f"Copied from the catalog blueprint {row.name}",
        source=catalog_reference(row.slug),
    )


def delete_blueprint(
    *, session: Session, user_id: uuid.UUID, blueprint_id: str | uuid.UUID
) -> bool:
    """Delete one of the user's blueprints and its versions. History rows made with it
    stay, with their names; they lose only the link to the version. False when not theirs."""
    key = _as_uuid(blueprint_id)
    if key is None:
        return False
    deleted = session.exec(
        sa.delete(UserBlueprint).where(
            col(UserBlueprint.id) == key, col(UserBlueprint.user_id) == user_id
        )
    )
    return rows_affected(deleted) > 0


# --- generation ---------------------------------------------------------------------


def resolve_blueprint(
    *, session: Session, user_id: uuid.UUID, reference: str
) -> ResolvedBlueprint | None:
    """The blueprint a reference names, if the user may use it: an active catalog
    blueprint, or a version of one of their own. None otherwise."""
    parsed = parse_reference(reference)
    if parsed is None:
        return None
    if parsed.kind == "catalog":
        row = session.exec(
            select(SupportedTemplate).where(
                SupportedTemplate.slug == parsed.slug, SupportedTemplate.is_active
            )
        ).first()
        if row is None:
            return None
        return ResolvedBlueprint(
            reference=catalog_reference(row.slug),
            name=row.name,
            description=row.description,
            category=row.category,
            prompt_template=row.prompt_template,
            parameter_schema=row.parameter_schema,
            instructions=row.instructions,
            catalog_id=row.id,
            takes_signature=row.takes_signature,
        )
    if parsed.blueprint_id is None:  # parse_reference sets it on every user reference
        return None
    detail = get_blueprint(
        session=session, user_id=user_id, blueprint_id=parsed.blueprint_id, version=parsed.version
    )
    if detail is None:
        return None
    return ResolvedBlueprint(
        reference=detail.reference,
        name=detail.name,
        description=detail.description,
        category=detail.category,
        prompt_template=detail.prompt_template,
        parameter_schema=detail.parameter_schema,
        instructions=detail.instructions,
        user_blueprint_id=detail.id,
        version=detail.version,
        version_id=uuid.UUID(detail.version_id),
        takes_signature=detail.takes_signature,
    )


def studio_with_own(
    *,
    session: Session,
    user_id: uuid.UUID,
    plan: PlanSummary | None = None,
    preferred_blueprint_id: int = 0,
) -> tuple[studio.StudioPage, list[UserBlueprintSummary]]:
    """What the dashboard reads at page load (services/studio) and the user's own
    blueprints, in the page load's one transaction (services/page_loads.py). `plan` (passed
    by the page load) tells which models the user can reach."""
    page = studio.load_studio(
        session=session, user_id=user_id, plan=plan, preferred_blueprint_id=preferred_blueprint_id
    )
    return page, list_blueprints(session=session, user_id=user_id)
