"""The post-sign-in destination never leaves the site."""

import pytest

from promptgen import urls


@pytest.mark.parametrize(
    "next_path",
    [
        None,
        "",
        "//evil.com",
        "///evil.com",
        "https://evil",
        "https://evil.com/dashboard",
        "HTTPS://evil.com",
        "\\evil.com",
        "\\\\evil.com",
        "/\\/evil.com",
        "/%5Cevil.com\\",
        "/\r\n/evil.com",
        "/\x7f/evil.com",
        "http:/evil.com",
        "/\\evil.com",
        "/\t/evil.com",
        "javascript:alert(1)",
        "dashboard",
        "/sign-in",
        "/sign-in?next=/sign-in",
        "/sign-up?next=/settings",
        "/sign-up#top",
    ],
)
def test_anything_off_site_or_looping_goes_to_the_dashboard(next_path) -> None:
    assert urls.safe_next(next_path) == urls.DASHBOARD


@pytest.mark.parametrize(
    "next_path",
    ["/settings", "/history?q=lamp", "/history/abc", "/history?q=a%2Fb", "/dashboard#result"],
)
def test_pages_on_this_site_are_kept(next_path: str) -> None:
    assert urls.safe_next(next_path) == next_path
