"""Retention benchmark (issue: data protection): purge 200,000 expired history rows on
PostgreSQL while another connection keeps inserting into the same table; report the total
time and the longest any insert waited."""

from __future__ import annotations

import threading
import time
import uuid

import sqlalchemy as sa
from sqlmodel import select

from bench.support import percentile, postgres_database, save
from promptgen.db import admin_session_scope, get_engine
from promptgen.models import UserSubscription
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.retention import purge_expired
from tests.support.factories import make_user

USERS = 200
PER_USER = 1000  # 200,000 expired rows
INSERT_EVERY_S = 0.01


def _fill() -> list[uuid.UUID]:
    with admin_session_scope() as session:
        seed_catalog(session=session)
        for i in range(USERS):
            make_user(session, f"r{i}@example.com")
        users = list(session.exec(select(UserSubscription.user_id)).all())
    with get_engine().begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO user_prompts (id, user_id, template_name, signature_name, "
                "model_name, parameters, compiled_prompt, output, key_source, quota_reserved, "
                "status, is_favorite, created_at) "
                "SELECT gen_random_uuid(), s.user_id, 'Product photo', '', 'GPT-4.1 mini', "
                "'{}', 'compiled prompt text', 'refined output text', 'platform', true, "
                "'succeeded', false, now() - interval '30 days' - g * interval '1 second' "
                "FROM generate_series(1, :n) AS g CROSS JOIN user_subscriptions AS s"
            ),
            {"n": PER_USER},
        )
        conn.execute(sa.text("ANALYZE user_prompts"))
    return users


def main() -> None:
    with postgres_database({}):
        users = _fill()
        waits: list[float] = []
        done = threading.Event()

        def keep_inserting() -> None:
            engine = get_engine()
            n = 0
            while not done.is_set():
                started = time.perf_counter()
                with engine.begin() as conn:
                    conn.execute(
                        sa.text(
                            "INSERT INTO user_prompts (id, user_id, template_name, "
                            "signature_name, model_name, parameters, compiled_prompt, output, "
                            "key_source, quota_reserved, status, is_favorite, created_at) "
                            "VALUES (:id, :u, 'x', '', 'x', '{}', 'p', 'o', 'offline', false, "
                            "'succeeded', false, now())"
                        ),
                        {"id": uuid.uuid4(), "u": users[n % len(users)]},
                    )
                waits.append(time.perf_counter() - started)
                n += 1
                time.sleep(INSERT_EVERY_S)

        inserter = threading.Thread(target=keep_inserting)
        inserter.start()
        started = time.perf_counter()
        report = purge_expired()
        total = time.perf_counter() - started
        done.set()
        inserter.join()
    ms = [w * 1000 for w in waits]
    figures = {
        "expired_rows": USERS * PER_USER,
        "deleted": report.prompts,
        "purge_seconds": round(total, 2),
        "rows_per_second": round(report.prompts / total),
        "concurrent_inserts": len(ms),
        "insert_wait_max_ms": round(max(ms), 2),
        "insert_wait_p99_ms": round(percentile(ms, 99), 2),
        "insert_wait_p50_ms": round(percentile(ms, 50), 2),
    }
    path = save("retention", figures)
    print(f"retention purge of {figures['expired_rows']:,} expired rows (PostgreSQL)")
    print(
        f"  deleted {figures['deleted']:,} in {figures['purge_seconds']} s "
        f"({figures['rows_per_second']:,} rows/s)"
    )
    print(
        f"  {figures['concurrent_inserts']} concurrent inserts: wait p50 "
        f"{figures['insert_wait_p50_ms']} ms, p99 {figures['insert_wait_p99_ms']} ms, "
        f"max {figures['insert_wait_max_ms']} ms"
    )
    print(f"saved {path}")
