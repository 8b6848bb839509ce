"""Browser tests: Debian's Chromium driven by Playwright against `reflex run --env prod`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from promptgen.services.catalog_import import default_catalog
from promptgen.vault import new_master_key_text
from tests.support.app_server import ARTIFACTS, AppServer, run_cli, start_app
from tests.support.fake_providers import DEFAULT_KEY, FakeGemini, FakeOpenAI
from tests.support.fake_stripe import FakeStripe
from tests.support.redis_server import RedisServer, start_redis
from tests.support.smtp_sink import SmtpSink

# A user's own key the fake OpenAI accepts, for the BYOK flow.
OWN_OPENAI_KEY = "sk-own-e2e-key-0123456789abcdef-LAST"
STRIPE_KEY = "sk_test_promptgen"
WEBHOOK_SECRET = "whsec_test_promptgen_e2e"
PRICES = {
    "pro": ("price_pro_month", "price_pro_year"),
    "studio": ("price_st_month", "price_st_year"),
}


def set_stripe_prices(server: AppServer, tmp_dir: Path) -> None:
    """An operator's step: give the paid tiers their Stripe price ids (catalog import)."""
    path = tmp_dir / "prices.json"
    tiers = []
    for slug, (monthly, yearly) in PRICES.items():
        tier = next(t for t in default_catalog()["tiers"] if t["slug"] == slug)
        tiers.append({**tier, "stripe_price_monthly_id": monthly, "stripe_price_yearly_id": yearly})
    path.write_text(json.dumps({"tiers": tiers}))
    result = run_cli(server.env, "catalog", "import", str(path))
    assert result.returncode == 0, result.stderr


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        fake.valid_keys = {DEFAULT_KEY, OWN_OPENAI_KEY}
        yield fake


@pytest.fixture(scope="session")
def fake_gemini() -> Iterator[FakeGemini]:
    with FakeGemini() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    """The app's outgoing mail server: tests read the emails it received."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture(scope="session")
def app_server(
    postgres_server, fake_openai, fake_gemini, fake_stripe, smtp_sink, tmp_path_factory
) -> Iterator[AppServer]:
    database_url = postgres_server.create_database("promptgen_e2e")
    server = start_app(
        database_url,
        name="e2e",
        OPENAI_API_KEY=DEFAULT_KEY,
        OPENAI_BASE_URL=fake_openai.url + "/v1",
        GEMINI_API_KEY=DEFAULT_KEY,
        GEMINI_BASE_URL=fake_gemini.url,
        KEY_ENCRYPTION_KEYS=new_master_key_text(),
        STRIPE_SECRET_KEY=STRIPE_KEY,
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        SMTP_URL=smtp_sink.url,
    )
    set_stripe_prices(server, tmp_path_factory.mktemp("prices"))
    yield server
    server.stop()
    postgres_server.drop_database(database_url)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def multi_worker_app(
    postgres_server, redis_server, fake_stripe, tmp_path_factory
) -> Iterator[AppServer]:
    """Several backend workers sharing state through Redis."""
    database_url = postgres_server.create_database("promptgen_e2e_workers")
    server = start_app(
        database_url,
        name="e2e-workers",
        REDIS_URL=redis_server.url,
        GRANIAN_WORKERS="3",
        KEY_ENCRYPTION_KEYS=new_master_key_text(),
        STRIPE_SECRET_KEY=STRIPE_KEY,
        STRIPE_API_BASE=fake_stripe.url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
    )
    set_stripe_prices(server, tmp_path_factory.mktemp("prices"))
    yield server
    server.stop()
    postgres_server.drop_database(database_url)


@pytest.fixture(scope="session")
def unconfigured_app(postgres_server) -> Iterator[AppServer]:
    """No Stripe secret key: the pricing page must say billing is not configured."""
    database_url = postgres_server.create_database("promptgen_e2e_nostripe")
    server = start_app(database_url, name="e2e-nostripe", KEY_ENCRYPTION_KEYS=new_master_key_text())
    yield server
    server.stop()
    postgres_server.drop_database(database_url)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test; a screenshot is kept on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report
