"""Visual signatures 2.0 and form drafts in the browser: the picker only where it belongs,
weighted mixes in the result, and a form that survives reloads, switches and Settings."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.test_foundation import sign_up
from tests.e2e.test_generation import LIMIT, _use_up_quota
from tests.support.app_server import AppServer, run_cli
from tests.support.postgres import admin_connect


def _blueprint(page: Page, name: str) -> None:
    page.locator(".blueprint-card", has_text=name).click()
    expect(page.locator("form").get_by_role("heading", name=name)).to_be_visible()


def _signature(page: Page, name: str):
    return page.locator(f'.signature-card[data-name="{name}"] input[type=checkbox]')


def _check(page: Page, name: str) -> None:
    # The box follows the server's state: click, then wait for the round trip.
    _signature(page, name).click()
    expect(_signature(page, name)).to_be_checked()


def _draft_values(server: AppServer, email: str) -> list[dict]:
    with admin_connect(server.database_url) as conn:
        rows = conn.execute(
            """SELECT d.field_values FROM form_drafts d JOIN users u ON u.id = d.user_id
               WHERE u.email = %s ORDER BY d.updated_at""",
            (email,),
        ).fetchall()
    return [row[0] for row in rows]


def _wait_for_draft(server: AppServer, email: str, field: str, value: str) -> None:
    """The draft is written after a pause in typing or on blur; wait until it is there."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if any(values.get(field) == value for values in _draft_values(server, email)):
            return
        time.sleep(0.2)
    raise AssertionError(f"no draft with {field}={value!r}: {_draft_values(server, email)}")


def test_a_non_visual_blueprint_has_no_picker_and_no_signature_clause(
    page: Page, app_server: AppServer
) -> None:
    sign_up(page, app_server)
    _blueprint(page, "Product photo")
    expect(page.locator("#signature-picker")).to_be_visible()
    _check(page, "Neon Cyberpunk")
    expect(page.locator('.signature-card[data-name="Neon Cyberpunk"]')).to_have_class(
        re.compile("picked")
    )

    _blueprint(page, "Code review")
    expect(page.locator("#signature-picker")).to_have_count(0)
    page.fill("#field-code", "def double(x):\n    return x * 2")
    expect(page.locator("#model-select [aria-checked=true]")).to_contain_text("Blueprint compiler")
    page.click("#generate")
    output = page.locator("#result-output")
    expect(output).to_contain_text("Review the following Python code")
    expect(output).not_to_contain_text("Visual signature")
    expect(output).not_to_contain_text("neon")


def test_two_weighted_signatures_blend_into_the_result(page: Page, app_server: AppServer) -> None:
    sign_up(page, app_server)
    _blueprint(page, "Product photo")
    # Every default signature shows its preview image, loaded from the app.
    noir_preview = page.get_by_role("img", name="Preview of Cinematic Noir")
    expect(noir_preview).to_be_visible()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.signature-preview')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    expect(page.locator("img.signature-preview")).to_have_count(8)

    page.fill("#field-product", "a walnut desk lamp")
    _check(page, "Cinematic Noir")
    _check(page, "Neon Cyberpunk")
    page.get_by_label("Weight of Cinematic Noir").select_option("8")
    page.get_by_label("Weight of Neon Cyberpunk").select_option("2")
    expect(page.locator("#signature-mix")).to_have_text(
        "Mix: Cinematic Noir 80% · Neon Cyberpunk 20%"
    )

    # A third is allowed, a fourth is not offered.
    _check(page, "Golden Hour")
    expect(_signature(page, "Soft Pastel")).to_be_disabled()
    page.get_by_role("button", name="Remove Golden Hour").click()
    expect(_signature(page, "Soft Pastel")).to_be_enabled()
    # By keyboard: Tab reaches a signature, Space picks it, and the card shows the focus.
    _signature(page, "Soft Pastel").focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    expect(_signature(page, "Soft Pastel")).to_be_focused()
    page.keyboard.press("Space")
    expect(_signature(page, "Soft Pastel")).to_be_checked()
    card = page.locator('.signature-card[data-name="Soft Pastel"]')
    assert card.evaluate("c => getComputedStyle(c).outlineStyle") == "solid"
    page.keyboard.press("Space")
    expect(_signature(page, "Soft Pastel")).not_to_be_checked()

    page.click("#generate")
    output = page.locator("#result-output")
    expect(output).to_contain_text(
        "Visual signature — Cinematic Noir (80%) + Neon Cyberpunk (20%): dominant (80%) "
        "Cinematic Noir"
    )
    expect(output).to_contain_text("secondary (20%) Neon Cyberpunk")


