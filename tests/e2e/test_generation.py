"""Generation in the browser: streamed output from each provider (fakes), quota exhausted,
own key added and used, key deleted — and the key never reaches the page or the logs."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.conftest import OWN_OPENAI_KEY
from tests.e2e.test_foundation import sign_up
from tests.support.app_server import AppServer
from tests.support.fake_providers import FakeOpenAI
from tests.support.postgres import admin_connect

LIMIT = "Monthly limit reached — add your own API key in Settings to keep generating."


def _pick(page: Page, model: str, product: str) -> None:
    page.locator(".blueprint-card", has_text="Product photo").click()
    page.fill("#field-product", product)
    page.locator(f'.model-card[data-model="{model}"]').click()


def _use_up_quota(server: AppServer, email: str) -> None:
    """Test setup: the user has used this month's quota (as 25 generations would)."""
    with admin_connect(server.database_url, autocommit=True) as conn:
        conn.execute(
            """UPDATE user_subscriptions s SET usage_count = t.monthly_quota,
                   usage_period_start = date_trunc('month', now() at time zone 'utc')
               FROM subscription_tiers t, users u
               WHERE t.id = s.tier_id AND u.id = s.user_id AND u.email = %s""",
            (email,),
        )


def test_generate_stream_exhaust_own_key_delete(
    page: Page, app_server: AppServer, fake_openai: FakeOpenAI
) -> None:
    frames: list[str] = []
    page.on(
        "websocket",
        lambda ws: (
            ws.on("framereceived", lambda payload: frames.append(str(payload))),
            ws.on("framesent", lambda payload: frames.append(str(payload))),
        ),
    )
    email = sign_up(page, app_server)

    # OpenAI through the platform key, slow enough to watch it stream.
    fake_openai.chunks, fake_openai.chunk_delay_s = 6, 0.4
    _pick(page, "GPT-4.1 mini", "a walnut desk lamp")
    page.click("#generate")
    expect(page.locator("#cancel")).to_be_visible()
    expect(page.locator("#result-output")).to_contain_text("Refined:")
    expect(page.locator("#cancel")).to_be_visible()  # still streaming: output arrived in parts
    expect(page.locator("#result-notice")).to_contain_text("platform key")
    expect(page.locator("#result-output")).to_contain_text("sharp focus on the product.")
    expect(page.locator("#plan-badge")).to_contain_text("1 / 25")
    fake_openai.chunks, fake_openai.chunk_delay_s = 3, 0

    # Gemini through the platform key.
    _pick(page, "Gemini 2.5 Flash", "a copper kettle")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text(
        "Refined: Product photograph of a copper"
    )
    expect(page.locator("#plan-badge")).to_contain_text("2 / 25")

    # Quota used up, no own key: refused with a way to Settings.
    _use_up_quota(app_server, email)
    _pick(page, "GPT-4.1 mini", "a linen tote bag")
    page.click("#generate")
    expect(page.locator("#generate-error")).to_contain_text(LIMIT)
    expect(page.locator("#field-product")).to_have_value("a linen tote bag")
    page.click("#add-key-link")
    expect(page).to_have_url(re.compile(r"/settings/?$"))

    # Add an own OpenAI key; only its last four show.
    page.select_option("#key-provider", "openai")
    page.fill("#api-key-input", OWN_OPENAI_KEY)
    page.click("#save-key")
    expect(page.locator("#key-notice")).to_contain_text("OpenAI key is saved")
    row = page.locator(".key-row")
    expect(row).to_contain_text("…LAST")
    row.locator(".test-key").click()
    expect(row.locator(".key-test-result")).to_contain_text("Valid")

    # Generate again: on the own key, no quota used.
    page.get_by_role("link", name="Dashboard").first.click()
    _pick(page, "GPT-4.1 mini", "a linen tote bag")
    page.click("#generate")
    expect(page.locator("#result-notice")).to_contain_text("your own API key")
    expect(page.locator("#result-output")).to_contain_text("a linen tote bag")
    assert fake_openai.requests[-1].headers["authorization"] == f"Bearer {OWN_OPENAI_KEY}"

    # Delete the key: the limit message is back.
    page.get_by_role("link", name="Settings").first.click()
    page.locator(".key-row .delete-key").click()
    page.locator(".confirm-delete-key").click()
    expect(page.locator("#no-keys")).to_be_visible()
    page.get_by_role("link", name="Dashboard").first.click()
    _pick(page, "GPT-4.1 mini", "a felt hat")
    page.click("#generate")
    expect(page.locator("#generate-error")).to_contain_text(LIMIT)

    # The key never travelled through the websocket, and no log line holds it.
    assert frames, "no websocket frames were captured"
    assert not [f for f in frames if OWN_OPENAI_KEY in f]
    assert OWN_OPENAI_KEY not in app_server.log_path.read_text()


