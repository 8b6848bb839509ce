"""Pages a visitor sees: landing and pricing."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.feedback import notice
from promptgen.components.plans import billing_messages, billing_switch, plan_grid
from promptgen.components.shell import link_button, page_header, public_shell
from promptgen.pages import page
from promptgen.state.public import PublicState, ShowcaseItem

STEPS = (
    (
        "layout-template",
        "Pick a blueprint",
        "Product photos, portraits, blog outlines, code "
        "reviews: each blueprint asks only for what matters.",
    ),
    (
        "palette",
        "Add a visual signature",
        "Curated aesthetics, from cinematic noir to nordic light, applied consistently.",
    ),
    (
        "wand-sparkles",
        "Refine with AI",
        "Gemini or OpenAI polishes the compiled prompt; the "
        "offline compiler works with no key at all.",
    ),
)


def _showcase_card(item: ShowcaseItem) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.cond(item.category != "", rx.badge(item.category, variant="soft")),
            rx.heading(item.name, size="3", as_="h3"),
            rx.text(item.description, size="2", color_scheme="gray"),
            align="start",
            spacing="2",
        ),
        width="100%",
    )


def _step(icon: str, title: str, text: str) -> rx.Component:
    return rx.vstack(
        rx.icon(icon, size=28, color=rx.color("accent", 9)),
        rx.heading(title, size="4", as_="h2"),
        rx.text(text, color_scheme="gray", size="2"),
        align="start",
        spacing="2",
    )


@page(urls.LANDING, "", PublicState.load)
def landing() -> rx.Component:
    return public_shell(
        rx.vstack(
            rx.vstack(
                notice(PublicState.account_notice, id="account-notice"),
                rx.heading(
                    "Prompts that look designed, because they are.",
                    size=rx.breakpoints(initial="7", md="9"),
                    text_align="center",
                ),
                rx.text(
                    "PromptGen turns a blueprint and a visual signature into an optimized "
                    "prompt, then has Gemini or OpenAI refine it. Your history is kept, your "
                    "keys stay yours.",
                    size="4",
                    color_scheme="gray",
                    text_align="center",
                    max_width="720px",
                ),
                rx.hstack(
                    link_button("Start free", urls.SIGN_UP, size="3"),
                    link_button("Sign in", urls.SIGN_IN, size="3", variant="soft"),
                    spacing="3",
                ),
                align="center",
                spacing="5",
                padding_y="4em",
                width="100%",
            ),
            rx.grid(
                *[_step(*s) for s in STEPS],
                columns=rx.breakpoints(initial="1", md="3"),
                spacing="6",
                width="100%",
            ),
            rx.heading("Blueprints", size="6", margin_top="2em", as_="h2"),
            rx.grid(
                rx.foreach(PublicState.blueprints, _showcase_card),
                columns=rx.breakpoints(initial="1", sm="2", md="3"),
                spacing="4",
                width="100%",
                id="landing-blueprints",
            ),
            rx.heading("Visual signatures", size="6", margin_top="2em", as_="h2"),
            rx.grid(
                rx.foreach(PublicState.signatures, _showcase_card),
                columns=rx.breakpoints(initial="2", md="4"),
                spacing="4",
                width="100%",
            ),
            rx.hstack(
                rx.heading("Plans", size="6", as_="h2"),
                billing_switch(),
                justify="between",
                align="center",
                width="100%",
                margin_top="2em",
            ),
            plan_grid(),
            rx.text(
                "PromptGen — build prompts worth keeping.",
                size="1",
                color_scheme="gray",
                padding_y="3em",
            ),
            spacing="4",
            width="100%",
        )
    )


@page(urls.PRICING, "Pricing", PublicState.load)
def pricing() -> rx.Component:
    return public_shell(
        page_header("Pricing", "Every plan includes the offline Blueprint compiler."),
        rx.hstack(billing_switch(), justify="end", width="100%", margin_bottom="1em"),
        billing_messages(),
        plan_grid(),
    )
