"""The signed-in user, found again from the session cookie on every event.

The session token lives in an HttpOnly cookie that only the HTTP routes read
(api/auth.py); the websocket carries its hash (api/session_cookie.py), from which every
event finds the user again. A tab belongs to one session at a time: when the session behind
the websocket changes (sign-out, or someone else signing in on that computer), every
user-bound state of the tab is reset before anything is sent (`TabOwner`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import reflex as rx
from reflex.event import EventSpec

from promptgen import styles, urls
from promptgen.api.session_cookie import session_hash_from_cookie_header
from promptgen.db import run_in_admin_session, run_in_session, run_in_user_session
from promptgen.errors import UserFacingError
from promptgen.services import accounts, checkout
from promptgen.services.page_loads import Loader, PageLoad, load_page
from promptgen.services.plans import PlanSummary, get_plan_summary, plan_status_label
from promptgen.services.realtime import tab_registry

T = TypeVar("T")


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


# How many of a worker's tabs may hold their state lock at once in a background event. In a
# burst of Generate (1,000 users over five workers on two cores) hundreds of tabs took their
# lock and then waited for the CPU behind each other, past Reflex's 10 s lock life
# (LockExpiredError: the result never reached the tab). Waiting for a turn holds nothing,
# and a turn only reads and writes the state, so a few at a time lose no throughput.
STATE_TURNS = 8
_turns: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


@contextlib.asynccontextmanager
async def locked(state: Any) -> AsyncIterator[None]:
    """`async with locked(self):` in a background event is `async with self:`, taken when
    one of this worker's STATE_TURNS is free."""
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None:
        turns = _turns[loop] = asyncio.Semaphore(STATE_TURNS)
    async with turns, state:
        yield


