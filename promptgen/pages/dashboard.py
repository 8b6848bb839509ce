"""Dashboard: blueprint cards, the parameter form, signature gallery, model, result."""

from __future__ import annotations

import reflex as rx

from promptgen import styles, urls
from promptgen.components.compare_entry import compare_entry
from promptgen.components.draft_form import draft_form
from promptgen.components.feedback import callout, notice
from promptgen.components.quota_warning import quota_warning
from promptgen.components.schema_form import schema_fields
from promptgen.components.shell import app_shell, page_header
from promptgen.components.signature_picker import (
    clear_form_button,
    draft_notice,
    signature_picker,
)
from promptgen.pages import page
from promptgen.services.images import MAX_IMAGE_BYTES, MAX_IMAGES
from promptgen.state.dashboard import (
    UPLOAD_ID,
    BlueprintCard,
    BlueprintGroup,
    DashboardState,
    ModelOption,
)
from promptgen.state.form_drafts import FormDraftState


def _selectable_card(*children: rx.Component, selected: rx.Var, on_click, **props) -> rx.Component:
    return rx.card(
        *children,
        on_click=on_click,
        cursor="pointer",
        width="100%",
        border=rx.cond(selected, f"2px solid {rx.color('accent', 9)}", "2px solid transparent"),
        background=rx.cond(selected, rx.color("accent", 3), rx.color("gray", 2)),
        _hover={"background": rx.color("accent", 2)},
        **props,
    )


def _blueprint_card(card: BlueprintCard) -> rx.Component:
    return _selectable_card(
        rx.vstack(
            rx.heading(card.name, size="3"),
            rx.text(card.description, size="2", color_scheme="gray"),
            spacing="1",
            align="start",
        ),
        selected=DashboardState.selected_blueprint_id == card.id,
        on_click=DashboardState.choose_blueprint(card.id),
        class_name="blueprint-card",
        data_name=card.name,
    )


def _blueprint_group(group: BlueprintGroup) -> rx.Component:
    return rx.vstack(
        rx.text(group.category, weight="bold", size="2", color_scheme="gray"),
        rx.grid(
            rx.foreach(group.cards, _blueprint_card),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"),
            spacing="3",
            width="100%",
        ),
        width="100%",
        spacing="2",
    )


def _model_option(model: ModelOption) -> rx.Component:
    return rx.select.item(model.label, value=model.id)


def _reference_images() -> rx.Component:
    return rx.cond(
        DashboardState.model_accepts_images,
        rx.vstack(
            rx.text("Reference images", weight="medium"),
            rx.upload.root(
                rx.vstack(
                    rx.icon("image-plus", size=20, color=rx.color("gray", 10)),
                    rx.text(
                        "Drop up to 4 PNG, JPEG or WebP images (5 MB each), or click to choose.",
                        size="1",
                        color_scheme="gray",
                    ),
                    align="center",
                    spacing="1",
                ),
                id=UPLOAD_ID,
                multiple=True,
                # Refused in the browser with a message, before the server's caps refuse it.
                max_files=MAX_IMAGES,
                max_size=MAX_IMAGE_BYTES,
                on_drop=DashboardState.add_images(rx.upload_files(upload_id=UPLOAD_ID)),
                border=f"1px dashed {rx.color('gray', 7)}",
                border_radius="8px",
                padding="1em",
                width="100%",
            ),
            rx.foreach(
                DashboardState.image_names,
                lambda name, index: rx.hstack(
                    rx.image(
                        src=DashboardState.image_urls[index],
                        alt="",  # the file name beside it says what it is
                        width="40px",
                        height="40px",
                        object_fit="cover",
                        border_radius="6px",
                        class_name="attached-thumbnail",
                    ),
                    rx.text(name, size="1", class_name="attached-image"),
                    rx.icon_button(
                        rx.icon("x", size=12),
                        size="1",
                        variant="ghost",
                        type="button",
                        on_click=DashboardState.remove_image(index),
                        aria_label="Remove image",
                    ),
                    align="center",
                ),
            ),
            width="100%",
            spacing="2",
        ),
    )


