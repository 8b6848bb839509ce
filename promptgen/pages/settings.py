"""Account settings: plan and usage, email and password, and the user's own API keys."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.api_access import api_tokens_card, import_export_card
from promptgen.components.forms import post_form
from promptgen.components.shell import app_shell, page_header
from promptgen.state.settings import KeyRow, SettingsState


def _current_plan_panel() -> rx.Component:
    return rx.card(
        rx.heading("Account", size="4", margin_bottom="0.5em"),
        rx.data_list.root(
            rx.data_list.item(
                rx.data_list.label("Email"),
                rx.data_list.value(
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
                    )
                ),
            ),
            rx.data_list.item(
                rx.data_list.label("Plan"), rx.data_list.value(SettingsState.plan_name)
            ),
            rx.data_list.item(
                rx.data_list.label("Status"),
                rx.data_list.value(
                    rx.cond(
                        SettingsState.plan_status_label != "",
                        SettingsState.plan_status_label,
                        SettingsState.plan_status,
                    ),
                    id="settings-status",
                ),
            ),
            rx.data_list.item(
                rx.data_list.label("This month"),
                rx.data_list.value(SettingsState.usage_label, id="settings-usage"),
            ),
            rx.data_list.item(
                rx.data_list.label("Count starts again"),
                rx.data_list.value(SettingsState.usage_resets_on, id="settings-resets"),
            ),
        ),
        rx.cond(
            SettingsState.usage_note != "",
            rx.callout(SettingsState.usage_note, icon="info", id="usage-note", margin_top="1em"),
        ),
        rx.cond(
            SettingsState.checkout_notice != "",
            rx.callout(
                SettingsState.checkout_notice,
                icon="party-popper",
                id="checkout-notice",
                margin_top="1em",
            ),
        ),
        rx.cond(
            SettingsState.billing_error != "",
            rx.callout(
                SettingsState.billing_error,
                icon="triangle-alert",
                color_scheme="red",
                margin_top="1em",
                id="settings-billing-error",
            ),
        ),
        rx.hstack(
            rx.link(rx.button("See plans", variant="soft"), href=urls.PRICING),
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
        width="100%",
    )


def _password_input(name: str, input_id: str, placeholder: str, complete: str) -> rx.Component:
    return rx.input(
        type="password",
        name=name,
        id=input_id,
        placeholder=placeholder,
        auto_complete=complete,
        flex="1",
        min_width="200px",
    )


def _sign_in_card() -> rx.Component:
    return rx.card(
        rx.heading("Email and password", size="4"),
        rx.text(
            "Both need your current password. A new email address is verified again; a new "
            "password signs out your other devices.",
            size="2",
            color_scheme="gray",
            margin_y="0.5em",
        ),
        rx.cond(
            SettingsState.account_notice != "",
            rx.callout(
                SettingsState.account_notice,
                icon="check",
                color_scheme="green",
                id="account-notice",
            ),
        ),
        rx.cond(
            SettingsState.account_error != "",
            rx.callout(
                SettingsState.account_error,
                icon="triangle-alert",
                color_scheme="red",
                id="account-error",
            ),
        ),
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
        width="100%",
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
                rx.alert_dialog.root(
                    rx.alert_dialog.trigger(
                        rx.button(
                            "Delete",
                            size="1",
                            variant="soft",
                            color_scheme="red",
                            class_name="delete-key",
                        )
                    ),
                    rx.alert_dialog.content(
                        rx.alert_dialog.title("Delete this key?"),
                        rx.alert_dialog.description(
                            "Past your monthly quota, generations stop until you add a key again."
                        ),
                        rx.hstack(
                            rx.alert_dialog.cancel(rx.button("Keep it", variant="soft")),
                            rx.alert_dialog.action(
                                rx.button(
                                    "Delete key",
                                    color_scheme="red",
                                    on_click=SettingsState.delete_key(row.provider),
                                    class_name="confirm-delete-key",
                                )
                            ),
                            justify="end",
                            spacing="3",
                            margin_top="1em",
                        ),
                    ),
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
                class_name="pg-native-select",
            ),
            rx.input(
                type="password",
                name="api_key",
                id="api-key-input",
                placeholder="Paste your API key",
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
    return rx.card(
        rx.heading("Your API keys", size="4"),
        rx.text(
            "Past your monthly quota, PromptGen uses your own key for that provider. Keys are "
            "encrypted at rest and never shown again; saving a key for a provider replaces the "
            "old one.",
            size="2",
            color_scheme="gray",
            margin_y="0.5em",
        ),
        rx.cond(
            SettingsState.key_notice != "",
            rx.callout(
                SettingsState.key_notice, icon="check", color_scheme="green", id="key-notice"
            ),
        ),
        rx.cond(
            SettingsState.key_error != "",
            rx.callout(
                SettingsState.key_error, icon="triangle-alert", color_scheme="red", id="key-error"
            ),
        ),
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
        width="100%",
        overflow_x="auto",
    )


def _delete_card() -> rx.Component:
    return rx.card(
        rx.heading("Delete account", size="4", color_scheme="red"),
        rx.text(
            "Deletes your profile, history, images and API keys for good, and cancels any paid "
            "subscription first. Enter your password to confirm.",
            size="2",
            color_scheme="gray",
            margin_y="0.5em",
        ),
        rx.cond(
            SettingsState.delete_error != "",
            rx.callout(
                SettingsState.delete_error,
                icon="triangle-alert",
                color_scheme="red",
                id="delete-error",
            ),
        ),
        rx.form(
            rx.flex(
                rx.input(
                    type="password",
                    name="password",
                    id="delete-password",
                    placeholder="Your password",
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
        width="100%",
    )


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
            max_width="860px",
        ),
    )
