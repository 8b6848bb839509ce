"""A form that reports its values as the user types, so the dashboard can keep a draft.

`on_change` (debounce it) and `on_blur` receive the form's named values, like `on_submit`
does: React's change and blur events bubble from every field to the form, so no field needs
its own handler. The values are read by code compiled into the page (no eval; see the CSP in
api/edge.py). A hidden stamp names the blueprint and form version the values belong to
(state/form_drafts.py).
"""

from __future__ import annotations

from typing import Any

import reflex as rx
from reflex_base.event import EventHandler
from reflex_components_radix.primitives.form import Form  # type: ignore[import-untyped]


def _form_values(event: rx.Var) -> tuple[rx.Var[dict[str, Any]]]:
    return (rx.Var(f"Object.fromEntries(new FormData({event}.currentTarget))").to(dict[str, Any]),)


class DraftForm(Form):
    # Reflex reads the argument spec from the subscript at runtime; its stubs take none.
    on_change: EventHandler[_form_values]  # type: ignore[type-arg]
    on_blur: EventHandler[_form_values]  # type: ignore[type-arg]


def draft_form(*children: rx.Component, stamp: rx.Var | str, **props: Any) -> rx.Component:
    from promptgen.state.form_drafts import FORM_STAMP_FIELD

    return DraftForm.create(
        rx.el.input(type="hidden", name=FORM_STAMP_FIELD, value=stamp),
        *children,
        **props,
    )
