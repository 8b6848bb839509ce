"""Form widgets drawn from a blueprint's parameter schema, one per field kind.

Each input is named after its parameter, so the submitted form parses back with
`state.dashboard.parameters_from_form`. Every control has a label; a field's help text and
its error are linked to it with aria-describedby, and an invalid field says so (aria-invalid).
A new field kind needs a widget here and a case in `schema_field`.
"""

from __future__ import annotations

import reflex as rx

from promptgen.components.layout import field_label
from promptgen.state.dashboard import MULTI_SEPARATOR, FormField


def field_id(field: FormField) -> rx.Var:
    return "field-" + field.name


def _help_id(field: FormField) -> rx.Var:
    return "help-" + field.name


def error_id(field: FormField) -> rx.Var:
    return "error-" + field.name


def _a11y(field: FormField, error: rx.Var) -> dict:
    """What ties an input to its help and its error, for screen readers."""
    return {
        "aria_describedby": rx.cond(
            error != "", _help_id(field) + " " + error_id(field), _help_id(field)
        ),
        "aria_invalid": rx.cond(error != "", "true", "false"),
        "aria_required": rx.cond(field.required, "true", "false"),
    }


def _label(field: FormField) -> rx.Component:
    return rx.hstack(
        field_label(field.title, field_id(field)),
        rx.cond(
            field.required,
            rx.text("*", color_scheme="red", title="Required", aria_hidden="true"),
        ),
        spacing="1",
    )


def _text_input(field: FormField, error: rx.Var, **number: str) -> rx.Component:
    return rx.input(
        id=field_id(field),
        name=field.name,
        default_value=field.default_text,
        placeholder=field.placeholder,
        width="100%",
        **number,
        **_a11y(field, error),
    )


def _number_input(field: FormField, error: rx.Var) -> rx.Component:
    return _text_input(field, error, type="number", step="any")


def _textarea(field: FormField, error: rx.Var) -> rx.Component:
    return rx.text_area(
        id=field_id(field),
        name=field.name,
        default_value=field.default_text,
        placeholder=field.placeholder,
        rows="4",
        width="100%",
        **_a11y(field, error),
    )


def _select(field: FormField, error: rx.Var) -> rx.Component:
    return rx.el.select(
        rx.cond(field.required, rx.fragment(), rx.el.option("—", value="")),
        rx.foreach(
            field.options,
            lambda option, index: rx.el.option(field.option_labels[index], value=option),
        ),
        id=field_id(field),
        name=field.name,
        default_value=field.default_text,
        class_name="pg-native-select",
        **_a11y(field, error),
    )


def _multiselect(field: FormField, error: rx.Var) -> rx.Component:
    # A group of checkboxes: the fieldset's legend is the field's label.
    return rx.el.fieldset(
        rx.el.legend(field.title, class_name="pg-legend"),
        rx.flex(
            rx.foreach(
                field.options,
                lambda option, index: rx.el.label(
                    rx.el.input(
                        type="checkbox",
                        name=field.name + MULTI_SEPARATOR + option,
                        default_checked=field.default_selected.contains(option),
                    ),
                    rx.text(field.option_labels[index], size="2"),
                    class_name="pg-choice",
                ),
            ),
            wrap="wrap",
            spacing="3",
        ),
        id=field_id(field),
        class_name="pg-fieldset",
        **_a11y(field, error),
    )


def _boolean(field: FormField, error: rx.Var) -> rx.Component:
    return rx.el.label(
        rx.el.input(
            type="checkbox",
            id=field_id(field),
            name=field.name,
            default_checked=field.default_checked,
            **_a11y(field, error),
        ),
        rx.text(rx.cond(field.description != "", field.description, field.title), size="2"),
        class_name="pg-choice",
    )


def schema_field(field: FormField, error: rx.Var) -> rx.Component:
    """One parameter: its label, the widget for its kind, help text and error."""
    return rx.vstack(
        rx.cond((field.kind != "boolean") & (field.kind != "multiselect"), _label(field)),
        rx.match(
            field.kind,
            ("textarea", _textarea(field, error)),
            ("number", _number_input(field, error)),
            ("integer", _number_input(field, error)),
            ("select", _select(field, error)),
            ("multiselect", _multiselect(field, error)),
            ("boolean", _boolean(field, error)),
            _text_input(field, error),
        ),
        rx.box(
            rx.cond(
                (field.description != "") & (field.kind != "boolean"),
                rx.text(field.description, size="1", color_scheme="gray"),
            ),
            rx.cond(field.hint != "", rx.text(field.hint, size="1", color_scheme="gray")),
            id=_help_id(field),
        ),
        rx.cond(
            error != "",
            rx.text(
                error,
                color_scheme="red",
                size="2",
                id=error_id(field),
                class_name="field-error",
                data_field=field.name,
            ),
        ),
        spacing="1",
        width="100%",
        align="start",
        class_name="form-field",
    )


def schema_fields(fields: rx.Var, errors: rx.Var) -> rx.Component:
    """Every field of a blueprint, two columns on wide screens."""
    return rx.grid(
        rx.foreach(fields, lambda field: schema_field(field, errors.get(field.name, ""))),
        columns=rx.breakpoints(initial="1", md="2"),
        spacing="4",
        width="100%",
    )
