"""Landing and pricing pages: the catalog as visitors see it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import reflex as rx

from promptgen.db import run_in_admin_session
from promptgen.errors import UserFacingError
from promptgen.services import billing, catalog, checkout
from promptgen.services.images import MAX_IMAGES
from promptgen.state.base import AuthState


@dataclasses.dataclass
class ShowcaseItem:
    name: str
    category: str
    description: str


@dataclasses.dataclass
class PlanCard:
    slug: str
    name: str
    description: str
    monthly_price: str
    yearly_price: str
    # A yearly plan's price per month ("$10"), and what is billed ("$120 billed yearly").
    yearly_per_month: str
    yearly_billed: str
    yearly_saving: str
    # Every line of the card, each fact once: quota, history, models and images from what
    # the app enforces, then the catalog's own extras (support, ...).
    features: list[str]
    free: bool = False


def _money(cents: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower(), currency.upper() + " ")
    amount = cents / 100
    return f"{symbol}{amount:,.0f}" if cents % 100 == 0 else f"{symbol}{amount:,.2f}"


# Catalog feature lines that restate a fact the card already states from the enforced
# numbers (quota, history, models, images, offline compiles) are left out, so nothing is
# listed twice or contradicts what the app does.
_ENFORCED_TOPICS = ("generation", "history", "model", "image", "offline", "gemini", "gpt")


def plan_features(tier: catalog.TierView, models: list[catalog.ModelView]) -> list[str]:
    """The card's lines for `tier`, from the limits and model rules the app applies."""
    usable = [m for m in models if m.allowed_for(tier.slug) and m.provider != "offline"]
    ai_models = [m for m in models if m.provider != "offline"]
    days = tier.retention_days
    lines = [
        f"{tier.monthly_quota:,} AI generations a month",
        "A full year of history" if days == 365 else f"{days:,} days of history",
    ]
    if usable and len(usable) == len(ai_models):
        lines.append("Every AI model")
    elif usable:
        lines.append("AI models: " + ", ".join(m.display_name for m in usable))
    if any(m.supports_images for m in usable):
        lines.append(f"Reference images (up to {MAX_IMAGES} per prompt)")
    if any(m.provider == "offline" for m in models):
        lines.append("Unlimited offline compiles")
    for feature in tier.features:
        if not any(topic in feature.lower() for topic in _ENFORCED_TOPICS) and feature not in lines:
            lines.append(feature)
    return lines


def to_plan_card(tier: catalog.TierView, models: Sequence[catalog.ModelView] = ()) -> PlanCard:
    saving = ""
    full_year = tier.price_monthly_cents * 12
    if tier.price_yearly_cents and full_year > tier.price_yearly_cents:
        saving = f"Save {round(100 * (full_year - tier.price_yearly_cents) / full_year)}%"
    yearly = tier.price_yearly_cents
    return PlanCard(
        slug=tier.slug,
        name=tier.name,
        description=tier.description,
        monthly_price=_money(tier.price_monthly_cents, tier.currency),
        yearly_price=_money(yearly, tier.currency),
        yearly_per_month=_money(round(yearly / 12), tier.currency),
        yearly_billed=f"{_money(yearly, tier.currency)} billed yearly" if yearly else "",
        yearly_saving=saving,
        features=plan_features(tier, list(models)),
        free=tier.price_monthly_cents == 0 and tier.price_yearly_cents == 0,
    )


class PublicState(AuthState):
    blueprints: list[ShowcaseItem] = []
    signatures: list[ShowcaseItem] = []
    plans: list[PlanCard] = []
    yearly: bool = False
    billing_enabled: bool = False
    billing_error: str = ""
    billing_notice: str = ""
    account_notice: str = ""

    @rx.event
    async def load(self):
        page = await self._load_page(catalog.public_catalog)
        if page.data is None:
            return
        blueprint_views, signature_views, tiers, models = page.data
        self.blueprints = [ShowcaseItem(b.name, b.category, b.description) for b in blueprint_views]
        self.signatures = [ShowcaseItem(s.name, "", s.description) for s in signature_views]
        self.plans = [to_plan_card(t, models) for t in tiers]
        self.billing_enabled = billing.billing_configured()
        self.billing_error = ""
        query = self.router.url.query_parameters
        cancelled = query.get("checkout") == "cancelled"
        self.billing_notice = "Checkout was cancelled; nothing was charged." if cancelled else ""
        deleted = query.get("account") == "deleted"
        self.account_notice = "Your account has been deleted." if deleted else ""

    @rx.event
    def set_billing_period(self, value: str | list[str]):
        self.yearly = value == "yearly"

    async def _billing_redirect(self, service, *, with_email: bool = False, **kwargs):
        """Send the browser to the Stripe page `service` returns (it raises BillingError,
        including when billing is not configured, with the message to show).

        Billing columns are written by the billing service only, in the admin session (as
        the webhook does); the user comes from the session cookie, never from the browser.
        """
        user = await self._require_user()
        if user is None:
            return self._to_sign_in()
        try:
            if with_email:
                kwargs["email"] = user.email
                # Its own transaction: a failed Checkout must not lose the new customer.
                await run_in_admin_session(
                    checkout.ensure_customer, user_id=user.user_id, email=user.email
                )
            url = await run_in_admin_session(service, user_id=user.user_id, **kwargs)
        except UserFacingError as exc:
            self.billing_error = exc.message
            return None
        self.billing_error = ""
        return rx.redirect(url)

    @rx.event
    async def choose_plan(self, tier_slug: str):
        """Upgrade: off to Stripe Checkout (or the portal when already subscribed)."""
        return await self._billing_redirect(
            checkout.start_checkout,
            with_email=True,
            tier_slug=str(tier_slug),
            interval="year" if self.yearly else "month",
        )

    @rx.event
    async def manage_billing(self):
        return await self._billing_redirect(checkout.open_portal)
