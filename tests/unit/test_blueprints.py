"""Parameter schemas (every kind, bad schemas), form validation and prompt compilation."""

from __future__ import annotations

import copy
import sys
import time

import pytest

from promptgen.blueprints import (
    MAX_PROMPT_CHARS,
    MAX_RENDER_STEPS,
    MAX_TEMPLATE_CHARS,
    SchemaError,
    check_template_renders,
    coerce_and_validate,
    compile_prompt,
    default_values,
    describe_fields,
    join_natural,
    sample_parameter_sets,
    validate_parameter_schema,
    validate_prompt_template,
)
from promptgen.services.catalog_import import default_catalog

SCHEMA = {
    "type": "object",
    "required": ["subject", "count", "style"],
    "x-order": ["subject", "notes", "count", "ratio", "style", "extras", "hdr"],
    "properties": {
        "subject": {"type": "string", "title": "Subject", "maxLength": 20},
        "notes": {"type": "string", "title": "Notes", "x-widget": "textarea"},
        "count": {"type": "integer", "title": "Count", "minimum": 1, "maximum": 5, "default": 2},
        "ratio": {"type": "number", "title": "Ratio", "minimum": 0.5, "maximum": 2.5},
        "style": {
            "type": "string",
            "title": "Style",
            "enum": ["noir", "pastel"],
            "x-enumLabels": ["Noir", "Pastel"],
            "default": "noir",
        },
        "extras": {
            "type": "array",
            "title": "Extras",
            "uniqueItems": True,
            "items": {"type": "string", "enum": ["fog", "rain", "snow"]},
        },
        "hdr": {"type": "boolean", "title": "HDR", "default": True},
    },
}
TEMPLATE = (
    "A {{ style }} picture of {{ subject }} x{{ count }}.\n"
    "{% if extras %}With {{ extras | join_natural }}.\n{% endif %}"
    "{% if hdr %}HDR.\n{% endif %}{% if notes %}Notes: {{ notes }}{% endif %}"
)


def test_every_kind_is_described_in_order_with_defaults() -> None:
    validate_parameter_schema(SCHEMA, prompt_template=TEMPLATE)
    fields = describe_fields(SCHEMA)
    assert [(f.name, f.kind, f.required) for f in fields] == [
        ("subject", "text", True),
        ("notes", "textarea", False),
        ("count", "integer", True),
        ("ratio", "number", False),
        ("style", "select", True),
        ("extras", "multiselect", False),
        ("hdr", "boolean", False),
    ]
    style = fields[4]
    assert style.options == ("noir", "pastel") and style.option_labels == ("Noir", "Pastel")
    assert fields[2].minimum == 1 and fields[2].maximum == 5
    assert default_values(SCHEMA) == {"count": 2, "style": "noir", "hdr": True}


def test_form_values_are_coerced_to_their_types() -> None:
    values, errors = coerce_and_validate(
        SCHEMA,
        {
            "subject": "  a fox ",
            "notes": "",
            "count": "3",
            "ratio": "1,5",
            "style": "pastel",
            "extras": ["fog", "snow"],
            "hdr": "on",
        },
    )
    assert errors == {}
    assert values == {
        "subject": "a fox",
        "notes": "",
        "count": 3,
        "ratio": 1.5,
        "style": "pastel",
        "extras": ["fog", "snow"],
        "hdr": True,
    }


def test_blank_optional_fields_get_empty_values_and_absent_ones_their_default() -> None:
    values, errors = coerce_and_validate(
        SCHEMA, {"subject": "fox", "count": 1, "style": "noir", "notes": " ", "hdr": False}
    )
    assert errors == {}
    assert values["notes"] == "" and values["ratio"] is None
    assert values["extras"] == [] and values["hdr"] is False
    values, errors = coerce_and_validate(SCHEMA, {"subject": "fox"})
    assert errors == {}
    assert values["count"] == 2 and values["style"] == "noir" and values["hdr"] is True


