"""Layout pieces: page column, panels, label/value rows, text panels, labelled fields."""

from __future__ import annotations

import json
from typing import Any

import reflex as rx
from reflex.vars import Var

from promptgen import styles


def column(*children: rx.Component, **props: Any) -> rx.Component:
    """The centred page column every page (and the header) is laid out in."""
    props.setdefault("padding", "1em")
    return rx.box(*children, width="100%", max_width=styles.CONTENT_WIDTH, margin_x="auto", **props)


def panel(
    *children: rx.Component,
    title: str = "",
    description: str = "",
    danger: bool = False,
    **props: Any,
) -> rx.Component:
    """A card with an optional heading and a grey line explaining it."""
    head: list[rx.Component] = []
    if title:
        head.append(rx.heading(title, size="4", color_scheme="red" if danger else None))
    if description:
        head.append(rx.text(description, size="2", color_scheme="gray", margin_y="0.5em"))
    props.setdefault("width", "100%")
    return rx.card(*head, *children, **props)


def value_row(label: str, value: rx.Component | rx.Var | str, **props: Any) -> rx.Component:
    """One label/value line of a `value_rows` list; props (an id) go on the value."""
    return rx.data_list.item(rx.data_list.label(label), rx.data_list.value(value, **props))


def value_rows(*rows: rx.Component, **props: Any) -> rx.Component:
    """Label/value lines (account details, a generation's facts)."""
    return rx.data_list.root(*rows, **props)


def text_panel(title: str, text: rx.Var, panel_id: str) -> rx.Component:
    """A heading over long text kept as written (line breaks too): outputs and prompts."""
    return rx.vstack(
        rx.heading(title, size="4"),
        rx.box(rx.text(text, white_space="pre-wrap", size="2"), id=panel_id, **styles.PANEL),
        width="100%",
        align="start",
    )


def field_label(label: str | rx.Var, html_for: str | rx.Var) -> rx.Component:
    """A real <label> for the control `html_for` names (rx.text(as_="label") would turn
    html_for into CSS and label nothing)."""
    return rx.el.label(rx.text(label, weight="medium", size="2"), html_for=html_for)


def labelled(label: str, field: rx.Component, html_for: str) -> rx.Component:
    """A field under its visible <label>."""
    return rx.vstack(
        field_label(label, html_for),
        field,
        spacing="1",
        width="100%",
    )


def centered_card(*children: rx.Component) -> rx.Component:
    """The lone card of the sign-in, sign-up and recovery pages (the page's main landmark)."""
    return rx.el.main(
        rx.center(
            rx.card(
                *children,
                width="100%",
                max_width=styles.CARD_WIDTH,
                size="4",
            ),
            min_height="100vh",
            padding="1em",
        )
    )


def local_time(iso: rx.Var | str, long: bool = False) -> rx.Component:
    """A time (ISO with offset) shown in the viewer's own time zone: the browser formats it,
    so no time zone has to be sent to the server. Hovering shows the full date and offset."""
    return rx.moment(
        date=iso,
        local=True,
        format="dddd D MMMM YYYY, HH:mm" if long else "D MMM YYYY, HH:mm",
        with_title=True,
        title_format="dddd D MMMM YYYY, HH:mm:ss [UTC]Z",
        element="time",
        class_name="local-time",
    )


def labelled_upload(*children: rx.Component, label: str, **props: Any) -> rx.Component:
    """`rx.upload.root` whose hidden file input carries an accessible name.

    Reflex renders the input as `<input {...getInputProps()}>` with no way to pass props, so
    screen readers (and axe) find an unnamed control. react-dropzone merges whatever object is
    given to getInputProps, so the call is rewritten to pass the aria-label.
    """
    upload = rx.upload.root(*children, **props)
    for zone in upload.children:
        for child in zone.children:
            specials = getattr(child, "special_props", None)
            if type(child).__name__ == "Input" and specials:
                call = specials[0]
                name = str(call).removesuffix("()")
                child.special_props = [
                    Var(
                        _js_expr=f"{name}({{'aria-label': {json.dumps(label)}}})",
                        _var_type=None,
                        _var_data=call._get_all_var_data(),
                    )
                ]
    return upload
