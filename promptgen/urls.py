"""Every page path in one place, and the URL builders that use them."""

from urllib.parse import quote, urlsplit

LANDING = "/"
SIGN_IN = "/sign-in"
SIGN_UP = "/sign-up"
DASHBOARD = "/dashboard"
HISTORY = "/history"
HISTORY_DETAIL = "/history/[prompt_id]"
SETTINGS = "/settings"
BLUEPRINTS = "/blueprints"
# One dynamic page for the builder: "/blueprints/new" is it with the id "new".
BLUEPRINT_DETAIL = "/blueprints/[blueprint_id]"
BLUEPRINT_NEW = "/blueprints/new"
BLUEPRINT_VERSIONS = "/blueprints/[blueprint_id]/versions"
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
# The public API and the Settings forms around it (api/v1.py, api/personal.py) ...
API_DOCS = "/api/v1/docs"
API_TOKENS = "/api/tokens"
API_TOKENS_REVOKE = "/api/tokens/revoke"
API_EXPORT = "/api/account/export"
API_IMPORT = "/api/account/import"
# ... and public share links (an HTTP route, so link previews see its Open Graph tags).
SHARE = "/share/{token}"


# A reference image waiting for Generate, served to its owner (dashboard thumbnails).
API_DRAFT_IMAGE = "/api/images/drafts"


def draft_image(draft_id: str) -> str:
    return f"{API_DRAFT_IMAGE}/{quote(draft_id)}"


def history_detail(prompt_id: str) -> str:
    return f"{HISTORY}/{quote(prompt_id)}"


def blueprint(blueprint_id: str) -> str:
    """A user blueprint's builder page."""
    return f"{BLUEPRINTS}/{quote(blueprint_id)}"


def blueprint_versions(blueprint_id: str) -> str:
    return f"{BLUEPRINTS}/{quote(blueprint_id)}/versions"


def dashboard_with(reference: str) -> str:
    """The dashboard with a blueprint chosen ("user:<uuid>")."""
    return f"{DASHBOARD}?blueprint={quote(reference)}"


def retry(prompt_id: str) -> str:
    """The dashboard, filled in with an earlier generation's inputs."""
    return f"{DASHBOARD}?retry={quote(prompt_id)}"


def share(token: str) -> str:
    return f"/share/{quote(token, safe='')}"


def remix(token: str) -> str:
    """Remix a shared generation: signs in if needed, then opens the dashboard with it."""
    return f"{share(token)}/remix"


def share_import(token: str) -> str:
    return f"{share(token)}/import"


def dashboard_remix(token: str, own_reference: str = "") -> str:
    """The dashboard filled in with a shared recipe (and the viewer's copy of its blueprint)."""
    query = f"remix={quote(token, safe='')}"
    if own_reference:
        query += f"&blueprint={quote(own_reference, safe=':')}"
    return f"{DASHBOARD}?{query}"


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