@pytest.mark.parametrize(
    ("raw", "field", "message"),
    [
        ({"subject": "  "}, "subject", "Subject is required."),
        ({"subject": "x" * 21}, "subject", "Subject must be at most 20 characters."),
        ({"count": "0"}, "count", "Count must be at least 1."),
        ({"count": "9"}, "count", "Count must be at most 5."),
        ({"count": "2.5"}, "count", "Count must be a whole number."),
        ({"count": "many"}, "count", "Count must be a number."),
        ({"count": ""}, "count", "Count is required."),
        ({"ratio": "3"}, "ratio", "Ratio must be at most 2.5."),
        ({"ratio": "nan"}, "ratio", "Ratio must be a number."),
        ({"style": "sepia"}, "style", "Style: 'sepia' is not one of the choices (Noir, Pastel)."),
        ({"extras": ["fog", "hail"]}, "extras", "Extras: 'hail' is not one of the choices"),
        ({"extras": ["fog", "fog"]}, "extras", "Extras lists a choice twice."),
        ({"hdr": "maybe"}, "hdr", "HDR must be yes or no."),
    ],
)
def test_bad_values_get_a_message_next_to_their_field(
    raw: dict[str, object], field: str, message: str
) -> None:
    submitted = {"subject": "fox", "count": "2", "style": "noir"} | raw
    _values, errors = coerce_and_validate(SCHEMA, submitted)
    assert list(errors) == [field]
    assert errors[field].startswith(message)


def test_missing_required_fields_are_all_reported() -> None:
    _values, errors = coerce_and_validate(SCHEMA, {"subject": "", "count": "", "style": ""})
    assert errors == {
        "subject": "Subject is required.",
        "count": "Count is required.",
        "style": "Style is required.",
    }


def _broken(change) -> dict:
    schema = copy.deepcopy(SCHEMA)
    change(schema)
    return schema


@pytest.mark.parametrize(
    ("schema", "field", "fragment"),
    [
        ("not a dict", "parameter_schema", "must be a JSON object"),
        (_broken(lambda s: s.update(type="array")), "type", '"type": "object"'),
        (_broken(lambda s: s.update(properties={})), "properties", "at least one property"),
        (
            _broken(lambda s: s["properties"].update(when={"type": "string", "format": 5})),
            "properties.when.format",
            "not valid JSON Schema",
        ),
        (
            _broken(lambda s: s["properties"].update(blob={"type": "object"})),
            "properties.blob.type",
            "unsupported type 'object'",
        ),
        (
            _broken(lambda s: s["properties"].update(tags={"type": "array"})),
            "properties.tags",
            "items of type string with an enum",
        ),
        (
            _broken(lambda s: s["properties"]["count"].update(default=9)),
            "properties.count.default",
            "default 9 is invalid",
        ),
        (_broken(lambda s: s.update(required=["ghost"])), "required", "'ghost'"),
        (
            _broken(lambda s: s["properties"]["style"].update({"x-enumLabels": ["One"]})),
            "properties.style.x-enumLabels",
            "one label per enum choice",
        ),
        (
            _broken(lambda s: s["properties"].update({"Bad-Name": {"type": "string"}})),
            "properties.Bad-Name",
            "lowercase letters",
        ),
        (
            _broken(lambda s: s["properties"].update(signature={"type": "string"})),
            "properties.signature",
            "reserved",
        ),
    ],
)
def test_invalid_schemas_are_rejected_naming_the_field(
    schema: object, field: str, fragment: str
) -> None:
    with pytest.raises(SchemaError) as caught:
        validate_parameter_schema(schema, prompt_template=TEMPLATE)
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_template_must_only_use_defined_parameters() -> None:
    with pytest.raises(SchemaError, match="uses colour, size"):
        validate_parameter_schema(SCHEMA, prompt_template="{{ size }} {{ colour }} {{ subject }}")
    with pytest.raises(SchemaError, match="template error on line 1"):
        validate_parameter_schema(SCHEMA, prompt_template="{% if subject %}unclosed")


def test_compile_places_parameters_and_appends_the_signature() -> None:
    values, _ = coerce_and_validate(
        SCHEMA, {"subject": "a fox", "count": 2, "style": "noir", "extras": ["fog", "rain"]}
    )
    text = compile_prompt(
        prompt_template=TEMPLATE,
        parameters=values,
        signature_name="Golden Hour",
        signature_style="warm low sun",
    )
    assert text == (
        "A noir picture of a fox x2.\nWith fog and rain.\nHDR.\n\n"
        "Visual signature — Golden Hour: warm low sun"
    )


def test_compile_lets_the_template_place_the_signature_itself() -> None:
    text = compile_prompt(
        prompt_template="{{ subject }}{% if signature %}, in the style {{ signature }}{% endif %}",
        parameters={"subject": "A fox"},
        signature_name="Noir",
        signature_style="hard light",
    )
    assert text == "A fox, in the style Noir: hard light"
    plain = compile_prompt(
        prompt_template="{{ subject }}{% if signature %}, styled{% endif %}",
        parameters={"subject": "A fox"},
    )
    assert plain == "A fox"


