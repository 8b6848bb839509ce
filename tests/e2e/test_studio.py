"""The studio by keyboard alone, and what it shows before anything is spent.

The keyboard test never touches the mouse: Tab, arrow keys, typing, Enter. It prints the tab
stops it needed (the figures in the issue's note).
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_foundation import PASSWORD, sign_up
from tests.e2e.test_generation import LIMIT, _use_up_quota
from tests.support.app_server import AppServer

MAX_TABS = 60


def _focused(page: Page, attribute: str = "id") -> str:
    return page.evaluate(
        "(name) => (document.activeElement && document.activeElement.getAttribute(name)) || ''",
        attribute,
    )


def _tab_until(page: Page, predicate, what: str) -> int:
    """Press Tab until `predicate(page)` holds; returns how many presses it took."""
    for presses in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if predicate(page):
            return presses
    raise AssertionError(f"Tab never reached {what}")


def _tab_to_id(page: Page, element_id: str) -> int:
    return _tab_until(page, lambda p: _focused(p) == element_id, "#" + element_id)


def _has_focus_ring(page: Page) -> bool:
    return page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
            return outline || (style.boxShadow && style.boxShadow !== 'none');
        }"""
    )


def test_sign_in_pick_fill_generate_and_copy_by_keyboard_alone(
    browser: Browser, app_server: AppServer
) -> None:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        email = f"studio-{uuid.uuid4().hex[:8]}@example.com"
        page.goto(app_server.url + "/sign-up")
        _tab_to_id(page, "email")
        page.keyboard.type(email)
        _tab_to_id(page, "password")
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/dashboard/?$"))
        # A blueprint is preselected (the first in the catalog), so its form is there at once.
        expect(page.locator(".blueprint-card[aria-checked=true]")).to_have_count(1)
        expect(page.locator(".form-field").first).to_be_visible()

        # From the top of the page to Generate, the form as it comes.
        page.keyboard.press("Escape")
        page.evaluate("document.activeElement && document.activeElement.blur()")
        to_generate = _tab_to_id(page, "generate")
        print(f"\ntab stops from the top of the dashboard to Generate: {to_generate}")

        # Pick a blueprint: Tab into the radio group (on the chosen card), arrows choose.
        page.evaluate("document.activeElement && document.activeElement.blur()")
        to_picker = _tab_until(
            page,
            lambda p: _focused(p, "class").find("blueprint-card") >= 0,
            "the blueprint picker",
        )
        assert _has_focus_ring(page), "the focused blueprint shows no focus ring"
        for _ in range(page.locator(".blueprint-card").count()):
            if _focused(page, "data-name") == "Blog outline":
                break
            page.keyboard.press("ArrowRight")
        assert _focused(page, "data-name") == "Blog outline"
        # The arrows chose it, however quick the taps (assets/studio.js).
        expect(page.locator(".blueprint-card[aria-checked=true]")).to_have_attribute(
            "data-name", "Blog outline"
        )
        expect(page.locator("#field-topic")).to_be_visible()

        # Fill it: the preview follows the typing before anything is spent.
        to_field = _tab_to_id(page, "field-topic")
        page.keyboard.type("keyboard-first design")
        expect(page.locator("#preview-prompt")).to_contain_text("keyboard-first design")

        # The offline model is chosen by default; generate with Enter on the button.
        expect(page.locator("#model-select [aria-checked=true]")).to_have_attribute(
            "data-model", re.compile(r"^Blueprint compiler")
        )
        to_button = _tab_to_id(page, "generate")
        page.keyboard.press("Enter")
        expect(page.locator("#result-output")).to_contain_text("keyboard-first design")

        # Copy the result.
        to_copy = _tab_to_id(page, "copy-result")
        page.keyboard.press("Enter")
        expect(page.get_by_text("Copied to clipboard")).to_be_visible()
        copied = page.evaluate("navigator.clipboard.readText()")
        assert "keyboard-first design" in copied
        assert copied.strip() == page.locator("#result-output").inner_text().strip()
        print(
            "tab stops in the keyboard flow: "
            f"to the picker {to_picker}, to the field {to_field}, to Generate {to_button}, "
            f"to Copy {to_copy}"
        )
    finally:
        context.close()


def _product_photo(page: Page) -> None:
    page.locator('.blueprint-card[data-name="Product photo"]').click()
    expect(page.locator("#field-product")).to_be_visible()


def test_invalid_field_is_described_and_focused(page: Page, app_server: AppServer) -> None:
    sign_up(page, app_server)
    _product_photo(page)
    page.click("#generate")  # Product photo's product is required and empty
    error = page.locator("#error-product")
    expect(error).to_contain_text("required")
    product = page.locator("#field-product")
    expect(product).to_have_attribute("aria-invalid", "true")
    expect(product).to_have_attribute("aria-describedby", re.compile(r"\berror-product\b"))
    expect(product).to_be_focused()


def test_models_say_what_they_need_and_the_prompt_survives_a_failure(
    page: Page, app_server: AppServer
) -> None:
    email = sign_up(page, app_server)
    pro_only = page.locator('.model-card[data-access="upgrade"]')
    expect(pro_only).to_have_count(2)  # Gemini 2.5 Pro and GPT-4.1 on the Free plan
    expect(pro_only.first).to_be_disabled()
    expect(pro_only.first).to_contain_text("Pro")
    expect(page.locator("#upgrade-link")).to_have_attribute("href", re.compile(r"/pricing"))
    flash = page.locator('.model-card[data-model="Gemini 2.5 Flash"]')
    expect(flash).to_contain_text("Fast, capable refinement from Google.")
    expect(flash).not_to_contain_text("needs your key")

    # The month's quota used and no key of the user's: the platform key is out of reach.
    _use_up_quota(app_server, email)
    page.reload()
    expect(flash).to_contain_text("needs your key")
    _product_photo(page)
    flash.click()
    expect(page.locator("#needs-key-link")).to_be_visible()
    page.fill("#field-product", "a walnut stool")
    expect(page.locator("#preview-prompt")).to_contain_text("a walnut stool")
    page.click("#generate")
    expect(page.locator("#generate-error")).to_contain_text(LIMIT)
    expect(page.locator("#generate-error")).to_contain_text("compiled prompt is kept")
    expect(page.locator("#preview-prompt")).to_contain_text("a walnut stool")
    expect(page.locator("#copy-prompt")).to_be_visible()


def test_on_a_phone_the_result_scrolls_into_view(browser: Browser, app_server: AppServer):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        sign_up(page, app_server)
        _product_photo(page)
        page.fill("#field-product", "a paper lantern")
        page.locator("#generate").click()
        expect(page.locator("#result-output")).to_contain_text("a paper lantern")
        expect(page.locator("#result-output")).to_be_in_viewport()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
