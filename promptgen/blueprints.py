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
Jinja's sandbox, so catalog text can format values but cannot reach Python, and within the
render limits below, so a template cannot hang a worker or fill its memory.
"""

from __future__ import annotations

import functools
import math
import re
import string
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

import jinja2
import jsonschema
from jinja2 import meta, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment

from promptgen.errors import UserFacingError

# Names the template may use besides the parameters.
SIGNATURE_VARIABLES = frozenset({"signature", "signature_name", "signature_style"})
FIELD_KINDS = ("text", "textarea", "number", "integer", "select", "multiselect", "boolean")
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_UI_KEYS = {"x-widget", "x-placeholder", "x-enumLabels"}


class SchemaError(UserFacingError, ValueError):
    """A parameter schema or prompt template that cannot be used; names the offending field."""

    field: str

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message, field=field)


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


# Render limits, the same at catalog import and at every generation.
# Rendered text, and any string or list a template builds on the way.
MAX_PROMPT_CHARS = 200_000
# Lines of template code run (loop turns, macro calls): catches loops that print nothing.
MAX_RENDER_STEPS = 200_000
# Wall clock, for steps that are each slow (big strings copied on every loop turn).
MAX_RENDER_SECONDS = 2.0
# Numbers a template computes; prompts need small ones, and big-int maths is a CPU bomb.
MAX_INT_BITS = 256
# The template source itself.
MAX_TEMPLATE_CHARS = 50_000


class RenderLimitError(SecurityError):
    """A render that went past one of the limits above."""


def _too_big(what: str) -> RenderLimitError:
    return RenderLimitError(f"{what} more than the {MAX_PROMPT_CHARS:,} characters allowed")


def _check_size(value: Any) -> Any:
    """Refuse a string or (nested) collection past MAX_PROMPT_CHARS; shared members count
    each time they appear, as they would when printed."""
    if isinstance(value, str):
        if len(value) > MAX_PROMPT_CHARS:
            raise _too_big("the prompt text builds a string of")
        return value
    if not isinstance(value, list | tuple | dict | set | frozenset):
        return value
    total = 0
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item) + 1
        elif isinstance(item, dict):
            total += len(item) + 1
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            total += len(item) + 1
            pending.extend(item)
        else:
            total += 1
        if total > MAX_PROMPT_CHARS:
            raise _too_big("the prompt text builds a collection of")
    return value


def _number_too_big() -> RenderLimitError:
    return RenderLimitError(f"the prompt text computes a number of more than {MAX_INT_BITS} bits")


def _check_int(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
        raise _number_too_big()
    return value


def _check_width(width: Any) -> None:
    if isinstance(width, int) and width > MAX_PROMPT_CHARS:
        raise _too_big(f"the prompt text asks for {width:,} characters or items,")


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d*)(?:\.(\*|\d*))?")


def _check_format_string(fmt: str, args: Any) -> None:
    """A width or precision in a format string ('%999999999s', '{:>999999999}') allocates
    that much; widths taken from the arguments ('*', nested '{}') are checked too."""
    widths: list[str] = []
    takes_width = False
    for match in _PERCENT_SPEC.finditer(fmt):
        widths += [g for g in match.groups() if g]
    try:
        for _literal, _name, spec, _conversion in string.Formatter().parse(fmt):
            if spec:
                widths += re.findall(r"\d+", spec)
                takes_width = takes_width or "{" in spec
    except ValueError:
        pass  # not a valid {}-format string: str.format will say so itself
    takes_width = takes_width or "*" in widths
    for width in widths:
        if width != "*" and (len(width) > 9 or int(width) > MAX_PROMPT_CHARS):
            raise _too_big(f"the prompt text formats a value to {width} characters,")
    if takes_width:
        values = args.values() if isinstance(args, dict) else args
        for value in values if isinstance(values, list | tuple) else [values]:
            _check_width(value)


def _check_str_method(method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Pre-checks for the str methods whose result can be far larger than their inputs."""
    text, name = method.__self__, method.__name__
    if name in ("center", "ljust", "rjust", "zfill"):
        _check_width(args[0] if args else kwargs.get("width"))
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tabsize, int) and len(text) * max(tabsize, 1) > MAX_PROMPT_CHARS:
            raise _too_big("the prompt text expands tabs to")
    elif name == "replace" and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        old, new = args[0], args[1]
        count = text.count(old) if old else len(text) + 1
        if len(args) > 2 and isinstance(args[2], int) and args[2] >= 0:
            count = min(count, args[2])
        if len(text) + count * (len(new) - len(old)) > MAX_PROMPT_CHARS:
            raise _too_big("the prompt text replaces its way to")
    elif name == "translate":
        table = args[0] if args else None
        if isinstance(table, dict):
            longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
            if len(text) * longest > MAX_PROMPT_CHARS:
                raise _too_big("the prompt text translates its way to")
    elif name in ("format", "format_map"):
        _check_format_string(text, kwargs or (args[0] if name == "format_map" and args else args))


