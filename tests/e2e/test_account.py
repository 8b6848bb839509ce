"""Deleting an account from Settings, in the browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_foundation import PASSWORD, sign_up
from tests.support.app_server import AppServer


def test_delete_account_after_reentering_the_password(page: Page, app_server: AppServer) -> None:
    email = sign_up(page, app_server)
    page.get_by_role("link", name="Settings").first.click()
    page.fill("#delete-password", "not my password")
    page.click("#delete-account")
    expect(page.locator("#delete-error")).to_have_text("That password is incorrect.")

    page.fill("#delete-password", PASSWORD)
    page.click("#delete-account")
    expect(page).to_have_url(re.compile(r"/\?account=deleted$"))
    expect(page.locator("#account-notice")).to_have_text("Your account has been deleted.")

    page.goto(app_server.url + "/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#form-error")).to_have_text("Email or password is incorrect.")
