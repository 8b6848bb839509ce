"""Export a user's blueprints and history as one JSON document, and import it into another
account; and turn Langfuse-style `{{variable}}` text prompts into blueprints.

The export (`format: "promptgen-export"`, `version: 1`) names catalog blueprints, models
and signatures by their slugs, so it reads the same on another server. Images are not
exported (their file names are). Import is validated item by item before anything is
written (an error names the item: `history[3].parameters`), capped in size, and
idempotent: an entry keeps a stable id derived from the importing user and its original
id, so importing the same file twice adds nothing the second time.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from promptgen.blueprints import SIGNATURE_VARIABLES
from promptgen.errors import UserFacingError
from promptgen.models import (
    PromptAttachment,
    SupportedAIModel,
    SupportedTemplate,
    UserBlueprint,
    UserBlueprintVersion,
    UserPrompt,
    VisualSignature,
)
from promptgen.services import user_blueprints
from promptgen.services.user_blueprints import BlueprintDraft

FORMAT = "promptgen-export"
VERSION = 1
MAX_IMPORT_BYTES = 900 * 1024  # under the edge's 1 MB body cap
MAX_HISTORY_ITEMS = 2000
MAX_BLUEPRINTS = 200
MAX_TEXT = 200_000
_STATUSES = {"succeeded", "failed", "cancelled"}
_KEY_SOURCES = {"platform", "own_key", "offline"}
_IMPORT_NAMESPACE = uuid.UUID("6f1e4c9a-3b7d-4e2a-9c51-0d8f2a7b6e13")


class TransferError(UserFacingError):
    """An import that cannot be taken; `item` names what is wrong (`history[3].output`)."""

    def __init__(self, message: str, *, item: str = "") -> None:
        super().__init__(message, field=item or None)
        self.item = item

    def __str__(self) -> str:
        return f"{self.item}: {self.message}" if self.item else self.message


@dataclass(frozen=True)
class ImportedBlueprint:
    """A blueprint read from an import: its versions, oldest first, each checked as the
    builder's saves are; `original` is its reference in the export ("" for Langfuse)."""

    versions: list[tuple[BlueprintDraft, str]]  # (content, note)
    source: str  # kept on the copy, so importing the same file again finds it
    original: str = ""


@dataclass
class ImportReport:
    history_added: int = 0
    history_skipped: int = 0
    blueprints: list[ImportedBlueprint] = field(default_factory=list)
    blueprints_added: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"{self.history_added} history entries imported"]
        if self.history_skipped:
            parts.append(f"{self.history_skipped} already there")
        if self.blueprints:
            parts.append(f"{self.blueprints_added} of {len(self.blueprints)} blueprints imported")
            if self.blueprints_added < len(self.blueprints):
                parts.append("the others were imported before")
        return ", ".join(parts) + "." + "".join(f" {n}" for n in self.notes)


# --- export -------------------------------------------------------------------------------


def _slugs(session: Session, model: Any) -> dict[int | None, str]:
    return {row.id: row.slug for row in session.exec(select(model)).all()}


def _own_blueprints_for_export(session: Session, user_id: uuid.UUID) -> list[dict[str, Any]]:
    """The user's own blueprints, each with every version (oldest first)."""
    heads = session.exec(
        select(UserBlueprint)
        .where(col(UserBlueprint.user_id) == user_id)
        .order_by(col(UserBlueprint.created_at))
    ).all()
    versions: dict[uuid.UUID, list[UserBlueprintVersion]] = {}
    for row in session.exec(
        select(UserBlueprintVersion)
        .where(col(UserBlueprintVersion.user_id) == user_id)
        .order_by(col(UserBlueprintVersion.version))
    ).all():
        versions.setdefault(row.blueprint_id, []).append(row)
    return [
        {
            "id": user_blueprints.user_reference(head.id),
            "name": head.name,
            "versions": [
                {
                    "version": v.version,
                    "name": v.name,
                    "category": v.category,
                    "description": v.description,
                    "template": v.prompt_template,
                    "parameters_schema": v.parameter_schema,
                    "instructions": v.instructions,
                    "note": v.note,
                }
                for v in versions.get(head.id, [])
            ],
        }
        for head in heads
    ]


