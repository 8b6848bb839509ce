"""Compare mode: the blueprint form once, 2-4 targets, columns side by side, ratings."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.schema_form import schema_fields
from promptgen.components.share_link import share_link_panel
from promptgen.components.shell import app_shell, page_header
from promptgen.pages import page
from promptgen.pages.dashboard import blueprint_picker
from promptgen.state.compare import (
    CompareColumn,
    CompareState,
    LeaderRowView,
    SignatureChoice,
    TargetRow,
)
from promptgen.state.dashboard import DashboardState


def _choice(choice: SignatureChoice) -> rx.Component:
    return rx.select.item(choice.label, value=choice.id)


def _target(target: TargetRow, index: rx.Var[int]) -> rx.Component:
    return rx.hstack(
        rx.text("Column ", index + 1, weight="medium", size="2", min_width="5em"),
        rx.select.root(
            rx.select.trigger(
                placeholder="Model", class_name="target-model", aria_label="Model for this column"
            ),
            rx.select.content(rx.foreach(CompareState.target_models, _choice)),
            value=target.model_id,
            on_change=lambda value: CompareState.set_target_model(index, value),
        ),
        rx.select.root(
            rx.select.trigger(
                placeholder="Signature",
                class_name="target-signature",
                aria_label="Visual signature for this column",
            ),
            rx.select.content(rx.foreach(CompareState.signature_choices, _choice)),
            value=target.signature_id,
            on_change=lambda value: CompareState.set_target_signature(index, value),
        ),
        rx.icon_button(
            rx.icon("x", size=14),
            type="button",
            variant="ghost",
            size="1",
            aria_label="Remove this column",
            on_click=CompareState.remove_target(index),
            disabled=CompareState.targets.length() <= 2,
            class_name="remove-target",
        ),
        align="center",
        spacing="3",
        class_name="target-row",
        wrap="wrap",
    )


def _targets() -> rx.Component:
    return rx.vstack(
        rx.heading("Targets", size="4", margin_top="1em"),
        rx.text(
            "2 to 4 columns: a model, a signature, or both. Vary the model to compare models, "
            "the signature to compare signatures.",
            size="1",
            color_scheme="gray",
        ),
        rx.foreach(CompareState.targets, _target),
        rx.hstack(
            rx.button(
                rx.icon("plus", size=14),
                "Add a column",
                type="button",
                variant="soft",
                size="1",
                on_click=CompareState.add_target,
                disabled=CompareState.targets.length() >= 4,
                id="add-target",
            ),
            rx.cond(
                CompareState.baseline_label != "",
                rx.text(
                    rx.hstack(
                        rx.checkbox(
                            checked=CompareState.include_baseline,
                            on_change=CompareState.set_include_baseline,
                            class_name="include-baseline",
                            aria_label="Add a free baseline column",
                        ),
                        rx.text("Add the ", CompareState.baseline_label, " as a free baseline"),
                        spacing="2",
                        align="center",
                    ),
                    as_="label",
                    size="2",
                ),
            ),
            spacing="4",
            align="center",
            wrap="wrap",
        ),
        width="100%",
        spacing="2",
        align="start",
    )


def _status_badge(column: CompareColumn) -> rx.Component:
    return rx.badge(
        column.status,
        color_scheme=rx.match(
            column.status,
            ("succeeded", "green"),
            ("running", "blue"),
            ("cancelled", "gray"),
            "red",
        ),
        class_name="column-status",
    )


def _rating(column: CompareColumn) -> rx.Component:
    return rx.cond(
        CompareState.can_rate & (column.prompt_id != ""),
        rx.vstack(
            rx.hstack(
                rx.icon_button(
                    rx.icon("thumbs-up", size=14),
                    variant=rx.cond(column.vote == 1, "solid", "soft"),
                    color_scheme="green",
                    size="1",
                    type="button",
                    aria_label="Thumbs up",
                    on_click=CompareState.vote(column.prompt_id, 1),
                    class_name="vote-up",
                    data_selected=rx.cond(column.vote == 1, "true", "false"),
                ),
                rx.icon_button(
                    rx.icon("thumbs-down", size=14),
                    variant=rx.cond(column.vote == -1, "solid", "soft"),
                    color_scheme="red",
                    size="1",
                    type="button",
                    aria_label="Thumbs down",
                    on_click=CompareState.vote(column.prompt_id, -1),
                    class_name="vote-down",
                    data_selected=rx.cond(column.vote == -1, "true", "false"),
                ),
                rx.button(
                    rx.icon("trophy", size=14),
                    rx.cond(column.winner, "Winner", "Pick as winner"),
                    variant=rx.cond(column.winner, "solid", "soft"),
                    color_scheme="amber",
                    size="1",
                    type="button",
                    on_click=CompareState.pick_winner(column.prompt_id),
                    class_name="pick-winner",
                ),
                spacing="2",
                align="center",
            ),
            rx.input(
                default_value=column.note,
                placeholder="Note (optional)",
                max_length=1000,
                size="1",
                width="100%",
                on_blur=lambda value: CompareState.save_note(column.prompt_id, value),
                class_name="column-note",
                key=column.prompt_id,
            ),
            spacing="2",
            width="100%",
        ),
    )


def _column(column: CompareColumn, index: rx.Var[int]) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.vstack(
                    rx.heading(column.title, size="3", class_name="column-title"),
                    rx.text(column.subtitle, size="1", color_scheme="gray"),
                    spacing="0",
                    align="start",
                ),
                rx.spacer(),
                _status_badge(column),
                width="100%",
                align="start",
            ),
            rx.cond(
                column.status == "running",
                rx.hstack(
                    rx.spinner(size="2", class_name="column-progress"),
                    rx.button(
                        rx.icon("square", size=12),
                        "Cancel",
                        type="button",
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        on_click=CompareState.cancel_column(index),
                        class_name="cancel-column",
                    ),
                    align="center",
                    spacing="2",
                ),
            ),
            rx.cond(
                column.message != "",
                rx.callout.root(
                    rx.callout.text(
                        column.message,
                        rx.cond(
                            column.needs_key,
                            rx.link(" Open Settings →", href=urls.SETTINGS, weight="bold"),
                        ),
                    ),
                    color_scheme=rx.cond(column.status == "cancelled", "gray", "red"),
                    size="1",
                    width="100%",
                    class_name="column-message",
                ),
            ),
            rx.box(
                rx.text(column.output, white_space="pre-wrap", size="2"),
                padding="0.75em",
                background=rx.color("gray", 2),
                border_radius="8px",
                width="100%",
                min_height="4em",
                class_name="column-output",
            ),
            rx.flex(
                rx.cond(column.latency != "", rx.text(column.latency, class_name="column-latency")),
                rx.cond(column.tokens != "", rx.text(column.tokens, class_name="column-tokens")),
                rx.cond(column.cost != "", rx.text(column.cost, class_name="column-cost")),
                rx.cond(column.billed != "", rx.text(column.billed, class_name="column-billed")),
                spacing="3",
                wrap="wrap",
                color=rx.color("gray", 11),
                font_size="12px",
            ),
            _rating(column),
            spacing="2",
            width="100%",
            align="start",
        ),
        class_name="compare-column",
        data_key=column.key,
        data_status=column.status,
        width="100%",
    )


def _leader_table(title: str, rows: rx.Var[list[LeaderRowView]], table_id: str) -> rx.Component:
    return rx.vstack(
        rx.text(title, weight="bold", size="2"),
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Name"),
                    rx.table.column_header_cell("Wins"),
                    rx.table.column_header_cell("Up"),
                    rx.table.column_header_cell("Down"),
                )
            ),
            rx.table.body(
                rx.foreach(
                    rows,
                    lambda row: rx.table.row(
                        rx.table.cell(row.name),
                        rx.table.cell(row.wins),
                        rx.table.cell(row.ups),
                        rx.table.cell(row.downs),
                        class_name="leader-row",
                    ),
                )
            ),
            size="1",
            id=table_id,
        ),
        spacing="1",
        align="start",
    )


def _leaderboard() -> rx.Component:
    return rx.cond(
        (CompareState.leader_models.length() > 0) | (CompareState.leader_signatures.length() > 0),
        rx.card(
            rx.vstack(
                rx.heading("Your leaderboard for ", CompareState.selected_blueprint_name, size="4"),
                rx.text(
                    "From your own ratings of this blueprint (a win counts twice).",
                    size="1",
                    color_scheme="gray",
                ),
                rx.flex(
                    _leader_table("Models", CompareState.leader_models, "leader-models"),
                    _leader_table(
                        "Signatures", CompareState.leader_signatures, "leader-signatures"
                    ),
                    spacing="6",
                    wrap="wrap",
                ),
                spacing="2",
            ),
            width="100%",
            margin_top="1.5em",
            id="leaderboard",
        ),
    )


def _share_panel() -> rx.Component:
    """A finished comparison's public link."""
    return share_link_panel(
        url=CompareState.compare_share_url,
        include_images=CompareState.compare_share_images,
        error=CompareState.compare_share_error,
        share=CompareState.share_comparison,
        stop=CompareState.stop_sharing_comparison,
        subject="comparison",
        start_label="Share this comparison",
        id_prefix="compare-",
        size="1",
        id="compare-share-panel",
    )


