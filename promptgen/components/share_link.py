"""A public share link's panel: make it (with or without the reference images), copy it, or
end it. History entries and finished comparisons both use it; the page a link opens is
server-rendered (api/share_page.py)."""

from __future__ import annotations

from typing import Any

import reflex as rx


def share_link_panel(
    *,
    url: Any,
    include_images: Any,
    error: Any,
    share: Any,
    stop: Any,
    subject: str,
    start_label: str,
    id_prefix: str = "",
    size: str = "2",
    **box_props: Any,
) -> rx.Component:
    """`url`, `include_images` and `error` are state vars; `share` is a handler taking
    whether to include images; `stop` ends the link. Element ids are `id_prefix` + share,
    share-with-images, share-url, stop-sharing, share-error."""
    return rx.box(
        rx.cond(
            url != "",
            rx.vstack(
                rx.text(f"Anyone with this link can see this {subject} (read-only):", size="2"),
                rx.hstack(
                    rx.input(
                        value=url,
                        read_only=True,
                        id=f"{id_prefix}share-url",
                        width="100%",
                        aria_label=f"{subject.capitalize()} share link",
                    ),
                    rx.button(
                        rx.icon("copy", size=16),
                        "Copy link",
                        variant="soft",
                        on_click=[rx.set_clipboard(url), rx.toast.success("Link copied")],
                    ),
                    rx.button(
                        "Stop sharing",
                        color_scheme="red",
                        variant="soft",
                        on_click=stop,
                        id=f"{id_prefix}stop-sharing",
                    ),
                    width="100%",
                ),
                rx.text(
                    rx.cond(
                        include_images,
                        "Reference images are shown on the shared page.",
                        "Reference images are not shown.",
                    ),
                    size="1",
                    color_scheme="gray",
                ),
                width="100%",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("share-2", size=16),
                    start_label,
                    variant="soft",
                    size=size,
                    on_click=share(False),
                    id=f"{id_prefix}share",
                ),
                rx.button(
                    "Share with images",
                    variant="ghost",
                    size=size,
                    on_click=share(True),
                    id=f"{id_prefix}share-with-images",
                ),
                align="center",
            ),
        ),
        rx.cond(
            error != "",
            rx.callout(
                error,
                icon="triangle-alert",
                color_scheme="red",
                size=size,
                id=f"{id_prefix}share-error",
            ),
        ),
        width="100%",
        **box_props,
    )
