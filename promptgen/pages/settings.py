"""Account settings: plan and usage, email and password, and the user's own API keys."""

from __future__ import annotations

import reflex as rx

from promptgen import styles, urls
from promptgen.components.api_access import api_tokens_card, import_export_card
from promptgen.components.dialogs import confirm_dialog
from promptgen.components.feedback import notice
from promptgen.components.forms import post_form
from promptgen.components.layout import panel, value_row, value_rows
from promptgen.components.shell import app_shell, link_button, page_header
from promptgen.pages import page
from promptgen.state.settings import KeyRow, SettingsState


def _current_plan_panel() -> rx.Component:
    return panel(
        value_rows(
            value_row(
                "Email",
                rx.hstack(
                    rx.text(SettingsState.user_email, id="settings-email"),
                    rx.cond(
                        SettingsState.email_verified,
                        rx.badge("verified", color_scheme="green", id="email-status"),
                        rx.badge("not verified", color_scheme="amber", id="email-status"),
                    ),
                    rx.cond(
                        ~SettingsState.email_verified,
                        post_form(
                            "resend-verification-form",
                            urls.API_RESEND_VERIFICATION,
                            rx.button(
                                "Resend verification email",
                                type="submit",
                                size="1",
                                variant="soft",
                                id="resend-verification",
                            ),
                        ),
                    ),
                    align="center",
                    wrap="wrap",
                    spacing="2",
                ),
            ),
            value_row("Plan", SettingsState.plan_name),
            value_row(
                "Status",
                rx.cond(
                    SettingsState.plan_status_label != "",
                    SettingsState.plan_status_label,
                    SettingsState.plan_status,
                ),
                id="settings-status",
            ),
            value_row("This month", SettingsState.usage_label, id="settings-usage"),
            value_row("Count starts again", SettingsState.usage_resets_on, id="settings-resets"),
        ),
        notice(SettingsState.usage_note, id="usage-note", margin_top="1em"),
        notice(
            SettingsState.checkout_notice,
            icon="party-popper",
            id="checkout-notice",
            margin_top="1em",
        ),
        notice(
            SettingsState.billing_error,
            tone="error",
            margin_top="1em",
            id="settings-billing-error",
        ),
        rx.hstack(
            link_button("See plans", urls.PRICING, variant="soft"),
            rx.cond(
                SettingsState.plan_is_paid,
                rx.button(
                    "Manage billing",
                    variant="soft",
                    on_click=SettingsState.manage_billing,
                    id="settings-manage-billing",
                ),
            ),
            margin_top="1em",
        ),
        title="Account",
    )


def _password_input(name: str, input_id: str, placeholder: str, complete: str) -> rx.Component:
    return rx.input(
        type="password",
        name=name,
        id=input_id,
        placeholder=placeholder,
        aria_label=placeholder,
        auto_complete=complete,
        flex="1",
        min_width="200px",
    )


