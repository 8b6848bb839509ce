"""Retention: delete each user's history older than their tier's retention days.

Runs in batches (BATCH_SIZE prompts, with their attachments, per transaction), so it never
holds long locks, and on PostgreSQL only while holding an advisory lock, so with several
workers (or a cron job and a hand-run `python -m promptgen purge`) exactly one purges.
Favourites follow the same rule: retention is the plan's promise, and a favourite that
outlived it would be history kept past the plan (README says so).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from promptgen.db import (
    admin_session_scope,
    get_engine,
    insert_with_on_conflict,
    rows_affected,
    stored_id,
    table_of,
)
from promptgen.models import (
    JobRun,
    PromptAttachment,
    SubscriptionTier,
    UserPrompt,
    UserSubscription,
)
from promptgen.services.uploads import purge_old_drafts

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
# pg_try_advisory_lock key: any constant unique to this job ("PGpurge" in ASCII).
ADVISORY_LOCK_KEY = 0x5047_7075_7267_65


@dataclass
class TierPurge:
    slug: str
    name: str
    retention_days: int
    cutoff: datetime
    prompts: int = 0
    attachments: int = 0


@dataclass
class PurgeReport:
    dry_run: bool
    tiers: list[TierPurge] = field(default_factory=list)
    seconds: float = 0.0
    skipped: bool = False  # another process holds the purge lock
    drafts: int = 0  # reference images uploaded but never used, past their day

    @property
    def prompts(self) -> int:
        return sum(t.prompts for t in self.tiers)

    def summary(self) -> str:
        if self.skipped:
            return "Another process is purging right now; nothing was done."
        verb = "would delete" if self.dry_run else "deleted"
        lines = [
            f"{t.name} ({t.retention_days} days, before {t.cutoff:%Y-%m-%d %H:%M} UTC): "
            f"{verb} {t.prompts} generations and {t.attachments} images"
            for t in self.tiers
        ]
        if not self.dry_run:
            lines.append(f"Unused uploads: deleted {self.drafts}.")
        lines.append(f"Total: {verb} {self.prompts} generations in {self.seconds:.2f} s.")
        return "\n".join(lines)


@contextmanager
def _purge_lock(url: str | None) -> Iterator[bool]:
    """True while this process holds the purge lock (always True on SQLite)."""
    engine = get_engine(url)
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        locked = conn.execute(
            sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        ).scalar_one()
        conn.commit()
        try:
            yield bool(locked)
        finally:
            if locked:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                conn.commit()


def _expired(tier_id: int, cutoff: datetime):
    return (
        select(UserPrompt.id)
        .join(UserSubscription, col(UserSubscription.user_id) == UserPrompt.user_id)
        .where(UserSubscription.tier_id == tier_id, col(UserPrompt.created_at) < cutoff)
    )


_PG_BATCH = sa.text(
    """
    WITH batch AS (
        SELECT p.id FROM user_prompts AS p
        JOIN user_subscriptions AS s ON s.user_id = p.user_id
        WHERE s.tier_id = :tier_id AND p.created_at < :cutoff
        ORDER BY p.created_at
        LIMIT :batch_size
        FOR UPDATE OF p SKIP LOCKED
    ), images AS (
        DELETE FROM prompt_attachments WHERE prompt_id IN (SELECT id FROM batch) RETURNING 1
    ), prompts AS (
        DELETE FROM user_prompts WHERE id IN (SELECT id FROM batch) RETURNING 1
    )
    SELECT (SELECT count(*) FROM prompts), (SELECT count(*) FROM images)
    """
)


def _purge_tier(url: str | None, tier: TierPurge, tier_id: int, batch_size: int) -> None:
    postgres = get_engine(url).dialect.name == "postgresql"
    while True:
        with admin_session_scope(url) as session:
            if postgres:
                # One statement per batch: pick, delete images, delete prompts.
                prompts, images = session.execute(
                    _PG_BATCH,
                    {"tier_id": tier_id, "cutoff": tier.cutoff, "batch_size": batch_size},
                ).one()
            else:
                ids = list(session.exec(_expired(tier_id, tier.cutoff).limit(batch_size)).all())
                images = rows_affected(
                    session.execute(
                        sa.delete(PromptAttachment).where(col(PromptAttachment.prompt_id).in_(ids))
                    )
                )
                prompts = rows_affected(
                    session.execute(sa.delete(UserPrompt).where(col(UserPrompt.id).in_(ids)))
                )
            tier.prompts += prompts
            tier.attachments += images
            if prompts == 0:
                return


def _count_tier(url: str | None, tier: TierPurge, tier_id: int) -> None:
    with admin_session_scope(url) as session:
        expired = _expired(tier_id, tier.cutoff).subquery()
        tier.prompts = session.exec(select(sa.func.count()).select_from(expired)).one()
        tier.attachments = session.exec(
            select(sa.func.count())
            .select_from(PromptAttachment)
            .where(col(PromptAttachment.prompt_id).in_(select(expired.c.id)))
        ).one()


def purge_expired(
    *,
    url: str | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
) -> PurgeReport:
    """Delete (or, dry run, count) history past each tier's retention. Admin session."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    report = PurgeReport(dry_run=dry_run)
    with _purge_lock(url) as locked:
        if not locked:
            report.skipped = True
            log.info("purge skipped: another process holds the purge lock")
            return report
        with admin_session_scope(url) as session:
            tiers = session.exec(
                select(SubscriptionTier).order_by(col(SubscriptionTier.sort_order))
            ).all()
            plan = [
                (
                    stored_id(t),
                    TierPurge(
                        t.slug, t.name, t.retention_days, now - timedelta(days=t.retention_days)
                    ),
                )
                for t in tiers
            ]
        for tier_id, tier in plan:
            if dry_run:
                _count_tier(url, tier, tier_id)
            else:
                _purge_tier(url, tier, tier_id, batch_size)
            report.tiers.append(tier)
        if not dry_run:
            with admin_session_scope(url) as session:
                report.drafts = purge_old_drafts(session=session, now=now)
    report.seconds = time.perf_counter() - started
    log.info(
        "purge %s: %s in %.2f s",
        "dry run" if dry_run else "done",
        ", ".join(f"{t.slug} {t.prompts}" for t in report.tiers),
        report.seconds,
    )
    return report


def claim_run(*, session: Session, name: str, now: datetime, not_within: timedelta) -> bool:
    """Claim this run of the scheduled job `name`: True for exactly one caller in any
    `not_within` window, however many workers and instances fire it at once (the conflicting
    insert waits for the first one's commit, then sees its fresh `ran_at`)."""
    runs = table_of(JobRun)
    statement = (
        insert_with_on_conflict(session)(runs)
        .values(name=name, ran_at=now)
        .on_conflict_do_update(
            index_elements=[runs.c.name],
            set_={"ran_at": now},
            where=runs.c.ran_at < now - not_within,
        )
        .returning(runs.c.name)
    )
    return session.execute(statement).first() is not None
