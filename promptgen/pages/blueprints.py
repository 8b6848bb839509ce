"""The user's own blueprints: the list, the form builder, and versions with their diffs."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.layout import field_label
from promptgen.components.shell import app_shell, page_header
from promptgen.pages import page
from promptgen.services.blueprint_builder import KIND_LABELS
from promptgen.state.blueprints import (
    BlueprintListState,
    BuilderState,
    CatalogRow,
    DiffRow,
    EntryOption,
    FieldChangeRow,
    FieldRow,
    InputRow,
    OwnBlueprintRow,
    ProblemRow,
    VersionRow,
    VersionsState,
)
from promptgen.state.dashboard import MULTI_SEPARATOR, FormField


def _back_to_list() -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon("arrow-left", size=16), rx.text("All blueprints")),
        href=urls.BLUEPRINTS,
    )


def _callouts(message: rx.Var, error: rx.Var) -> rx.Component:
    return rx.fragment(
        rx.cond(
            message != "",
            rx.callout(message, icon="check", color_scheme="green", id="blueprint-message"),
        ),
        rx.cond(
            error != "",
            rx.callout(
                error, icon="triangle-alert", color_scheme="red", role="alert", id="blueprint-error"
            ),
        ),
    )


# --- the list ---------------------------------------------------------------------------


def _own_row(row: OwnBlueprintRow) -> rx.Component:
    confirming = BlueprintListState.confirm_delete_id == row.id
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.link(rx.heading(row.name, size="4"), href=urls.BLUEPRINTS + "/" + row.id),
                rx.badge(row.version, variant="soft"),
                rx.badge(row.category, variant="outline"),
                rx.spacer(),
                rx.text("Saved " + row.updated, size="1", color_scheme="gray"),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.cond(row.description != "", rx.text(row.description, size="2", color_scheme="gray")),
            rx.cond(
                confirming,
                rx.hstack(
                    rx.text("Delete “" + row.name + "” and all its versions?", size="2"),
                    rx.button(
                        "Delete",
                        color_scheme="red",
                        on_click=BlueprintListState.delete(row.id),
                        class_name="confirm-delete",
                    ),
                    rx.button(
                        "Keep it",
                        variant="soft",
                        color_scheme="gray",
                        on_click=BlueprintListState.cancel_delete,
                    ),
                    align="center",
                    wrap="wrap",
                ),
                rx.hstack(
                    rx.link(rx.button("Edit", variant="soft"), href=urls.BLUEPRINTS + "/" + row.id),
                    rx.link(
                        rx.button("Versions", variant="soft"),
                        href=urls.BLUEPRINTS + "/" + row.id + "/versions",
                    ),
                    rx.link(
                        rx.button("Use on dashboard", variant="soft"),
                        href=urls.DASHBOARD + "?blueprint=user:" + row.id,
                    ),
                    rx.button(
                        "Duplicate",
                        variant="soft",
                        color_scheme="gray",
                        on_click=BlueprintListState.duplicate(row.id),
                    ),
                    rx.button(
                        "Delete",
                        variant="soft",
                        color_scheme="red",
                        on_click=BlueprintListState.ask_delete(row.id),
                        aria_label="Delete " + row.name,
                    ),
                    wrap="wrap",
                    spacing="2",
                ),
            ),
            spacing="2",
            width="100%",
            align="start",
        ),
        width="100%",
        class_name="own-blueprint",
        data_name=row.name,
    )


def _catalog_row(row: CatalogRow) -> rx.Component:
    return rx.hstack(
        rx.vstack(
            rx.text(row.name, weight="medium"),
            rx.text(row.category, size="1", color_scheme="gray"),
            spacing="0",
            align="start",
        ),
        rx.spacer(),
        rx.button(
            rx.icon("copy", size=14),
            "Make a private copy",
            size="1",
            variant="soft",
            on_click=BlueprintListState.duplicate_catalog(row.id),
            aria_label="Make a private copy of " + row.name,
        ),
        width="100%",
        align="center",
        class_name="catalog-blueprint",
    )


@page(urls.BLUEPRINTS, "My blueprints", BlueprintListState.load)
def blueprint_list() -> rx.Component:
    return app_shell(
        rx.hstack(
            page_header(
                "My blueprints", "Your own prompt templates, with typed forms and versions."
            ),
            rx.spacer(),
            rx.link(
                rx.button(rx.icon("plus", size=16), "New blueprint", size="3"),
                href=urls.BLUEPRINT_NEW,
                id="new-blueprint",
            ),
            width="100%",
            align="start",
        ),
        _callouts(BlueprintListState.message, BlueprintListState.error),
        rx.cond(
            BlueprintListState.loaded & (BlueprintListState.own.length() == 0),
            rx.callout(
                "You have no blueprints yet. Start a new one, or copy one from the catalog below.",
                icon="info",
            ),
        ),
        rx.vstack(
            rx.foreach(BlueprintListState.own, _own_row), width="100%", spacing="3", id="own-list"
        ),
        rx.heading("Start from the catalog", size="4", margin_top="1.5em"),
        rx.card(
            rx.vstack(
                rx.foreach(BlueprintListState.catalog_rows, _catalog_row),
                width="100%",
                spacing="2",
            ),
            width="100%",
        ),
    )


# --- the builder ------------------------------------------------------------------------


def _labelled(label: str | rx.Var, control: rx.Component, control_id: str | rx.Var) -> rx.Component:
    return rx.vstack(
        field_label(label, control_id),
        control,
        spacing="1",
        width="100%",
        align="start",
    )


def _field_text(
    row: FieldRow, index: rx.Var, attribute: str, label: str, *, area: bool = False
) -> rx.Component:
    control_id = f"field-{index}-{attribute}"
    props = {
        "id": control_id,
        "value": getattr(row, attribute),
        "on_change": lambda value: BuilderState.set_field_text(index, attribute, value),
        "width": "100%",
    }
    control = rx.text_area(rows="3", **props) if area else rx.input(**props)
    return _labelled(label, control, control_id)


def _kind_select(row: FieldRow, index: rx.Var) -> rx.Component:
    control_id = f"field-{index}-kind"
    return _labelled(
        "Kind",
        rx.el.select(
            *[rx.el.option(label, value=kind) for kind, label in KIND_LABELS.items()],
            id=control_id,
            value=row.kind,
            on_change=lambda value: BuilderState.set_field_kind(index, value),
            class_name="pg-native-select",
        ),
        control_id,
    )


def _move_button(index: rx.Var, delta: int, row: FieldRow, disabled: rx.Var) -> rx.Component:
    up = delta < 0
    return rx.icon_button(
        rx.icon("arrow-up" if up else "arrow-down", size=14),
        size="1",
        variant="soft",
        color_scheme="gray",
        type="button",
        disabled=disabled,
        on_click=BuilderState.move_field(index, delta),
        aria_label=f"Move field {row.label} {'up' if up else 'down'}",
        class_name="move-up" if up else "move-down",
    )


def _field_card(row: FieldRow, index: rx.Var) -> rx.Component:
    is_number = (row.kind == "number") | (row.kind == "integer")
    is_text = (row.kind == "text") | (row.kind == "textarea")
    is_choice = (row.kind == "select") | (row.kind == "multiselect")
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(f"Field {index + 1}", size="2"),
                rx.badge(row.kind_label, variant="soft"),
                rx.code("{{ " + row.name + " }}", size="1"),
                rx.spacer(),
                _move_button(index, -1, row, index == 0),
                _move_button(index, 1, row, index == BuilderState.rows.length() - 1),
                rx.icon_button(
                    rx.icon("trash-2", size=14),
                    size="1",
                    variant="soft",
                    color_scheme="red",
                    type="button",
                    on_click=BuilderState.remove_field(index),
                    aria_label=f"Remove field {row.label}",
                    class_name="remove-field",
                ),
                width="100%",
                align="center",
                wrap="wrap",
            ),
            rx.grid(
                _field_text(row, index, "label", "Label"),
                _field_text(row, index, "name", "Variable name"),
                _kind_select(row, index),
                rx.box(
                    rx.checkbox(
                        "Required",
                        checked=row.required,
                        on_change=lambda value: BuilderState.set_field_required(index, value),
                        id=f"field-{index}-required",
                    ),
                    padding_top="1.5em",
                ),
                columns=rx.breakpoints(initial="1", sm="2", md="4"),
                spacing="3",
                width="100%",
            ),
            _field_text(row, index, "help", "Help text"),
            rx.grid(
                rx.cond(is_text | is_number, _field_text(row, index, "placeholder", "Placeholder")),
                rx.cond(
                    row.kind == "boolean",
                    _field_text(row, index, "default", "Default (yes, no or blank)"),
                    rx.cond(
                        row.kind == "multiselect",
                        _field_text(
                            row, index, "default", "Default choices (one per line)", area=True
                        ),
                        _field_text(row, index, "default", "Default"),
                    ),
                ),
                rx.cond(is_number, _field_text(row, index, "minimum", "Minimum")),
                rx.cond(is_number, _field_text(row, index, "maximum", "Maximum")),
                rx.cond(is_text, _field_text(row, index, "max_length", "Maximum length")),
                columns=rx.breakpoints(initial="1", sm="2", md="3"),
                spacing="3",
                width="100%",
            ),
            rx.cond(
                is_choice,
                _field_text(
                    row,
                    index,
                    "options",
                    "Choices, one per line (value, or value | Label)",
                    area=True,
                ),
            ),
            rx.cond(
                row.problem != "",
                rx.text(row.problem, color_scheme="red", size="2", class_name="field-problem"),
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
        width="100%",
        class_name="builder-field",
        data_name=row.name,
    )


def _add_field_buttons() -> rx.Component:
    return rx.hstack(
        rx.text("Add a field:", size="2", weight="medium"),
        *[
            rx.button(
                rx.icon("plus", size=14),
                label,
                size="1",
                variant="soft",
                type="button",
                on_click=BuilderState.add_builder_field(kind),
                class_name="add-field",
                data_kind=kind,
            )
            for kind, label in KIND_LABELS.items()
        ],
        wrap="wrap",
        spacing="2",
        align="center",
    )


def _variable_button(name: rx.Var) -> rx.Component:
    return rx.button(
        "{{ " + name + " }}",
        size="1",
        variant="outline",
        type="button",
        on_click=BuilderState.insert_variable(name),
        aria_label="Insert variable " + name,
        class_name="insert-variable",
    )


def _preview_input(field: FormField) -> rx.Component:
    control_id = "preview-" + field.name
    return rx.vstack(
        rx.cond(
            field.kind != "boolean",
            field_label(field.title, control_id),
        ),
        rx.match(
            field.kind,
            (
                "textarea",
                rx.text_area(
                    id=control_id,
                    value=field.default_text,
                    on_change=lambda v: BuilderState.set_sample(field.name, v),
                    rows="3",
                    width="100%",
                ),
            ),
            (
                "select",
                rx.el.select(
                    rx.foreach(
                        field.options,
                        lambda option, i: rx.el.option(field.option_labels[i], value=option),
                    ),
                    id=control_id,
                    value=field.default_text,
                    on_change=lambda v: BuilderState.set_sample(field.name, v),
                    class_name="pg-native-select",
                ),
            ),
            (
                "multiselect",
                rx.flex(
                    rx.foreach(
                        field.options,
                        lambda option, i: rx.checkbox(
                            field.option_labels[i],
                            checked=field.default_selected.contains(option),
                            on_change=lambda _checked: BuilderState.toggle_sample_choice(
                                field.name + MULTI_SEPARATOR + option
                            ),
                        ),
                    ),
                    wrap="wrap",
                    gap="3",
                    id=control_id,
                ),
            ),
            (
                "boolean",
                rx.checkbox(
                    field.title,
                    checked=field.default_checked,
                    on_change=lambda v: BuilderState.set_sample_flag(field.name, v),
                    id=control_id,
                ),
            ),
            rx.input(
                id=control_id,
                value=field.default_text,
                on_change=lambda v: BuilderState.set_sample(field.name, v),
                width="100%",
            ),
        ),
        rx.cond(field.description != "", rx.text(field.description, size="1", color_scheme="gray")),
        spacing="1",
        width="100%",
        align="start",
    )


def _preview() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Live preview", size="4"),
            rx.text(
                "The form as the dashboard shows it, filled with sample values you can change.",
                size="1",
                color_scheme="gray",
            ),
            rx.vstack(
                rx.foreach(BuilderState.preview_fields, _preview_input),
                width="100%",
                spacing="3",
                id="preview-form",
            ),
            rx.cond(
                BuilderState.preview_error != "",
                rx.callout(
                    BuilderState.preview_error,
                    icon="info",
                    color_scheme="amber",
                    size="1",
                    id="preview-error",
                ),
            ),
            rx.text("Compiled prompt", weight="medium", size="2"),
            rx.box(
                rx.text(BuilderState.preview_prompt, white_space="pre-wrap", size="2"),
                padding="1em",
                background=rx.color("gray", 2),
                border_radius="8px",
                width="100%",
                id="preview-prompt",
                aria_live="polite",
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
        width="100%",
        position="sticky",
        top="1em",
    )


def _problem(problem: ProblemRow) -> rx.Component:
    return rx.el.li(rx.code(problem.field), ": ", problem.message, class_name="save-problem")


def _builder_form() -> rx.Component:
    return rx.grid(
        rx.vstack(
            rx.grid(
                _labelled(
                    "Name",
                    rx.input(
                        id="blueprint-name",
                        value=BuilderState.blueprint_name,
                        on_change=BuilderState.set_blueprint_name,
                        width="100%",
                    ),
                    "blueprint-name",
                ),
                _labelled(
                    "Category",
                    rx.input(
                        id="blueprint-category",
                        value=BuilderState.category,
                        on_change=BuilderState.set_category,
                        placeholder="My blueprints",
                        width="100%",
                    ),
                    "blueprint-category",
                ),
                columns=rx.breakpoints(initial="1", sm="2"),
                spacing="3",
                width="100%",
            ),
            _labelled(
                "Description",
                rx.text_area(
                    id="blueprint-description",
                    value=BuilderState.description,
                    on_change=BuilderState.set_description,
                    rows="2",
                    width="100%",
                ),
                "blueprint-description",
            ),
            rx.heading("Form fields", size="4", margin_top="0.5em"),
            rx.box(
                rx.vstack(
                    rx.foreach(BuilderState.rows, _field_card),
                    width="100%",
                    spacing="3",
                ),
                width="100%",
                id="builder-fields",
            ),
            _add_field_buttons(),
            rx.heading("Prompt template", size="4", margin_top="0.5em"),
            rx.text(
                "Jinja text: {{ variable }} places a field's value; {% if flag %}…{% endif %} "
                "and {{ list | join_natural }} work too. Click a variable to add it at the end.",
                size="1",
                color_scheme="gray",
            ),
            rx.hstack(
                rx.foreach(BuilderState.variables, _variable_button),
                wrap="wrap",
                spacing="2",
                id="variables",
                aria_label="Insertable variables",
            ),
            rx.text_area(
                id="template-editor",
                value=BuilderState.template,
                on_change=BuilderState.set_template,
                rows="8",
                width="100%",
                font_family="monospace",
                aria_label="Prompt template",
            ),
            _labelled(
                "Instructions for the model (optional)",
                rx.text_area(
                    id="blueprint-instructions",
                    value=BuilderState.instructions,
                    on_change=BuilderState.set_instructions,
                    placeholder="How the model should refine the prompt: tone, format, length.",
                    rows="3",
                    width="100%",
                ),
                "blueprint-instructions",
            ),
            rx.cond(
                BuilderState.problem_count > 0,
                rx.box(
                    rx.el.ul(rx.foreach(BuilderState.problems, _problem), id="save-problems"),
                    role="alert",
                    color=rx.color("red", 11),
                    background=rx.color("red", 3),
                    border_radius="8px",
                    padding="0.75em 1em 0.75em 2em",
                    width="100%",
                ),
            ),
            _labelled(
                "Version note (optional)",
                rx.input(
                    id="version-note",
                    value=BuilderState.note,
                    on_change=BuilderState.set_note,
                    placeholder="What changed?",
                    width="100%",
                ),
                "version-note",
            ),
            _callouts(BuilderState.saved_message, BuilderState.error),
            rx.hstack(
                rx.button(
                    rx.icon("save", size=16),
                    rx.cond(
                        BuilderState.blueprint_id != "", "Save new version", "Create blueprint"
                    ),
                    size="3",
                    on_click=BuilderState.save,
                    id="save-blueprint",
                ),
                rx.cond(
                    BuilderState.blueprint_id != "",
                    rx.hstack(
                        rx.link(
                            rx.button("Versions", variant="soft", size="3"),
                            href=urls.BLUEPRINTS + "/" + BuilderState.blueprint_id + "/versions",
                            id="open-versions",
                        ),
                        rx.link(
                            rx.button("Use on dashboard", variant="soft", size="3"),
                            href=urls.DASHBOARD + "?blueprint=user:" + BuilderState.blueprint_id,
                            id="use-blueprint",
                        ),
                    ),
                ),
                spacing="3",
                wrap="wrap",
            ),
            spacing="3",
            width="100%",
            align="start",
        ),
        _preview(),
        columns=rx.breakpoints(initial="1", lg="2"),
        spacing="5",
        width="100%",
        align_items="start",
    )


@page(urls.BLUEPRINT_DETAIL, "Blueprint builder", BuilderState.load)
def blueprint_builder() -> rx.Component:
    return app_shell(
        _back_to_list(),
        rx.hstack(
            rx.heading(
                rx.cond(BuilderState.blueprint_id != "", "Edit blueprint", "New blueprint"),
                size="7",
            ),
            rx.cond(
                BuilderState.version > 0,
                rx.badge("v" + BuilderState.version.to_string(), size="2", id="builder-version"),
            ),
            align="center",
            margin_y="0.75em",
        ),
        rx.cond(
            BuilderState.loaded & ~BuilderState.found,
            rx.callout(
                "This blueprint does not exist, or is not yours.",
                icon="circle-x",
                color_scheme="red",
                id="not-found",
            ),
            rx.cond(BuilderState.loaded, _builder_form(), rx.spinner(size="3")),
        ),
    )


# --- versions ---------------------------------------------------------------------------


def _version_row(row: VersionRow) -> rx.Component:
    return rx.el.tr(
        rx.el.th(row.label, scope="row"),
        rx.el.td(row.created),
        rx.el.td(
            row.note,
            rx.cond(row.restored_from != "", rx.text(" (restored from " + row.restored_from + ")")),
        ),
        rx.el.td(
            rx.cond(
                row.is_current,
                rx.badge("Current", color_scheme="green", high_contrast=True),
                rx.button(
                    rx.icon("rotate-ccw", size=14),
                    "Restore",
                    size="1",
                    variant="soft",
                    on_click=VersionsState.restore(row.version),
                    aria_label="Restore " + row.label,
                    class_name="restore-version",
                ),
            )
        ),
        class_name="version-row",
    )


def _diff_table(rows: rx.Var, caption: str, summary: rx.Var, table_id: str) -> rx.Component:
    """A unified diff as a table: a screen reader hears "Added line 4: ..." per row."""

    def line(row: DiffRow) -> rx.Component:
        return rx.el.tr(
            rx.el.td(row.old_number, class_name="diff-number"),
            rx.el.td(row.new_number, class_name="diff-number"),
            rx.el.td(
                rx.el.span(row.sign, aria_hidden="true"),
                rx.el.span(row.spoken, class_name="sr-only"),
                class_name="diff-sign",
            ),
            rx.el.td(
                rx.match(
                    row.kind,
                    ("added", rx.el.ins(row.text)),
                    ("removed", rx.el.del_(row.text)),
                    rx.el.span(row.text),
                ),
                class_name="diff-text",
            ),
            class_name="diff-line diff-" + row.kind,
            data_kind=row.kind,
        )

    return rx.vstack(
        rx.text(summary, size="2", color_scheme="gray"),
        rx.cond(
            rows.length() > 0,
            rx.box(
                rx.el.table(
                    rx.el.caption(caption, class_name="sr-only"),
                    rx.el.thead(
                        rx.el.tr(
                            rx.el.th("Old", scope="col"),
                            rx.el.th("New", scope="col"),
                            rx.el.th(rx.el.span("Change", class_name="sr-only"), scope="col"),
                            rx.el.th("Text", scope="col"),
                        )
                    ),
                    rx.el.tbody(rx.foreach(rows, line)),
                    class_name="diff-table",
                    id=table_id,
                ),
                overflow_x="auto",
                width="100%",
            ),
        ),
        width="100%",
        align="start",
        spacing="2",
    )


def _field_change(change: FieldChangeRow) -> rx.Component:
    return rx.el.li(
        rx.badge(
            change.change,
            color_scheme=rx.match(change.change, ("added", "green"), ("removed", "red"), "amber"),
            high_contrast=True,  # the soft green and amber fail contrast otherwise (axe)
        ),
        " ",
        rx.text(change.title, weight="bold", as_="span"),
        " ",
        rx.code("{{ " + change.name + " }}"),
        rx.el.ul(rx.foreach(change.details, lambda d: rx.el.li(d))),
        class_name="schema-change",
        data_change=change.change,
    )


def _input_row(row: InputRow) -> rx.Component:
    return rx.el.tr(
        rx.el.th(row.name, scope="row"),
        rx.el.td(row.before),
        rx.el.td(row.after),
        rx.el.td(row.change),
        class_name="input-change",
        data_change=row.change,
    )


def _version_select(label: str, value: rx.Var, handler, control_id: str) -> rx.Component:
    return _labelled(
        label,
        rx.el.select(
            rx.foreach(VersionsState.version_options, lambda v: rx.el.option("v" + v, value=v)),
            id=control_id,
            value=value,
            on_change=handler,
            class_name="pg-native-select",
        ),
        control_id,
    )


def _entry_select(label: str, value: rx.Var, handler, control_id: str) -> rx.Component:
    def option(entry: EntryOption) -> rx.Component:
        return rx.el.option(entry.label, value=entry.id)

    return _labelled(
        label,
        rx.el.select(
            rx.foreach(VersionsState.entries, option),
            id=control_id,
            value=value,
            on_change=handler,
            class_name="pg-native-select",
        ),
        control_id,
    )


def _versions_body() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(VersionsState.blueprint_name, size="6"),
            rx.badge("v" + VersionsState.current_version.to_string(), size="2"),
            rx.spacer(),
            rx.link(
                rx.button("Edit", variant="soft"),
                href=urls.BLUEPRINTS + "/" + VersionsState.blueprint_id,
            ),
            width="100%",
            align="center",
        ),
        _callouts(VersionsState.message, VersionsState.error),
        rx.el.table(
            rx.el.caption("Versions, newest first", class_name="sr-only"),
            rx.el.thead(
                rx.el.tr(
                    rx.el.th("Version", scope="col"),
                    rx.el.th("Saved", scope="col"),
                    rx.el.th("Note", scope="col"),
                    rx.el.th(rx.el.span("Action", class_name="sr-only"), scope="col"),
                )
            ),
            rx.el.tbody(rx.foreach(VersionsState.versions, _version_row)),
            class_name="versions-table",
            id="versions",
        ),
        rx.heading("Compare two versions", size="5", margin_top="1em"),
        rx.hstack(
            _version_select(
                "From", VersionsState.old_version, VersionsState.choose_old_version, "old-version"
            ),
            _version_select(
                "To", VersionsState.new_version, VersionsState.choose_new_version, "new-version"
            ),
            spacing="4",
        ),
        rx.heading("Template", size="4"),
        _diff_table(
            VersionsState.template_diff,
            "Changes to the template text",
            VersionsState.template_summary,
            "template-diff",
        ),
        rx.heading("Form fields", size="4"),
        rx.cond(
            VersionsState.schema_changes.length() > 0,
            rx.el.ul(rx.foreach(VersionsState.schema_changes, _field_change), id="schema-diff"),
            rx.text("No field changes.", size="2", color_scheme="gray", id="schema-diff-empty"),
        ),
        rx.heading("Compare two generations", size="5", margin_top="1em"),
        rx.cond(
            VersionsState.entries.length() < 2,
            rx.text(
                "Generate with this blueprint at least twice to compare results.",
                size="2",
                color_scheme="gray",
            ),
            rx.vstack(
                rx.hstack(
                    _entry_select(
                        "Earlier", VersionsState.entry_a, VersionsState.choose_entry_a, "entry-a"
                    ),
                    _entry_select(
                        "Later", VersionsState.entry_b, VersionsState.choose_entry_b, "entry-b"
                    ),
                    spacing="4",
                    wrap="wrap",
                ),
                rx.heading("Inputs", size="4"),
                rx.el.table(
                    rx.el.caption("Inputs of the two generations", class_name="sr-only"),
                    rx.el.thead(
                        rx.el.tr(
                            rx.el.th("Field", scope="col"),
                            rx.el.th("Earlier", scope="col"),
                            rx.el.th("Later", scope="col"),
                            rx.el.th("Change", scope="col"),
                        )
                    ),
                    rx.el.tbody(rx.foreach(VersionsState.input_changes, _input_row)),
                    class_name="versions-table",
                    id="inputs-diff",
                ),
                rx.heading("Output", size="4"),
                _diff_table(
                    VersionsState.output_diff,
                    "Changes to the output",
                    VersionsState.output_summary,
                    "output-diff",
                ),
                width="100%",
                align="start",
                spacing="3",
            ),
        ),
        width="100%",
        align="start",
        spacing="3",
    )


@page(urls.BLUEPRINT_VERSIONS, "Blueprint versions", VersionsState.load)
def blueprint_versions() -> rx.Component:
    return app_shell(
        _back_to_list(),
        rx.cond(
            VersionsState.loaded & ~VersionsState.found,
            rx.callout(
                "This blueprint does not exist, or is not yours.",
                icon="circle-x",
                color_scheme="red",
                id="not-found",
                margin_top="1em",
            ),
            rx.cond(VersionsState.loaded, _versions_body(), rx.spinner(size="3")),
        ),
    )
