"""Blueprint parameter schemas and prompt compilation. Pure Python: no database, no reflex.

A blueprint's parameters are a JSON Schema object (draft 2020-12) whose properties are
limited to the kinds the form can render, with a few UI hints:

    short text     {"type": "string", "maxLength": 120}
    long text      {"type": "string", "x-widget": "textarea"}
    number         {"type": "number" | "integer", "minimum": 1, "maximum": 10}
    single choice  {"type": "string", "enum": [...], "x-enumLabels": [...]}
    multi choice   {"type": "array", "items": {"type": "string", "enum": [...]},
                    "uniqueItems": true}
    boolean        {"type": "boolean"}

plus "title", "description", "default" and "x-placeholder" on any of them, and "required"
and an optional "x-order" on the object. The prompt text is a Jinja template rendered in
Jinja's sandbox, so catalog text can format values but cannot reach Python.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import Any

import jinja2
import jsonschema
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment

# Names the template may use besides the parameters.
SIGNATURE_VARIABLES = frozenset({"signature", "signature_name", "signature_style"})
FIELD_KINDS = ("text", "textarea", "number", "integer", "select", "multiselect", "boolean")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_UI_KEYS = {"x-widget", "x-placeholder", "x-enumLabels"}


class SchemaError(ValueError):
    """A parameter schema or prompt template that cannot be used; names the offending field."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class FieldSpec:
    """One parameter as a form renders it."""

    name: str
    title: str
    kind: str
    required: bool
    default: Any = None
    description: str = ""
    placeholder: str = ""
    options: tuple[str, ...] = ()
    option_labels: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    max_length: int | None = None
    min_items: int | None = None


def join_natural(values: Any, conjunction: str = "and") -> str:
    """["a", "b", "c"] -> "a, b and c" (a filter for prompt templates)."""
    if values is None:
        return ""
    if isinstance(values, str):
        return values
    items = [str(v) for v in values if str(v).strip()]
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def _environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are plain text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["join_natural"] = join_natural
    return env


_ENV = _environment()


def _kind(name: str, prop: dict[str, Any]) -> str:
    field = f"properties.{name}"
    if not isinstance(prop, dict):
        raise SchemaError(f"parameter '{name}' must be an object", field=field)
    kind = prop.get("type")
    if kind == "string":
        if "enum" in prop:
            return "select"
        return "textarea" if prop.get("x-widget") == "textarea" else "text"
    if kind in ("number", "integer", "boolean"):
        return kind
    if kind == "array":
        items = prop.get("items")
        if (
            isinstance(items, dict)
            and items.get("type") == "string"
            and isinstance(items.get("enum"), list)
            and items["enum"]
        ):
            return "multiselect"
        raise SchemaError(
            f"parameter '{name}': a list must have items of type string with an enum of choices",
            field=field,
        )
    raise SchemaError(
        f"parameter '{name}' has unsupported type {kind!r}; use string, number, integer, "
        "boolean or array",
        field=f"{field}.type",
    )


def _ordered_names(schema: dict[str, Any]) -> list[str]:
    names = list(schema.get("properties", {}))
    order = schema.get("x-order") or []
    ranked = [n for n in order if n in names]
    return ranked + [n for n in names if n not in ranked]


