"""History list and one generation in full."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.api_access import share_panel
from promptgen.components.dialogs import confirm_dialog
from promptgen.components.feedback import callout, notice
from promptgen.components.layout import local_time, text_panel, value_row, value_rows
from promptgen.components.shell import app_shell, page_header
from promptgen.pages import page
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
        high_contrast=True,  # soft green text on green fails WCAG contrast
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
                        rx.cond(
                            row.rating != "",
                            rx.badge(row.rating, color_scheme="amber", class_name="row-rating"),
                        ),
                        rx.spacer(),
                        rx.text(local_time(row.created), size="1", color_scheme="gray"),
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
            rx.cond(
                row.comparison_url != "",
                rx.link(
                    rx.button(
                        rx.icon("columns-3", size=14), "Comparison", variant="soft", size="1"
                    ),
                    href=row.comparison_url,
                    class_name="open-comparison",
                ),
            ),
            rx.icon_button(
                rx.icon("star", size=16, fill=rx.cond(row.favorite, "currentColor", "none")),
                variant="ghost",
                color_scheme=rx.cond(row.favorite, "amber", "gray"),
                on_click=HistoryState.toggle_favorite(row.id),
                aria_label="Favourite",
                class_name="favorite-toggle",
            ),
            confirm_dialog(
                rx.icon_button(
                    rx.icon("trash-2", size=16),
                    variant="ghost",
                    color_scheme="red",
                    aria_label="Delete",
                    class_name="delete-row",
                ),
                title="Delete this generation?",
                description="Its inputs, images and output are removed.",
                cancel_label="Keep",
                confirm_label="Delete",
                on_confirm=[HistoryState.delete(row.id), rx.toast.success("Deleted.")],
                confirm_class="confirm-delete-row",
            ),
            align="center",
            spacing="3",
            width="100%",
        ),
        width="100%",
        class_name=rx.cond(row.favorite, "history-row is-favorite", "history-row"),
    )


def _filter_select(options, value, on_change, all_label: str, select_id: str) -> rx.Component:
    # The trigger shows the chosen value; its name says what it filters ("Blueprint filter").
    what = select_id.split("-")[0].capitalize()
    return rx.select.root(
        rx.select.trigger(id=select_id, min_width="160px", aria_label=f"{what} filter"),
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
                    aria_label="Search outputs and prompts",
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
        rx.select.root(
            rx.select.trigger(id="rating-filter", min_width="140px", aria_label="Rating"),
            rx.select.content(
                rx.select.item("Any rating", value="all"),
                rx.select.item("Thumbs up", value="up"),
                rx.select.item("Thumbs down", value="down"),
                rx.select.item("Winners", value="winner"),
                rx.select.item("Rated", value="rated"),
                rx.select.item("Not rated", value="unrated"),
            ),
            value=HistoryState.rating_filter,
            on_change=HistoryState.set_rating_filter,
        ),
        rx.hstack(
            rx.switch(
                checked=HistoryState.favorites_only,
                on_change=HistoryState.set_favorites_only,
                id="favorites-only",
            ),
            rx.el.label(rx.text("Favourites", size="2"), html_for="favorites-only"),
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


@page(urls.HISTORY, "History", HistoryState.load)
def history() -> rx.Component:
    return app_shell(
        page_header("History", "Every generation you have made, newest first."),
        _toolbar(),
        rx.cond(
            HistoryState.loaded & (HistoryState.rows.length() == 0),
            callout(
                rx.cond(
                    (HistoryState.search != "")
                    | (HistoryState.blueprint_filter != "all")
                    | (HistoryState.model_filter != "all")
                    | (HistoryState.rating_filter != "all")
                    | HistoryState.favorites_only,
                    "Nothing matches these filters.",
                    "Nothing here yet. Generate a prompt on the dashboard and it will appear here.",
                ),
                icon="inbox",
                id="history-empty",
            ),
        ),
        rx.text(
            HistoryState.count_label,
            size="2",
            color_scheme="gray",
            id="history-count",
        ),
        rx.vstack(
            rx.foreach(HistoryState.rows, _history_row),
            spacing="2",
            width="100%",
            id="history-list",
        ),
        rx.cond(
            HistoryState.has_more,
            rx.center(
                rx.button(
                    "Show more",
                    variant="soft",
                    on_click=HistoryState.load_more,
                    id="history-more",
                ),
                padding_y="1em",
            ),
        ),
    )


def _attachment(row: AttachmentRow) -> rx.Component:
    """A thumbnail (the image itself, cropped to a square) with its name and true size."""
    return rx.vstack(
        rx.image(
            src=row.src,
            alt=row.filename,
            width="120px",
            height="120px",
            object_fit="cover",
            border_radius="8px",
            border=f"1px solid {rx.color('gray', 5)}",
            class_name="detail-thumbnail",
        ),
        rx.text(
            row.filename, size="1", weight="medium", max_width="120px", trim="both", truncate=True
        ),
        rx.text(row.size, size="1", color_scheme="gray", class_name="detail-image-size"),
        spacing="1",
        class_name="detail-image",
        title=row.label,
    )


def _parameter(row: ParameterRow) -> rx.Component:
    return value_row(row.name, rx.text(row.value, white_space="pre-wrap"))


@page(urls.HISTORY_DETAIL, "Generation", HistoryDetailState.load)
def history_detail() -> rx.Component:
    detail = HistoryDetailState.detail
    return app_shell(
        rx.link(
            rx.hstack(rx.icon("arrow-left", size=16), rx.text("All history")), href=urls.HISTORY
        ),
        rx.cond(
            HistoryDetailState.loaded & ~HistoryDetailState.found,
            callout(
                "This generation does not exist or is not yours.",
                tone="error",
                icon="circle-x",
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
                value_rows(
                    value_row("Created", local_time(detail.created, long=True)),
                    value_row("Model", detail.model),
                    rx.cond(
                        HistoryDetailState.blueprint_version != "",
                        value_row(
                            "Blueprint version",
                            rx.link(
                                HistoryDetailState.blueprint_version,
                                href=HistoryDetailState.blueprint_versions_url,
                                id="detail-blueprint-version",
                            ),
                        ),
                    ),
                    value_row("Visual signature", detail.signature),
                    value_row("Key", HistoryDetailState.key_source),
                    value_row("Tokens", HistoryDetailState.tokens),
                    value_row("Latency", HistoryDetailState.latency),
                    value_row("Estimated cost", HistoryDetailState.cost),
                ),
                rx.heading("Inputs", size="4"),
                value_rows(
                    rx.foreach(HistoryDetailState.parameters, _parameter), id="detail-inputs"
                ),
                notice(HistoryDetailState.error_message, tone="error"),
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
                text_panel("Output", HistoryDetailState.output, "detail-output"),
                text_panel(
                    "Compiled prompt", HistoryDetailState.compiled_prompt, "detail-compiled"
                ),
                spacing="3",
                width="100%",
                align="start",
                margin_top="1em",
            ),
        ),
    )
