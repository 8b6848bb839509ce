"""What customers read: plan cards state each enforced fact once, messages read as English."""

from __future__ import annotations

import pytest

from promptgen.services import billing, keys
from promptgen.services.catalog import ModelView, TierView
from promptgen.services.catalog_import import _a_number
from promptgen.state.public import to_plan_card


def _tier(slug: str, quota: int, days: int, monthly: int, yearly: int, features=()) -> TierView:
    return TierView(
        id=1,
        slug=slug,
        name=slug.title(),
        description="",
        monthly_quota=quota,
        retention_days=days,
        price_monthly_cents=monthly,
        price_yearly_cents=yearly,
        currency="usd",
        stripe_price_monthly_id=None,
        stripe_price_yearly_id=None,
        features=tuple(features),
    )


def _model(slug: str, provider: str, images: bool, tiers=()) -> ModelView:
    return ModelView(
        id=1,
        slug=slug,
        provider=provider,
        model_name=slug,
        display_name=slug.replace("-", " ").title(),
        description="",
        endpoint=None,
        supports_images=images,
        allowed_tiers=tuple(tiers),
    )


MODELS = [
    _model("offline", "offline", False),
    _model("flash", "gemini", True),
    _model("big", "openai", True, tiers=("pro",)),
]


def test_a_plan_card_lists_each_enforced_fact_once_and_keeps_the_catalogs_extras():
    free = to_plan_card(
        _tier(
            "free",
            25,
            7,
            0,
            0,
            ["25 AI generations a month", "7 days of history", "Bring your own API key"],
        ),
        MODELS,
    )
    assert free.features == [
        "25 AI generations a month",
        "7 days of history",
        "AI models: Flash",
        "Reference images (up to 4 per prompt)",  # Free may attach them: its model takes them
        "Unlimited offline compiles",
        "Bring your own API key",
    ]
    pro = to_plan_card(
        _tier("pro", 500, 365, 1200, 12000, ["Reference images", "Priority support"]), MODELS
    )
    assert pro.features == [
        "500 AI generations a month",
        "A full year of history",
        "Every AI model",
        "Reference images (up to 4 per prompt)",
        "Unlimited offline compiles",
        "Priority support",
    ]


def test_a_yearly_price_is_shown_per_month_with_the_yearly_bill():
    card = to_plan_card(_tier("pro", 500, 90, 1200, 12000), MODELS)
    assert (card.monthly_price, card.yearly_per_month, card.yearly_billed) == (
        "$12",
        "$10",
        "$120 billed yearly",
    )
    assert card.yearly_saving == "Save 17%"
    odd = to_plan_card(_tier("studio", 3000, 365, 3900, 39000), MODELS)
    assert odd.yearly_per_month == "$32.50"
    free = to_plan_card(_tier("free", 25, 7, 0, 0), MODELS)
    assert free.free and free.yearly_billed == ""


@pytest.mark.parametrize(
    ("provider", "article"), [("openai", "an OpenAI key"), ("gemini", "a Google Gemini key")]
)
def test_a_malformed_key_is_named_with_the_right_article(provider: str, article: str):
    with pytest.raises(keys.InvalidApiKey) as caught:
        keys.normalize_key(provider, "short")
    assert f"That does not look like {article} " in caught.value.message


def test_numbers_take_the_article_they_are_said_with():
    assert [_a_number(n) for n in (5, 8, 11, 18, 80, 100)] == [
        "a 5",
        "an 8",
        "an 11",
        "an 18",
        "an 80",
        "a 100",
    ]


def test_billing_off_is_said_in_customers_words():
    assert "configured" not in billing.NOT_CONFIGURED and "server" not in billing.NOT_CONFIGURED
