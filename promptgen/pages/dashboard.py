"""Dashboard, the studio: pick a blueprint, fill its form while the compiled prompt previews
beside it, pick a model that says what it needs, generate.

Every picker is a radio group (Tab reaches it, arrow keys move within it, the focus ring shows);
focus and scroll requests from the state go through assets/studio.js (no eval under the CSP).
"""

from __future__ import annotations

import reflex as rx

from promptgen import styles, urls
from promptgen.components.compare_entry import compare_entry
from promptgen.components.draft_form import draft_form
from promptgen.components.feedback import callout, notice
from promptgen.components.layout import labelled_upload
from promptgen.components.quota_warning import quota_warning
from promptgen.components.schema_form import schema_fields
from promptgen.components.shell import app_shell, page_header
from promptgen.components.signature_picker import (
    clear_form_button,
    draft_notice,
    signature_picker,
)
from promptgen.pages import page
from promptgen.services import studio
from promptgen.services.images import MAX_IMAGE_BYTES, MAX_IMAGES
from promptgen.state.dashboard import (
    GENERATOR_ID,
    RESULT_ID,
    UPLOAD_ID,
    BlueprintCard,
    DashboardState,
    GenerationState,
    ModelOption,
    OwnBlueprintCard,
)
from promptgen.state.form_drafts import FormDraftState


def _copy(text: rx.Var, label: str, button_id: str) -> rx.Component:
    # Client-side actions bound in the page, so no eval is needed.
    return rx.button(
        rx.icon("copy", size=16),
        label,
        variant="soft",
        type="button",
        on_click=[rx.set_clipboard(text), rx.toast.success("Copied to clipboard")],
        id=button_id,
    )


def _picker_heading(text: str, heading_id: str) -> rx.Component:
    return rx.heading(text, size="4", id=heading_id)


def _blueprint_card(card: BlueprintCard) -> rx.Component:
    return rx.radio_cards.item(
        rx.vstack(
            rx.text(card.category, size="1", color_scheme="gray", weight="medium"),
            rx.text(card.name, size="3", weight="bold"),
            rx.text(card.description, size="2", color_scheme="gray"),
            spacing="1",
            align="start",
            width="100%",
        ),
        value=card.id.to_string(),
        class_name="blueprint-card",
        data_name=card.name,
    )


def _own_blueprint_card(card: OwnBlueprintCard) -> rx.Component:
    return rx.radio_cards.item(
        rx.vstack(
            rx.hstack(
                rx.text(card.name, size="3", weight="bold"),
                rx.badge(card.version, variant="soft"),
                align="center",
            ),
            rx.text(card.description, size="2", color_scheme="gray"),
            spacing="1",
            align="start",
            width="100%",
        ),
        value=card.id,
        class_name="own-blueprint-card",
        data_name=card.name,
    )


def _own_blueprints() -> rx.Component:
    """The picker's own section: the user's blueprints (services/user_blueprints), one radio
    group reachable by Tab like the catalog's."""
    return rx.vstack(
        rx.hstack(
            _picker_heading("My blueprints", "own-blueprints-heading"),
            rx.link("Manage", href=urls.BLUEPRINTS, size="2"),
            rx.link("New", href=urls.BLUEPRINT_NEW, size="2"),
            spacing="3",
            align="center",
        ),
        rx.cond(
            DashboardState.own_blueprints.length() > 0,
            rx.radio_cards.root(
                rx.foreach(DashboardState.own_blueprints, _own_blueprint_card),
                value=DashboardState.selected_own_blueprint_id,
                on_value_change=DashboardState.choose_own_blueprint,
                columns=rx.breakpoints(initial="1", sm="2", lg="3"),
                gap="3",
                width="100%",
                aria_labelledby="own-blueprints-heading",
            ),
            rx.text("None yet: build one from New.", size="2", color_scheme="gray"),
        ),
        width="100%",
        spacing="2",
        id="own-blueprints",
    )