def test_templates_run_sandboxed() -> None:
    sneaky = "{{ subject.__class__.__mro__[1].__subclasses__() }}"
    with pytest.raises(SchemaError, match="cannot be rendered"):
        compile_prompt(prompt_template=sneaky, parameters={"subject": "x"})


def test_join_natural() -> None:
    assert join_natural([]) == ""
    assert join_natural(["a"]) == "a"
    assert join_natural(["a", "b"]) == "a and b"
    assert join_natural(["a", "b", "c"], "or") == "a, b or c"


def test_every_default_blueprint_is_valid_and_compiles_from_its_defaults() -> None:
    blueprints = default_catalog()["blueprints"]
    kinds = set()
    for blueprint in blueprints:
        schema = blueprint["parameter_schema"]
        validate_parameter_schema(schema, prompt_template=blueprint["prompt_template"])
        raw = default_values(schema)
        for spec in describe_fields(schema):
            kinds.add(spec.kind)
            if spec.required and spec.name not in raw:
                raw[spec.name] = "sample text"
        values, errors = coerce_and_validate(schema, raw)
        assert errors == {}, blueprint["slug"]
        text = compile_prompt(prompt_template=blueprint["prompt_template"], parameters=values)
        assert "sample text" in text and "None" not in text, blueprint["slug"]
    assert kinds == {"text", "textarea", "number", "integer", "select", "multiselect", "boolean"}


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("{{ ''.__class__.__mro__ }}", "unsafe"),
        ("{% for i in range(10**9) %}x{% endfor %}", "Range too big"),
        ("{{ range(10**8)|list }}", "Range too big"),
        ("{{ 'x' * 10**9 }}", "repeats a value to more than"),
        ("{{ [1] * 10**9 }}", "repeats a value to more than"),
        ("{{ 2 ** 100000000 }}", "number of more than"),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            f"more than {MAX_RENDER_STEPS:,} steps",
        ),
        (
            "{% macro m(n) %}{% if n %}{{ m(n-1) }}{{ m(n-1) }}{% endif %}{% endmacro %}"
            "{{ m(60) }}",
            "steps",
        ),
        ("{% macro m(n) %}{{ m(n+1) }}{% endmacro %}{{ m(1) }}", "recurses too deeply"),
        ("{% for i in range(99999) %}{{ 'x' * 100 }}{% endfor %}", "renders more than"),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
            "{% endfor %}",
            "builds a string of more than",
        ),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}"
            "{% endfor %}",
            "joins values into more than",
        ),
        (
            "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}"
            "{% endfor %}{{ ns.l }}",
            "builds a collection of more than",
        ),
        ("{% set l = [] %}{{ l.append(1) }}", "unsafe"),
        (
            "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}"
            "{% endfor %}{{ ns.l|tojson }}",
            "builds a collection of more than",
        ),
        (
            "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = [ns.l, ns.l] %}"
            "{% endfor %}{{ '{}'.format(ns.l) }}",
            "builds a collection of more than",
        ),
        ("{{ ['ab'] | batch(999999999, 'x') | list }}", "asks for 999,999,999"),
        ("{{ 'ab' | slice(999999999) | list }}", "asks for 999,999,999"),
        ("{{ range(100000)|join('-----') }}", "more than"),
        ("{{ '{:>999999999}'.format(1) }}", "formats a value to 999999999"),
        ("{{ '%999999999s' % 1 }}", "formats a value to 999999999"),
        ("{{ '%*s' % (999999999, 1) }}", "asks for 999,999,999"),
        ("{{ '%s'|format(1)|center(999999999) }}", "asks for 999,999,999"),
        ("{{ 'x'.ljust(999999999) }}", "asks for 999,999,999"),
        ("{{ ('x' * 100000).replace('', 'yyyyyyyy') }}", "replaces its way to"),
        ("{{ ('a\\n' * 90000)|indent(1000) }}", "indents to"),
        ("{{ subject + 1 }}", "cannot be rendered"),
        ("{{ 1 / 0 }}", "cannot be rendered"),
    ],
)
def test_render_limits_stop_escapes_and_resource_bombs_quickly(
    template: str, fragment: str
) -> None:
    started = time.monotonic()
    with pytest.raises(SchemaError, match="the prompt text") as caught:
        compile_prompt(prompt_template=template, parameters={"subject": "x"})
    assert fragment in caught.value.message
    assert caught.value.field == "prompt_template"
    assert time.monotonic() - started < 5


