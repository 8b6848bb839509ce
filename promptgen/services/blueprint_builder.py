"""The form builder's fields and the parameter schema they stand for. Pure Python.

A user blueprint is stored as a JSON Schema with UI hints (promptgen.blueprints), like a
catalog one. The builder edits it as a list of `BuilderField`s, every value as the text
the inputs hold, and turns them back into a schema here. Problems name the field by its
position, as the builder shows it: "fields[2].label: required".
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from typing import Any

from promptgen.blueprints import FIELD_KINDS, SIGNATURE_VARIABLES, SchemaError, describe_fields

KIND_LABELS = {
    "text": "Short text",
    "textarea": "Long text",
    "number": "Number",
    "integer": "Whole number",
    "select": "Single choice",
    "multiselect": "Multiple choice",
    "boolean": "Yes / no",
}
MAX_FIELDS = 50
MAX_OPTIONS = 100
MAX_LABEL_CHARS = 120
MAX_HELP_CHARS = 1_000
MAX_PLACEHOLDER_CHARS = 200
MAX_OPTION_CHARS = 200
MAX_TEXT_LENGTH = 20_000
# What a number input holds exactly (catalog_import.MAX_JSON_INTEGER).
MAX_NUMBER = 2**53 - 1
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
# Schema keys the builder edits; any other key of a property is kept as it is ("extras").
_HANDLED = {
    "type",
    "title",
    "description",
    "x-placeholder",
    "default",
    "minimum",
    "maximum",
    "maxLength",
    "enum",
    "x-enumLabels",
    "x-widget",
    "items",
    "uniqueItems",
}
# Schema key -> the builder attribute that edits it, for naming a schema problem.
_ATTRIBUTE_OF_KEY = {
    "title": "label",
    "description": "help",
    "type": "kind",
    "default": "default",
    "minimum": "minimum",
    "maximum": "maximum",
    "maxLength": "max_length",
    "enum": "options",
    "x-enumLabels": "options",
    "items": "options",
    "x-placeholder": "placeholder",
}


@dataclass(frozen=True)
class FieldProblem:
    """One problem with a blueprint, named by where it is: "fields[2].label", "template"."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass
class BuilderField:
    """One field as the builder edits it. Every value is text, as its input holds it;
    `options` and a multiple choice's `default` hold one entry per line, an option as
    "value" or "value | Label"; `extras` is the JSON of schema keys the builder does not
    edit (a pattern, a minimum length), kept as they are."""

    name: str = ""
    label: str = ""
    kind: str = "text"
    help: str = ""
    required: bool = False
    placeholder: str = ""
    default: str = ""
    minimum: str = ""
    maximum: str = ""
    max_length: str = ""
    options: str = ""
    extras: str = ""


def variable_name(label: str) -> str:
    """A template variable for a label: "Main colour" -> "main_colour"."""
    name = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
    if name and not name[0].isalpha():
        name = "f_" + name
    return name[:64].rstrip("_")


def new_field(kind: str, taken: set[str]) -> BuilderField:
    """A blank field of `kind` with a variable name not in `taken`."""
    number = len(taken) + 1
    while f"field_{number}" in taken:
        number += 1
    field = BuilderField(name=f"field_{number}", kind=kind)
    if kind in ("select", "multiselect"):
        field = replace(field, options="first option\nsecond option")
    return field


def parse_options(text: str) -> list[tuple[str, str]]:
    """(value, label) per non-blank line of "value" or "value | Label"."""
    options = []
    for line in text.splitlines():
        if not line.strip():
            continue
        value, _, label = line.partition("|")
        value = value.strip()
        options.append((value, label.strip() or value))
    return options


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _number(text: str, *, whole: bool) -> float | int:
    """The number in `text`, or ValueError with the message."""
    cleaned = text.strip().replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is not a number") from None
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise ValueError(f"must be a number between -{MAX_NUMBER:,} and {MAX_NUMBER:,}")
    if value == int(value):
        return int(value)
    if whole:
        raise ValueError(f"{text.strip()!r} is not a whole number")
    return value


