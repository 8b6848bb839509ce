"""Every page, signed out and signed in, at a desktop and a phone width: axe-core (from the
npm registry, installed into .tools by `make install`) finds no serious or critical
violation, public pages do not scroll sideways on a phone, and a screenshot of each is kept.

The screenshots and a JSON summary of axe's findings (counts by impact per page) are written
to test-artifacts/screenshots/ in the same run; the path is printed.
"""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from promptgen.pages import all_pages
from tests.e2e.test_foundation import sign_up
from tests.support.app_server import ARTIFACTS, ROOT, AppServer

AXE_SCRIPT = ROOT / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ARTIFACTS / "screenshots"
WIDTHS = (1280, 390)
BLOCKING = ("serious", "critical")

# Route -> the name its screenshot and findings are filed under. Checked against the @page
# registry below, so a new page cannot be left out.
SIGNED_OUT = {
    "/": "landing",
    "/pricing": "pricing",
    "/sign-in": "sign-in",
    "/sign-up": "sign-up",
    "/forgot-password": "forgot-password",
    "/new-password": "new-password",
    "/email-verified": "email-verified",
    "/no-such-page": "404",
}
SIGNED_IN = {
    "/dashboard": "dashboard",
    "/history": "history",
    "/history/[prompt_id]": "history-detail",
    "/settings": "settings",
    "/compare": "compare",
    "/usage": "usage",
    "/blueprints": "blueprints",
    "/blueprints/new": "blueprint-new",
    "/blueprints/[blueprint_id]": "blueprint-builder",
    "/blueprints/[blueprint_id]/versions": "blueprint-versions",
    "/": "landing-signed-in",
    "/pricing": "pricing-signed-in",
    "/no-such-page": "404-signed-in",
}


def test_the_audit_covers_every_registered_page() -> None:
    # The 404 page is registered under Reflex's "404" slug and seen at any unknown path.
    registered = {"/no-such-page" if p.route == "404" else p.route for p in all_pages()}
    audited = set(SIGNED_OUT) | set(SIGNED_IN)
    # /blueprints/new is the builder's route with the id "new".
    assert registered - audited == set(), "add the new page to the accessibility audit"


def _settle(page: Page) -> None:
    """Wait until the page is hydrated and its on_load data is shown."""
    page.wait_for_load_state("networkidle")
    expect(page.locator(".rt-Spinner")).to_have_count(0, timeout=15_000)
    page.wait_for_timeout(400)


def _audit(page: Page, name: str, width: int, findings: dict) -> list[str]:
    """Run axe on the page as shown; keep its screenshot; return the blocking violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_SCRIPT.read_text())
    result = page.evaluate("async () => await window.axe.run(document)")
    counts = Counter(v["impact"] for v in result["violations"])
    findings[f"{name}-{width}"] = {
        "counts": dict(counts),
        "violations": [
            {"id": v["id"], "impact": v["impact"], "targets": [n["target"] for n in v["nodes"]]}
            for v in result["violations"]
        ],
    }
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
    return [
        f"{name}@{width}: {v['impact']} {v['id']} {[n['target'] for n in v['nodes']][:4]}"
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def _no_sideways_scroll(page: Page, name: str, width: int) -> list[str]:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return [f"{name}@{width} scrolls sideways by {overflow}px"] if overflow > 0 else []


def _make_history(page: Page, server: AppServer, tmp_path: Path) -> str:
    """One offline generation with a reference image; returns its detail page's path."""
    page.locator(".blueprint-card", has_text="Product photo").click()
    page.fill("#field-product", "a ceramic vase")
    page.locator('.model-card[data-model="Gemini 2.5 Flash"]').click()  # takes images
    picture = tmp_path / "vase.png"
    picture.write_bytes(_tiny_png())
    page.locator("#reference-images input[type=file]").set_input_files(str(picture))
    expect(page.locator(".attached-image")).to_contain_text("vase.png")
    page.click("#generate")
    expect(page.locator("#result-output")).to_contain_text("a ceramic vase")
    page.goto(server.url + "/history")
    page.locator(".history-row .history-open").first.click()
    expect(page).to_have_url(re.compile(r"/history/[^/]+$"))
    return page.url.removeprefix(server.url)


def _make_own_blueprint(page: Page, server: AppServer) -> str:
    """A private copy of a catalog blueprint; returns its builder page's path."""
    page.goto(server.url + "/blueprints")
    page.get_by_role("button", name="Make a private copy of Portrait").click()
    expect(page).to_have_url(re.compile(r"/blueprints/[0-9a-f-]{36}/?$"))
    return page.url.removeprefix(server.url).rstrip("/")


def _tiny_png() -> bytes:
    """A real 2x2 PNG, so thumbnails have something to show."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x7f\x3f\xff" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def findings() -> dict:
    data: dict = {}
    yield data
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    summary = SCREENSHOTS / "axe-findings.json"
    summary.write_text(json.dumps(data, indent=2, sort_keys=True))
    print(f"\naxe findings and screenshots: {SCREENSHOTS}")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_passes_axe_and_fits_the_screen(
    browser: Browser, app_server: AppServer, tmp_path: Path, width: int, findings: dict
) -> None:
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        # axe is added as a script tag; the CSP itself is tested in test_edges.py.
        bypass_csp=True,
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    problems: list[str] = []
    try:
        for route, name in SIGNED_OUT.items():
            page.goto(app_server.url + route)
            _settle(page)
            problems += _audit(page, name, width, findings)
            problems += _no_sideways_scroll(page, name, width)

        sign_up(page, app_server)
        detail_path = _make_history(page, app_server, tmp_path)
        own_path = _make_own_blueprint(page, app_server)
        paths = {
            "/history/[prompt_id]": detail_path,
            "/blueprints/[blueprint_id]": own_path,
            "/blueprints/[blueprint_id]/versions": own_path + "/versions",
        }
        for route, name in SIGNED_IN.items():
            page.goto(app_server.url + paths.get(route, route))
            _settle(page)
            problems += _audit(page, name, width, findings)
            problems += _no_sideways_scroll(page, name, width)
    finally:
        context.close()
    print(f"\nscreenshots: {SCREENSHOTS}")
    assert problems == []


def test_pages_carry_a_favicon_and_a_social_preview(page: Page, app_server: AppServer) -> None:
    page.goto(app_server.url + "/pricing")
    head = page.locator("head")
    expect(head.locator('link[rel="icon"][type="image/svg+xml"]')).to_have_count(1)
    expect(head.locator('meta[property="og:title"]')).to_have_attribute(
        "content", "Pricing · PromptGen"
    )
    expect(head.locator('meta[property="og:description"]')).to_have_count(1)
    image_url = head.locator('meta[property="og:image"]').get_attribute("content")
    assert image_url.endswith("/og-image.png")
    preview = page.request.get(app_server.url + "/og-image.png")
    assert preview.ok and preview.headers["content-type"] == "image/png"
    width, height = struct.unpack(">II", preview.body()[16:24])  # the PNG's IHDR
    assert (width, height) == (1200, 630)
    for icon in ("/favicon.ico", "/favicon.svg"):
        assert page.request.get(app_server.url + icon).ok, icon


def test_an_unknown_address_gets_the_designed_404_with_a_way_home(
    page: Page, app_server: AppServer
) -> None:
    page.goto(app_server.url + "/no/such/page")
    expect(page.get_by_role("heading", name="This page doesn't exist")).to_be_visible()
    page.click("#go-home")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Prompts that look designed")).to_be_visible()
