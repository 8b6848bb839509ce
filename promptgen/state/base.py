"""The signed-in user, found again from the session cookie on every event."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import reflex as rx

from promptgen import routes
from promptgen.db import run_in_admin_session, run_in_session, run_in_user_session
from promptgen.live import tab_registry
from promptgen.services import accounts
from promptgen.services.subscriptions import get_plan_summary

T = TypeVar("T")

SESSION_MAX_AGE = 30 * 24 * 3600


async def run_service(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a sync service in one transaction, off the event loop. A call on behalf of a
    user (a `user_id` argument) runs in that user's row-level-security session."""
    if "user_id" in kwargs:
        return await run_in_user_session(fn, **kwargs)
    return await run_in_session(fn, **kwargs)


async def run_admin_service(fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a sync service that must see users it does not act for yet (sign-in, sign-up,
    finding the user behind a session token) in an admin session."""
    return await run_in_admin_session(fn, **kwargs)


class AuthState(rx.State):
    """Base for every page state: who is signed in, and their plan badge."""

    # The browser holds the raw session token; the database only its hash.
    session_token: str = rx.Cookie(
        "", name=accounts.SESSION_COOKIE, max_age=SESSION_MAX_AGE, same_site="lax"
    )
    user_email: str = ""
    signed_in: bool = False
    auth_checked: bool = False
    plan_name: str = ""
    plan_status: str = ""
    usage_count: int = 0
    monthly_quota: int = 0
    plan_cancelling: bool = False
    _tier_slug: str = ""

    async def _current_user(self) -> accounts.CurrentUser | None:
        """The user behind this browser's session cookie, checked in the database."""
        if not self.session_token:
            return None
        return await run_admin_service(accounts.resolve_session, token=self.session_token)

    async def _refresh_user(self) -> uuid.UUID | None:
        user = await self._current_user()
        self.auth_checked = True
        if user is None:
            self.signed_in = False
            self.user_email = ""
            return None
        self.signed_in = True
        self.user_email = user.email
        await self._load_plan(user.user_id)
        # So a webhook can update this tab's badge live.
        await tab_registry().register(user.user_id, self.router.session.client_token)
        return user.user_id

    async def _load_plan(self, user_id: uuid.UUID) -> None:
        plan = await run_service(get_plan_summary, user_id=user_id)
        if plan is not None:
            self._tier_slug = plan.tier_slug
            self.plan_name = plan.tier_name
            self.plan_status = plan.status
            self.plan_cancelling = plan.cancel_at_period_end
            self.usage_count = plan.usage_count
            self.monthly_quota = plan.monthly_quota

    async def _refresh_plan_for(self, user_id: uuid.UUID) -> bool:
        """Reload the badge if this tab still belongs to `user_id` (live updates)."""
        user = await self._current_user()
        if user is None or user.user_id != user_id:
            return False
        await self._load_plan(user_id)
        return True

    @rx.event
    async def load_optional_user(self):
        """On public pages: show the user's email when signed in, nothing otherwise."""
        await self._refresh_user()

    @rx.event
    async def require_user(self):
        """On protected pages: a signed-out visitor goes to sign-in and comes back after."""
        if await self._refresh_user() is None:
            return rx.redirect(routes.sign_in_then(self.router.url.path or routes.DASHBOARD))
        return None

    @rx.event
    async def sign_out(self):
        token = self.session_token
        if token:
            await run_admin_service(accounts.sign_out, token=token)
        self.session_token = ""
        self.signed_in = False
        self.user_email = ""
        return rx.redirect(routes.LANDING)

    @rx.var
    def plan_status_label(self) -> str:
        """ "" when all is well; otherwise what the badge should say."""
        if self.plan_status in ("past_due", "unpaid"):
            return "Past due" if self.plan_status == "past_due" else "Unpaid"
        if self.plan_status == "paused":
            return "Paused"
        if self.plan_cancelling:
            return "Cancelling"
        if self.plan_status == "trialing":
            return "Trial"
        return ""

    @rx.var
    def usage_label(self) -> str:
        return f"{self.usage_count} / {self.monthly_quota}"
