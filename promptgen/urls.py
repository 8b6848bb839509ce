"""Every page path in one place, and the URL builders that use them."""

from urllib.parse import quote, urlsplit

LANDING = "/"
SIGN_IN = "/sign-in"
SIGN_UP = "/sign-up"
DASHBOARD = "/dashboard"
HISTORY = "/history"
HISTORY_DETAIL = "/history/[prompt_id]"
SETTINGS = "/settings"
COMPARE = "/compare"
USAGE = "/usage"
PRICING = "/pricing"
# Account recovery pages (Reflex) ...
FORGOT_PASSWORD = "/forgot-password"
NEW_PASSWORD = "/new-password"
EMAIL_VERIFIED = "/email-verified"
# ... the links sent by email (HTTP routes: they take a token, which never reaches a page) ...
RESET_PASSWORD_LINK = "/reset-password"
VERIFY_EMAIL_LINK = "/verify-email"
# ... and the form posts.
API_FORGOT_PASSWORD = "/api/password/forgot"
API_RESET_PASSWORD = "/api/password/reset"
API_RESEND_VERIFICATION = "/api/account/verification"
API_CHANGE_EMAIL = "/api/account/email"
API_CHANGE_PASSWORD = "/api/account/password"
# A reference image waiting for Generate, served to its owner (dashboard thumbnails).
API_DRAFT_IMAGE = "/api/images/drafts"


def draft_image(draft_id: str) -> str:
    return f"{API_DRAFT_IMAGE}/{quote(draft_id)}"


def history_detail(prompt_id: str) -> str:
    return f"{HISTORY}/{quote(prompt_id)}"


def retry(prompt_id: str) -> str:
    """The dashboard, filled in with an earlier generation's inputs."""
    return f"{DASHBOARD}?retry={quote(prompt_id)}"


def comparison(comparison_id: str) -> str:
    """Compare mode, showing one earlier comparison as a whole."""
    return f"{COMPARE}?comparison={quote(comparison_id)}"


def sign_in_then(next_path: str) -> str:
    """The sign-in page, returning to `next_path` afterwards."""
    return f"{SIGN_IN}?next={quote(next_path, safe='/')}"


def safe_next(next_path: str | None) -> str:
    """A post-sign-in destination on this site only (never an open redirect)."""
    if not next_path:
        return DASHBOARD
    parts = urlsplit(next_path)
    # Browsers read "/\\evil.com" as "//evil.com"; control characters are stripped before
    # parsing, so "/\t/evil.com" is one too.
    if (
        parts.scheme
        or parts.netloc
        or not next_path.startswith("/")
        or next_path.startswith("//")
        or "\\" in next_path
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in next_path)
    ):
        return DASHBOARD
    if parts.path in (SIGN_IN, SIGN_UP):
        return DASHBOARD
    return next_path
