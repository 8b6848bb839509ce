"""What the model picker says about each model, and the live preview's compile."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from promptgen.services import studio
from promptgen.services.catalog import BlueprintView, ModelView
from promptgen.services.plans import PlanSummary
from promptgen.settings import Settings


def _model(provider: str, allowed: tuple[str, ...] = ()) -> ModelView:
    return ModelView(
        id=1,
        slug=f"{provider}-m",
        provider=provider,
        model_name="m",
        display_name="M",
        description="",
        endpoint=None,
        supports_images=False,
        allowed_tiers=allowed,
    )


def _plan(slug: str = "free", used: int = 0, quota: int = 10) -> PlanSummary:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return PlanSummary(
        tier_slug=slug,
        tier_name=slug.title(),
        status="active",
        billing_interval="month",
        usage_count=used,
        monthly_quota=quota,
        plan_quota=quota,
        cancel_at_period_end=False,
        entitled=True,
        entitled_slug=slug,
        ends_on=None,
        usage_resets_on=now,
        grace_ends_on=None,
    )


WITH_KEY = Settings(gemini_api_key="platform-key")
WITHOUT_KEY = Settings(gemini_api_key=None)


@pytest.mark.parametrize(
    ("model", "plan", "own", "settings", "access"),
    [
        (_model("offline"), _plan(used=10), set(), WITHOUT_KEY, studio.READY),
        (_model("gemini"), _plan(), set(), WITH_KEY, studio.READY),
        (_model("gemini"), _plan(used=10), set(), WITH_KEY, studio.NEEDS_KEY),
        (_model("gemini"), _plan(used=10), {"gemini"}, WITH_KEY, studio.READY),
        (_model("gemini"), _plan(), set(), WITHOUT_KEY, studio.NEEDS_KEY),
        (_model("gemini", ("pro",)), _plan(), {"gemini"}, WITH_KEY, studio.UPGRADE),
        (_model("gemini", ("pro",)), _plan("pro"), set(), WITH_KEY, studio.READY),
    ],
)
def test_model_access_follows_how_generation_routes_keys(model, plan, own, settings, access):
    assert studio.model_access(
        model, plan=plan, own_key_providers=own, settings=settings
    ).access == (access)


def test_an_upgrade_names_the_plan_that_includes_the_model():
    found = studio.model_access(
        _model("openai", ("pro", "studio")),
        plan=_plan(),
        own_key_providers=set(),
        settings=WITH_KEY,
    )
    assert (found.access, found.plan_needed) == (studio.UPGRADE, "Pro")


BLUEPRINT = BlueprintView(
    id=1,
    slug="b",
    name="B",
    category="c",
    description="",
    prompt_template="Write about {{ topic }} in {{ sections }} sections.",
    parameter_schema={
        "type": "object",
        "required": ["topic", "sections"],
        "properties": {
            "topic": {"type": "string", "title": "Topic"},
            "sections": {"type": "integer", "title": "Sections", "minimum": 1, "default": 3},
        },
    },
    instructions="",
    takes_signature=False,
)


def test_the_preview_follows_the_typing_and_leaves_out_what_is_not_valid_yet():
    assert studio.preview(BLUEPRINT, {"topic": "tides", "sections": "4"}) == (
        "Write about tides in 4 sections."
    )
    assert studio.preview(BLUEPRINT, {"topic": "", "sections": "many"}) == (
        "Write about  in  sections."
    )
