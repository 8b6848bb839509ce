"""Share and remix in the browser: share a generation from its history page, open the link
signed out in a fresh browser (what a crawler sees too), remix it into another account
after signing in, and stop sharing."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_edges import WATCH_CSP, _violations
from tests.e2e.test_foundation import PASSWORD, sign_up
from tests.support.app_server import AppServer

OFFLINE = "Blueprint compiler (offline)"


def test_share_open_signed_out_and_remix(
    page: Page, browser: Browser, app_server: AppServer
) -> None:
    alice = sign_up(page, app_server)
    page.locator(".blueprint-card", has_text="Product photo").click()
    page.fill("#field-product", "a walnut desk lamp")
    page.locator(f'.model-card[data-model="{OFFLINE}"]').click()
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("a walnut desk lamp")

    page.goto(app_server.url + "/history")
    page.locator(".history-row .history-open").first.click()
    expect(page).to_have_url(re.compile(r"/history/[0-9a-f-]+/?$"))
    page.click("#share")
    link = page.locator("#share-url")
    expect(link).to_have_value(re.compile(r"/share/[A-Za-z0-9_-]{40,}$"))
    share_url = link.input_value()

    # Bob, in a browser of his own, signs up first; then opens the link signed out.
    bob_context = browser.new_context()
    bob_page = bob_context.new_page()
    bob_page.set_default_timeout(20_000)
    bob = sign_up(bob_page, app_server)
    bob_context.close()

    viewer = browser.new_context(viewport={"width": 390, "height": 844})
    viewer.add_init_script(WATCH_CSP)
    visitor = viewer.new_page()
    visitor.set_default_timeout(20_000)
    try:
        visitor.goto(share_url)
        expect(visitor.get_by_test_id("share-blueprint")).to_have_text("Product photo")
        expect(visitor.get_by_test_id("share-output")).to_contain_text("a walnut desk lamp")
        expect(visitor.get_by_test_id("share-inputs")).to_contain_text("a walnut desk lamp")
        og_title = visitor.locator('meta[property="og:title"]').get_attribute("content")
        assert og_title == f"Product photo · {OFFLINE} · PromptGen"
        assert alice not in visitor.content()
        assert _violations(visitor) == []

        visitor.get_by_test_id("remix").click()
        expect(visitor).to_have_url(re.compile(r"/sign-in/?\?next=/share/.+/remix$"))
        visitor.fill("#email", bob)
        visitor.fill("#password", PASSWORD)
        visitor.click("#submit")
        # Sign-in, then Remix, then the dashboard's first load: slow on a busy machine.
        expect(visitor).to_have_url(re.compile(r"/dashboard/?\?remix="), timeout=20_000)
        expect(visitor.locator("#field-product")).to_have_value(
            "a walnut desk lamp", timeout=20_000
        )
        expect(
            visitor.get_by_text(re.compile("Remixing a shared Product photo recipe"))
        ).to_be_visible()
        visitor.fill("#field-product", "a walnut desk lamp, brass base")
        visitor.click("#generate")
        expect(visitor.locator("#result-output")).to_contain_text("brass base")
        expect(visitor.locator("#user-email")).to_have_text(bob)
    finally:
        viewer.close()

    # Alice stops sharing: the link is dead.
    page.click("#stop-sharing")
    expect(page.locator("#share")).to_be_visible()
    gone = page.request.get(share_url)
    assert gone.status == 404


def test_tokens_in_settings_and_the_new_pages_run_under_the_csp(
    page: Page, app_server: AppServer
) -> None:
    page.add_init_script(WATCH_CSP)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if "Content Security" in m.text else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    sign_up(page, app_server)
    page.goto(app_server.url + "/settings")
    expect(page.locator("#no-tokens")).to_be_visible()
    page.fill("#token-name", "nightly script")
    page.select_option("#token-scope", "generate")
    page.click("#create-token")
    token = page.get_by_test_id("new-token").inner_text().strip()
    assert token.startswith("pg_")
    seen = list(_violations(page))
    answer = page.request.get(
        app_server.url + "/api/v1/models", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status == 200

    page.get_by_role("link", name="Back to Settings").click()
    row = page.locator("#token-table tr", has_text="nightly script")
    expect(row).to_contain_text("Read and generate")
    expect(row).to_contain_text(token[:10])
    assert token not in page.content()  # never again on the page
    seen += _violations(page)
    row.get_by_role("button", name="Revoke nightly script").click()
    expect(page.locator("#no-tokens")).to_be_visible()
    refused = page.request.get(
        app_server.url + "/api/v1/models", headers={"Authorization": f"Bearer {token}"}
    )
    assert refused.status == 401

    page.goto(app_server.url + "/api/v1/docs")
    expect(page.get_by_role("heading", name="PromptGen API v1")).to_be_visible()
    seen += _violations(page)
    assert seen == [] and errors == []


def test_share_a_comparison_and_open_it_signed_out(
    page: Page, browser: Browser, app_server: AppServer
) -> None:
    alice = sign_up(page, app_server)
    page.click("#open-compare")
    expect(page).to_have_url(re.compile(r"/compare/?$"))
    page.locator(".blueprint-card", has_text="Product photo").click()
    page.fill("#field-product", "a copper kettle")
    page.click("#run-compare")
    expect(page.locator(".compare-column")).to_have_count(3)
    # The fakes answer every column; the first call may import provider SDKs (slow).
    expect(page.locator(".compare-column .column-status", has_text="succeeded")).to_have_count(
        3, timeout=30_000
    )
    expect(page.locator("#run-compare")).to_be_enabled()
    page.click("#compare-share")
    link = page.locator("#compare-share-url")
    expect(link).to_have_value(re.compile(r"/share/[A-Za-z0-9_-]{40,}$"))
    expect(page.locator("#compare-share-panel")).to_contain_text("Reference images are not shown.")
    share_url = link.input_value()
    outputs = page.locator(".compare-column .column-output").all_inner_texts()

    viewer = browser.new_context(viewport={"width": 390, "height": 844})
    viewer.add_init_script(WATCH_CSP)
    visitor = viewer.new_page()
    visitor.set_default_timeout(20_000)
    try:
        visitor.goto(share_url)
        expect(visitor.get_by_test_id("share-blueprint")).to_have_text("Product photo")
        expect(visitor.get_by_test_id("share-inputs")).to_contain_text("a copper kettle")
        expect(visitor.get_by_test_id("share-column")).to_have_count(3)
        models = visitor.get_by_test_id("share-column-model").all_inner_texts()
        assert sorted(models) == sorted(
            ["Gemini 2.5 Flash", "GPT-4.1 mini", "Blueprint compiler (offline)"]
        )
        shown = visitor.get_by_test_id("share-column-output").all_inner_texts()
        for output in outputs:
            assert output.strip()[:30] in " ".join(shown)
        expect(visitor.get_by_role("heading", name="Inputs")).to_be_visible()
        og_title = visitor.locator('meta[property="og:title"]').get_attribute("content")
        assert og_title.startswith("Product photo · compared: ")
        assert alice not in visitor.content()
        assert _violations(visitor) == []
    finally:
        viewer.close()

    page.click("#compare-stop-sharing")
    expect(page.locator("#compare-share")).to_be_visible()
    assert page.request.get(share_url).status == 404
