"""Plan cards, shared by the landing and pricing pages."""

from __future__ import annotations

import reflex as rx

from promptgen import urls
from promptgen.components.feedback import notice
from promptgen.components.shell import link_button
from promptgen.state.public import PlanCard, PublicState


def billing_switch() -> rx.Component:
    return rx.segmented_control.root(
        rx.segmented_control.item("Monthly", value="monthly"),
        rx.segmented_control.item("Yearly", value="yearly"),
        value=rx.cond(PublicState.yearly, "yearly", "monthly"),
        on_change=PublicState.set_billing_period,
        id="billing-period",
    )


# The feature lines: a real list for screen readers, without bullets or indent.
FEATURE_LIST = {
    "list_style": "none",
    "padding": "0",
    "margin": "0",
    "display": "grid",
    "gap": "0.4em",
}


def _plan_action(plan: PlanCard) -> rx.Component:
    """The one button at the foot of a card: what this visitor can do with this plan."""
    current = PublicState.signed_in & (PublicState.plan_slug == plan.slug)
    return rx.cond(
        current,
        rx.cond(
            plan.free,
            rx.button("Current plan", disabled=True, variant="soft", width="100%"),
            rx.button(
                "Manage billing",
                variant="soft",
                width="100%",
                on_click=PublicState.manage_billing,
                class_name="manage-billing",
            ),
        ),
        rx.cond(
            plan.free,
            rx.cond(
                PublicState.signed_in,
                link_button("Go to dashboard", urls.DASHBOARD, variant="soft", width="100%"),
                link_button("Start free", urls.SIGN_UP, variant="soft", width="100%"),
            ),
            rx.button(
                rx.cond(
                    PublicState.billing_enabled,
                    rx.cond(PublicState.signed_in, "Upgrade to " + plan.name, "Sign in to upgrade"),
                    "Paid plans open soon",
                ),
                disabled=~PublicState.billing_enabled,
                on_click=PublicState.choose_plan(plan.slug),
                width="100%",
                class_name="choose-plan",
                data_plan=plan.slug,
            ),
        ),
    )


def _price(plan: PlanCard) -> rx.Component:
    """Monthly: the price a month. Yearly: the price a month it comes to, and the bill."""
    return rx.vstack(
        rx.hstack(
            rx.text(
                rx.cond(PublicState.yearly, plan.yearly_per_month, plan.monthly_price),
                size="8",
                weight="bold",
                class_name="plan-price",
            ),
            rx.text("/ month", color_scheme="gray"),
            align="baseline",
            spacing="2",
        ),
        rx.text(
            rx.cond(PublicState.yearly & (plan.yearly_billed != ""), plan.yearly_billed, "\u00a0"),
            size="2",
            color_scheme="gray",
            class_name="plan-billed",
        ),
        spacing="0",
    )


def plan_card(plan: PlanCard) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.hstack(
                rx.heading(plan.name, size="5", as_="h2"),
                rx.cond(
                    PublicState.yearly & (plan.yearly_saving != ""),
                    rx.badge(plan.yearly_saving, color_scheme="green"),
                ),
                rx.cond(
                    PublicState.signed_in & (PublicState.plan_name == plan.name),
                    rx.badge("Your plan", variant="surface"),
                ),
                justify="between",
                align="center",
                width="100%",
            ),
            rx.text(plan.description, color_scheme="gray", size="2"),
            _price(plan),
            rx.separator(size="4"),
            rx.el.ul(
                rx.foreach(
                    plan.features,
                    lambda feature: rx.el.li(
                        rx.hstack(
                            rx.icon(
                                "check", size=16, color=rx.color("green", 11), aria_hidden="true"
                            ),
                            rx.text(feature, size="2"),
                            align="center",
                            spacing="2",
                        ),
                    ),
                ),
                class_name="plan-features",
                style={
                    "list_style": "none",
                    "padding": "0",
                    "margin": "0",
                    "display": "grid",
                    "gap": "0.4em",
                },
            ),
            # Pushes the action to the card's foot, so the buttons of a row line up.
            rx.box(flex_grow="1"),
            rx.box(_plan_action(plan), padding_top="0.5em", width="100%"),
            direction="column",
            gap="3",
            height="100%",
        ),
        width="100%",
        height="100%",
        class_name="plan-card",
    )


def billing_messages() -> rx.Component:
    return rx.fragment(
        notice(PublicState.billing_error, tone="error", id="billing-error"),
        notice(PublicState.billing_notice, id="billing-notice"),
    )


def plan_grid() -> rx.Component:
    return rx.grid(
        rx.foreach(PublicState.plans, plan_card),
        columns=rx.breakpoints(initial="1", sm="2", md="3"),
        spacing="4",
        width="100%",
    )
