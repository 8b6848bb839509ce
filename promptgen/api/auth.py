"""Sign-in, sign-up and sign-out: plain HTML form posts that set or clear the session cookie.

The session token lives only in an HttpOnly cookie (SameSite=Lax, Secure when APP_URL is
https), so the page's scripts never see it; Reflex states find the user from the hash the
websocket carries (api/session_cookie.py). A refusal redirects back to the form with a code
(`?error=credentials`), which the page turns into the message (`form_error_message`); the
password never comes back.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import parse_qs, urlsplit

from starlette.background import BackgroundTask, BackgroundTasks
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from promptgen import mail, urls
from promptgen.api import account
from promptgen.api.forms import client_ip, redirect, same_origin
from promptgen.api.session_cookie import session_cookie_header
from promptgen.api.session_events import tell_open_tabs
from promptgen.db import admin_session_scope
from promptgen.services import accounts
from promptgen.services.generation import database_unreachable
from promptgen.settings import get_settings

log = logging.getLogger(__name__)

_FORM_LIMIT = 16 * 1024  # an email and a password; nothing bigger is read
UNAVAILABLE = "unavailable"
CROSS_SITE = "cross-site"

# What each refusal code says on the page. Codes come from the services' AccountError.code.
_MESSAGES = {
    "credentials": accounts.InvalidCredentials().message,
    "email_invalid": "Enter a valid email address.",
    "email_taken": (
        "We couldn't create an account with that email. If you already have one, sign in instead."
    ),
    "password_short": (
        f"Use at least {accounts.MIN_PASSWORD_LENGTH} characters for your password."
    ),
    "password_long": f"Use at most {accounts.MAX_PASSWORD_LENGTH} characters for your password.",
    UNAVAILABLE: "PromptGen cannot reach its database just now. Please try again in a minute.",
    CROSS_SITE: "That form was sent from another site, so it was refused. Try again here.",
}
_FIELDS = {
    "email_invalid": "email",
    "email_taken": "email",
    "password_short": "password",
    "password_long": "password",
}


def form_error_message(code: str, retry_seconds: str = "") -> tuple[str, str]:
    """(field or "", message) for a refusal code from the URL; unknown codes say nothing."""
    if code in ("locked", "network"):
        seconds = int(retry_seconds) if retry_seconds.isdigit() else 60
        refusal = accounts.TooManyRequests if code == "network" else accounts.TooManyAttempts
        return "", refusal(min(seconds, 86_400)).message
    message = _MESSAGES.get(code, "")
    return (_FIELDS.get(code, ""), message) if message else ("", "")


def set_session_cookie(response: Response, token: str) -> None:
    response.raw_headers.append((b"set-cookie", session_cookie_header(token)))


def clear_session_cookie(response: Response) -> None:
    settings = get_settings()
    response.delete_cookie(
        accounts.SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.app_url.startswith("https://"),
    )


async def _form(request: Request) -> dict[str, str]:
    if int(request.headers.get("content-length") or 0) > _FORM_LIMIT:
        return {}
    form = await request.form(max_files=0, max_fields=10)
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _enter(service, *, previous_token: str, **kwargs) -> tuple[accounts.SignedIn, uuid.UUID | None]:
    """Sign in or up in one admin transaction; the browser's previous session (another
    user's, on a shared computer) ends with it. Returns the previous session's user."""
    with admin_session_scope() as session:
        signed_in = service(session=session, **kwargs)
        previous = None
        if previous_token:
            found = accounts.resolve_session(session=session, token=previous_token)
            previous = found.user_id if found else None
            accounts.sign_out(session=session, token=previous_token)
        return signed_in, previous


async def _send_verification(user_id) -> None:
    """After sign-up's answer is sent: mail the new address its verification link."""
    try:
        verification = await account.verification_mail_for(user_id)
        if verification is not None:
            await mail.send(verification)
    except Exception:  # the account exists; Settings can send the link again
        log.warning("could not send the verification link of a new account", exc_info=True)


def _requested_next(request: Request, form: dict[str, str], form_path: str) -> str:
    """Where to go once signed in: the form's `next`, or, when a quick submit beat the page's
    load filling that field in, the `next` in the address of the form's own page (our
    Referrer-Policy, same-origin, sends it). `urls.safe_next` judges either."""
    requested = form.get("next", "")
    if not requested:
        page = urlsplit(request.headers.get("referer", ""))
        if page.path.rstrip("/") == form_path:
            requested = parse_qs(page.query).get("next", [""])[0]
    return requested[:500]


async def _sign_in_or_up(request: Request, service, form_path: str) -> Response:
    form = await _form(request)
    email = form.get("email", "")[: accounts.MAX_EMAIL_LENGTH]
    requested = _requested_next(request, form, form_path)
    next_path = urls.safe_next(requested)
    back = {"email": email, "next": requested}
    if not same_origin(request):
        return redirect(form_path, error=CROSS_SITE, **back)
    try:
        signed_in, previous_user = await run_in_threadpool(
            _enter,
            service,
            previous_token=request.cookies.get(accounts.SESSION_COOKIE, ""),
            email=email,
            password=form.get("password", ""),
            user_agent=request.headers.get("user-agent", "")[:255],
            client_ip=client_ip(request),
        )
    except accounts.TooManyAttempts as exc:
        # Locked for this email from here, or this address's allowance is used up.
        return redirect(form_path, error=exc.code, retry=str(exc.retry_after_seconds), **back)
    except accounts.AccountError as exc:
        return redirect(form_path, error=exc.code, **back)
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        log.warning("sign-in: database unreachable (%s)", type(exc).__name__)
        return redirect(form_path, error=UNAVAILABLE, **back)
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(response, signed_in.token)
    after = BackgroundTasks()
    if service is accounts.sign_up:
        after.add_task(_send_verification, signed_in.user_id)
    if previous_user is not None and previous_user != signed_in.user_id:
        after.add_task(tell_open_tabs, previous_user)  # their other tabs forget them too
    response.background = after
    return response


async def sign_in(request: Request) -> Response:
    return await _sign_in_or_up(request, accounts.sign_in, urls.SIGN_IN)


async def sign_up(request: Request) -> Response:
    return await _sign_in_or_up(request, accounts.sign_up, urls.SIGN_UP)


def _end(token: str) -> uuid.UUID | None:
    with admin_session_scope() as session:
        user = accounts.resolve_session(session=session, token=token)
        accounts.sign_out(session=session, token=token)
        return user.user_id if user else None


async def sign_out(request: Request) -> Response:
    if not same_origin(request):
        return Response("Cross-site request refused.", status_code=403)
    token = request.cookies.get(accounts.SESSION_COOKIE, "")
    user_id = await run_in_threadpool(_end, token) if token else None
    response = RedirectResponse(urls.LANDING, status_code=303)
    clear_session_cookie(response)
    if user_id is not None:
        response.background = BackgroundTask(tell_open_tabs, user_id)
    return response
