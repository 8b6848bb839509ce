"""Landing and pricing pages: the catalog as visitors see it."""

from __future__ import annotations

import dataclasses

import reflex as rx

from promptgen.services import catalog
from promptgen.state.base import AuthState, run_service


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
    yearly_saving: str
    quota: str
    retention: str
    features: list[str]


def _money(cents: int, currency: str) -> str:
    symbol = {"usd": "$", "eur": "€", "gbp": "£"}.get(currency.lower(), currency.upper() + " ")
    amount = cents / 100
    return f"{symbol}{amount:,.0f}" if cents % 100 == 0 else f"{symbol}{amount:,.2f}"


def plan_card(tier: catalog.TierView) -> PlanCard:
    saving = ""
    full_year = tier.price_monthly_cents * 12
    if tier.price_yearly_cents and full_year > tier.price_yearly_cents:
        saving = f"Save {round(100 * (full_year - tier.price_yearly_cents) / full_year)}%"
    return PlanCard(
        slug=tier.slug,
        name=tier.name,
        description=tier.description,
        monthly_price=_money(tier.price_monthly_cents, tier.currency),
        yearly_price=_money(tier.price_yearly_cents, tier.currency),
        yearly_saving=saving,
        quota=f"{tier.monthly_quota:,} AI generations a month",
        retention=f"History kept {tier.retention_days} days",
        features=list(tier.features),
    )


class PublicState(AuthState):
    blueprints: list[ShowcaseItem] = []
    signatures: list[ShowcaseItem] = []
    plans: list[PlanCard] = []
    yearly: bool = False

    @rx.event
    async def load(self):
        await self._refresh_user()
        blueprint_views = await run_service(catalog.list_blueprints)
        signature_views = await run_service(catalog.list_signatures)
        tiers = await run_service(catalog.list_tiers)
        self.blueprints = [ShowcaseItem(b.name, b.category, b.description) for b in blueprint_views]
        self.signatures = [ShowcaseItem(s.name, "", s.description) for s in signature_views]
        self.plans = [plan_card(t) for t in tiers]

    @rx.event
    def set_billing_period(self, value: str | list[str]):
        self.yearly = value == "yearly"