class _LimitedCodeGenerator(CodeGenerator):
    """Routes `~` through a size check; the stock code joins with no limit."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.concat_checked((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, immutable (no list.append / dict.update growth), plus size checks on
    the operations that can build huge values from small inputs. Jinja caps range() at
    100,000 items itself; `'x' * 10**9` and `range(10**5)|join` it allows.

    Intercepting an operator also stops Jinja folding it at compile time, where
    `{{ 'x' * 10**9 }}` would otherwise allocate a gigabyte before any render."""

    code_generator_class = _LimitedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_size(left)
        _check_size(right)
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if (
                    isinstance(sequence, str | list | tuple)
                    and isinstance(times, int)
                    and len(sequence) * max(times, 0) > MAX_PROMPT_CHARS
                ):
                    raise _too_big("the prompt text repeats a value to")
            both_ints = isinstance(left, int) and isinstance(right, int)
            if both_ints and left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
                raise _number_too_big()
        elif operator == "**":
            # Checked before computing: 2 ** 10**8 alone takes seconds.
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and abs(left) > 1
                and right > 0
                and (right > MAX_INT_BITS or right * (abs(left).bit_length() - 1) > MAX_INT_BITS)
            ):
                raise _number_too_big()
        elif (
            operator == "+"
            and isinstance(left, str | list | tuple)
            and isinstance(right, str | list | tuple)
            and len(left) + len(right) > MAX_PROMPT_CHARS
        ):
            raise _too_big("the prompt text joins values into")
        elif operator == "%" and isinstance(left, str):
            _check_format_string(left, right)
        return _check_int(_check_size(super().call_binop(context, operator, left, right)))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        for value in [*args, *kwargs.values()]:
            _check_size(value)
        target = getattr(__obj, "__wrapped__", __obj)  # str.format comes wrapped by the sandbox
        if isinstance(getattr(target, "__self__", None), str):
            _check_str_method(target, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        return _check_int(_check_size(result))

    def concat_checked(self, values: tuple[Any, ...]) -> str:
        for value in values:
            _check_size(value)
        return _check_size(str_join(values))


# What jinja passes first to a filter marked pass_context / pass_eval_context / ...
_PASSED_BY_JINJA = (jinja2.runtime.Context, nodes.EvalContext, jinja2.Environment)


def _limited_filter(name: str, apply: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a built-in filter: checks its inputs (a value shared many times over, printed
    by `tojson` or `string`, is huge), the arguments that set a size, then the result."""

    @functools.wraps(apply)  # keeps jinja's pass_context / pass_environment marker
    def limited(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in args if not isinstance(a, _PASSED_BY_JINJA)]
        for value in [*values, *kwargs.values()]:
            _check_size(value)
        if name in ("center", "indent", "batch", "slice"):
            for width in [*values[1:], *kwargs.values()]:
                _check_width(width)
        if name == "indent" and values:
            width = values[1] if len(values) > 1 else kwargs.get("width", 4)
            size = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
            lines = str(values[0]).count("\n") + 1
            if size * lines > MAX_PROMPT_CHARS:
                raise _too_big("the prompt text indents to")
        if name == "format" and values and isinstance(values[0], str):
            _check_format_string(values[0], list(values[1:]) or kwargs)
        if name == "replace" and len(values) >= 3:
            _check_str_method(str(values[0]).replace, tuple(values[1:]), kwargs)
        if name == "join" and values:
            sequence = values[0]
            if not isinstance(sequence, str):
                # Materialised once, so a generator is measured and still joined.
                sequence = list(sequence)
                _check_size(sequence)
                args = tuple(sequence if a is values[0] else a for a in args)
            separator = values[1] if len(values) > 1 else kwargs.get("d", "")
            if len(str(separator)) * len(sequence) > MAX_PROMPT_CHARS:
                raise _too_big("the prompt text joins values into")
        return _check_int(_check_size(apply(*args, **kwargs)))

    return limited


def _environment() -> LimitedSandbox:
    env = LimitedSandbox(
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # prompts are plain text, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=_check_size,  # every printed value, before it is turned into text
    )
    env.filters["join_natural"] = join_natural
    env.filters = {name: _limited_filter(name, f) for name, f in env.filters.items()}
    env.globals.pop("lipsum", None)  # generates text of any size; no prompt needs it
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
        if kind == "select" and (
            not prop["enum"] or not all(isinstance(c, str) for c in prop["enum"])
        ):
            raise SchemaError(
                f"parameter '{name}': choices must be strings, at least one",
                field=f"properties.{name}.enum",
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
    if len(prompt_template) > MAX_TEMPLATE_CHARS:
        raise SchemaError(
            f"the prompt text is {len(prompt_template):,} characters; at most "
            f"{MAX_TEMPLATE_CHARS:,} are allowed",
            field="prompt_template",
        )
    try:
        parsed = _ENV.parse(prompt_template)
    except jinja2.TemplateSyntaxError as exc:
        raise SchemaError(
            f"the prompt text has a template error on line {exc.lineno}: {exc.message}",
            field="prompt_template",
        ) from exc
    except (ValueError, RecursionError) as exc:
        # A number literal past Python's digit limit, or brackets nested thousands deep.
        raise SchemaError(
            f"the prompt text cannot be parsed: {str(exc)[:200] or type(exc).__name__}",
            field="prompt_template",
        ) from None
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


_SAMPLE_TEXT = "Sample text"
_SAMPLE_LONG_TEXT = "Sample long text, first line.\nSecond line, with more detail."
SAMPLE_SIGNATURE = ("Sample signature", "sample style: soft light, muted colours")


def _sample_text(spec: FieldSpec, prop: dict[str, Any], text: str) -> str:
    # A minLength past what a prompt can hold fails the render anyway; do not build it.
    wanted = min(max(prop.get("minLength") or 0, 1), MAX_PROMPT_CHARS + 1)
    while len(text) < wanted:
        text = f"{text} {text}"
    return text[: spec.max_length] if spec.max_length else text


def _sample_number(spec: FieldSpec, prop: dict[str, Any], *, high: bool) -> float:
    low_bound = spec.minimum if spec.minimum is not None else prop.get("exclusiveMinimum")
    high_bound = spec.maximum if spec.maximum is not None else prop.get("exclusiveMaximum")
    if high and high_bound is not None:
        value = high_bound - (1 if "exclusiveMaximum" in prop and spec.maximum is None else 0)
    elif low_bound is not None:
        value = low_bound + (1 if "exclusiveMinimum" in prop and spec.minimum is None else 0)
    else:
        value = high_bound if high_bound is not None else 3
    return math.floor(value) if spec.kind == "integer" else value


def sample_parameter_sets(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Form submissions to test-render a blueprint with, each with a label for messages:
    defaults and first choices, the other end of every range and choice, and every
    optional field left blank."""
    properties = schema.get("properties", {})
    typical: dict[str, Any] = {}
    other: dict[str, Any] = {}
    blank: dict[str, Any] = {}
    for spec in describe_fields(schema):
        prop = properties[spec.name]
        first: Any
        second: Any
        if spec.kind in ("text", "textarea"):
            text = _SAMPLE_LONG_TEXT if spec.kind == "textarea" else _SAMPLE_TEXT
            first = spec.default if spec.default is not None else _sample_text(spec, prop, text)
            second = _sample_text(spec, prop, text)
        elif spec.kind in ("number", "integer"):
            low = _sample_number(spec, prop, high=False)
            first = spec.default if spec.default is not None else low
            second = _sample_number(spec, prop, high=True)
        elif spec.kind == "select":
            first = spec.default if spec.default is not None else spec.options[0]
            second = spec.options[-1]
        elif spec.kind == "multiselect":
            first = spec.default if spec.default is not None else list(spec.options)
            second = list(spec.options[: max(spec.min_items or 1, 1)])
        else:  # boolean
            first = spec.default if spec.default is not None else True
            second = not first
        typical[spec.name], other[spec.name] = first, second
        blank[spec.name] = first if spec.required else _empty_value(spec.kind)
    return [
        ("sample values", typical),
        ("other sample values", other),
        ("optional fields left blank", blank),
    ]


def check_template_renders(schema: dict[str, Any], prompt_template: str) -> None:
    """Test-render a (validated) blueprint the way a generation would: sample form values,
    with and without a visual signature, through compile_prompt and its limits."""
    for label, raw in sample_parameter_sets(schema):
        # Sample values may miss a `pattern`; the template is what is tested here.
        values, _errors = coerce_and_validate(schema, raw)
        for signature_name, signature_style in (SAMPLE_SIGNATURE, (None, None)):
            try:
                compile_prompt(
                    prompt_template=prompt_template,
                    parameters=values,
                    signature_name=signature_name,
                    signature_style=signature_style,
                )
            except SchemaError as exc:
                raise SchemaError(
                    f"fails a test render with {label}: {exc.message}",
                    field="prompt_template",
                ) from None


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


# Jinja compiles templates from strings under this file name.
_TEMPLATE_CODE = "<template>"


def _render_limited(template: jinja2.Template, context: dict[str, Any]) -> str:
    """Render within MAX_PROMPT_CHARS, MAX_RENDER_STEPS and MAX_RENDER_SECONDS.

    Steps are counted by a trace function on the template's own code only (each loop
    turn or macro call runs a line of it), so a loop that prints nothing is stopped too.
    A trace function is per thread, so other requests on the worker are not slowed."""
    steps = 0
    deadline = time.monotonic() + MAX_RENDER_SECONDS

    def count_line(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal steps
        if event == "line":
            steps += 1
            if steps > MAX_RENDER_STEPS:
                raise RenderLimitError(
                    f"the prompt text runs more than {MAX_RENDER_STEPS:,} steps (a loop too long)"
                )
            if steps % 256 == 0 and time.monotonic() > deadline:
                raise RenderLimitError(
                    f"the prompt text takes more than {MAX_RENDER_SECONDS:g} seconds to render"
                )
        return count_line

    def trace_template_code(frame: FrameType, event: str, arg: Any) -> Any:
        return count_line if frame.f_code.co_filename == _TEMPLATE_CODE else None

    pieces: list[str] = []
    size = 0
    previous = sys.gettrace()
    sys.settrace(trace_template_code)
    try:
        chunks: Iterator[str] = template.generate(context)
        try:
            for chunk in chunks:
                size += len(chunk)
                if size > MAX_PROMPT_CHARS:
                    raise _too_big("the prompt text renders")
                pieces.append(chunk)
        finally:
            chunks.close()  # type: ignore[attr-defined]
    finally:
        sys.settrace(previous)
    return "".join(pieces)


def compile_prompt(
    *,
    prompt_template: str,
    parameters: dict[str, Any],
    signature_name: str | None = None,
    signature_style: str | None = None,
) -> str:
    """Render the blueprint with its parameters and the chosen visual signature.

    A template that does not place the signature itself gets it appended as a final line.
    Raises SchemaError when the template fails or goes past a render limit.
    """
    context = dict(parameters)
    context["signature_name"] = signature_name or ""
    context["signature_style"] = signature_style or ""
    context["signature"] = (
        f"{signature_name}: {signature_style}" if signature_name and signature_style else ""
    )
    try:
        template, uses_signature = _compiled(prompt_template)
        text = _render_limited(template, context)
    except RenderLimitError as exc:
        raise SchemaError(str(exc), field="prompt_template") from None
    except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # A template's own mistake (`{{ n / 0 }}`, `{{ text + 1 }}`), or range() past
        # Jinja's MAX_RANGE, which it reports as OverflowError.
        raise SchemaError(
            f"the prompt text cannot be rendered: {exc}", field="prompt_template"
        ) from None
    except (RecursionError, MemoryError):
        raise SchemaError(
            "the prompt text cannot be rendered: it recurses too deeply or needs too much memory",
            field="prompt_template",
        ) from None
    # Collapse the blank runs that optional sections leave behind.
    text = re.sub(r"[ \t]+\n", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if signature_name and not uses_signature:
        style = f": {signature_style.strip()}" if signature_style else ""
        text = f"{text}\n\nVisual signature — {signature_name}{style}"
    return text
