"""Page chrome: the public top bar and the signed-in app shell."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.react_router.dom import ReactRouterLink  # type: ignore[import-untyped]

from promptgen import styles, urls
from promptgen.components.feedback import callout
from promptgen.components.forms import post_natively
from promptgen.components.layout import column
from promptgen.components.quota_warning import quota_badge_warning
from promptgen.state.base import AuthState

NAV_LINKS = (
    ("Dashboard", urls.DASHBOARD, "layout-dashboard"),
    ("History", urls.HISTORY, "history"),
    ("Blueprints", urls.BLUEPRINTS, "blocks"),
    ("Usage", urls.USAGE, "chart-column"),
    ("Settings", urls.SETTINGS, "settings"),
    ("Pricing", urls.PRICING, "credit-card"),
)


def logo() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon("sparkles", size=22, color=rx.color("accent", 9)),
            rx.heading("PromptGen", size="5", weight="bold"),
            align="center",
            spacing="2",
        ),
        href=urls.LANDING,
        underline="none",
        color="inherit",
    )


SIGN_OUT_FORM = "sign-out-form"


def sign_out_form() -> rx.Component:
    """The hidden form behind every "Sign out": a POST that ends the session and clears the
    HttpOnly cookie (scripts cannot), then reloads the page as nobody."""
    return rx.el.form(action="/api/auth/sign-out", method="post", id=SIGN_OUT_FORM, hidden=True)


def submit_sign_out() -> rx.event.EventSpec:
    return post_natively(SIGN_OUT_FORM)


def plan_badge() -> rx.Component:
    return rx.badge(
        rx.text(AuthState.plan_name, weight="bold", id="plan-name"),
        rx.cond(
            AuthState.plan_status_label != "",
            rx.text("· " + AuthState.plan_status_label, id="plan-status"),
        ),
        rx.text(AuthState.usage_label, id="plan-usage"),
        quota_badge_warning(),
        variant="soft",
        size="2",
        color_scheme=AuthState.plan_badge_color,
        id="plan-badge",
    )


def payment_banner() -> rx.Component:
    """Shown on every signed-in page while the plan's payment needs the user."""
    return rx.cond(
        AuthState.payment_notice != "",
        callout(
            rx.text(AuthState.payment_notice, id="payment-notice"),
            rx.button(
                "Update your payment method",
                size="1",
                margin_top="0.5em",
                on_click=AuthState.open_billing_portal,
                id="update-payment-method",
            ),
            rx.cond(
                AuthState.billing_portal_error != "",
                rx.text(AuthState.billing_portal_error, color_scheme="red", size="2"),
            ),
            tone="error",
            icon="credit-card",
            margin_bottom="1em",
            id="payment-banner",
        ),
    )


def _nav_link(label: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(icon, size=16), rx.text(label), spacing="1", align="center"),
        href=href,
        color="inherit",
        underline="none",
        weight="medium",
    )


def _mobile_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(rx.icon("menu"), variant="ghost", aria_label="Open menu"),
        ),
        rx.menu.content(
            *[rx.menu.item(label, on_click=rx.redirect(href)) for label, href, _ in NAV_LINKS],
            rx.menu.separator(),
            rx.menu.item(AuthState.user_email, disabled=True),
            rx.menu.item("Sign out", on_click=submit_sign_out(), color="red"),
        ),
    )


def theme_toggle() -> rx.Component:
    return rx.color_mode.button(variant="ghost", aria_label="Switch light or dark theme")


def _top_bar(*items: rx.Component, **props) -> rx.Component:
    """The header row of every page, on the page column's width."""
    return rx.box(
        rx.hstack(
            *items,
            align="center",
            spacing="4",
            width="100%",
            max_width=styles.CONTENT_WIDTH,
            margin_x="auto",
            padding_x="1em",
            padding_y="0.75em",
        ),
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        **props,
    )


