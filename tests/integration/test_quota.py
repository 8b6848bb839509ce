"""Reserving quota is atomic, resets each period, and refunds cleanly."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlmodel import select

from promptgen.db import admin_session_scope, get_engine
from promptgen.models import SubscriptionTier, UserPrompt, UserSubscription
from promptgen.services.quota import refund_reservation, reserve_quota
from tests.support.factories import make_user


def _set_quota(url: str, quota: int) -> None:
    with admin_session_scope(url) as session:
        session.execute(sa.update(SubscriptionTier).values(monthly_quota=quota))


def _usage(url: str, user_id) -> int:
    with admin_session_scope(url) as session:
        return session.exec(
            select(UserSubscription.usage_count).where(UserSubscription.user_id == user_id)
        ).one()


def test_reserves_until_the_quota_is_used_then_refuses(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        user = make_user(session)
    _set_quota(db_url, 3)
    now = datetime(2030, 5, 10, tzinfo=UTC)
    results = []
    for _ in range(4):
        with admin_session_scope(db_url) as session:
            results.append(reserve_quota(session=session, user_id=user.user_id, now=now))
    assert [r.used if r else None for r in results] == [1, 2, 3, None]


def test_first_reservation_of_a_new_month_resets_the_count(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        user = make_user(session)
    _set_quota(db_url, 2)
    may, june = datetime(2030, 5, 30, tzinfo=UTC), datetime(2030, 6, 1, 0, 1, tzinfo=UTC)
    for _ in range(2):
        with admin_session_scope(db_url) as session:
            assert reserve_quota(session=session, user_id=user.user_id, now=may)
    with admin_session_scope(db_url) as session:
        assert reserve_quota(session=session, user_id=user.user_id, now=may) is None
        reservation = reserve_quota(session=session, user_id=user.user_id, now=june)
    assert reservation is not None and reservation.used == 1
    assert reservation.period_start == datetime(2030, 6, 1, tzinfo=UTC)


def _pending_prompt(url: str, user_id, created_at: datetime):
    with admin_session_scope(url) as session:
        prompt = UserPrompt(user_id=user_id, status="pending", created_at=created_at)
        session.add(prompt)
        session.flush()
        return prompt.id


def test_refund_gives_the_unit_back_only_within_its_period(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        user = make_user(session)
    may, june = datetime(2030, 5, 3, tzinfo=UTC), datetime(2030, 6, 3, tzinfo=UTC)
    first, second = (_pending_prompt(db_url, user.user_id, may) for _ in range(2))
    with admin_session_scope(db_url) as session:
        reserve_quota(session=session, user_id=user.user_id, now=may, prompt_id=first)
        reserve_quota(session=session, user_id=user.user_id, now=may, prompt_id=second)
    with admin_session_scope(db_url) as session:
        assert refund_reservation(session=session, prompt_id=first)
        # A unit is given back once.
        assert not refund_reservation(session=session, prompt_id=first)
    assert _usage(db_url, user.user_id) == 1
    with admin_session_scope(db_url) as session:
        reserve_quota(session=session, user_id=user.user_id, now=june)
        # The May unit is not given back into June's count.
        assert refund_reservation(session=session, prompt_id=second)
    assert _usage(db_url, user.user_id) == 1


def test_a_reservation_marks_its_pending_row(db_url: str) -> None:
    with admin_session_scope(db_url) as session:
        user = make_user(session)
    now = datetime(2030, 5, 3, tzinfo=UTC)
    prompt_id = _pending_prompt(db_url, user.user_id, now)
    with admin_session_scope(db_url) as session:
        assert reserve_quota(session=session, user_id=user.user_id, now=now, prompt_id=prompt_id)
    with admin_session_scope(db_url) as session:
        prompt = session.get(UserPrompt, prompt_id)
        assert prompt.quota_reserved and prompt.key_source == "platform"


def test_fifty_concurrent_reservations_never_overshoot(pg_url: str) -> None:
    with admin_session_scope(pg_url) as session:
        user = make_user(session)
    _set_quota(pg_url, 10)
    get_engine(pg_url).pool.dispose()
    barrier = threading.Barrier(50)
    granted: list[bool] = []
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        with admin_session_scope(pg_url) as session:
            result = reserve_quota(session=session, user_id=user.user_id)
        with lock:
            granted.append(result is not None)

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert granted.count(True) == 10
    assert granted.count(False) == 40
    assert _usage(pg_url, user.user_id) == 10
