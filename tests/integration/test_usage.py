"""The Usage page's figures come from aggregate SQL; checked here against the rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from promptgen.db import admin_session_scope, user_session_scope
from promptgen.models import UserPrompt
from promptgen.periods import calendar_month_start
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.usage import period_days, usage_report
from tests.support.factories import make_user


def _prompt(
    user_id,
    model,
    created,
    *,
    status="succeeded",
    key="platform",
    tokens=(10, 20),
    cost=100,
    latency=500,
):
    return UserPrompt(
        id=uuid.uuid4(),
        user_id=user_id,
        model_name=model,
        status=status,
        key_source=key,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        estimated_cost_micros=cost,
        latency_ms=latency,
        created_at=created,
    )


def test_usage_report_aggregates_by_day_model_period_and_key(db_url: str) -> None:
    now = datetime.now(UTC)
    current = calendar_month_start(now)
    previous_day = current - timedelta(days=3)
    with admin_session_scope(db_url) as session:
        seed_catalog(session=session)
        user_id = make_user(session).user_id
        other_id = make_user(session, "other@example.com").user_id
        session.add_all(
            [
                _prompt(user_id, "GPT-4.1 mini", current + timedelta(hours=1)),
                _prompt(user_id, "GPT-4.1 mini", current + timedelta(hours=2), key="own_key"),
                _prompt(
                    user_id,
                    "Gemini 2.5 Flash",
                    current + timedelta(hours=3),
                    status="failed",
                    tokens=(None, None),
                    cost=None,
                    latency=None,
                ),
                _prompt(user_id, "GPT-4.1 mini", previous_day, latency=900),
                _prompt(user_id, "GPT-4.1 mini", current - timedelta(days=70)),  # too old
                _prompt(user_id, "GPT-4.1 mini", now, status="pending"),  # not finished
                _prompt(other_id, "GPT-4.1 mini", current + timedelta(hours=1)),  # not theirs
            ]
        )
    with user_session_scope(user_id, db_url) as session:
        report = usage_report(session=session, user_id=user_id, now=now)
    assert report.current_start == current
    assert report.totals["current"] == {"generations": 3, "tokens": 60, "cost_micros": 200}
    assert report.totals["previous"] == {"generations": 1, "tokens": 30, "cost_micros": 100}
    first = [d for d in report.days if d.period == "current"]
    assert {(d.day, d.model, d.generations, d.tokens) for d in first} == {
        (current.date(), "GPT-4.1 mini", 2, 60),
        (current.date(), "Gemini 2.5 Flash", 1, 0),
    }
    stats = {m.model: m for m in report.models}
    assert stats["Gemini 2.5 Flash"].failed == 1 and stats["Gemini 2.5 Flash"].failure_rate == 1
    assert stats["GPT-4.1 mini"].avg_latency_ms == 500
    assert {s.key_source: s.generations for s in report.split} == {"platform": 2, "own_key": 1}
    days = period_days(report.current_start, report.current_end)
    assert days[0] == current.date() and len(days) in (28, 29, 30, 31)
