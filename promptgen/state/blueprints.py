"""The user's own blueprints: the list, the builder and the versions page.

Thin: the builder's fields live here as text (services/blueprint_builder), every save and
read goes through services/user_blueprints, which checks ownership again on each call.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import reflex as rx

from promptgen import blueprints, urls
from promptgen.services import blueprint_diff, catalog, user_blueprints
from promptgen.services.blueprint_builder import (
    KIND_LABELS,
    BuilderField,
    FieldProblem,
    fields_from_schema,
    new_field,
    schema_from_fields,
    variable_name,
)
from promptgen.state.base import AuthState, run_service
from promptgen.state.dashboard import MULTI_SEPARATOR, FormField, _form_field
from promptgen.state.guard import LongText

NEW = "new"
# What the builder's text inputs may set on a field (set_field_text's `attribute`).
_TEXT_ATTRIBUTES = (
    "name",
    "label",
    "help",
    "placeholder",
    "default",
    "minimum",
    "maximum",
    "max_length",
    "options",
)
MAX_INPUT_CHARS = 60_000  # kept of any one text (the template's own limit is 50,000)


def _when(value) -> str:
    return f"{value:%b} {value.day}, {value.year} {value:%H:%M}" if value else ""


def _route_blueprint_id(path: str) -> str:
    """The <id> of /blueprints/<id>[/versions]."""
    parts = [p for p in path.split("/") if p]
    return parts[1] if len(parts) >= 2 and parts[0] == "blueprints" else ""


# --- the list ---------------------------------------------------------------------------


@dataclasses.dataclass
class OwnBlueprintRow:
    id: str
    name: str
    description: str
    category: str
    version: str
    updated: str


@dataclasses.dataclass
class CatalogRow:
    id: int
    name: str
    category: str
    description: str


class BlueprintListState(AuthState):
    own: list[OwnBlueprintRow] = []
    catalog_rows: list[CatalogRow] = []
    loaded: bool = False
    confirm_delete_id: str = ""
    message: str = ""
    error: str = ""

    async def _user_id(self) -> uuid.UUID | None:
        user = await self._current_user()
        return user.user_id if user else None

    async def _reload(self, user_id: uuid.UUID) -> None:
        rows = await run_service(user_blueprints.list_blueprints, user_id=user_id)
        self.own = [
            OwnBlueprintRow(
                r.id,
                r.name,
                r.description,
                r.category,
                f"v{r.current_version}",
                _when(r.updated_at),
            )
            for r in rows
        ]
        self.loaded = True

    @rx.event
    async def load(self):
        user_id = await self._refresh_user()
        if user_id is None:
            return rx.redirect(urls.sign_in_then(urls.BLUEPRINTS))
        self.message = self.error = self.confirm_delete_id = ""
        views = await run_service(catalog.list_blueprints)
        self.catalog_rows = [CatalogRow(v.id, v.name, v.category, v.description) for v in views]
        await self._reload(user_id)
        return None

    @rx.event
    async def duplicate(self, blueprint_id: str):
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(urls.sign_in_then(urls.BLUEPRINTS))
        try:
            copy = await run_service(
                user_blueprints.duplicate_blueprint, user_id=user_id, blueprint_id=blueprint_id
            )
        except (user_blueprints.BlueprintNotFound, user_blueprints.BlueprintLimit) as exc:
            self.error = exc.message
            return None
        return rx.redirect(urls.blueprint(copy.id))

    @rx.event
    async def duplicate_catalog(self, catalog_id: int):
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(urls.sign_in_then(urls.BLUEPRINTS))
        try:
            copy = await run_service(
                user_blueprints.duplicate_catalog_blueprint, user_id=user_id, catalog_id=catalog_id
            )
        except (user_blueprints.BlueprintNotFound, user_blueprints.BlueprintLimit) as exc:
            self.error = exc.message
            return None
        except user_blueprints.BlueprintInvalid as exc:  # a catalog row edited by hand
            self.error = f"That catalog blueprint cannot be copied: {exc.message}"
            return None
        return rx.redirect(urls.blueprint(copy.id))

    @rx.event
    def ask_delete(self, blueprint_id: str):
        self.confirm_delete_id = blueprint_id if any(r.id == blueprint_id for r in self.own) else ""

    @rx.event
    def cancel_delete(self):
        self.confirm_delete_id = ""

    @rx.event
    async def delete(self, blueprint_id: str):
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(urls.sign_in_then(urls.BLUEPRINTS))
        name = next((r.name for r in self.own if r.id == blueprint_id), "")
        deleted = await run_service(
            user_blueprints.delete_blueprint, user_id=user_id, blueprint_id=blueprint_id
        )
        self.confirm_delete_id = ""
        self.message = f"Deleted {name}." if deleted else ""
        self.error = "" if deleted else "That blueprint does not exist, or is not yours."
        await self._reload(user_id)
        return None


# --- the builder ------------------------------------------------------------------------


@dataclasses.dataclass
class FieldRow:
    """One builder field as the page shows it."""

    name: str
    label: str
    kind: str
    kind_label: str
    help: str
    required: bool
    placeholder: str
    default: str
    minimum: str
    maximum: str
    max_length: str
    options: str
    problem: str  # the field's problems after a save attempt, "" when none


@dataclasses.dataclass
class ProblemRow:
    field: str
    message: str


class BuilderState(AuthState):
    blueprint_id: str = ""  # "" while new
    loaded: bool = False
    found: bool = True
    version: int = 0  # the version being edited (0: new)
    blueprint_name: str = ""
    category: str = ""
    description: str = ""
    template: str = ""
    note: str = ""
    rows: list[FieldRow] = []
    problems: list[ProblemRow] = []
    saved_message: str = ""
    error: str = ""
    preview_fields: list[FormField] = []
    preview_prompt: str = ""
    preview_error: str = ""
    _fields: list[BuilderField] = []
    _samples: dict[str, Any] = {}
    instructions: str = ""
    _auto_named: list[bool] = []  # per field: the name still follows the label

    # -- loading

    @rx.event
    async def load(self):
        path = self.router.url.path
        user_id = await self._refresh_user()
        if user_id is None:
            return rx.redirect(urls.sign_in_then(path or urls.BLUEPRINTS))
        self._reset_builder()
        route_id = _route_blueprint_id(path)
        if route_id and route_id != NEW:
            detail = await run_service(
                user_blueprints.get_blueprint, user_id=user_id, blueprint_id=route_id
            )
            if detail is None:
                self.found = False
                self.loaded = True
                return None
            self._apply_detail(detail)
        else:
            self._fields = [
                BuilderField(name="subject", label="Subject", kind="text", required=True)
            ]
            self._auto_named = [True]
            self.template = "Write about {{ subject }}."
        self.loaded = True
        self._refresh()
        return None

    def _reset_builder(self) -> None:
        self.blueprint_id = ""
        self.found = True
        self.version = 0
        self.blueprint_name = self.category = self.description = self.template = self.note = ""
        self.problems = []
        self.saved_message = self.error = ""
        self._fields = []
        self._auto_named = []
        self._samples = {}
        self.instructions = ""

    def _apply_detail(self, detail: user_blueprints.UserBlueprintDetail) -> None:
        self.blueprint_id = detail.id
        self.version = detail.version
        self.blueprint_name = detail.name
        self.category = detail.category
        self.description = detail.description
        self.template = detail.prompt_template
        self.instructions = detail.instructions
        self._fields = fields_from_schema(detail.parameter_schema)
        self._auto_named = [False] * len(self._fields)
        self._samples = {}

    # -- the preview and the rows

    def _refresh(self, problems: list[FieldProblem] | None = None) -> None:
        """Rebuild the rows and the live preview (the form and the compiled prompt)."""
        if problems is not None:
            self.problems = [ProblemRow(p.field, p.message) for p in problems]
        by_field: dict[int, list[str]] = {}
        for problem in self.problems:
            if problem.field.startswith("fields["):
                index = problem.field[len("fields[") :].split("]", 1)[0]
                if index.isdigit():
                    attribute = problem.field.split("].", 1)[1] if "]." in problem.field else ""
                    text = f"{attribute}: {problem.message}" if attribute else problem.message
                    by_field.setdefault(int(index), []).append(text)
        self.rows = [
            FieldRow(
                name=f.name,
                label=f.label,
                kind=f.kind,
                kind_label=KIND_LABELS.get(f.kind, f.kind),
                help=f.help,
                required=f.required,
                placeholder=f.placeholder,
                default=f.default,
                minimum=f.minimum,
                maximum=f.maximum,
                max_length=f.max_length,
                options=f.options,
                problem="; ".join(by_field.get(i, [])),
            )
            for i, f in enumerate(self._fields)
        ]
        schema, field_problems = schema_from_fields(self._fields)
        if field_problems:
            self.preview_fields = []
            self.preview_prompt = ""
            self.preview_error = f"Preview waits for the fields: {field_problems[0]}"
            return
        try:
            blueprints.validate_parameter_schema(schema, prompt_template=self.template)
        except blueprints.SchemaError as exc:
            self.preview_fields = []
            self.preview_prompt = ""
            self.preview_error = f"Preview unavailable: {exc.message}"
            return
        sample = dict(blueprints.sample_parameter_sets(schema)[0][1])
        sample.update({k: v for k, v in self._samples.items() if k in schema["properties"]})
        values, errors = blueprints.coerce_and_validate(schema, sample)
        self.preview_fields = [
            _form_field(spec, sample.get(spec.name)) for spec in blueprints.describe_fields(schema)
        ]
        try:
            self.preview_prompt = blueprints.compile_prompt(
                prompt_template=self.template, parameters=values
            )
            self.preview_error = "; ".join(errors.values())
        except blueprints.SchemaError as exc:
            self.preview_prompt = ""
            self.preview_error = f"Preview unavailable: {exc.message}"

    @rx.var
    def variables(self) -> list[str]:
        return [r.name for r in self.rows if r.name]

    @rx.var
    def problem_count(self) -> int:
        return len(self.problems)

    # -- editing the blueprint

    def _field_at(self, index: int) -> BuilderField | None:
        return self._fields[index] if 0 <= index < len(self._fields) else None

    @rx.event
    def set_blueprint_name(self, value: str):
        self.blueprint_name = value[:200]

    @rx.event
    def set_category(self, value: str):
        self.category = value[:100]

    @rx.event
    def set_description(self, value: str | LongText):
        self.description = value[:MAX_INPUT_CHARS]

    @rx.event
    def set_instructions(self, value: str | LongText):
        self.instructions = value[:MAX_INPUT_CHARS]

    @rx.event
    def set_note(self, value: str):
        self.note = value[: user_blueprints.MAX_NOTE_CHARS + 100]

    @rx.event
    def set_template(self, value: str | LongText):
        self.template = value[:MAX_INPUT_CHARS]
        self._refresh()

    @rx.event
    def insert_variable(self, name: str):
        """Click to insert: the variable goes at the end of the template."""
        if name not in {f.name for f in self._fields}:
            return
        separator = "" if not self.template or self.template.endswith((" ", "\n")) else " "
        self.template = f"{self.template}{separator}{{{{ {name} }}}}"[:MAX_INPUT_CHARS]
        self._refresh()

    @rx.event
    def add_builder_field(self, kind: str):
        if kind not in KIND_LABELS or len(self._fields) >= 100:
            return
        self._fields = [*self._fields, new_field(kind, {f.name for f in self._fields})]
        self._auto_named = [*self._auto_named, True]
        self._refresh()

    @rx.event
    def remove_field(self, index: int):
        if self._field_at(index) is None:
            return
        self._fields = self._fields[:index] + self._fields[index + 1 :]
        self._auto_named = self._auto_named[:index] + self._auto_named[index + 1 :]
        self.problems = []
        self._refresh()

    @rx.event
    def move_field(self, index: int, delta: int):
        target = index + delta
        if delta not in (-1, 1) or self._field_at(index) is None or self._field_at(target) is None:
            return
        fields, auto = list(self._fields), list(self._auto_named)
        fields[index], fields[target] = fields[target], fields[index]
        auto[index], auto[target] = auto[target], auto[index]
        self._fields, self._auto_named = fields, auto
        self.problems = []
        self._refresh()

    @rx.event
    def set_field_text(self, index: int, attribute: str, value: str | LongText):
        field = self._field_at(index)
        if field is None or attribute not in _TEXT_ATTRIBUTES:
            return
        value = value[:MAX_INPUT_CHARS]
        changes: dict[str, Any] = {attribute: value}
        if attribute == "label" and index < len(self._auto_named) and self._auto_named[index]:
            # A new field's variable follows its label until the user names it.
            changes["name"] = variable_name(value) or field.name
        if attribute == "name":
            self._auto_named[index] = False
        fields = list(self._fields)
        fields[index] = dataclasses.replace(field, **changes)
        self._fields = fields
        self._refresh()

    @rx.event
    def set_field_required(self, index: int, value: bool):
        field = self._field_at(index)
        if field is None:
            return
        fields = list(self._fields)
        fields[index] = dataclasses.replace(field, required=bool(value))
        self._fields = fields
        self._refresh()

    @rx.event
    def set_field_kind(self, index: int, kind: str):
        field = self._field_at(index)
        if field is None or kind not in KIND_LABELS:
            return
        fields = list(self._fields)
        changes: dict[str, Any] = {"kind": kind, "default": ""}
        if kind in ("select", "multiselect") and not field.options.strip():
            changes["options"] = "first option\nsecond option"
        fields[index] = dataclasses.replace(field, **changes)
        self._fields = fields
        self._refresh()

    # -- the preview's sample values

    @rx.event
    def set_sample(self, name: str, value: str | LongText):
        if name in {f.name for f in self._fields}:
            self._samples = {**self._samples, name: value[:MAX_INPUT_CHARS]}
            self._refresh()

    @rx.event
    def set_sample_flag(self, name: str, value: bool):
        if name in {f.name for f in self._fields}:
            self._samples = {**self._samples, name: bool(value)}
            self._refresh()

    @rx.event
    def toggle_sample_choice(self, key: str):
        """A multiple-choice checkbox ("<field>::<option>") in the preview."""
        name, _, option = key.partition(MULTI_SEPARATOR)
        field = next((f for f in self.preview_fields if f.name == name), None)
        if field is None or option not in field.options:
            return
        current = self._samples.get(name, field.default_selected)
        chosen = list(current) if isinstance(current, list) else []
        chosen = [c for c in chosen if c != option] if option in chosen else [*chosen, option]
        self._samples = {**self._samples, name: chosen}
        self._refresh()

    # -- saving

    @rx.event
    async def save(self):
        user = await self._current_user()
        if user is None:
            return rx.redirect(urls.sign_in_then(self.router.url.path or urls.BLUEPRINTS))
        self.saved_message = self.error = ""
        try:
            draft = user_blueprints.draft_from_builder(
                name=self.blueprint_name,
                fields=self._fields,
                prompt_template=self.template,
                description=self.description,
                category=self.category,
                instructions=self.instructions,
            )
            if self.blueprint_id:
                detail = await run_service(
                    user_blueprints.save_version,
                    user_id=user.user_id,
                    blueprint_id=self.blueprint_id,
                    draft=draft,
                    note=self.note,
                    expected_version=self.version,
                )
            else:
                detail = await run_service(
                    user_blueprints.create_blueprint,
                    user_id=user.user_id,
                    draft=draft,
                    note=self.note,
                )
        except user_blueprints.BlueprintInvalid as exc:
            self.error = "Not saved: fix the problems listed below."
            self._refresh(exc.problems)
            return None
        except (
            user_blueprints.BlueprintConflict,
            user_blueprints.BlueprintNotFound,
            user_blueprints.BlueprintLimit,
        ) as exc:
            self.error = exc.message
            return None
        created = not self.blueprint_id
        self.blueprint_id = detail.id
        self.version = detail.version
        self.note = ""
        self.category = detail.category
        self.saved_message = f"Saved as version {detail.version}."
        self._refresh([])
        if created:
            return rx.redirect(urls.blueprint(detail.id))
        return None


# --- versions and diffs -----------------------------------------------------------------


@dataclasses.dataclass
class VersionRow:
    version: int
    label: str  # "v3"
    created: str
    note: str
    restored_from: str  # "v1" or ""
    is_current: bool


@dataclasses.dataclass
class DiffRow:
    kind: str
    sign: str
    spoken: str  # what a screen reader says for the sign
    old_number: str
    new_number: str
    text: str


@dataclasses.dataclass
class FieldChangeRow:
    name: str
    title: str
    change: str
    details: list[str]


@dataclasses.dataclass
class EntryOption:
    id: str
    label: str


@dataclasses.dataclass
class InputRow:
    name: str
    change: str
    before: str
    after: str


_SIGNS = {
    "added": ("+", "Added line"),
    "removed": ("\u2212", "Removed line"),  # a minus sign, as wide as the plus
    "same": ("", "Unchanged line"),
    "gap": ("…", "Skipped"),
}


def _diff_rows(lines: list[blueprint_diff.DiffLine]) -> list[DiffRow]:
    return [
        DiffRow(line.kind, *_SIGNS[line.kind], line.old_number, line.new_number, line.text)
        for line in lines
    ]


def _diff_summary(lines: list[blueprint_diff.DiffLine]) -> str:
    added = sum(1 for line in lines if line.kind == "added")
    removed = sum(1 for line in lines if line.kind == "removed")
    return f"{added} line(s) added, {removed} removed" if lines else "No differences"


class VersionsState(AuthState):
    blueprint_id: str = ""
    blueprint_name: str = ""
    loaded: bool = False
    found: bool = True
    current_version: int = 0
    versions: list[VersionRow] = []
    version_options: list[str] = []
    old_version: str = ""
    new_version: str = ""
    template_diff: list[DiffRow] = []
    template_summary: str = ""
    schema_changes: list[FieldChangeRow] = []
    entries: list[EntryOption] = []
    entry_a: str = ""
    entry_b: str = ""
    input_changes: list[InputRow] = []
    output_diff: list[DiffRow] = []
    output_summary: str = ""
    message: str = ""
    error: str = ""
    _entry_data: dict[str, dict[str, Any]] = {}

    async def _user_id(self) -> uuid.UUID | None:
        user = await self._current_user()
        return user.user_id if user else None

    @rx.event
    async def load(self):
        path = self.router.url.path
        user_id = await self._refresh_user()
        if user_id is None:
            return rx.redirect(urls.sign_in_then(path or urls.BLUEPRINTS))
        self.message = self.error = ""
        self.blueprint_id = _route_blueprint_id(path)
        await self._reload(user_id, keep_selection=False)
        return None

    async def _reload(self, user_id: uuid.UUID, *, keep_selection: bool) -> None:
        versions = await run_service(
            user_blueprints.list_versions, user_id=user_id, blueprint_id=self.blueprint_id
        )
        self.loaded = True
        self.found = bool(versions)
        if not versions:
            self.versions = []
            return
        self.current_version = versions[0].version
        self.blueprint_name = versions[0].name
        self.versions = [
            VersionRow(
                v.version,
                f"v{v.version}",
                _when(v.created_at),
                v.note,
                f"v{v.restored_from}" if v.restored_from else "",
                v.version == self.current_version,
            )
            for v in versions
        ]
        self.version_options = [str(v.version) for v in versions]
        if not keep_selection or self.new_version not in self.version_options:
            self.new_version = str(versions[0].version)
            self.old_version = str(
                versions[1].version if len(versions) > 1 else versions[0].version
            )
        entries = await run_service(
            user_blueprints.list_blueprint_history, user_id=user_id, blueprint_id=self.blueprint_id
        )
        self.entries = [
            EntryOption(e.id, f"{_when(e.created_at)} · v{e.version} · {e.model_name}")
            for e in entries
        ]
        self._entry_data = {e.id: {"parameters": e.parameters, "output": e.output} for e in entries}
        if not keep_selection or self.entry_b not in self._entry_data:
            self.entry_b = entries[0].id if entries else ""
            self.entry_a = entries[1].id if len(entries) > 1 else self.entry_b
        await self._compare_versions(user_id)
        self._compare_entries()

    async def _compare_versions(self, user_id: uuid.UUID) -> None:
        old = await run_service(
            user_blueprints.get_blueprint,
            user_id=user_id,
            blueprint_id=self.blueprint_id,
            version=int(self.old_version),
        )
        new = await run_service(
            user_blueprints.get_blueprint,
            user_id=user_id,
            blueprint_id=self.blueprint_id,
            version=int(self.new_version),
        )
        if old is None or new is None:
            self.template_diff, self.schema_changes = [], []
            self.template_summary = ""
            return
        lines = blueprint_diff.text_diff(old.prompt_template, new.prompt_template)
        self.template_diff = _diff_rows(lines)
        self.template_summary = _diff_summary(lines)
        self.schema_changes = [
            FieldChangeRow(c.name, c.title, c.change, c.details)
            for c in blueprint_diff.schema_diff(old.parameter_schema, new.parameter_schema)
        ]

    def _compare_entries(self) -> None:
        a, b = self._entry_data.get(self.entry_a), self._entry_data.get(self.entry_b)
        if a is None or b is None:
            self.input_changes, self.output_diff, self.output_summary = [], [], ""
            return
        self.input_changes = [
            InputRow(c.name, c.change, c.before, c.after)
            for c in blueprint_diff.inputs_diff(a["parameters"], b["parameters"])
        ]
        lines = blueprint_diff.text_diff(a["output"], b["output"])
        self.output_diff = _diff_rows(lines)
        self.output_summary = _diff_summary(lines)

    @rx.event
    async def choose_old_version(self, value: str):
        await self._choose_version("old", value)

    @rx.event
    async def choose_new_version(self, value: str):
        await self._choose_version("new", value)

    async def _choose_version(self, which: str, value: str) -> None:
        user_id = await self._user_id()
        if user_id is None or value not in self.version_options:
            return
        if which == "old":
            self.old_version = value
        else:
            self.new_version = value
        await self._compare_versions(user_id)

    @rx.event
    def choose_entry_a(self, value: str):
        if value in self._entry_data:
            self.entry_a = value
            self._compare_entries()

    @rx.event
    def choose_entry_b(self, value: str):
        if value in self._entry_data:
            self.entry_b = value
            self._compare_entries()

    @rx.event
    async def restore(self, version: int):
        user_id = await self._user_id()
        if user_id is None:
            return rx.redirect(urls.sign_in_then(urls.BLUEPRINTS))
        try:
            restored = await run_service(
                user_blueprints.restore_version,
                user_id=user_id,
                blueprint_id=self.blueprint_id,
                version=version,
            )
        except (user_blueprints.BlueprintNotFound, user_blueprints.BlueprintLimit) as exc:
            self.error = exc.message
            return None
        self.error = ""
        self.message = f"Restored version {version} as version {restored.version}."
        await self._reload(user_id, keep_selection=False)
        return None
