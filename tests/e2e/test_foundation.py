"""A new user's first visit, tried in a real browser against `reflex run --env prod`."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support.app_server import AppServer, run_cli

PASSWORD = "a long enough password"


def sign_up(page: Page, server: AppServer, email: str | None = None) -> str:
    email = email or f"user-{uuid.uuid4().hex[:8]}@example.com"
    page.goto(server.url + "/sign-up")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    expect(page.locator("#user-email")).to_have_text(email)
    return email


def fill_required_text_fields(page: Page, text: str) -> None:
    """Type into every empty text box of the blueprint form."""
    for box in page.locator(
        ".form-field input[type=text], .form-field input:not([type]), .form-field textarea"
    ).all():
        if not box.input_value():
            box.fill(text)


def test_landing_shows_catalog_and_plans(page: Page, app_server: AppServer) -> None:
    page.goto(app_server.url + "/")
    expect(page.get_by_role("heading", name="Blueprints")).to_be_visible()
    expect(page.locator("#landing-blueprints .rt-Card").nth(5)).to_be_visible()
    expect(page.locator(".plan-card")).to_have_count(3)
    pro = page.locator(".plan-card", has=page.get_by_role("heading", name="Pro", exact=True))
    expect(pro.locator(".plan-price")).to_have_text("$12")
    page.click("#billing-period >> text=Yearly")
    # Yearly: the price a month it comes to, and what is billed once a year.
    expect(pro.locator(".plan-price")).to_have_text("$10")
    expect(pro.locator(".plan-billed")).to_have_text("$120 billed yearly")
    # Every card ends with one action, and the actions of a row line up.
    actions = page.locator(".plan-card").locator("a.rt-Button, button.rt-Button")
    expect(actions).to_have_count(3)
    tops = {round(actions.nth(i).bounding_box()["y"]) for i in range(3)}
    assert len(tops) == 1, tops


def test_sign_up_generate_offline_and_find_it_in_history(page: Page, app_server: AppServer) -> None:
    sign_up(page, app_server)
    page.locator(".blueprint-card").first.click()
    expect(page.locator(".form-field").first).to_be_visible()
    fill_required_text_fields(page, "a brass desk lamp on walnut")
    page.locator(".signature-card").first.click()
    expect(page.locator("#model-select [aria-checked=true]")).to_contain_text("Blueprint compiler")
    page.click("#generate")

    expect(page.locator("#result-output")).to_contain_text("a brass desk lamp on walnut")
    expect(page.locator("#result-notice")).to_contain_text("not AI-refined")

    page.get_by_role("link", name="History").first.click()
    expect(page).to_have_url(re.compile(r"/history$"))
    rows = page.locator(".history-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("a brass desk lamp on walnut")
    rows.first.locator(".history-open").click()
    expect(page).to_have_url(re.compile(r"/history/[0-9a-f-]{36}$"))
    expect(page.locator("#detail-output")).to_contain_text("a brass desk lamp on walnut")
    expect(page.locator("#detail-inputs")).to_contain_text("a brass desk lamp on walnut")


def test_missing_required_field_is_marked_and_inputs_are_kept(
    page: Page, app_server: AppServer
) -> None:
    sign_up(page, app_server)
    page.locator(".blueprint-card").first.click()
    boxes = page.locator(
        ".form-field input[type=text], .form-field input:not([type]), .form-field textarea"
    )
    expect(boxes.first).to_be_visible()
    fill_required_text_fields(page, "kept text")
    boxes.first.fill("")
    typed = [box.input_value() for box in boxes.all()]
    page.click("#generate")
    expect(page.locator(".field-error").first).to_contain_text("required")
    expect(page.locator("#result-output")).to_have_count(0)
    for index, value in enumerate(typed):
        expect(boxes.nth(index)).to_have_value(value)


def test_signed_out_visit_goes_to_sign_in_and_back(page: Page, app_server: AppServer) -> None:
    email = sign_up(page, app_server)
    page.click("#sign-out")
    expect(page).to_have_url(re.compile(r"/$"))

    page.goto(app_server.url + "/history")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/history$"))
    page.fill("#email", email)
    page.fill("#password", "not the password")
    page.click("#submit")
    expect(page.locator("#form-error")).to_have_text("Email or password is incorrect.")
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/history/?$"))
    expect(page.get_by_role("heading", name="History")).to_be_visible()


def test_blueprint_imported_while_running_appears_on_reload(
    page: Page, app_server: AppServer, tmp_path: Path
) -> None:
    sign_up(page, app_server)
    name = f"Haiku {uuid.uuid4().hex[:6]}"
    expect(page.locator(".blueprint-card", has_text=name)).to_have_count(0)
    catalog_file = tmp_path / "haiku.json"
    catalog_file.write_text(
        json.dumps(
            {
                "blueprints": [
                    {
                        "slug": "haiku-" + uuid.uuid4().hex[:6],
                        "name": name,
                        "category": "Writing",
                        "description": "A three-line poem about anything.",
                        "prompt_template": "Write a haiku about {{ topic }}.",
                        "instructions": "Keep the 5-7-5 form.",
                        "parameter_schema": {
                            "type": "object",
                            "required": ["topic"],
                            "properties": {"topic": {"type": "string", "title": "Topic"}},
                        },
                    }
                ]
            }
        )
    )
    result = run_cli(app_server.env, "catalog", "import", str(catalog_file))
    assert result.returncode == 0, result.stderr

    page.reload()
    card = page.locator(".blueprint-card", has_text=name)
    expect(card).to_be_visible()
    card.click()
    page.fill("#field-topic", "autumn rain")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("Write a haiku about autumn rain.")