def blueprint_picker(selected: rx.Var, on_choose) -> rx.Component:
    """Every blueprint as one radio group (the compare page uses it too): `selected` is the
    chosen id, `on_choose` the handler taking the new one (an int)."""
    return rx.vstack(
        _picker_heading("Blueprint", "blueprint-heading"),
        rx.radio_cards.root(
            rx.foreach(
                DashboardState.blueprint_groups,
                lambda group: rx.foreach(group.cards, _blueprint_card),
            ),
            value=selected.to_string(),
            # The radio's value is the id as text; the event guard accepts digits for an int.
            on_value_change=lambda value: on_choose(value.to(int)),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"),
            gap="3",
            width="100%",
            aria_labelledby="blueprint-heading",
            id="blueprints",
        ),
        spacing="2",
        width="100%",
    )


def _model_card(model: ModelOption) -> rx.Component:
    return rx.radio_cards.item(
        rx.vstack(
            rx.hstack(
                rx.text(model.label, weight="bold", size="2"),
                rx.match(
                    model.access,
                    (
                        studio.NEEDS_KEY,
                        rx.badge("needs your key", color_scheme="amber", variant="soft"),
                    ),
                    (studio.UPGRADE, rx.badge(model.plan_needed, variant="soft")),
                    rx.fragment(),
                ),
                spacing="2",
                align="center",
                wrap="wrap",
            ),
            rx.text(model.description, size="1", color_scheme="gray"),
            spacing="1",
            align="start",
            width="100%",
        ),
        value=model.id,
        disabled=model.access == studio.UPGRADE,
        class_name="model-card",
        data_model=model.label,
        data_access=model.access,
    )


def _model_picker() -> rx.Component:
    return rx.vstack(
        _picker_heading("Model", "model-heading"),
        rx.radio_cards.root(
            rx.foreach(DashboardState.models, _model_card),
            value=DashboardState.selected_model_id,
            on_value_change=DashboardState.choose_model,
            columns=rx.breakpoints(initial="1", sm="2"),
            gap="2",
            width="100%",
            aria_labelledby="model-heading",
            id="model-select",
        ),
        rx.cond(
            DashboardState.has_upgrade_models,
            rx.text(
                "Models marked with a plan come with it. ",
                rx.link("See plans and upgrade", href=urls.PRICING, id="upgrade-link"),
                size="1",
                color_scheme="gray",
            ),
        ),
        rx.cond(
            DashboardState.selected_model_needs_key,
            rx.text(
                "This model runs on your own key. ",
                rx.link("Add a key in Settings", href=urls.SETTINGS, id="needs-key-link"),
                size="1",
                color_scheme="gray",
            ),
        ),
        spacing="2",
        width="100%",
    )


