"""Account deletion: password again, Stripe cancelled first (fake Stripe), every row gone."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlmodel import select

from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import (
    PromptAttachment,
    User,
    UserApiKey,
    UserProfile,
    UserPrompt,
    UserSession,
    UserSubscription,
)
from promptgen.services import billing, keys
from promptgen.services.account_deletion import delete_account
from promptgen.services.accounts import InvalidCredentials, TooManyAttempts
from promptgen.settings import reset_settings_cache
from promptgen.vault import new_master_key_text
from tests.support.factories import DEFAULT_PASSWORD, make_user
from tests.support.fake_stripe import FakeStripe, subscription_object

OWNED = (User, UserSession, UserProfile, UserSubscription, UserApiKey, UserPrompt, PromptAttachment)


@pytest.fixture(scope="module")
def fake_stripe() -> Iterator[FakeStripe]:
    with FakeStripe() as fake:
        yield fake


@pytest.fixture
def member(db_url: str, monkeypatch: pytest.MonkeyPatch, fake_stripe: FakeStripe):
    monkeypatch.setenv("KEY_ENCRYPTION_KEYS", new_master_key_text())
    monkeypatch.setenv("STRIPE_SECRET_KEY", "sk_test_promptgen")
    monkeypatch.setenv("STRIPE_API_BASE", fake_stripe.url)
    reset_settings_cache()
    fake_stripe.reset()
    fake_stripe.subscriptions["sub_del"] = subscription_object("sub_del", "cus_del", "price_x")
    with admin_session_scope(db_url) as session:
        user = make_user(session, "leaving@example.com")
        other = make_user(session, "staying@example.com")
        keys.save_key(
            session=session, user_id=user.user_id, provider="openai", api_key="sk-" + "k" * 30
        )
        prompt = UserPrompt(user_id=user.user_id, output="bye", status="succeeded")
        session.add(prompt)
        session.flush()
        session.add(
            PromptAttachment(
                prompt_id=prompt.id,
                user_id=user.user_id,
                filename="a.png",
                mime_type="image/png",
                size_bytes=1,
                sha256="0" * 64,
                data=b"x",
            )
        )
        session.execute(
            sa.update(UserSubscription)
            .where(UserSubscription.user_id == user.user_id)
            .values(stripe_subscription_id="sub_del", stripe_customer_id="cus_del", status="active")
        )
    return {"db": db_url, "user": user.user_id, "other": other.user_id}


def _rows(url: str, user_id) -> dict[str, int]:
    with admin_session_scope(url) as session:
        counts = {}
        for table in OWNED:
            owner = table.id if table is User else table.user_id
            counts[table.__tablename__] = len(
                session.exec(select(table).where(owner == user_id)).all()
            )
        return counts


def test_deletes_every_row_after_cancelling_stripe(member, fake_stripe: FakeStripe, caplog) -> None:
    caplog.set_level(logging.INFO, logger="promptgen.audit")
    assert all(_rows(member["db"], member["user"]).values())
    with user_session_scope(member["user"], member["db"]) as session:
        delete_account(session=session, user_id=member["user"], password=DEFAULT_PASSWORD)
    assert fake_stripe.requests_to("DELETE", "/v1/subscriptions/sub_del")
    assert fake_stripe.subscriptions["sub_del"]["status"] == "canceled"
    assert not any(_rows(member["db"], member["user"]).values())
    assert all(_rows(member["db"], member["other"])[t] for t in ("users", "user_subscriptions"))
    deleted = [r.getMessage() for r in caplog.records if "event=account_deleted" in r.getMessage()]
    assert deleted == [f"audit event=account_deleted user={member['user']}"]


def test_a_wrong_password_deletes_nothing(member, fake_stripe: FakeStripe) -> None:
    with (
        pytest.raises(InvalidCredentials),
        user_session_scope(member["user"], member["db"]) as session,
    ):
        delete_account(session=session, user_id=member["user"], password="not my password")
    assert all(_rows(member["db"], member["user"]).values())
    assert not fake_stripe.requests_to("DELETE", "/v1/subscriptions/sub_del")


def test_repeated_wrong_passwords_are_refused_for_a_while(member) -> None:
    for attempt in range(10):
        try:
            with user_session_scope(member["user"], member["db"]) as session:
                delete_account(session=session, user_id=member["user"], password=f"guess {attempt}")
        except TooManyAttempts:
            break
        except InvalidCredentials:
            continue
    else:
        pytest.fail("ten wrong passwords were never refused")
    with (
        pytest.raises(TooManyAttempts),
        user_session_scope(member["user"], member["db"]) as session,
    ):
        delete_account(session=session, user_id=member["user"], password=DEFAULT_PASSWORD)
    assert all(_rows(member["db"], member["user"]).values())


def test_if_stripe_cannot_cancel_nothing_is_deleted(member, fake_stripe: FakeStripe) -> None:
    fake_stripe.fail_next(500, times=5)
    with (
        pytest.raises(billing.BillingError),
        user_session_scope(member["user"], member["db"]) as session,
    ):
        delete_account(session=session, user_id=member["user"], password=DEFAULT_PASSWORD)
    assert all(_rows(member["db"], member["user"]).values())
