"""What the pages print from plain values: prices, plan badges, and submitted forms."""

from __future__ import annotations

import pytest

from promptgen.blueprints import describe_fields
from promptgen.services.catalog import TierView
from promptgen.services.plans import plan_status_label
from promptgen.state.dashboard import MULTI_SEPARATOR, _form_field, parameters_from_form
from promptgen.state.public import to_plan_card


def _tier(monthly: int, yearly: int, currency: str = "usd") -> TierView:
    return TierView(
        id=1,
        slug="pro",
        name="Pro",
        description="",
        monthly_quota=1500,
        retention_days=365,
        price_monthly_cents=monthly,
        price_yearly_cents=yearly,
        currency=currency,
        stripe_price_monthly_id=None,
        stripe_price_yearly_id=None,
        features=("Everything",),
    )


@pytest.mark.parametrize(
    ("monthly", "yearly", "currency", "shown_monthly", "shown_yearly"),
    [
        (1200, 12000, "usd", "$12", "$120"),
        (999, 9990, "usd", "$9.99", "$99.90"),
        (0, 0, "eur", "€0", "€0"),
        (150000, 1500000, "gbp", "£1,500", "£15,000"),
        (500, 5000, "chf", "CHF 5", "CHF 50"),
    ],
)
def test_prices_print_whole_amounts_without_cents_and_name_the_currency(
    monthly, yearly, currency, shown_monthly, shown_yearly
) -> None:
    card = to_plan_card(_tier(monthly, yearly, currency))
    assert (card.monthly_price, card.yearly_price) == (shown_monthly, shown_yearly)


def test_a_yearly_discount_is_shown_as_a_rounded_saving() -> None:
    assert to_plan_card(_tier(1200, 12000)).yearly_saving == "Save 17%"
    assert to_plan_card(_tier(1200, 14400)).yearly_saving == ""  # no cheaper than monthly
    card = to_plan_card(_tier(0, 0))
    assert card.free and card.features[0] == "1,500 AI generations a month"


@pytest.mark.parametrize(
    ("status", "cancelling", "ends_on", "label"),
    [
        ("active", False, "", ""),
        ("trialing", False, "", "Trial"),
        ("active", True, "Dec 25, 2026", "Ends on Dec 25, 2026"),
        ("trialing", True, "Dec 25, 2026", "Ends on Dec 25, 2026"),
        ("past_due", True, "Dec 25, 2026", "Past due"),  # the payment problem comes first
        ("unpaid", False, "", "Unpaid"),
        ("paused", False, "", "Paused"),
        ("incomplete", False, "", "Payment incomplete"),
        ("active", True, "", ""),  # cancelling with no date yet says nothing
    ],
)
def test_the_plan_badge_says_what_needs_attention(status, cancelling, ends_on, label) -> None:
    assert plan_status_label(status=status, cancelling=cancelling, ends_on=ends_on) == label


SCHEMA = {
    "type": "object",
    "required": ["topic"],
    "properties": {
        "topic": {"type": "string", "title": "Topic", "maxLength": 80},
        "count": {"type": "integer", "title": "Count", "minimum": 1, "maximum": 5},
        "tone": {"type": "string", "title": "Tone", "enum": ["calm", "bold"]},
        "tags": {
            "type": "array",
            "title": "Tags",
            "items": {"type": "string", "enum": ["a", "b", "c"]},
        },
        "draft": {"type": "boolean", "title": "Draft"},
    },
}


def _fields():
    return [_form_field(spec, spec.default) for spec in describe_fields(SCHEMA)]


def test_a_submitted_form_becomes_parameter_values() -> None:
    form = {
        "topic": "Lamps",
        "count": "3",
        "tone": "bold",
        f"tags{MULTI_SEPARATOR}a": "on",
        f"tags{MULTI_SEPARATOR}c": "on",
        "draft": "on",
    }
    assert parameters_from_form(_fields(), form) == {
        "topic": "Lamps",
        "count": "3",  # text as typed: validation coerces and checks it
        "tone": "bold",
        "tags": ["a", "c"],
        "draft": True,
    }


def test_missing_and_unchecked_inputs_read_as_empty_not_absent() -> None:
    form = {f"tags{MULTI_SEPARATOR}b": "", "draft": "off", "unknown": "ignored"}
    assert parameters_from_form(_fields(), form) == {
        "topic": "",
        "count": "",
        "tone": "",
        "tags": [],
        "draft": False,
    }


def test_tags_keep_the_schema_order_not_the_form_order() -> None:
    form = {f"tags{MULTI_SEPARATOR}c": "on", f"tags{MULTI_SEPARATOR}a": "on"}
    assert parameters_from_form(_fields(), form)["tags"] == ["a", "c"]


def test_number_fields_hint_their_range() -> None:
    hints = {field.name: field.hint for field in _fields()}
    assert hints["count"] == "Between 1 and 5." and hints["topic"] == "Up to 80 characters."