def validate_parameter_schema(schema: Any, *, prompt_template: str | None = None) -> None:
    """Raise SchemaError unless `schema` is a usable parameter schema (and the template fits)."""
    if not isinstance(schema, dict):
        raise SchemaError("the parameter schema must be a JSON object", field="parameter_schema")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = ".".join(str(p) for p in exc.absolute_path) or "parameter_schema"
        raise SchemaError(f"not valid JSON Schema at {where}: {exc.message}", field=where) from exc
    if schema.get("type") != "object":
        raise SchemaError('the parameter schema must have "type": "object"', field="type")
    properties = schema.get("properties")
    if not isinstance(properties, dict) or not properties:
        raise SchemaError("the parameter schema needs at least one property", field="properties")

    for name, prop in properties.items():
        if not _NAME.match(name):
            raise SchemaError(
                f"parameter name '{name}' must be lowercase letters, digits and underscores, "
                "starting with a letter",
                field=f"properties.{name}",
            )
        if name in SIGNATURE_VARIABLES:
            raise SchemaError(
                f"parameter name '{name}' is reserved for the visual signature",
                field=f"properties.{name}",
            )
        kind = _kind(name, prop)
        labels = prop.get("x-enumLabels")
        if labels is not None:
            choices = prop.get("enum") if kind == "select" else None
            if choices is None or not isinstance(labels, list) or len(labels) != len(choices):
                raise SchemaError(
                    f"parameter '{name}': x-enumLabels must list one label per enum choice",
                    field=f"properties.{name}.x-enumLabels",
                )
        if kind == "select" and not all(isinstance(c, str) for c in prop["enum"]):
            raise SchemaError(
                f"parameter '{name}': choices must be strings", field=f"properties.{name}.enum"
            )
        if "default" in prop:
            errors = list(jsonschema.Draft202012Validator(prop).iter_errors(prop["default"]))
            if errors:
                raise SchemaError(
                    f"parameter '{name}': default {prop['default']!r} is invalid: "
                    f"{errors[0].message}",
                    field=f"properties.{name}.default",
                )

    for name in schema.get("required", []):
        if name not in properties:
            raise SchemaError(
                f"required parameter '{name}' is not among the properties", field="required"
            )
    order = schema.get("x-order")
    if order is not None and (
        not isinstance(order, list) or any(n not in properties for n in order)
    ):
        raise SchemaError("x-order must list property names", field="x-order")

    if prompt_template is not None:
        validate_prompt_template(prompt_template, parameter_names=set(properties))


def validate_prompt_template(prompt_template: Any, *, parameter_names: set[str]) -> None:
    if not isinstance(prompt_template, str) or not prompt_template.strip():
        raise SchemaError("the prompt text must not be empty", field="prompt_template")
    try:
        parsed = _ENV.parse(prompt_template)
    except jinja2.TemplateSyntaxError as exc:
        raise SchemaError(
            f"the prompt text has a template error on line {exc.lineno}: {exc.message}",
            field="prompt_template",
        ) from exc
    unknown = meta.find_undeclared_variables(parsed) - parameter_names - SIGNATURE_VARIABLES
    if unknown:
        names = ", ".join(sorted(unknown))
        raise SchemaError(
            f"the prompt text uses {names}, which the parameter schema does not define",
            field="prompt_template",
        )


def describe_fields(schema: dict[str, Any]) -> list[FieldSpec]:
    """The form fields of a (validated) schema, in display order."""
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    specs = []
    for name in _ordered_names(schema):
        prop = properties[name]
        kind = _kind(name, prop)
        options: tuple[str, ...] = ()
        labels: tuple[str, ...] = ()
        if kind == "select":
            options = tuple(prop["enum"])
            labels = tuple(prop.get("x-enumLabels") or options)
        elif kind == "multiselect":
            options = tuple(prop["items"]["enum"])
            labels = tuple(prop["items"].get("x-enumLabels") or options)
        specs.append(
            FieldSpec(
                name=name,
                title=prop.get("title") or name.replace("_", " ").capitalize(),
                kind=kind,
                required=name in required,
                default=prop.get("default"),
                description=prop.get("description", ""),
                placeholder=prop.get("x-placeholder", ""),
                options=options,
                option_labels=labels,
                minimum=prop.get("minimum"),
                maximum=prop.get("maximum"),
                step=prop.get("multipleOf") or (1 if kind == "integer" else None),
                max_length=prop.get("maxLength"),
                min_items=prop.get("minItems"),
            )
        )
    return specs


def default_values(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema's defaults, for pre-filling the form."""
    return {spec.name: spec.default for spec in describe_fields(schema) if spec.default is not None}


def _empty_value(kind: str) -> Any:
    return {"multiselect": [], "boolean": False, "number": None, "integer": None}.get(kind, "")


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _coerce(spec: FieldSpec, raw: Any) -> Any:
    """Turn a form value into the schema's type; raise ValueError with the user's message."""
    if spec.kind in ("number", "integer"):
        if isinstance(raw, bool):
            raise ValueError(f"{spec.title} must be a number.")
        if isinstance(raw, int | float):
            number = raw
        else:
            try:
                number = float(str(raw).strip().replace(",", "."))
            except ValueError:
                raise ValueError(f"{spec.title} must be a number.") from None
        if not math.isfinite(number):
            raise ValueError(f"{spec.title} must be a number.")
        if spec.kind == "integer":
            if number != int(number):
                raise ValueError(f"{spec.title} must be a whole number.")
            return int(number)
        # 3 reads better than 3.0 in a prompt.
        return int(number) if number == int(number) else float(number)
    if spec.kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "on", "yes", "1"):
            return True
        if text in ("false", "off", "no", "0", ""):
            return False
        raise ValueError(f"{spec.title} must be yes or no.")
    if spec.kind == "multiselect":
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list | tuple):
            raise ValueError(f"{spec.title} must be a list of choices.")
        return [str(v) for v in raw]
    if not isinstance(raw, str):
        raw = str(raw)
    return raw.strip()


