"""The post-sign-in destination never leaves the site."""

import pytest

from promptgen import urls


@pytest.mark.parametrize(
    "next_path",
    [
        None,
        "",
        "//evil.com",
        "https://evil.com/dashboard",
        "http:/evil.com",
        "/\\evil.com",
        "/\t/evil.com",
        "javascript:alert(1)",
        "dashboard",
        "/sign-in",
        "/sign-up?next=/settings",
    ],
)
def test_anything_off_site_or_looping_goes_to_the_dashboard(next_path) -> None:
    assert urls.safe_next(next_path) == urls.DASHBOARD


@pytest.mark.parametrize("next_path", ["/settings", "/history?q=lamp", "/history/abc"])
def test_pages_on_this_site_are_kept(next_path: str) -> None:
    assert urls.safe_next(next_path) == next_path