def _field_property(
    index: int, field: BuilderField, problems: list[FieldProblem]
) -> dict[str, Any] | None:
    """The schema property for one field; None (with problems added) when it has errors."""
    where = f"fields[{index}]"
    found: list[FieldProblem] = []

    def problem(attribute: str, message: str) -> None:
        found.append(FieldProblem(f"{where}.{attribute}", message))

    label = field.label.strip()
    if not label:
        problem("label", "required")
    elif len(label) > MAX_LABEL_CHARS:
        problem("label", f"at most {MAX_LABEL_CHARS} characters")
    if len(field.help) > MAX_HELP_CHARS:
        problem("help", f"at most {MAX_HELP_CHARS:,} characters")
    if len(field.placeholder) > MAX_PLACEHOLDER_CHARS:
        problem("placeholder", f"at most {MAX_PLACEHOLDER_CHARS} characters")
    if field.kind not in FIELD_KINDS:
        problem("kind", f"must be one of {', '.join(FIELD_KINDS)}")
        problems.extend(found)
        return None

    extras: dict[str, Any] = {}
    if field.extras.strip():
        try:
            extras = json.loads(field.extras)
        except ValueError:
            extras = None  # type: ignore[assignment]
        if not isinstance(extras, dict):
            problem("extras", "must be a JSON object")
            extras = {}
    prop: dict[str, Any] = {k: v for k, v in extras.items() if k not in _HANDLED}
    prop["title"] = label
    if field.help.strip():
        prop["description"] = field.help.strip()
    if field.placeholder.strip() and field.kind in ("text", "textarea", "number", "integer"):
        prop["x-placeholder"] = field.placeholder.strip()
    default_text = field.default.strip()

    if field.kind in ("text", "textarea"):
        prop["type"] = "string"
        if field.kind == "textarea":
            prop["x-widget"] = "textarea"
        if field.max_length.strip():
            try:
                limit = _number(field.max_length, whole=True)
            except ValueError as exc:
                problem("max_length", str(exc))
            else:
                if not 1 <= limit <= MAX_TEXT_LENGTH:
                    problem("max_length", f"must be between 1 and {MAX_TEXT_LENGTH:,}")
                else:
                    prop["maxLength"] = limit
                    if len(default_text) > limit:
                        problem("default", f"is longer than the maximum length ({limit})")
        if default_text:
            prop["default"] = default_text
    elif field.kind in ("number", "integer"):
        prop["type"] = field.kind
        whole = field.kind == "integer"
        bounds: dict[str, float | int] = {}
        for attribute, key in (("minimum", "minimum"), ("maximum", "maximum")):
            text = getattr(field, attribute)
            if text.strip():
                try:
                    bounds[key] = _number(text, whole=whole)
                except ValueError as exc:
                    problem(attribute, str(exc))
        if "minimum" in bounds and "maximum" in bounds and bounds["minimum"] > bounds["maximum"]:
            problem("maximum", f"must be at least the minimum ({bounds['minimum']})")
        prop.update(bounds)
        if default_text:
            try:
                value = _number(default_text, whole=whole)
            except ValueError as exc:
                problem("default", str(exc))
            else:
                if "minimum" in bounds and value < bounds["minimum"]:
                    problem("default", f"must be at least the minimum ({bounds['minimum']})")
                elif "maximum" in bounds and value > bounds["maximum"]:
                    problem("default", f"must be at most the maximum ({bounds['maximum']})")
                prop["default"] = value
    elif field.kind in ("select", "multiselect"):
        options = parse_options(field.options)
        values = [value for value, _ in options]
        labels = [label for _, label in options]
        if not options:
            problem("options", "add at least one choice, one per line")
        elif len(options) > MAX_OPTIONS:
            problem("options", f"at most {MAX_OPTIONS} choices")
        else:
            for number, (choice, label) in enumerate(options, start=1):
                if not choice:
                    problem("options", f"choice {number} has a label but no value")
                elif len(choice) > MAX_OPTION_CHARS or len(label) > MAX_OPTION_CHARS:
                    problem("options", f"choice {number} is over {MAX_OPTION_CHARS} characters")
            repeated = sorted({v for v in values if values.count(v) > 1})
            if repeated:
                problem("options", f"{', '.join(repeated)} listed twice")
        with_labels = labels != values
        if field.kind == "select":
            prop["type"] = "string"
            prop["enum"] = values
            if with_labels:
                prop["x-enumLabels"] = labels
            if default_text:
                if options and default_text not in values:
                    problem("default", f"{default_text!r} is not one of the choices")
                prop["default"] = default_text
        else:
            items: dict[str, Any] = {"type": "string", "enum": values}
            if with_labels:
                items["x-enumLabels"] = labels
            prop.update({"type": "array", "items": items, "uniqueItems": True})
            chosen = _lines(field.default)
            if chosen:
                unknown = [c for c in chosen if c not in values]
                if options and unknown:
                    problem("default", f"{', '.join(unknown)} not among the choices")
                prop["default"] = list(dict.fromkeys(chosen))
    else:  # boolean
        prop["type"] = "boolean"
        if default_text.lower() in ("true", "yes", "on", "1"):
            prop["default"] = True
        elif default_text.lower() in ("false", "no", "off", "0"):
            prop["default"] = False
        elif default_text:
            problem("default", "must be yes or no")
    problems.extend(found)
    return None if found else prop