def export_account(*, session: Session, user_id: uuid.UUID) -> dict[str, Any]:
    """Everything the user made, as one JSON-ready document."""
    blueprints = _slugs(session, SupportedTemplate)
    models = _slugs(session, SupportedAIModel)
    signatures = _slugs(session, VisualSignature)
    images: dict[uuid.UUID, list[str]] = {}
    for prompt_id, filename in session.exec(
        select(PromptAttachment.prompt_id, PromptAttachment.filename).where(
            col(PromptAttachment.user_id) == user_id
        )
    ).all():
        images.setdefault(prompt_id, []).append(filename)
    own_versions: dict[uuid.UUID | None, str] = {
        version_id: user_blueprints.user_reference(blueprint_id, number)
        for version_id, blueprint_id, number in session.exec(
            select(
                UserBlueprintVersion.id,
                UserBlueprintVersion.blueprint_id,
                UserBlueprintVersion.version,
            ).where(col(UserBlueprintVersion.user_id) == user_id)
        ).all()
    }
    prompts = session.exec(
        select(UserPrompt)
        .where(col(UserPrompt.user_id) == user_id, col(UserPrompt.status) != "pending")
        .order_by(col(UserPrompt.created_at))
    ).all()
    history = [
        {
            "id": str(p.id),
            "created_at": p.created_at.isoformat(),
            "status": p.status,
            "blueprint": {
                "name": p.template_name,
                "id": own_versions.get(p.blueprint_version_id)
                or (
                    f"catalog:{blueprints[p.template_id]}" if p.template_id in blueprints else None
                ),
            },
            "signature": {"name": p.signature_name, "id": signatures.get(p.signature_id)}
            if p.signature_name
            else None,
            "model": {"name": p.model_name, "id": models.get(p.model_id)},
            "key_source": p.key_source,
            "parameters": p.parameters,
            "prompt": p.compiled_prompt,
            "output": p.output,
            "error": p.error_message,
            "input_tokens": p.input_tokens,
            "output_tokens": p.output_tokens,
            "latency_ms": p.latency_ms,
            "favorite": p.is_favorite,
            "images": images.get(p.id, []),
        }
        for p in prompts
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": datetime.now(UTC).isoformat(),
        "blueprints": _own_blueprints_for_export(session, user_id),
        "history": history,
    }


# --- Langfuse-style text prompts -------------------------------------------------------------

_VARIABLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*\}\}")
_JINJA_MARKERS = re.compile(r"\{[{%#]|[}%#]\}")


def _field_name(variable: str, taken: set[str]) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", variable.lower()).strip("_") or "field"
    if not name[0].isalpha():
        name = f"v_{name}"
    name = name[:60]
    if name in SIGNATURE_VARIABLES:
        name = f"{name}_text"
    base, n = name, 2
    while name in taken:
        name = f"{base}_{n}"
        n += 1
    return name


def _literal(text: str) -> str:
    """Text the template shows as is: wrapped in a raw block when Jinja would read it."""
    if not _JINJA_MARKERS.search(text):
        return text
    return (
        "{% raw %}"
        + text.replace("{% endraw %}", "{% endraw %}{{ '{% endraw %}' }}{% raw %}")
        + "{% endraw %}"
    )


def blueprint_from_text_prompt(
    text: str, *, name: str, description: str = "", item: str = "blueprint"
) -> BlueprintDraft:
    """A blueprint from a Langfuse-style text prompt: every `{{variable}}` becomes a
    required text field (long text when the prompt is long), the rest stays as written."""
    if not isinstance(text, str) or not text.strip():
        raise TransferError("the prompt text is empty", item=f"{item}.prompt")
    if len(text) > MAX_TEXT:
        raise TransferError(
            f"the prompt text is over {MAX_TEXT:,} characters", item=f"{item}.prompt"
        )
    names: dict[str, str] = {}
    pieces: list[str] = []
    last = 0
    for match in _VARIABLE.finditer(text):
        variable = match.group(1)
        if variable not in names:
            names[variable] = _field_name(variable, set(names.values()))
        pieces.append(_literal(text[last : match.start()]))
        pieces.append("{{ " + names[variable] + " }}")
        last = match.end()
    pieces.append(_literal(text[last:]))
    if not names:
        raise TransferError(
            "the prompt has no {{variable}}, so there is nothing to fill in", item=f"{item}.prompt"
        )
    properties = {
        field_name: {"type": "string", "title": variable, "maxLength": 20_000}
        for variable, field_name in names.items()
    }
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "x-order": list(properties),
    }
    return _validated(
        BlueprintDraft(
            name=(name or "Imported prompt").strip()[:120],
            description=description[:2000],
            category="Imported",
            prompt_template="".join(pieces),
            parameter_schema=schema,
        ),
        item,
    )


