"""Account recovery in Chromium, with the emails read from a real SMTP server."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_foundation import PASSWORD, sign_up
from tests.support.app_server import AppServer
from tests.support.smtp_sink import SmtpSink, link_in

NEW_PASSWORD = "my new and better password"


def sign_in(page: Page, server: AppServer, email: str, password: str) -> None:
    """Sign in through the sign-in page (the one place to change if that form changes)."""
    page.goto(server.url + "/sign-in")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#submit")
    expect(page).to_have_url(re.compile(r"/dashboard/?$"))
    expect(page.locator("#user-email")).to_have_text(email)


def test_forgot_password_by_email_then_sign_in_with_the_new_one(
    page: Page, app_server: AppServer, smtp_sink: SmtpSink
) -> None:
    email = sign_up(page, app_server)
    page.context.clear_cookies()  # a visitor who forgot their password, not signed in

    page.goto(app_server.url + "/sign-in")
    page.click("#forgot-password")
    expect(page).to_have_url(re.compile(r"/forgot-password/?$"))
    page.fill("#email", email)
    page.click("#send-reset")
    expect(page.locator("#reset-sent")).to_contain_text("If an account exists for that email")

    link = link_in(smtp_sink.wait_for(email, "Reset your PromptGen password"))
    page.goto(link)
    expect(page).to_have_url(re.compile(r"/new-password/?$"))  # the token left the address bar
    page.fill("#password", "too short")
    page.click("#set-password")
    expect(page.locator("#form-error")).to_have_text(
        "Use at least 10 characters for your password."
    )
    page.fill("#password", NEW_PASSWORD)
    page.click("#set-password")
    expect(page.locator("#reset-done")).to_contain_text("Your password is changed")

    page.goto(link)  # the link worked once
    expect(page.locator("#link-invalid")).to_be_visible()

    page.goto(app_server.url + "/sign-in")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#form-error")).to_have_text("Email or password is incorrect.")
    sign_in(page, app_server, email, NEW_PASSWORD)

    # Neither the token nor the new password reached Reflex state on disk or the app's log.
    token = link.split("token=", 1)[1]
    state_files = [p for p in (app_server.workdir / ".states").rglob("*") if p.is_file()]
    assert state_files
    for path in [*state_files, app_server.log_path]:
        content = path.read_bytes()
        assert token.encode() not in content and NEW_PASSWORD.encode() not in content, path


def test_verify_email_from_the_sign_up_mail_and_change_password_in_settings(
    page: Page, app_server: AppServer, smtp_sink: SmtpSink
) -> None:
    email = sign_up(page, app_server)
    page.goto(app_server.url + "/settings")
    expect(page.locator("#email-status")).to_have_text("not verified")

    link = link_in(smtp_sink.wait_for(email, "Confirm your email address"))
    page.goto(link)
    expect(page.locator("#email-verified")).to_be_visible()
    page.goto(app_server.url + "/settings")
    expect(page.locator("#email-status")).to_have_text("verified")
    expect(page.locator("#resend-verification")).to_have_count(0)

    page.fill("#current-password", PASSWORD)
    page.fill("#new-password", NEW_PASSWORD)
    page.click("#change-password")
    expect(page.locator("#account-notice")).to_have_text(
        "Your password is changed. Your other devices were signed out."
    )
    expect(page.locator("#user-email")).to_have_text(email)  # this tab stays signed in
    smtp_sink.wait_for(email, "password was changed")
