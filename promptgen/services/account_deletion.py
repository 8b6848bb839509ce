"""Deleting an account: password again, the Stripe subscription cancelled first, then every
row the user owns (profile, subscription, sessions, keys, history, images) goes with them."""

from __future__ import annotations

import logging
import uuid

import sqlalchemy as sa
from sqlmodel import Session, col

from promptgen.audit import audit
from promptgen.models import PromptAttachment, User, UserPrompt
from promptgen.services import checkout
from promptgen.services.accounts import confirm_password
from promptgen.settings import Settings

log = logging.getLogger(__name__)


def delete_account(
    *,
    session: Session,
    user_id: uuid.UUID,
    password: str,
    client_ip: str | None = None,
    settings: Settings | None = None,
) -> None:
    """Delete the user for good. Raises InvalidCredentials for a wrong password (or
    TooManyAttempts after repeated ones) and
    billing.BillingError when an active subscription cannot be cancelled (nothing deleted)."""
    confirm_password(session=session, user_id=user_id, password=password, client_ip=client_ip)
    # Stop the billing before the account: a deleted user must not be charged again.
    if checkout.cancel_subscription(session=session, user_id=user_id, settings=settings):
        log.info("cancelled the Stripe subscription of user %s before deletion", user_id)
    # The foreign keys cascade from users; history goes explicitly first so the large rows
    # are removed in plain deletes rather than through a cascade chain.
    session.execute(sa.delete(PromptAttachment).where(col(PromptAttachment.user_id) == user_id))
    session.execute(sa.delete(UserPrompt).where(col(UserPrompt.user_id) == user_id))
    session.execute(sa.delete(User).where(col(User.id) == user_id))
    audit("account_deleted", user=user_id)