def _validated(draft: BlueprintDraft, item: str) -> BlueprintDraft:
    """The draft, checked as a save in the builder is; TransferError naming the part."""
    try:
        return user_blueprints.check_draft(draft)
    except user_blueprints.BlueprintInvalid as exc:
        problem = exc.problems[0]
        where = f"{item}.{problem.field}" if getattr(problem, "field", "") else item
        raise TransferError(str(problem), item=where) from None


def _langfuse_prompt(obj: dict[str, Any], item: str) -> BlueprintDraft:
    prompt = obj.get("prompt")
    if obj.get("type") == "chat" or isinstance(prompt, list):
        if not isinstance(prompt, list):
            raise TransferError("a chat prompt is a list of messages", item=f"{item}.prompt")
        texts = []
        for i, message in enumerate(prompt):
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, str):
                raise TransferError("a message needs text content", item=f"{item}.prompt[{i}]")
            texts.append(content)
        prompt = "\n\n".join(texts)
    name = obj.get("name") if isinstance(obj.get("name"), str) else "Imported prompt"
    return blueprint_from_text_prompt(str(prompt or ""), name=str(name or ""), item=item)


def _version_draft(obj: Any, item: str) -> tuple[BlueprintDraft, str]:
    if not isinstance(obj, dict):
        raise TransferError("must be an object", item=item)
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        raise TransferError("needs a name", item=f"{item}.name")
    if not isinstance(obj.get("template"), str):
        raise TransferError("needs a template", item=f"{item}.template")
    draft = BlueprintDraft(
        name=name.strip()[:120],
        prompt_template=obj["template"],
        parameter_schema=obj.get("parameters_schema"),  # type: ignore[arg-type]  # checked
        description=str(obj.get("description") or "")[:2000],
        category=str(obj.get("category") or "")[:64],
        instructions=str(obj.get("instructions") or ""),
    )
    note = str(obj["note"]) if isinstance(obj.get("note"), str) else ""
    return _validated(draft, item), note


def _own_blueprint(obj: Any, item: str) -> ImportedBlueprint:
    if not isinstance(obj, dict):
        raise TransferError("must be an object", item=item)
    if "versions" not in obj and "prompt" in obj:  # a Langfuse prompt in a PromptGen file
        draft = _langfuse_prompt(obj, item)
        return ImportedBlueprint(
            [(draft, "Imported from a Langfuse prompt")], _langfuse_source(obj)
        )
    versions = obj.get("versions")
    if not isinstance(versions, list) or not versions:
        raise TransferError("needs at least one version", item=f"{item}.versions")
    if len(versions) > user_blueprints.MAX_VERSIONS_PER_BLUEPRINT:
        raise TransferError("has too many versions", item=f"{item}.versions")
    original = str(obj["id"]) if isinstance(obj.get("id"), str) else ""
    parsed = user_blueprints.parse_reference(original)
    if parsed is None or parsed.kind != "user":
        raise TransferError('needs its "id" from the export (user:<uuid>)', item=f"{item}.id")
    drafts = [_version_draft(v, f"{item}.versions[{i}]") for i, v in enumerate(versions)]
    return ImportedBlueprint(drafts, f"import:{parsed.blueprint_id}", str(parsed.blueprint_id))


def _langfuse_source(obj: dict[str, Any]) -> str:
    name = str(obj["name"]) if isinstance(obj.get("name"), str) else ""
    version = obj.get("version")
    return (
        f"langfuse:{name[:150]}@{version}" if isinstance(version, int) else f"langfuse:{name[:150]}"
    )


# --- import ---------------------------------------------------------------------------------


