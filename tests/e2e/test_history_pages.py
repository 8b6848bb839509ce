"""History in the browser: pages of 50 with the total, Show more, and times shown in the
viewer's own time zone."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, expect
from sqlmodel import select

from promptgen.db import admin_session_scope
from promptgen.models import User, UserPrompt
from tests.e2e.test_foundation import sign_up
from tests.support.app_server import AppServer

# 23:30 UTC on 1 March 2026 is already 2 March in Tokyo (UTC+9, no daylight saving).
NEWEST = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


def test_history_pages_with_a_total_and_local_times(browser: Browser, app_server: AppServer):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Tokyo")
    context.set_default_timeout(20_000)
    page = context.new_page()
    try:
        email = sign_up(page, app_server)
        with admin_session_scope(app_server.env["DATABASE_URL"]) as session:
            user_id = session.exec(select(User.id).where(User.email == email)).one()
            for n in range(57):
                session.add(
                    UserPrompt(
                        user_id=user_id,
                        template_name="Product photo",
                        model_name="Blueprint compiler (offline)",
                        status="succeeded",
                        output=f"generation number {n}",
                        created_at=NEWEST - timedelta(minutes=n),
                    )
                )
        page.goto(app_server.url + "/history")
        rows = page.locator(".history-row")
        expect(rows).to_have_count(50)
        expect(page.locator("#history-count")).to_have_text("Showing 50 of 57 generations")
        # The newest row, in Tokyo time: the next day, 08:30.
        expect(rows.first.locator(".local-time")).to_have_text("2 Mar 2026, 08:30")
        page.click("#history-more")
        expect(rows).to_have_count(57)
        expect(page.locator("#history-count")).to_have_text("57 generations")
        expect(page.locator("#history-more")).to_have_count(0)
        texts = [rows.nth(i).inner_text() for i in range(57)]
        numbers = [int(re.search(r"generation number (\d+)", t).group(1)) for t in texts]
        assert numbers == list(range(57))  # newest first, none repeated or skipped
    finally:
        context.close()