def test_a_draft_survives_reload_blueprint_switches_and_settings(
    page: Page, app_server: AppServer
) -> None:
    email = sign_up(page, app_server)
    _blueprint(page, "Product photo")
    page.fill("#field-product", "a copper kettle")
    _check(page, "Golden Hour")
    page.keyboard.press("Tab")  # leaving the field saves at once
    _wait_for_draft(app_server, email, "product", "a copper kettle")

    page.reload()
    expect(page.locator("#field-product")).to_have_value("a copper kettle")
    expect(_signature(page, "Golden Hour")).to_be_checked()

    # To another blueprint and back: each keeps its own values, signatures do not carry over.
    _blueprint(page, "Portrait")
    expect(_signature(page, "Golden Hour")).not_to_be_checked()
    page.fill("#field-subject", "a pastry chef")
    page.keyboard.press("Tab")
    _wait_for_draft(app_server, email, "subject", "a pastry chef")
    _blueprint(page, "Product photo")
    expect(page.locator("#field-product")).to_have_value("a copper kettle")
    expect(_signature(page, "Golden Hour")).to_be_checked()
    _blueprint(page, "Portrait")
    expect(page.locator("#field-subject")).to_have_value("a pastry chef")

    # The no-key error's link to Settings, and back: nothing typed is lost.
    _use_up_quota(app_server, email)
    _blueprint(page, "Product photo")
    page.fill("#field-product", "a linen tote bag")
    page.locator('.model-card[data-model="GPT-4.1 mini"]').click()
    page.click("#generate")
    expect(page.locator("#generate-error")).to_contain_text(LIMIT)
    page.click("#add-key-link")
    expect(page).to_have_url(re.compile(r"/settings/?$"))
    page.get_by_role("link", name="Dashboard").first.click()
    expect(page.locator("#field-product")).to_have_value("a linen tote bag")
    expect(_signature(page, "Golden Hour")).to_be_checked()

    # Clear: the defaults, no signature, and the draft is gone (a reload shows it).
    page.click("#clear-form")
    expect(page.locator("#field-product")).to_have_value("")
    expect(_signature(page, "Golden Hour")).not_to_be_checked()
    page.reload()
    expect(page.locator("#field-product")).to_have_value("")
    assert all(
        values.get("product") != "a linen tote bag" for values in _draft_values(app_server, email)
    )

    # A successful generation removes the draft of its blueprint.
    _blueprint(page, "Portrait")
    expect(page.locator("#field-subject")).to_have_value("a pastry chef")
    page.locator('.model-card[data-model="Blueprint compiler (offline)"]').click()
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("a pastry chef")
    page.reload()
    _blueprint(page, "Portrait")
    expect(page.locator("#field-subject")).to_have_value("")


def test_search_and_favourites_appear_past_twelve_signatures(
    page: Page, app_server: AppServer, tmp_path: Path
) -> None:
    sign_up(page, app_server)
    _blueprint(page, "Product photo")
    expect(page.get_by_label("Search signatures")).to_have_count(0)  # 8 need no search

    # An operator adds five more (palette swatches, no images): 13 in all.
    extra = [
        {
            "slug": f"extra-{n}",
            "name": f"Extra Style {n}",
            "description": "An imported signature.",
            "style_prompt": f"extra style number {n}",
            "palette": ["#223344", "#aabbcc"],
        }
        for n in range(1, 6)
    ]
    catalog_file = tmp_path / "more.json"
    catalog_file.write_text(json.dumps({"signatures": extra}))
    result = run_cli(app_server.env, "catalog", "import", str(catalog_file))
    assert result.returncode == 0, result.stderr
    page.reload()

    cards = page.locator(".signature-card")
    expect(cards).to_have_count(13)
    expect(page.get_by_role("img", name="Extra Style 3 colour palette")).to_be_visible()
    search = page.get_by_label("Search signatures")
    search.fill("noir")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Cinematic Noir")
    search.press("Enter")  # searching never submits the form
    expect(page.locator("#result-output")).to_have_count(0)
    search.fill("")
    expect(cards).to_have_count(13)

    star = page.get_by_role("button", name="Favourite Watercolor Dream")
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    expect(cards.first).to_contain_text("Watercolor Dream")  # favourites first
    page.reload()
    expect(page.get_by_role("button", name="Favourite Watercolor Dream")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.get_by_label("Favourites only").click()
    expect(page.get_by_label("Favourites only")).to_be_checked()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Watercolor Dream")