def _sign_in_card() -> rx.Component:
    return panel(
        notice(SettingsState.account_notice, tone="success", id="account-notice"),
        notice(SettingsState.account_error, tone="error", id="account-error"),
        rx.vstack(
            post_form(
                "change-email-form",
                urls.API_CHANGE_EMAIL,
                rx.flex(
                    rx.input(
                        type="email",
                        name="new_email",
                        id="new-email",
                        placeholder="New email",
                        aria_label="New email",
                        auto_complete="email",
                        flex="1",
                        min_width="200px",
                    ),
                    _password_input(
                        "password", "change-email-password", "Current password", "current-password"
                    ),
                    rx.button("Change email", type="submit", id="change-email"),
                    spacing="2",
                    wrap="wrap",
                    width="100%",
                ),
            ),
            post_form(
                "change-password-form",
                urls.API_CHANGE_PASSWORD,
                rx.flex(
                    _password_input(
                        "current_password",
                        "current-password",
                        "Current password",
                        "current-password",
                    ),
                    _password_input(
                        "new_password",
                        "new-password",
                        "New password (10+ characters)",
                        "new-password",
                    ),
                    rx.button("Change password", type="submit", id="change-password"),
                    spacing="2",
                    wrap="wrap",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
            margin_top="0.5em",
        ),
        title="Email and password",
        description=(
            "Both need your current password. A new email address is verified again; a new "
            "password signs out your other devices."
        ),
    )


def _key_row(row: KeyRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.provider_name),
        rx.table.cell(rx.code("…" + row.last_four)),
        rx.table.cell(row.added),
        rx.table.cell(row.last_used),
        rx.table.cell(
            rx.hstack(
                rx.button(
                    "Test key",
                    size="1",
                    variant="soft",
                    on_click=SettingsState.test_key(row.provider),
                    class_name="test-key",
                ),
                confirm_dialog(
                    rx.button(
                        "Delete",
                        size="1",
                        variant="soft",
                        color_scheme="red",
                        class_name="delete-key",
                    ),
                    title="Delete this key?",
                    description=(
                        "Past your monthly quota, generations stop until you add a key again."
                    ),
                    cancel_label="Keep it",
                    confirm_label="Delete key",
                    on_confirm=SettingsState.delete_key(row.provider),
                    confirm_class="confirm-delete-key",
                ),
                spacing="2",
            ),
        ),
        rx.table.cell(
            rx.text(SettingsState.test_results.get(row.provider, ""), size="1"),
            class_name="key-test-result",
        ),
        class_name="key-row",
        data_provider=row.provider,
    )


def _key_form() -> rx.Component:
    # A plain HTML form posting to /api/keys: the key never passes through Reflex state
    # or the websocket, and the input is not bound to any state var.
    return post_form(
        "key-form",
        "/api/keys",
        rx.flex(
            rx.el.select(
                rx.el.option("OpenAI", value="openai"),
                rx.el.option("Google Gemini", value="gemini"),
                name="provider",
                id="key-provider",
                aria_label="Provider",
                class_name="pg-native-select",
            ),
            rx.input(
                type="password",
                name="api_key",
                id="api-key-input",
                placeholder="Paste your API key",
                aria_label="API key",
                auto_complete="off",
                flex="1",
                min_width="220px",
            ),
            rx.button("Save key", type="submit", id="save-key"),
            spacing="2",
            wrap="wrap",
            width="100%",
        ),
        width="100%",
    )


def _keys_card() -> rx.Component:
    return panel(
        notice(SettingsState.key_notice, tone="success", id="key-notice"),
        notice(SettingsState.key_error, tone="error", id="key-error"),
        rx.cond(
            SettingsState.api_keys.length() > 0,
            rx.table.root(
                rx.table.header(
                    rx.table.row(
                        rx.table.column_header_cell("Provider"),
                        rx.table.column_header_cell("Key"),
                        rx.table.column_header_cell("Added"),
                        rx.table.column_header_cell("Last used"),
                        rx.table.column_header_cell(""),
                        rx.table.column_header_cell(""),
                    )
                ),
                rx.table.body(rx.foreach(SettingsState.api_keys, _key_row)),
                width="100%",
                margin_y="0.5em",
            ),
            rx.text("No keys saved.", size="2", color_scheme="gray", id="no-keys"),
        ),
        rx.box(_key_form(), margin_top="1em", width="100%"),
        title="Your API keys",
        description=(
            "Past your monthly quota, PromptGen uses your own key for that provider. Keys are "
            "encrypted at rest and never shown again; saving a key for a provider replaces the "
            "old one."
        ),
        overflow_x="auto",
    )


def _delete_card() -> rx.Component:
    return panel(
        notice(SettingsState.delete_error, tone="error", id="delete-error"),
        rx.form(
            rx.flex(
                rx.input(
                    type="password",
                    name="password",
                    id="delete-password",
                    placeholder="Your password",
                    aria_label="Your password",
                    auto_complete="current-password",
                    flex="1",
                    min_width="220px",
                ),
                rx.button(
                    "Delete my account", color_scheme="red", type="submit", id="delete-account"
                ),
                spacing="2",
                wrap="wrap",
                margin_top="0.5em",
            ),
            on_submit=SettingsState.delete_account,
            reset_on_submit=True,
        ),
        title="Delete account",
        description=(
            "Deletes your profile, history, images and API keys for good, and cancels any paid "
            "subscription first. Enter your password to confirm."
        ),
        danger=True,
    )


@page(urls.SETTINGS, "Settings", SettingsState.load)
def settings() -> rx.Component:
    return app_shell(
        page_header("Settings", "Your account, plan and API keys."),
        rx.vstack(
            _current_plan_panel(),
            _sign_in_card(),
            _keys_card(),
            api_tokens_card(),
            import_export_card(),
            _delete_card(),
            spacing="4",
            width="100%",
            max_width=styles.READING_WIDTH,
        ),
    )