def test_render_limits_leave_ordinary_templates_alone() -> None:
    text = compile_prompt(
        prompt_template=(
            "{{ subject|upper }} {{ [1, 2, 3]|join(', ') }} {{ '%s-%d' % ('a', 3) }} "
            "{{ '{} {:>5}'.format('a', 'b') }} {{ 7 * 8 }} {{ 2 ** 10 }} {{ 'ab' ~ 'c' }} "
            "{{ 'abc'|join('.') }} {{ ['x', 'y']|map('upper')|join }}"
            "{% for i in range(3) %} {{ loop.index }}{% endfor %}"
        ),
        parameters={"subject": "fox"},
    )
    assert text == "FOX 1, 2, 3 a-3 a     b 56 1024 abc a.b.c XY 1 2 3"
    at_the_limit = compile_prompt(
        prompt_template="{{ 'x' * size }}", parameters={"size": MAX_PROMPT_CHARS}
    )
    assert len(at_the_limit) == MAX_PROMPT_CHARS
    with pytest.raises(SchemaError, match="more than"):
        compile_prompt(
            prompt_template="{{ 'x' * size }}", parameters={"size": MAX_PROMPT_CHARS + 1}
        )


def test_rendering_restores_the_previous_trace_function() -> None:
    def tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        compile_prompt(prompt_template="{{ subject }}", parameters={"subject": "x"})
        assert sys.gettrace() is tracer
        with pytest.raises(SchemaError):
            compile_prompt(
                prompt_template="{% for i in range(99999) %}{% for j in range(99) %}"
                "{% endfor %}{% endfor %}",
                parameters={},
            )
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)


def test_template_source_is_limited_and_odd_literals_are_refused() -> None:
    with pytest.raises(SchemaError, match=f"at most {MAX_TEMPLATE_CHARS:,}"):
        validate_prompt_template("x" * (MAX_TEMPLATE_CHARS + 1), parameter_names=set())
    with pytest.raises(SchemaError, match="cannot be parsed"):
        validate_prompt_template("{{ " + "9" * 5000 + " }}", parameter_names=set())
    with pytest.raises(SchemaError, match="cannot be parsed"):
        validate_prompt_template(
            "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", parameter_names=set()
        )


def test_sample_values_cover_every_kind_within_the_schema() -> None:
    sets = dict(sample_parameter_sets(SCHEMA))
    assert set(sets) == {"sample values", "other sample values", "optional fields left blank"}
    for raw in sets.values():
        _, errors = coerce_and_validate(SCHEMA, raw)
        assert errors == {}
    typical, other, blank = (
        sets["sample values"],
        sets["other sample values"],
        sets["optional fields left blank"],
    )
    assert typical["count"] == 2 and other["count"] == 5  # the default, then the maximum
    assert typical["ratio"] == 0.5 and other["ratio"] == 2.5
    assert typical["style"] == "noir" and other["style"] == "pastel"
    assert typical["extras"] == ["fog", "rain", "snow"] and other["extras"] == ["fog"]
    assert typical["hdr"] is True and other["hdr"] is False
    assert "\n" in typical["notes"] and len(typical["subject"]) <= 20
    assert blank["notes"] == "" and blank["extras"] == [] and blank["ratio"] is None
    assert blank["subject"] and blank["count"] == 2  # required fields keep a value
    check_template_renders(SCHEMA, TEMPLATE)


@pytest.mark.parametrize(
    ("template", "label"),
    [
        ("{% if style == 'pastel' %}{{ 1 / 0 }}{% endif %}{{ subject }}", "other sample values"),
        ("{{ subject }} {{ notes.splitlines()[0] }}", "optional fields left blank"),
        ("{{ subject }} {% for i in range(count * 30000) %}{{ i }}{% endfor %}", "sample values"),
        ("{{ subject }}{% if signature %}{{ signature * 100000 }}{% endif %}", "sample values"),
    ],
)
def test_a_template_that_fails_a_test_render_is_refused_naming_the_sample(
    template: str, label: str
) -> None:
    validate_parameter_schema(SCHEMA, prompt_template=template)
    with pytest.raises(SchemaError, match=f"fails a test render with {label}: ") as caught:
        check_template_renders(SCHEMA, template)
    assert caught.value.field == "prompt_template"


def test_a_bad_template_already_stored_fails_at_generation_with_a_clear_message() -> None:
    # compile_prompt is what generation calls: the same limits hold there.
    with pytest.raises(SchemaError, match="cannot be rendered: Range too big"):
        compile_prompt(
            prompt_template="{% for i in range(10**9) %}{{ subject }}{% endfor %}",
            parameters={"subject": "x"},
        )
