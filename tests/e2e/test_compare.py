"""Compare mode, ratings, the Usage page and quota warnings in the browser, against the fake
Gemini and OpenAI servers and the offline compiler; figures checked against the database."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from promptgen.services.pricing import format_cost
from tests.e2e.test_foundation import sign_up
from tests.support.app_server import AppServer
from tests.support.fake_providers import FakeGemini, FakeOpenAI
from tests.support.postgres import admin_connect


def _column(page: Page, model: str):
    return page.locator(".compare-column").filter(
        has=page.locator(".column-title", has_text=re.compile(f"^{re.escape(model)}$"))
    )


def _db(server: AppServer, sql: str, *params):
    with admin_connect(server.database_url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def _set_usage(server: AppServer, email: str, used: int) -> None:
    with admin_connect(server.database_url, autocommit=True) as conn:
        conn.execute(
            """UPDATE user_subscriptions s SET usage_count = %s,
                   usage_period_start = date_trunc('month', now() at time zone 'utc')
               FROM users u WHERE u.id = s.user_id AND u.email = %s""",
            (used, email),
        )


def test_compare_cancel_one_fail_one_rate_export_history_and_usage(
    page: Page, app_server: AppServer, fake_openai: FakeOpenAI, fake_gemini: FakeGemini
) -> None:
    email = sign_up(page, app_server)
    page.click("#open-compare")
    expect(page).to_have_url(re.compile(r"/compare/?$"))
    page.locator(".blueprint-card", has_text="Product photo").click()
    page.fill("#field-product", "a brass compass")

    # Two targets by default (Gemini 2.5 Flash, GPT-4.1 mini) plus the free baseline.
    expect(page.locator(".target-row")).to_have_count(2)
    expect(page.locator("#compare-cost")).to_have_text(
        "Uses 2 generations from your plan (25 left), 1 free (Blueprint compiler)."
    )
    page.click(".include-baseline")
    expect(page.locator("#compare-cost")).to_have_text(
        "Uses 2 generations from your plan (25 left)."
    )
    page.click(".include-baseline")
    expect(page.locator("#compare-cost")).to_contain_text("1 free (Blueprint compiler)")

    # Gemini fails (5xx, and again on its one retry); OpenAI is slow enough to cancel.
    fake_gemini.fail_next(503, times=2)
    fake_openai.latency_s = 15
    # The first generation in a fresh app imports the provider SDKs on the event loop
    # (providers/__init__.get_provider), which can hold every column for seconds on a busy
    # machine: the first columns get a longer wait than expect's default 5 s.
    first_call = 15_000
    try:
        page.click("#run-compare")
        expect(page.locator(".compare-column")).to_have_count(3)
        gpt = _column(page, "GPT-4.1 mini")
        gemini = _column(page, "Gemini 2.5 Flash")
        baseline = _column(page, "Blueprint compiler (offline)")
        expect(gpt.locator(".column-progress")).to_be_visible()
        expect(baseline.locator(".column-status")).to_have_text("succeeded", timeout=first_call)
        expect(baseline.locator(".column-output")).to_contain_text("a brass compass")
        expect(gemini.locator(".column-status")).to_have_text("failed", timeout=first_call)
        expect(gemini.locator(".column-message")).to_contain_text("unavailable")
        expect(gpt.locator(".column-status")).to_have_text("running")  # still going
        gpt.locator(".cancel-column").click()
        expect(gpt.locator(".column-status")).to_have_text("cancelled")
    finally:
        fake_openai.latency_s = 0
    expect(page.locator("#run-compare")).to_be_enabled()
    # Nothing reached the page from either platform column: both units were given back.
    expect(page.locator("#plan-badge")).to_contain_text("0 / 25")
    expect(baseline.locator(".column-cost")).to_have_text("$0")
    expect(baseline.locator(".column-billed")).to_have_text("Free (offline)")

    # Rate: the baseline wins with a thumbs up and a note; Gemini gets a thumbs down.
    baseline.locator(".vote-up").click()
    expect(baseline.locator(".vote-up")).to_have_attribute("data-selected", "true")
    baseline.locator(".pick-winner").click()
    expect(baseline.locator(".pick-winner")).to_have_text("Winner")
    baseline.locator(".column-note input").fill("plain but faithful")
    baseline.locator(".column-note input").blur()
    gemini.locator(".vote-down").click()
    expect(gemini.locator(".vote-down")).to_have_attribute("data-selected", "true")
    expect(page.locator("#leader-models")).to_contain_text("Blueprint compiler (offline)")

    # The export carries every column with its inputs, outputs, ratings, tokens and cost.
    with page.expect_download() as download:
        page.click("#export-comparison-json")
    exported = json.loads(download.value.path().read_text())
    by_model = {row["model"]: row for row in exported}
    assert set(by_model) == {"GPT-4.1 mini", "Gemini 2.5 Flash", "Blueprint compiler (offline)"}
    assert by_model["Blueprint compiler (offline)"]["winner"] is True
    assert by_model["Blueprint compiler (offline)"]["vote"] == "up"
    assert by_model["Blueprint compiler (offline)"]["note"] == "plain but faithful"
    assert by_model["Gemini 2.5 Flash"]["vote"] == "down"
    assert by_model["GPT-4.1 mini"]["status"] == "cancelled"
    assert all(row["parameters"]["product"] == "a brass compass" for row in exported)

    # The database agrees: three history entries in one comparison, ratings stored.
    rows = _db(
        app_server,
        """SELECT p.model_name, p.status, p.key_source, p.comparison_id, r.vote, r.is_winner
             FROM user_prompts p JOIN users u ON u.id = p.user_id
             LEFT JOIN prompt_ratings r ON r.prompt_id = p.id
            WHERE u.email = %s""",
        email,
    )
    assert len(rows) == 3 and len({r[3] for r in rows}) == 1
    assert {r[0]: (r[1], r[4], r[5]) for r in rows} == {
        "GPT-4.1 mini": ("cancelled", None, None),
        "Gemini 2.5 Flash": ("failed", -1, False),
        "Blueprint compiler (offline)": ("succeeded", 1, True),
    }
    usage = _db(
        app_server,
        "SELECT s.usage_count FROM user_subscriptions s JOIN users u ON u.id = s.user_id "
        "WHERE u.email = %s",
        email,
    )
    assert usage[0][0] == 0

    # History: three entries, filtered by rating; the comparison opens again as a whole.
    page.get_by_role("link", name="History").first.click()
    expect(page.locator(".history-row")).to_have_count(3)
    page.click("#rating-filter")
    page.get_by_role("option", name="Winners").click()
    expect(page.locator(".history-row")).to_have_count(1)
    expect(page.locator(".history-row")).to_contain_text("Blueprint compiler")
    page.locator(".history-row .open-comparison").click()
    expect(page).to_have_url(re.compile(r"/compare\?comparison="))
    expect(page.locator(".compare-column")).to_have_count(3)
    reopened = _column(page, "Blueprint compiler (offline)")
    expect(reopened.locator(".pick-winner")).to_have_text("Winner")
    expect(reopened.locator(".column-note input")).to_have_value("plain but faithful")
    expect(page.locator("#field-product")).to_have_value("a brass compass")

    # A second run where both providers answer: tokens and an estimated cost per column.
    page.click("#run-compare")
    gpt = _column(page, "GPT-4.1 mini")
    expect(gpt.locator(".column-status")).to_have_text("succeeded")
    expect(_column(page, "Gemini 2.5 Flash").locator(".column-status")).to_have_text("succeeded")
    expect(gpt.locator(".column-tokens")).to_contain_text(" in / ")
    cost = _db(
        app_server,
        """SELECT p.estimated_cost_micros FROM user_prompts p JOIN users u ON u.id = p.user_id
            WHERE u.email = %s AND p.model_name = 'GPT-4.1 mini' AND p.status = 'succeeded'""",
        email,
    )[0][0]
    assert cost > 0
    expect(gpt.locator(".column-cost")).to_have_text(format_cost(cost))
    expect(gpt.locator(".column-billed")).to_have_text("Plan (1 generation)")
    expect(page.locator("#plan-badge")).to_contain_text("2 / 25")

    # The Usage page shows what the database holds for this period.
    page.get_by_role("link", name="Usage").first.click()
    expect(page.locator("#usage-chart .recharts-wrapper")).to_be_visible()
    figures = _db(
        app_server,
        """SELECT p.model_name, count(*), sum(coalesce(p.input_tokens, 0)
                  + coalesce(p.output_tokens, 0)), count(*) FILTER (WHERE p.status <> 'succeeded')
             FROM user_prompts p JOIN users u ON u.id = p.user_id
            WHERE u.email = %s AND p.status <> 'pending' GROUP BY p.model_name""",
        email,
    )
    assert len(figures) == 3
    for model, generations, tokens, failed in figures:
        row = page.locator(".model-row").filter(
            has=page.locator(".model-name", has_text=re.compile(f"^{re.escape(model)}$"))
        )
        expect(row.locator(".model-generations")).to_have_text(str(generations))
        expect(row.locator(".model-tokens")).to_have_text(str(tokens))
        expect(row.locator(".model-failed")).to_have_text(str(failed))
    total = sum(f[1] for f in figures)
    expect(page.locator(".total-row").first.locator(".total-generations")).to_have_text(str(total))
    expect(page.locator("#quota-used")).to_have_text("2")
    expect(page.locator("#quota-limit")).to_have_text("25")
    platform = _db(
        app_server,
        "SELECT count(*) FROM user_prompts p JOIN users u ON u.id = p.user_id "
        "WHERE u.email = %s AND p.key_source = 'platform'",
        email,
    )[0][0]
    expect(
        page.locator(".split-row", has_text="Plan (platform key)").locator(".split-generations")
    ).to_have_text(str(platform))


def test_quota_warnings_at_80_and_100_percent_once_each(page: Page, app_server: AppServer) -> None:
    email = sign_up(page, app_server)
    expect(page.locator("#quota-warning")).to_have_count(0)
    _set_usage(app_server, email, 20)
    page.reload()
    expect(page.locator("#quota-warning-text")).to_contain_text("20 of 25 generations")
    expect(page.locator("#plan-quota-warning")).to_have_text("· 80% used")
    expect(page.locator("#quota-add-key")).to_have_attribute("href", "/settings")
    page.click("#quota-dismiss")
    expect(page.locator("#quota-warning")).to_have_count(0)
    expect(page.locator("#plan-quota-warning")).to_have_count(0)
    page.reload()  # remembered
    expect(page.locator("#plan-badge")).to_contain_text("20 / 25")
    expect(page.locator("#quota-warning")).to_have_count(0)
    _set_usage(app_server, email, 25)
    page.reload()  # a new level warns again
    expect(page.locator("#quota-warning-text")).to_contain_text("used all 25 generations")
    expect(page.locator("#plan-quota-warning")).to_have_text("· limit reached")
    page.click("#quota-upgrade")  # not paying yet: the plans
    expect(page).to_have_url(re.compile(r"/pricing/?$"))


def _set_active(server: AppServer, slug: str, active: bool) -> None:
    with admin_connect(server.database_url, autocommit=True) as conn:
        conn.execute(
            "UPDATE supported_templates SET is_active = %s WHERE slug = %s", (active, slug)
        )


def test_a_blueprint_retired_while_the_form_is_open_is_reported_on_run(
    page: Page, app_server: AppServer
) -> None:
    sign_up(page, app_server)
    page.click("#open-compare")
    # The page's load has read the catalog (its last step sets the default columns), so the
    # retirement below lands after it, while the form is open.
    expect(page.locator(".target-row")).to_have_count(2)
    page.locator(".blueprint-card", has_text="Product photo").click()
    page.fill("#field-product", "a brass compass")
    expect(page.locator("#field-product")).to_have_value("a brass compass")
    _set_active(app_server, "product-photo", False)
    try:
        page.click("#run-compare")
        # A fresh app's first compare event waits out the provider SDKs' first import.
        expect(page.locator("#compare-error")).to_contain_text(
            "no longer available", timeout=30_000
        )
        expect(page.locator("#run-compare")).to_be_enabled()
        expect(page.locator("#field-product")).to_have_value("a brass compass")
    finally:
        _set_active(app_server, "product-photo", True)
