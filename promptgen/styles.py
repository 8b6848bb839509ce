"""Design tokens: the one place for widths, the theme (and so the accent colour) and panels.

Components take their colours from the theme: `rx.color("accent", n)` and Radix's default
colour scheme follow `ACCENT`, so changing it here recolours the app.
"""

from __future__ import annotations

import reflex as rx

ACCENT = "violet"
GRAY = "slate"
THEME = rx.theme(accent_color=ACCENT, gray_color=GRAY, radius="large")

CONTENT_WIDTH = "1200px"  # the page column, header included
READING_WIDTH = "860px"  # forms and settings read better narrower
CARD_WIDTH = "420px"  # the sign-in and recovery cards

# A quiet inset box for long text (outputs, prompts) inside a card.
PANEL = {
    "padding": "1em",
    "background": rx.color("gray", 2),
    "border_radius": "8px",
    "width": "100%",
}