def test_failed_attempt_retry_cancel_and_history_tools(
    page: Page, app_server: AppServer, fake_openai: FakeOpenAI
) -> None:
    sign_up(page, app_server)
    _pick(page, "GPT-4.1 mini", "first item")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("first item")
    expect(page.locator("#plan-badge")).to_contain_text("1 / 25")

    # A provider outage (5xx, and again on the one retry): clear message, inputs kept, refunded.
    fake_openai.fail_next(503, times=2)
    page.fill("#field-product", "second item")
    page.click("#generate")
    expect(page.locator("#generate-error")).to_contain_text("OpenAI is unavailable right now")
    expect(page.locator("#field-product")).to_have_value("second item")
    expect(page.locator("#plan-badge")).to_contain_text("1 / 25")

    # Cancel a slow generation after part of it arrived: it stops, and since output was
    # delivered, the unit is spent and the part kept.
    fake_openai.chunks, fake_openai.chunk_delay_s = 6, 1.0
    page.fill("#field-product", "third item")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("Refined:")
    page.click("#cancel")
    expect(page.locator("#result-notice")).to_contain_text("counts as a generation")
    expect(page.locator("#generate")).to_be_enabled()
    expect(page.locator("#plan-badge")).to_contain_text("2 / 25")
    fake_openai.chunks, fake_openai.chunk_delay_s = 3, 0

    page.get_by_role("link", name="History").first.click()
    rows = page.locator(".history-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("cancelled")
    expect(rows.nth(1)).to_contain_text("failed")

    # Search, favourite, filter, export.
    page.fill("#history-search", "first")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    rows.first.locator(".favorite-toggle").click()
    expect(page.locator(".history-row.is-favorite")).to_have_count(1)
    page.fill("#history-search", "")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(3)
    page.click("#favorites-only")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("first item")
    page.click("#favorites-only")
    expect(rows).to_have_count(3)
    page.click("#export")
    with page.expect_download() as download:
        page.click("#export-json")
    exported = download.value.path().read_text()
    assert '"first item"' in exported and '"second item"' in exported

    # Retry the failed attempt in one click from its page.
    rows.nth(1).locator(".history-open").click()
    expect(page.locator("#detail-inputs")).to_contain_text("second item")
    page.click("#retry")
    expect(page).to_have_url(re.compile(r"/dashboard\?retry="))
    expect(page.locator("#form-notice")).to_contain_text("Inputs loaded")
    expect(page.locator("#field-product")).to_have_value("second item")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("second item")
    expect(page.locator("#plan-badge")).to_contain_text("3 / 25")

    # Delete one row.
    page.get_by_role("link", name="History").first.click()
    expect(rows).to_have_count(4)
    rows.first.locator(".delete-row").click()
    page.locator(".confirm-delete-row").click()
    expect(rows).to_have_count(3)


def test_reference_images_are_checked_sent_and_kept(
    page: Page, app_server: AppServer, tmp_path: Path
) -> None:
    sign_up(page, app_server)
    _pick(page, "Gemini 2.5 Flash", "a ceramic vase")
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("these are notes, not a picture")
    upload = page.locator("#reference-images input[type=file]")
    upload.set_input_files(str(not_an_image))
    expect(page.locator("#generate-error")).to_contain_text(
        "notes.png is not a PNG, JPEG or WebP image"
    )
    picture = tmp_path / "vase.png"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048)
    upload.set_input_files(str(picture))
    expect(page.locator(".attached-image")).to_contain_text("vase.png")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("a ceramic vase")

    page.get_by_role("link", name="History").first.click()
    page.locator(".history-row .history-open").first.click()
    expect(page.locator(".detail-image")).to_contain_text("vase.png")
