"""One vocabulary: user-facing errors share one base; stored strings have one spelling."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from promptgen.blueprints import SchemaError
from promptgen.errors import UserFacingError
from promptgen.models import KeySource, PromptStatus
from promptgen.providers.base import PROVIDER_NAMES, ProviderName, key_rejected
from promptgen.services.accounts import AccountError, InvalidCredentials, TooManyRequests
from promptgen.services.billing import BillingError
from promptgen.services.catalog_import import CatalogError, CatalogFileError
from promptgen.services.generation import FailureKind, GenerationError
from promptgen.services.history import key_source_label
from promptgen.services.images import ImageRejected
from promptgen.services.keys import InvalidApiKey
from promptgen.services.plans import FREE_SLUG, PlanSummary
from promptgen.services.recovery import InvalidLink


@pytest.mark.parametrize(
    "error",
    [
        AccountError("Nope.", field="email"),
        InvalidCredentials(),
        TooManyRequests(90),
        InvalidLink(),
        BillingError("Billing is down."),
        CatalogError("blueprints[0]: bad"),
        CatalogFileError("not JSON"),
        GenerationError("Fix the inputs.", field_errors={"topic": "Required."}),
        ImageRejected("cat.gif is not a PNG, JPEG or WebP image."),
        InvalidApiKey("That does not look like an OpenAI key."),
        SchemaError("field 'x' has no type", field="x"),
        key_rejected("OpenAI"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_domain_error_is_a_user_facing_error_whose_text_is_its_message(error) -> None:
    assert isinstance(error, UserFacingError)
    assert error.message and str(error) == error.message


def test_errors_that_were_value_errors_still_are() -> None:
    # Callers that catch ValueError (pydantic validators, parsers) keep working.
    for error in (CatalogError("x"), ImageRejected("x"), InvalidApiKey("x"), SchemaError("x")):
        assert isinstance(error, ValueError)


def test_field_names_the_input_when_there_is_one() -> None:
    assert AccountError("Taken.", field="email").field == "email"
    assert BillingError("Down.").field is None
    assert SchemaError("bad", field="topic").field == "topic"


def test_a_rate_limit_message_counts_whole_minutes() -> None:
    assert TooManyRequests(61).message == (
        "Too many attempts from your network. Try again in 2 minutes."
    )
    assert str(TooManyRequests(30)).endswith("Try again in 1 minute.")


def test_stored_values_keep_their_spelling() -> None:
    # These strings are in the database: renaming a member must not change them.
    assert [s.value for s in PromptStatus] == ["pending", "succeeded", "failed", "cancelled"]
    assert [s.value for s in KeySource] == ["platform", "own_key", "offline"]
    assert [p.value for p in ProviderName] == ["gemini", "openai", "offline"]
    assert PROVIDER_NAMES["openai"] == "OpenAI" and ProviderName.OFFLINE not in PROVIDER_NAMES


def test_only_quota_and_missing_keys_send_the_user_to_their_own_key() -> None:
    needs = {kind for kind in FailureKind if GenerationError("x", kind=kind).needs_own_key}
    assert needs == {FailureKind.LIMIT, FailureKind.UNAVAILABLE}


@pytest.mark.parametrize(
    ("source", "label"),
    [
        ("platform", "Platform key"),
        ("own_key", "Your own key (billed to your key, not your plan)"),
        ("offline", "Offline (no key)"),
        ("something-old", "Offline (no key)"),
    ],
)
def test_history_names_whose_key_paid(source: str, label: str) -> None:
    assert key_source_label(source) == label


def _plan(slug: str, name: str) -> PlanSummary:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return PlanSummary(
        tier_slug=slug,
        tier_name=name,
        status="active",
        billing_interval="month",
        usage_count=0,
        monthly_quota=10,
        plan_quota=10,
        cancel_at_period_end=False,
        entitled=True,
        entitled_slug=slug,
        ends_on=None,
        usage_resets_on=now,
        grace_ends_on=None,
    )


def test_the_tier_is_told_by_its_slug_not_its_display_name() -> None:
    renamed_free = _plan(FREE_SLUG, "Starter")
    assert renamed_free.is_free and not renamed_free.is_paid
    named_free = _plan("pro", "Free")  # a paid tier an operator happened to call "Free"
    assert named_free.is_paid and not named_free.is_free