class AuthState(rx.State):
    """Base for every page state: who is signed in, and their plan badge."""

    user_email: str = ""
    signed_in: bool = False
    auth_checked: bool = False
    plan_name: str = ""
    plan_slug: str = ""  # the plan's catalog slug: pages match plans by it, not by name
    plan_is_paid: bool = False  # a paid tier: billing can be managed
    plan_status: str = ""
    usage_count: int = 0
    monthly_quota: int = 0
    plan_cancelling: bool = False
    plan_ends_on: str = ""  # "Dec 25, 2026" when cancelling or a cancel_at is scheduled
    plan_payment_issue: bool = False  # past_due, unpaid, paused, incomplete
    plan_entitled: bool = True  # False: the plan is kept but Free limits apply
    plan_quota: int = 0  # the plan's own monthly quota (monthly_quota is what applies now)
    grace_ends_on: str = ""
    usage_resets_on: str = ""
    billing_portal_error: str = ""
    _tier_slug: str = ""
    # The session hash this tab's user-bound states belong to ("" when signed out).
    _session_hash: str = ""

    def _websocket_session_hash(self) -> str:
        return session_hash_from_cookie_header(self.router.headers.cookie)

    async def _current_user(self) -> accounts.CurrentUser | None:
        """The user behind this browser's session cookie, checked in the database."""
        session_hash = self._websocket_session_hash()
        if session_hash != self._session_hash:
            await self._clear_session(session_hash)
        if not session_hash:
            return None
        user = await accounts.find_session_user(session_hash)
        if user is None and self.signed_in:
            # Signed out elsewhere (another tab, password change): forget this user here too.
            await self._clear_session(session_hash)
        return user

    async def _require_user(self) -> accounts.CurrentUser | None:
        """The signed-in user for an event that needs one. None when signed out: the handler
        then returns `self._to_sign_in()`."""
        return await self._current_user()

    def _to_sign_in(self) -> EventSpec:
        """To sign-in, coming back to this page afterwards."""
        # The built app serves pages with a trailing slash ("/history/").
        return rx.redirect(urls.sign_in_then(self.router.url.path.rstrip("/") or urls.DASHBOARD))

    async def _clear_session(self, session_hash: str = "") -> None:
        """Forget the signed-in user in this tab: every user-bound state back to its
        defaults, now belonging to `session_hash` ("" for nobody)."""
        pending = list(type(self).get_root_state().get_substates())
        while pending:
            state_class = pending.pop()
            pending.extend(state_class.get_substates())
            if issubclass(state_class, AuthState) and state_class is not AuthState:
                (await self.get_state(state_class)).reset()
        auth = await self.get_state(AuthState)
        auth.reset()
        auth._session_hash = session_hash

    async def _load_page(self, loader: Loader[T] | None = None, /, **kwargs: Any) -> PageLoad[T]:
        """On a page load: who is signed in, their plan badge, and what `loader` reads
        (services/page_loads.py), in one transaction after the session lookup."""
        session_hash = self._websocket_session_hash()
        if session_hash != self._session_hash:
            await self._clear_session(session_hash)
        page = await load_page(session_hash, loader, **kwargs)
        if page.user is None and self.signed_in:
            # Signed out elsewhere (another tab, password change): forget this user here too.
            await self._clear_session(session_hash)
        self.auth_checked = True
        if page.user is None:
            self.signed_in = False
            self.user_email = ""
            return page
        self.signed_in = True
        self.user_email = page.user.email
        self._show_plan(page.plan)
        # So a webhook can update this tab's badge live.
        await tab_registry().register(page.user.user_id, self.router.session.client_token)
        return page

    async def _refresh_user(self) -> uuid.UUID | None:
        page: PageLoad[None] = await self._load_page()
        return page.user.user_id if page.user else None

    async def _load_plan(self, user_id: uuid.UUID) -> None:
        self._show_plan(await run_service(get_plan_summary, user_id=user_id))

    def _show_plan(self, plan: PlanSummary | None) -> None:
        if plan is not None:
            self._tier_slug = plan.tier_slug
            self.plan_name = plan.tier_name
            self.plan_slug = plan.tier_slug
            self.plan_is_paid = plan.is_paid
            self.plan_status = plan.status
            self.plan_cancelling = plan.ends_on is not None
            self.plan_ends_on = _day(plan.ends_on)
            self.plan_payment_issue = plan.payment_issue
            self.plan_entitled = plan.entitled
            self.plan_quota = plan.plan_quota
            self.grace_ends_on = _day(plan.grace_ends_on)
            self.usage_count = plan.usage_count
            self.monthly_quota = plan.monthly_quota
            self.usage_resets_on = _day(plan.usage_resets_on)

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
            return self._to_sign_in()
        return None

    @rx.event
    async def open_billing_portal(self):
        """To Stripe's Customer Portal (update the payment method, change or cancel)."""
        user = await self._require_user()
        if user is None:
            return self._to_sign_in()
        try:
            url = await run_in_admin_session(checkout.open_portal, user_id=user.user_id)
        except UserFacingError as exc:
            self.billing_portal_error = exc.message
            return None
        self.billing_portal_error = ""
        return rx.redirect(url)

    @rx.var
    def plan_status_label(self) -> str:
        """ "" when all is well; otherwise what the badge should say."""
        return plan_status_label(
            status=self.plan_status, cancelling=self.plan_cancelling, ends_on=self.plan_ends_on
        )

    @rx.var
    def plan_badge_color(self) -> str:
        if self.plan_payment_issue:
            return "red"
        return "amber" if self.plan_cancelling else styles.ACCENT

    @rx.var
    def usage_label(self) -> str:
        label = f"{self.usage_count} / {self.monthly_quota}"
        if self.monthly_quota and self.usage_count >= self.monthly_quota and self.usage_resets_on:
            label += f" · resets {self.usage_resets_on}"
        return label

    @rx.var
    def payment_notice(self) -> str:
        """What the banner says when the plan's payment needs the user ("" otherwise)."""
        if not self.plan_payment_issue:
            return ""
        if self.plan_entitled and self.grace_ends_on:
            return (
                f"Your last {self.plan_name} payment failed. Your plan stays until "
                f"{self.grace_ends_on}; after that Free limits apply until it is paid."
            )
        what = {
            "past_due": "payment is overdue",
            "unpaid": "payment failed",
            "paused": "subscription is paused",
            "incomplete": "first payment is not complete",
        }.get(self.plan_status, "payment needs attention")
        return (
            f"Your {self.plan_name} {what}: Free limits ({self.monthly_quota} generations a "
            "month) apply until it is paid."
        )

    @rx.var
    def usage_note(self) -> str:
        """Why the count is above the limit (after a downgrade or a payment problem)."""
        if self.usage_count <= self.monthly_quota:
            return ""
        return (
            f"You used {self.usage_count} generations this month, more than the "
            f"{self.monthly_quota} that apply now. Generations already used still count after "
            f"a plan change; the count starts again on {self.usage_resets_on}. Until then you "
            "can keep generating with your own API key."
        )


def _day(value) -> str:
    return f"{value:%b} {value.day}, {value.year}" if value else ""


class TabOwner(rx.Middleware):
    """Before any event (the page's first hydrate included), reset the tab when the session
    behind its websocket is not the one its states belong to, so no frame ever carries the
    previous user's output, history or uploads."""

    async def preprocess(self, app, state, event):
        auth = await state.get_state(AuthState)
        session_hash = auth._websocket_session_hash()
        if session_hash != auth._session_hash:
            await auth._clear_session(session_hash)
        return None