def app_navbar() -> rx.Component:
    return _top_bar(
        logo(),
        # Six links, the badge and the account fit from 1024 px; below that, the menu.
        rx.desktop_only(
            rx.hstack(*[_nav_link(*link) for link in NAV_LINKS], spacing="4"),
        ),
        rx.spacer(),
        plan_badge(),
        rx.desktop_only(
            rx.hstack(
                rx.text(
                    AuthState.user_email,
                    size="2",
                    color_scheme="gray",
                    id="user-email",
                    title=AuthState.user_email,
                    # A long address is cut with an ellipsis rather than widen the page.
                    max_width="14em",
                    overflow="hidden",
                    text_overflow="ellipsis",
                    white_space="nowrap",
                ),
                rx.button(
                    "Sign out",
                    variant="soft",
                    size="2",
                    on_click=submit_sign_out(),
                    id="sign-out",
                ),
                align="center",
                spacing="3",
            ),
        ),
        theme_toggle(),
        rx.mobile_and_tablet(_mobile_menu()),
        background=rx.color("gray", 1),
        role="banner",
        position="sticky",
        top="0",
        z_index="10",
    )


def app_shell(*children: rx.Component) -> rx.Component:
    """The signed-in layout; shows a spinner until the session is confirmed."""
    return rx.box(
        app_navbar(),
        sign_out_form(),
        rx.cond(
            AuthState.signed_in,
            rx.el.main(column(payment_banner(), *children)),
            rx.center(rx.spinner(size="3"), padding="4em"),
        ),
        min_height="100vh",
    )


def link_button(label: str, href: str, **props) -> rx.Component:
    """A link styled as a button: one focusable <a> (a button inside a link would be two
    nested controls, which screen readers announce badly)."""
    # The router's own link (client-side navigation) without Radix's link styles, which
    # would override the button's text colour.
    return rx.button(ReactRouterLink.create(label, to=href), as_child=True, **props)


def _public_menu() -> rx.Component:
    """The phone's header menu: what does not fit beside the main call to action."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(rx.icon("menu"), variant="ghost", aria_label="Open menu"),
        ),
        rx.menu.content(
            rx.menu.item("Pricing", on_click=rx.redirect(urls.PRICING)),
            rx.cond(
                AuthState.signed_in,
                rx.menu.item("Open dashboard", on_click=rx.redirect(urls.DASHBOARD)),
                rx.menu.item("Sign in", on_click=rx.redirect(urls.SIGN_IN)),
            ),
        ),
    )


def public_navbar() -> rx.Component:
    return _top_bar(
        logo(),
        rx.spacer(),
        rx.tablet_and_desktop(
            rx.hstack(
                rx.link("Pricing", href=urls.PRICING, color="inherit", underline="none"),
                rx.cond(
                    AuthState.signed_in,
                    link_button("Open dashboard", urls.DASHBOARD),
                    rx.hstack(
                        link_button("Sign in", urls.SIGN_IN, variant="soft"),
                        link_button("Get started", urls.SIGN_UP),
                        spacing="2",
                    ),
                ),
                align="center",
                spacing="4",
            ),
        ),
        # A phone has room for the logo, one call to action, the menu and the theme toggle.
        rx.mobile_only(
            rx.hstack(
                rx.cond(
                    AuthState.signed_in,
                    link_button("Dashboard", urls.DASHBOARD, size="2"),
                    link_button("Get started", urls.SIGN_UP, size="2"),
                ),
                _public_menu(),
                align="center",
                spacing="3",
            ),
        ),
        theme_toggle(),
        role="banner",
    )


def public_shell(*children: rx.Component) -> rx.Component:
    return rx.box(
        public_navbar(),
        rx.el.main(column(*children)),
        min_height="100vh",
    )


def page_header(title: str, subtitle: str = "") -> rx.Component:
    return rx.vstack(
        rx.heading(title, size="7"),
        rx.text(subtitle, color_scheme="gray") if subtitle else rx.fragment(),
        spacing="1",
        margin_bottom="1em",
        align="start",
    )
