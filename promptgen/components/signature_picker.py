"""The visual signature picker: a labelled group of checkboxes (up to three), each card with
its preview image or palette swatch, a weight per pick, and, past a dozen signatures, search
and favourites.

Native checkboxes and selects, so Tab reaches every control and Space/arrow keys work as
the platform does; the focus ring is drawn around the whole card (assets/styles.css). The
controls carry no `name`, so they never enter the submitted form: the picks live in
SignaturePickerState.
"""

from __future__ import annotations

import reflex as rx

from promptgen.services.signatures import MAX_SIGNATURES, MAX_WEIGHT, MIN_WEIGHT
from promptgen.state.form_drafts import FormDraftState
from promptgen.state.signature_picker import Pick, PickerCard, SignaturePickerState

S = SignaturePickerState

# The search box sits inside the generator form; pointing it at no form keeps Enter in it
# from submitting (and generating).
_NO_FORM = "signature-search-no-form"
_CARD = "pg-signature-card signature-card"
_WEIGHTS = range(MIN_WEIGHT, MAX_WEIGHT + 1)


def _weight_label(weight: int) -> str:
    ends = {MIN_WEIGHT: " (subtle)", MAX_WEIGHT: " (strongest)"}
    return f"{weight}{ends.get(weight, '')}"


def _preview(card: PickerCard) -> rx.Component:
    return rx.cond(
        card.image_url != "",
        rx.image(
            src=card.image_url,
            alt="Preview of " + card.name,
            width="100%",
            height="72px",
            object_fit="cover",
            border_radius="6px",
            loading="lazy",
            class_name="signature-preview",
        ),
        rx.box(
            role="img",
            aria_label=card.name + " colour palette",
            background=card.swatch,
            width="100%",
            height="72px",
            border_radius="6px",
            class_name="signature-swatch",
        ),
    )


def _favorite_button(card: PickerCard) -> rx.Component:
    return rx.el.button(
        rx.icon(
            "star",
            size=16,
            fill=rx.cond(card.favorite, "currentColor", "none"),
        ),
        type="button",
        aria_pressed=rx.cond(card.favorite, "true", "false"),
        aria_label="Favourite " + card.name,
        on_click=S.toggle_favorite(card.id),
        class_name="pg-icon-toggle signature-favorite",
    )


def _card(card: PickerCard) -> rx.Component:
    checked = S.picked_ids.contains(card.id)
    return rx.box(
        rx.el.label(
            _preview(card),
            rx.hstack(
                rx.el.input(
                    type="checkbox",
                    checked=checked,
                    disabled=S.at_limit & ~checked,
                    on_change=S.toggle_signature(card.id),
                    aria_describedby="signature-help",
                    class_name="signature-checkbox",
                ),
                rx.text(card.name, weight="medium", size="2"),
                align="center",
                spacing="2",
            ),
            rx.text(card.description, size="1", color_scheme="gray"),
            class_name="pg-signature-label",
        ),
        rx.cond(S.show_search, _favorite_button(card)),
        class_name=rx.cond(checked, _CARD + " picked", _CARD),
        data_name=card.name,
    )


def _weight(pick: Pick) -> rx.Component:
    # The label wraps its select: no id, so the form does not try to submit it.
    return rx.hstack(
        rx.el.label(
            rx.el.span("Weight of " + pick.name, class_name="pg-weight-label"),
            rx.el.select(
                *[rx.el.option(_weight_label(w), value=str(w)) for w in _WEIGHTS],
                value=pick.weight.to_string(),
                on_change=lambda value: S.set_weight(pick.id, value),
                class_name="pg-native-select signature-weight",
                width="9em",
            ),
            class_name="pg-choice",
        ),
        rx.text(
            pick.share.to_string() + "%",
            size="2",
            color_scheme="gray",
            class_name="signature-share",
        ),
        rx.el.button(
            "Remove",
            type="button",
            on_click=S.toggle_signature(pick.id),
            aria_label="Remove " + pick.name,
            class_name="pg-link-button",
        ),
        align="center",
        spacing="3",
        wrap="wrap",
        class_name="signature-pick",
    )


def _search() -> rx.Component:
    return rx.hstack(
        rx.el.input(
            aria_label="Search signatures",
            type="search",
            placeholder="Search signatures",
            value=S.search,
            on_change=S.set_search.debounce(200),
            form=_NO_FORM,
            class_name="pg-native-select",
            width="16em",
        ),
        rx.el.label(
            rx.el.input(
                type="checkbox",
                checked=S.favorites_only,
                on_change=S.toggle_favorites_only,
                form=_NO_FORM,
            ),
            rx.text("Favourites only", size="2"),
            class_name="pg-choice",
        ),
        align="center",
        spacing="4",
        wrap="wrap",
    )


def signature_picker() -> rx.Component:
    """Shown only for blueprints that take a signature."""
    return rx.cond(
        S.selected_blueprint_takes_signature,
        rx.el.fieldset(
            rx.el.legend(rx.heading("Visual signature", size="4", as_="span")),
            rx.text(
                f"Optional. Pick up to {MAX_SIGNATURES} and weigh them to blend their styles.",
                size="1",
                color_scheme="gray",
                id="signature-help",
            ),
            rx.cond(S.show_search, _search()),
            rx.grid(
                rx.foreach(S.visible_cards, _card),
                columns=rx.breakpoints(initial="2", md="4"),
                spacing="2",
                width="100%",
                id="signature-grid",
            ),
            rx.cond(
                S.picks.length() > 0,
                rx.vstack(
                    rx.foreach(S.picks, _weight),
                    rx.cond(
                        S.mix_summary != "",
                        rx.text("Mix: ", S.mix_summary, size="2", id="signature-mix"),
                    ),
                    spacing="2",
                    width="100%",
                    id="signature-weights",
                ),
            ),
            rx.cond(
                S.picker_error != "",
                rx.text(
                    S.picker_error, color_scheme="red", size="2", role="alert", id="signature-error"
                ),
            ),
            class_name="pg-signature-fieldset",
            id="signature-picker",
        ),
    )


def clear_form_button() -> rx.Component:
    """Forget the draft and go back to the blueprint's defaults."""
    return rx.button(
        rx.icon("eraser", size=16),
        "Clear",
        type="button",
        size="3",
        variant="soft",
        color_scheme="gray",
        on_click=FormDraftState.clear_form,
        id="clear-form",
    )


def draft_notice() -> rx.Component:
    return rx.cond(
        FormDraftState.draft_notice != "",
        rx.text(FormDraftState.draft_notice, size="2", color_scheme="orange", role="status"),
    )
