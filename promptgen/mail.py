"""Outgoing mail: verification and reset links, and notices of account changes.

Sent over SMTP (`SMTP_URL`, stdlib smtplib in a worker thread, never on the event loop).
Without SMTP_URL a local run logs the link at INFO instead (it carries a token, so only a
local run may do that; production refuses to start without SMTP_URL). Links use APP_URL.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlencode

from promptgen import urls
from promptgen.services.recovery import IssuedLink
from promptgen.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    link: str | None = None  # the one link in it, for the local log

    def __repr__(self) -> str:  # the body and link may carry a token
        return f"Mail(to={self.to!r}, subject={self.subject!r})"


class MailNotConfigured(RuntimeError):
    """Production without SMTP_URL (the app refuses to start that way; a safety net)."""


def _link(path: str, token: str, settings: Settings) -> str:
    return f"{settings.app_url.rstrip('/')}{path}?{urlencode({'token': token})}"


# --- the messages -----------------------------------------------------------------


def verification_mail(link: IssuedLink, settings: Settings | None = None) -> Mail:
    settings = settings or get_settings()
    url = _link(urls.VERIFY_EMAIL_LINK, link.token, settings)
    hours = settings.email_verification_hours
    return Mail(
        to=link.email,
        subject="Confirm your email address for PromptGen",
        body=(
            "Confirm that this is your email address for PromptGen by opening this link:\n\n"
            f"{url}\n\n"
            f"The link works once and expires in {hours} hours. If you did not sign up or "
            "change your email on PromptGen, ignore this message.\n"
        ),
        link=url,
    )


def reset_mail(link: IssuedLink, settings: Settings | None = None) -> Mail:
    settings = settings or get_settings()
    url = _link(urls.RESET_PASSWORD_LINK, link.token, settings)
    minutes = settings.password_reset_minutes
    return Mail(
        to=link.email,
        subject="Reset your PromptGen password",
        body=(
            "Someone asked to reset the password of your PromptGen account. To choose a new "
            "password, open this link:\n\n"
            f"{url}\n\n"
            f"The link works once and expires in {minutes} minutes. If you did not ask, "
            "ignore this message: your password stays as it is.\n"
        ),
        link=url,
    )


def password_changed_mail(email: str, settings: Settings | None = None) -> Mail:
    settings = settings or get_settings()
    return Mail(
        to=email,
        subject="Your PromptGen password was changed",
        body=(
            "The password of your PromptGen account was just changed, and other devices were "
            "signed out.\n\nIf this was not you, reset your password at once: "
            f"{settings.app_url.rstrip('/')}{urls.FORGOT_PASSWORD}\n"
        ),
    )


def email_changed_mail(old_email: str, new_email: str, settings: Settings | None = None) -> Mail:
    settings = settings or get_settings()
    return Mail(
        to=old_email,
        subject="Your PromptGen email address was changed",
        body=(
            f"The email address of your PromptGen account was changed to {new_email}. "
            "Messages about the account, password resets included, now go there.\n\nIf this "
            "was not you, someone else may have your password: contact PromptGen support "
            f"at once. {settings.app_url.rstrip('/')}\n"
        ),
    )


# --- sending ----------------------------------------------------------------------


def _message(mail: Mail, settings: Settings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = make_msgid(domain="promptgen")
    message.set_content(mail.body)
    return message


def deliver(mail: Mail, settings: Settings | None = None) -> None:
    """Send one mail now (blocking); raises on failure."""
    settings = settings or get_settings()
    config = settings.smtp_config()
    if config is None:
        if settings.is_production:
            raise MailNotConfigured("SMTP_URL is required when APP_ENV=production.")
        # Local mode only: the link itself, so a developer can follow it.
        log.info("SMTP_URL is not set; not sent: %s. Link: %s", mail.subject, mail.link or "-")
        return
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if config.ssl:
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    with client:
        if config.starttls:
            client.starttls(context=context)
        if config.username:
            client.login(config.username, config.password or "")
        client.send_message(_message(mail, settings))


async def send(mail: Mail) -> bool:
    """Send off the event loop; a failure is logged (without the message) and reported."""
    try:
        await asyncio.to_thread(deliver, mail)
    except Exception as exc:
        log.warning("could not send the email %r: %s", mail.subject, type(exc).__name__)
        return False
    return True


async def send_all(*mails: Mail) -> None:
    """Send each in turn (for a Starlette BackgroundTask after the response)."""
    for mail in mails:
        await send(mail)


_pending: set[asyncio.Task] = set()


def send_later(*mails: Mail) -> None:
    """Send in the background of the running event loop (from a Reflex event)."""
    task = asyncio.get_running_loop().create_task(send_all(*mails))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
