"""Parameter schemas (every kind, bad schemas), form validation and prompt compilation."""

from __future__ import annotations

import copy

import pytest

from promptgen.blueprints import (
    SchemaError,
    coerce_and_validate,
    compile_prompt,
    default_values,
    describe_fields,
    join_natural,
    validate_parameter_schema,
)
from promptgen.catalog import default_catalog

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
