"""History list and one generation in full."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.api_access import share_panel
from promptgen.components.shell import app_shell, page_header
from promptgen.state.history import (
    AttachmentRow,
    HistoryDetailState,
    HistoryRow,
    HistoryState,
    ParameterRow,
)


def _status_badge(status: rx.Var) -> rx.Component:
    return rx.badge(
        status,
        color_scheme=rx.match(status, ("succeeded", "green"), ("failed", "red"), "gray"),
        variant="soft",
    )


def _history_row(row: HistoryRow) -> rx.Component:
    return rx.card(
        rx.hstack(
            rx.link(
                rx.vstack(
                    rx.hstack(
                        rx.text(row.blueprint, weight="bold"),
                        rx.badge(row.model, variant="outline"),
                        _status_badge(row.status),
                        rx.spacer(),
                        rx.text(row.created, size="1", color_scheme="gray"),
                        width="100%",
                        align="center",
                        wrap="wrap",
                    ),
                    rx.text(row.snippet, size="2", color_scheme="gray"),
                    spacing="1",
                    align="start",
                    width="100%",
                ),
                href=urls.HISTORY + "/" + row.id,
                underline="none",
                color="inherit",
                flex="1",
                min_width="0",
                class_name="history-open",
            ),
            rx.icon_button(
                rx.icon("star", size=16, fill=rx.cond(row.favorite, "currentColor", "none")),
                variant="ghost",
                color_scheme=rx.cond(row.favorite, "amber", "gray"),
                on_click=HistoryState.toggle_favorite(row.id),
                aria_label="Favourite",
                class_name="favorite-toggle",
            ),
            rx.alert_dialog.root(
                rx.alert_dialog.trigger(
                    rx.icon_button(
                        rx.icon("trash-2", size=16),
                        variant="ghost",
                        color_scheme="red",
                        aria_label="Delete",
                        class_name="delete-row",
                    )
                ),
                rx.alert_dialog.content(
                    rx.alert_dialog.title("Delete this generation?"),
                    rx.alert_dialog.description("Its inputs, images and output are removed."),
                    rx.hstack(
                        rx.alert_dialog.cancel(rx.button("Keep", variant="soft")),
                        rx.alert_dialog.action(
                            rx.button(
                                "Delete",
                                color_scheme="red",
                                on_click=[
                                    HistoryState.delete(row.id),
                                    rx.toast.success("Deleted."),
                                ],
                                class_name="confirm-delete-row",
                            )
                        ),
                        justify="end",
                        spacing="3",
                        margin_top="1em",
                    ),
                ),
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
        width="100%",
        class_name=rx.cond(row.favorite, "history-row is-favorite", "history-row"),
    )


def _filter_select(options, value, on_change, all_label: str, select_id: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(id=select_id, min_width="160px"),
        rx.select.content(
            rx.foreach(
                options,
                lambda option: rx.select.item(
                    rx.cond(option == "all", all_label, option), value=option
                ),
            )
        ),
        value=value,
        on_change=on_change,
    )


def _toolbar() -> rx.Component:
    return rx.flex(
        rx.form(
            rx.hstack(
                rx.input(
                    rx.input.slot(rx.icon("search", size=16)),
                    name="search",
                    placeholder="Search outputs and prompts",
                    id="history-search",
                    default_value=HistoryState.search,
                    width="260px",
                ),
                rx.button("Search", type="submit", variant="soft"),
            ),
            on_submit=HistoryState.apply_filters,
            reset_on_submit=False,
        ),
        _filter_select(
            HistoryState.blueprint_options,
            HistoryState.blueprint_filter,
            HistoryState.set_blueprint_filter,
            "All blueprints",
            "blueprint-filter",
        ),
        _filter_select(
            HistoryState.model_options,
            HistoryState.model_filter,
            HistoryState.set_model_filter,
            "All models",
            "model-filter",
        ),
        rx.hstack(
            rx.switch(
                checked=HistoryState.favorites_only,
                on_change=HistoryState.set_favorites_only,
                id="favorites-only",
            ),
            rx.text("Favourites", size="2"),
            align="center",
        ),
        rx.spacer(),
        rx.menu.root(
            rx.menu.trigger(
                rx.button(rx.icon("download", size=16), "Export", variant="soft", id="export")
            ),
            rx.menu.content(
                rx.menu.item("JSON", on_click=HistoryState.export("json"), id="export-json"),
                rx.menu.item("CSV", on_click=HistoryState.export("csv"), id="export-csv"),
            ),
        ),
        spacing="3",
        wrap="wrap",
        align="center",
        width="100%",
    )


def history() -> rx.Component:
    return app_shell(
        page_header("History", "Every generation you have made, newest first."),
        _toolbar(),
        rx.cond(
            HistoryState.loaded & (HistoryState.rows.length() == 0),
            rx.callout(
                rx.cond(
                    (HistoryState.search != "")
                    | (HistoryState.blueprint_filter != "all")
                    | (HistoryState.model_filter != "all")
                    | HistoryState.favorites_only,
                    "Nothing matches these filters.",
                    "Nothing here yet. Generate a prompt on the dashboard and it will appear here.",
                ),
                icon="inbox",
                id="history-empty",
            ),
        ),
        rx.vstack(
            rx.foreach(HistoryState.rows, _history_row),
            spacing="2",
            width="100%",
            id="history-list",
        ),
    )


def _attachment(row: AttachmentRow) -> rx.Component:
    return rx.vstack(
        rx.image(src=row.src, alt=row.filename, max_height="140px", border_radius="6px"),
        rx.text(row.label, size="1", color_scheme="gray"),
        class_name="detail-image",
    )


def _parameter(row: ParameterRow) -> rx.Component:
    return rx.data_list.item(
        rx.data_list.label(row.name),
        rx.data_list.value(rx.text(row.value, white_space="pre-wrap")),
    )


def _text_block(title: str, text: rx.Var, block_id: str) -> rx.Component:
    return rx.vstack(
        rx.heading(title, size="4"),
        rx.box(
            rx.text(text, white_space="pre-wrap", size="2"),
            padding="1em",
            background=rx.color("gray", 2),
            border_radius="8px",
            width="100%",
            id=block_id,
        ),
        width="100%",
        align="start",
    )


def history_detail() -> rx.Component:
    detail = HistoryDetailState.detail
    return app_shell(
        rx.link(
            rx.hstack(rx.icon("arrow-left", size=16), rx.text("All history")), href=urls.HISTORY
        ),
        rx.cond(
            HistoryDetailState.loaded & ~HistoryDetailState.found,
            rx.callout(
                "This generation does not exist or is not yours.",
                icon="circle-x",
                color_scheme="red",
                margin_top="1em",
                id="not-found",
            ),
        ),
        rx.cond(
            HistoryDetailState.found,
            rx.vstack(
                rx.hstack(
                    rx.heading(detail.blueprint, size="6"),
                    _status_badge(detail.status),
                    align="center",
                ),
                rx.data_list.root(
                    rx.data_list.item(
                        rx.data_list.label("Created"), rx.data_list.value(detail.created)
                    ),
                    rx.data_list.item(
                        rx.data_list.label("Model"), rx.data_list.value(detail.model)
                    ),
                    rx.cond(
                        HistoryDetailState.blueprint_version != "",
                        rx.data_list.item(
                            rx.data_list.label("Blueprint version"),
                            rx.data_list.value(
                                rx.link(
                                    HistoryDetailState.blueprint_version,
                                    href=HistoryDetailState.blueprint_versions_url,
                                    id="detail-blueprint-version",
                                )
                            ),
                        ),
                    ),
                    rx.data_list.item(
                        rx.data_list.label("Visual signature"), rx.data_list.value(detail.signature)
                    ),
                    rx.data_list.item(
                        rx.data_list.label("Key"), rx.data_list.value(HistoryDetailState.key_source)
                    ),
                    rx.data_list.item(
                        rx.data_list.label("Tokens"), rx.data_list.value(HistoryDetailState.tokens)
                    ),
                    rx.data_list.item(
                        rx.data_list.label("Latency"),
                        rx.data_list.value(HistoryDetailState.latency),
                    ),
                ),
                rx.heading("Inputs", size="4"),
                rx.data_list.root(
                    rx.foreach(HistoryDetailState.parameters, _parameter), id="detail-inputs"
                ),
                rx.cond(
                    HistoryDetailState.error_message != "",
                    rx.callout(
                        HistoryDetailState.error_message, color_scheme="red", icon="triangle-alert"
                    ),
                ),
                rx.cond(
                    HistoryDetailState.attachments.length() > 0,
                    rx.vstack(
                        rx.heading("Reference images", size="4"),
                        rx.flex(rx.foreach(HistoryDetailState.attachments, _attachment), gap="3"),
                        align="start",
                    ),
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("rotate-ccw", size=16),
                        "Retry with these inputs",
                        on_click=HistoryDetailState.retry,
                        id="retry",
                    ),
                    rx.spacer(),
                    rx.button(
                        rx.icon("copy", size=16),
                        "Copy output",
                        variant="soft",
                        on_click=[
                            rx.set_clipboard(HistoryDetailState.output),
                            rx.toast.success("Copied to clipboard"),
                        ],
                    ),
                    width="100%",
                ),
                share_panel(),
                _text_block("Output", HistoryDetailState.output, "detail-output"),
                _text_block(
                    "Compiled prompt", HistoryDetailState.compiled_prompt, "detail-compiled"
                ),
                spacing="3",
                width="100%",
                align="start",
                margin_top="1em",
            ),
        ),
    )
