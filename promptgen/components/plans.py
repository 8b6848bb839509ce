"""Plan cards, shared by the landing and pricing pages."""

from __future__ import annotations

import reflex as rx

from promptgen.components.feedback import notice
from promptgen.state.public import PlanCard, PublicState


def billing_switch() -> rx.Component:
    return rx.segmented_control.root(
        rx.segmented_control.item("Monthly", value="monthly"),
        rx.segmented_control.item("Yearly", value="yearly"),
        value=rx.cond(PublicState.yearly, "yearly", "monthly"),
        on_change=PublicState.set_billing_period,
        id="billing-period",
    )


def plan_card(plan: PlanCard) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(plan.name, size="5"),
                rx.cond(
                    PublicState.yearly & (plan.yearly_saving != ""),
                    rx.badge(plan.yearly_saving, color_scheme="green"),
                ),
                justify="between",
                width="100%",
            ),
            rx.text(plan.description, color_scheme="gray", size="2"),
            rx.hstack(
                rx.heading(
                    rx.cond(PublicState.yearly, plan.yearly_price, plan.monthly_price), size="8"
                ),
                rx.text(rx.cond(PublicState.yearly, "/ year", "/ month"), color_scheme="gray"),
                align="baseline",
                spacing="2",
            ),
            rx.text(plan.quota, weight="medium"),
            rx.text(plan.retention, size="2", color_scheme="gray"),
            rx.separator(),
            rx.vstack(
                rx.foreach(
                    plan.features,
                    lambda feature: rx.hstack(
                        rx.icon("check", size=16, color=rx.color("green", 9)),
                        rx.text(feature, size="2"),
                        align="center",
                    ),
                ),
                spacing="1",
            ),
            rx.cond(
                PublicState.signed_in & (PublicState.plan_name == plan.name),
                rx.hstack(
                    rx.badge("Your current plan", size="2"),
                    rx.cond(
                        ~plan.free,
                        rx.button(
                            "Manage billing",
                            size="1",
                            variant="soft",
                            on_click=PublicState.manage_billing,
                            class_name="manage-billing",
                        ),
                    ),
                    align="center",
                ),
                rx.cond(
                    ~plan.free,
                    rx.button(
                        rx.cond(
                            PublicState.billing_enabled,
                            rx.cond(
                                PublicState.signed_in,
                                "Upgrade to " + plan.name,
                                "Sign in to upgrade",
                            ),
                            "Billing is not configured on this server",
                        ),
                        disabled=~PublicState.billing_enabled,
                        on_click=PublicState.choose_plan(plan.slug),
                        width="100%",
                        class_name="choose-plan",
                        data_plan=plan.slug,
                    ),
                ),
            ),
            spacing="3",
            align="start",
        ),
        width="100%",
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
