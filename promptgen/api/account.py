"""Account recovery over plain HTML form posts and emailed links (as `/api/keys` does it).

Passwords and tokens travel only in these requests, never through the Reflex websocket,
a state var or a page URL: an emailed link (`/reset-password?token=...`,
`/verify-email?token=...`) lands here, and the reset token moves into an HttpOnly cookie
scoped to the one route that uses it before the browser is sent on to a page. Pages learn
the outcome from a code in the redirect's query (`recovery.MESSAGES`), never from free text.
Mail goes out after the response (a background task), so a request for an unknown email
answers exactly as fast as one for a real account.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlencode

import sqlalchemy as sa
from starlette.background import BackgroundTask, BackgroundTasks
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from promptgen import mail, urls
from promptgen.api.forms import client_ip as request_address
from promptgen.api.forms import same_origin as _same_origin
from promptgen.api.session_events import tell_open_tabs
from promptgen.db import admin_session_scope, user_session_scope
from promptgen.services import accounts, recovery, throttles
from promptgen.settings import get_settings

log = logging.getLogger(__name__)

# Holds a reset link's token between opening the link and posting the new password.
RESET_COOKIE = "promptgen_reset"
_NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_MAX_FIELD = 4096


def _redirect(path: str, background: BackgroundTask | None = None, **query: str) -> Response:
    url = f"{path}?{urlencode(query)}" if query else path
    return RedirectResponse(url, status_code=303, headers=_NO_STORE, background=background)


def _field(form, name: str) -> str:
    return str(form.get(name, ""))[:_MAX_FIELD]


def _secure_cookies() -> bool:
    return get_settings().app_url.startswith("https://")


def _refused() -> Response:
    return Response("Cross-site request refused.", status_code=403)


def _signed_in(request: Request) -> accounts.CurrentUser | None:
    token = request.cookies.get(accounts.SESSION_COOKIE, "")
    with admin_session_scope() as session:
        return accounts.resolve_session(session=session, token=token)


# --- sign-up: the first verification email ------------------------------------------


def _issue_verification(user_id: uuid.UUID) -> recovery.IssuedLink | None:
    with admin_session_scope() as session:
        return recovery.issue_email_verification(session=session, user_id=user_id)


async def verification_mail_for(user_id: uuid.UUID) -> mail.Mail | None:
    """Issue a verification link for a new account; the mail to send, if any. Sign-up
    calls this, then sends the mail once the visitor has their answer."""
    link = await run_in_threadpool(_issue_verification, user_id)
    return mail.verification_mail(link) if link is not None else None


# --- forgot password ----------------------------------------------------------------


def _issue_reset(email: str) -> recovery.IssuedLink | None:
    with admin_session_scope() as session:
        return recovery.request_password_reset(session=session, email=email)


async def start_password_reset(email: str) -> None:
    """Mail a reset link when an account has this email; nothing otherwise. Runs after
    the answer is sent."""
    link = await run_in_threadpool(_issue_reset, email)
    if link is not None:
        await mail.send(mail.reset_mail(link))


def _allow_reset_request(client_ip: str | None) -> None:
    with admin_session_scope() as session:
        throttles.check_ip_allowance(session=session, action="password_reset", client_ip=client_ip)


async def forgot_password(request: Request) -> Response:
    if not _same_origin(request):
        return _refused()
    form = await request.form()
    email = _field(form, "email")
    try:
        accounts.normalize_email(email)
    except accounts.InvalidSignUp:
        return _redirect(urls.FORGOT_PASSWORD, error="email-invalid")
    try:  # a per-address allowance, so nobody can mail-bomb through this form
        await run_in_threadpool(_allow_reset_request, request_address(request))
    except accounts.TooManyRequests:
        return _redirect(urls.FORGOT_PASSWORD, error="network")
    # The same answer whether or not an account has this email.
    return _redirect(urls.FORGOT_PASSWORD, BackgroundTask(start_password_reset, email), sent="1")


# --- reset password -----------------------------------------------------------------


def _check_reset(token: str) -> bool:
    with admin_session_scope() as session:
        return recovery.check_reset_link(session=session, token=token)


async def open_reset_link(request: Request) -> Response:
    """GET /reset-password?token=...: keep the token in a cookie, then show the form."""
    token = request.query_params.get("token", "")[: accounts.MAX_TOKEN_LENGTH + 1]
    if not await run_in_threadpool(_check_reset, token):
        response = _redirect(urls.NEW_PASSWORD, link="invalid")
        response.delete_cookie(RESET_COOKIE, path=urls.API_RESET_PASSWORD)
        return response
    response = _redirect(urls.NEW_PASSWORD)
    response.set_cookie(
        RESET_COOKIE,
        token,
        max_age=get_settings().password_reset_minutes * 60,
        path=urls.API_RESET_PASSWORD,
        httponly=True,
        samesite="strict",
        secure=_secure_cookies(),
    )
    return response


def _reset(token: str, password: str, client_ip: str | None) -> tuple[str, uuid.UUID]:
    with admin_session_scope() as session:
        user = recovery.reset_password(
            session=session, token=token, new_password=password, client_ip=client_ip
        )
        return user.email, user.id


async def reset_password(request: Request) -> Response:
    if not _same_origin(request):
        return _refused()
    form = await request.form()
    token = request.cookies.get(RESET_COOKIE, "")
    try:
        email, user_id = await run_in_threadpool(
            _reset, token, _field(form, "password"), request_address(request)
        )
    except recovery.InvalidLink:
        response = _redirect(urls.NEW_PASSWORD, link="invalid")
        response.delete_cookie(RESET_COOKIE, path=urls.API_RESET_PASSWORD)
        return response
    except accounts.AccountError as exc:
        return _redirect(urls.NEW_PASSWORD, error=recovery.error_code(exc))
    log.info("password reset through an emailed link; every session ended (user %s)", user_id)
    after = BackgroundTasks()
    after.add_task(mail.send_all, mail.password_changed_mail(email))
    after.add_task(tell_open_tabs, user_id)  # every session ended: every open tab forgets
    response = _redirect(urls.NEW_PASSWORD, after, done="1")
    response.delete_cookie(RESET_COOKIE, path=urls.API_RESET_PASSWORD)
    response.delete_cookie(accounts.SESSION_COOKIE, path="/")  # that session has ended
    return response


# --- verify email -------------------------------------------------------------------


def _verify(token: str) -> bool:
    with admin_session_scope() as session:
        return recovery.verify_email(session=session, token=token)


async def open_verification_link(request: Request) -> Response:
    """GET /verify-email?token=...: mark the address verified."""
    token = request.query_params.get("token", "")[: accounts.MAX_TOKEN_LENGTH + 1]
    verified = await run_in_threadpool(_verify, token)
    return _redirect(urls.EMAIL_VERIFIED, status="ok" if verified else "invalid")


# --- from Settings, signed in -------------------------------------------------------


def _settings(background: BackgroundTask | None = None, **query: str) -> Response:
    return _redirect(urls.SETTINGS, background, **query)


def _signed_out() -> Response:
    return RedirectResponse(urls.sign_in_then(urls.SETTINGS), status_code=303)


def _resend(request: Request) -> recovery.IssuedLink | str:
    user = _signed_in(request)
    if user is None:
        return "signed-out"
    try:
        link = _issue_verification(user.user_id)
    except recovery.LinkRecentlySent:
        return "verification-recent"
    return link if link is not None else "already-verified"


async def resend_verification(request: Request) -> Response:
    if not _same_origin(request):
        return _refused()
    outcome = await run_in_threadpool(_resend, request)
    if outcome == "signed-out":
        return _signed_out()
    if not isinstance(outcome, recovery.IssuedLink):
        return _settings(account=outcome)
    return _settings(
        BackgroundTask(mail.send_all, mail.verification_mail(outcome)), account="verification-sent"
    )


def _change_email(request: Request, password: str, new_email: str) -> recovery.EmailChanged | str:
    user = _signed_in(request)
    if user is None:
        return "signed-out"
    # An admin session, filtered to this user by the service: whether the new address is
    # taken is a question about other accounts, which the user role cannot see, and the
    # user role may not write email or email_verified_at (db_security.USER_GRANTS).
    with admin_session_scope() as session:
        return recovery.change_email(
            session=session,
            user_id=user.user_id,
            current_password=password,
            new_email=new_email,
            client_ip=request_address(request),
        )


async def change_email(request: Request) -> Response:
    if not _same_origin(request):
        return _refused()
    form = await request.form()
    try:
        outcome = await run_in_threadpool(
            _change_email, request, _field(form, "password"), _field(form, "new_email")
        )
    except accounts.AccountError as exc:
        return _settings(account_error=recovery.error_code(exc))
    except sa.exc.IntegrityError:  # taken by a concurrent sign-up after our check
        return _settings(account_error="email-unavailable")
    if isinstance(outcome, str):
        return _signed_out()
    log.info(
        "email address changed; verification sent to the new address (user %s)",
        outcome.verification.user_id,
    )
    mails = (
        mail.verification_mail(outcome.verification),
        mail.email_changed_mail(outcome.old_email, outcome.verification.email),
    )
    return _settings(BackgroundTask(mail.send_all, *mails), account="email-changed")


def _change_password(request: Request, current: str, new: str) -> accounts.CurrentUser | None:
    user = _signed_in(request)
    if user is None:
        return None
    # The user's own session: the user role may write password_hash and end its sessions.
    with user_session_scope(user.user_id) as session:
        recovery.change_password(
            session=session,
            user_id=user.user_id,
            current_password=current,
            new_password=new,
            keep_session_id=user.session_id,
            client_ip=request_address(request),
        )
    return user


async def change_password(request: Request) -> Response:
    if not _same_origin(request):
        return _refused()
    form = await request.form()
    try:
        user = await run_in_threadpool(
            _change_password,
            request,
            _field(form, "current_password"),
            _field(form, "new_password"),
        )
    except accounts.AccountError as exc:
        return _settings(account_error=recovery.error_code(exc))
    if user is None:
        return _signed_out()
    log.info("password changed from Settings; other sessions ended (user %s)", user.user_id)
    after = BackgroundTasks()
    after.add_task(mail.send_all, mail.password_changed_mail(user.email))
    after.add_task(tell_open_tabs, user.user_id)  # tabs of the ended sessions forget the user
    return _settings(after, account="password-changed")