def _result_panel() -> rx.Component:
    return rx.cond(
        (DashboardState.result_output != "") | DashboardState.generating,
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading("Result", size="4"),
                    rx.badge(DashboardState.result_model, variant="soft"),
                    rx.spacer(),
                    rx.button(
                        rx.icon("copy", size=16),
                        "Copy",
                        variant="soft",
                        # Client-side actions: compiled into the page, so no eval is needed.
                        on_click=[
                            rx.set_clipboard(DashboardState.result_output),
                            rx.toast.success("Copied to clipboard"),
                        ],
                        id="copy-result",
                    ),
                    width="100%",
                    align="center",
                ),
                notice(DashboardState.result_notice, size="1", id="result-notice"),
                rx.box(
                    rx.text(DashboardState.result_output, white_space="pre-wrap", size="2"),
                    id="result-output",
                    **styles.PANEL,
                ),
                spacing="3",
                width="100%",
            ),
            width="100%",
        ),
    )


def _generator() -> rx.Component:
    return rx.cond(
        DashboardState.selected_blueprint_id == 0,
        callout("Pick a blueprint above to start.", icon="mouse-pointer-click"),
        draft_form(
            rx.vstack(
                rx.heading(DashboardState.selected_blueprint_name, size="5"),
                rx.text(DashboardState.selected_blueprint_description, color_scheme="gray"),
                notice(DashboardState.form_notice, icon="history", size="1", id="form-notice"),
                schema_fields(DashboardState.fields, DashboardState.field_errors),
                signature_picker(),
                rx.hstack(
                    rx.text("Model", weight="medium"),
                    rx.select.root(
                        rx.select.trigger(placeholder="Choose a model", id="model-select"),
                        rx.select.content(rx.foreach(DashboardState.models, _model_option)),
                        value=DashboardState.selected_model_id,
                        on_change=DashboardState.choose_model,
                    ),
                    align="center",
                    spacing="3",
                    margin_top="1em",
                ),
                _reference_images(),
                rx.cond(
                    DashboardState.error != "",
                    callout(
                        DashboardState.error,
                        rx.cond(
                            DashboardState.error_needs_key,
                            rx.link(
                                " Open Settings →",
                                href=urls.SETTINGS,
                                id="add-key-link",
                                weight="bold",
                            ),
                        ),
                        tone="error",
                        id="generate-error",
                    ),
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("wand-sparkles", size=16),
                        rx.cond(DashboardState.generating, "Generating…", "Generate"),
                        type="submit",
                        size="3",
                        disabled=DashboardState.generating,
                        id="generate",
                    ),
                    rx.cond(
                        DashboardState.generating,
                        rx.button(
                            rx.icon("square", size=14),
                            "Cancel",
                            type="button",
                            size="3",
                            variant="soft",
                            color_scheme="gray",
                            on_click=DashboardState.cancel,
                            id="cancel",
                        ),
                    ),
                    rx.cond(DashboardState.generating, rx.spinner(size="3", id="progress")),
                    clear_form_button(),
                    align="center",
                    spacing="3",
                ),
                draft_notice(),
                spacing="3",
                width="100%",
                align="start",
            ),
            on_submit=DashboardState.generate,
            # A draft is kept as the user types (state/form_drafts.py): after a pause, and
            # whenever a field loses focus.
            on_change=FormDraftState.save_draft.debounce(800),
            on_blur=FormDraftState.save_draft,
            stamp=DashboardState.selected_blueprint_id.to_string()
            + ":"
            + DashboardState.form_version.to_string(),
            reset_on_submit=False,
            no_validate=True,
            # A new key gives a fresh form (and fresh defaults) for each chosen blueprint.
            key=DashboardState.form_version,
            width="100%",
        ),
    )


@page(urls.DASHBOARD, "Dashboard", DashboardState.load)
def dashboard() -> rx.Component:
    return app_shell(
        page_header("Dashboard", "Build a prompt from a blueprint and a visual signature."),
        quota_warning(),
        compare_entry(),
        rx.vstack(
            rx.foreach(DashboardState.blueprint_groups, _blueprint_group),
            spacing="4",
            width="100%",
            id="blueprints",
        ),
        rx.divider(margin_y="1.5em"),
        _generator(),
        rx.box(_result_panel(), margin_top="1.5em", width="100%"),
    )