def parse_import(raw: bytes, *, filename: str = "") -> dict[str, Any]:
    """The document in an uploaded file: a PromptGen export, a Langfuse prompt (or a list
    of them), or a plain `{{variable}}` text prompt (a .txt or .md file)."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise TransferError(f"the file is over {MAX_IMPORT_BYTES // 1024} KB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise TransferError("the file is not UTF-8 text") from None
    if filename.lower().endswith((".txt", ".md")):
        stem = filename.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "Imported prompt"
        return {"langfuse": [{"name": stem, "type": "text", "prompt": text}]}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TransferError(
            f"the file is not valid JSON (line {getattr(exc, 'lineno', '?')})"
        ) from None
    if isinstance(data, list) or (
        isinstance(data, dict) and "prompt" in data and "format" not in data
    ):
        return {"langfuse": data if isinstance(data, list) else [data]}
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TransferError(
            f'not a PromptGen export (its "format" must be "{FORMAT}") nor a Langfuse prompt'
        )
    if data.get("version") != VERSION:
        raise TransferError(
            f"export version {data.get('version')!r} is not supported", item="version"
        )
    return data


def _text(value: Any, item: str, *, limit: int = MAX_TEXT, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise TransferError("must be text", item=item)
    if len(value) > limit:
        raise TransferError(f"is over {limit:,} characters", item=item)
    return value


def _optional_int(value: Any, item: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise TransferError("must be a whole number", item=item)
    return value


def _named(value: Any, item: str) -> tuple[str, str | None]:
    if value is None:
        return "", None
    if not isinstance(value, dict):
        raise TransferError("must be an object with a name", item=item)
    name = _text(value.get("name"), f"{item}.name", limit=120)
    slug = value.get("id")
    return name, slug if isinstance(slug, str) else None


def _history_row(
    entry: Any, index: int, user_id: uuid.UUID, catalog: dict[str, dict[str, int]]
) -> dict[str, Any]:
    item = f"history[{index}]"
    if not isinstance(entry, dict):
        raise TransferError("must be an object", item=item)
    original = entry.get("id")
    try:
        original_id = uuid.UUID(str(original))
    except ValueError:
        raise TransferError("needs the entry's id from the export", item=f"{item}.id") from None
    try:
        created_at = datetime.fromisoformat(str(entry.get("created_at")))
    except ValueError:
        raise TransferError(
            "must be an ISO 8601 date and time", item=f"{item}.created_at"
        ) from None
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    status = entry.get("status")
    if status not in _STATUSES:
        raise TransferError(f"must be one of {', '.join(sorted(_STATUSES))}", item=f"{item}.status")
    parameters = entry.get("parameters", {})
    if not isinstance(parameters, dict):
        raise TransferError("must be an object", item=f"{item}.parameters")
    if len(json.dumps(parameters)) > MAX_TEXT:
        raise TransferError("is too large", item=f"{item}.parameters")
    blueprint_name, blueprint_slug = _named(entry.get("blueprint"), f"{item}.blueprint")
    signature_name, signature_slug = _named(entry.get("signature"), f"{item}.signature")
    model_name, model_slug = _named(entry.get("model"), f"{item}.model")
    key_source = entry.get("key_source")
    favorite = entry.get("favorite", False)
    if not isinstance(favorite, bool):
        raise TransferError("must be true or false", item=f"{item}.favorite")
    blueprint_ref = user_blueprints.parse_reference(blueprint_slug or "")
    catalog_slug = blueprint_ref.slug if blueprint_ref and blueprint_ref.kind == "catalog" else ""
    return {
        "_blueprint_ref": blueprint_slug,
        "id": uuid.uuid5(_IMPORT_NAMESPACE, f"{user_id}:{original_id}"),
        "user_id": user_id,
        "template_id": catalog["blueprints"].get(catalog_slug),
        "signature_id": catalog["signatures"].get(signature_slug or ""),
        "model_id": catalog["models"].get(model_slug or ""),
        "template_name": blueprint_name,
        "signature_name": signature_name,
        "model_name": model_name,
        "parameters": parameters,
        "compiled_prompt": _text(entry.get("prompt"), f"{item}.prompt"),
        "output": _text(entry.get("output"), f"{item}.output"),
        "error_message": _text(entry.get("error"), f"{item}.error", limit=5000) or None,
        "input_tokens": _optional_int(entry.get("input_tokens"), f"{item}.input_tokens"),
        "output_tokens": _optional_int(entry.get("output_tokens"), f"{item}.output_tokens"),
        "latency_ms": _optional_int(entry.get("latency_ms"), f"{item}.latency_ms"),
        "key_source": key_source if key_source in _KEY_SOURCES else "offline",
        "status": status,
        "is_favorite": favorite,
        "created_at": created_at,
        "completed_at": created_at,
    }


def _catalog_ids(session: Session) -> dict[str, dict[str, int]]:
    def active(model: Any) -> dict[str, int]:
        return {r.slug: r.id for r in session.exec(select(model).where(model.is_active)).all()}

    return {
        "blueprints": active(SupportedTemplate),
        "models": active(SupportedAIModel),
        "signatures": active(VisualSignature),
    }


def _save_own_blueprints(
    session: Session, user_id: uuid.UUID, report: ImportReport
) -> dict[str, dict[int, uuid.UUID]]:
    """Save the imported blueprints as the user's own, every version in order; one imported
    before (same source) is left as it is. Returns, by original blueprint id, the new
    version ids by number (for the history rows that used them)."""
    sources = [b.source for b in report.blueprints]
    existing = (
        dict(
            session.exec(
                select(UserBlueprint.source, UserBlueprint.id).where(
                    col(UserBlueprint.user_id) == user_id, col(UserBlueprint.source).in_(sources)
                )
            ).all()
        )
        if sources
        else {}
    )
    mapping: dict[str, dict[int, uuid.UUID]] = {}
    for index, imported in enumerate(report.blueprints):
        head = existing.get(imported.source)
        if head is None:
            try:
                (first, note), *rest = imported.versions
                made = user_blueprints.create_blueprint(
                    session=session,
                    user_id=user_id,
                    draft=first,
                    note=note or "Imported",
                    source=imported.source,
                )
                for draft, later_note in rest:
                    user_blueprints.save_version(
                        session=session,
                        user_id=user_id,
                        blueprint_id=made.id,
                        draft=draft,
                        note=later_note,
                    )
            except user_blueprints.BlueprintLimit as exc:
                raise TransferError(exc.message, item=f"blueprints[{index}]") from None
            head = uuid.UUID(made.id)
            existing[imported.source] = head
            report.blueprints_added += 1
        if imported.original:
            mapping[imported.original] = {
                number: version_id
                for version_id, number in session.exec(
                    select(UserBlueprintVersion.id, UserBlueprintVersion.version).where(
                        col(UserBlueprintVersion.blueprint_id) == head,
                        col(UserBlueprintVersion.user_id) == user_id,
                    )
                ).all()
            }
    return mapping


def import_account(*, session: Session, user_id: uuid.UUID, data: dict[str, Any]) -> ImportReport:
    """Take a parsed document (parse_import) into the user's account. Everything is
    checked first; one bad item refuses the whole file, naming the item."""
    report = ImportReport()
    if "langfuse" in data and data.get("format") != FORMAT and isinstance(data["langfuse"], list):
        prompts = data["langfuse"]
        if len(prompts) > MAX_BLUEPRINTS:
            raise TransferError(f"at most {MAX_BLUEPRINTS} prompts at once")
        for i, obj in enumerate(prompts):
            if not isinstance(obj, dict):
                raise TransferError("must be a prompt object", item=f"prompts[{i}]")
            draft = _langfuse_prompt(obj, f"prompts[{i}]")
            report.blueprints.append(
                ImportedBlueprint(
                    [(draft, "Imported from a Langfuse prompt")], _langfuse_source(obj)
                )
            )
        _save_own_blueprints(session, user_id, report)
        return report
    blueprints = data.get("blueprints", [])
    history = data.get("history", [])
    if not isinstance(blueprints, list):
        raise TransferError("must be a list", item="blueprints")
    if not isinstance(history, list):
        raise TransferError("must be a list", item="history")
    if len(blueprints) > MAX_BLUEPRINTS:
        raise TransferError(f"at most {MAX_BLUEPRINTS} blueprints at once", item="blueprints")
    if len(history) > MAX_HISTORY_ITEMS:
        raise TransferError(f"at most {MAX_HISTORY_ITEMS} entries at once", item="history")
    report.blueprints = [_own_blueprint(b, f"blueprints[{i}]") for i, b in enumerate(blueprints)]
    catalog = _catalog_ids(session)
    rows = [_history_row(entry, i, user_id, catalog) for i, entry in enumerate(history)]
    versions = _save_own_blueprints(session, user_id, report)
    for row in rows:
        own = user_blueprints.parse_reference(row.pop("_blueprint_ref") or "")
        row["blueprint_version_id"] = (
            versions.get(str(own.blueprint_id), {}).get(own.version)
            if own is not None and own.kind == "user" and own.version is not None
            else None
        )
    existing = set()
    if rows:
        existing = set(
            session.exec(
                select(UserPrompt.id).where(
                    col(UserPrompt.user_id) == user_id,
                    col(UserPrompt.id).in_([r["id"] for r in rows]),
                )
            ).all()
        )
    fresh = [r for r in rows if r["id"] not in existing]
    seen: set[uuid.UUID] = set()
    unique = []
    for row in fresh:
        if row["id"] not in seen:
            seen.add(row["id"])
            unique.append(row)
    if unique:
        session.execute(sa.insert(UserPrompt), unique)
    report.history_added = len(unique)
    report.history_skipped = len(rows) - len(unique)
    return report