def _columns() -> rx.Component:
    return rx.cond(
        CompareState.columns.length() > 0,
        rx.vstack(
            rx.hstack(
                rx.heading("Side by side", size="5"),
                rx.spacer(),
                rx.cond(
                    CompareState.can_rate,
                    rx.hstack(
                        rx.button(
                            rx.icon("download", size=14),
                            "JSON",
                            variant="soft",
                            size="1",
                            on_click=CompareState.export("json"),
                            id="export-comparison-json",
                        ),
                        rx.button(
                            rx.icon("download", size=14),
                            "CSV",
                            variant="soft",
                            size="1",
                            on_click=CompareState.export("csv"),
                            id="export-comparison-csv",
                        ),
                        spacing="2",
                    ),
                ),
                width="100%",
                align="center",
            ),
            rx.cond(CompareState.can_rate, _share_panel()),
            rx.grid(
                rx.foreach(CompareState.columns, _column),
                columns=rx.breakpoints(initial="1", md="2", lg="4"),
                spacing="3",
                width="100%",
                id="compare-columns",
            ),
            width="100%",
            spacing="3",
            margin_top="1.5em",
        ),
    )


def _form() -> rx.Component:
    return rx.cond(
        CompareState.selected_blueprint_id == 0,
        rx.callout("Pick a blueprint above to start.", icon="mouse-pointer-click"),
        rx.form(
            rx.vstack(
                rx.heading(CompareState.selected_blueprint_name, size="5"),
                schema_fields(CompareState.fields, CompareState.field_errors),
                _targets(),
                rx.callout(
                    CompareState.cost_statement,
                    icon="receipt",
                    size="1",
                    id="compare-cost",
                    width="100%",
                ),
                rx.cond(
                    CompareState.compare_error != "",
                    rx.callout(
                        CompareState.compare_error,
                        icon="triangle-alert",
                        color_scheme="red",
                        size="1",
                        id="compare-error",
                    ),
                ),
                rx.button(
                    rx.icon("columns-3", size=16),
                    rx.cond(CompareState.running, "Comparing…", "Compare"),
                    type="submit",
                    size="3",
                    disabled=CompareState.running,
                    id="run-compare",
                ),
                spacing="3",
                width="100%",
                align="start",
            ),
            on_submit=CompareState.run_compare,
            reset_on_submit=False,
            no_validate=True,
            key=CompareState.form_version,
            width="100%",
        ),
    )


@page(
    urls.COMPARE,
    "Compare",
    # The dashboard's load first (catalog, chosen blueprint), then compare's own.
    [DashboardState.load, CompareState.load_compare],
)
def compare_page() -> rx.Component:
    return app_shell(
        page_header(
            "Compare",
            "Fill the form once and run it on several models or signatures side by side.",
        ),
        rx.link("← Back to the dashboard", href=urls.DASHBOARD, size="2", id="back-to-dashboard"),
        rx.box(
            blueprint_picker(CompareState.selected_blueprint_id, CompareState.pick_blueprint),
            width="100%",
            margin_top="1em",
        ),
        rx.divider(margin_y="1.5em"),
        _form(),
        _columns(),
        _leaderboard(),
    )
