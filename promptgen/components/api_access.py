"""Settings' "API tokens" and "Import and export" cards, and a history entry's share panel."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.forms import post_form
from promptgen.components.share_link import share_link_panel
from promptgen.services.api_tokens import MAX_NAME_LENGTH, SCOPE_GENERATE, SCOPE_READ
from promptgen.state.api_access import ApiTokensState, ShareState, TokenRow


def _token_row(row: TokenRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.name),
        rx.table.cell(rx.code(row.prefix)),
        rx.table.cell(row.scope),
        rx.table.cell(row.created),
        rx.table.cell(row.last_used),
        rx.table.cell(
            rx.button(
                "Revoke",
                size="1",
                color_scheme="red",
                variant="soft",
                on_click=ApiTokensState.revoke(row.id),
                aria_label="Revoke " + row.name,
            )
        ),
    )


def _token_form() -> rx.Component:
    return post_form(
        "token-form",
        urls.API_TOKENS,
        rx.flex(
            rx.input(
                name="name",
                placeholder="Token name, e.g. my-script",
                max_length=MAX_NAME_LENGTH,
                required=True,
                id="token-name",
                aria_label="Token name",
            ),
            rx.el.select(
                rx.el.option("Read", value=SCOPE_READ),
                rx.el.option("Read and generate", value=SCOPE_GENERATE),
                name="scope",
                id="token-scope",
                aria_label="What the token may do",
            ),
            rx.button("Create token", type="submit", id="create-token"),
            gap="2",
            wrap="wrap",
            align="center",
        ),
    )


def api_tokens_card() -> rx.Component:
    return rx.card(
        rx.heading("API tokens", size="4"),
        rx.text(
            "Personal tokens for the PromptGen API (",
            rx.link("reference", href=urls.API_DOCS),
            "). A token is shown once when you create it; only a hash is kept. A read token "
            "lists blueprints and history; a read-and-generate token can also generate, using "
            "your quota like the app.",
            size="2",
            color_scheme="gray",
            margin_y="0.5em",
        ),
        rx.cond(
            ApiTokensState.token_notice != "",
            rx.callout(ApiTokensState.token_notice, icon="check", color_scheme="green"),
        ),
        rx.cond(
            ApiTokensState.token_error != "",
            rx.callout(
                ApiTokensState.token_error,
                icon="triangle-alert",
                color_scheme="red",
                id="token-error",
            ),
        ),
        rx.cond(
            ApiTokensState.tokens.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Name"),
                        rx.table.column_header_cell("Token"),
                        rx.table.column_header_cell("May"),
                        rx.table.column_header_cell("Created"),
                        rx.table.column_header_cell("Last used"),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(ApiTokensState.tokens, _token_row)),
                width="100%",
                id="token-table",
            ),
            rx.text("No tokens yet.", size="2", color_scheme="gray", id="no-tokens"),
        ),
        rx.box(_token_form(), margin_top="1em", width="100%"),
        id="api-tokens",
        width="100%",
        overflow_x="auto",
        on_mount=ApiTokensState.load,
    )


def import_export_card() -> rx.Component:
    return rx.card(
        rx.heading("Import and export", size="4"),
        rx.text(
            "Download your blueprints (every version) and your history as one JSON file, and "
            "import such a file into this account. Import also takes Langfuse prompts (JSON) "
            "and {{variable}} text prompts (.txt, .md): each variable becomes a text field.",
            size="2",
            color_scheme="gray",
            margin_y="0.5em",
        ),
        rx.flex(
            rx.link(
                rx.button("Export everything", variant="soft"),
                href=urls.API_EXPORT,
                id="export-link",
            ),
            rx.el.form(
                rx.el.input(
                    type="file",
                    name="file",
                    accept=".json,.txt,.md,application/json,text/plain",
                    id="import-file",
                    aria_label="File to import",
                ),
                rx.button("Import", type="submit", id="import-submit"),
                action=urls.API_IMPORT,
                method="post",
                enc_type="multipart/form-data",
                id="import-form",
            ),
            gap="3",
            wrap="wrap",
            align="center",
        ),
        id="import-export",
        width="100%",
    )


def share_panel() -> rx.Component:
    """A history entry's public link."""
    return share_link_panel(
        url=ShareState.share_url,
        include_images=ShareState.include_images,
        error=ShareState.share_error,
        share=ShareState.share,
        stop=ShareState.stop_sharing,
        subject="generation",
        start_label="Share a public link",
        on_mount=ShareState.load,
    )
