"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

import re
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from tests.support.app_server import free_port

_LINK = re.compile(r"https?://\S+")


class SmtpSink:
    """Start with `with SmtpSink() as sink:`; point SMTP_URL at `sink.url`."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())

    # The hook aiosmtpd calls (by this name) once per message, in the server's thread.
    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._controller.port}"

    def __enter__(self) -> SmtpSink:
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]

    def wait_for(self, address: str, subject: str, timeout: float = 30.0) -> EmailMessage:
        """The newest message to `address` whose subject contains `subject`; waits for it
        (mail from the app is sent in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [m for m in self.to(address) if subject in m["Subject"]]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no email to {address} about {subject!r}")
            time.sleep(0.1)


def body(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message: EmailMessage) -> str:
    """The one link in the message's text."""
    [link] = _LINK.findall(body(message))
    return link
