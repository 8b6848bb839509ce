"""What one page load reads: who is signed in, their plan badge, and the page's own data.

Two units of work, whatever the page: the session lookup (an admin session: the user is not
known yet) and one transaction on the user's behalf that reads the plan and everything the
page shows. A signed-out visitor's page data is read in one plain session.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlmodel import Session

from promptgen.db import run_in_session, run_in_user_session
from promptgen.services.accounts import CurrentUser, find_session_user
from promptgen.services.plans import PlanSummary, get_plan_summary

T = TypeVar("T")

# A loader reads a page's data: `loader(session=..., **kwargs)`, and `user_id=` too when it
# has that parameter (it then reads that user's rows, under row-level security), and `plan=`
# (the plan summary just read) when it has that one.
Loader = Callable[..., T]


@dataclass(frozen=True)
class PageLoad(Generic[T]):
    user: CurrentUser | None
    plan: PlanSummary | None
    data: T | None


def _takes_user(loader: Loader) -> bool:
    return "user_id" in inspect.signature(loader).parameters


def _read_signed_in(
    *, session: Session, user_id: uuid.UUID, loader: Loader | None, kwargs: dict[str, Any]
) -> tuple[PlanSummary | None, Any]:
    plan = get_plan_summary(session=session, user_id=user_id)
    if loader is None:
        return plan, None
    mine: dict[str, Any] = {"user_id": user_id} if _takes_user(loader) else {}
    if "plan" in inspect.signature(loader).parameters:
        mine["plan"] = plan
    return plan, loader(session=session, **mine, **kwargs)


def _read_signed_out(*, session: Session, loader: Loader, kwargs: dict[str, Any]) -> Any:
    return loader(session=session, **kwargs)


async def load_page(
    token_hash: str, loader: Loader[T] | None = None, /, **kwargs: Any
) -> PageLoad[T]:
    """The signed-in user behind `token_hash` (or None), their plan and the page's data.

    `loader` runs for a signed-out visitor only when it needs no user."""
    user = None
    if token_hash:
        user = await find_session_user(token_hash)
    if user is not None:
        plan, data = await run_in_user_session(
            _read_signed_in, user_id=user.user_id, loader=loader, kwargs=kwargs
        )
        return PageLoad(user, plan, data)
    if loader is None or _takes_user(loader):
        return PageLoad(None, None, None)
    data = await run_in_session(_read_signed_out, loader=loader, kwargs=kwargs)
    return PageLoad(None, None, data)
