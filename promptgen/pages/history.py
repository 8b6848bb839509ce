"""History list and one generation in full."""

from __future__ import annotations

import reflex as rx

from promptgen import routes
from promptgen.components.shell import app_shell, page_header
from promptgen.state.history import HistoryDetailState, HistoryRow, HistoryState, ParameterRow


def _status_badge(status: rx.Var) -> rx.Component:
    return rx.badge(
        status,
        color_scheme=rx.match(status, ("succeeded", "green"), ("failed", "red"), "gray"),
        variant="soft",
    )


def _history_row(row: HistoryRow) -> rx.Component:
    return rx.link(
        rx.card(
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
            ),
            width="100%",
            class_name="history-row",
        ),
        href=routes.HISTORY + "/" + row.id,
        underline="none",
        color="inherit",
        width="100%",
    )


def history() -> rx.Component:
    return app_shell(
        page_header("History", "Every generation you have made, newest first."),
        rx.cond(
            HistoryState.loaded & (HistoryState.rows.length() == 0),
            rx.callout(
                "Nothing here yet. Generate a prompt on the dashboard and it will appear here.",
                icon="inbox",
            ),
        ),
        rx.vstack(
            rx.foreach(HistoryState.rows, _history_row),
            spacing="2",
            width="100%",
            id="history-list",
        ),
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
            rx.hstack(rx.icon("arrow-left", size=16), rx.text("All history")), href=routes.HISTORY
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
                rx.hstack(
                    rx.spacer(),
                    rx.button(
                        rx.icon("copy", size=16),
                        "Copy output",
                        variant="soft",
                        on_click=HistoryDetailState.copy_output,
                    ),
                    width="100%",
                ),
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