def _reference_images() -> rx.Component:
    return rx.cond(
        DashboardState.model_accepts_images,
        rx.vstack(
            rx.text("Reference images", weight="medium"),
            labelled_upload(
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
                label="Reference images",
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


def _generate_error() -> rx.Component:
    return rx.cond(
        DashboardState.error != "",
        callout(
            DashboardState.error,
            rx.cond(
                DashboardState.error_needs_key,
                rx.link(" Open Settings →", href=urls.SETTINGS, id="add-key-link", weight="bold"),
            ),
            rx.cond(
                DashboardState.preview_prompt != "",
                rx.text(
                    "Your compiled prompt is kept beside the form: copy it to use elsewhere.",
                    size="2",
                ),
            ),
            tone="error",
            id="generate-error",
        ),
    )


def _generate_buttons() -> rx.Component:
    return rx.hstack(
        rx.button(
            rx.icon("wand-sparkles", size=16),
            rx.cond(GenerationState.generating, "Generating…", "Generate"),
            type="submit",
            size="3",
            disabled=GenerationState.generating,
            id="generate",
        ),
        rx.cond(
            GenerationState.generating,
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
        rx.cond(
            GenerationState.generating,
            rx.spinner(size="3", id="progress", aria_label="Generating"),
        ),
        clear_form_button(),
        align="center",
        spacing="3",
    )


def _generator() -> rx.Component:
    return rx.cond(
        (DashboardState.selected_blueprint_id == 0)
        & (DashboardState.selected_own_blueprint_id == ""),
        callout("Pick a blueprint above to start.", icon="mouse-pointer-click"),
        draft_form(
            rx.vstack(
                rx.heading(DashboardState.selected_blueprint_name, size="5"),
                rx.text(DashboardState.selected_blueprint_description, color_scheme="gray"),
                notice(DashboardState.form_notice, icon="history", size="1", id="form-notice"),
                schema_fields(DashboardState.fields, DashboardState.field_errors),
                signature_picker(),
                _model_picker(),
                _reference_images(),
                _generate_error(),
                _generate_buttons(),
                draft_notice(),
                spacing="4",
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
            aria_label="Blueprint inputs",
        ),
    )


def _text_card(
    title: rx.Component,
    copy: rx.Component,
    note: rx.Component,
    text: rx.Var,
    **box: object,
) -> rx.Component:
    """A card of long text with its title, a Copy button and a line above the text."""
    return rx.card(
        rx.vstack(
            rx.hstack(title, rx.spacer(), copy, width="100%", align="center"),
            note,
            rx.box(rx.text(text, white_space="pre-wrap", size="2"), **box, **styles.PANEL),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _preview_panel() -> rx.Component:
    return _text_card(
        rx.heading("Prompt preview", size="4", id="preview-heading"),
        _copy(DashboardState.preview_prompt, "Copy prompt", "copy-prompt"),
        rx.text(
            "Compiled offline as you type. Nothing is sent until you generate.",
            size="1",
            color_scheme="gray",
        ),
        rx.cond(
            DashboardState.preview_prompt != "",
            DashboardState.preview_prompt,
            "Fill in the form to see the prompt.",
        ),
        id="preview-prompt",
        aria_labelledby="preview-heading",
        role="region",
    )


def _result_panel() -> rx.Component:
    return rx.cond(
        (GenerationState.result_output != "") | GenerationState.generating,
        _text_card(
            rx.hstack(
                rx.heading("Result", size="4"),
                rx.badge(GenerationState.result_model, variant="soft"),
                align="center",
            ),
            _copy(GenerationState.result_output, "Copy", "copy-result"),
            notice(GenerationState.result_notice, size="1", id="result-notice"),
            GenerationState.result_output,
            id="result-output",
            aria_busy=rx.cond(GenerationState.generating, "true", "false"),
        ),
    )


def _focus_request() -> rx.Component:
    """Read by assets/studio.js: focus or scroll to `data-target` at each new nonce."""
    return rx.el.div(
        id="pg-focus-request",
        data_target=GenerationState.focus_target,
        data_mode=GenerationState.focus_mode,
        data_nonce=GenerationState.focus_nonce.to_string(),
        hidden=True,
    )


@page(urls.DASHBOARD, "Dashboard", DashboardState.load)
def dashboard() -> rx.Component:
    return app_shell(
        page_header("Dashboard", "Build a prompt from a blueprint and a visual signature."),
        quota_warning(),
        compare_entry(),
        _focus_request(),
        _own_blueprints(),
        blueprint_picker(DashboardState.selected_blueprint_id, DashboardState.choose_blueprint),
        rx.grid(
            rx.box(_generator(), id=GENERATOR_ID, width="100%", min_width="0"),
            rx.vstack(
                # The result, once there, comes first: on phones it is scrolled to.
                rx.box(_result_panel(), id=RESULT_ID, width="100%"),
                _preview_panel(),
                spacing="4",
                width="100%",
                min_width="0",
                # On wide screens the preview and result stay beside the form as it scrolls.
                position=rx.breakpoints(initial="static", lg="sticky"),
                top="5em",
                align_self="start",
            ),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="6",
            width="100%",
            margin_top="1.5em",
        ),
    )