def _message(spec: FieldSpec, error: jsonschema.ValidationError) -> str:
    validator, limit = error.validator, error.validator_value
    labels = dict(zip(spec.options, spec.option_labels, strict=False))
    if validator == "minimum":
        return f"{spec.title} must be at least {limit}."
    if validator == "maximum":
        return f"{spec.title} must be at most {limit}."
    if validator == "exclusiveMinimum":
        return f"{spec.title} must be more than {limit}."
    if validator == "exclusiveMaximum":
        return f"{spec.title} must be less than {limit}."
    if validator == "maxLength":
        return f"{spec.title} must be at most {limit} characters."
    if validator == "minLength":
        return f"{spec.title} must be at least {limit} characters."
    if validator == "enum":
        choices = ", ".join(labels.get(c, c) for c in spec.options)
        return f"{spec.title}: {error.instance!r} is not one of the choices ({choices})."
    if validator == "minItems":
        return f"Pick at least {limit} for {spec.title}."
    if validator == "maxItems":
        return f"Pick at most {limit} for {spec.title}."
    if validator == "uniqueItems":
        return f"{spec.title} lists a choice twice."
    if validator == "multipleOf":
        return f"{spec.title} must be a multiple of {limit}."
    if validator == "pattern":
        return f"{spec.title} is not in the expected format."
    return f"{spec.title}: {error.message}"


def coerce_and_validate(
    schema: dict[str, Any], raw: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Validate submitted values against the schema.

    Parameters absent from `raw` take their schema default. Returns (values, errors):
    values holds every parameter (blank optional ones as "", None,
    False or []), errors maps a parameter name to a message for the user.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    properties = schema.get("properties", {})
    for spec in describe_fields(schema):
        # A field left out entirely takes its default; one submitted blank stays blank.
        submitted = raw.get(spec.name, spec.default)
        blank = _is_blank(submitted) and spec.kind != "boolean"
        if blank:
            if spec.required:
                errors[spec.name] = (
                    f"Pick at least one option for {spec.title}."
                    if spec.kind == "multiselect"
                    else f"{spec.title} is required."
                )
            values[spec.name] = _empty_value(spec.kind)
            continue
        try:
            value = _coerce(spec, False if submitted is None else submitted)
        except ValueError as exc:
            errors[spec.name] = str(exc)
            values[spec.name] = submitted
            continue
        found = sorted(
            jsonschema.Draft202012Validator(properties[spec.name]).iter_errors(value),
            key=lambda e: e.path,
        )
        if found:
            errors[spec.name] = _message(spec, found[0])
        values[spec.name] = value
    return values, errors


@functools.lru_cache(maxsize=256)
def _compiled(prompt_template: str) -> tuple[jinja2.Template, bool]:
    """The compiled template and whether it places the signature itself. Compiling costs
    milliseconds; blueprint texts are few and rarely change, so they are cached by text."""
    parsed = _ENV.parse(prompt_template)
    uses_signature = bool(meta.find_undeclared_variables(parsed) & SIGNATURE_VARIABLES)
    return _ENV.from_string(parsed), uses_signature


def compile_prompt(
    *,
    prompt_template: str,
    parameters: dict[str, Any],
    signature_name: str | None = None,
    signature_style: str | None = None,
) -> str:
    """Render the blueprint with its parameters and the chosen visual signature.

    A template that does not place the signature itself gets it appended as a final line.
    """
    context = dict(parameters)
    context["signature_name"] = signature_name or ""
    context["signature_style"] = signature_style or ""
    context["signature"] = (
        f"{signature_name}: {signature_style}" if signature_name and signature_style else ""
    )
    try:
        template, uses_signature = _compiled(prompt_template)
        text = template.render(context)
    except jinja2.TemplateError as exc:
        raise SchemaError(
            f"the prompt text cannot be rendered: {exc}", field="prompt_template"
        ) from exc
    # Collapse the blank runs that optional sections leave behind.
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if signature_name and not uses_signature:
        style = f": {signature_style.strip()}" if signature_style else ""
        text = f"{text}\n\nVisual signature — {signature_name}{style}"
    return text
