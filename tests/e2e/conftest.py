"""Browser tests: Debian's Chromium driven by Playwright against `reflex run --env prod`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from promptgen.vault import new_master_key_text
from tests.support.app_server import ARTIFACTS, AppServer, start_app
from tests.support.fake_providers import DEFAULT_KEY, FakeGemini, FakeOpenAI

# A user's own key the fake OpenAI accepts, for the BYOK flow.
OWN_OPENAI_KEY = "sk-own-e2e-key-0123456789abcdef-LAST"

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
def app_server(postgres_server, fake_openai, fake_gemini) -> Iterator[AppServer]:
    database_url = postgres_server.create_database("promptgen_e2e")
    server = start_app(
        database_url,
        name="e2e",
        OPENAI_API_KEY=DEFAULT_KEY,
        OPENAI_BASE_URL=fake_openai.url + "/v1",
        GEMINI_API_KEY=DEFAULT_KEY,
        GEMINI_BASE_URL=fake_gemini.url,
        KEY_ENCRYPTION_KEYS=new_master_key_text(),
    )
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
