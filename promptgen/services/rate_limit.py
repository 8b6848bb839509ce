"""Per-token request limits for the public API, shared by every worker and instance.

A fixed one-minute window per key: in Redis (INCR with an expiry) when REDIS_URL is set,
else in the database's `throttles` table (one atomic upsert on the owner's connection, so
a rolled-back request still counts). Either way every worker sees the same count.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from promptgen.db import get_engine, insert_with_on_conflict, table_of
from promptgen.models import Throttle, UTCDateTime
from promptgen.settings import get_settings

API_SCOPE = "api_token"
WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    retry_after_seconds: int  # 0 when allowed


def _decide(count: int, limit: int, seconds_left: float) -> RateDecision:
    if count <= limit:
        return RateDecision(True, limit, limit - count, 0)
    return RateDecision(False, limit, 0, max(1, math.ceil(seconds_left)))


@functools.cache
def _redis_client(url: str):
    from redis import Redis  # only when REDIS_URL is set

    return Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _hit_redis(url: str, key: str, limit: int) -> RateDecision:
    redis_key = f"promptgen:rate:{API_SCOPE}:{key}"
    window_s = int(WINDOW.total_seconds())
    with _redis_client(url).pipeline(transaction=True) as pipe:
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_s, nx=True)
        pipe.pttl(redis_key)
        count, _, ttl_ms = pipe.execute()
    return _decide(int(count), limit, (ttl_ms if ttl_ms > 0 else window_s * 1000) / 1000)


def _hit_database(key: str, limit: int, now: datetime) -> RateDecision:
    table = table_of(Throttle)
    c = table.c
    stale = sa.or_(c.window_start.is_(None), c.window_start <= now - WINDOW)
    now_value = sa.literal(now, UTCDateTime())
    statement = (
        insert_with_on_conflict(get_engine())(table)
        .values(scope=API_SCOPE, key=key, count=1, window_start=now)
        .on_conflict_do_update(
            index_elements=[c.scope, c.key],
            set_={
                "count": sa.case((stale, 1), else_=c.count + 1),
                "window_start": sa.case((stale, now_value), else_=c.window_start),
            },
        )
        .returning(c.count, c.window_start)
    )
    with get_engine().begin() as conn:
        count, window_start = conn.execute(statement).one()
    if window_start.tzinfo is None:
        window_start = window_start.replace(tzinfo=UTC)
    return _decide(count, limit, (window_start + WINDOW - now).total_seconds())


def hit(key: str, *, now: datetime | None = None) -> RateDecision:
    """Count one request for `key` (a token id) and say whether it is within the limit."""
    settings = get_settings()
    limit = settings.api_rate_limit_per_minute
    if settings.redis_url:
        return _hit_redis(settings.redis_url, key, limit)
    return _hit_database(key, limit, now or datetime.now(UTC))
