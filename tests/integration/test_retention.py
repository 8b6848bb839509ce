"""Retention purge with an injected clock, by tier, in batches, under one advisory lock."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from promptgen.db import admin_session_scope, get_engine
from promptgen.models import PromptAttachment, SubscriptionTier, UserPrompt, UserSubscription
from promptgen.services.catalog_import import seed_catalog
from promptgen.services.retention import ADVISORY_LOCK_KEY, purge_expired
from tests.support.factories import make_user

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
RETENTION = {"free": 7, "pro": 90, "studio": 365}


def _arrange(
    url: str, now: datetime = NOW, margin: timedelta = timedelta(minutes=1)
) -> dict[str, dict[str, list]]:
    """Per tier: prompts just inside the window (kept) and just outside (purged)."""
    kept: dict[str, list] = {}
    purged: dict[str, list] = {}
    with admin_session_scope(url) as session:
        seed_catalog(session=session)
        for slug, days in RETENTION.items():
            user_id = make_user(session, f"{slug}@example.com").user_id
            tier = session.exec(select(SubscriptionTier).where(SubscriptionTier.slug == slug)).one()
            sub = session.exec(
                select(UserSubscription).where(UserSubscription.user_id == user_id)
            ).one()
            sub.tier_id = tier.id
            edge = now - timedelta(days=days)
            inside = [UserPrompt(user_id=user_id, created_at=edge + margin)]
            outside = [
                UserPrompt(user_id=user_id, created_at=edge - margin),
                UserPrompt(user_id=user_id, created_at=edge - timedelta(days=3), is_favorite=True),
            ]
            session.add_all(inside + outside)
            session.flush()
            session.add(
                PromptAttachment(
                    prompt_id=outside[0].id,
                    user_id=user_id,
                    filename="old.png",
                    mime_type="image/png",
                    size_bytes=1,
                    sha256="0" * 64,
                    data=b"x",
                )
            )
            kept[slug] = [p.id for p in inside]
            purged[slug] = [p.id for p in outside]
    return {"kept": kept, "purged": purged}


def _remaining(url: str) -> set:
    with admin_session_scope(url) as session:
        return set(session.exec(select(UserPrompt.id)).all())


def test_each_tier_keeps_exactly_its_window(db_url: str) -> None:
    rows = _arrange(db_url)
    everything = _remaining(db_url)

    dry = purge_expired(url=db_url, now=NOW, dry_run=True)
    assert {t.slug: t.prompts for t in dry.tiers} == {"free": 2, "pro": 2, "studio": 2}
    assert "would delete 2 generations and 1 images" in dry.summary()
    assert _remaining(db_url) == everything

    report = purge_expired(url=db_url, now=NOW, batch_size=1)
    assert {t.slug: (t.prompts, t.attachments) for t in report.tiers} == {
        "free": (2, 1),
        "pro": (2, 1),
        "studio": (2, 1),
    }
    kept = {i for ids in rows["kept"].values() for i in ids}
    assert _remaining(db_url) == kept
    with admin_session_scope(db_url) as session:
        assert session.exec(select(PromptAttachment)).all() == []

    again = purge_expired(url=db_url, now=NOW)
    assert again.prompts == 0 and _remaining(db_url) == kept


def _cli_purge(url: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "promptgen", "purge", *args],
        env={**os.environ, "DATABASE_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_only_one_process_purges_at_a_time(db_url: str) -> None:
    # The CLI runs on the real clock.
    _arrange(db_url, now=datetime.now(UTC), margin=timedelta(hours=1))
    before = len(_remaining(db_url))
    # Another process holds the lock: the CLI run skips and deletes nothing.
    with get_engine(db_url).connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
        holder.commit()
        skipped = _cli_purge(db_url)
        out, err = skipped.communicate(timeout=60)
        holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
        holder.commit()
    assert skipped.returncode == 3, err
    assert "Another process is purging" in out
    assert len(_remaining(db_url)) == before

    # Two processes at once: between them each expired row is deleted exactly once.
    first, second = _cli_purge(db_url), _cli_purge(db_url)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    assert {first.returncode, second.returncode} <= {0, 3}
    assert len(_remaining(db_url)) == before - 6
    totals = [o for o, _ in outputs if "Total: deleted" in o]
    assert sum(int(o.split("Total: deleted ")[1].split()[0]) for o in totals) == 6