def schema_from_fields(fields: list[BuilderField]) -> tuple[dict[str, Any], list[FieldProblem]]:
    """The parameter schema the fields describe, and every problem found (empty: usable,
    pending the schema checks every blueprint gets)."""
    problems: list[FieldProblem] = []
    if not fields:
        problems.append(FieldProblem("fields", "add at least one field"))
    if len(fields) > MAX_FIELDS:
        problems.append(FieldProblem("fields", f"at most {MAX_FIELDS} fields"))
    properties: dict[str, Any] = {}
    first_use: dict[str, int] = {}
    required: list[str] = []
    for index, field in enumerate(fields):
        name = field.name.strip()
        where = f"fields[{index}].name"
        if not name:
            problems.append(FieldProblem(where, "required"))
        elif not _NAME.match(name):
            problems.append(
                FieldProblem(
                    where,
                    f"{name!r} must be lowercase letters, digits and underscores, "
                    "starting with a letter (at most 64)",
                )
            )
        elif name in SIGNATURE_VARIABLES:
            problems.append(FieldProblem(where, f"{name!r} is reserved for the visual signature"))
        elif name in first_use:
            problems.append(
                FieldProblem(where, f"{name!r} is already used by fields[{first_use[name]}]")
            )
        prop = _field_property(index, field, problems)
        if name and name not in first_use:
            first_use[name] = index
            if prop is not None:
                properties[name] = prop
                if field.required:
                    required.append(name)
    schema: dict[str, Any] = {
        "type": "object",
        "required": required,
        "x-order": list(properties),
        "properties": properties,
    }
    return schema, problems


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def fields_from_schema(schema: dict[str, Any]) -> list[BuilderField]:
    """The builder's fields for a (validated) parameter schema, in display order."""
    properties = schema.get("properties", {})
    fields = []
    for spec in describe_fields(schema):
        prop = properties[spec.name]
        extras = {k: v for k, v in prop.items() if k not in _HANDLED}
        labels = spec.option_labels or spec.options
        options = "\n".join(
            value if label == value else f"{value} | {label}"
            for value, label in zip(spec.options, labels, strict=False)
        )
        if spec.kind == "multiselect":
            default = "\n".join(str(v) for v in spec.default or [])
        elif spec.kind == "boolean":
            default = "" if spec.default is None else ("true" if spec.default else "false")
        else:
            default = _text(spec.default)
        fields.append(
            BuilderField(
                name=spec.name,
                label=prop.get("title") or spec.title,
                kind=spec.kind,
                help=spec.description or "",
                required=spec.required,
                placeholder=spec.placeholder or "",
                default=default,
                minimum=_text(spec.minimum),
                maximum=_text(spec.maximum),
                max_length=_text(spec.max_length),
                options=options,
                extras=json.dumps(extras, ensure_ascii=False) if extras else "",
            )
        )
    return fields


def builder_path(schema_field: str, names: list[str]) -> str:
    """A schema problem's location ("properties.colour.default", as SchemaError names it)
    as the builder names it ("fields[2].default")."""
    parts = schema_field.split(".")
    if len(parts) >= 2 and parts[0] == "properties" and parts[1] in names:
        where = f"fields[{names.index(parts[1])}]"
        attribute = _ATTRIBUTE_OF_KEY.get(parts[2]) if len(parts) > 2 else None
        return f"{where}.{attribute}" if attribute else where
    if parts[0] in ("required", "x-order", "properties", "type"):
        return "fields"
    return "fields"


def schema_problem(exc: SchemaError, names: list[str] | None) -> FieldProblem:
    """A SchemaError from the schema checks, named for the builder (when `names`, its
    fields in order) or by its path in the parameter schema."""
    if names is not None:
        return FieldProblem(builder_path(exc.field or "", names), exc.message)
    return FieldProblem(
        "parameter_schema" + (f".{exc.field}" if exc.field else ""),
        exc.message,
    )
