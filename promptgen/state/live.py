"""Push a user's new plan to every tab they have open (any worker, through Reflex)."""

from __future__ import annotations

import logging
import uuid

import reflex as rx

from promptgen.services.realtime import tab_registry
from promptgen.state.base import AuthState

log = logging.getLogger(__name__)


async def push_plan_update(app: rx.App, user_id: uuid.UUID) -> int:
    """Refresh the plan badge in each of the user's tabs; returns how many were updated."""
    registry = tab_registry()
    updated = 0
    for token in await registry.tokens(user_id):
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=AuthState)) as state:
            auth = await state.get_state(AuthState) if not isinstance(state, AuthState) else state
            # The tab may have signed out, or in as someone else, since it registered.
            if await auth._refresh_plan_for(user_id):
                updated += 1
            else:
                await registry.forget(user_id, token)
    log.info("pushed plan update for user %s to %d tabs", user_id, updated)
    return updated
