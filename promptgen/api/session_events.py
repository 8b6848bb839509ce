"""Sessions ending outside a tab: sign-out, a password change or reset, someone else
signing in on the same browser. The app registers a listener that refreshes the user's
open tabs (state/live.py), so they forget the user at once, not at their next event."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

SessionEndedListener = Callable[[uuid.UUID], Awaitable[object]]
session_ended_listeners: list[SessionEndedListener] = []


async def tell_open_tabs(user_id: uuid.UUID) -> None:
    """Run after the response: a tab whose session still works just refreshes."""
    for listener in session_ended_listeners:
        try:
            await listener(user_id)
        except Exception:  # the sessions ended already; a failed push must not matter
            log.exception("could not refresh the open tabs of user %s", user_id)
